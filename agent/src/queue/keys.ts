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
  /** HASH per call: state, room, room sid, timestamps, dispatch lease. */
  call(callId: string): string;
  /** STRING room name -> callId of the POST /v1/calls call that claimed it (409 for another id while it lives). */
  room(room: string): string;
  /** STRING room sid -> callId: the call of a room session (webhook calls, and API calls once dispatched). */
  session(sid: string): string;
  /** STRING: held by the dispatcher running the recovery sweep this round. */
  sweepLock: string;
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
    session: (sid) => `${prefix}:session:${sid}`,
    sweepLock: `${prefix}:sweep-lock`,
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
 * The call id of a POST /v1/calls call given without one: readable (`room-` + the URI-encoded
 * name, so ':' becomes %3A) and deterministic, so a retried POST lands on the same BullMQ job id.
 */
export function callIdForRoom(room: string): string {
  const encoded = encodeURIComponent(room);
  if (encoded.length <= 190) return `room-${encoded}`;
  return `room-h${createHash('sha256').update(room).digest('hex').slice(0, 40)}`;
}

/**
 * The call id of a room session (a LiveKit webhook call): one call per `room.sid`, which LiveKit
 * puts in every webhook. Room names repeat (SIP dispatch rules `direct`, `callee`, `individual`
 * with no_randomness reuse them); sids never do. Deterministic, so every delivery of the session's
 * webhook lands on the same BullMQ job id.
 */
export function callIdForSession(sid: string): string {
  return `session-${encodeURIComponent(sid).slice(0, 180)}`;
}

/** Room names LiveKit accepts are short; bound what we store. */
export const MAX_ROOM_NAME_LENGTH = 256;

/** The states a call record goes through (HASH field `state`). */
export type CallState =
  | 'admitted' // holds capacity, not yet dispatched
  | 'dispatching' // LiveKit asked, CreateDispatch and the confirmation in flight under a lease
  | 'dispatched' // an agent took the call (a job, or the agent in the room); holds capacity until room_finished
  | 'waiting' // a dispatch attempt failed; waiting for its retry
  | 'finished' // room_finished seen: over, capacity freed
  | 'dead' // dead-lettered
  | 'expired' // released by the maximum call duration safety net
  | 'duplicate'; // another call already owns the room
