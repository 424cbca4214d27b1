/**
 * The LiveKit stand-in refuses and fails where the real server does (src/dev/fake-livekit.ts
 * cites the source of each behaviour). If it were kinder, the queue tests would prove nothing.
 */
import { JobStatus, ParticipantInfo_Kind, WorkerStatus } from '@livekit/protocol';
import { AccessToken, AgentDispatchClient, RoomServiceClient, TwirpError, WebhookReceiver } from 'livekit-server-sdk';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeAgentWorker } from '../src/dev/fake-agent-worker.js';
import { FakeLiveKit } from '../src/dev/fake-livekit.js';
import { waitFor } from './helpers/harness.js';

const KEY = 'APIfake';
const SECRET = 'fake-secret-0123456789abcdef0123456789';

async function twirpError(p: Promise<unknown>): Promise<TwirpError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof TwirpError) return err;
    throw err;
  }
  throw new Error('expected a Twirp error');
}

/** Records webhooks; answers with the next status in `statuses` (then 200). */
class Receiver {
  readonly received: Array<{ event: string; room: string; sid: string; identity?: string; kind?: number; atMs: number }> = [];
  statuses: number[] = [];
  server?: Server;
  url = '';
  private readonly verifier = new WebhookReceiver(KEY, SECRET);

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const status = this.statuses.shift() ?? 200;
        void this.verifier.receive(body, req.headers.authorization).then((ev) => {
          this.received.push({ event: ev.event, room: ev.room?.name ?? '', sid: ev.room?.sid ?? '', identity: ev.participant?.identity, kind: ev.participant?.kind, atMs: Date.now() });
          res.writeHead(status).end();
        }, () => res.writeHead(401).end());
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/webhooks`;
    return this;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

describe('fake LiveKit: dispatch and jobs', () => {
  let lk: FakeLiveKit;
  const workers: FakeAgentWorker[] = [];
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.close()));
    await lk?.close();
  });
  const start = async (options: Partial<ConstructorParameters<typeof FakeLiveKit>[0]> = {}) => {
    lk = await new FakeLiveKit({ apiKey: KEY, apiSecret: SECRET, missingRoomRpcMs: 300, ...options }).start();
    return { dispatch: new AgentDispatchClient(lk.url, KEY, SECRET), rooms: new RoomServiceClient(lk.url, KEY, SECRET) };
  };
  const worker = async (agentName: string, extra: Partial<ConstructorParameters<typeof FakeAgentWorker>[0]> = {}) => {
    const w = await new FakeAgentWorker({ url: lk.url, apiKey: KEY, apiSecret: SECRET, agentName, maxSessions: 10, statusIntervalMs: 60_000, ...extra }).start();
    workers.push(w);
    return w;
  };

  it('CreateDispatch answers 200 with no worker at all, and the dispatch never gets a job or an agent', async () => {
    const { dispatch, rooms } = await start();
    const d = await dispatch.createDispatch('lonely', 'voice-agent', { metadata: '{}' });
    expect(d.id).toMatch(/^AD_/);
    await new Promise((r) => setTimeout(r, 200));
    const listed = await dispatch.listDispatch('lonely');
    const mine = listed.find((x) => x.id === d.id);
    expect(mine?.state?.jobs).toEqual([]);
    // The room was created for it, with the server's default dispatch of the empty agent name.
    expect(listed.map((x) => x.agentName).sort()).toEqual(['', 'voice-agent']);
    expect(await rooms.listParticipants('lonely')).toEqual([]);
  });

  it('a worker of another agent name does not take the job; one with the name does, and its agent joins', async () => {
    const { dispatch, rooms } = await start();
    await worker('other-agent');
    const first = await dispatch.createDispatch('room-a', 'voice-agent');
    await new Promise((r) => setTimeout(r, 200));
    expect((await dispatch.listDispatch('room-a')).find((x) => x.id === first.id)?.state?.jobs).toEqual([]);

    const w = await worker('voice-agent');
    // An existing dispatch is not retried when a worker arrives (OSS has no job restart).
    await new Promise((r) => setTimeout(r, 200));
    expect(lk.jobs).toHaveLength(0);
    const second = await dispatch.createDispatch('room-b', 'voice-agent');
    await waitFor('the job is assigned', () => w.activeJobs.size === 1, 5000);
    const [job] = (await dispatch.listDispatch('room-b')).find((x) => x.id === second.id)!.state!.jobs;
    expect(job).toMatchObject({ dispatchId: second.id, agentName: 'voice-agent', state: { status: JobStatus.JS_RUNNING, workerId: w.workerId } });
    const participants = await rooms.listParticipants('room-b');
    expect(participants.map((p) => [p.identity, p.kind])).toEqual([[job!.state!.participantIdentity, ParticipantInfo_Kind.AGENT]]);
  });

  it('skips a worker reporting WS_FULL, and with every worker full no job is created', async () => {
    const { dispatch } = await start();
    const full = await worker('voice-agent', { cpuLoad: 0.9 });
    const free = await worker('voice-agent');
    full.tick();
    free.tick();
    await waitFor('LiveKit sees the first worker full', () => lk.registeredWorkers.some((w) => w.status === WorkerStatus.WS_FULL), 5000);
    for (let i = 0; i < 5; i++) await dispatch.createDispatch(`full-${i}`, 'voice-agent');
    await waitFor('five jobs', () => lk.jobs.length === 5, 5000);
    expect(full.jobHistory).toHaveLength(0);
    expect(free.jobHistory).toHaveLength(5);

    free.cpuLoad = 0.95;
    free.tick();
    await waitFor('both full', () => lk.registeredWorkers.every((w) => w.status === WorkerStatus.WS_FULL), 5000);
    const d = await dispatch.createDispatch('nobody-free', 'voice-agent');
    await new Promise((r) => setTimeout(r, 300));
    expect((await dispatch.listDispatch('nobody-free')).find((x) => x.id === d.id)?.state?.jobs).toEqual([]);
  });

  it('picks among available workers weighted by (1 - load)', async () => {
    const draws = [0.05, 0.5, 0.95];
    const { dispatch } = await start({ random: () => draws.shift() ?? 0.5 });
    const busy = await worker('voice-agent', { cpuLoad: 0.6, loadThreshold: 1 }); // weight 0.4
    const idle = await worker('voice-agent', { loadThreshold: 1 }); // weight 1
    busy.tick();
    idle.tick();
    // Loads travel as protobuf floats (0.6 arrives as 0.6000000238).
    await waitFor('loads reported', () => lk.registeredWorkers.some((w) => Math.abs(w.load - 0.6) < 1e-6), 5000);
    // Draw x 1.4: 0.07 -> busy (first 0.4), 0.7 -> idle, 1.33 -> idle.
    for (const room of ['w-1', 'w-2', 'w-3']) {
      await dispatch.createDispatch(room, 'voice-agent');
      await waitFor(`${room} assigned`, () => lk.jobs.some((j) => j.room === room), 5000);
    }
    expect(lk.jobs.map((j) => (j.workerId === busy.workerId ? 'busy' : j.workerId === idle.workerId ? 'idle' : '?'))).toEqual(['busy', 'idle', 'idle']);
  });

  it('a draining worker says no, and the job goes to another worker', async () => {
    const { dispatch } = await start({ random: () => 0 });
    const draining = await worker('voice-agent');
    const other = await worker('voice-agent');
    draining.drain(); // WS_FULL reaches LiveKit...
    await waitFor('LiveKit sees it full', () => lk.registeredWorkers.some((w) => w.status === WorkerStatus.WS_FULL), 5000);
    await dispatch.createDispatch('drain-room', 'voice-agent');
    await waitFor('assigned', () => lk.jobs.length === 1, 5000);
    expect(lk.jobs[0]!.workerId).toBe(other.workerId);
  });

  it('ListDispatch and DeleteDispatch for a room that does not exist: no 404, unavailable after the RPC attempts', async () => {
    const { dispatch, rooms } = await start({ missingRoomRpcMs: 400 });
    const t = Date.now();
    const listErr = await twirpError(dispatch.listDispatch('never-created'));
    expect(Date.now() - t).toBeGreaterThanOrEqual(390);
    expect([listErr.status, listErr.code]).toEqual([503, 'unavailable']);
    const deleteErr = await twirpError(dispatch.deleteDispatch('AD_x', 'never-created'));
    expect(deleteErr.status).toBe(503);
    // The store answers at once: no room, no participants.
    expect(await rooms.listParticipants('never-created')).toEqual([]);
    expect(await rooms.listRooms(['never-created'])).toEqual([]);
  });

  it('DeleteDispatch ends its job: the worker gets a termination and the agent leaves', async () => {
    const { dispatch, rooms } = await start();
    const w = await worker('voice-agent');
    const d = await dispatch.createDispatch('del-room', 'voice-agent');
    await waitFor('assigned', () => w.activeJobs.size === 1, 5000);
    await dispatch.deleteDispatch(d.id, 'del-room');
    await waitFor('terminated', () => w.activeJobs.size === 0, 5000);
    expect(await rooms.listParticipants('del-room')).toEqual([]);
    expect((await dispatch.listDispatch('del-room')).map((x) => x.id)).not.toContain(d.id);
    expect((await twirpError(dispatch.deleteDispatch(d.id, 'del-room'))).status).toBe(404);
  });

  it('a room name comes back with a new sid; ListRooms shows the live session', async () => {
    const { rooms } = await start();
    const first = lk.sipCall('support-line');
    const [listed] = await rooms.listRooms();
    expect(listed).toMatchObject({ name: 'support-line', sid: first.sid });
    expect((await rooms.listParticipants('support-line'))[0]).toMatchObject({ identity: first.identity, kind: ParticipantInfo_Kind.SIP });
    lk.endCall('support-line');
    expect(await rooms.listRooms()).toEqual([]);
    const second = lk.sipCall('support-line');
    expect(second.sid).not.toBe(first.sid);
    expect((await rooms.listRooms()).map((r) => r.sid)).toEqual([second.sid]);
  });

  it('refuses a bad token and a missing grant, on the API and on /agent', async () => {
    const { dispatch } = await start();
    const wrong = new AgentDispatchClient(lk.url, KEY, 'another-secret-entirely-0123456789');
    expect((await twirpError(wrong.createDispatch('r', 'voice-agent'))).status).toBe(401);
    // roomAdmin for one room does not cover another.
    const token = new AccessToken(KEY, SECRET);
    token.addGrant({ roomAdmin: true, room: 'room-x' });
    const res = await fetch(`${lk.url}/twirp/livekit.AgentDispatchService/ListDispatch`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await token.toJwt()}`, 'content-type': 'application/json' },
      body: JSON.stringify({ room: 'room-y' }),
    });
    expect(res.status).toBe(401);
    // ListRooms needs roomList.
    const admin = new AccessToken(KEY, SECRET);
    admin.addGrant({ roomAdmin: true, room: 'room-x' });
    const list = await fetch(`${lk.url}/twirp/livekit.RoomService/ListRooms`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await admin.toJwt()}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(list.status).toBe(401);
    await expect(new FakeAgentWorker({ url: lk.url, apiKey: KEY, apiSecret: 'another-secret-entirely-0123456789', agentName: 'a', maxSessions: 1 }).start()).rejects.toThrow(/401/);
    expect(lk.authFailures).toBe(4);
    void dispatch;
  });
});

