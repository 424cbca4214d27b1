/**
 * Makes LiveKit's SIP objects match a declaration (issue 9): the inbound trunk, the dispatch rule
 * scoped to it, the outbound trunk. Idempotent: a second run with the same declaration changes
 * nothing. Only objects whose metadata names the declaration's owner are touched; each kind is
 * matched by name, updated in place (its ID survives, so the rule's trunkIds and the agent's
 * transfers keep working), and the owner's objects the declaration no longer names are deleted.
 *
 * LiveKit generates IDs (ST_..., SDR_...) and checks for conflicts at create and update time
 * (livekit/livekit pkg/service/sip.go), so the order matters: leftovers go before the object they
 * could conflict with is changed, and the rule is written after the trunk it points to exists.
 */
import type { SIPMediaEncryption, SIPTransport } from '@livekit/protocol';
import { sipOwnerMetadata, sipOwnerOf, type SipDeclaration, type SipMediaEncryptionName } from '@voice-agent-infra/common';
import {
  RoomAgentDispatch,
  RoomConfiguration,
  SIPDispatchRule,
  SIPDispatchRuleCallee,
  SIPDispatchRuleIndividual,
  SIPDispatchRuleInfo,
  SIPInboundTrunkInfo,
  SIPOutboundTrunkInfo,
  type SipClient,
} from 'livekit-server-sdk';

/** livekit/protocol SIPMediaEncryption values (livekit_sip.proto; a test holds them to the enum). */
export const MEDIA_ENCRYPTION: Readonly<Record<SipMediaEncryptionName, number>> = { disable: 0, allow: 1, require: 2 };
/** livekit/protocol SIPTransport values (livekit_sip.proto; a test holds them to the enum). */
export const TRANSPORT: Readonly<Record<'auto' | 'udp' | 'tcp' | 'tls', number>> = { auto: 0, udp: 1, tcp: 2, tls: 3 };

/** The SipClient calls the sync makes (the SDK's own client in production). */
export type SipApi = Pick<
  SipClient,
  | 'listSipInboundTrunk'
  | 'listSipOutboundTrunk'
  | 'listSipDispatchRule'
  | 'createSipInboundTrunk'
  | 'createSipOutboundTrunk'
  | 'createSipDispatchRule'
  | 'updateSipInboundTrunk'
  | 'updateSipOutboundTrunk'
  | 'updateSipDispatchRule'
  | 'deleteSipTrunk'
  | 'deleteSipDispatchRule'
>;

export interface SipCredential {
  username: string;
  password: string;
}

/** Credentials the declaration's `auth: true` trunks use (from sip-sync's environment). */
export interface SipCredentials {
  inbound?: SipCredential;
  outbound?: SipCredential;
}

export type SipObjectKind = 'inbound-trunk' | 'outbound-trunk' | 'dispatch-rule';

export interface SyncAction {
  kind: SipObjectKind;
  name: string;
  id: string;
  action: 'created' | 'updated' | 'deleted' | 'unchanged';
}

/** LiveKit refused a change: which one, and LiveKit's words. */
export class SipSyncError extends Error {
  constructor(
    readonly operation: string,
    readonly objectName: string,
    readonly reason: unknown,
  ) {
    super(`LiveKit refused ${operation} "${objectName}": ${reason instanceof Error ? reason.message : String(reason)}`);
    this.name = 'SipSyncError';
  }
}

async function attempt<T>(operation: string, objectName: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw new SipSyncError(operation, objectName, err);
  }
}

const sorted = (list: readonly string[]) => [...list].sort();
const sameList = (a: readonly string[], b: readonly string[]) => JSON.stringify(sorted(a)) === JSON.stringify(sorted(b));

/** The owner's objects of one kind: one to keep (by name, else a leftover adopted and renamed), and the rest. */
function pick<T extends { name: string }>(owned: T[], name: string | undefined, idOf: (t: T) => string): { keep?: T; rest: T[] } {
  const byId = [...owned].sort((a, b) => idOf(a).localeCompare(idOf(b)));
  if (name === undefined) return { rest: byId };
  const keep = byId.find((o) => o.name === name) ?? byId[0];
  return { keep, rest: byId.filter((o) => o !== keep) };
}

