/**
 * The one idempotent way a room session's call enters the queue: from the intake (the
 * participant_joined webhook) and from the recovery sweep (a caller whose webhook LiveKit gave
 * up on). The call id is derived from the room sid, so a second delivery, or the sweep and a
 * late webhook racing, add nothing.
 */
import type { CallPolicy } from '../config.js';
import type { CallSource } from '../telemetry/metrics.js';
import type { CallStore } from './call-store.js';
import { callJobOptions, nowUs, type CallJobData, type CallQueues } from './jobs.js';
import { CALL_RECORD_TTL_SECONDS, callIdForSession } from './keys.js';

export interface SessionCall {
  room: string;
  sid: string;
  participantIdentity: string;
  source: CallSource;
}

/** Stores the call; isNew is false when this session's call was already stored. */
export async function enqueueSessionCall(store: CallStore, queues: CallQueues, policy: CallPolicy, call: SessionCall): Promise<{ callId: string; isNew: boolean }> {
  const callId = callIdForSession(call.sid);
  const data: CallJobData = { callId, room: call.room, roomSid: call.sid, source: call.source, receivedAtUs: nowUs(), participantIdentity: call.participantIdentity };
  // Both writes are idempotent; sent together they cost one round trip. The session key says
  // whether this is the first delivery (BullMQ's add does not).
  const [claimed] = await Promise.all([
    store.redis.set(store.keys.session(call.sid), callId, 'EX', CALL_RECORD_TTL_SECONDS, 'NX'),
    queues.calls.add('call', data, callJobOptions(policy, callId)),
  ]);
  return { callId, isNew: claimed === 'OK' };
}
