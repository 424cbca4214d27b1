/**
 * What every queue integration test needs: a real Redis (its own redis-server unless REDIS_URL is
 * set, and always its own when the test kills it), the fake LiveKit API, signed webhooks, and
 * read access to the queue for assertions. Each harness uses its own key prefix.
 */
import { randomBytes } from 'node:crypto';
import type { Agent } from 'node:http';
import { Redis } from 'ioredis';
import { createAgent, httpRequest, type HttpResponse } from '../../src/dev/http-client.js';
import { FakeLiveKit, type FakeDispatch } from '../../src/dev/fake-livekit.js';
import { startRedisServer, type RedisServer } from '../../src/dev/redis-server.js';
import { signWebhook, webhookBody } from '../../src/dev/webhook-signer.js';
import { CallStore } from '../../src/queue/call-store.js';
import { openCallQueues, type CallQueues } from '../../src/queue/jobs.js';

export const API_KEY = 'APItestkey';
export const API_SECRET = 'test-secret-0123456789abcdef0123456789abcdef';
export const INTAKE_TOKEN = 'intake-token-0123456789abcdef';

export interface HarnessOptions {
  /** Start a private redis-server even when REDIS_URL is set (the test kills it). */
  ownRedis?: boolean;
}

export class Harness {
  readonly prefix = `{vqt-${randomBytes(4).toString('hex')}}`;
  readonly livekit = new FakeLiveKit({ apiKey: API_KEY, apiSecret: API_SECRET });
  readonly agent: Agent = createAgent(128);
  redisServer?: RedisServer;
  redisUrl = '';
  admin!: Redis;
  store!: CallStore;
  queues!: CallQueues;
  /** Rooms the harness has sent room_finished for. */
  readonly finishedRooms = new Set<string>();
  /** Dispatched minus finished, as LiveKit would see it, and its peak. */
  liveCalls = 0;
  peakLiveCalls = 0;
  private autoFinish?: { intakeUrl: string; holdMs: number };
  private pendingFinishes = new Set<Promise<unknown>>();

  async start(options: HarnessOptions = {}): Promise<this> {
    if (process.env.REDIS_URL && !options.ownRedis) {
      this.redisUrl = process.env.REDIS_URL;
    } else {
      this.redisServer = await startRedisServer();
      this.redisUrl = this.redisServer.url;
    }
    this.admin = new Redis(this.redisUrl, { maxRetriesPerRequest: null });
    this.admin.on('error', () => {});
    this.store = new CallStore(this.admin, this.prefix);
    this.queues = openCallQueues(this.admin, this.prefix);
    await this.livekit.start();
    this.livekit.onDispatch = (d) => this.onDispatch(d);
    return this;
  }

  /** Environment for a voice-agent role against this harness. */
  env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      REDIS_URL: this.redisUrl,
      QUEUE_PREFIX: this.prefix,
      LIVEKIT_URL: this.livekit.url,
      LIVEKIT_API_KEY: API_KEY,
      LIVEKIT_API_SECRET: API_SECRET,
      INTAKE_TOKEN,
      INTAKE_HOST: '127.0.0.1',
      INTAKE_PORT: '0',
      CALL_BACKOFF_MS: '50',
      ADMISSION_POLL_MS: '50',
      DISPATCH_LOCK_MS: '2000',
      LIVEKIT_REQUEST_TIMEOUT_SECONDS: '2',
      METRICS_INTERVAL_SECONDS: '0',
      LOG_LEVEL: 'warn',
      ...extra,
    };
  }

  /** From now on, every dispatched room finishes after holdMs (the caller hangs up). */
  finishRoomsAfterDispatch(intakeUrl: string, holdMs: number): void {
    this.autoFinish = { intakeUrl, holdMs };
  }

  stopFinishingRooms(): void {
    this.autoFinish = undefined;
  }

  private onDispatch(d: FakeDispatch): void {
    this.liveCalls++;
    this.peakLiveCalls = Math.max(this.peakLiveCalls, this.liveCalls);
    const auto = this.autoFinish;
    if (!auto) return;
    const p = new Promise((r) => setTimeout(r, auto.holdMs)).then(() => this.finishRoom(auto.intakeUrl, d.room));
    this.pendingFinishes.add(p);
    void p.finally(() => this.pendingFinishes.delete(p));
  }

  /**
   * Sends room_finished until the intake stores it (it may be down in a test). The live count
   * drops before sending: capacity can only be reused after the intake has the event.
   */
  async finishRoom(intakeUrl: string, room: string): Promise<void> {
    if (this.finishedRooms.has(room)) return;
    this.finishedRooms.add(room);
    this.liveCalls--;
    for (;;) {
      const res = await this.postWebhook(intakeUrl, webhookBody('room_finished', room)).catch(() => undefined);
      if (res?.status === 200) return;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async postWebhook(intakeUrl: string, body: string, authorization?: string): Promise<HttpResponse> {
    const auth = authorization ?? (await signWebhook(body, { apiKey: API_KEY, apiSecret: API_SECRET }));
    return httpRequest(
      `${intakeUrl}/webhooks/livekit`,
      { method: 'POST', body, headers: { authorization: auth, 'content-type': 'application/webhook+json' }, timeoutMs: 30_000 },
      this.agent,
    );
  }

  /** A signed participant_joined for a SIP caller in the room. */
  callWebhook(room: string): string {
    return webhookBody('participant_joined', room, { kind: 'SIP' });
  }

  async callState(callId: string): Promise<string | undefined> {
    return (await this.store.callRecord(callId)).state;
  }

  async activeCount(): Promise<number> {
    return this.admin.zcard(this.store.keys.active);
  }

  async settleFinishes(): Promise<void> {
    while (this.pendingFinishes.size > 0) await Promise.allSettled([...this.pendingFinishes]);
  }

  async close(): Promise<void> {
    this.autoFinish = undefined;
    await this.settleFinishes().catch(() => {});
    this.agent.destroy();
    await this.livekit.close();
    await this.queues?.close();
    if (this.admin) {
      if (!this.redisServer) {
        // A shared Redis: remove this test's keys.
        const keys = await this.admin.keys(`${this.prefix}*`).catch(() => []);
        for (let i = 0; i < keys.length; i += 500) await this.admin.del(...keys.slice(i, i + 500)).catch(() => {});
      }
      this.admin.disconnect();
    }
    await this.redisServer?.stop();
  }
}

/** Polls until check() returns true; fails with the description and the last detail. */
export async function waitFor(description: string, check: () => Promise<boolean> | boolean, timeoutMs = 90_000, detail?: () => Promise<string> | string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${description}${detail ? `: ${await detail()}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
