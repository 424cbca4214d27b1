import { afterEach, describe, expect, it } from 'vitest';
import { httpRequest, mapConcurrent } from '../src/dev/http-client.js';
import { spawnVoiceAgent, type VoiceAgentProcess } from '../src/dev/processes.js';
import { callIdForRoom } from '../src/queue/keys.js';
import { Harness, INTAKE_TOKEN, waitFor } from './helpers/harness.js';
import { startRoles, type InProcessRoles } from './helpers/roles.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('failures', () => {
  let h: Harness | undefined;
  let roles: InProcessRoles | undefined;
  const children: VoiceAgentProcess[] = [];

  afterEach(async () => {
    h?.stopFinishingRooms();
    await h?.settleFinishes();
    await Promise.all(children.splice(0).map((c) => c.kill('SIGKILL')));
    await roles?.close();
    roles = undefined;
    await h?.close();
    h = undefined;
  });

  function dispatcher(env: Record<string, string>): VoiceAgentProcess {
    const child = spawnVoiceAgent(['dispatcher'], h!.env({ LOG_LEVEL: 'info', ...env }));
    children.push(child);
    return child;
  }

  it('a dispatcher SIGKILLed mid-dispatch: another one completes every call, and no room gets two dispatches', async () => {
    h = await new Harness().start();
    roles = await startRoles(h, {}, 0); // intake only; the dispatchers are processes
    const env = { FLEET_CAPACITY: '100' };
    const a = dispatcher(env);
    await a.waitForRecord((r) => r.msg === 'dispatcher ready');

    // LiveKit records each dispatch on arrival but answers slowly: A is caught mid-request.
    h.livekit.dispatchDelayMs = 5000;
    const rooms = Array.from({ length: 60 }, (_, i) => `crash-${i}`);
    for (const room of rooms) expect((await h.postWebhook(roles.intake.url, h.callWebhook(room))).status).toBe(200);
    await waitFor('A has dispatches in flight', () => h!.livekit.dispatchCount >= 5);
    const status = await a.kill('SIGKILL');
    expect(status.signal).toBe('SIGKILL');
    const inFlightAtKill = h.livekit.dispatchCount;

    h.livekit.dispatchDelayMs = 0;
    const b = dispatcher(env);
    await waitFor(
      'every room is dispatched',
      () => rooms.every((r) => h!.livekit.dispatches.has(r)),
      90_000,
      () => `${h!.livekit.dispatchCount}/${rooms.length}`,
    );
    await waitFor('every call is recorded as dispatched', async () => {
      const states = await Promise.all(rooms.map((r) => h!.callState(callIdForRoom(r))));
      return states.every((s) => s === 'dispatched');
    });
    expect(h.livekit.roomsDispatchedTwice()).toEqual([]);
    expect(h.livekit.dispatchCount).toBe(rooms.length);
    // B found A's in-flight dispatches in LiveKit instead of dispatching those rooms again.
    const reused = b.records().filter((r) => r.msg === 'call dispatched' && r.reused === true);
    expect(reused.length).toBeGreaterThanOrEqual(1);
    expect(reused.length).toBeLessThanOrEqual(inFlightAtKill);

    for (const room of rooms) await h.finishRoom(roles.intake.url, room);
    expect(await h.activeCount()).toBe(0);
    await waitFor('no job is left', async () => (await h!.queues.calls.getJobCountByTypes('wait', 'active', 'delayed')) === 0);
  });

  it('SIGTERM drains a dispatcher: calls waiting for capacity go back to the queue, and the process exits 0', async () => {
    h = await new Harness().start();
    roles = await startRoles(h, {}, 0);
    const a = dispatcher({ FLEET_CAPACITY: '1' });
    await a.waitForRecord((r) => r.msg === 'dispatcher ready');
    for (const room of ['drain-1', 'drain-2', 'drain-3']) await h.postWebhook(roles.intake.url, h.callWebhook(room));
    await waitFor('one call dispatched, two held in line', async () => h!.livekit.dispatchCount === 1 && (await h!.store.capacityStats(1)).line === 2);
    const status = await a.kill('SIGTERM');
    expect(status.code).toBe(0);
    expect(a.records().some((r) => r.msg === 'dispatcher stopped')).toBe(true);
    expect((await h.store.capacityStats(1)).line).toBe(0);
    expect(await h.queues.calls.getJobCountByTypes('wait')).toBe(2);
    expect(await h.activeCount()).toBe(1); // the dispatched call keeps its capacity until its room finishes

    // Another dispatcher picks them up where they were.
    h.finishRoomsAfterDispatch(roles.intake.url, 10);
    await h.finishRoom(roles.intake.url, [...h.livekit.dispatches.keys()][0]!);
    const b = dispatcher({ FLEET_CAPACITY: '1' });
    await b.waitForRecord((r) => r.msg === 'dispatcher ready');
    await waitFor('the two handed-back calls are dispatched', () => h!.livekit.dispatchCount === 3);
    expect(h.livekit.roomsDispatchedTwice()).toEqual([]);
  });

  it('Redis killed: the intake answers 503 (never 2xx) while it is down; every acknowledged call is there after the restart and completes', async () => {
    h = await new Harness().start({ ownRedis: true });
    roles = await startRoles(h, { FLEET_CAPACITY: '5' }, 1);
    const url = roles.intake.url;
    const acked = Array.from({ length: 100 }, (_, i) => `before-${i}`);
    const before = await mapConcurrent(acked, 20, (room) => h!.postWebhook(url, h!.callWebhook(room)));
    expect(before.map((r) => r.status)).toEqual(acked.map(() => 200));
    await waitFor('five calls are dispatched', () => h!.livekit.dispatchCount === 5);

    // AOF appendfsync everysec: what Redis acknowledged more than a second ago is on disk.
    await sleep(1500);
    await h.redisServer!.kill('SIGKILL');

    const during = Array.from({ length: 30 }, (_, i) => `during-${i}`);
    const rejected = await mapConcurrent(during, 30, (room) => h!.postWebhook(url, h!.callWebhook(room)));
    expect(rejected.map((r) => r.status)).toEqual(during.map(() => 503));
    expect(rejected[0]!.headers['retry-after']).toBe('1');
    const api = await httpRequest(`${url}/v1/calls`, { method: 'POST', body: JSON.stringify({ room: 'api-during' }), headers: { authorization: `Bearer ${INTAKE_TOKEN}` } });
    expect(api.status).toBe(503);
    expect((await httpRequest(`${url}/readyz`)).status).toBe(503);
    expect((await httpRequest(`${url}/healthz`)).status).toBe(200);

    await h.redisServer!.restart();
    await waitFor('the intake is ready again', async () => (await httpRequest(`${url}/readyz`)).status === 200);
    const missing: string[] = [];
    for (const room of acked) if (!(await h.queues.calls.getJob(callIdForRoom(room)))) missing.push(room);
    expect(missing).toEqual([]);

    h.finishRoomsAfterDispatch(url, 10);
    for (const room of h.livekit.dispatches.keys()) void h.finishRoom(url, room);
    await waitFor(
      'every acknowledged call is dispatched and finished',
      async () => {
        const states = await Promise.all(acked.map((r) => h!.callState(callIdForRoom(r))));
        return states.every((s) => s === 'finished');
      },
      90_000,
      async () => `${h!.livekit.dispatchCount} dispatched, ${h!.finishedRooms.size} finished`,
    );
    expect(h.livekit.roomsDispatchedTwice()).toEqual([]);
    expect(during.filter((r) => h!.livekit.dispatches.has(r))).toEqual([]);
    expect(h.peakLiveCalls).toBeLessThanOrEqual(5);
  });
});
