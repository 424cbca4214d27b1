/**
 * sip-sync against an in-test server speaking LiveKit's SIP Twirp API (agent/src/dev/fake-livekit-sip.ts:
 * JWTs checked, the server's refusals copied from its source) and a real redis-server for the lock.
 */
import { SIPMediaEncryption, SIPTransport } from '@livekit/protocol';
import { SIP_DECLARATION_VERSION, sipOwnerMetadata, type SipDeclaration } from '@voice-agent-infra/common';
import { AccessToken, SipClient } from 'livekit-server-sdk';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeLiveKitSip } from '../src/dev/fake-livekit-sip.js';
import { runVoiceAgent } from '../src/dev/processes.js';
import { startRedisServer, type RedisServer } from '../src/dev/redis-server.js';
import { parseSipSyncConfig } from '../src/sip/config.js';
import { runSipSync } from '../src/sip/command.js';
import { MEDIA_ENCRYPTION, syncSip, TRANSPORT, type SyncAction } from '../src/sip/sync.js';

const apiKey = 'APIsipSyncTest';
const apiSecret = 'sip-sync-test-secret-0123456789abcdef0123';
const TWILIO = ['54.172.60.0/30', '54.244.51.0/30'];

function declaration(over: Partial<SipDeclaration> = {}): SipDeclaration {
  return {
    version: SIP_DECLARATION_VERSION,
    owner: 'mid',
    inboundTrunk: { name: 'voice-agent-mid-inbound', numbers: ['+15550100001'], allowedAddresses: TWILIO, auth: false, mediaEncryption: 'disable' },
    dispatchRule: { name: 'voice-agent-mid-calls', type: 'individual', roomPrefix: 'call' },
    outboundTrunk: { name: 'voice-agent-mid-outbound', address: 'example.pstn.twilio.com', numbers: ['+15550100001'], transport: 'auto', auth: false, mediaEncryption: 'disable' },
    ...over,
  };
}

const summary = (actions: SyncAction[]) => actions.map((a) => `${a.action} ${a.kind}`).sort();
const MUTATIONS = /^(Create|Update|Delete)/;

let fake: FakeLiveKitSip;
let client: SipClient;

beforeEach(async () => {
  fake = await new FakeLiveKitSip({ apiKey, apiSecret }).start();
  client = new SipClient(fake.url, apiKey, apiSecret);
});
afterEach(async () => {
  await fake.close();
});

