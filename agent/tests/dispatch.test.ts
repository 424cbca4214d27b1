import { METRICS } from '@voice-agent-infra/common';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { httpRequest } from '../src/dev/http-client.js';
import { startCapacityHeartbeat, readFleetCapacity } from '../src/queue/capacity-heartbeat.js';
import { callIdForRoom, callIdForSession } from '../src/queue/keys.js';
import { AGENT_NAME, Harness, INTAKE_TOKEN, waitFor } from './helpers/harness.js';
import { startRoles, type InProcessRoles } from './helpers/roles.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('dispatch', () => {
  let h: Harness;
  let roles: InProcessRoles | undefined;

  beforeEach(async () => {
    h = await new Harness().start();
  });
  afterEach(async () => {
    h.stopFinishingCalls();
    await h.settleFinishes();
    await roles?.close();
    roles = undefined;
    await h.close();
  });

  it('a SIP caller joining becomes one call with an agent, and room_finished frees its capacity', async () => {
    const worker = await h.startWorker();
    roles = await startRoles(h, { FLEET_CAPACITY: '1' });
    const a = h.call('call-a');
    await waitFor('the call is recorded as dispatched', async () => (await h.callState(a.callId)) === 'dispatched');
    const [dispatch] = h.livekit.dispatches.get('call-a')!;
    expect(dispatch!.agentName).toBe(AGENT_NAME);
    expect(JSON.parse(dispatch!.metadata)).toMatchObject({ callId: a.callId, room: 'call-a', roomSid: a.sid, source: 'livekit', participantIdentity: a.identity });
    expect(worker.jobHistory.map((j) => j.roomSid)).toEqual([a.sid]);
    expect(h.livekit.authFailures).toBe(0);
    const record = await h.store.callRecord(a.callId);
    expect(record).toMatchObject({ dispatchId: dispatch!.id, sid: a.sid });
    expect(await h.activeCount()).toBe(1);

    // A second call waits: capacity 1 is taken until the first room finishes.
    const b = h.call('call-b');
    await waitFor('call-b holds a place in line', async () => (await h.store.capacityStats(1)).line === 1);
    expect(h.livekit.dispatches.has('call-b')).toBe(false);

    await h.finishRoom('call-a');
    expect(await h.callState(a.callId)).toBe('finished');
    await waitFor('call-b is dispatched after call-a finished', async () => (await h.callState(b.callId)) === 'dispatched');
    const joinMetric = await roles.dispatcherMetrics[0]!.registry.getSingleMetricAsString(METRICS.agentJoin.prometheus);
    expect(joinMetric).toMatch(new RegExp(`^${METRICS.agentJoin.prometheus}_count 2$`, 'm'));
  });

  it('two sessions of the same room name (two sids) are two calls with two dispatches', async () => {
    await h.startWorker();
    roles = await startRoles(h, { FLEET_CAPACITY: '5' });
    const first = h.call('support-line'); // a SIP dispatch rule that reuses the room name
    await waitFor('the first session is dispatched', async () => (await h.callState(first.callId)) === 'dispatched');
    await h.finishRoom('support-line');
    const second = h.call('support-line');
    expect(second.sid).not.toBe(first.sid);
    await waitFor('the second session is dispatched', async () => (await h.callState(second.callId)) === 'dispatched');
    expect(h.livekit.dispatches.get('support-line')).toHaveLength(2);
    expect(h.livekit.sessions.map((s) => s.jobs.length)).toEqual([1, 1]);
    expect(await h.callState(first.callId)).toBe('finished');
    const received = await roles.metrics.registry.getSingleMetricAsString(METRICS.callsReceived.prometheus);
    expect(received).toContain(`${METRICS.callsReceived.prometheus}{source="livekit"} 2`);
  });

  it('a webhook delivered again yields one call and one dispatch', async () => {
    await h.startWorker();
    roles = await startRoles(h, { FLEET_CAPACITY: '5' });
    const call = h.call('dup-room');
    await waitFor('dispatched', async () => (await h.callState(call.callId)) === 'dispatched');
    // LiveKit retries re-send the same body; send it again, concurrently too.
    const joined = h.livekit.webhooks.deliveries.find((d) => d.event === 'participant_joined' && d.room === 'dup-room')!;
    const again = await Promise.all([h.postWebhook(roles.intake.url, joined.body), h.postWebhook(roles.intake.url, joined.body)]);
    for (const r of again) expect(JSON.parse(r.body)).toEqual({ callId: call.callId, duplicate: true });
    await sleep(500);
    expect(h.livekit.dispatches.get('dup-room')).toHaveLength(1);
    expect(await h.queues.calls.getJobCountByTypes('wait', 'active', 'delayed', 'completed', 'failed')).toBe(1);
    const metrics = await roles.metrics.registry.getSingleMetricAsString(METRICS.callsReceived.prometheus);
    expect(metrics).toContain(`${METRICS.callsReceived.prometheus}{source="livekit"} 1`);
  });

  it('admits calls first come, first served across three dispatchers', async () => {
    await h.startWorker();
    // No capacity yet. Three dispatchers holding two calls each: the oldest waiting call is often
    // in another process than the one that wakes first.
    // Long LiveKit timeouts: on a loaded machine a timed-out request is retried after backoff,
    // which rightly lets the next call go first.
    roles = await startRoles(h, { DISPATCH_CONCURRENCY: '2', LIVEKIT_REQUEST_TIMEOUT_SECONDS: '15' }, 3);
    const rooms = Array.from({ length: 16 }, (_, i) => `fcfs-${String(i).padStart(2, '0')}`);
    for (const room of rooms) {
      h.call(room);
      // One at a time, so the intake order is the room order.
      await waitFor(`${room} is queued`, () => h.livekit.webhooks.deliveries.some((d) => d.room === room && d.event === 'participant_joined'), 10_000);
    }
    await waitFor('six calls are held in line', async () => (await h.store.capacityStats(undefined)).line === 6);
    h.finishCallsAfterAgentJoins(5);
    const agent = await startCapacityHeartbeat({ redis: h.admin, workerId: 'agent-1', capacitySessions: 1, prefix: h.prefix });
    await waitFor('all rooms are dispatched', () => h.livekit.dispatchCount === rooms.length, 30_000, async () =>
      JSON.stringify({ dispatched: h.livekit.dispatchCount, line: await h.admin.zrange(h.store.keys.line, 0, -1), active: await h.admin.zrange(h.store.keys.active, 0, -1) }),
    );
    await agent.stop();
    expect(roles.logs.find('dispatch failed; will retry with backoff')).toEqual([]);
    expect(h.livekit.dispatchLog.map((d) => d.room)).toEqual(rooms);
    expect(h.peakLiveCalls).toBe(1);
  });

  it('without FLEET_CAPACITY, admits calls up to the sum of live agent heartbeats', async () => {
    await h.startWorker();
    roles = await startRoles(h, {});
    const calls = ['hb-1', 'hb-2', 'hb-3', 'hb-4'].map((room) => h.call(room));
    await waitFor('four calls are held', async () => (await h.store.capacityStats(undefined)).line === 4);
    expect(h.livekit.dispatchCount).toBe(0); // no capacity yet

    const a = await startCapacityHeartbeat({ redis: h.admin, workerId: 'agent-a', capacitySessions: 1, ttlSeconds: 30, prefix: h.prefix });
    const b = await startCapacityHeartbeat({ redis: h.admin, workerId: 'agent-b', capacitySessions: 1, ttlSeconds: 1, intervalSeconds: 60, prefix: h.prefix });
    expect(await readFleetCapacity(h.admin, h.prefix)).toBe(2);
    await waitFor('two calls are dispatched', () => h.livekit.dispatchCount === 2);

    // agent-b stops beating (its interval is longer than its TTL): its capacity expires.
    await waitFor('agent-b capacity expires', async () => (await readFleetCapacity(h.admin, h.prefix)) === 1, 10_000);
    await a.update(3);
    await waitFor('capacity 3 admits a third call', () => h.livekit.dispatchCount === 3);
    await sleep(300);
    expect(h.livekit.dispatchCount).toBe(3);
    await waitFor('three dispatched', async () => (await Promise.all(calls.map((c) => h.callState(c.callId)))).filter((s) => s === 'dispatched').length === 3);
    expect(JSON.parse((await fetch(`${roles.intake.url}/v1/queue`).then((r) => r.text())))).toMatchObject({ waiting: 1, active: 3, capacity: 3 });
    await a.stop();
    await b.stop();
    expect(await readFleetCapacity(h.admin, h.prefix)).toBe(0);
  });

  it('a call whose room_finished never comes gives its capacity back after CALL_MAX_DURATION_SECONDS', async () => {
    await h.startWorker();
    roles = await startRoles(h, { FLEET_CAPACITY: '1', CALL_MAX_DURATION_SECONDS: '1' });
    const first = h.call('forever-1');
    h.call('forever-2');
    await waitFor('the first call is dispatched', () => h.livekit.dispatchCount === 1);
    // No room_finished: the safety net releases the first call and the second one gets its slot.
    await waitFor('the second call is dispatched', () => h.livekit.dispatchCount === 2, 30_000);
    expect(await h.callState(first.callId)).toBe('expired');
    expect(roles.logs.find('call released after the maximum call duration without room_finished')[0]).toMatchObject({ callId: first.callId });
    expect(h.livekit.sessionsDispatchedTwice()).toEqual([]);
  });

  it('a caller who hangs up while waiting is never dispatched', async () => {
    await h.startWorker();
    roles = await startRoles(h, { FLEET_CAPACITY: '0' });
    const call = h.call('hangup');
    await waitFor('the call waits in line', async () => (await h.store.capacityStats(0)).line === 1);
    await h.finishRoom('hangup');
    await waitFor('the job completes without a dispatch', async () => (await h.queues.calls.getJobCountByTypes('completed')) === 1);
    expect(h.livekit.dispatchCount).toBe(0);
    expect(await h.callState(call.callId)).toBe('finished');
  });

  it('a session that ended while its room_finished was lost is not dispatched: the room is looked up first', async () => {
    await h.startWorker();
    roles = await startRoles(h, { FLEET_CAPACITY: '0' });
    const call = h.call('gone-quietly');
    await waitFor('the call waits in line', async () => (await h.store.capacityStats(0)).line === 1);
    h.livekit.webhookUrls = []; // room_finished goes nowhere
    h.endCall('gone-quietly');
    await roles.close();
    roles = await startRoles(h, { FLEET_CAPACITY: '1' });
    await waitFor('the job completes', async () => (await h.callState(call.callId)) === 'finished');
    expect(h.livekit.dispatchCount).toBe(0);
    expect(await h.activeCount()).toBe(0);
  });

  it('a caller who hangs up while the dispatch waits for an agent: finished, not retried (even with room_finished lost)', async () => {
    await h.close();
    h = await new Harness().start({ livekit: { missingRoomRpcMs: 200 } });
    // No worker: the dispatch waits for a job that never comes.
    roles = await startRoles(h, { FLEET_CAPACITY: '1', DISPATCH_CONFIRM_SECONDS: '20', CALL_MAX_ATTEMPTS: '3' });
    const call = h.call('hung-up');
    await waitFor('the dispatch is waiting for an agent', () => h.livekit.dispatchCount === 1);
    h.livekit.webhookUrls = []; // room_finished goes nowhere
    h.endCall('hung-up');
    await waitFor('the call is finished', async () => (await h.callState(call.callId)) === 'finished', 15_000);
    expect(roles.logs.find('room session ended before an agent joined')).toHaveLength(1);
    expect(await h.activeCount()).toBe(0);
    await sleep(500);
    expect(h.livekit.createAttempts.get('hung-up')).toHaveLength(1);
    expect(roles.logs.find('dispatch failed; will retry with backoff')).toEqual([]);
  });

  it('POST /v1/calls for a room not created yet is dispatched (CreateDispatch creates it), never asked of a node that cannot answer', async () => {
    await h.startWorker();
    roles = await startRoles(h, { FLEET_CAPACITY: '2', CALL_MAX_ATTEMPTS: '1' });
    const res = await httpRequest(`${roles.intake.url}/v1/calls`, {
      method: 'POST',
      body: JSON.stringify({ room: 'web-room-1', callId: 'crm-7' }),
      headers: { authorization: `Bearer ${INTAKE_TOKEN}` },
    });
    expect(res.status).toBe(202);
    await waitFor('the API call is dispatched', async () => (await h.callState('crm-7')) === 'dispatched');
    expect(h.livekit.missingRoomRequests).toBe(0);
    expect(await h.queues.deadLetters.getJobCountByTypes('wait')).toBe(0);
    // Its room session is bound to it: room_finished of that session finishes it.
    const sid = h.livekit.rooms.get('web-room-1')!.sid;
    expect((await h.store.callRecord('crm-7')).sid).toBe(sid);
    await h.finishRoom('web-room-1');
    expect(await h.callState('crm-7')).toBe('finished');
    // The room name is free again for the next API call.
    const next = await httpRequest(`${roles.intake.url}/v1/calls`, {
      method: 'POST',
      body: JSON.stringify({ room: 'web-room-1', callId: 'crm-8' }),
      headers: { authorization: `Bearer ${INTAKE_TOKEN}` },
    });
    expect(next.status).toBe(202);
    await waitFor('the next API call is dispatched', async () => (await h.callState('crm-8')) === 'dispatched');
    expect(callIdForRoom('x')).not.toBe(callIdForSession('x'));
  });
});
