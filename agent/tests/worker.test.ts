/**
 * The `agent` role as the image runs it: `voice-agent agent` registers with LiveKit under
 * AGENT_NAME (explicit dispatch), answers on its health port, publishes its capacity heartbeat for
 * the dispatcher, serves /metrics, and on SIGTERM withdraws its capacity, drains and exits 0.
 * Bad configuration stops it at start with one line and exit 2.
 */
import { WorkerStatus } from '@livekit/protocol';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT, runVoiceAgent, spawnVoiceAgent, type VoiceAgentProcess } from '../src/dev/processes.js';
import { freePort, startRedisServer, type RedisServer } from '../src/dev/redis-server.js';
import { AgentDispatchClient, RoomServiceClient } from 'livekit-server-sdk';
import { FakeLiveKit } from '../src/dev/fake-livekit.js';
import { readFleetCapacity } from '../src/queue/capacity-heartbeat.js';
import { waitFor } from './helpers/harness.js';
import { shippedSpecObject } from './helpers/voice-fakes.js';

const KEYS = {
  LIVEKIT_API_KEY: 'APIworkertest',
  LIVEKIT_API_SECRET: 'worker-test-secret-0123456789abcdef',
  OPENAI_API_KEY: 'sk-test-not-a-key',
  DEEPGRAM_API_KEY: 'dg-test-not-a-key',
  CARTESIA_API_KEY: 'ca-test-not-a-key',
};

/** stderr is exactly one line and stdout is empty. */
function oneLine(result: { stdout: string; stderr: string }): string {
  expect(result.stdout).toBe('');
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  return lines[0]!;
}

describe('voice-agent --help', () => {
  it('lists the agent role and the environment it needs', async () => {
    const r = await runVoiceAgent(['--help'], {});
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('voice-agent agent');
    expect(r.stdout).toMatch(/voice-agent all\s+intake, dispatcher and agent worker/);
    const agentEnv = r.stdout.slice(r.stdout.indexOf('Environment of the agent role'));
    for (const name of ['LIVEKIT_URL', 'LIVEKIT_API_KEY', 'LIVEKIT_API_SECRET', 'OPENAI_API_KEY', 'DEEPGRAM_API_KEY', 'CARTESIA_API_KEY', 'AGENT_NAME', 'AGENT_SPEC', 'REDIS_URL', 'LOCAL_LLM_URL']) {
      expect(agentEnv).toContain(name);
    }
  });
});

describe('voice-agent agent: bad configuration', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'agent-spec-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('a spec handing off to an unknown specialist: exit 2, one line naming the key', async () => {
    const raw = shippedSpecObject() as { specialists: Record<string, { handoffs: string[] }> };
    raw.specialists.billing!.handoffs = ['refunds'];
    const path = join(dir, 'agents.yaml');
    await writeFile(path, stringify(raw));
    const r = await runVoiceAgent(['agent'], { ...KEYS, LIVEKIT_URL: 'ws://127.0.0.1:1', AGENT_SPEC: path });
    expect(r.code).toBe(2);
    expect(oneLine(r)).toBe(`voice-agent: ${path}: specialists.billing.handoffs[0] = "refunds" is not a specialist; specialists are billing, escalation, scheduling, support`);
  });

  it('a missing provider key: exit 2, naming the variable and not echoing any secret', async () => {
    const { DEEPGRAM_API_KEY: _omit, ...rest } = KEYS;
    const r = await runVoiceAgent(['agent'], { ...rest, LIVEKIT_URL: 'ws://127.0.0.1:1' });
    expect(r.code).toBe(2);
    const line = oneLine(r);
    expect(line).toMatch(/^voice-agent: DEEPGRAM_API_KEY is required/);
    for (const secret of Object.values(KEYS)) expect(line).not.toContain(secret);
  });

  it('a missing LiveKit URL: exit 2', async () => {
    const r = await runVoiceAgent(['agent'], KEYS);
    expect(r.code).toBe(2);
    expect(oneLine(r)).toMatch(/^voice-agent: LIVEKIT_URL is required/);
  });
});

