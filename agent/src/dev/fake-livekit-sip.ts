/**
 * An in-process stand-in for the LiveKit server's SIP Twirp API (`POST /twirp/livekit.SIP/<Method>`),
 * for tests: protojson bodies parsed and answered with @livekit/protocol's own messages, every
 * request's HS256 JWT verified (TokenVerifier) and its SIP grants checked, and the server's own
 * refusals copied from its source, each with the file it was read from:
 * - livekit/livekit pkg/service/sip.go (commit 788d4c3, v1.13.5+): handlers, what each checks,
 *   IDs generated after validation, DeleteSIPTrunk answering without a lookup;
 * - livekit/livekit pkg/service/auth.go: sip.admin / sip.call grants, twirpAuthError -> unauthenticated;
 * - livekit/livekit pkg/service/errors.go: "sip not connected (redis required)";
 * - livekit/protocol livekit/sip.go and sip/sip.go (commit 17c16cf, the server's pin): request
 *   validation, trunk number conflicts, dispatch rule key conflicts, list filters;
 * - livekit/protocol livekit/types.go: ListUpdate validation and application;
 * - livekit/protocol utils/guid: "ST_" / "SDR_" / "SCL_" + 12 characters of shortuuid's alphabet.
 * The SIP service behind the server (which dials and sends REFER) is simulated by `onDial` and
 * `onTransfer`. Strict by default; leniency is asked for by name.
 */
import {
  CreateSIPDispatchRuleRequest,
  CreateSIPInboundTrunkRequest,
  CreateSIPOutboundTrunkRequest,
  CreateSIPParticipantRequest,
  DeleteSIPDispatchRuleRequest,
  DeleteSIPTrunkRequest,
  GetSIPInboundTrunkRequest,
  GetSIPInboundTrunkResponse,
  GetSIPOutboundTrunkRequest,
  GetSIPOutboundTrunkResponse,
  ListSIPDispatchRuleRequest,
  ListSIPDispatchRuleResponse,
  ListSIPInboundTrunkRequest,
  ListSIPInboundTrunkResponse,
  ListSIPOutboundTrunkRequest,
  ListSIPOutboundTrunkResponse,
  type ListUpdate,
  SIPDispatchRuleInfo,
  SIPInboundTrunkInfo,
  SIPOutboundTrunkInfo,
  SIPParticipantInfo,
  SIPTrunkInfo,
  TransferSIPParticipantRequest,
  TransferSIPParticipantResponse,
  UpdateSIPDispatchRuleRequest,
  UpdateSIPInboundTrunkRequest,
  UpdateSIPOutboundTrunkRequest,
} from '@livekit/protocol';
import { randomInt } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ClaimGrants, TokenVerifier } from 'livekit-server-sdk';

/** Twirp error codes and their HTTP statuses (twitchtv/twirp errors.go ServerHTTPStatusFromErrorCode). */
const TWIRP_STATUS = {
  invalid_argument: 400,
  unauthenticated: 401,
  permission_denied: 403,
  not_found: 404,
  bad_route: 404,
  failed_precondition: 412,
  internal: 500,
  unavailable: 503,
} as const;
type TwirpCode = keyof typeof TWIRP_STATUS;

class TwirpError extends Error {
  constructor(
    readonly code: TwirpCode,
    message: string,
    readonly meta?: Record<string, string>,
  ) {
    super(message);
  }
}

/** shortuuid.DefaultAlphabet, which livekit/protocol utils/guid draws IDs from (12 characters). */
const ID_ALPHABET = '23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
export function livekitGuid(prefix: string): string {
  let id = prefix;
  for (let i = 0; i < 12; i++) id += ID_ALPHABET[randomInt(ID_ALPHABET.length)];
  return id;
}

/** A call the fake SIP service placed (CreateSIPParticipant) or transferred (TransferSIPParticipant). */
export interface FakeSipDial {
  trunkId: string;
  /** The number dialled (SipCallTo). */
  to: string;
  /** The number called from: SipNumber, or one of the trunk's numbers. */
  from: string;
  roomName: string;
  participantIdentity: string;
  waitUntilAnswered: boolean;
}

/** What the far end does with a call: answer, or fail with a SIP status. */
export type FakeSipOutcome = 'answer' | { sipStatus: number; reason: string };

export interface FakeTransfer {
  roomName: string;
  participantIdentity: string;
  transferTo: string;
  sipCallId: string;
}