export async function syncSip(api: SipApi, declaration: SipDeclaration, credentials: SipCredentials = {}): Promise<SyncAction[]> {
  const { owner } = declaration;
  const metadata = sipOwnerMetadata(owner);
  const actions: SyncAction[] = [];
  const mine = <T extends { metadata: string }>(items: T[]) => items.filter((item) => sipOwnerOf(item.metadata) === owner);
  const [inboundAll, outboundAll, rulesAll] = await Promise.all([
    attempt('ListSIPInboundTrunk', owner, () => api.listSipInboundTrunk()),
    attempt('ListSIPOutboundTrunk', owner, () => api.listSipOutboundTrunk()),
    attempt('ListSIPDispatchRule', owner, () => api.listSipDispatchRule()),
  ]);

  // Outbound trunk: independent of the rest.
  {
    const want = declaration.outboundTrunk;
    const { keep, rest } = pick(mine(outboundAll), want?.name, (t) => t.sipTrunkId);
    for (const t of rest) {
      await attempt('DeleteSIPTrunk', t.name, () => api.deleteSipTrunk(t.sipTrunkId));
      actions.push({ kind: 'outbound-trunk', name: t.name, id: t.sipTrunkId, action: 'deleted' });
    }
    if (want) {
      const login = want.auth ? requireCredential(credentials.outbound, 'outbound', want.name) : undefined;
      const desired = new SIPOutboundTrunkInfo({
        name: want.name,
        metadata,
        address: want.address,
        numbers: [...want.numbers],
        transport: TRANSPORT[want.transport] as SIPTransport,
        authUsername: login?.username ?? '',
        authPassword: login?.password ?? '',
        mediaEncryption: MEDIA_ENCRYPTION[want.mediaEncryption] as SIPMediaEncryption,
      });
      if (!keep) {
        const created = await attempt('CreateSIPOutboundTrunk', want.name, () =>
          api.createSipOutboundTrunk(desired.name, desired.address, desired.numbers, {
            metadata,
            transport: desired.transport,
            authUsername: desired.authUsername,
            authPassword: desired.authPassword,
            mediaEncryption: desired.mediaEncryption,
          }),
        );
        actions.push({ kind: 'outbound-trunk', name: want.name, id: created.sipTrunkId, action: 'created' });
      } else if (outboundMatches(keep, desired)) {
        actions.push({ kind: 'outbound-trunk', name: want.name, id: keep.sipTrunkId, action: 'unchanged' });
      } else {
        await attempt('UpdateSIPOutboundTrunk', want.name, () => api.updateSipOutboundTrunk(keep.sipTrunkId, desired));
        actions.push({ kind: 'outbound-trunk', name: want.name, id: keep.sipTrunkId, action: 'updated' });
      }
    }
  }

  const wantTrunk = declaration.inboundTrunk;
  const wantRule = declaration.dispatchRule;
  const inbound = pick(mine(inboundAll), wantTrunk?.name, (t) => t.sipTrunkId);
  const rules = pick(mine(rulesAll), wantRule?.name, (r) => r.sipDispatchRuleId);

  if (!wantTrunk || !wantRule) {
    // SIP is off: the rule first (it points at the trunk), then the trunk.
    for (const r of rules.rest) {
      await attempt('DeleteSIPDispatchRule', r.name, () => api.deleteSipDispatchRule(r.sipDispatchRuleId));
      actions.push({ kind: 'dispatch-rule', name: r.name, id: r.sipDispatchRuleId, action: 'deleted' });
    }
    for (const t of inbound.rest) {
      await attempt('DeleteSIPTrunk', t.name, () => api.deleteSipTrunk(t.sipTrunkId));
      actions.push({ kind: 'inbound-trunk', name: t.name, id: t.sipTrunkId, action: 'deleted' });
    }
    return actions;
  }

  // Inbound trunk. Leftovers go first: a second trunk on the same numbers would make LiveKit
  // refuse the update (protocol sip/sip.go ValidateTrunksIter).
  for (const t of inbound.rest) {
    await attempt('DeleteSIPTrunk', t.name, () => api.deleteSipTrunk(t.sipTrunkId));
    actions.push({ kind: 'inbound-trunk', name: t.name, id: t.sipTrunkId, action: 'deleted' });
  }
  const login = wantTrunk.auth ? requireCredential(credentials.inbound, 'inbound', wantTrunk.name) : undefined;
  const desiredTrunk = new SIPInboundTrunkInfo({
    name: wantTrunk.name,
    metadata,
    numbers: [...wantTrunk.numbers],
    allowedAddresses: [...wantTrunk.allowedAddresses],
    authUsername: login?.username ?? '',
    authPassword: login?.password ?? '',
    mediaEncryption: MEDIA_ENCRYPTION[wantTrunk.mediaEncryption] as SIPMediaEncryption,
  });
  let trunkId: string;
  const keepTrunk = inbound.keep;
  if (!keepTrunk) {
    const created = await attempt('CreateSIPInboundTrunk', wantTrunk.name, () =>
      api.createSipInboundTrunk(desiredTrunk.name, desiredTrunk.numbers, {
        metadata,
        allowedAddresses: desiredTrunk.allowedAddresses,
        authUsername: desiredTrunk.authUsername,
        authPassword: desiredTrunk.authPassword,
        mediaEncryption: desiredTrunk.mediaEncryption,
      }),
    );
    trunkId = created.sipTrunkId;
    actions.push({ kind: 'inbound-trunk', name: wantTrunk.name, id: trunkId, action: 'created' });
  } else {
    trunkId = keepTrunk.sipTrunkId;
    if (inboundMatches(keepTrunk, desiredTrunk)) {
      actions.push({ kind: 'inbound-trunk', name: wantTrunk.name, id: trunkId, action: 'unchanged' });
    } else {
      await attempt('UpdateSIPInboundTrunk', wantTrunk.name, () => api.updateSipInboundTrunk(trunkId, desiredTrunk));
      actions.push({ kind: 'inbound-trunk', name: wantTrunk.name, id: trunkId, action: 'updated' });
    }
  }
  if (!trunkId) throw new SipSyncError('CreateSIPInboundTrunk', wantTrunk.name, new Error('LiveKit returned no trunk ID'));

  // Dispatch rule: always scoped to the trunk (a rule without trunkIds applies to every trunk,
  // and to calls no trunk matched). In queue mode its room config dispatches no agent: the
  // dispatcher does, when the fleet has room.
  for (const r of rules.rest) {
    await attempt('DeleteSIPDispatchRule', r.name, () => api.deleteSipDispatchRule(r.sipDispatchRuleId));
    actions.push({ kind: 'dispatch-rule', name: r.name, id: r.sipDispatchRuleId, action: 'deleted' });
  }
  const ruleBody =
    wantRule.type === 'individual'
      ? new SIPDispatchRule({ rule: { case: 'dispatchRuleIndividual', value: new SIPDispatchRuleIndividual({ roomPrefix: wantRule.roomPrefix }) } })
      : new SIPDispatchRule({ rule: { case: 'dispatchRuleCallee', value: new SIPDispatchRuleCallee({ roomPrefix: wantRule.roomPrefix, randomize: true }) } });
  const roomConfig = wantRule.agentName ? new RoomConfiguration({ agents: [new RoomAgentDispatch({ agentName: wantRule.agentName })] }) : undefined;
  const desiredRule = new SIPDispatchRuleInfo({ name: wantRule.name, metadata, rule: ruleBody, trunkIds: [trunkId], ...(roomConfig ? { roomConfig } : {}) });
  const keepRule = rules.keep;
  if (!keepRule) {
    const created = await attempt('CreateSIPDispatchRule', wantRule.name, () =>
      api.createSipDispatchRule(
        wantRule.type === 'individual' ? { type: 'individual', roomPrefix: wantRule.roomPrefix } : { type: 'callee', roomPrefix: wantRule.roomPrefix, randomize: true },
        { name: wantRule.name, metadata, trunkIds: [trunkId], ...(roomConfig ? { roomConfig } : {}) },
      ),
    );
    actions.push({ kind: 'dispatch-rule', name: wantRule.name, id: created.sipDispatchRuleId, action: 'created' });
  } else if (ruleMatches(keepRule, desiredRule)) {
    actions.push({ kind: 'dispatch-rule', name: wantRule.name, id: keepRule.sipDispatchRuleId, action: 'unchanged' });
  } else {
    await attempt('UpdateSIPDispatchRule', wantRule.name, () => api.updateSipDispatchRule(keepRule.sipDispatchRuleId, desiredRule));
    actions.push({ kind: 'dispatch-rule', name: wantRule.name, id: keepRule.sipDispatchRuleId, action: 'updated' });
  }
  return actions;
}