/** Command lines of a process's descendants (Linux /proc). */
function descendantCommands(pid: number): string[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  const out: string[] = [];
  const walk = (p: number) => {
    for (const [child, parent] of parents) {
      if (parent !== p) continue;
      try {
        out.push(readFileSync(`/proc/${child}/cmdline`, 'utf8').replace(/\0/g, ' '));
      } catch {
        // gone meanwhile
      }
      walk(child);
    }
  };
  walk(pid);
  return out;
}

/** The offer the worker's heartbeat must make for what LiveKit last heard: ceil(0.7 x 7) = 5, or 0 when full. */
function offerFor(livekit: FakeLiveKit): number | undefined {
  const [w] = livekit.registeredWorkers;
  if (!w) return undefined;
  return w.status === WorkerStatus.WS_FULL ? 0 : 5;
}

describe('voice-agent agent: running', () => {
  let redisServer: RedisServer;
  let redis: Redis;
  let livekit: FakeLiveKit;
  let worker: VoiceAgentProcess;
  let cacheDir: string;
  const prefix = `{vat-${randomBytes(4).toString('hex')}}`;
  let healthPort: number;
  let metricsPort: number;

  beforeAll(async () => {
    redisServer = await startRedisServer();
    redis = new Redis(redisServer.url, { maxRetriesPerRequest: 1 });
    livekit = await new FakeLiveKit({ apiKey: KEYS.LIVEKIT_API_KEY, apiSecret: KEYS.LIVEKIT_API_SECRET }).start();
    cacheDir = await mkdtemp(join(tmpdir(), 'agent-cache-'));
    healthPort = await freePort();
    metricsPort = await freePort();
    worker = spawnVoiceAgent(['agent'], {
      ...KEYS,
      LIVEKIT_URL: livekit.url,
      AGENT_NAME: 'voice-agent-test',
      REDIS_URL: redisServer.url,
      QUEUE_PREFIX: prefix,
      AGENT_MAX_SESSIONS: '7',
      AGENT_IDLE_PROCESSES: '1',
      AGENT_HOST: '127.0.0.1',
      AGENT_HEALTH_PORT: String(healthPort),
      AGENT_METRICS_PORT: String(metricsPort),
      AGENT_DRAIN_TIMEOUT_SECONDS: '20',
      PHRASE_CACHE_DIR: cacheDir,
      LOG_LEVEL: 'info',
    });
    await worker.waitForRecord((r) => r.msg === 'agent worker started', 120_000);
  }, 180_000);

  afterAll(async () => {
    await worker?.kill('SIGKILL');
    await livekit?.close();
    redis?.disconnect();
    await redisServer?.stop();
    if (cacheDir) await rm(cacheDir, { recursive: true, force: true });
  });

  it('registers with LiveKit under AGENT_NAME (explicit dispatch), with a token LiveKit accepts', async () => {
    await waitFor('the worker registers', () => livekit.registeredWorkers.length > 0, 120_000, () => worker.stderr.slice(-2000));
    expect(livekit.registeredWorkers[0]!.agentName).toBe('voice-agent-test');
    expect(livekit.authFailures).toBe(0);
  });

  it('is healthy on its health port once registered, and reports itself on /worker', async () => {
    await waitFor('GET / answers 200', async () => (await fetch(`http://127.0.0.1:${healthPort}/`).catch(() => undefined))?.status === 200, 60_000);
    const info = (await (await fetch(`http://127.0.0.1:${healthPort}/worker`)).json()) as Record<string, unknown>;
    expect(info).toMatchObject({ agent_name: 'voice-agent-test', active_jobs: 0 });
  });

  it('publishes the capacity LiveKit agrees with: ceil(0.7 x AGENT_MAX_SESSIONS) while LiveKit sees it available, 0 when full', async () => {
    // The status and the heartbeat come from the same load, every 2.5 s; on this shared machine
    // the CPU share may push it over the threshold at any tick, so the two are compared.
    await waitFor('LiveKit has a status from the worker', () => (livekit.registeredWorkers[0]?.statusUpdates ?? 0) > 0, 30_000);
    await waitFor('the heartbeat agrees with the status LiveKit has', async () => (await readFleetCapacity(redis, prefix)) === offerFor(livekit), 30_000, async () =>
      JSON.stringify({ capacity: await readFleetCapacity(redis, prefix), workers: livekit.registeredWorkers }),
    );
  });

  it('offers 0 while disconnected from LiveKit, and again after it registers anew', async () => {
    livekit.disconnectWorkers();
    await waitFor('the offer drops to 0 or the worker is back', async () => (await readFleetCapacity(redis, prefix)) === 0 || livekit.registeredWorkers.length > 0, 30_000);
    // agents-js reconnects within seconds; its heartbeat follows what LiveKit hears again.
    await waitFor('registered again', () => livekit.registeredWorkers.length > 0, 60_000);
    await waitFor('the heartbeat agrees with LiveKit again', async () => (await readFleetCapacity(redis, prefix)) === offerFor(livekit), 30_000);
  });

  it('runs job processes but no end-of-turn inference process (turn detection is VAD; agents-js would start one, ~138 MB)', async () => {
    await worker.waitForRecord((r) => r.role === 'agent-job' && String(r.msg).startsWith('no phrase cache'), 120_000);
    const commands = descendantCommands(worker.child.pid!);
    expect(commands.some((c) => c.includes('job_proc_lazy_main'))).toBe(true);
    expect(commands.filter((c) => c.includes('inference_proc'))).toEqual([]);
  });

  it('serves the call metrics on /metrics', async () => {
    const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain('# TYPE voice_calls_total counter');
    expect(text).toContain('# TYPE voice_turn_latency_seconds histogram');
  });

  it('on SIGTERM withdraws its capacity, tells LiveKit it is full, drains and exits 0', async () => {
    // A warm job process has run the agent's prewarm (it warns that this test has no phrase cache).
    await worker.waitForRecord((r) => r.role === 'agent-job' && String(r.msg).startsWith('no phrase cache'), 120_000);
    const status = await worker.kill('SIGTERM');
    expect(status.code).toBe(0);
    expect(await readFleetCapacity(redis, prefix)).toBe(0);
    expect(livekit.registeredWorkers.length === 0 || livekit.registeredWorkers[0]!.status === WorkerStatus.WS_FULL).toBe(true);
    expect(worker.records().some((r) => r.msg === 'capacity offered to the queue' && r.capacitySessions === 0 && r.draining === true)).toBe(true);
    const records = worker.records();
    expect(records.some((r) => r.msg === 'agent worker closed')).toBe(true);
  }, 120_000);
});