export interface FakeLiveKitSipOptions {
  apiKey: string;
  apiSecret: string;
}

/** A SIP participant in a room (the caller of an inbound call, or a dialled person). */
export interface FakeSipParticipant {
  identity: string;
  attributes: Record<string, string>;
}

export class FakeLiveKitSip {
  readonly inbound = new Map<string, SIPInboundTrunkInfo>();
  readonly outbound = new Map<string, SIPOutboundTrunkInfo>();
  readonly rules = new Map<string, SIPDispatchRuleInfo>();
  /** Every request by method, in arrival order (refused ones included). */
  readonly calls: string[] = [];
  /** Calls the SIP service placed, and transfers it carried out. */
  readonly dials: FakeSipDial[] = [];
  readonly transfers: FakeTransfer[] = [];
  /** SIP participants per room (tests add callers; answered dials join). */
  readonly rooms = new Map<string, FakeSipParticipant[]>();
  /** Requests refused for a bad token or a missing grant. */
  authFailures = 0;
  /** false: LiveKit runs without Redis, so every SIP call fails (pkg/service/errors.go ErrSIPNotConnected). */
  redisConnected = true;
  /**
   * The real server validates against a list read from Redis and stores in a later round trip,
   * with nothing in between holding others off (sip.go: ValidateTrunksIter, then guid.New, then
   * StoreSIPInboundTrunk). This pause sits in that gap: two concurrent creates can both pass.
   */
  storeDelayMs = 0;
  /** Called in the same gap, for tests that need both requests inside it for certain. */
  beforeStore?: (method: string) => Promise<void>;
  /** What the far end does with a dial-out; default answers. */
  onDial: (dial: FakeSipDial) => FakeSipOutcome | Promise<FakeSipOutcome> = () => 'answer';
  /** What the provider does with a REFER; default accepts and completes it. */
  onTransfer: (transfer: FakeTransfer) => FakeSipOutcome | Promise<FakeSipOutcome> = () => 'answer';
  url = '';
  private readonly verifier: TokenVerifier;
  private server?: Server;

  constructor(private readonly options: FakeLiveKitSipOptions) {
    this.verifier = new TokenVerifier(options.apiKey, options.apiSecret);
  }

