import { ParticipantInfo_Kind } from '@livekit/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpRequest } from '../src/dev/http-client.js';
import { spawnVoiceAgent, type VoiceAgentProcess } from '../src/dev/processes.js';
import { Harness, waitFor } from './helpers/harness.js';

const CALLS = 10_000;
const CAPACITY = 50;

describe('spike', () => {
  let h: Harness;
  const children: VoiceAgentProcess[] = [];

  beforeAll(async () => {
    // LiveKit sends only the two events the queue uses (webhook.filter_params.include_events), as
    // agent/README.md recommends: fewer requests for the intake and for this test's LiveKit stand-in.
    h = await new Harness().start({ livekit: { webhookIncludeEvents: ['participant_joined', 'room_finished'] } });
  });
  afterAll(async () => {
    h.stopFinishingCalls();
    await h.settleFinishes();
    await Promise.all(children.map((c) => c.kill('SIGTERM')));
    await h.close();
  });

  it(`${CALLS} callers at once, capacity ${CAPACITY}: all acknowledged, each session gets exactly one agent, never over capacity, all complete`, async () => {
    // Intake and two dispatchers as separate processes, as deployed; two agent workers.
    await h.startWorker();
    await h.startWorker();
    // Request timeouts for a loaded machine: the stand-in shares this process with the test.
    const env = h.env({ FLEET_CAPACITY: String(CAPACITY), LIVEKIT_REQUEST_TIMEOUT_SECONDS: '10' });
    const intake = spawnVoiceAgent(['intake'], { ...env, LOG_LEVEL: 'info' });
    children.push(intake);
    const listening = await intake.waitForRecord((r) => r.msg === 'intake listening');
    const url = `http://127.0.0.1:${String(listening.port)}`;
    h.connectIntake(url);
    for (let i = 0; i < 2; i++) children.push(spawnVoiceAgent(['dispatcher'], env));
    // Callers hang up 100 ms after their agent joins.
    h.finishCallsAfterAgentJoins(100);

    let peakActive = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peakActive = Math.max(peakActive, await h.activeCount());
        await new Promise((r) => setTimeout(r, 20));
      }
    })();

    const calls = Array.from({ length: CALLS }, (_, i) => h.call(`spike-${i}`));
    const joined = () => h.livekit.webhooks.deliveries.filter((d) => d.event === 'participant_joined' && d.participantKind === ParticipantInfo_Kind.SIP && d.outcome === 'delivered').length;
    await waitFor('every caller is acknowledged', () => joined() === CALLS, 200_000, () => `${joined()}/${CALLS}`);
    await waitFor(
      'every call has had its agent and finished',
      () => h.livekit.jobs.length === CALLS && h.finishedRooms.size === CALLS,
      400_000,
      () => `${h.livekit.jobs.length} jobs, ${h.finishedRooms.size} finished`,
    );
    await h.settleFinishes();
    await h.livekit.webhooksSettled();
    sampling = false;
    await sampler;

    const failed = h.livekit.webhooks.deliveries.filter((d) => d.outcome !== 'delivered');
    expect(failed).toEqual([]);
    expect(h.livekit.sessionsWithTwoAgents()).toEqual([]);
    expect(h.livekit.sessionsDispatchedTwice()).toEqual([]);
    expect(h.peakLiveCalls).toBeLessThanOrEqual(CAPACITY);
    expect(peakActive).toBeLessThanOrEqual(CAPACITY);
    expect(h.peakLiveCalls).toBeGreaterThan(1); // calls really ran in parallel
    expect(h.livekit.authFailures).toBe(0);

    const pipeline = h.admin.pipeline();
    for (const call of calls) pipeline.hget(h.store.keys.call(call.callId), 'state');
    const states = (await pipeline.exec())!.map(([, s]) => s);
    expect(states.filter((s) => s !== 'finished')).toEqual([]);
    expect(await h.activeCount()).toBe(0);
    const queue = JSON.parse((await httpRequest(`${url}/v1/queue`)).body);
    expect(queue).toMatchObject({ waiting: 0, active: 0, capacity: CAPACITY, deadLetters: 0 });
    expect(await h.queues.calls.getJobCounts('completed', 'failed', 'wait', 'active', 'delayed')).toEqual({ completed: CALLS, failed: 0, wait: 0, active: 0, delayed: 0 });
  }, 660_000);
});
