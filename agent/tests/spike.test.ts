import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signWebhook } from '../src/dev/webhook-signer.js';
import { httpRequest } from '../src/dev/http-client.js';
import { spawnVoiceAgent, type VoiceAgentProcess } from '../src/dev/processes.js';
import { callIdForRoom } from '../src/queue/keys.js';
import { API_KEY, API_SECRET, Harness, waitFor } from './helpers/harness.js';

const CALLS = 10_000;
const CAPACITY = 50;

describe('spike', () => {
  let h: Harness;
  const children: VoiceAgentProcess[] = [];

  beforeAll(async () => {
    h = await new Harness().start();
  });
  afterAll(async () => {
    h.stopFinishingRooms();
    await h.settleFinishes();
    await Promise.all(children.map((c) => c.kill('SIGTERM')));
    await h.close();
  });

  it(`${CALLS} concurrent signed webhooks, capacity ${CAPACITY}: all acknowledged, each dispatched exactly once, never over capacity, all complete`, async () => {
    // Intake and two dispatchers as separate processes, as deployed.
    const env = h.env({ FLEET_CAPACITY: String(CAPACITY) });
    const intake = spawnVoiceAgent(['intake'], { ...env, LOG_LEVEL: 'info' });
    children.push(intake);
    const listening = await intake.waitForRecord((r) => r.msg === 'intake listening');
    const url = `http://127.0.0.1:${String(listening.port)}`;
    for (let i = 0; i < 2; i++) {
      const d = spawnVoiceAgent(['dispatcher'], env);
      children.push(d);
    }
    // Callers hang up 10 ms after their agent is dispatched.
    h.finishRoomsAfterDispatch(url, 10);

    // Sign first (that is LiveKit's work), then send everything at once.
    const rooms = Array.from({ length: CALLS }, (_, i) => `spike-${i}`);
    const signed = await Promise.all(
      rooms.map(async (room) => {
        const body = h.callWebhook(room);
        return { body, auth: await signWebhook(body, { apiKey: API_KEY, apiSecret: API_SECRET }) };
      }),
    );
    let peakActive = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peakActive = Math.max(peakActive, await h.activeCount());
        await new Promise((r) => setTimeout(r, 20));
      }
    })();

    const responses = await Promise.all(signed.map((s) => h.postWebhook(url, s.body, s.auth)));
    const statuses = new Map<number, number>();
    for (const r of responses) statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
    expect(Object.fromEntries(statuses)).toEqual({ 200: CALLS });

    await waitFor(
      'every call is dispatched and finished',
      () => h.livekit.dispatchCount === CALLS && h.finishedRooms.size === CALLS,
      100_000,
      () => `${h.livekit.dispatchCount} dispatched, ${h.finishedRooms.size} finished`,
    );
    await h.settleFinishes();
    sampling = false;
    await sampler;

    expect(h.livekit.roomsDispatchedTwice()).toEqual([]);
    expect(rooms.filter((r) => !h.livekit.dispatches.has(r))).toEqual([]);
    expect(h.peakLiveCalls).toBeLessThanOrEqual(CAPACITY);
    expect(peakActive).toBeLessThanOrEqual(CAPACITY);
    expect(h.peakLiveCalls).toBeGreaterThan(1); // calls really ran in parallel
    expect(h.livekit.authFailures).toBe(0);

    const pipeline = h.admin.pipeline();
    for (const room of rooms) pipeline.hget(h.store.keys.call(callIdForRoom(room)), 'state');
    const states = (await pipeline.exec())!.map(([, s]) => s);
    expect(states.filter((s) => s !== 'finished')).toEqual([]);
    expect(await h.activeCount()).toBe(0);
    const queue = JSON.parse((await httpRequest(`${url}/v1/queue`)).body);
    expect(queue).toMatchObject({ waiting: 0, active: 0, capacity: CAPACITY, deadLetters: 0 });
    expect(await h.queues.calls.getJobCounts('completed', 'failed', 'wait', 'active', 'delayed')).toEqual({ completed: CALLS, failed: 0, wait: 0, active: 0, delayed: 0 });
  });
});