  async start(port = 0): Promise<this> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => this.sendError(res, err instanceof TwirpError ? err : new TwirpError('internal', String(err))));
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  /** Puts an inbound caller in a room, as the SIP service does (`sip.callID` is what a transfer needs). */
  addSipParticipant(room: string, participant: FakeSipParticipant): void {
    this.rooms.set(room, [...(this.rooms.get(room) ?? []), participant]);
  }

  /** How many times a method was called (refused calls included). */
  count(method: string): number {
    return this.calls.filter((m) => m === method).length;
  }

  private sendError(res: ServerResponse, err: TwirpError): void {
    if (res.headersSent) return;
    const body = JSON.stringify({ code: err.code, msg: err.message, ...(err.meta ? { meta: err.meta } : {}) });
    res.writeHead(TWIRP_STATUS[err.code], { 'content-type': 'application/json' }).end(body);
  }

  private async grants(req: IncomingMessage): Promise<ClaimGrants> {
    // pkg/service/auth.go APIKeyAuthMiddleware: "Bearer <JWT>" verified with the key's secret.
    const auth = req.headers.authorization ?? '';
    if (!auth.startsWith('Bearer ')) {
      this.authFailures++;
      throw new TwirpError('unauthenticated', 'permissions denied');
    }
    try {
      return await this.verifier.verify(auth.slice('Bearer '.length));
    } catch (err) {
      this.authFailures++;
      throw new TwirpError('unauthenticated', `invalid authorization token: ${String(err)}`);
    }
  }

  private requireAdmin(grants: ClaimGrants): void {
    // auth.go EnsureSIPAdminPermission; sip.go wraps it in twirpAuthError (unauthenticated).
    if (!grants.sip?.admin) {
      this.authFailures++;
      throw new TwirpError('unauthenticated', 'permissions denied');
    }
    if (!this.redisConnected) throw new TwirpError('internal', 'sip not connected (redis required)');
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const prefix = '/twirp/livekit.SIP/';
    const method = req.url?.startsWith(prefix) ? req.url.slice(prefix.length) : '';
    this.calls.push(method || (req.url ?? ''));
    if (req.method !== 'POST' || !method) throw new TwirpError('bad_route', `no handler for ${req.method} ${req.url}`);
    const chunks: Buffer[] = [];
    for await (const c of req as AsyncIterable<Buffer>) chunks.push(c);
    let body: unknown;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
    } catch {
      throw new TwirpError('invalid_argument', 'the json request could not be decoded');
    }
    const grants = await this.grants(req);
    // Twirp's JSON codec discards unknown fields (protojson DiscardUnknown).
    const opts = { ignoreUnknownFields: true };
    const answer = (message: { toJson(): unknown }) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(message.toJson()));
    };
    const json = body as never;
    switch (method) {
      case 'CreateSIPInboundTrunk':
        this.requireAdmin(grants);
        return answer(await this.createInbound(CreateSIPInboundTrunkRequest.fromJson(json, opts)));
      case 'CreateSIPOutboundTrunk':
        this.requireAdmin(grants);
        return answer(await this.createOutbound(CreateSIPOutboundTrunkRequest.fromJson(json, opts)));
      case 'UpdateSIPInboundTrunk':
        this.requireAdmin(grants);
        return answer(await this.updateInbound(UpdateSIPInboundTrunkRequest.fromJson(json, opts)));
      case 'UpdateSIPOutboundTrunk':
        this.requireAdmin(grants);
        return answer(await this.updateOutbound(UpdateSIPOutboundTrunkRequest.fromJson(json, opts)));
      case 'GetSIPInboundTrunk': {
        this.requireAdmin(grants);
        const { sipTrunkId } = GetSIPInboundTrunkRequest.fromJson(json, opts);
        if (!sipTrunkId) throw new TwirpError('invalid_argument', 'trunk ID is required');
        return answer(new GetSIPInboundTrunkResponse({ trunk: this.load(this.inbound, sipTrunkId, TRUNK_NOT_FOUND) }));
      }
      case 'GetSIPOutboundTrunk': {
        this.requireAdmin(grants);
        const { sipTrunkId } = GetSIPOutboundTrunkRequest.fromJson(json, opts);
        if (!sipTrunkId) throw new TwirpError('invalid_argument', 'trunk ID is required');
        return answer(new GetSIPOutboundTrunkResponse({ trunk: this.load(this.outbound, sipTrunkId, TRUNK_NOT_FOUND) }));
      }
      case 'ListSIPInboundTrunk': {
        this.requireAdmin(grants);
        const list = ListSIPInboundTrunkRequest.fromJson(json, opts);
        return answer(new ListSIPInboundTrunkResponse({ items: filterInbound([...this.inbound.values()], list.trunkIds, list.numbers) }));
      }
      case 'ListSIPOutboundTrunk': {
        this.requireAdmin(grants);
        const list = ListSIPOutboundTrunkRequest.fromJson(json, opts);
        const items = [...this.outbound.values()].filter(
          (t) => (list.trunkIds.length === 0 || list.trunkIds.includes(t.sipTrunkId)) && (list.numbers.length === 0 || t.numbers.length === 0 || t.numbers.some((n) => list.numbers.includes(n))),
        );
        return answer(new ListSIPOutboundTrunkResponse({ items }));
      }
      case 'DeleteSIPTrunk': {
        this.requireAdmin(grants);
        const { sipTrunkId } = DeleteSIPTrunkRequest.fromJson(json, opts);
        if (!sipTrunkId) throw new TwirpError('invalid_argument', 'trunk ID is required');
        // sip.go: the store's HDel on both hashes; a trunk that does not exist is not an error.
        this.inbound.delete(sipTrunkId);
        this.outbound.delete(sipTrunkId);
        return answer(new SIPTrunkInfo({ sipTrunkId }));
      }
      case 'CreateSIPDispatchRule':
        this.requireAdmin(grants);
        return answer(await this.createRule(CreateSIPDispatchRuleRequest.fromJson(json, opts)));
      case 'UpdateSIPDispatchRule':
        this.requireAdmin(grants);
        return answer(await this.updateRule(UpdateSIPDispatchRuleRequest.fromJson(json, opts)));
      case 'ListSIPDispatchRule': {
        this.requireAdmin(grants);
        const list = ListSIPDispatchRuleRequest.fromJson(json, opts);
        return answer(new ListSIPDispatchRuleResponse({ items: filterRules([...this.rules.values()], list.dispatchRuleIds, list.trunkIds) }));
      }
      case 'DeleteSIPDispatchRule': {
        this.requireAdmin(grants);
        const { sipDispatchRuleId } = DeleteSIPDispatchRuleRequest.fromJson(json, opts);
        if (!sipDispatchRuleId) throw new TwirpError('invalid_argument', 'dispatch rule ID is required');
        const rule = this.load(this.rules, sipDispatchRuleId, RULE_NOT_FOUND);
        this.rules.delete(sipDispatchRuleId);
        return answer(rule);
      }
      case 'CreateSIPParticipant':
        return answer(await this.createParticipant(grants, CreateSIPParticipantRequest.fromJson(json, opts)));
      case 'TransferSIPParticipant':
        return answer(await this.transfer(grants, TransferSIPParticipantRequest.fromJson(json, opts)));
      default:
        throw new TwirpError('bad_route', `no handler for path "${req.url}"`);
    }
  }

  /** The stored object (callers clone before changing it), or the store's not-found error. */
  private async pauseBeforeStore(method: string): Promise<void> {
    if (this.storeDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.storeDelayMs));
    await this.beforeStore?.(method);
  }

  private load<T>(store: Map<string, T>, id: string, notFound: string): T {
    const found = store.get(id);
    if (!found) throw new TwirpError('not_found', notFound);
    return found;
  }

  // sip.go CreateSIPInboundTrunk: validate the request, then all trunks sharing its numbers plus
  // the new one (sip.ValidateTrunksIter), and only then generate the ID and store.
  private async createInbound(req: CreateSIPInboundTrunkRequest): Promise<SIPInboundTrunkInfo> {
    const trunk = req.trunk;
    if (!trunk) throw new TwirpError('invalid_argument', 'missing trunk');
    if (trunk.sipTrunkId !== '') throw new TwirpError('invalid_argument', 'trunk id must not be set');
    validateInbound(trunk);
    validateTrunkSet([...filterInbound([...this.inbound.values()], [], trunk.numbers), trunk]);
    await this.pauseBeforeStore('CreateSIPInboundTrunk');
    trunk.sipTrunkId = livekitGuid('ST_');
    this.inbound.set(trunk.sipTrunkId, trunk.clone());
    return trunk;
  }

  // sip.go CreateSIPOutboundTrunk: "No additional validation needed for outbound."
  private async createOutbound(req: CreateSIPOutboundTrunkRequest): Promise<SIPOutboundTrunkInfo> {
    const trunk = req.trunk;
    if (!trunk) throw new TwirpError('invalid_argument', 'missing trunk');
    if (trunk.sipTrunkId !== '') throw new TwirpError('invalid_argument', 'trunk id must not be set');
    validateOutbound(trunk);
    await this.pauseBeforeStore('CreateSIPOutboundTrunk');
    trunk.sipTrunkId = livekitGuid('ST_');
    this.outbound.set(trunk.sipTrunkId, trunk.clone());
    return trunk;
  }

  private async updateInbound(req: UpdateSIPInboundTrunkRequest): Promise<SIPInboundTrunkInfo> {
    if (!req.sipTrunkId) throw new TwirpError('invalid_argument', 'trunk id must be set');
    const current = this.load(this.inbound, req.sipTrunkId, TRUNK_NOT_FOUND).clone();
    let next: SIPInboundTrunkInfo;
    switch (req.action.case) {
      case 'replace': {
        const replace = req.action.value;
        if (replace.sipTrunkId !== '' && replace.sipTrunkId !== req.sipTrunkId) {
          throw new TwirpError('invalid_argument', 'trunk id in the info must be empty or match the id in the update');
        }
        next = replace.clone();
        next.sipTrunkId = req.sipTrunkId;
        validateInbound(next);
        break;
      }
      case 'update': {
        const u = req.action.value;
        for (const list of [u.numbers, u.allowedAddresses, u.allowedNumbers]) validateListUpdate(list);
        next = current;
        next.numbers = applyListUpdate(next.numbers, u.numbers);
        next.allowedAddresses = applyListUpdate(next.allowedAddresses, u.allowedAddresses);
        next.allowedNumbers = applyListUpdate(next.allowedNumbers, u.allowedNumbers);
        if (u.authUsername !== undefined) next.authUsername = u.authUsername;
        if (u.authPassword !== undefined) next.authPassword = u.authPassword;
        if (u.authRealm !== undefined) next.authRealm = u.authRealm;
        if (u.name !== undefined) next.name = u.name;
        if (u.metadata !== undefined) next.metadata = u.metadata;
        if (u.mediaEncryption !== undefined) next.mediaEncryption = u.mediaEncryption;
        validateInbound(next);
        break;
      }
      default:
        // sip.go: errors.New("missing or unsupported action") is not a twirp error: internal.
        throw new TwirpError('internal', 'missing or unsupported action');
    }
    const others = filterInbound([...this.inbound.values()], [], next.numbers).map((t) => (t.sipTrunkId === next.sipTrunkId ? next : t));
    if (!others.includes(next)) others.push(next);
    validateTrunkSet(others);
    await this.pauseBeforeStore('UpdateSIPInboundTrunk');
    this.inbound.set(next.sipTrunkId, next.clone());
    return next;
  }

  private async updateOutbound(req: UpdateSIPOutboundTrunkRequest): Promise<SIPOutboundTrunkInfo> {
    if (!req.sipTrunkId) throw new TwirpError('invalid_argument', 'trunk id must be set');
    const current = this.load(this.outbound, req.sipTrunkId, TRUNK_NOT_FOUND).clone();
    let next: SIPOutboundTrunkInfo;
    switch (req.action.case) {
      case 'replace': {
        const replace = req.action.value;
        if (replace.sipTrunkId !== '' && replace.sipTrunkId !== req.sipTrunkId) {
          throw new TwirpError('invalid_argument', 'trunk id in the info must be empty or match the id in the update');
        }
        next = replace.clone();
        next.sipTrunkId = req.sipTrunkId;
        break;
      }
      case 'update': {
        const u = req.action.value;
        validateListUpdate(u.numbers);
        next = current;
        if (u.address !== undefined) next.address = u.address;
        if (u.transport !== undefined) next.transport = u.transport;
        next.numbers = applyListUpdate(next.numbers, u.numbers);
        if (u.authUsername !== undefined) next.authUsername = u.authUsername;
        if (u.authPassword !== undefined) next.authPassword = u.authPassword;
        if (u.name !== undefined) next.name = u.name;
        if (u.metadata !== undefined) next.metadata = u.metadata;
        if (u.mediaEncryption !== undefined) next.mediaEncryption = u.mediaEncryption;
        break;
      }
      default:
        throw new TwirpError('internal', 'missing or unsupported action');
    }
    validateOutbound(next);
    await this.pauseBeforeStore('UpdateSIPOutboundTrunk');
    this.outbound.set(next.sipTrunkId, next.clone());
    return next;
  }

  // sip.go CreateSIPDispatchRule: validate, then check the new rule against the rules on its
  // trunks (and the wildcard rules) with sip.ValidateDispatchRulesIter. The trunk IDs themselves
  // are not checked against the stored trunks.
  private async createRule(req: CreateSIPDispatchRuleRequest): Promise<SIPDispatchRuleInfo> {
    let info: SIPDispatchRuleInfo;
    if (req.dispatchRule) {
      if (req.dispatchRule.sipDispatchRuleId !== '') throw new TwirpError('invalid_argument', 'rule id must not be set');
      info = req.dispatchRule.clone();
    } else {
      info = new SIPDispatchRuleInfo({
        rule: req.rule,
        trunkIds: req.trunkIds,
        inboundNumbers: req.inboundNumbers,
        hidePhoneNumber: req.hidePhoneNumber,
        name: req.name,
        metadata: req.metadata,
        attributes: req.attributes,
        roomPreset: req.roomPreset,
        roomConfig: req.roomConfig,
      });
    }
    if (!info.rule || info.rule.rule.case === undefined) throw new TwirpError('invalid_argument', 'missing rule');
    validateRuleSet([...filterRules([...this.rules.values()], [], info.trunkIds), info]);
    await this.pauseBeforeStore('CreateSIPDispatchRule');
    info.sipDispatchRuleId = livekitGuid('SDR_');
    this.rules.set(info.sipDispatchRuleId, info.clone());
    return info;
  }

  private async updateRule(req: UpdateSIPDispatchRuleRequest): Promise<SIPDispatchRuleInfo> {
    if (!req.sipDispatchRuleId) throw new TwirpError('invalid_argument', 'rule id must be set');
    if (req.action.case === undefined) throw new TwirpError('invalid_argument', 'missing or unsupported update action');
    const current = this.load(this.rules, req.sipDispatchRuleId, RULE_NOT_FOUND).clone();
    let next: SIPDispatchRuleInfo;
    if (req.action.case === 'replace') {
      const replace = req.action.value;
      if (replace.sipDispatchRuleId !== '' && replace.sipDispatchRuleId !== req.sipDispatchRuleId) {
        throw new TwirpError('invalid_argument', 'rule id in the info must be empty or match the id in the update');
      }
      next = replace.clone();
      next.sipDispatchRuleId = req.sipDispatchRuleId;
    } else {
      const u = req.action.value;
      validateListUpdate(u.trunkIds);
      next = current;
      next.trunkIds = applyListUpdate(next.trunkIds, u.trunkIds);
      if (u.rule) next.rule = u.rule;
      if (u.name !== undefined) next.name = u.name;
      if (u.metadata !== undefined) next.metadata = u.metadata;
    }
    if (!next.rule || next.rule.rule.case === undefined) throw new TwirpError('invalid_argument', 'missing rule');
    const set = filterRules([...this.rules.values()], [], next.trunkIds).map((r) => (r.sipDispatchRuleId === next.sipDispatchRuleId ? next : r));
    if (!set.includes(next)) set.push(next);
    validateRuleSet(set);
    await this.pauseBeforeStore('UpdateSIPDispatchRule');
    this.rules.set(next.sipDispatchRuleId, next.clone());
    return next;
  }

  // sip.go CreateSIPParticipant / CreateSIPParticipantRequest and protocol rpc/sip.go: the sip.call
  // grant, request validation, the outbound trunk (404 if unknown), a number to call from; then
  // the SIP service dials (simulated by onDial).
  private async createParticipant(grants: ClaimGrants, req: CreateSIPParticipantRequest): Promise<SIPParticipantInfo> {
    if (!grants.sip?.call) {
      this.authFailures++;
      throw new TwirpError('unauthenticated', 'permissions denied');
    }
    if (!this.redisConnected) throw new TwirpError('internal', 'sip not connected (redis required)');
    if (req.sipTrunkId === '' && !req.trunk && req.sipNumber === '') throw new TwirpError('invalid_argument', 'missing sip trunk id and sip number');
    if (req.sipCallTo === '') throw new TwirpError('invalid_argument', 'missing sip callee number');
    if (req.sipCallTo.includes('@')) throw new TwirpError('invalid_argument', 'SipCallTo should be a phone number or SIP user, not a full SIP URI');
    if (req.roomName === '') throw new TwirpError('invalid_argument', 'missing room name');
    const trunk = req.sipTrunkId ? this.load(this.outbound, req.sipTrunkId, TRUNK_NOT_FOUND) : undefined;
    const from = req.sipNumber || trunk?.numbers[0];
    if (!from) throw new TwirpError('failed_precondition', 'no numbers on outbound trunk');
    const identity = req.participantIdentity;
    const dial: FakeSipDial = { trunkId: req.sipTrunkId, to: req.sipCallTo, from, roomName: req.roomName, participantIdentity: identity, waitUntilAnswered: req.waitUntilAnswered };
    this.dials.push(dial);
    const outcome = await this.onDial(dial);
    if (outcome !== 'answer') throw sipCallFailed(outcome);
    const sipCallId = livekitGuid('SCL_');
    this.addSipParticipant(req.roomName, { identity, attributes: { 'sip.callID': sipCallId, 'sip.trunkID': req.sipTrunkId, 'sip.phoneNumber': req.sipCallTo } });
    return new SIPParticipantInfo({ participantId: livekitGuid('PA_'), participantIdentity: identity, roomName: req.roomName, sipCallId });
  }

  // sip.go TransferSIPParticipant: room and identity required, sip.call and roomAdmin on the room,
  // the participant must carry a SIP call (its sip.callID attribute); then the SIP service sends
  // REFER (simulated by onTransfer) and hangs the caller up once the provider took it.
  private async transfer(grants: ClaimGrants, req: TransferSIPParticipantRequest): Promise<TransferSIPParticipantResponse> {
    if (req.roomName === '') throw new TwirpError('invalid_argument', 'Missing room name');
    if (req.participantIdentity === '') throw new TwirpError('invalid_argument', 'Missing participant identity');
    if (!grants.sip?.call || !grants.video?.roomAdmin || grants.video.room !== req.roomName) {
      this.authFailures++;
      throw new TwirpError('unauthenticated', 'permissions denied');
    }
    const participant = this.rooms.get(req.roomName)?.find((p) => p.identity === req.participantIdentity);
    if (!participant) throw new TwirpError('not_found', 'participant not found');
    const sipCallId = participant.attributes['sip.callID'];
    if (!sipCallId) throw new TwirpError('invalid_argument', 'no SIP session associated with participant');
    const transfer: FakeTransfer = { roomName: req.roomName, participantIdentity: req.participantIdentity, transferTo: req.transferTo, sipCallId };
    this.transfers.push(transfer);
    const outcome = await this.onTransfer(transfer);
    if (outcome !== 'answer') throw sipCallFailed(outcome);
    this.rooms.set(req.roomName, (this.rooms.get(req.roomName) ?? []).filter((p) => p !== participant));
    return new TransferSIPParticipantResponse({ transferId: livekitGuid('STR_') });
  }
}

