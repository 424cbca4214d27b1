/**
 * Capacity LiveKit agrees with: workers report load = max(CPU, active jobs / max sessions) to
 * LiveKit and offer the dispatchers only the sessions LiveKit would route to them. A worker at
 * its load threshold offers nothing new: calls wait in the queue, none is dispatched to nowhere.
 */
import { WorkerStatus } from '@livekit/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../src/log.js';
import { readFleetCapacity } from '../src/queue/capacity-heartbeat.js';
import { CapacityReporter } from '../src/worker/capacity-reporter.js';
import { Harness, waitFor } from './helpers/harness.js';
import { startRoles, type InProcessRoles } from './helpers/roles.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('capacity from the workers', () => {
  let h: Harness;
  let roles: InProcessRoles | undefined;

  beforeEach(async () => {
    h = await new Harness().start();
  });
  afterEach(async () => {
    await roles?.close();
    roles = undefined;
    await h.close();
  });

  it('a worker at its load threshold (CPU) reports 0 capacity: calls wait in the queue, none dispatched to nowhere', async () => {
    const worker = await h.startWorker({ heartbeat: true, maxSessions: 10, loadThreshold: 0.7, cpuLoad: 0.8, statusIntervalMs: 60_000 });
    worker.tick(); // LiveKit hears WS_FULL
    await waitFor('LiveKit sees the worker full', () => h.livekit.registeredWorkers[0]?.status === WorkerStatus.WS_FULL, 5000);
    expect(await readFleetCapacity(h.admin, h.prefix)).toBe(0);

    roles = await startRoles(h, {});
    const calls = ['busy-1', 'busy-2', 'busy-3'].map((room) => h.call(room));
    await waitFor('the calls wait in line', async () => (await h.store.capacityStats(undefined)).line === 3);
    await sleep(500);
    expect(h.livekit.createAttempts.size).toBe(0); // nothing sent to a LiveKit that would find no worker
    expect(await h.queues.deadLetters.getJobCountByTypes('wait')).toBe(0);

    // CPU back to normal: LiveKit and the dispatchers hear it at the same tick.
    worker.cpuLoad = 0.1;
    worker.tick();
    // ceil(0.7 x 10) = 7 sessions before the session share reaches the threshold.
    await waitFor('capacity is offered again', async () => (await readFleetCapacity(h.admin, h.prefix)) === 7, 5000);
    await waitFor('the calls are dispatched', async () => (await Promise.all(calls.map((c) => h.callState(c.callId)))).every((s) => s === 'dispatched'), 30_000);
    expect(worker.activeJobs.size).toBe(3);
  });

  it('a worker full by its sessions offers 0; the next call waits until one ends and LiveKit hears it is below its threshold', async () => {
    // threshold 0.5 of 4 sessions: LiveKit stops routing at 2 calls.
    const worker = await h.startWorker({ heartbeat: true, maxSessions: 4, loadThreshold: 0.5, statusIntervalMs: 60_000 });
    expect(await readFleetCapacity(h.admin, h.prefix)).toBe(2);
    roles = await startRoles(h, {});
    const [a, b, c] = ['s-1', 's-2', 's-3'].map((room) => h.call(room));
    await waitFor('two calls dispatched', async () => (await h.callState(a!.callId)) === 'dispatched' && (await h.callState(b!.callId)) === 'dispatched');
    worker.tick(); // load 0.5 >= 0.5: WS_FULL to LiveKit, 0 to the dispatchers
    await waitFor('the worker offers 0', async () => (await readFleetCapacity(h.admin, h.prefix)) === 0, 5000);
    await sleep(500);
    expect(await h.callState(c!.callId)).toBeUndefined(); // waiting, not admitted
    expect(h.livekit.createAttempts.has('s-3')).toBe(false);

    await h.finishRoom('s-1');
    // Until LiveKit hears the worker is below its threshold, nothing new is offered.
    await sleep(300);
    expect(h.livekit.createAttempts.has('s-3')).toBe(false);
    worker.tick(); // load 0.25: WS_AVAILABLE, and 2 sessions offered again
    await waitFor('the third call is dispatched', async () => (await h.callState(c!.callId)) === 'dispatched', 30_000);
    expect(h.livekit.createAttempts.get('s-3')).toHaveLength(1);
    expect(h.livekit.sessionsWithTwoAgents()).toEqual([]);
  });

  it('the dispatchers never admit more than the sum of the offers, with several workers', async () => {
    const workers = await Promise.all([0, 1, 2].map(() => h.startWorker({ heartbeat: true, maxSessions: 2, loadThreshold: 1, statusIntervalMs: 200 })));
    expect(await readFleetCapacity(h.admin, h.prefix)).toBe(6);
    roles = await startRoles(h, {}, 2);
    for (let i = 0; i < 10; i++) h.call(`sum-${i}`);
    await waitFor('six dispatched', async () => (await h.activeCount()) === 6 && h.livekit.jobs.length === 6, 30_000);
    await sleep(1000);
    expect(h.livekit.jobs).toHaveLength(6);
    expect(h.livekit.createAttempts.size).toBe(6);
    expect((await h.store.capacityStats(undefined)).line).toBe(4);
    expect(workers.reduce((n, w) => n + w.activeJobs.size, 0)).toBe(6);
  });

  it('a draining worker offers nothing new', async () => {
    const worker = await h.startWorker({ heartbeat: true, maxSessions: 4, loadThreshold: 1, statusIntervalMs: 60_000 });
    roles = await startRoles(h, {});
    const a = h.call('d-1');
    await waitFor('dispatched', async () => (await h.callState(a.callId)) === 'dispatched');
    worker.drain();
    await waitFor('nothing is offered', async () => (await readFleetCapacity(h.admin, h.prefix)) === 0, 5000);
    const b = h.call('d-2');
    await sleep(800);
    expect(await h.callState(b.callId)).toBeUndefined();
    expect(h.livekit.createAttempts.has('d-2')).toBe(false);
  });
});

