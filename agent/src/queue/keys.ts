/**
 * Names in Redis and call ids. Pure.
 *
 * Every key starts with the queue prefix, a Redis Cluster hash tag such as `{voice-queue}`, so
 * the BullMQ queues and our own keys share one slot and the Lua scripts stay single-slot.
 */
import { createHash } from 'node:crypto';

export const DEFAULT_QUEUE_PREFIX = '{voice-queue}';

/** BullMQ queue holding one job per call until it is dispatched. */
export const CALLS_QUEUE = 'calls';
/** BullMQ queue holding dead-lettered calls; nothing consumes it but the operator. */
export const DEAD_LETTER_QUEUE = 'dead-letters';

/** Room claims and call records outlive the call this long, so late webhook retries stay duplicates. */
export const CALL_RECORD_TTL_SECONDS = 7 * 24 * 3600;

export interface QueueKeys {
  /** ZSET callId -> admittedAtMs: calls holding fleet capacity (admitted, dispatching, on a call). */
  active: string;
  /** ZSET callId -> receivedAtUs: calls a dispatcher holds that wait for capacity (the FCFS line). */
  line: string;
  /** HASH callId -> ms of the last time a dispatcher vouched for its line entry. */
  lineSeen: string;
  /** HASH workerId -> capacity sessions (agent heartbeats). */
  fleet: string;
  /** ZSET workerId -> expiresAtMs (heartbeat TTL). */
  fleetExpiry: string;
  /** Pub/sub channel: capacity was freed or grew; waiting dispatchers retry admission. */
  freedChannel: string;
  /** HASH per call: state, room, timestamps, dispatch lease. */
  call(callId: string): string;
  /** STRING room -> callId: the first call claiming a room owns it (one call per room). */
  room(room: string): string;
}

export function queueKeys(prefix: string): QueueKeys {
  return {
    active: `${prefix}:active`,
    line: `${prefix}:line`,
    lineSeen: `${prefix}:line-seen`,
    fleet: `${prefix}:fleet`,
    fleetExpiry: `${prefix}:fleet-expiry`,
    freedChannel: `${prefix}:freed`,
    call: (callId) => `${prefix}:call:${callId}`,
    room: (room) => `${prefix}:room:${room}`,
  };
}

const CALL_ID = /^[A-Za-z0-9][A-Za-z0-9._~%+-]{0,199}$/;

/**
 * A caller-supplied call id is usable as a BullMQ job id: no ':' (BullMQ builds keys with it),
 * not all digits (BullMQ reserves integer ids), at most 200 characters.
 */
export function isValidCallId(callId: string): boolean {
  return CALL_ID.test(callId) && !/^\d+$/.test(callId);
}

/**
 * The call id of a room: readable (`room-` + the URI-encoded name, so ':' becomes %3A) and
 * deterministic, so every delivery of a webhook for the room lands on the same BullMQ job id.
 */
export function callIdForRoom(room: string): string {
  const encoded = encodeURIComponent(room);
  if (encoded.length <= 190) return `room-${encoded}`;
  return `room-h${createHash('sha256').update(room).digest('hex').slice(0, 40)}`;
}

/** Room names LiveKit accepts are short; bound what we store. */
export const MAX_ROOM_NAME_LENGTH = 256;

/** The states a call record goes through (HASH field `state`). */
export type CallState =
  | 'admitted' // holds capacity, not yet dispatched
  | 'dispatching' // CreateDispatch in flight under a lease
  | 'dispatched' // an agent is dispatched; holds capacity until room_finished
  | 'waiting' // a dispatch attempt failed; waiting for its retry
  | 'finished' // room_finished seen: over, capacity freed
  | 'dead' // dead-lettered
  | 'expired' // released by the maximum call duration safety net
  | 'duplicate'; // another call already owns the room