const TRUNK_NOT_FOUND = 'requested sip trunk does not exist';
const RULE_NOT_FOUND = 'requested sip dispatch rule does not exist';

/** A failed call as the SDK reads it: twirp meta sip_status_code / sip_status (livekit-server-sdk SipCallError). */
function sipCallFailed(outcome: { sipStatus: number; reason: string }): TwirpError {
  return new TwirpError('unavailable', `sip call failed: ${outcome.sipStatus} ${outcome.reason}`, { sip_status_code: String(outcome.sipStatus), sip_status: outcome.reason });
}

// protocol livekit/sip.go SIPInboundTrunkInfo.ValidateResult.
function validateInbound(t: SIPInboundTrunkInfo): void {
  const hasAuth = t.authUsername !== '' || t.authPassword !== '';
  if (!hasAuth && t.allowedAddresses.length === 0 && t.numbers.length === 0) {
    throw new TwirpError('invalid_argument', 'for security, one of the fields must be set: AuthUsername+AuthPassword, AllowedAddresses or Numbers');
  }
}

// protocol livekit/sip.go SIPOutboundTrunkInfo.ValidateResult and validateHostnameFormat.
function validateOutbound(t: SIPOutboundTrunkInfo): void {
  if (t.numbers.length === 0) throw new TwirpError('invalid_argument', 'no trunk numbers specified');
  if (t.address === '') throw new TwirpError('invalid_argument', 'no outbound address specified');
  if (t.address.includes('transport=')) throw new TwirpError('invalid_argument', 'trunk address should not contain transport parameter');
  if (/[@;]/.test(t.address) || t.address.startsWith('sip:') || t.address.startsWith('sips:')) {
    throw new TwirpError('invalid_argument', 'trunk address should be a hostname or IP, not SIP URI');
  }
}

