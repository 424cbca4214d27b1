/**
 * `npm run bench:queue [-- --json]`: queue-mode figures on this machine, loopback only, real Redis.
 *
 * 1. bare BullMQ queue.add throughput and latency (the ceiling), then the intake (signed webhooks
 *    over HTTP, verified, stored) in the same run: the ratio is the headline figure;
 * 2. intake ack latency at a paced 1,000 webhooks/s;
 * 3. dispatch latency (intake ack -> CreateDispatch answered by LiveKit) with spare capacity;
 * 4. a 10,000-call spike at capacity 50: time to absorb (all acknowledged) and to drain (all done).
 * LiveKit is the strict stand-in (dev/fake-livekit.ts) with agent workers on its /agent endpoint:
 * a call is dispatched only once a worker has taken the job. Rooms are opened in the stand-in
 * and their signed webhooks posted by the bench (presigned, so signing is not measured).
 * Prints figures; asserts nothing. Uses REDIS_URL when set, else starts its own redis-server.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { createHistogram, performance, type RecordableHistogram } from 'node:perf_hooks';
import { Queue } from 'bullmq';
import { FakeAgentWorker } from '../dev/fake-agent-worker.js';
import { FakeLiveKit } from '../dev/fake-livekit.js';
import { createAgent, httpRequest } from '../dev/http-client.js';
import { spawnVoiceAgent, type VoiceAgentProcess } from '../dev/processes.js';
import { startRedisServer, type RedisServer } from '../dev/redis-server.js';
import { signWebhook, webhookBody } from '../dev/webhook-signer.js';
import { createProducerConnection, quitQuietly } from '../redis.js';
import { callJobOptions, nowUs, type CallJobData } from '../queue/jobs.js';
import { CALLS_QUEUE, callIdForRoom } from '../queue/keys.js';

const API_KEY = 'APIbench';
const API_SECRET = randomBytes(24).toString('hex');
const TOKEN = randomBytes(16).toString('hex');
const THROUGHPUT_N = 20_000;
const CONCURRENCY = 256;
const PACED_RATE = 1000;
const PACED_SECONDS = 5;
// Below one dispatcher's CPU ceiling on a shared 2-vCPU box (about 7 ms of CPU per call, most of it
// livekit-server-sdk's fetch for four or five API requests): latency, not queueing, is measured.
const DISPATCH_N = 1000;
const DISPATCH_RATE = 50;
const SPIKE_N = 10_000;
const SPIKE_CAPACITY = 50;
// Longer than the confirmation's first poll (20 ms), as any real call is.
const SPIKE_HOLD_MS = 100;

const json = process.argv.includes('--json');
const progress = (text: string) => process.stderr.write(`${text}\n`);

interface Latency {
  p50Ms: number;
  p99Ms: number;
}

function histogram(): RecordableHistogram {
  return createHistogram({ lowest: 1, highest: 60_000_000, figures: 3 });
}
/** Values recorded in microseconds. */
function latency(h: RecordableHistogram): Latency {
  const round = (us: number) => Math.round(us / 10) / 100;
  return { p50Ms: round(h.percentile(50)), p99Ms: round(h.percentile(99)) };
}
const recordMs = (h: RecordableHistogram, ms: number) => h.record(Math.max(1, Math.round(ms * 1000)));

async function withConcurrency(n: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) await task(next++);
    }),
  );
}

interface Env {
  redisUrl: string;
  livekit: FakeLiveKit;
}

function roleEnv(env: Env, prefix: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    REDIS_URL: env.redisUrl,
    QUEUE_PREFIX: prefix,
    LIVEKIT_URL: env.livekit.url,
    LIVEKIT_API_KEY: API_KEY,
    LIVEKIT_API_SECRET: API_SECRET,
    INTAKE_TOKEN: TOKEN,
    INTAKE_HOST: '127.0.0.1',
    INTAKE_PORT: '0',
    METRICS_INTERVAL_SECONDS: '0',
    LOG_LEVEL: 'warn',
    ...extra,
  };
}

async function startIntake(env: Env, prefix: string, extra: Record<string, string> = {}): Promise<{ proc: VoiceAgentProcess; url: string }> {
  const proc = spawnVoiceAgent(['intake'], roleEnv(env, prefix, { LOG_LEVEL: 'info', ...extra }));
  const ready = await proc.waitForRecord((r) => r.msg === 'intake listening', 30_000);
  return { proc, url: `http://127.0.0.1:${String(ready.port)}` };
}