describe('the real worker\'s capacity reporter', () => {
  let h: Harness;
  let reporter: CapacityReporter | undefined;
  beforeEach(async () => {
    h = await new Harness().start();
  });
  afterEach(async () => {
    await reporter?.stop();
    await h.close();
  });

  it('beats only once registered, follows the load LiveKit hears, offers 0 when the loadFunc calls stop (disconnected), and resumes on re-registration', async () => {
    let nowMs = 1_000_000;
    reporter = new CapacityReporter({ redis: h.admin, prefix: h.prefix, workerId: 'w1', maxSessions: 10, loadThreshold: 0.7, log: silentLogger, statusIntervalMs: 60_000, now: () => nowMs });
    reporter.reportLoad(0.1); // agents-js only calls loadFunc once connected; this one comes too early
    await sleep(50);
    expect(await h.admin.hgetall(h.store.keys.fleet)).toEqual({}); // no heartbeat before registration

    await reporter.registeredWithLiveKit();
    expect(await readFleetCapacity(h.admin, h.prefix)).toBe(7);
    reporter.reportLoad(0.75);
    await waitFor('full: 0', async () => (await readFleetCapacity(h.admin, h.prefix)) === 0, 5000);
    reporter.reportLoad(0.2);
    await waitFor('available: 7', async () => (await readFleetCapacity(h.admin, h.prefix)) === 7, 5000);

    nowMs += 3 * 60_000 + 1; // three status intervals without a loadFunc call: the connection is down
    reporter.reportLoad(0.2);
    nowMs += 3 * 60_000 + 1;
    expect(reporter.offered).toBe(0);
    await reporter.registeredWithLiveKit();
    expect(await readFleetCapacity(h.admin, h.prefix)).toBe(7);

    await reporter.drain();
    expect(await readFleetCapacity(h.admin, h.prefix)).toBe(0);
    await reporter.stop();
    expect(await h.admin.hgetall(h.store.keys.fleet)).toEqual({});
    reporter = undefined;
  });
});