// protocol livekit/types.go ListUpdate.Validate.
function validateListUpdate(u: ListUpdate | undefined): void {
  if (!u) return;
  const change = u.set.length + u.add.length + u.remove.length > 0;
  if (!u.clear && !change) throw new TwirpError('invalid_argument', 'unsupported list update operation');
  if (u.clear && change) throw new TwirpError('invalid_argument', 'cannot clear and change the list at the same time');
  if (u.set.length > 0 && u.add.length + u.remove.length > 0) throw new TwirpError('invalid_argument', 'cannot set and change the list at the same time');
  if ([...u.set, ...u.add, ...u.remove].includes('')) throw new TwirpError('invalid_argument', 'empty element in the list');
}

// protocol livekit/types.go applyListUpdate.
function applyListUpdate(list: string[], u: ListUpdate | undefined): string[] {
  if (!u) return list;
  if (u.clear) return [];
  if (u.set.length > 0) return [...u.set];
  const out = list.filter((v) => !u.remove.includes(v));
  for (const v of u.add) if (!out.includes(v)) out.push(v);
  return out;
}

/** protocol livekit/sip.go NormalizeNumber: strips " -()" and adds "+" to number-like strings. */
export function normalizeNumber(num: string): string {
  if (num === '' || !/^\+?[\d\- ()]+$/.test(num)) return num;
  const digits = num.replace(/[ \-()]/g, '');
  return digits.startsWith('+') ? digits : `+${digits}`;
}

