/**
 * Typed access to the call records and capacity bookkeeping in Redis (the Lua scripts in lua.ts).
 */
import type { Redis } from 'ioredis';
import { CALL_RECORD_TTL_SECONDS, callIdForSession, queueKeys, type CallState, type QueueKeys } from './keys.js';
import {
  ABORT_DISPATCH,
  ADMIT,
  BEGIN_DISPATCH,
  CLAIM_ROOM,
  DEAD_LETTER,
  FINISH,
  FINISH_GONE,
  LEAVE_LINE,
  MARK_DISPATCHED,
  REAP,
  REDRIVE,
  STATS,
} from './lua.js';

export type AdmitCode = 'admitted' | 'resume' | 'wait' | 'timeout' | 'finished' | 'dead' | 'expired' | 'duplicate';

export interface AdmitCandidate {
  callId: string;
  room: string;
  /** Intake time in microseconds: the call's place in the line. */
  receivedAtUs: number;
  /** Past CALL_MAX_WAIT_SECONDS: dead-letter it unless it already holds capacity. */
  late: boolean;
}

export interface AdmitResult {
  codes: AdmitCode[];
  capacity: number;
  active: number;
}

export type BeginDispatch =
  | { kind: 'go'; attempt: number }
  | { kind: 'done'; dispatchId: string }
  | { kind: 'busy'; msLeft: number }
  | { kind: 'gone'; state: string };

export interface FinishResult {
  callId: string;
  previousState: string;
  freedCapacity: boolean;
  /** A POST /v1/calls call of the room finished with the session. */
  apiCallId?: string;
}

/** A finished session with no call yet is remembered this long (a late participant_joined is not dispatched). */
export const TOMBSTONE_TTL_SECONDS = 3600;

export interface CapacityStats {
  active: number;
  line: number;
  capacity: number;
  /** receivedAtUs of the oldest call a dispatcher holds in the line, if any. */
  oldestLineUs?: number;
}

export class CallStore {
  readonly keys: QueueKeys;

  constructor(
    readonly redis: Redis,
    readonly prefix: string,
  ) {
    this.keys = queueKeys(prefix);
  }

  /** Fixed capacity as the script argument; -1 asks the script for the heartbeat sum. */
  private static capacityArg(fixed: number | undefined): number {
    return fixed ?? -1;
  }

  async admit(candidates: readonly AdmitCandidate[], fixedCapacity: number | undefined, lineStaleMs: number): Promise<AdmitResult> {
    const args: Array<string | number> = [this.prefix, CallStore.capacityArg(fixedCapacity), lineStaleMs, CALL_RECORD_TTL_SECONDS];
    for (const c of candidates) args.push(c.callId, String(c.receivedAtUs), c.room, c.late ? 1 : 0);
    const k = this.keys;
    const out = (await ADMIT.run(this.redis, [k.active, k.line, k.lineSeen, k.fleet, k.fleetExpiry], args)) as string[];
    const active = Number(out.pop());
    const capacity = Number(out.pop());
    return { codes: out as AdmitCode[], capacity, active };
  }

  async beginDispatch(callId: string, token: string, leaseMs: number): Promise<BeginDispatch> {
    const [kind, value] = (await BEGIN_DISPATCH.run(this.redis, [this.keys.active], [this.prefix, callId, token, leaseMs])) as [
      string,
      string,
    ];
    switch (kind) {
      case 'go':
        return { kind, attempt: Number(value) };
      case 'done':
        return { kind, dispatchId: value };
      case 'busy':
        return { kind, msLeft: Number(value) };
      default:
        return { kind: 'gone', state: value };
    }
  }

  /** Returns 'dispatched', or the state that won the race (e.g. 'finished'). Binds the room session when its sid is known. */
  async markDispatched(callId: string, dispatchId: string, roomSid = ''): Promise<string> {
    return (await MARK_DISPATCHED.run(this.redis, [this.keys.active], [this.prefix, callId, dispatchId, roomSid, CALL_RECORD_TTL_SECONDS])) as string;
  }