describe('sip-sync reconcile', () => {
  it('first run creates the inbound trunk, the rule scoped to it (no agent dispatch in queue mode) and the outbound trunk', async () => {
    const actions = await syncSip(client, declaration());
    expect(summary(actions)).toEqual(['created dispatch-rule', 'created inbound-trunk', 'created outbound-trunk']);
    const [trunk] = [...fake.inbound.values()];
    expect(trunk).toMatchObject({ name: 'voice-agent-mid-inbound', numbers: ['+15550100001'], allowedAddresses: TWILIO, metadata: sipOwnerMetadata('mid') });
    expect(trunk!.sipTrunkId).toMatch(/^ST_[2-9A-HJ-NP-Za-km-z]{12}$/);
    const [rule] = [...fake.rules.values()];
    expect(rule!.sipDispatchRuleId).toMatch(/^SDR_/);
    expect(rule!.trunkIds).toEqual([trunk!.sipTrunkId]);
    expect(rule!.rule?.rule).toMatchObject({ case: 'dispatchRuleIndividual', value: { roomPrefix: 'call', pin: '' } });
    expect(rule!.roomConfig?.agents ?? []).toEqual([]);
    expect([...fake.outbound.values()][0]).toMatchObject({ name: 'voice-agent-mid-outbound', address: 'example.pstn.twilio.com', numbers: ['+15550100001'] });
  });

  it('a second run changes nothing', async () => {
    await syncSip(client, declaration());
    const before = fake.calls.length;
    const actions = await syncSip(client, declaration());
    expect(summary(actions)).toEqual(['unchanged dispatch-rule', 'unchanged inbound-trunk', 'unchanged outbound-trunk']);
    expect(fake.calls.slice(before).filter((m) => MUTATIONS.test(m))).toEqual([]);
  });

  it('a changed number list updates the trunk in place: same ID, the rule still points at it', async () => {
    await syncSip(client, declaration());
    const [id] = [...fake.inbound.keys()];
    const actions = await syncSip(client, declaration({ inboundTrunk: { ...declaration().inboundTrunk!, numbers: ['+15550100001', '+15550100002'] } }));
    expect(summary(actions)).toEqual(['unchanged dispatch-rule', 'unchanged outbound-trunk', 'updated inbound-trunk']);
    expect([...fake.inbound.keys()]).toEqual([id]);
    expect(fake.inbound.get(id!)!.numbers).toEqual(['+15550100001', '+15550100002']);
    expect([...fake.rules.values()][0]!.trunkIds).toEqual([id]);
    expect(fake.count('CreateSIPInboundTrunk')).toBe(1);
  });

  it('a removed outbound trunk is deleted; one the declaration adds back is created', async () => {
    await syncSip(client, declaration());
    const actions = await syncSip(client, declaration({ outboundTrunk: undefined }));
    expect(actions).toContainEqual(expect.objectContaining({ kind: 'outbound-trunk', action: 'deleted', name: 'voice-agent-mid-outbound' }));
    expect(fake.outbound.size).toBe(0);
    expect(fake.inbound.size).toBe(1);
    await syncSip(client, declaration());
    expect(fake.outbound.size).toBe(1);
  });

  it('the rule always carries trunkIds: across create, update, a renamed trunk and a prefix change', async () => {
    const check = () => {
      for (const rule of fake.rules.values()) {
        expect(rule.trunkIds.length).toBeGreaterThan(0);
        for (const id of rule.trunkIds) expect(fake.inbound.has(id)).toBe(true);
      }
    };
    await syncSip(client, declaration());
    check();
    // A renamed trunk is the same trunk under a new name: updated in place, no second trunk on the numbers.
    await syncSip(client, declaration({ inboundTrunk: { ...declaration().inboundTrunk!, name: 'voice-agent-mid-in' } }));
    check();
    expect([...fake.inbound.values()].map((t) => t.name)).toEqual(['voice-agent-mid-in']);
    await syncSip(client, declaration({ dispatchRule: { name: 'voice-agent-mid-calls', type: 'callee', roomPrefix: 'support' } }));
    check();
    expect([...fake.rules.values()][0]!.rule?.rule).toMatchObject({ case: 'dispatchRuleCallee', value: { roomPrefix: 'support', randomize: true } });
    expect(fake.rules.size).toBe(1);
  });

  it('outside queue mode the rule dispatches the named agent; back in queue mode it dispatches none', async () => {
    await syncSip(client, declaration({ dispatchRule: { ...declaration().dispatchRule!, agentName: 'voice-agent' } }));
    expect([...fake.rules.values()][0]!.roomConfig?.agents.map((a) => a.agentName)).toEqual(['voice-agent']);
    const actions = await syncSip(client, declaration());
    expect(actions).toContainEqual(expect.objectContaining({ kind: 'dispatch-rule', action: 'updated' }));
    expect([...fake.rules.values()][0]!.roomConfig?.agents ?? []).toEqual([]);
  });

  it('sets credentials and SRTP/TLS as declared, and resets a field changed by hand', async () => {
    const creds = { inbound: { username: 'stack-in', password: 'in-secret-1' }, outbound: { username: 'stack-out', password: 'out-secret-1' } };
    const tls = declaration({
      inboundTrunk: { ...declaration().inboundTrunk!, auth: true, mediaEncryption: 'require' },
      outboundTrunk: { ...declaration().outboundTrunk!, auth: true, transport: 'tls', mediaEncryption: 'require' },
    });
    await syncSip(client, tls, creds);
    expect([...fake.inbound.values()][0]).toMatchObject({ authUsername: 'stack-in', authPassword: 'in-secret-1', mediaEncryption: SIPMediaEncryption.SIP_MEDIA_ENCRYPT_REQUIRE });
    expect([...fake.outbound.values()][0]).toMatchObject({ authUsername: 'stack-out', transport: SIPTransport.SIP_TRANSPORT_TLS });
    // A rotated password is a change.
    const rotated = await syncSip(client, tls, { ...creds, inbound: { username: 'stack-in', password: 'in-secret-2' } });
    expect(rotated).toContainEqual(expect.objectContaining({ kind: 'inbound-trunk', action: 'updated' }));
    await expect(syncSip(client, tls, {})).rejects.toThrow(/asks for outbound auth but no outbound credentials/);
  });

  it('leaves other owners and hand-made objects alone', async () => {
    const other = await client.createSipInboundTrunk('hand-made', ['+15550199999'], { allowedAddresses: ['198.51.100.0/24'] });
    const foreign = await client.createSipInboundTrunk('voice-agent-small-inbound', ['+15550188888'], { metadata: sipOwnerMetadata('small'), allowedAddresses: TWILIO });
    const wildcard = await client.createSipDispatchRule({ type: 'individual', roomPrefix: 'lobby' }, { name: 'hand-made-wildcard' });
    await syncSip(client, declaration());
    await syncSip(client, declaration({ inboundTrunk: undefined, dispatchRule: undefined, outboundTrunk: undefined }));
    expect([...fake.inbound.keys()].sort()).toEqual([other.sipTrunkId, foreign.sipTrunkId].sort());
    expect([...fake.rules.keys()]).toEqual([wildcard.sipDispatchRuleId]);
  });

  it('with SIP off, deletes the rule, then the trunks it owns', async () => {
    await syncSip(client, declaration());
    const before = fake.calls.length;
    const actions = await syncSip(client, { version: 1, owner: 'mid' });
    expect(summary(actions)).toEqual(['deleted dispatch-rule', 'deleted inbound-trunk', 'deleted outbound-trunk']);
    const deletes = fake.calls.slice(before).filter((m) => MUTATIONS.test(m));
    expect(deletes.indexOf('DeleteSIPDispatchRule')).toBeLessThan(deletes.lastIndexOf('DeleteSIPTrunk'));
    expect(fake.inbound.size + fake.outbound.size + fake.rules.size).toBe(0);
  });

  it("surfaces LiveKit's refusal of a trunk that conflicts with a hand-made one", async () => {
    await client.createSipInboundTrunk('hand-made', ['+15550100001'], { allowedAddresses: ['198.51.100.0/24'] });
    await expect(syncSip(client, declaration())).rejects.toThrow(/LiveKit refused CreateSIPInboundTrunk "voice-agent-mid-inbound": Conflicting inbound SIP Trunks/);
  });

  it('uses the protocol enum values it claims', () => {
    expect(MEDIA_ENCRYPTION).toEqual({ disable: SIPMediaEncryption.SIP_MEDIA_ENCRYPT_DISABLE, allow: SIPMediaEncryption.SIP_MEDIA_ENCRYPT_ALLOW, require: SIPMediaEncryption.SIP_MEDIA_ENCRYPT_REQUIRE });
    expect(TRANSPORT).toEqual({ auto: SIPTransport.SIP_TRANSPORT_AUTO, udp: SIPTransport.SIP_TRANSPORT_UDP, tcp: SIPTransport.SIP_TRANSPORT_TCP, tls: SIPTransport.SIP_TRANSPORT_TLS });
  });
});