// protocol livekit/sip.go ListSIPInboundTrunkRequest.Filter: trunks without numbers always match a
// numbers filter.
function filterInbound(trunks: SIPInboundTrunkInfo[], trunkIds: string[], numbers: string[]): SIPInboundTrunkInfo[] {
  return trunks.filter((t) => {
    if (trunkIds.length > 0 && !trunkIds.includes(t.sipTrunkId)) return false;
    if (numbers.length > 0 && t.numbers.length > 0) {
      const wanted = new Set(numbers.map(normalizeNumber));
      if (!t.numbers.some((n) => wanted.has(normalizeNumber(n)))) return false;
    }
    return true;
  });
}

// protocol livekit/sip.go ListSIPDispatchRuleRequest.Filter: rules without trunkIds (wildcards)
// always match a trunk filter.
function filterRules(rules: SIPDispatchRuleInfo[], ruleIds: string[], trunkIds: string[]): SIPDispatchRuleInfo[] {
  return rules.filter((r) => {
    if (ruleIds.length > 0 && !ruleIds.includes(r.sipDispatchRuleId)) return false;
    if (trunkIds.length > 0 && r.trunkIds.length > 0 && !r.trunkIds.some((id) => trunkIds.includes(id))) return false;
    return true;
  });
}

const printId = (id: string) => (id === '' ? '<new>' : id);

