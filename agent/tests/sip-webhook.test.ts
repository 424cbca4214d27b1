/**
 * A phone call reaches the queue: LiveKit's participant_joined webhook for a SIP caller, built as
 * the SIP service and the server make it, signed as the server signs it, enqueues one call through
 * the intake (real redis-server).
 *
 * What the event carries, and where it comes from:
 * - room name: protocol sip/sip.go EvaluateDispatchRule, individual rule:
 *   `<roomPrefix>_<caller>_<guid.New("")>` (12 characters of shortuuid's alphabet);
 * - identity `sip_<caller>`, name `Phone <caller>`, attributes sip.callID, sip.trunkID, sip.ruleID,
 *   sip.phoneNumber, sip.hostname, sip.trunkPhoneNumber (same function; protocol livekit/attrs.go);
 * - sip.callStatus "ringing" at join without a PIN (livekit/sip v1.11.0 pkg/sip/inbound.go,
 *   CallRinging passed to joinRoom), sip.twilio.* from Twilio's X-Twilio-* headers
 *   (pkg/sip/participant.go headerToAttr);
 * - kind SIP, set by the token the SIP service signs (protocol sip/token.go);
 * - body: protojson of WebhookEvent (protocol utils/protojson Marshal: JSON names, enums by name),
 *   signed by WebhookReceiver's scheme (agent/src/dev/webhook-signer.ts); every session its own room.sid.
 */
import { ParticipantInfo, ParticipantInfo_Kind, ParticipantInfo_State, Room, WebhookEvent } from '@livekit/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { livekitGuid } from '../src/dev/fake-livekit-sip.js';
import { Harness } from './helpers/harness.js';
import { startRoles, type InProcessRoles } from './helpers/roles.js';

const caller = '+15550001111';
const called = '+15550100001';

/** The room an individual dispatch rule with this prefix gives a caller (a new one per call). */
function individualRoomName(prefix: string, from: string): string {
  return `${prefix}_${from}_${livekitGuid('')}`;
}

function sipParticipantJoined(roomName: string, roomSid: string): string {
  const now = BigInt(Math.floor(Date.now() / 1000));
  const participant = new ParticipantInfo({
    sid: livekitGuid('PA_'),
    identity: `sip_${caller}`,
    name: `Phone ${caller}`,
    state: ParticipantInfo_State.ACTIVE,
    kind: ParticipantInfo_Kind.SIP,
    joinedAt: now,
    attributes: {
      'sip.callID': livekitGuid('SCL_'),
      'sip.trunkID': livekitGuid('ST_'),
      'sip.ruleID': livekitGuid('SDR_'),
      'sip.phoneNumber': caller,
      'sip.hostname': '54.172.60.1',
      'sip.trunkPhoneNumber': called,
      'sip.callStatus': 'ringing',
      'sip.twilio.callSid': 'CA0123456789abcdef0123456789abcdef',
      'sip.twilio.accountSid': 'AC0123456789abcdef0123456789abcdef',
    },
  });
  const event = new WebhookEvent({
    event: 'participant_joined',
    room: new Room({ sid: roomSid, name: roomName, emptyTimeout: 300, departureTimeout: 20, creationTime: now, numParticipants: 1 }),
    participant,
    id: livekitGuid('EV_'),
    createdAt: now,
  });
  return JSON.stringify(event.toJson());
}

describe('a SIP caller’s webhook', () => {
  let h: Harness;
  let roles: InProcessRoles;

  beforeAll(async () => {
    h = await new Harness().start();
    roles = await startRoles(h, { FLEET_CAPACITY: '4' }, 0);
  });
  afterAll(async () => {
    await roles?.close();
    await h?.close();
  });

  const jobsFor = async (room: string) => (await h.queues.calls.getJobs(['waiting', 'delayed', 'prioritized', 'active', 'waiting-children'])).filter((j) => j.data.room === room);

  it('enqueues one call for the room, even when LiveKit delivers it twice', async () => {
    const room = individualRoomName('call', caller);
    expect(room).toMatch(/^call_\+15550001111_[2-9A-HJ-NP-Za-km-z]{12}$/);
    const body = sipParticipantJoined(room, livekitGuid('RM_'));
    // What the intake gets is what LiveKit sends: kind and state by name, the sip.* attributes.
    expect(JSON.parse(body)).toMatchObject({ participant: { kind: 'SIP', state: 'ACTIVE', identity: `sip_${caller}` } });

    const first = await h.postWebhook(roles.intake.url, body);
    expect(first.status).toBe(200);
    const again = await h.postWebhook(roles.intake.url, body);
    expect(again.status).toBe(200);

    const jobs = await jobsFor(room);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]!.data).toMatchObject({ room, source: 'livekit', participantIdentity: `sip_${caller}` });
  });

  it('the same caller calling again gets a new room and a second call', async () => {
    const rooms = [individualRoomName('call', caller), individualRoomName('call', caller)];
    expect(rooms[0]).not.toBe(rooms[1]);
    for (const room of rooms) expect((await h.postWebhook(roles.intake.url, sipParticipantJoined(room, livekitGuid('RM_')))).status).toBe(200);
    for (const room of rooms) expect(await jobsFor(room)).toHaveLength(1);
  });

  it('the agent joining the same room is not a call', async () => {
    const room = individualRoomName('call', caller);
    const agent = JSON.parse(sipParticipantJoined(room, livekitGuid('RM_'))) as { participant: Record<string, unknown> };
    agent.participant = { ...agent.participant, identity: 'agent-AJ_1', kind: 'AGENT', attributes: {} };
    expect((await h.postWebhook(roles.intake.url, JSON.stringify(agent))).status).toBe(200);
    expect(await jobsFor(room)).toHaveLength(0);
  });
});