describe('the stand-in refuses what LiveKit refuses', () => {
  it('a token without the sip.admin grant, or signed with another secret', async () => {
    const token = new AccessToken(apiKey, apiSecret);
    token.addSIPGrant({ call: true });
    const callOnly = new SipClient(fake.url, undefined, undefined, { token: await token.toJwt() });
    await expect(callOnly.listSipInboundTrunk()).rejects.toMatchObject({ status: 401, code: 'unauthenticated' });
    await expect(new SipClient(fake.url, apiKey, 'another-secret-0123456789abcdef0123456').listSipDispatchRule()).rejects.toMatchObject({ status: 401 });
    expect(fake.authFailures).toBe(2);
  });

  it('a trunk with none of auth, allowed addresses or numbers', async () => {
    await expect(client.createSipInboundTrunk('open', [])).rejects.toMatchObject({ status: 400, message: expect.stringMatching(/for security, one of the fields must be set/) });
  });

  it('an outbound trunk without numbers, or with a SIP URI for an address', async () => {
    await expect(client.createSipOutboundTrunk('out', 'example.pstn.twilio.com', [])).rejects.toMatchObject({ message: 'no trunk numbers specified' });
    await expect(client.createSipOutboundTrunk('out', 'sip:example.pstn.twilio.com', ['+15550100001'])).rejects.toMatchObject({ message: expect.stringMatching(/not SIP URI/) });
  });

  it('a second rule on the same trunk, and a second wildcard rule', async () => {
    const trunk = await client.createSipInboundTrunk('t', ['+15550100001']);
    await client.createSipDispatchRule({ type: 'individual', roomPrefix: 'a' }, { trunkIds: [trunk.sipTrunkId] });
    await expect(client.createSipDispatchRule({ type: 'individual', roomPrefix: 'b' }, { trunkIds: [trunk.sipTrunkId] })).rejects.toMatchObject({ message: expect.stringMatching(/already exists in dispatch rule/) });
    // A wildcard rule collides only with other wildcards.
    await client.createSipDispatchRule({ type: 'individual', roomPrefix: 'c' });
    await expect(client.createSipDispatchRule({ type: 'individual', roomPrefix: 'd' })).rejects.toMatchObject({ status: 400 });
  });

  it('an update of a trunk that does not exist; a delete of one that does not exist passes', async () => {
    await expect(client.updateSipInboundTrunkFields('ST_missing', { name: 'x' })).rejects.toMatchObject({ status: 404, message: 'requested sip trunk does not exist' });
    await expect(client.deleteSipTrunk('ST_missing')).resolves.toMatchObject({ sipTrunkId: 'ST_missing' });
    await expect(client.deleteSipDispatchRule('SDR_missing')).rejects.toMatchObject({ status: 404 });
  });

  it('every SIP call while LiveKit has no Redis', async () => {
    fake.redisConnected = false;
    await expect(client.listSipInboundTrunk()).rejects.toMatchObject({ status: 500, message: 'sip not connected (redis required)' });
  });
});