async function startDispatcher(env: Env, prefix: string, extra: Record<string, string>): Promise<VoiceAgentProcess> {
  const proc = spawnVoiceAgent(['dispatcher'], roleEnv(env, prefix, { LOG_LEVEL: 'info', ...extra }));
  await proc.waitForRecord((r) => r.msg === 'dispatcher ready', 30_000);
  return proc;
}

/** CPU time (user + system) of a child process in ms, from /proc (Linux); undefined elsewhere. */
function childCpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined || !existsSync(`/proc/${pid}/stat`)) return undefined;
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const ticksPerSecond = 100; // USER_HZ on Linux
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond;
}

const prefixFor = (name: string) => `{bench-${name}-${randomBytes(3).toString('hex')}}`;

/**
 * Signed participant_joined webhooks for rooms with a caller in the LiveKit stand-in (so a
 * dispatcher finds the session), or for rooms that exist only in the webhook (intake alone).
 */
async function presign(rooms: readonly string[], livekit?: FakeLiveKit): Promise<Array<{ room: string; sid: string; body: string; auth: string }>> {
  return Promise.all(
    rooms.map(async (room) => {
      const sid = livekit ? livekit.sipCall(room).sid : `RM_${randomBytes(6).toString('hex')}`;
      const body = webhookBody('participant_joined', room, { kind: 'SIP' }, sid);
      return { room, sid, body, auth: await signWebhook(body, { apiKey: API_KEY, apiSecret: API_SECRET }) };
    }),
  );
}

/** A few hundred webhooks first, so figures are for warm (JIT-compiled) code, not start-up. */
async function warmUp(url: string, agent: ReturnType<typeof createAgent>, tag: string, livekit?: FakeLiveKit): Promise<void> {
  const signed = await presign(Array.from({ length: 500 }, (_, i) => `${tag}-${i}`), livekit);
  await withConcurrency(signed.length, 16, async (i) => {
    const s = signed[i]!;
    await httpRequest(`${url}/webhooks/livekit`, { method: 'POST', body: s.body, headers: { authorization: s.auth } }, agent);
  });
  await new Promise((r) => setTimeout(r, 500));
}

async function benchBareAdd(env: Env) {
  progress(`bare BullMQ queue.add: ${THROUGHPUT_N} jobs, ${CONCURRENCY} in flight`);
  const redis = createProducerConnection(env.redisUrl, { commandTimeoutMs: 10_000 });
  const queue = new Queue<CallJobData>(CALLS_QUEUE, { connection: redis, prefix: prefixFor('add') });
  await queue.waitUntilReady();
  const policy = { maxAttempts: 3, backoffMs: 1000, maxWaitSeconds: 120 };
  const h = histogram();
  const cpuBefore = process.cpuUsage();
  const start = performance.now();
  await withConcurrency(THROUGHPUT_N, CONCURRENCY, async (i) => {
    const callId = callIdForRoom(`bare-${i}`);
    const t = performance.now();
    await queue.add('call', { callId, room: `bare-${i}`, source: 'livekit', receivedAtUs: nowUs(), participantIdentity: `sip_${i}` }, callJobOptions(policy, callId));
    recordMs(h, performance.now() - t);
  });
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  await queue.obliterate({ force: true });
  await queue.close();
  await quitQuietly(redis);
  // Client-side CPU per add (Redis runs in its own process either way).
  const cpuMicrosPerJob = Math.round((cpu.user + cpu.system) / THROUGHPUT_N);
  return { jobs: THROUGHPUT_N, perSecond: Math.round(THROUGHPUT_N / seconds), ...latency(h), cpuMicrosPerJob };
}