describe('fake LiveKit: webhooks', () => {
  let lk: FakeLiveKit | undefined;
  let receiver: Receiver;
  afterEach(async () => {
    await lk?.close();
    await receiver?.close();
  });

  it('sends signed protojson events, in order per room, with the room sid', async () => {
    receiver = await new Receiver().start();
    lk = await new FakeLiveKit({ apiKey: KEY, apiSecret: SECRET, webhookUrls: [receiver.url] }).start();
    const { sid, identity } = lk.sipCall('ordered');
    lk.endCall('ordered');
    await lk.webhooksSettled();
    expect(receiver.received.map((r) => [r.event, r.sid])).toEqual([
      ['room_started', sid],
      ['participant_joined', sid],
      ['participant_left', sid],
      ['room_finished', sid],
    ]);
    expect(receiver.received[1]).toMatchObject({ identity, kind: ParticipantInfo_Kind.SIP });
  });

  it('sends only the included events when webhook.filter_params.include_events is set', async () => {
    receiver = await new Receiver().start();
    lk = await new FakeLiveKit({ apiKey: KEY, apiSecret: SECRET, webhookUrls: [receiver.url], webhookIncludeEvents: ['participant_joined', 'room_finished'] }).start();
    lk.sipCall('filtered');
    lk.endCall('filtered');
    await lk.webhooksSettled();
    expect(receiver.received.map((r) => r.event)).toEqual(['participant_joined', 'room_finished']);
  });

  it('retries 5xx with backoff (Retry-After honoured), gives up after 4 retries; a 4xx is not retried', async () => {
    receiver = await new Receiver().start();
    lk = await new FakeLiveKit({ apiKey: KEY, apiSecret: SECRET, webhookUrls: [receiver.url], webhooks: { retryWaitMinMs: 50 } }).start();
    receiver.statuses = [503, 500, 200];
    lk.sipCall('flaky');
    await lk.webhooksSettled();
    const started = lk.webhooks.deliveries.find((d) => d.event === 'room_started')!;
    expect(started).toMatchObject({ outcome: 'delivered', attempts: 3, status: 200 });
    // Waits of 50 and 100 ms (min x 2^attempt).
    expect(started.doneAtMs - started.queuedAtMs).toBeGreaterThanOrEqual(140);

    receiver.statuses = [500, 500, 500, 500, 500];
    lk.endCall('flaky');
    await lk.webhooksSettled();
    const left = lk.webhooks.deliveries.find((d) => d.event === 'participant_left')!;
    expect(left).toMatchObject({ outcome: 'gave-up', attempts: 5, status: 500 });
    expect(receiver.received.filter((r) => r.event === 'participant_left')).toHaveLength(5);

    receiver.statuses = [400];
    lk.sipCall('bad-request');
    await lk.webhooksSettled();
    expect(lk.webhooks.deliveries.find((d) => d.room === 'bad-request' && d.event === 'room_started')).toMatchObject({ outcome: 'rejected', attempts: 1, status: 400 });
  });

  it('an event queued behind a failing one longer than the age limit is dropped unsent', async () => {
    receiver = await new Receiver().start();
    lk = await new FakeLiveKit({ apiKey: KEY, apiSecret: SECRET, webhookUrls: [receiver.url], webhooks: { retryWaitMinMs: 100, maxAgeMs: 250 } }).start();
    receiver.statuses = [503, 503, 503, 503, 503]; // room_started retried ~1.5 s, then given up
    lk.sipCall('slow-room'); // participant_joined waits behind it, too long
    await lk.webhooksSettled();
    const joined = lk.webhooks.deliveries.find((d) => d.event === 'participant_joined')!;
    expect(joined).toMatchObject({ outcome: 'dropped-age', attempts: 0 });
    expect(receiver.received.some((r) => r.event === 'participant_joined')).toBe(false);
  });

  it('an unreachable receiver: retried, then given up', async () => {
    lk = await new FakeLiveKit({ apiKey: KEY, apiSecret: SECRET, webhookUrls: ['http://127.0.0.1:1/webhooks'], webhooks: { retryWaitMinMs: 20 } }).start();
    receiver = await new Receiver().start();
    lk.sipCall('nowhere');
    await lk.webhooksSettled();
    expect(lk.webhooks.deliveries[0]).toMatchObject({ event: 'room_started', outcome: 'gave-up', attempts: 5, status: 0 });
  });
});
