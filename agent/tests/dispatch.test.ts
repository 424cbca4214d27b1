import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { callIdForRoom } from '../src/queue/keys.js';
import { startCapacityHeartbeat, readFleetCapacity } from '../src/queue/capacity-heartbeat.js';
import { Harness, waitFor } from './helpers/harness.js';
import { startRoles, type InProcessRoles } from './helpers/roles.js';

describe('dispatch', () => {
  let h: Harness;
  let roles: InProcessRoles | undefined;

  beforeEach(async () => {
    h = await new Harness().start();
  });
  afterEach(async () => {
    h.stopFinishingRooms();
    await h.settleFinishes();
    await roles?.close();
    roles = undefined;
    await h.close();
  });

  it('a SIP caller joining becomes one dispatched call, and room_finished frees its capacity', async () => {
    roles = await startRoles(h, { FLEET_CAPACITY: '1' });
    const res = await h.postWebhook(roles.intake.url, h.callWebhook('call-a'));
    expect(res.status).toBe(200);
    const callId = callIdForRoom('call-a');
    expect(JSON.parse(res.body)).toMatchObject({ callId, duplicate: false });

    await waitFor('call-a is dispatched', () => h.livekit.dispatchCount === 1);
    const [dispatch] = h.livekit.dispatches.get('call-a')!;
    expect(dispatch!.agentName).toBe('voice-agent');
    expect(JSON.parse(dispatch!.metadata)).toMatchObject({ callId, room: 'call-a', source: 'livekit' });
    expect(h.livekit.authFailures).toBe(0);
    await waitFor('the call is recorded as dispatched', async () => (await h.callState(callId)) === 'dispatched');
    expect(await h.activeCount()).toBe(1);

    // A second call waits: capacity 1 is taken until the first room finishes.
    await h.postWebhook(roles.intake.url, h.callWebhook('call-b'));
    await waitFor('call-b holds a place in line', async () => (await h.store.capacityStats(1)).line === 1);
    expect(h.livekit.dispatches.has('call-b')).toBe(false);

    await h.finishRoom(roles.intake.url, 'call-a');
    expect(await h.callState(callId)).toBe('finished');
    await waitFor('call-b is dispatched after call-a finished', () => h.livekit.dispatches.has('call-b'));
  });

  it('a webhook delivered three times yields one call and one dispatch', async () => {
    roles = await startRoles(h, { FLEET_CAPACITY: '5' });
    const body = h.callWebhook('dup-room');
    const first = await h.postWebhook(roles.intake.url, body);
    // LiveKit retries re-send the same body; send the retries concurrently too.
    const retries = await Promise.all([h.postWebhook(roles.intake.url, body), h.postWebhook(roles.intake.url, body)]);
    const callId = callIdForRoom('dup-room');
    for (const r of [first, ...retries]) {
      expect(r.status).toBe(200);
      expect(JSON.parse(r.body).callId).toBe(callId);
    }
    expect(retries.map((r) => JSON.parse(r.body).duplicate)).toEqual([true, true]);
    await waitFor('dup-room is dispatched', () => h.livekit.dispatchCount === 1);
    // A fourth delivery after dispatch is still the same call, and nothing more is dispatched.
    expect((await h.postWebhook(roles.intake.url, body)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 500));
    expect(h.livekit.dispatches.get('dup-room')).toHaveLength(1);
    expect(await h.queues.calls.getJobCountByTypes('wait', 'active', 'delayed', 'completed', 'failed')).toBe(1);
    const metrics = await roles.metrics.registry.getSingleMetricAsString('voice_intake_calls_total');
    expect(metrics).toContain('voice_intake_calls_total{source="livekit"} 1');
  });

  it('admits calls first come, first served across three dispatchers', async () => {
    // No capacity yet (no agent heartbeats). Three dispatchers holding two calls each: the oldest
    // waiting call is often in another process than the one that wakes first.
    roles = await startRoles(h, { DISPATCH_CONCURRENCY: '2' }, 3);
    const rooms = Array.from({ length: 16 }, (_, i) => `fcfs-${String(i).padStart(2, '0')}`);
    for (const room of rooms) expect((await h.postWebhook(roles.intake.url, h.callWebhook(room))).status).toBe(200);
    await waitFor('six calls are held in line', async () => (await h.store.capacityStats(undefined)).line === 6);
    h.finishRoomsAfterDispatch(roles.intake.url, 5);
    const agent = await startCapacityHeartbeat({ redis: h.admin, workerId: 'agent-1', capacitySessions: 1, prefix: h.prefix });
    await waitFor('all rooms are dispatched', () => h.livekit.dispatchCount === rooms.length, 20_000, async () =>
      JSON.stringify({
        dispatched: h.livekit.dispatchCount,
        line: await h.admin.zrange(h.store.keys.line, 0, -1, 'WITHSCORES'),
        seen: await h.admin.hgetall(h.store.keys.lineSeen),
        active: await h.admin.zrange(h.store.keys.active, 0, -1),
        counts: await h.queues.calls.getJobCounts(),
        fleet: await h.admin.hgetall(h.store.keys.fleet),
        logs: roles!.logs.records.filter((r) => r.level !== 'debug').slice(-10),
      }),
    );
    await agent.stop();
    const order = [...h.livekit.dispatches.values()].flat().sort((a, b) => Number(a.id.slice(3)) - Number(b.id.slice(3)));
    expect(order.map((d) => d.room)).toEqual(rooms);
    expect(h.peakLiveCalls).toBe(1);
  });

  it('without FLEET_CAPACITY, admits calls up to the sum of live agent heartbeats', async () => {
    roles = await startRoles(h, {});
    for (const room of ['hb-1', 'hb-2', 'hb-3', 'hb-4']) await h.postWebhook(roles.intake.url, h.callWebhook(room));
    await new Promise((r) => setTimeout(r, 300));
    expect(h.livekit.dispatchCount).toBe(0); // no agents, no capacity

    const a = await startCapacityHeartbeat({ redis: h.admin, workerId: 'agent-a', capacitySessions: 1, ttlSeconds: 30, prefix: h.prefix });
    const b = await startCapacityHeartbeat({ redis: h.admin, workerId: 'agent-b', capacitySessions: 1, ttlSeconds: 1, intervalSeconds: 60, prefix: h.prefix });
    expect(await readFleetCapacity(h.admin, h.prefix)).toBe(2);
    await waitFor('two calls are dispatched', () => h.livekit.dispatchCount === 2);

    // agent-b stops beating (its interval is longer than its TTL): its capacity expires.
    await waitFor('agent-b capacity expires', async () => (await readFleetCapacity(h.admin, h.prefix)) === 1, 10_000);
    await a.update(3);
    await waitFor('capacity 3 admits a third call', () => h.livekit.dispatchCount === 3);
    await new Promise((r) => setTimeout(r, 300));
    expect(h.livekit.dispatchCount).toBe(3);
    expect(JSON.parse((await fetch(`${roles.intake.url}/v1/queue`).then((r) => r.text())))).toMatchObject({ waiting: 1, active: 3, capacity: 3 });
    await a.stop();
    await b.stop();
    expect(await readFleetCapacity(h.admin, h.prefix)).toBe(0);
  });

  it('a call whose room_finished never comes gives its capacity back after CALL_MAX_DURATION_SECONDS', async () => {
    roles = await startRoles(h, { FLEET_CAPACITY: '1', CALL_MAX_DURATION_SECONDS: '1' });
    await h.postWebhook(roles.intake.url, h.callWebhook('forever-1'));
    await h.postWebhook(roles.intake.url, h.callWebhook('forever-2'));
    await waitFor('the first call is dispatched', () => h.livekit.dispatchCount === 1);
    // No room_finished: the safety net releases the first call and the second one gets its slot.
    await waitFor('the second call is dispatched', () => h.livekit.dispatchCount === 2, 30_000);
    expect(await h.callState(callIdForRoom('forever-1'))).toBe('expired');
    expect(roles.logs.find('call released after the maximum call duration without room_finished')[0]).toMatchObject({ callId: callIdForRoom('forever-1') });
    expect(h.livekit.roomsDispatchedTwice()).toEqual([]);
  });

  it('a caller who hangs up while waiting is never dispatched', async () => {
    roles = await startRoles(h, { FLEET_CAPACITY: '0' });
    await h.postWebhook(roles.intake.url, h.callWebhook('hangup'));
    await waitFor('the call waits in line', async () => (await h.store.capacityStats(0)).line === 1);
    await h.finishRoom(roles.intake.url, 'hangup');
    await waitFor('the job completes without a dispatch', async () => (await h.queues.calls.getJobCountByTypes('completed')) === 1);
    expect(h.livekit.dispatchCount).toBe(0);
    expect(await h.callState(callIdForRoom('hangup'))).toBe('finished');
  });
});
