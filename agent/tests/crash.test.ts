import { ParticipantInfo_Kind } from '@livekit/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { httpRequest, mapConcurrent } from '../src/dev/http-client.js';
import { spawnVoiceAgent, type VoiceAgentProcess } from '../src/dev/processes.js';
import { defaultRoomSid } from '../src/dev/webhook-signer.js';
import { callIdForSession } from '../src/queue/keys.js';
import { Harness, INTAKE_TOKEN, waitFor } from './helpers/harness.js';
import { startRoles, type InProcessRoles } from './helpers/roles.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('failures', () => {
  let h: Harness | undefined;
  let roles: InProcessRoles | undefined;
  const children: VoiceAgentProcess[] = [];

  afterEach(async () => {
    h?.stopFinishingCalls();
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

  const states = (callIds: readonly string[]) => Promise.all(callIds.map((id) => h!.callState(id)));

  it('a dispatcher SIGKILLed mid-dispatch: another one completes every call, and no room session gets two agents', async () => {
    h = await new Harness().start();
    await h.startWorker();
    roles = await startRoles(h, {}, 0); // intake only; the dispatchers are processes
    const env = { FLEET_CAPACITY: '100' };
    const a = dispatcher(env);
    await a.waitForRecord((r) => r.msg === 'dispatcher ready');

    // LiveKit stores each dispatch (and its job) on arrival but answers slowly: A is caught mid-request.
    h.livekit.dispatchDelayMs = 5000;
    const rooms = Array.from({ length: 60 }, (_, i) => `crash-${i}`);
    const callIds = rooms.map((room) => h!.call(room).callId);
    await waitFor('A has dispatches in flight', () => h!.livekit.dispatchCount >= 5);
    const status = await a.kill('SIGKILL');
    expect(status.signal).toBe('SIGKILL');
    // Requests A had sent before it died may still be in LiveKit's socket buffers: let them land.
    await sleep(500);
    const inFlightAtKill = h.livekit.dispatchCount;

    h.livekit.dispatchDelayMs = 0;
    const b = dispatcher(env);
    await waitFor('every call is recorded as dispatched', async () => (await states(callIds)).every((s) => s === 'dispatched'), 100_000, async () =>
      `${(await states(callIds)).filter((s) => s === 'dispatched').length}/${rooms.length}`,
    );
    expect(h.livekit.sessionsWithTwoAgents()).toEqual([]);
    expect(h.livekit.sessionsDispatchedTwice()).toEqual([]);
    expect(h.livekit.dispatchCount).toBe(rooms.length);
    // B found A's in-flight dispatches, with their jobs, instead of dispatching those rooms again.
    const reused = b.records().filter((r) => r.msg === 'call dispatched' && r.reused === true);
    expect(reused.length).toBeGreaterThanOrEqual(1);
    expect(reused.length).toBeLessThanOrEqual(inFlightAtKill);

    for (const room of rooms) h.endCall(room);
    await waitFor('every call is finished', async () => (await states(callIds)).every((s) => s === 'finished'), 60_000);
    expect(await h.activeCount()).toBe(0);
    await waitFor('no job is left', async () => (await h!.queues.calls.getJobCountByTypes('wait', 'active', 'delayed')) === 0);
  });

  it('SIGTERM drains a dispatcher: calls waiting for capacity go back to the queue, and the process exits 0', async () => {
    h = await new Harness().start();
    await h.startWorker();
    roles = await startRoles(h, {}, 0);
    const a = dispatcher({ FLEET_CAPACITY: '1' });
    await a.waitForRecord((r) => r.msg === 'dispatcher ready');
    const callIds = ['drain-1', 'drain-2', 'drain-3'].map((room) => h!.call(room).callId);
    await waitFor('one call dispatched, two held in line', async () => (await states(callIds)).includes('dispatched') && (await h!.store.capacityStats(1)).line === 2);
    const status = await a.kill('SIGTERM');
    expect(status.code).toBe(0);
    expect(a.records().some((r) => r.msg === 'dispatcher stopped')).toBe(true);
    expect((await h.store.capacityStats(1)).line).toBe(0);
    expect(await h.queues.calls.getJobCountByTypes('wait')).toBe(2);
    expect(await h.activeCount()).toBe(1); // the dispatched call keeps its capacity until its room finishes

    // Another dispatcher picks them up where they were.
    h.finishCallsAfterAgentJoins(10);
    await h.finishRoom(h.livekit.dispatchLog[0]!.room);
    const b = dispatcher({ FLEET_CAPACITY: '1' });
    await b.waitForRecord((r) => r.msg === 'dispatcher ready');
    await waitFor('the two handed-back calls are dispatched', () => h!.livekit.dispatchCount === 3);
    expect(h.livekit.sessionsWithTwoAgents()).toEqual([]);
  });

  it('Redis killed: the intake answers 503 (never 2xx) while it is down; every acknowledged call is there after the restart and completes; LiveKit retries the rest', async () => {
    h = await new Harness().start({ ownRedis: true });
    await h.startWorker();
    roles = await startRoles(h, { FLEET_CAPACITY: '5' }, 1);
    const url = roles.intake.url;
    const acked = Array.from({ length: 100 }, (_, i) => h!.call(`before-${i}`));
    await waitFor('LiveKit has delivered every participant_joined', () => h!.livekit.webhooks.deliveries.filter((d) => d.event === 'participant_joined' && d.participantKind === ParticipantInfo_Kind.SIP).length === acked.length);
    expect(h.livekit.webhooks.deliveries.filter((d) => d.event === 'participant_joined' && d.participantKind === ParticipantInfo_Kind.SIP).map((d) => d.outcome)).toEqual(acked.map(() => 'delivered'));
    await waitFor('five calls are dispatched', () => h!.livekit.dispatchCount === 5);

    // AOF appendfsync everysec: what Redis acknowledged more than a second ago is on disk.
    await sleep(1500);
    await h.redisServer!.kill('SIGKILL');

    // Webhooks during the outage: 503, and no Retry-After (LiveKit would shorten its ~15 s of retries to ~4 s).
    const during = Array.from({ length: 30 }, (_, i) => `during-${i}`);
    const rejected = await mapConcurrent(during, 30, (room) => h!.postWebhook(url, h!.callWebhook(room)));
    expect(rejected.map((r) => r.status)).toEqual(during.map(() => 503));
    expect(rejected[0]!.headers['retry-after']).toBeUndefined();
    const api = await httpRequest(`${url}/v1/calls`, { method: 'POST', body: JSON.stringify({ room: 'api-during' }), headers: { authorization: `Bearer ${INTAKE_TOKEN}` } });
    expect(api.status).toBe(503);
    expect(api.headers['retry-after']).toBe('1');
    expect((await httpRequest(`${url}/readyz`)).status).toBe(503);
    expect((await httpRequest(`${url}/healthz`)).status).toBe(200);
    // A caller LiveKit itself reports now: its webhook is retried (1, 2, 4, 8 s) past the restart.
    const retried = h.call('during-outage');
    await sleep(1500);

    await h.redisServer!.restart();
    await waitFor('the intake is ready again', async () => (await httpRequest(`${url}/readyz`)).status === 200);
    const missing: string[] = [];
    for (const call of acked) if (!(await h.queues.calls.getJob(call.callId))) missing.push(call.callId);
    expect(missing).toEqual([]);

    h.finishCallsAfterAgentJoins(10);
    for (const d of h.livekit.dispatchLog) h.endCall(d.room);
    const all = [...acked, retried].map((c) => c.callId);
    await waitFor('every acknowledged call, and the retried one, is dispatched and finished', async () => (await states(all)).every((s) => s === 'finished'), 90_000, async () =>
      `${h!.livekit.dispatchCount} dispatched, ${(await states(all)).filter((s) => s === 'finished').length}/${all.length} finished`,
    );
    expect(h.livekit.webhooks.deliveries.find((d) => d.room === 'during-outage' && d.event === 'participant_joined')).toMatchObject({ outcome: 'delivered' });
    expect(h.livekit.sessionsWithTwoAgents()).toEqual([]);
    // The hand-posted webhooks answered 503 were never stored.
    expect(await Promise.all(during.map((room) => h!.queues.calls.getJob(callIdForSession(defaultRoomSid(room)))))).toEqual(during.map(() => undefined));
    expect(h.peakLiveCalls).toBeLessThanOrEqual(5);
  });
});
