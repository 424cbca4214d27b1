/**
 * The two ways the escalation specialist hands a caller to a person: a SIP transfer to a
 * configured number (LiveKit SIP REFER via `SipClient.transferSipParticipant`), or, when no number
 * is configured or the transfer fails, a callback ticket for the team to call back.
 */
import type { Redis } from 'ioredis';
import { SipClient } from 'livekit-server-sdk';
import { randomUUID } from 'node:crypto';
import type { Logger } from '../log.js';

export interface HumanTransfer {
  /** Transfers the SIP participant out of the room to `transferTo` (tel: or sip: URI). */
  transfer(room: string, participantIdentity: string, transferTo: string): Promise<void>;
}

export interface SipTransferOptions {
  /** LiveKit API base URL and credentials (a key allowed to transfer SIP calls). */
  url: string;
  apiKey: string;
  apiSecret: string;
  /** How long the destination may ring before the transfer fails. */
  ringingTimeoutSeconds: number;
}

export class SipHumanTransfer implements HumanTransfer {
  private readonly client: SipClient;
  constructor(private readonly options: SipTransferOptions) {
    this.client = new SipClient(options.url, options.apiKey, options.apiSecret);
  }

  async transfer(room: string, participantIdentity: string, transferTo: string): Promise<void> {
    await this.client.transferSipParticipant(room, participantIdentity, transferTo, {
      playDialtone: true,
      ringingTimeout: this.options.ringingTimeoutSeconds,
    });
  }
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
