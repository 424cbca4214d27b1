import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { httpRequest } from '../src/dev/http-client.js';
import { signWebhook, webhookBody } from '../src/dev/webhook-signer.js';
import { callIdForRoom } from '../src/queue/keys.js';
import { API_KEY, API_SECRET, Harness, INTAKE_TOKEN } from './helpers/harness.js';
import { startRoles, type InProcessRoles } from './helpers/roles.js';

/** Intake alone (no dispatcher), so whatever it stores stays visible. */
describe('intake', () => {
  let h: Harness;
  let roles: InProcessRoles;
  let url: string;

  beforeAll(async () => {
    h = await new Harness().start();
    roles = await startRoles(h, { FLEET_CAPACITY: '7' }, 0);
    url = roles.intake.url;
  });
  afterAll(async () => {
    await roles?.close();
    await h?.close();
  });

  async function nothingStored(): Promise<void> {
    const counts = await h.queues.calls.getJobCounts();
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(0);
    expect(await h.admin.keys(`${h.prefix}:room:*`)).toEqual([]);
    expect(await h.admin.keys(`${h.prefix}:session:*`)).toEqual([]);
  }

  describe('rejects bad webhooks and stores nothing', () => {
    beforeEach(async () => {
      await h.queues.calls.obliterate({ force: true });
      const keys = [...(await h.admin.keys(`${h.prefix}:room:*`)), ...(await h.admin.keys(`${h.prefix}:session:*`))];
      if (keys.length) await h.admin.del(...keys);
    });

    it('a wrong signature -> 401', async () => {
      const body = h.callWebhook('bad-sig');
      const auth = await signWebhook(body, { apiKey: API_KEY, apiSecret: 'another-secret-entirely-0123456789' });
      expect((await h.postWebhook(url, body, auth)).status).toBe(401);
      await nothingStored();
    });

    it('an expired token -> 401', async () => {
      const body = h.callWebhook('expired');
      const auth = await signWebhook(body, { apiKey: API_KEY, apiSecret: API_SECRET, ttl: '-1m' });
      expect((await h.postWebhook(url, body, auth)).status).toBe(401);
      await nothingStored();
    });

    it('a body whose hash does not match the signed one -> 401', async () => {
      const body = h.callWebhook('tampered');
      const auth = await signWebhook(body, { apiKey: API_KEY, apiSecret: API_SECRET, signedBody: h.callWebhook('original') });
      expect((await h.postWebhook(url, body, auth)).status).toBe(401);
      await nothingStored();
    });

    it('a token from another API key -> 401, and no Authorization -> 401', async () => {
      const body = h.callWebhook('other-key');
      const auth = await signWebhook(body, { apiKey: 'APIother', apiSecret: API_SECRET });
      expect((await h.postWebhook(url, body, auth)).status).toBe(401);
      const res = await httpRequest(`${url}/webhooks/livekit`, { method: 'POST', body });
      expect(res.status).toBe(401);
      await nothingStored();
    });

    it('a correctly signed body that is not an event -> 400', async () => {
      for (const body of ['this is not json {', '[1, 2, 3]', '"a string"']) {
        const auth = await signWebhook(body, { apiKey: API_KEY, apiSecret: API_SECRET });
        expect((await h.postWebhook(url, body, auth)).status, body).toBe(400);
      }
      await nothingStored();
    });

    it('a 1 MiB body -> 413, with or without Content-Length', async () => {
      const big = `{"event":"participant_joined","pad":"${'x'.repeat(1024 * 1024)}"}`;
      const auth = await signWebhook(big, { apiKey: API_KEY, apiSecret: API_SECRET });
      const declared = await h.postWebhook(url, big, auth);
      expect(declared.status).toBe(413);
      const chunked = await httpRequest(`${url}/webhooks/livekit`, { method: 'POST', body: big, chunked: true, headers: { authorization: auth } });
      expect(chunked.status).toBe(413);
      await nothingStored();
      // The intake is still healthy afterwards.
      expect((await httpRequest(`${url}/healthz`)).status).toBe(200);
    });

    it('events that are not a SIP caller joining are answered 200 and ignored', async () => {
      const agentJoined = webhookBody('participant_joined', 'web-room', { kind: 'AGENT' });
      const roomStarted = webhookBody('room_started', 'web-room');
      for (const body of [agentJoined, roomStarted]) {
        const res = await h.postWebhook(url, body);
        expect(res.status).toBe(200);
        expect(JSON.parse(res.body).ignored).toBeTruthy();
      }
      await nothingStored();
    });
  });

  describe('POST /v1/calls', () => {
    const post = (body: unknown, token: string | null = INTAKE_TOKEN) =>
      httpRequest(`${url}/v1/calls`, {
        method: 'POST',
        body: typeof body === 'string' ? body : JSON.stringify(body),
        headers: token === null ? {} : { authorization: `Bearer ${token}` },
      });

    it('needs the bearer token', async () => {
      expect((await post({ room: 'api-1' }, null)).status).toBe(401);
      expect((await post({ room: 'api-1' }, 'wrong-token-0123456789')).status).toBe(401);
      expect(await h.queues.calls.getJob(callIdForRoom('api-1'))).toBeUndefined();
    });

    it('rejects bad bodies with 400 naming the field', async () => {
      expect((await post('{not json')).status).toBe(400);
      const noRoom = await post({ useCase: 'billing' });
      expect(noRoom.status).toBe(400);
      expect(JSON.parse(noRoom.body).error).toMatch(/^room/);
      const badId = await post({ room: 'r', callId: 'has:colon' });
      expect(badId.status).toBe(400);
      expect(JSON.parse(badId.body).error).toMatch(/^callId/);
    });

    it('stores the call, answers 202 {callId}, and is idempotent', async () => {
      const first = await post({ room: 'api-room', callId: 'crm-42', useCase: 'billing', metadata: { account: 'A1' } });
      expect(first.status).toBe(202);
      expect(JSON.parse(first.body)).toEqual({ callId: 'crm-42', duplicate: false });
      const job = await h.queues.calls.getJob('crm-42');
      expect(job?.data).toMatchObject({ callId: 'crm-42', room: 'api-room', source: 'api', useCase: 'billing', metadata: { account: 'A1' } });

      const again = await post({ room: 'api-room', callId: 'crm-42', useCase: 'billing' });
      expect(again.status).toBe(202);
      expect(JSON.parse(again.body)).toEqual({ callId: 'crm-42', duplicate: true });

      // The room already has a call: another id for it is a conflict, naming the owner.
      const conflict = await post({ room: 'api-room', callId: 'crm-43' });
      expect(conflict.status).toBe(409);
      expect(JSON.parse(conflict.body).callId).toBe('crm-42');
      expect(await h.queues.calls.getJob('crm-43')).toBeUndefined();

      // Without a callId the room's id is used (the same one a LiveKit webhook would get).
      const derived = await post({ room: 'api-room-2' });
      expect(JSON.parse(derived.body).callId).toBe(callIdForRoom('api-room-2'));
    });
  });

  it('serves health, readiness, Prometheus metrics and the queue signals', async () => {
    expect((await httpRequest(`${url}/healthz`)).status).toBe(200);
    expect((await httpRequest(`${url}/readyz`)).status).toBe(200);
    const metrics = await httpRequest(`${url}/metrics`);
    expect(metrics.status).toBe(200);
    for (const name of ['voice_queue_waiting_calls', 'voice_queue_oldest_wait_seconds', 'voice_active_calls', 'voice_fleet_capacity_sessions', 'voice_queue_dead_letters', 'voice_intake_calls_total']) {
      expect(metrics.body).toContain(name);
    }
    expect(metrics.body).toMatch(/voice_fleet_capacity_sessions 7/);
    const queue = await httpRequest(`${url}/v1/queue`);
    const stats = JSON.parse(queue.body);
    expect(Object.keys(stats).sort()).toEqual(['active', 'capacity', 'deadLetters', 'oldestWaitSeconds', 'waiting']);
    expect(stats.capacity).toBe(7);
    expect(stats.waiting).toBeGreaterThanOrEqual(1); // the API calls above wait: no dispatcher runs
    expect(stats.oldestWaitSeconds).toBeGreaterThanOrEqual(0);
    expect((await httpRequest(`${url}/nope`)).status).toBe(404);
    expect((await httpRequest(`${url}/webhooks/livekit`)).status).toBe(405);
  });
});
