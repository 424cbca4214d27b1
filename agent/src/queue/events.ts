/**
 * What a verified LiveKit webhook means for the queue. Pure.
 */
import { MAX_ROOM_NAME_LENGTH } from './keys.js';

/** ParticipantInfo_Kind.SIP in @livekit/protocol (the SDK does not re-export the enum). */
export const PARTICIPANT_KIND_SIP = 3;

/** The fields of livekit-server-sdk's WebhookEvent that classification reads. */
export interface WebhookEventLike {
  event: string;
  room?: { name: string; sid: string };
  participant?: { kind: number; identity: string };
}

/** A room session: the name can repeat, the sid never does (present in every LiveKit webhook). */
export interface SessionRef {
  room: string;
  sid: string;
}

export type WebhookAction =
  | ({ kind: 'call'; participantIdentity: string } & SessionRef)
  | ({ kind: 'finish' } & SessionRef)
  | { kind: 'ignore'; reason: string };

/** LiveKit sids are short ASCII (RM_ + base62); bound what we store. */
const SID = /^[A-Za-z0-9_-]{1,64}$/;

export function classifyWebhook(event: WebhookEventLike): WebhookAction {
  const room = event.room?.name ?? '';
  const sid = event.room?.sid ?? '';
  if (event.event !== 'participant_joined' && event.event !== 'room_finished') {
    return { kind: 'ignore', reason: `event ${event.event || '(none)'} is not used by the queue` };
  }
  if (room === '' || room.length > MAX_ROOM_NAME_LENGTH) {
    return { kind: 'ignore', reason: 'no usable room name' };
  }
  if (!SID.test(sid)) return { kind: 'ignore', reason: 'no usable room sid' };
  if (event.event === 'room_finished') return { kind: 'finish', room, sid };
  // Only a phone caller makes a call; agents and web participants joining are not new calls.
  if (event.participant?.kind !== PARTICIPANT_KIND_SIP) {
    return { kind: 'ignore', reason: 'participant is not a SIP caller' };
  }
  return { kind: 'call', room, sid, participantIdentity: event.participant.identity };
}
