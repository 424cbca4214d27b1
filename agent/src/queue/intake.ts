/**
 * `voice-agent intake`: the HTTP front door of queue mode. It verifies, stores the call in Redis
 * and answers, in milliseconds; nothing is answered 2xx unless it is stored in Redis.
 *
 * node:http rather than a framework: five routes, and the webhook needs the raw body (the
 * signature covers its exact bytes) and an early 413, which are simplest with the bare stream.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { IntakeConfig } from '../config.js';
import { createLogger, errorMessage, type Logger } from '../log.js';
import { checkRedisDurability, createProducerConnection, quitQuietly, redactRedisUrl } from '../redis.js';
import { QueueMetrics, type CallSource } from '../telemetry/metrics.js';
import { CallStore } from './call-store.js';
import { enqueueSessionCall } from './enqueue.js';
import { classifyWebhook } from './events.js';
import { callJobOptions, nowUs, openCallQueues, type CallJobData } from './jobs.js';
import { callIdForRoom, isValidCallId, MAX_ROOM_NAME_LENGTH } from './keys.js';
import { readQueueStats } from './stats.js';
import { WebhookAuthError, WebhookBodyError, WebhookVerifier } from './webhook-verify.js';

/** Webhook and API bodies are small; anything bigger is refused before it is read. */
export const BODY_LIMIT_BYTES = 64 * 1024;

export interface Intake {
  /** e.g. http://127.0.0.1:8080 */
  readonly url: string;
  readonly port: number;
  /** Stops accepting, answers what is in flight, closes Redis. */
  close(): Promise<void>;
}

export interface IntakeDeps {
  log?: Logger;
  /** Shared with the dispatcher in `voice-agent all`. */
  metrics?: QueueMetrics;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const apiCallSchema = z.strictObject({
  room: z.string().min(1).max(MAX_ROOM_NAME_LENGTH),
  callId: z
    .string()
    .refine(isValidCallId, 'callId: 1-200 of A-Z a-z 0-9 . _ ~ % + -, not all digits, no ":"')
    .optional(),
  useCase: z.string().min(1).max(64).optional(),
  metadata: z.unknown().optional(),
});

function sha256(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** Reads the body up to limit bytes; past it, stops reading and throws 413 (never buffers more). */
async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw new HttpError(413, `body over ${limit} bytes`, { connection: 'close' });
  // Plain events rather than an async iterator: this runs for every webhook.
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        req.pause();
        reject(new HttpError(413, `body over ${limit} bytes`, { connection: 'close' }));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8')));
    req.once('error', reject);
  });
}

/** Redis errors (down, timed out, no offline queue) become 503 so the caller retries. */
function isRedisUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return /Stream isn't writeable|Connection is closed|Command timed out|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|LOADING|MaxRetriesPerRequest|Reached the max retries|enableOfflineQueue|Connection in subscriber mode/i.test(
    err.message,
  );
}