async function benchIntake(env: Env) {
  progress(`intake: ${THROUGHPUT_N} signed webhooks, ${CONCURRENCY} in flight`);
  const prefix = prefixFor('intake');
  const { proc, url } = await startIntake(env, prefix);
  const signed = await presign(Array.from({ length: THROUGHPUT_N }, (_, i) => `intake-${i}`));
  const agent = createAgent(CONCURRENCY);
  await warmUp(url, agent, 'warm-intake');
  const h = histogram();
  let failures = 0;
  const cpuBefore = childCpuMs(proc.child.pid);
  const start = performance.now();
  await withConcurrency(THROUGHPUT_N, CONCURRENCY, async (i) => {
    const s = signed[i]!;
    const t = performance.now();
    const res = await httpRequest(`${url}/webhooks/livekit`, { method: 'POST', body: s.body, headers: { authorization: s.auth } }, agent);
    recordMs(h, performance.now() - t);
    if (res.status !== 200) failures++;
  });
  const seconds = (performance.now() - start) / 1000;
  const cpuAfter = childCpuMs(proc.child.pid);
  const cpuMicrosPerWebhook = cpuBefore === undefined || cpuAfter === undefined ? undefined : Math.round(((cpuAfter - cpuBefore) * 1000) / THROUGHPUT_N);
  const throughput = { webhooks: THROUGHPUT_N, perSecond: Math.round(THROUGHPUT_N / seconds), ...latency(h), non2xx: failures, cpuMicrosPerWebhook };

  progress(`intake: paced ${PACED_RATE}/s for ${PACED_SECONDS} s`);
  const pacedN = PACED_RATE * PACED_SECONDS;
  const paced = await presign(Array.from({ length: pacedN }, (_, i) => `paced-${i}`));
  const hp = histogram();
  let pacedFailures = 0;
  const inflight: Array<Promise<void>> = [];
  const pacedStart = performance.now();
  for (let i = 0; i < pacedN; i++) {
    // Open loop: request i leaves at i ms, whatever the answers do.
    const due = pacedStart + (i * 1000) / PACED_RATE;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const s = paced[i]!;
    const t = performance.now();
    inflight.push(
      httpRequest(`${url}/webhooks/livekit`, { method: 'POST', body: s.body, headers: { authorization: s.auth } }, agent).then((res) => {
        recordMs(hp, performance.now() - t);
        if (res.status !== 200) pacedFailures++;
      }),
    );
  }
  await Promise.all(inflight);
  const achieved = Math.round(pacedN / ((performance.now() - pacedStart) / 1000));
  agent.destroy();
  await proc.kill('SIGTERM');
  return { throughput, paced: { targetPerSecond: PACED_RATE, achievedPerSecond: achieved, webhooks: pacedN, ...latency(hp), non2xx: pacedFailures } };
}

/** Agent workers on the stand-in's /agent endpoint, sized beyond the bench (FLEET_CAPACITY limits). */
async function startWorkers(env: Env, count: number): Promise<FakeAgentWorker[]> {
  return Promise.all(
    Array.from({ length: count }, () =>
      new FakeAgentWorker({ url: env.livekit.url, apiKey: API_KEY, apiSecret: API_SECRET, agentName: 'voice-agent', maxSessions: 100_000, loadThreshold: 1 }).start(),
    ),
  );
}