  async abortDispatch(callId: string, token: string): Promise<string> {
    return (await ABORT_DISPATCH.run(this.redis, [this.keys.active], [this.prefix, callId, token, this.keys.freedChannel])) as string;
  }

  /** room_finished of a room session. */
  async finish(room: string, sid: string): Promise<FinishResult> {
    const k = this.keys;
    const [callId, previousState, freed, apiCallId] = (await FINISH.run(
      this.redis,
      [k.active, k.line, k.lineSeen],
      [this.prefix, room, sid, callIdForSession(sid), CALL_RECORD_TTL_SECONDS, k.freedChannel, TOMBSTONE_TTL_SECONDS],
    )) as [string, string, string, string];
    const result: FinishResult = { callId, previousState, freedCapacity: freed === '1' };
    if (apiCallId) result.apiCallId = apiCallId;
    return result;
  }

  /** The sweep found the room of a dispatched call gone. Returns the previous state ('dispatched' when it was finished now). */
  async finishGone(callId: string): Promise<string> {
    return (await FINISH_GONE.run(this.redis, [this.keys.active], [this.prefix, callId, CALL_RECORD_TTL_SECONDS, this.keys.freedChannel])) as string;
  }

  /** 'new' when this call just became a dead letter; otherwise the state that prevented it. */
  async deadLetter(callId: string, reason: string): Promise<'new' | 'dead' | 'finished' | 'duplicate'> {
    const k = this.keys;
    return (await DEAD_LETTER.run(
      this.redis,
      [k.active, k.line, k.lineSeen],
      [this.prefix, callId, reason, CALL_RECORD_TTL_SECONDS, k.freedChannel],
    )) as 'new' | 'dead' | 'finished' | 'duplicate';
  }

  async markAlerted(callId: string): Promise<void> {
    await this.redis.hset(this.keys.call(callId), 'alertedAtMs', Date.now());
  }

  async redrive(callId: string): Promise<string> {
    return (await REDRIVE.run(this.redis, [], [this.prefix, callId])) as string;
  }

  async reap(maxCallMs: number, limit = 500): Promise<string[]> {
    return (await REAP.run(this.redis, [this.keys.active], [this.prefix, maxCallMs, this.keys.freedChannel, limit])) as string[];
  }

  async leaveLine(callIds: readonly string[]): Promise<void> {
    if (callIds.length === 0) return;
    await LEAVE_LINE.run(this.redis, [this.keys.line, this.keys.lineSeen], callIds);
  }

  async capacityStats(fixedCapacity: number | undefined): Promise<CapacityStats> {
    const k = this.keys;
    const [active, line, capacity, oldest] = (await STATS.run(
      this.redis,
      [k.active, k.line, k.fleet, k.fleetExpiry],
      [CallStore.capacityArg(fixedCapacity)],
    )) as [number, number, number, string];
    return { active, line, capacity, oldestLineUs: oldest === '' ? undefined : Number(oldest) };
  }

  async callRecord(callId: string): Promise<Partial<Record<string, string>> & { state?: CallState }> {
    return (await this.redis.hgetall(this.keys.call(callId))) as Partial<Record<string, string>> & { state?: CallState };
  }

  /** POST /v1/calls: claims the room name for callId unless a live call owns it; returns the owner (callId when claimed). */
  async claimRoom(room: string, callId: string): Promise<{ owner: string; isNew: boolean }> {
    const [owner, isNew] = (await CLAIM_ROOM.run(this.redis, [], [this.prefix, room, callId, CALL_RECORD_TTL_SECONDS])) as [string, string];
    return { owner, isNew: isNew === '1' };
  }

  async publishFreed(): Promise<void> {
    await this.redis.publish(this.keys.freedChannel, 'freed');
  }
}