export async function startIntake(config: IntakeConfig, deps: IntakeDeps = {}): Promise<Intake> {
  const log = deps.log ?? createLogger({ base: { role: 'intake' } });
  const metrics = deps.metrics ?? new QueueMetrics();
  const redis: Redis = createProducerConnection(config.redis.url);
  let lastRedisWarnMs = 0;
  redis.on('error', (err) => {
    if (Date.now() - lastRedisWarnMs < 10_000) return;
    lastRedisWarnMs = Date.now();
    log.warn('Redis connection error', { error: errorMessage(err) });
  });
  redis.once('ready', () => void checkRedisDurability(redis, log));
  const store = new CallStore(redis, config.redis.prefix);
  const queues = openCallQueues(redis, config.redis.prefix);
  metrics.setStatsSource(() => readQueueStats(store, queues, config.fleetCapacity));
  const verifier = new WebhookVerifier(config.livekit.apiKey, config.livekit.apiSecret);
  const tokenDigest = sha256(config.token);
  let draining = false;

  /** POST /v1/calls: stores the call unless another live call owns the room; returns the owner. */
  async function enqueueApiCall(call: CallJobData): Promise<{ callId: string; isNew: boolean }> {
    const claim = await store.claimRoom(call.room, call.callId);
    if (claim.owner !== call.callId) return { callId: claim.owner, isNew: false };
    await queues.calls.add('call', call, callJobOptions(config.calls, call.callId));
    return { callId: call.callId, isNew: claim.isNew };
  }

  function counted(source: CallSource, result: { isNew: boolean }) {
    if (result.isNew) metrics.callReceived(source);
  }

  async function handleWebhook(req: IncomingMessage): Promise<[number, unknown]> {
    const body = await readBody(req, BODY_LIMIT_BYTES);
    let event;
    try {
      event = await verifier.receive(body, req.headers.authorization);
    } catch (err) {
      if (err instanceof WebhookBodyError) throw new HttpError(400, 'body is not a LiveKit webhook event');
      if (err instanceof WebhookAuthError) throw new HttpError(401, 'webhook signature rejected');
      throw err;
    }
    const action = classifyWebhook(event);
    if (action.kind === 'ignore') return [200, { ignored: action.reason }];
    if (action.kind === 'finish') {
      const finished = await store.finish(action.room, action.sid);
      log.info('room finished', { callId: finished.callId, room: action.room, sid: action.sid, freedCapacity: finished.freedCapacity, apiCallId: finished.apiCallId });
      return [200, { callId: finished.callId, finished: true }];
    }
    const result = await enqueueSessionCall(store, queues, config.calls, { room: action.room, sid: action.sid, participantIdentity: action.participantIdentity, source: 'livekit' });
    counted('livekit', result);
    return [200, { callId: result.callId, duplicate: !result.isNew }];
  }

  async function handleApiCall(req: IncomingMessage): Promise<[number, unknown]> {
    const auth = req.headers.authorization ?? '';
    const presented = auth.startsWith('Bearer ') ? auth.slice(7) : '';
    if (!timingSafeEqual(sha256(presented), tokenDigest)) throw new HttpError(401, 'bearer token rejected', { 'www-authenticate': 'Bearer' });
    const body = await readBody(req, BODY_LIMIT_BYTES);
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      throw new HttpError(400, 'body is not JSON');
    }
    const parsed = apiCallSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new HttpError(400, `${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}`);
    }
    const { room, useCase, metadata } = parsed.data;
    const callId = parsed.data.callId ?? callIdForRoom(room);
    const call: CallJobData = { callId, room, source: 'api', receivedAtUs: nowUs() };
    if (useCase !== undefined) call.useCase = useCase;
    if (metadata !== undefined) call.metadata = metadata;
    const result = await enqueueApiCall(call);
    if (result.callId !== callId) return [409, { error: `room ${room} already has call ${result.callId}`, callId: result.callId }];
    counted('api', result);
    return [202, { callId, duplicate: !result.isNew }];
  }

  async function route(req: IncomingMessage): Promise<[number, unknown] | [number, string, string]> {
    const path = (req.url ?? '/').split('?')[0];
    const method = req.method ?? 'GET';
    const only = (m: string) => {
      if (method !== m) throw new HttpError(405, `use ${m}`, { allow: m });
    };
    switch (path) {
      case '/webhooks/livekit':
        only('POST');
        return handleWebhook(req);
      case '/v1/calls':
        only('POST');
        return handleApiCall(req);
      case '/healthz':
        return [200, { status: 'ok' }];
      case '/readyz':
        if (draining) return [503, { status: 'draining' }];
        await redis.ping();
        return [200, { status: 'ready' }];
      case '/metrics':
        only('GET');
        return [200, await metrics.registry.metrics(), metrics.registry.contentType];
      case '/v1/queue':
        only('GET');
        // Through the metrics' 250 ms cache: KEDA and dashboards poll this, Redis need not answer each poll.
        return [200, await metrics.readStats()];
      default:
        throw new HttpError(404, 'not found');
    }
  }

  function send(res: ServerResponse, status: number, body: unknown, contentType = 'application/json', headers: Record<string, string> = {}) {
    if (res.headersSent) return;
    const text = typeof body === 'string' && contentType !== 'application/json' ? body : JSON.stringify(body);
    // While draining, end keep-alive connections after each answer so close() can complete.
    const drainHeaders: Record<string, string> = draining ? { connection: 'close' } : {};
    res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text), ...headers, ...drainHeaders });
    res.end(text);
  }

  const server = createServer((req, res) => {
    route(req)
      .then((result) => {
        if (result.length === 3) send(res, result[0], result[1], result[2]);
        else send(res, result[0], result[1]);
      })
      .catch((err: unknown) => {
        if (err instanceof HttpError) {
          send(res, err.status, { error: err.message }, 'application/json', err.headers);
          // 413: the rest of the body is never read; close instead of draining it.
          if (err.status === 413) res.once('finish', () => req.destroy());
          return;
        }
        if (isRedisUnavailable(err)) {
          // No Retry-After for LiveKit: its webhook client (go-retryablehttp) would wait that long
          // between its four retries, instead of 1, 2, 4, 8 s, and give up after about 4 s, not 15.
          const retryAfter: Record<string, string> = req.url?.startsWith('/webhooks/') ? {} : { 'retry-after': '1' };
          send(res, 503, { error: 'queue unavailable, retry' }, 'application/json', retryAfter);
          return;
        }
        log.error('intake request failed', { path: req.url, error: errorMessage(err) });
        send(res, 500, { error: 'internal error' });
      });
  });
  // Slow or stuck clients must not hold sockets forever; keep-alive outlives typical LB idle timeouts.
  server.requestTimeout = 15_000;
  server.headersTimeout = 10_000;
  server.keepAliveTimeout = 65_000;
  server.maxHeadersCount = 100;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const address = server.address();
  const port = address && typeof address === 'object' ? address.port : config.port;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  log.info('intake listening', { port, redis: redactRedisUrl(config.redis.url), capacity: config.fleetCapacity ?? 'agent heartbeats' });

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    close() {
      closing ??= (async () => {
        draining = true;
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeIdleConnections();
          // Requests in flight get their answer; a client that still holds a socket after 10 s loses it.
          setTimeout(() => server.closeAllConnections(), 10_000).unref();
        });
        await queues.close();
        await quitQuietly(redis);
        log.info('intake stopped');
      })();
      return closing;
    },
  };
}