function requireCredential(credential: SipCredential | undefined, which: 'inbound' | 'outbound', trunk: string): SipCredential {
  if (!credential) throw new SipSyncError(which === 'inbound' ? 'CreateSIPInboundTrunk' : 'CreateSIPOutboundTrunk', trunk, new Error(`the declaration asks for ${which} auth but no ${which} credentials were given`));
  return credential;
}

/** The fields the stack manages; anything else set by hand on an owned trunk is reset by an update. */
export function inboundMatches(existing: SIPInboundTrunkInfo, desired: SIPInboundTrunkInfo): boolean {
  return (
    existing.name === desired.name &&
    existing.metadata === desired.metadata &&
    sameList(existing.numbers, desired.numbers) &&
    sameList(existing.allowedAddresses, desired.allowedAddresses) &&
    existing.allowedNumbers.length === 0 &&
    existing.authUsername === desired.authUsername &&
    existing.authPassword === desired.authPassword &&
    existing.mediaEncryption === desired.mediaEncryption
  );
}

export function outboundMatches(existing: SIPOutboundTrunkInfo, desired: SIPOutboundTrunkInfo): boolean {
  return (
    existing.name === desired.name &&
    existing.metadata === desired.metadata &&
    existing.address === desired.address &&
    sameList(existing.numbers, desired.numbers) &&
    existing.transport === desired.transport &&
    existing.authUsername === desired.authUsername &&
    existing.authPassword === desired.authPassword &&
    existing.mediaEncryption === desired.mediaEncryption
  );
}

export function ruleMatches(existing: SIPDispatchRuleInfo, desired: SIPDispatchRuleInfo): boolean {
  const shape = (r: SIPDispatchRuleInfo) => ({
    name: r.name,
    metadata: r.metadata,
    trunkIds: sorted(r.trunkIds),
    rule: r.rule?.toJson() ?? null,
    hidePhoneNumber: r.hidePhoneNumber,
    inboundNumbers: r.inboundNumbers,
    numbers: r.numbers,
    agents: (r.roomConfig?.agents ?? []).map((a) => a.agentName),
  });
  return JSON.stringify(shape(existing)) === JSON.stringify(shape(desired));
}