describe('the real agents-js worker and the LiveKit stand-in', () => {
  let livekit: FakeLiveKit;
  let child: ChildProcess | undefined;
  const lines: Array<Record<string, unknown>> = [];
  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
    await livekit?.close();
  });

  it('registers over /agent and takes a job: AvailabilityRequest, AvailabilityResponse, JobAssignment', async () => {
    livekit = await new FakeLiveKit({ apiKey: KEYS.LIVEKIT_API_KEY, apiSecret: KEYS.LIVEKIT_API_SECRET }).start();
    // AgentServer itself, with a load of 0 (this shared machine's CPU must not make it WS_FULL).
    child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./fixtures/run-real-worker.ts', import.meta.url))], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LIVEKIT_URL: livekit.url, LIVEKIT_API_KEY: KEYS.LIVEKIT_API_KEY, LIVEKIT_API_SECRET: KEYS.LIVEKIT_API_SECRET, AGENT_NAME: 'real-worker-test', HEALTH_PORT: String(await freePort()) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      for (const line of chunk.split('\n')) {
        try {
          lines.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          // not ours
        }
      }
    });
    await waitFor('the real worker registers', () => lines.some((l) => l.msg === 'registered'), 120_000, () => stderr.slice(-2000));
    const workerId = lines.find((l) => l.msg === 'registered')!.workerId;
    expect(livekit.registeredWorkers).toMatchObject([{ id: workerId, agentName: 'real-worker-test', status: WorkerStatus.WS_AVAILABLE }]);

    const api = new AgentDispatchClient(livekit.url, KEYS.LIVEKIT_API_KEY, KEYS.LIVEKIT_API_SECRET);
    const dispatch = await api.createDispatch('real-worker-room', 'real-worker-test', { metadata: '{"callId":"c1"}' });
    await waitFor('the job is assigned', () => livekit.jobs.length === 1, 30_000, () => stderr.slice(-2000));
    const [listed] = (await api.listDispatch('real-worker-room')).filter((d) => d.id === dispatch.id);
    expect(listed!.state!.jobs[0]!.state).toMatchObject({ workerId, participantIdentity: `agent-${listed!.state!.jobs[0]!.id}` });
    const participants = await new RoomServiceClient(livekit.url, KEYS.LIVEKIT_API_KEY, KEYS.LIVEKIT_API_SECRET).listParticipants('real-worker-room');
    expect(participants.map((p) => p.identity)).toContain(livekit.jobs[0]!.participantIdentity);
    // Its load reports arrive every 2.5 s (loadFunc), and LiveKit keeps them.
    await waitFor('a status update', () => (livekit.registeredWorkers[0]?.statusUpdates ?? 0) > 0, 30_000);
    expect(livekit.registeredWorkers[0]!.load).toBe(0);
    livekit.endCall('real-worker-room');
  }, 180_000);
});

