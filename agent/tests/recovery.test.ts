/**
 * Webhooks LiveKit gave up on: the recovery sweep finds the caller without an agent, and the call
 * whose room is gone. The stand-in retries webhooks as LiveKit does (1, 2, 4, 8 s, then gone),
 * here at a twentieth of the time.
 */
import { METRICS } from '@voice-agent-infra/common';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Harness, waitFor } from './helpers/harness.js';
import { startRoles, type InProcessRoles } from './helpers/roles.js';

const RECONCILE_SECONDS = 1;
const CONFIRM_SECONDS = 3;

describe('recovery sweep', () => {
  let h: Harness;
  let roles: InProcessRoles | undefined;

  beforeEach(async () => {
    h = await new Harness().start({ livekit: { webhooks: { retryWaitMinMs: 50, maxAgeMs: 1500 } } });
    await h.startWorker();
  });
  afterEach(async () => {
    await roles?.close();
    roles = undefined;
    await h.close();
  });

  /** LiveKit cannot reach the intake while fn runs, and gives up on what it sends meanwhile. */
  async function intakeUnreachable(fn: () => void): Promise<void> {
    h.livekit.webhookUrls = ['http://127.0.0.1:1/webhooks/livekit'];
    fn();
    await h.livekit.webhooksSettled();
    h.connectIntake(roles!.intake.url);
  }

  const recovered = async (reason: string) => {
    const text = await roles!.dispatcherMetrics[0]!.registry.getSingleMetricAsString(METRICS.callsRecovered.prometheus);
    return Number(new RegExp(`reason="${reason}"} (\\d+)`).exec(text)?.[1] ?? 0);
  };

  it('a participant_joined dropped after the retry window: the sweep gets the caller an agent within RECONCILE_SECONDS plus dispatch time', async () => {
    roles = await startRoles(h, { FLEET_CAPACITY: '3', RECONCILE_SECONDS: String(RECONCILE_SECONDS), DISPATCH_CONFIRM_SECONDS: String(CONFIRM_SECONDS) });
    // A call that arrives normally is left alone by the sweep.
    const normal = h.call('normal-room');
    await waitFor('the normal call is dispatched', async () => (await h.callState(normal.callId)) === 'dispatched');

    let lost!: ReturnType<Harness['call']>;
    await intakeUnreachable(() => (lost = h.call('lost-join')));
    const joined = h.livekit.webhooks.deliveries.find((d) => d.room === 'lost-join' && d.event === 'participant_joined');
    expect(joined).toMatchObject({ outcome: 'gave-up', attempts: 5 });
    expect(await h.callState(lost.callId)).toBeUndefined(); // nothing on record

    await waitFor('the lost caller gets an agent', async () => (await h.callState(lost.callId)) === 'dispatched', (RECONCILE_SECONDS * 2 + CONFIRM_SECONDS + 10) * 1000);
    const job = await h.queues.calls.getJob(lost.callId);
    expect(job?.data).toMatchObject({ source: 'sweep', room: 'lost-join', roomSid: lost.sid, participantIdentity: lost.identity });
    expect(h.livekit.sessionsWithTwoAgents()).toEqual([]);
    expect(await recovered('missed-join')).toBe(1);
    expect(roles.logs.find('call recovered by the sweep: its participant_joined webhook never arrived')).toHaveLength(1);

    // Later rounds find nothing more to do.
    await new Promise((r) => setTimeout(r, RECONCILE_SECONDS * 2500));
    expect(await recovered('missed-join')).toBe(1);
    expect(h.livekit.dispatches.get('normal-room')).toHaveLength(1);
    expect(h.livekit.dispatches.get('lost-join')).toHaveLength(1);
  });

  it('a lost room_finished: the sweep finishes the call and frees its capacity', async () => {
    roles = await startRoles(h, { FLEET_CAPACITY: '1', RECONCILE_SECONDS: String(RECONCILE_SECONDS), DISPATCH_CONFIRM_SECONDS: String(CONFIRM_SECONDS) });
    const first = h.call('first');
    await waitFor('the first call is dispatched', async () => (await h.callState(first.callId)) === 'dispatched');
    await intakeUnreachable(() => h.endCall('first'));
    // Retried until LiveKit gave up, or dropped unsent behind the participant_left events it retried first.
    expect(['gave-up', 'dropped-age']).toContain(h.livekit.webhooks.deliveries.find((d) => d.room === 'first' && d.event === 'room_finished')?.outcome);

    const second = h.call('second'); // waits for the capacity the first call holds
    await waitFor('the second call gets the freed capacity', async () => (await h.callState(second.callId)) === 'dispatched', 30_000);
    // The queue never heard room_finished: the sweep finished it.
    expect(await h.store.callRecord(first.callId)).toMatchObject({ state: 'finished', finishedBy: 'sweep' });
    expect(await recovered('room-gone')).toBe(1);
    expect(roles.logs.find('call finished by the sweep: its room is gone and room_finished never arrived')[0]).toMatchObject({ callId: first.callId });
  });

  it('one dispatcher sweeps per round (a Redis lock), however many run', async () => {
    roles = await startRoles(h, { FLEET_CAPACITY: '3', RECONCILE_SECONDS: String(RECONCILE_SECONDS), DISPATCH_CONFIRM_SECONDS: String(CONFIRM_SECONDS) }, 3);
    let lost!: ReturnType<Harness['call']>;
    await intakeUnreachable(() => (lost = h.call('lost-once')));
    await waitFor('recovered', async () => (await h.callState(lost.callId)) === 'dispatched', 30_000);
    const before = h.livekit.requests.get('ListRooms') ?? 0;
    await new Promise((r) => setTimeout(r, RECONCILE_SECONDS * 3000));
    const rounds = (h.livekit.requests.get('ListRooms') ?? 0) - before;
    // About one round per second across three dispatchers (without the lock: nine in 3 s).
    expect(rounds).toBeLessThanOrEqual(6);
    expect(rounds).toBeGreaterThanOrEqual(1);
    const all = await Promise.all(roles.dispatcherMetrics.map((m) => m.registry.getSingleMetricAsString(METRICS.callsRecovered.prometheus)));
    expect(all.map((t) => Number(/reason="missed-join"} (\d+)/.exec(t)?.[1] ?? 0)).reduce((a, b) => a + b, 0)).toBe(1);
  });
});
