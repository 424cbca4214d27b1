/**
 * An in-test stand-in for the EC2 instance metadata service with IMDSv2 required (what the launch
 * templates set: httpTokens = required). Copied from AWS's own mock, aws/amazon-ec2-metadata-mock:
 * - pkg/mock/imdsv2/tokengenerator.go: PUT /latest/api/token needs X-aws-ec2-metadata-token-ttl-seconds
 *   from 1 to 21600, else 400; the answer is the token, with the TTL header echoed;
 * - pkg/mock/imdsv2/tokenvalidator.go: a GET without X-aws-ec2-metadata-token, with an unknown token
 *   or with one past its TTL is refused with 401;
 * - pkg/mock/asglifecycle/asglifecycle.go: /latest/meta-data/autoscaling/target-lifecycle-state
 *   answers the state as text ("InService", then "Terminated").
 * And from the EC2 User Guide: a PUT carrying X-Forwarded-For is refused (403), unknown items are 404.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export const MAX_TOKEN_TTL_SECONDS = 21_600;

export interface FakeImdsOptions {
  /** Metadata items by path under /latest/meta-data/ (e.g. "instance-id"). */
  items?: Record<string, string>;
}

export class FakeImds {
  /** Items under /latest/meta-data/; a test changes them (e.g. the target lifecycle state). */
  readonly items: Map<string, string>;
  /** Requests refused with 401 (no token, unknown or expired token). */
  unauthorized = 0;
  /** Tokens handed out. */
  tokensIssued = 0;
  private readonly tokens = new Map<string, { expiresAtMs: number }>();
  private server?: Server;

  constructor(options: FakeImdsOptions = {}) {
    this.items = new Map(Object.entries(options.items ?? {}));
  }

  /** The state /latest/meta-data/autoscaling/target-lifecycle-state answers (absent: 404, an instance outside any group). */
  setTargetLifecycleState(state: string | undefined): void {
    if (state === undefined) this.items.delete('autoscaling/target-lifecycle-state');
    else this.items.set('autoscaling/target-lifecycle-state', state);
  }

  /** Ends every token now, as their TTL would (the next GET with one is refused). */
  expireTokens(): void {
    for (const token of this.tokens.values()) token.expiresAtMs = 0;
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0]!;
    const text = (status: number, body: string, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'Content-Type': 'text/plain', ...headers });
      res.end(body);
    };
    if (path === '/latest/api/token') {
      if (req.method !== 'PUT') return text(405, 'Method Not Allowed');
      if (req.headers['x-forwarded-for'] !== undefined) return text(403, 'Forbidden');
      const raw = req.headers['x-aws-ec2-metadata-token-ttl-seconds'];
      const ttl = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : NaN;
      if (!(ttl >= 1 && ttl <= MAX_TOKEN_TTL_SECONDS)) return text(400, 'Bad Request');
      const token = randomBytes(32).toString('base64');
      this.tokens.set(token, { expiresAtMs: Date.now() + ttl * 1000 });
      this.tokensIssued++;
      return text(200, token, { 'X-aws-ec2-metadata-token-ttl-seconds': String(ttl) });
    }
    if (!path.startsWith('/latest/meta-data')) return text(404, 'Not Found');
    const token = req.headers['x-aws-ec2-metadata-token'];
    const known = typeof token === 'string' ? this.tokens.get(token) : undefined;
    if (!known || Date.now() >= known.expiresAtMs) {
      if (typeof token === 'string') this.tokens.delete(token);
      this.unauthorized++;
      return text(401, 'Unauthorized');
    }
    if (req.method !== 'GET') return text(405, 'Method Not Allowed');
    const item = this.items.get(path.replace(/^\/latest\/meta-data\/?/, ''));
    if (item === undefined) return text(404, 'Not Found');
    return text(200, item);
  }
}
