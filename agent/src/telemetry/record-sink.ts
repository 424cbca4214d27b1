/**
 * How a finished call's record leaves the job process. agents-js runs every call in a child
 * process, so metrics counted there would never reach the worker's /metrics. The worker's main
 * process therefore opens a loopback-only ingest endpoint (with a per-process token) and passes
 * its address to the children in the environment; each job POSTs its record there, and the main
 * process publishes it (metrics, EMF, Redis stream).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { errorMessage, type Logger } from '../log.js';
import { callRecordSchema, type CallRecord } from './call-record.js';

/** Environment the job processes inherit (set by the worker before it forks them). */
export const RECORD_SINK_URL_ENV = 'VOICE_AGENT_RECORD_SINK_URL';
export const RECORD_SINK_TOKEN_ENV = 'VOICE_AGENT_RECORD_SINK_TOKEN';
const TOKEN_HEADER = 'x-record-token';
/** A record is a few kilobytes; anything far larger is not one. */
const MAX_BODY_BYTES = 1_000_000;

export interface CallRecordSink {
  send(record: CallRecord): Promise<void>;
}

/** The job side: POSTs to the worker's ingest endpoint. */
export class HttpRecordSink implements CallRecordSink {
  constructor(
    private readonly url: string,
    private readonly token: string,
    private readonly timeoutMs = 5000,
  ) {}

  async send(record: CallRecord): Promise<void> {
    const response = await fetch(this.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [TOKEN_HEADER]: this.token },
      body: JSON.stringify(record),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    if (!response.ok) throw new Error(`record ingest answered ${response.status}`);
  }
}

/**
 * The sink a job uses: the worker's endpoint when the environment names one, else a log line
 * (a job run outside the worker, e.g. `console` mode, still leaves its record somewhere).
 */
export function recordSinkFromEnv(env: Readonly<Record<string, string | undefined>>, log: Logger): CallRecordSink {
  const url = env[RECORD_SINK_URL_ENV];
  const token = env[RECORD_SINK_TOKEN_ENV];
  const fallback: CallRecordSink = { send: async (record) => log.info('call record', { record }) };
  if (!url || !token) return fallback;
  const http = new HttpRecordSink(url, token);
  return {
    async send(record) {
      try {
        await http.send(record);
      } catch (err) {
        // The worker's main process is gone or busy: keep the record in the logs rather than lose it.
        log.warn('record ingest failed; record logged instead', { error: errorMessage(err) });
        await fallback.send(record);
      }
    },
  };
}

export interface RecordIngest {
  url: string;
  token: string;
  close(): Promise<void>;
}

/** Starts the loopback ingest endpoint; each valid record goes to `publish`. */
export async function startRecordIngest(publish: (record: CallRecord) => Promise<void>, log: Logger): Promise<RecordIngest> {
  const token = randomBytes(24).toString('hex');
  const expected = Buffer.from(token);
  const server: Server = createServer((req, res) => {
    const given = Buffer.from(String(req.headers[TOKEN_HEADER] ?? ''));
    if (req.method !== 'POST' || req.url !== '/call-records') {
      res.writeHead(404).end();
      return;
    }
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      res.writeHead(401).end();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        res.writeHead(413).end();
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (res.headersSent) return;
      let parsed;
      try {
        parsed = callRecordSchema.safeParse(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        parsed = undefined;
      }
      if (!parsed?.success) {
        log.warn('rejected a malformed call record', { issue: parsed?.error.issues[0]?.message ?? 'not JSON' });
        res.writeHead(400).end();
        return;
      }
      publish(parsed.data).then(
        () => res.writeHead(204).end(),
        (err: unknown) => {
          log.error('publishing a call record failed', { error: errorMessage(err) });
          res.writeHead(500).end();
        },
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/call-records`,
    token,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
