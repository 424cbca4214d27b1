/**
 * How the LiveKit server delivers webhooks, copied for the fake LiveKit (fake-livekit.ts) from
 * livekit/protocol webhook/resource_url_notifier.go + resource_queue.go and the retrying client it
 * uses (hashicorp/go-retryablehttp v0.7.8 client.go, defaults untouched by LiveKit):
 * - one queue per resource (EventKey: the room name for room and participant events), worked in
 *   order, so events of one room arrive in order and a slow room does not hold up another;
 * - a queue holds at most 200 events (MaxDepth): more are dropped ("queue is full");
 * - an event that waited in its queue longer than 30 s (MaxAge) is dropped unsent ("age");
 * - each send: the body is the protojson WebhookEvent, `Authorization: <JWT>` (HS256, issuer =
 *   API key, valid 5 min, claim sha256 = base64 SHA-256 of the body), content type
 *   application/webhook+json, User-Agent LiveKit;
 * - retried on a transport error, 429 and 5xx other than 501, up to 4 retries, waiting
 *   1 s x 2^attempt (1, 2, 4, 8 s: about 15 s in all) or the Retry-After of a 429/503; any
 *   other status (a 4xx) is final. After the last try the event is gone.
 * The waits scale with retryWaitMinMs and the age limit with maxAgeMs, so a test can run the
 * whole give-up path in a second or two; the defaults are LiveKit's.
 */
import { AccessToken } from 'livekit-server-sdk';
import { createHash } from 'node:crypto';
import { Agent, request } from 'node:http';

export interface WebhookNotifierOptions {
  apiKey: string;
  apiSecret: string;
  /** First retry wait (go-retryablehttp RetryWaitMin, 1 s); doubles per retry. */
  retryWaitMinMs?: number;
  /** Longest retry wait (RetryWaitMax, 30 s). */
  retryWaitMaxMs?: number;
  /** Retries after the first send (RetryMax, 4). */
  maxRetries?: number;
  /** Events older than this when their turn comes are dropped (MaxAge, 30 s). */
  maxAgeMs?: number;
  /** Events one queue may hold (MaxDepth, 200). */
  maxDepth?: number;
  /** Sockets to one receiver (Go's transport has no limit; bounded here so a 10,000-call spike stays sane). */
  maxSockets?: number;
}

export interface WebhookDelivery {
  url: string;
  event: string;
  room: string;
  roomSid: string;
  participantIdentity?: string;
  /** ParticipantInfo_Kind of the participant (3 SIP, 4 AGENT). */
  participantKind?: number;
  /** Sends made (0 when dropped unsent). */
  attempts: number;
  outcome: 'delivered' | 'rejected' | 'gave-up' | 'dropped-age' | 'dropped-full';
  /** Last HTTP status, 0 for a transport error. */
  status?: number;
  queuedAtMs: number;
  doneAtMs: number;
  /** The body sent (a test can deliver it again, as a LiveKit retry would). */
  body: string;
}

/** The fields of a WebhookEvent the notifier needs (the body itself is given ready-encoded). */
export interface QueuedWebhook {
  event: string;
  room: string;
  roomSid: string;
  participantIdentity?: string;
  participantKind?: number;
  /** protojson of the WebhookEvent. */
  body: string;
}

interface Item {
  url: string;
  hook: QueuedWebhook;
  queuedAtMs: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** go-retryablehttp parseRetryAfterHeader: whole seconds (an HTTP date is not sent by our intake). */
function retryAfterMs(header: string | null): number | undefined {
  if (header === null || !/^\d+$/.test(header.trim())) return undefined;
  return Number(header.trim()) * 1000;
}

export class WebhookNotifier {
  /** Every event's fate, in completion order. */
  readonly deliveries: WebhookDelivery[] = [];
  private readonly queues = new Map<string, { items: Item[]; running: boolean }>();
  private readonly idle = new Set<() => void>();
  private closed = false;
  private readonly retryWaitMinMs: number;
  private readonly retryWaitMaxMs: number;
  private readonly maxRetries: number;
  private readonly maxAgeMs: number;
  private readonly maxDepth: number;
  private readonly agent: Agent;

