/**
 * What the recovery sweep does, decided from what LiveKit and Redis say. Pure.
 *
 * LiveKit gives up on a webhook after about 15 s of retries and drops events queued longer than
 * 30 s (livekit/protocol webhook/resource_url_notifier.go), so an intake or Redis outage longer
 * than that loses participant_joined (a caller waits in silence, no call on record) or
 * room_finished (a call holds capacity until the maximum call duration). The sweep compares
 * LiveKit's rooms with the queue's records and fixes both.
 */
import { callerParticipants, PARTICIPANT_KIND_AGENT, type RoomDispatch, type RoomParticipant, type RoomSession } from './livekit.js';

export interface WaitingCaller {
  room: string;
  sid: string;
  participantIdentity: string;
}

/**
 * Room sessions with a phone caller who joined more than graceMs ago and no agent participant:
 * candidates for a lost participant_joined (the queue's records and the dispatches decide).
 */
export function callersWithoutAgent(rooms: readonly RoomSession[], participants: ReadonlyMap<string, readonly RoomParticipant[]>, nowMs: number, graceMs: number): WaitingCaller[] {
  const out: WaitingCaller[] = [];
  for (const room of rooms) {
    const list = participants.get(room.name) ?? [];
    if (list.some((p) => p.kind === PARTICIPANT_KIND_AGENT)) continue;
    const caller = callerParticipants(list)
      .filter((p) => nowMs - p.joinedAtMs >= graceMs)
      .sort((a, b) => a.joinedAtMs - b.joinedAtMs)[0];
    if (caller) out.push({ room: room.name, sid: room.sid, participantIdentity: caller.identity });
  }
  return out;
}

/**
 * A dispatch of our agent that is alive: it has a job, or it is younger than the confirmation
 * window (its job may still be on the way). An older one without a job never gets one (OSS
 * LiveKit has no job restart).
 */
export function hasLiveDispatch(dispatches: readonly RoomDispatch[], agentName: string, nowMs: number, confirmMs: number): boolean {
  return dispatches.some((d) => d.agentName === agentName && (d.jobCount > 0 || nowMs - d.createdAtMs < confirmMs));
}

export interface ActiveCall {
  callId: string;
  room: string;
  /** The room session it was dispatched to, when known. */
  sid?: string;
  state: string;
  dispatchedAtMs?: number;
}

/**
 * Dispatched calls whose room session is gone: dispatched before the room list was taken, and
 * the room is not in it, or it is there with another sid (the session ended, a new one began).
 */
export function callsWithRoomGone(calls: readonly ActiveCall[], rooms: readonly RoomSession[], listedAtMs: number): string[] {
  const sidByName = new Map(rooms.map((r) => [r.name, r.sid]));
  return calls
    .filter((c) => c.state === 'dispatched' && c.dispatchedAtMs !== undefined && c.dispatchedAtMs < listedAtMs)
    .filter((c) => {
      const sid = sidByName.get(c.room);
      return sid === undefined || (c.sid !== undefined && c.sid !== sid);
    })
    .map((c) => c.callId);
}
