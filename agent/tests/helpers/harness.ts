/**
 * What every queue integration test needs: a real Redis (its own redis-server unless REDIS_URL is
 * set, and always its own when the test kills it), the strict LiveKit stand-in (rooms, sids,
 * dispatches, jobs, signed webhooks with LiveKit's retries), agent workers that speak LiveKit's
 * worker protocol, and read access to the queue for assertions. Each harness uses its own key prefix.
 *
 * Calls arrive as they do in production: harness.call(room) puts a phone caller in the room, the
 * stand-in sends participant_joined to the intake, a dispatcher dispatches, a worker takes the
 * job, and harness.endCall(room) (or finishCallsAfterAgentJoins) ends the room: room_finished.
 */
import { randomBytes } from 'node:crypto';
import type { Agent } from 'node:http';
import { Redis } from 'ioredis';
import { FakeAgentWorker, type FakeAgentWorkerOptions } from '../../src/dev/fake-agent-worker.js';
import { FakeLiveKit, type FakeJob, type FakeLiveKitOptions } from '../../src/dev/fake-livekit.js';
import { createAgent, httpRequest, type HttpResponse } from '../../src/dev/http-client.js';
import { startRedisServer, type RedisServer } from '../../src/dev/redis-server.js';
import { signWebhook, webhookBody } from '../../src/dev/webhook-signer.js';
import { startCapacityHeartbeat } from '../../src/queue/capacity-heartbeat.js';
import { CallStore } from '../../src/queue/call-store.js';
import { openCallQueues, type CallQueues } from '../../src/queue/jobs.js';
import { callIdForSession } from '../../src/queue/keys.js';

export const API_KEY = 'APItestkey';
export const API_SECRET = 'test-secret-0123456789abcdef0123456789abcdef';
export const INTAKE_TOKEN = 'intake-token-0123456789abcdef';
export const AGENT_NAME = 'voice-agent';

export interface HarnessOptions {
  /** Start a private redis-server even when REDIS_URL is set (the test kills it). */
  ownRedis?: boolean;
  /** Timing of the LiveKit stand-in (its behaviour stays strict). */
  livekit?: Partial<Omit<FakeLiveKitOptions, 'apiKey' | 'apiSecret'>>;
}

export interface WorkerOptions extends Partial<Omit<FakeAgentWorkerOptions, 'url' | 'apiKey' | 'apiSecret' | 'heartbeat'>> {
  /** Publish the worker's capacity heartbeat (otherwise the test sets FLEET_CAPACITY). */
  heartbeat?: boolean;
}

export class Harness {
  readonly prefix = `{vqt-${randomBytes(4).toString('hex')}}`;
  livekit!: FakeLiveKit;
  readonly agent: Agent = createAgent(128);
  readonly workers: FakeAgentWorker[] = [];
  redisServer?: RedisServer;
  redisUrl = '';
  admin!: Redis;
  store!: CallStore;
  queues!: CallQueues;
  /** Rooms this harness ended. */
  readonly finishedRooms = new Set<string>();
  /** Peak of agents on calls at once, as LiveKit saw it. */
  peakLiveCalls = 0;
  private autoFinishMs?: number;
  private readonly pendingFinishes = new Set<Promise<unknown>>();

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
    this.livekit = await new FakeLiveKit({ apiKey: API_KEY, apiSecret: API_SECRET, ...options.livekit }).start();
    this.livekit.onJobAssigned = (job) => this.onJob(job);
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
      DISPATCH_CONFIRM_SECONDS: '3',
      RECONCILE_SECONDS: '0',
      LIVEKIT_REQUEST_TIMEOUT_SECONDS: '2',
      METRICS_INTERVAL_SECONDS: '0',
      LOG_LEVEL: 'warn',
      ...extra,
    };
  }

  /** LiveKit's webhook URL (livekit.yaml webhook.urls) points at this intake. */
  connectIntake(intakeUrl: string): void {
    this.livekit.webhookUrls = [`${intakeUrl}/webhooks/livekit`];
  }

  /**
   * An agent worker registered with LiveKit under AGENT_NAME. By default it is sized far beyond
   * any test (the dispatcher's FLEET_CAPACITY is what limits); with heartbeat it publishes its
   * capacity as the real worker does.
   */
  async startWorker(options: WorkerOptions = {}): Promise<FakeAgentWorker> {
    const { heartbeat, ...rest } = options;
    const maxSessions = rest.maxSessions ?? 1000;
    const worker = new FakeAgentWorker({
      url: this.livekit.url,
      apiKey: API_KEY,
      apiSecret: API_SECRET,
      agentName: AGENT_NAME,
      loadThreshold: 1,
      ...rest,
      maxSessions,
      heartbeat: heartbeat
        ? await startCapacityHeartbeat({ redis: this.admin, workerId: `fake-${this.workers.length}-${randomBytes(3).toString('hex')}`, capacitySessions: 0, prefix: this.prefix })
        : undefined,
    });
    await worker.start();
    this.workers.push(worker);
    return worker;
  }

  /** A phone caller joins the room (a new session unless one is live); LiveKit sends participant_joined. */
  call(room: string): { sid: string; callId: string; identity: string } {
    const { sid, identity } = this.livekit.sipCall(room);
    return { sid, identity, callId: callIdForSession(sid) };
  }

  /** The call ends (caller hangs up, the agent deletes the room); LiveKit sends room_finished. */
  endCall(room: string): string | undefined {
    const sid = this.livekit.rooms.get(room)?.sid;
    if (this.livekit.endCall(room)) this.finishedRooms.add(room);
    return sid;
  }

  /** Ends the room and waits until LiveKit has delivered its room_finished (or given up on it). */
  async finishRoom(room: string): Promise<void> {
    const sid = this.endCall(room);
    if (!sid) return;
    await waitFor(`room_finished of ${room} is delivered`, () => this.livekit.webhooks.deliveries.some((d) => d.event === 'room_finished' && d.roomSid === sid), 60_000);
  }

  /** From now on, every call ends holdMs after a worker takes it. */
  finishCallsAfterAgentJoins(holdMs: number): void {
    this.autoFinishMs = holdMs;
  }

  stopFinishingCalls(): void {
    this.autoFinishMs = undefined;
  }

  private onJob(job: FakeJob): void {
    this.peakLiveCalls = Math.max(this.peakLiveCalls, this.livekit.liveJobCount);
    const hold = this.autoFinishMs;
    if (hold === undefined) return;
    const p = new Promise((r) => setTimeout(r, hold)).then(() => {
      if (this.livekit.rooms.get(job.room)?.sid === job.roomSid) this.endCall(job.room);
    });
    this.pendingFinishes.add(p);
    void p.finally(() => this.pendingFinishes.delete(p));
  }

  async postWebhook(intakeUrl: string, body: string, authorization?: string): Promise<HttpResponse> {
    const auth = authorization ?? (await signWebhook(body, { apiKey: API_KEY, apiSecret: API_SECRET }));
    return httpRequest(
      `${intakeUrl}/webhooks/livekit`,
      { method: 'POST', body, headers: { authorization: auth, 'content-type': 'application/webhook+json' }, timeoutMs: 30_000 },
      this.agent,
    );
  }

  /** A participant_joined body for a SIP caller in the room, for tests that post by hand. */
  callWebhook(room: string, sid?: string): string {
    return webhookBody('participant_joined', room, { kind: 'SIP' }, sid);
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
    this.autoFinishMs = undefined;
    await this.settleFinishes().catch(() => {});
    await Promise.all(this.workers.map((w) => w.close()));
    this.agent.destroy();
    await this.livekit?.close();
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
