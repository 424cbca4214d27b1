/**
 * The ways the escalation specialist hands a caller to a person: a SIP transfer to a configured
 * number, or, when no number is configured or the transfer fails, a callback ticket for the team
 * to call back. The transfer goes one of two ways (livekit/sip v1.11.0 pkg/sip/inbound.go,
 * livekit/livekit pkg/service/sip.go):
 * - dial out on the stack's outbound trunk (`escalation.outboundTrunk` names it): LiveKit calls
 *   the person (`CreateSIPParticipant`, waiting until answered) into the caller's room, then the
 *   agent leaves. Works with any trunk that places calls; the caller stays with the agent until a
 *   person answers, so an unanswered transfer ends in a callback offer, not in silence. The rest of
 *   the call runs through the stack (both legs billed by the provider).
 * - cold transfer (no outbound trunk named): SIP REFER to the caller's provider
 *   (`TransferSIPParticipant`); the provider connects the caller itself and LiveKit hangs up its
 *   leg. Needs the provider's REFER support (Twilio: "Call Transfer" and "PSTN Transfer" on the
 *   trunk); once the provider accepts, the stack has no say if nobody answers.
 */
import type { Redis } from 'ioredis';
import { ServerError, SipClient } from 'livekit-server-sdk';
import { randomUUID } from 'node:crypto';
import type { Logger } from '../log.js';

/** How a transfer went through: the caller was handed to the provider, or a person joined the room. */
export type TransferResult = { via: 'refer' } | { via: 'outbound-trunk'; participantIdentity: string };

export interface HumanTransfer {
  /**
   * Connects the caller (the SIP participant) with `transferTo` (tel: or sip: URI); resolves once
   * a person has the call. With `via: 'outbound-trunk'` the person is in the room and the agent
   * must leave it; otherwise (REFER, or nothing said) the caller has left the room.
   */
  transfer(room: string, participantIdentity: string, transferTo: string): Promise<TransferResult | void>;
}

export interface SipTransferOptions {
  /** LiveKit API base URL and credentials (a key allowed to transfer SIP calls). */
  url: string;
  apiKey: string;
  apiSecret: string;
  /** How long the destination may ring before the transfer fails. */
  ringingTimeoutSeconds: number;
  /**
   * Name of the stack's outbound trunk (sip.outbound; the agent spec's escalation.outboundTrunk):
   * set, the transfer dials the person out on it; unset, it is a cold transfer by REFER.
   */
  outboundTrunk?: string;
}

/** Identity of the person a transfer dials into the room. */
export const TRANSFER_PARTICIPANT_IDENTITY = 'human-transfer';

export class SipHumanTransfer implements HumanTransfer {
  private readonly client: SipClient;
  private trunkId?: string;
  constructor(private readonly options: SipTransferOptions) {
    this.client = new SipClient(options.url, options.apiKey, options.apiSecret);
  }

  async transfer(room: string, participantIdentity: string, transferTo: string): Promise<TransferResult> {
    if (this.options.outboundTrunk === undefined) {
      await this.client.transferSipParticipant(room, participantIdentity, transferTo, {
        playDialtone: true,
        ringingTimeout: this.options.ringingTimeoutSeconds,
      });
      return { via: 'refer' };
    }
    const number = dialNumber(transferTo);
    const dial = async (trunkId: string) =>
      this.client.createSipParticipant(trunkId, number, room, {
        participantIdentity: TRANSFER_PARTICIPANT_IDENTITY,
        participantName: 'Staff',
        // Resolve when the person answers (or fail with their SIP status), not when it starts ringing.
        waitUntilAnswered: true,
        ringingTimeout: this.options.ringingTimeoutSeconds,
        // The caller hears ringing meanwhile.
        playDialtone: true,
      });
    try {
      await dial(await this.outboundTrunkId());
    } catch (err) {
      // sip-sync may have replaced the trunk since it was looked up: look it up once more.
      if (!(err instanceof ServerError) || err.status !== 404) throw err;
      this.trunkId = undefined;
      await dial(await this.outboundTrunkId());
    }
    return { via: 'outbound-trunk', participantIdentity: TRANSFER_PARTICIPANT_IDENTITY };
  }

  /** The outbound trunk's ID, by name (IDs are LiveKit's; the stack declares names). */
  private async outboundTrunkId(): Promise<string> {
    if (this.trunkId) return this.trunkId;
    const name = this.options.outboundTrunk!;
    const trunk = (await this.client.listSipOutboundTrunk()).find((t) => t.name === name);
    if (!trunk) throw new Error(`no outbound SIP trunk named "${name}" in LiveKit (sip-sync creates it from sip.outbound)`);
    this.trunkId = trunk.sipTrunkId;
    return trunk.sipTrunkId;
  }
}

/** The number a trunk dials: tel:+1555... or +1 (555) ... become +1555...; a sip: URI cannot go out on a trunk. */
export function dialNumber(transferTo: string): string {
  const target = transferTo.trim().replace(/^tel:/i, '').replace(/[\s().-]/g, '');
  if (!/^\+[1-9]\d{6,14}$/.test(target)) {
    throw new Error(`a transfer on the outbound trunk dials an E.164 number, not "${transferTo}"`);
  }
  return target;
}

/** A number as LiveKit's transfer wants it: E.164 becomes tel:+..., URIs pass through. */
export function transferUri(target: string): string {
  const trimmed = target.trim();
  if (/^(tel|sip|sips):/i.test(trimmed)) return trimmed;
  return `tel:${trimmed.replace(/[\s().-]/g, '')}`;
}

export interface CallbackTicket {
  ticketId: string;
  callId: string;
  room: string;
  /** Number to call back, as the caller gave it. */
  phone: string;
  preferredTime: string;
  summary: string;
  createdAt: string;
}

export interface CallbackStore {
  create(ticket: Omit<CallbackTicket, 'ticketId' | 'createdAt'>): Promise<CallbackTicket>;
}

/** Redis stream the team's tooling reads callback tickets from. */
export const CALLBACKS_STREAM = 'calls:callbacks';

function newTicket(ticket: Omit<CallbackTicket, 'ticketId' | 'createdAt'>): CallbackTicket {
  return { ...ticket, ticketId: `CB-${randomUUID().slice(0, 8)}`, createdAt: new Date().toISOString() };
}

/** Tickets appended to a capped Redis stream (XADD MAXLEN ~), one JSON field per entry. */
export class RedisCallbackStore implements CallbackStore {
  constructor(
    private readonly redis: Redis,
    private readonly maxLength = 100_000,
  ) {}

  async create(input: Omit<CallbackTicket, 'ticketId' | 'createdAt'>): Promise<CallbackTicket> {
    const ticket = newTicket(input);
    await this.redis.xadd(CALLBACKS_STREAM, 'MAXLEN', '~', String(this.maxLength), '*', 'ticketId', ticket.ticketId, 'ticket', JSON.stringify(ticket));
    return ticket;
  }
}

/** Without Redis the ticket is a structured log line (collected with the container logs). */
export class LogCallbackStore implements CallbackStore {
  constructor(private readonly log: Logger) {}

  async create(input: Omit<CallbackTicket, 'ticketId' | 'createdAt'>): Promise<CallbackTicket> {
    const ticket = newTicket(input);
    this.log.info('callback ticket', { ticket });
    return ticket;
  }
}
