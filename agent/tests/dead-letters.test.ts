import { METRICS } from '@voice-agent-infra/common';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runVoiceAgent } from '../src/dev/processes.js';
import { startEmfReporter } from '../src/telemetry/metrics.js';
import { silentLogger } from '../src/log.js';
import { AlertSink } from './helpers/alert-sink.js';
import { Harness, waitFor } from './helpers/harness.js';
import { startRoles, type InProcessRoles } from './helpers/roles.js';

describe('dead letters', () => {
  let h: Harness;
  let sink: AlertSink;
  let roles: InProcessRoles | undefined;

  beforeEach(async () => {
    h = await new Harness().start();
    sink = await new AlertSink().start();
  });
  afterEach(async () => {
    h.stopFinishingCalls();
    await h.settleFinishes();
    await roles?.close();
    roles = undefined;
    await sink.close();
    await h.close();
  });

  it('LiveKit answering 500: retried with backoff, dead-lettered after CALL_MAX_ATTEMPTS, alerted; queue retry re-drives it to success', async () => {
    await h.startWorker();
    roles = await startRoles(h, { FLEET_CAPACITY: '2', CALL_MAX_ATTEMPTS: '3', CALL_BACKOFF_MS: '200', ALERT_WEBHOOK_URL: sink.url });
    const room = 'flaky-room';
    h.livekit.failRoom(room);
    const { callId } = h.call(room);
    // A healthy room in the same queue is not held up by the failing one.
    h.call('healthy-room');

    await waitFor('an alert arrives', () => sink.alerts.length === 1);
    expect(sink.alerts[0]).toMatchObject({ callId, room, reason: 'dispatch-failed', attempts: 3 });
    expect(String(sink.alerts[0]!.error)).toContain('injected failure');
    await waitFor('the healthy room is dispatched', () => h.livekit.dispatches.get('healthy-room')?.length === 1);

    // Exactly CALL_MAX_ATTEMPTS tries, spaced by exponential backoff (200 ms, then 400 ms).
    const attempts = h.livekit.createAttempts.get(room)!;
    expect(attempts).toHaveLength(3);
    expect(attempts[1]! - attempts[0]!).toBeGreaterThanOrEqual(190);
    expect(attempts[2]! - attempts[1]!).toBeGreaterThanOrEqual(390);

    // The dead letter: state, queue, metric, structured log line; its capacity is free again.
    expect(await h.callState(callId)).toBe('dead');
    expect(await h.activeCount()).toBe(1); // only healthy-room
    const logLine = roles.logs.find('call dead-lettered')[0];
    expect(logLine).toMatchObject({ level: 'error', callId, room, reason: 'dispatch-failed', attempts: 3 });
    expect(await roles.dispatcherMetrics[0]!.registry.getSingleMetricAsString(METRICS.deadLettered.prometheus)).toContain(
      `${METRICS.deadLettered.prometheus}{reason="dispatch-failed"} 1`,
    );
    const scraped = await fetch(`${roles.intake.url}/metrics`).then((r) => r.text());
    expect(scraped).toMatch(new RegExp(`^${METRICS.deadLetters.prometheus} 1$`, 'm'));

    // CloudWatch EMF: the dead-lettered count and the dead-letter gauge, namespace and Stack dimension.
    const lines: string[] = [];
    const reporter = startEmfReporter({ metrics: roles.dispatcherMetrics[0]!, namespace: 'VoiceTest', stack: 'ci', intervalSeconds: 3600, log: silentLogger, write: (l) => void lines.push(l) });
    await reporter.stop();
    const record = JSON.parse(lines[0]!);
    expect(record._aws.CloudWatchMetrics[0]).toMatchObject({ Namespace: 'VoiceTest', Dimensions: [['Stack']] });
    expect(record).toMatchObject({ Stack: 'ci', [METRICS.deadLettered.cloudWatch]: 1, [METRICS.deadLetters.cloudWatch]: 1 });

    // The operator sees it...
    const env = h.env();
    const listed = await runVoiceAgent(['queue', 'dead-letters', '--json'], env);
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ callId, room, reason: 'dispatch-failed', attempts: 3 })]);
    const stats = await runVoiceAgent(['queue', 'stats', '--json'], { ...env, FLEET_CAPACITY: '2' });
    expect(JSON.parse(stats.stdout)).toMatchObject({ deadLetters: 1, capacity: 2, active: 1 });

    // ...fixes LiveKit, and re-drives it.
    h.livekit.healRoom(room);
    const retried = await runVoiceAgent(['queue', 'retry', callId], env);
    expect(retried.code, retried.stderr).toBe(0);
    expect(retried.stdout).toContain(`${callId}\tredriven`);
    await waitFor('the re-driven call is dispatched', () => (h.livekit.dispatches.get(room)?.length ?? 0) === 1);
    await waitFor('it is recorded as dispatched', async () => (await h.callState(callId)) === 'dispatched');
    expect(await h.queues.deadLetters.getJobCountByTypes('wait')).toBe(0);
    await h.finishRoom(room);
    expect(await h.callState(callId)).toBe('finished');
    expect(sink.alerts).toHaveLength(1);

    // Re-driving a call that is not dead-lettered is a user error naming it.
    const missing = await runVoiceAgent(['queue', 'retry', 'no-such-call'], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no-such-call');
  });

  it('a call that waits longer than CALL_MAX_WAIT_SECONDS is dead-lettered with reason wait-timeout', async () => {
    roles = await startRoles(h, { FLEET_CAPACITY: '0', CALL_MAX_WAIT_SECONDS: '1', ALERT_WEBHOOK_URL: sink.url });
    const { callId } = h.call('no-agents');
    await waitFor('a wait-timeout alert arrives', () => sink.alerts.length === 1, 30_000);
    expect(sink.alerts[0]).toMatchObject({ callId, room: 'no-agents', reason: 'wait-timeout', attempts: 0 });
    const [letter] = await h.queues.deadLetters.getJobs(['wait']);
    expect(letter?.data).toMatchObject({ reason: 'wait-timeout', room: 'no-agents' });
    expect((await h.store.capacityStats(0)).line).toBe(0);
    expect(h.livekit.dispatchCount).toBe(0);

    // queue retry --all re-drives it with a fresh wait clock: still no capacity, so it times out
    // (and alerts) again rather than being dropped.
    const retried = await runVoiceAgent(['queue', 'retry', '--all', '--json'], h.env());
    expect(retried.code, retried.stderr).toBe(0);
    expect(JSON.parse(retried.stdout)).toEqual([{ callId, outcome: 'redriven' }]);
    await waitFor('a second wait-timeout alert arrives', () => sink.alerts.length === 2, 30_000);
    expect(sink.alerts[1]).toMatchObject({ callId, reason: 'wait-timeout' });
  });

  it('a dispatch no worker takes: deleted, capacity released during the backoff, retried, then dead-lettered no-agent with its alert', async () => {
    // No agent worker registered at all: LiveKit answers CreateDispatch 200 every time.
    roles = await startRoles(h, { FLEET_CAPACITY: '1', CALL_MAX_ATTEMPTS: '2', CALL_BACKOFF_MS: '200', DISPATCH_CONFIRM_SECONDS: '1', ALERT_WEBHOOK_URL: sink.url });
    const a = h.call('silent-a');
    const b = h.call('silent-b');
    await waitFor('both calls are dead letters', () => sink.alerts.length === 2, 30_000);
    for (const [call, room] of [[a, 'silent-a'], [b, 'silent-b']] as const) {
      expect(sink.alerts.find((x) => x.callId === call.callId)).toMatchObject({ room, reason: 'no-agent', attempts: 2 });
      expect(await h.callState(call.callId)).toBe('dead');
    }
    // Capacity 1: b got its first try while a waited out its backoff, so a gave its slot back.
    expect(h.livekit.dispatchLog.map((d) => d.room)).toEqual(['silent-a', 'silent-b', 'silent-a', 'silent-b']);
    // Every dispatch that found no agent was deleted; none is left for a late worker to take.
    expect(h.livekit.deletedDispatches.sort()).toEqual(h.livekit.dispatchLog.map((d) => d.id).sort());
    expect(await h.activeCount()).toBe(0);
    expect(roles.logs.find('call dead-lettered').map((r) => r.reason)).toEqual(['no-agent', 'no-agent']);
    expect(await roles.dispatcherMetrics[0]!.registry.getSingleMetricAsString(METRICS.deadLettered.prometheus)).toContain(
      `${METRICS.deadLettered.prometheus}{reason="no-agent"} 2`,
    );

    // A worker comes up; the operator re-drives: the call gets its agent.
    await h.startWorker();
    const retried = await runVoiceAgent(['queue', 'retry', a.callId], h.env());
    expect(retried.code, retried.stderr).toBe(0);
    await waitFor('the re-driven call is dispatched', async () => (await h.callState(a.callId)) === 'dispatched');
    expect(h.livekit.sessionsWithTwoAgents()).toEqual([]);
  });
});