describe('voice-agent all', () => {
  let redisServer: RedisServer;
  let redis: Redis;
  let livekit: FakeLiveKit;
  let proc: VoiceAgentProcess;
  let cacheDir: string;
  const prefix = `{vaa-${randomBytes(4).toString('hex')}}`;
  let intakePort: number;

  beforeAll(async () => {
    redisServer = await startRedisServer();
    redis = new Redis(redisServer.url, { maxRetriesPerRequest: 1 });
    livekit = await new FakeLiveKit({ apiKey: KEYS.LIVEKIT_API_KEY, apiSecret: KEYS.LIVEKIT_API_SECRET }).start();
    cacheDir = await mkdtemp(join(tmpdir(), 'all-cache-'));
    intakePort = await freePort();
    proc = spawnVoiceAgent(['all'], {
      ...KEYS,
      LIVEKIT_URL: livekit.url,
      REDIS_URL: redisServer.url,
      QUEUE_PREFIX: prefix,
      INTAKE_TOKEN: 'intake-token-0123456789abcdef',
      INTAKE_HOST: '127.0.0.1',
      INTAKE_PORT: String(intakePort),
      METRICS_INTERVAL_SECONDS: '0',
      AGENT_MAX_SESSIONS: '3',
      AGENT_IDLE_PROCESSES: '1',
      AGENT_HOST: '127.0.0.1',
      AGENT_HEALTH_PORT: String(await freePort()),
      PHRASE_CACHE_DIR: cacheDir,
      LOG_LEVEL: 'info',
    });
    await proc.waitForRecord((r) => r.msg === 'agent worker started', 120_000);
  }, 180_000);

  afterAll(async () => {
    await proc?.kill('SIGKILL');
    await livekit?.close();
    redis?.disconnect();
    await redisServer?.stop();
    if (cacheDir) await rm(cacheDir, { recursive: true, force: true });
  });

  it('runs the agent worker beside the intake and dispatcher: registered, its capacity counted, its call metrics on the intake /metrics', async () => {
    await waitFor('the worker registers', () => livekit.registeredWorkers.length > 0, 120_000);
    // ceil(0.7 x 3) = 3 while LiveKit sees it available.
    await waitFor('its capacity is counted', async () => (await readFleetCapacity(redis, prefix)) === (livekit.registeredWorkers[0]?.status === WorkerStatus.WS_FULL ? 0 : 3), 30_000);
    const text = await (await fetch(`http://127.0.0.1:${intakePort}/metrics`)).text();
    expect(text).toContain('# TYPE voice_calls_total counter'); // the agent's
    expect(text).toContain('# TYPE voice_intake_calls_total counter'); // the intake's
  });

  it('drains all three on SIGTERM and exits 0', async () => {
    await proc.waitForRecord((r) => r.role === 'agent-job' && String(r.msg).startsWith('no phrase cache'), 120_000);
    const status = await proc.kill('SIGTERM');
    expect(status.code).toBe(0);
    expect(await readFleetCapacity(redis, prefix)).toBe(0);
  }, 120_000);
});
