/**
 * The escalation transfer against the SIP stand-in (agent/src/dev/fake-livekit-sip.ts): dialling
 * the person out on the stack's outbound trunk (CreateSIPParticipant, sip.call grant), or a cold
 * transfer by REFER (TransferSIPParticipant, roomAdmin + sip.call) when no trunk is named.
 */
import { SIP_DECLARATION_VERSION } from '@voice-agent-infra/common';
import { SipCallError, SipClient } from 'livekit-server-sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeLiveKitSip } from '../src/dev/fake-livekit-sip.js';
import { syncSip } from '../src/sip/sync.js';
import { dialNumber, SipHumanTransfer, TRANSFER_PARTICIPANT_IDENTITY } from '../src/voice/human-handoff.js';

const apiKey = 'APItransferTest';
const apiSecret = 'transfer-test-secret-0123456789abcdef012345';
const room = 'call_+15550001111_Ab3dE5fG7hJk';
const caller = { identity: 'sip_+15550001111', attributes: { 'sip.callID': 'SCL_inbound12345', 'sip.trunkID': 'ST_x' } };

let fake: FakeLiveKitSip;
let admin: SipClient;
const transfer = (outboundTrunk?: string) =>
  new SipHumanTransfer({ url: fake.url, apiKey, apiSecret, ringingTimeoutSeconds: 20, ...(outboundTrunk !== undefined ? { outboundTrunk } : {}) });

beforeEach(async () => {
  fake = await new FakeLiveKitSip({ apiKey, apiSecret }).start();
  admin = new SipClient(fake.url, apiKey, apiSecret);
  fake.addSipParticipant(room, { ...caller });
  // The stack's trunks, as sip-sync keeps them.
  await syncSip(admin, {
    version: SIP_DECLARATION_VERSION,
    owner: 'mid',
    inboundTrunk: { name: 'voice-agent-mid-inbound', numbers: ['+15550100001'], allowedAddresses: ['54.172.60.0/30'], auth: false, mediaEncryption: 'disable' },
    dispatchRule: { name: 'voice-agent-mid-calls', type: 'individual', roomPrefix: 'call' },
    outboundTrunk: { name: 'voice-agent-mid-outbound', address: 'example.pstn.twilio.com', numbers: ['+15550100001'], transport: 'auto', auth: false, mediaEncryption: 'disable' },
  });
});
afterEach(async () => {
  await fake.close();
});

describe('transfer on the outbound trunk', () => {
  it('dials the person into the caller’s room on the named trunk and waits for the answer', async () => {
    const result = await transfer('voice-agent-mid-outbound').transfer(room, caller.identity, 'tel:+15551230000');
    expect(result).toEqual({ via: 'outbound-trunk', participantIdentity: TRANSFER_PARTICIPANT_IDENTITY });
    const [trunk] = [...fake.outbound.values()];
    expect(fake.dials).toEqual([
      { trunkId: trunk!.sipTrunkId, to: '+15551230000', from: '+15550100001', roomName: room, participantIdentity: TRANSFER_PARTICIPANT_IDENTITY, waitUntilAnswered: true },
    ]);
    expect(fake.rooms.get(room)!.map((p) => p.identity)).toEqual([caller.identity, TRANSFER_PARTICIPANT_IDENTITY]);
    expect(fake.transfers).toEqual([]);
  });

  it('fails with the SIP status when nobody answers, so the agent can offer a callback', async () => {
    fake.onDial = () => ({ sipStatus: 486, reason: 'Busy Here' });
    const error = await transfer('voice-agent-mid-outbound').transfer(room, caller.identity, '+15551230000').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SipCallError);
    expect((error as SipCallError).sipStatusCode).toBe(486);
    expect(fake.rooms.get(room)!.map((p) => p.identity)).toEqual([caller.identity]);
  });

  it('looks the trunk up again when sip-sync replaced it', async () => {
    const t = transfer('voice-agent-mid-outbound');
    await t.transfer(room, caller.identity, '+15551230000');
    // The trunk is deleted and created anew (a new ID) behind the agent's back.
    const [old] = [...fake.outbound.values()];
    await admin.deleteSipTrunk(old!.sipTrunkId);
    const renewed = await admin.createSipOutboundTrunk(old!.name, old!.address, old!.numbers, { transport: old!.transport, metadata: old!.metadata });
    await t.transfer(room, caller.identity, '+15551230000');
    expect(fake.dials.map((d) => d.trunkId)).toEqual([old!.sipTrunkId, renewed.sipTrunkId]);
  });

  it('names the trunk when LiveKit has none of that name', async () => {
    await expect(transfer('voice-agent-large-outbound').transfer(room, caller.identity, '+15551230000')).rejects.toThrow(/no outbound SIP trunk named "voice-agent-large-outbound"/);
  });

  it('dials E.164 numbers only', () => {
    expect(dialNumber('tel:+1 (555) 123-0000')).toBe('+15551230000');
    expect(() => dialNumber('sip:desk@pbx.example.com')).toThrow(/E\.164 number/);
  });
});

describe('cold transfer by REFER (no outbound trunk named)', () => {
  it('asks the provider to take the caller; the caller leaves the room', async () => {
    const result = await transfer().transfer(room, caller.identity, 'tel:+15551230000');
    expect(result).toEqual({ via: 'refer' });
    expect(fake.transfers).toEqual([{ roomName: room, participantIdentity: caller.identity, transferTo: 'tel:+15551230000', sipCallId: 'SCL_inbound12345' }]);
    expect(fake.rooms.get(room)).toEqual([]);
    expect(fake.dials).toEqual([]);
  });

  it('is refused for a participant without a SIP call', async () => {
    fake.addSipParticipant(room, { identity: 'web-visitor', attributes: {} });
    await expect(transfer().transfer(room, 'web-visitor', 'tel:+15551230000')).rejects.toMatchObject({ status: 400, message: 'no SIP session associated with participant' });
  });
});