// protocol sip/sip.go ValidateTrunksIter / validateTrunkInbound: per called number (or "" for a
// trunk without numbers), at most one trunk without AllowedNumbers, and one per allowed number.
function validateTrunkSet(trunks: SIPInboundTrunkInfo[]): void {
  const byNumber = new Map<string, Map<string, SIPInboundTrunkInfo>>();
  for (const t of trunks) {
    const keys = t.numbers.length === 0 ? [''] : [...new Set(t.numbers.map(normalizeNumber))];
    for (const key of keys) {
      const byInbound = byNumber.get(key) ?? new Map<string, SIPInboundTrunkInfo>();
      byNumber.set(key, byInbound);
      if (t.allowedNumbers.length === 0) {
        const other = byInbound.get('');
        if (other && other.sipTrunkId !== t.sipTrunkId) {
          throw new TwirpError(
            'invalid_argument',
            `Conflicting inbound SIP Trunks: "${printId(t.sipTrunkId)}" and "${printId(other.sipTrunkId)}", using the same number(s) ${t.numbers.length === 0 ? '<any>' : JSON.stringify(t.numbers)} without AllowedNumbers set`,
          );
        }
        byInbound.set('', t);
      } else {
        for (const allowed of new Set(t.allowedNumbers.map(normalizeNumber))) {
          const other = byInbound.get(allowed);
          if (other && other.sipTrunkId !== t.sipTrunkId) {
            throw new TwirpError('invalid_argument', `Conflicting inbound SIP Trunks: "${printId(t.sipTrunkId)}" and "${printId(other.sipTrunkId)}", using the same number(s) and AllowedNumber "${allowed}"`);
          }
          byInbound.set(allowed, t);
        }
      }
    }
  }
}