  constructor(private readonly options: WebhookNotifierOptions) {
    this.agent = new Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 256 });
    this.retryWaitMinMs = options.retryWaitMinMs ?? 1000;
    this.retryWaitMaxMs = options.retryWaitMaxMs ?? 30_000;
    this.maxRetries = options.maxRetries ?? 4;
    this.maxAgeMs = options.maxAgeMs ?? 30_000;
    this.maxDepth = options.maxDepth ?? 200;
  }

  /** QueueNotify: one queue per URL and room name. */
  notify(urls: readonly string[], hook: QueuedWebhook): void {
    if (this.closed) return;
    for (const url of urls) {
      const key = `${url}\n${hook.room}`;
      let queue = this.queues.get(key);
      if (!queue) {
        queue = { items: [], running: false };
        this.queues.set(key, queue);
      }
      const now = Date.now();
      if (queue.items.length >= this.maxDepth) {
        this.record({ url, hook, queuedAtMs: now }, 0, 'dropped-full');
        continue;
      }
      queue.items.push({ url, hook, queuedAtMs: now });
      if (!queue.running) void this.work(key, queue);
    }
  }

  /** Resolves when every queue is empty (all events delivered or given up). */
  async settled(): Promise<void> {
    while ([...this.queues.values()].some((q) => q.running || q.items.length > 0)) {
      await new Promise<void>((resolve) => this.idle.add(resolve));
    }
  }

  close(): void {
    this.closed = true;
    for (const q of this.queues.values()) q.items.length = 0;
    this.agent.destroy();
  }

  private post(url: string, body: string, authorization: string): Promise<{ status: number; retryAfter: string | null }> {
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        { method: 'POST', agent: this.agent, headers: { authorization, 'content-type': 'application/webhook+json', 'user-agent': 'LiveKit', 'content-length': Buffer.byteLength(body) } },
        (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: (res.headers['retry-after'] as string | undefined) ?? null }));
          res.on('error', reject);
        },
      );
      req.setTimeout(30_000, () => req.destroy(new Error('webhook request timed out')));
      req.on('error', reject);
      req.end(body);
    });
  }

  private async work(key: string, queue: { items: Item[]; running: boolean }): Promise<void> {
    queue.running = true;
    try {
      for (let item = queue.items.shift(); item && !this.closed; item = queue.items.shift()) {
        // resource_url_notifier.go Process: too old when its turn comes -> dropped unsent.
        if (Date.now() - item.queuedAtMs > this.maxAgeMs) {
          this.record(item, 0, 'dropped-age');
          continue;
        }
        await this.send(item);
      }
    } finally {
      queue.running = false;
      if (queue.items.length === 0) this.queues.delete(key);
      for (const resolve of this.idle) resolve();
      this.idle.clear();
    }
  }

  private async send(item: Item): Promise<void> {
    // Signed once per event; the retries re-send the same request (resource_url_notifier.go send).
    const token = new AccessToken(this.options.apiKey, this.options.apiSecret, { ttl: '5m' });
    token.sha256 = createHash('sha256').update(item.hook.body).digest('base64');
    const authorization = await token.toJwt();
    let status: number | undefined;
    for (let attempt = 0; ; attempt++) {
      let retryAfter: number | undefined;
      try {
        const response = await this.post(item.url, item.hook.body, authorization);
        status = response.status;
        if (status === 429 || status === 503) retryAfter = retryAfterMs(response.retryAfter);
      } catch {
        status = 0; // transport error: retried
      }
      if (status >= 200 && status < 400) return this.record(item, attempt + 1, 'delivered', status);
      // go-retryablehttp baseRetryPolicy: transport errors, 429 and 5xx except 501 are retried.
      const retryable = status === 0 || status === 429 || (status >= 500 && status !== 501);
      if (!retryable) return this.record(item, attempt + 1, 'rejected', status);
      if (attempt >= this.maxRetries || this.closed) return this.record(item, attempt + 1, 'gave-up', status);
      // DefaultBackoff: Retry-After of a 429/503, else min x 2^attempt, capped at max.
      await sleep(retryAfter ?? Math.min(this.retryWaitMinMs * 2 ** attempt, this.retryWaitMaxMs));
    }
  }

  private record(item: Item, attempts: number, outcome: WebhookDelivery['outcome'], status?: number): void {
    const { event, room, roomSid, participantIdentity, participantKind } = item.hook;
    const delivery: WebhookDelivery = { url: item.url, event, room, roomSid, attempts, outcome, queuedAtMs: item.queuedAtMs, doneAtMs: Date.now(), body: item.hook.body };
    if (participantIdentity !== undefined) delivery.participantIdentity = participantIdentity;
    if (participantKind !== undefined) delivery.participantKind = participantKind;
    if (status !== undefined) delivery.status = status;
    this.deliveries.push(delivery);
  }
}
