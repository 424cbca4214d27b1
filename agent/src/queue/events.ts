/**
 * What a verified LiveKit webhook means for the queue. Pure.
 */
import { MAX_ROOM_NAME_LENGTH } from './keys.js';

/** ParticipantInfo_Kind.SIP in @livekit/protocol (the SDK does not re-export the enum). */
export const PARTICIPANT_KIND_SIP = 3;

/** The fields of livekit-server-sdk's WebhookEvent that classification reads. */
export interface WebhookEventLike {
  event: string;
  room?: { name: string };
  participant?: { kind: number; identity: string };
}

export type WebhookAction =
  | { kind: 'call'; room: string; participantIdentity: string }
  | { kind: 'finish'; room: string }
  | { kind: 'ignore'; reason: string };

export function classifyWebhook(event: WebhookEventLike): WebhookAction {
  const room = event.room?.name ?? '';
  if (event.event !== 'participant_joined' && event.event !== 'room_finished') {
    return { kind: 'ignore', reason: `event ${event.event || '(none)'} is not used by the queue` };
  }
  if (room === '' || room.length > MAX_ROOM_NAME_LENGTH) {
    return { kind: 'ignore', reason: 'no usable room name' };
  }
  if (event.event === 'room_finished') return { kind: 'finish', room };
  // Only a phone caller makes a call; agents and web participants joining are not new calls.
  if (event.participant?.kind !== PARTICIPANT_KIND_SIP) {
    return { kind: 'ignore', reason: 'participant is not a SIP caller' };
  }
  return { kind: 'call', room, participantIdentity: event.participant.identity };
}