// protocol sip/sip.go DispatchRuleValidator.Validate: one rule per (pin, trunk, inbound number,
// number); a rule without trunkIds is keyed on trunk "" (it collides only with other wildcards).
function validateRuleSet(rules: SIPDispatchRuleInfo[]): void {
  const seen = new Map<string, SIPDispatchRuleInfo>();
  for (const r of rules) {
    const rule = r.rule?.rule;
    const pin = rule?.case === undefined ? '' : rule.value.pin;
    const trunks = r.trunkIds.length === 0 ? [''] : r.trunkIds;
    const inbound = r.inboundNumbers.length === 0 ? [''] : r.inboundNumbers;
    const numbers = r.numbers.length === 0 ? [''] : r.numbers;
    for (const trunk of trunks) {
      for (const inboundNumber of inbound) {
        for (const number of numbers) {
          const key = JSON.stringify([pin, trunk, normalizeNumber(inboundNumber), normalizeNumber(number)]);
          const other = seen.get(key);
          if (other && other !== r) {
            throw new TwirpError(
              'invalid_argument',
              `Dispatch rule for the same trunk, inbound number, number, and PIN combination already exists in dispatch rule "${printId(other.sipDispatchRuleId)}" "${other.name || '<blank name>'}"`,
            );
          }
          seen.set(key, r);
        }
      }
    }
  }
}
