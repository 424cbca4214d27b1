/**
 * A small HTTP client for tests and the bench: keep-alive sockets, bounded concurrency, and
 * never throws on a status (only on a transport failure or its own timeout).
 */
import { Agent, request } from 'node:http';

export interface HttpResponse {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

export interface HttpRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Send the body in chunks with no Content-Length. */
  chunked?: boolean;
  timeoutMs?: number;
}

export function createAgent(maxSockets = 64): Agent {
  return new Agent({ keepAlive: true, maxSockets });
}

export function httpRequest(url: string, req: HttpRequest = {}, agent?: Agent): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...req.headers };
    if (req.body !== undefined && !req.chunked) headers['content-length'] = Buffer.byteLength(req.body);
    const r = request(url, { method: req.method ?? (req.body === undefined ? 'GET' : 'POST'), headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
      res.on('error', reject);
    });
    r.setTimeout(req.timeoutMs ?? 30_000, () => r.destroy(new Error(`request to ${url} timed out`)));
    // The server may answer (413) and close before the whole body is sent: keep the answer.
    r.on('error', reject);
    if (req.body !== undefined) {
      if (req.chunked) {
        const buf = Buffer.isBuffer(req.body) ? req.body : Buffer.from(req.body);
        for (let i = 0; i < buf.length; i += 16 * 1024) r.write(buf.subarray(i, i + 16 * 1024));
      } else {
        r.write(req.body);
      }
    }
    r.end();
  });
}

/** Runs tasks with at most `concurrency` in flight; results in task order. */
export async function mapConcurrent<T, R>(items: readonly T[], concurrency: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!, i);
    }
  });
  await Promise.all(workers);
  return results;
}