async function benchDispatch(env: Env) {
  progress(`dispatch latency: ${DISPATCH_N} calls at ${DISPATCH_RATE}/s, spare capacity`);
  const prefix = prefixFor('dispatch');
  const workers = await startWorkers(env, 2);
  const { proc: intake, url } = await startIntake(env, prefix);
  const dispatcher = await startDispatcher(env, prefix, { FLEET_CAPACITY: '100000' });
  const warmAgent = createAgent(16);
  let warmJobs = 0;
  env.livekit.onJobAssigned = () => warmJobs++;
  await warmUp(url, warmAgent, 'warm-dispatch', env.livekit);
  warmAgent.destroy();
  // Measure from an empty queue: every warm-up call has its agent first.
  const warmDeadline = Date.now() + 60_000;
  while (warmJobs < 500 && Date.now() < warmDeadline) await new Promise((r) => setTimeout(r, 50));
  const signed = await presign(Array.from({ length: DISPATCH_N }, (_, i) => `dispatch-${i}`), env.livekit);
  const ackedAt = new Map<string, number>();
  const answeredAt = new Map<string, number>();
  const joinedAt = new Map<string, number>();
  env.livekit.onDispatchAnswered = (d) => answeredAt.set(d.room, performance.now());
  env.livekit.onJobAssigned = (j) => joinedAt.set(j.room, performance.now());
  const agent = createAgent(64);
  const cpuBefore = childCpuMs(dispatcher.child.pid);
  const start = performance.now();
  const inflight: Array<Promise<void>> = [];
  for (let i = 0; i < DISPATCH_N; i++) {
    const wait = start + (i * 1000) / DISPATCH_RATE - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const s = signed[i]!;
    inflight.push(
      httpRequest(`${url}/webhooks/livekit`, { method: 'POST', body: s.body, headers: { authorization: s.auth } }, agent).then(() => {
        ackedAt.set(s.room, performance.now());
      }),
    );
  }
  await Promise.all(inflight);
  const deadline = Date.now() + 60_000;
  while ((answeredAt.size < DISPATCH_N || joinedAt.size < DISPATCH_N) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const h = histogram();
  const hj = histogram();
  for (const [room, acked] of ackedAt) {
    const answered = answeredAt.get(room);
    // A dispatch can be answered before the ack reaches us: count it as 0.
    if (answered !== undefined) recordMs(h, Math.max(0.001, answered - acked));
    const joined = joinedAt.get(room);
    if (joined !== undefined && answered !== undefined) recordMs(hj, Math.max(0.001, joined - answered));
  }
  const cpuAfter = childCpuMs(dispatcher.child.pid);
  const dispatcherCpuMsPerCall = cpuBefore === undefined || cpuAfter === undefined ? undefined : Math.round(((cpuAfter - cpuBefore) / DISPATCH_N) * 10) / 10;
  env.livekit.onDispatchAnswered = undefined;
  env.livekit.onJobAssigned = undefined;
  agent.destroy();
  await Promise.all([intake.kill('SIGTERM'), dispatcher.kill('SIGTERM')]);
  await Promise.all(workers.map((w) => w.close()));
  return { calls: DISPATCH_N, perSecond: DISPATCH_RATE, dispatched: answeredAt.size, withAgent: joinedAt.size, ...latency(h), agentJoin: latency(hj), dispatcherCpuMsPerCall };
}

async function benchSpike(env: Env) {
  progress(`spike: ${SPIKE_N} concurrent webhooks, capacity ${SPIKE_CAPACITY}, calls last ${SPIKE_HOLD_MS} ms`);
  const prefix = prefixFor('spike');
  const workers = await startWorkers(env, 2);
  const { proc: intake, url } = await startIntake(env, prefix);
  const dispatchers = await Promise.all([0, 1].map(() => startDispatcher(env, prefix, { FLEET_CAPACITY: String(SPIKE_CAPACITY) })));
  const signed = await presign(Array.from({ length: SPIKE_N }, (_, i) => `spike-${i}`), env.livekit);
  const sidOf = new Map(signed.map((s) => [s.room, s.sid]));
  const agent = createAgent(CONCURRENCY);
  let finished = 0;
  let live = 0;
  let peakLive = 0;
  let lastFinishAt = 0;
  const finishes: Array<Promise<unknown>> = [];
  env.livekit.onJobAssigned = (job) => {
    live++;
    peakLive = Math.max(peakLive, live);
    // The caller hangs up: the room ends (its agent leaves) and room_finished reaches the intake.
    const body = webhookBody('room_finished', job.room, undefined, sidOf.get(job.room));
    finishes.push(
      new Promise((r) => setTimeout(r, SPIKE_HOLD_MS))
        .then(() => {
          live--;
          env.livekit.endCall(job.room);
        })
        .then(() => signWebhook(body, { apiKey: API_KEY, apiSecret: API_SECRET }))
        .then((auth) => httpRequest(`${url}/webhooks/livekit`, { method: 'POST', body, headers: { authorization: auth } }, agent))
        .then(() => {
          finished++;
          lastFinishAt = performance.now();
        }),
    );
  };
  let non2xx = 0;
  const start = performance.now();
  await Promise.all(
    signed.map((s) =>
      httpRequest(`${url}/webhooks/livekit`, { method: 'POST', body: s.body, headers: { authorization: s.auth } }, agent).then((res) => {
        if (res.status !== 200) non2xx++;
      }),
    ),
  );
  const absorbSeconds = (performance.now() - start) / 1000;
  const deadline = Date.now() + 180_000;
  while (finished < SPIKE_N && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  await Promise.allSettled(finishes);
  const drainSeconds = (lastFinishAt - start) / 1000;
  env.livekit.onJobAssigned = undefined;
  agent.destroy();
  await Promise.all([intake.kill('SIGTERM'), ...dispatchers.map((d) => d.kill('SIGTERM'))]);
  await Promise.all(workers.map((w) => w.close()));
  return {
    calls: SPIKE_N,
    capacity: SPIKE_CAPACITY,
    callSeconds: SPIKE_HOLD_MS / 1000,
    non2xx,
    absorbSeconds: Math.round(absorbSeconds * 100) / 100,
    drainSeconds: Math.round(drainSeconds * 100) / 100,
    completed: finished,
    peakActive: peakLive,
    twoAgents: env.livekit.sessionsWithTwoAgents().length,
  };
}

async function main(): Promise<void> {
  let server: RedisServer | undefined;
  const redisUrl = process.env.REDIS_URL ?? (server = await startRedisServer()).url;
  const livekit = await new FakeLiveKit({ apiKey: API_KEY, apiSecret: API_SECRET }).start();
  const env: Env = { redisUrl, livekit };
  try {
    const bare = await benchBareAdd(env);
    const intake = await benchIntake(env);
    const dispatch = await benchDispatch(env);
    const spike = await benchSpike(env);
    const result = {
      machine: { cpus: cpus().length, node: process.version, redis: server ? 'own redis-server (AOF everysec)' : 'REDIS_URL' },
      headline: {
        intakeToBareAddRatio: Math.round((intake.throughput.perSecond / bare.perSecond) * 100) / 100,
        // Per core of CPU: what a deployment can plan on, independent of how this box's 2 cores are shared.
        intakeToBareAddCpuRatio:
          intake.throughput.cpuMicrosPerWebhook === undefined ? undefined : Math.round((bare.cpuMicrosPerJob / intake.throughput.cpuMicrosPerWebhook) * 100) / 100,
      },
      bareQueueAdd: bare,
      intake: intake.throughput,
      intakePaced: intake.paced,
      dispatchLatency: dispatch,
      spike,
      targets: { intakeToBareAddRatio: '>= 0.8', intakeAckP99MsAt1000PerSecond: '< 5', dispatchP99Ms: '< 10' },
    };
    if (json) {
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    } else {
      const rows: Array<[string, string]> = [
        ['intake / bare queue.add throughput', `${result.headline.intakeToBareAddRatio} (target >= 0.8)`],
        ['bare BullMQ queue.add', `${bare.perSecond}/s  p50 ${bare.p50Ms} ms  p99 ${bare.p99Ms} ms  (${bare.cpuMicrosPerJob} us CPU per add)`],
        [
          'intake (signed webhooks)',
          `${intake.throughput.perSecond}/s  p50 ${intake.throughput.p50Ms} ms  p99 ${intake.throughput.p99Ms} ms  non-2xx ${intake.throughput.non2xx}` +
            (intake.throughput.cpuMicrosPerWebhook === undefined ? '' : `  (${intake.throughput.cpuMicrosPerWebhook} us CPU per webhook)`),
        ],
        [`intake ack at ${PACED_RATE}/s`, `p50 ${intake.paced.p50Ms} ms  p99 ${intake.paced.p99Ms} ms (target p99 < 5 ms; achieved ${intake.paced.achievedPerSecond}/s)`],
        [`dispatch latency at ${DISPATCH_RATE}/s (ack -> CreateDispatch answered)`, `p50 ${dispatch.p50Ms} ms  p99 ${dispatch.p99Ms} ms (target p99 < 10 ms; ${dispatch.dispatched}/${dispatch.calls}; dispatcher CPU ${dispatch.dispatcherCpuMsPerCall ?? '?'} ms per call)`],
        ['CreateDispatch answered -> job assigned', `p50 ${dispatch.agentJoin.p50Ms} ms  p99 ${dispatch.agentJoin.p99Ms} ms (${dispatch.withAgent}/${dispatch.calls} with an agent)`],
        [`spike ${SPIKE_N} at capacity ${SPIKE_CAPACITY}`, `absorbed in ${spike.absorbSeconds} s, drained in ${spike.drainSeconds} s (${SPIKE_HOLD_MS} ms calls); peak active ${spike.peakActive}; non-2xx ${spike.non2xx}; sessions with two agents ${spike.twoAgents}`],
      ];
      const width = Math.max(...rows.map(([k]) => k.length));
      process.stdout.write(`queue bench (${result.machine.cpus} CPUs shared by bench client, intake, dispatchers and Redis; Node ${process.version}; ${result.machine.redis})\n`);
      for (const [k, v] of rows) process.stdout.write(`  ${k.padEnd(width)}  ${v}\n`);
    }
  } finally {
    await livekit.close();
    await server?.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`queue bench failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