describe('voice-agent sip-sync', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(async () => {
    await redis?.stop();
  });
  const env = () => ({ LIVEKIT_URL: fake.url, LIVEKIT_API_KEY: apiKey, LIVEKIT_API_SECRET: apiSecret, REDIS_URL: redis.url, SIP_DECLARATION: JSON.stringify(declaration()) });
  const io = () => {
    const out = { stdout: '', stderr: '' };
    return { out, io: { stdout: (t: string) => void (out.stdout += t), stderr: (t: string) => void (out.stderr += t) } };
  };

  it('two nodes at once leave one trunk and one rule (the lock), where unlocked they would race', async () => {
    // Unlocked: both requests pass validation before either stores, as on the real server.
    let waiting: Array<() => void> = [];
    fake.beforeStore = async (method) => {
      if (method !== 'CreateSIPInboundTrunk') return;
      await new Promise<void>((resolve) => {
        waiting.push(resolve);
        if (waiting.length === 2) for (const r of waiting.splice(0)) r();
        setTimeout(resolve, 10_000); // never hang the suite if only one request comes
      });
    };
    await Promise.allSettled([syncSip(client, declaration()), syncSip(client, declaration())]);
    expect(fake.inbound.size).toBe(2);

    fake.inbound.clear();
    fake.outbound.clear();
    fake.rules.clear();
    waiting = [];
    fake.beforeStore = undefined;
    fake.storeDelayMs = 200;
    const config = parseSipSyncConfig(env());
    const [a, b] = [io(), io()];
    const codes = await Promise.all([runSipSync(config, a.io, { json: true }), runSipSync(config, b.io, { json: true })]);
    expect(codes).toEqual([0, 0]);
    expect(fake.inbound.size).toBe(1);
    expect(fake.rules.size).toBe(1);
    expect(fake.outbound.size).toBe(1);
    const all = [a, b].flatMap((x) => (JSON.parse(x.out.stdout) as { actions: SyncAction[] }).actions.map((y) => y.action));
    expect(all.filter((x) => x === 'created')).toHaveLength(3);
    expect(all.filter((x) => x === 'unchanged')).toHaveLength(3);
  });

  it('waits for LiveKit to get its Redis, then syncs', async () => {
    fake.redisConnected = false;
    setTimeout(() => (fake.redisConnected = true), 400);
    const { out, io: sink } = io();
    const code = await runSipSync(parseSipSyncConfig(env()), sink, { json: false, retryBaseMs: 50 });
    expect(code).toBe(0);
    expect(out.stderr).toMatch(/waiting for LiveKit's SIP API \(sip not connected \(redis required\)\)/);
    expect(out.stdout).toMatch(/sip-sync: 3 created, 0 updated, 0 deleted, 0 unchanged/);
  });

  it('gives up after SIP_SYNC_WAIT_SECONDS when LiveKit never answers', async () => {
    fake.redisConnected = false;
    const { out, io: sink } = io();
    const code = await runSipSync(parseSipSyncConfig({ ...env(), SIP_SYNC_WAIT_SECONDS: '1' }), sink, { json: false, retryBaseMs: 50 });
    expect(code).toBe(1);
    expect(out.stderr).toMatch(/did not answer in time/);
  });

  it('the command: exit 0 with what it did; exit 2 naming a bad variable, never echoing a secret', async () => {
    const authDecl = JSON.stringify(declaration({ inboundTrunk: { ...declaration().inboundTrunk!, auth: true } }));
    // The refusals stop before LiveKit is asked anything: run them side by side (process start-up dominates).
    const [unused, missing, bad] = await Promise.all([
      runVoiceAgent(['sip-sync'], { ...env(), SIP_INBOUND_USERNAME: 'x' }),
      runVoiceAgent(['sip-sync'], { ...env(), SIP_DECLARATION: authDecl, SIP_INBOUND_USERNAME: 'stack-in' }),
      runVoiceAgent(['sip-sync'], { ...env(), SIP_DECLARATION: '{"version":1,"owner":"mid","dispatchRule":{"name":"r","type":"direct","roomPrefix":"x"}}' }),
    ]);
    expect(unused.code).toBe(2);
    expect(unused.stderr.trim()).toBe("voice-agent: SIP_INBOUND_USERNAME/SIP_INBOUND_PASSWORD are set but the declaration's inbound trunk does not use auth");
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^voice-agent: SIP_INBOUND_PASSWORD is required/);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^voice-agent: SIP_DECLARATION is invalid: dispatchRule\.type:/);
    const done = await runVoiceAgent(['sip-sync'], { ...env(), SIP_DECLARATION: authDecl, SIP_INBOUND_USERNAME: 'stack-in', SIP_INBOUND_PASSWORD: 'do-not-print-me' });
    expect(done.code).toBe(0);
    expect(done.stdout).toMatch(/^created\s+inbound-trunk\s+voice-agent-mid-inbound ST_/m);
    expect(`${done.stdout}${done.stderr}`).not.toContain('do-not-print-me');
    expect([...fake.inbound.values()][0]!.authPassword).toBe('do-not-print-me');
  });
});
