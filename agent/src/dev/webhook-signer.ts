/**
 * Signs webhooks exactly as the LiveKit server does (livekit/protocol webhook notifier): a JWT,
 * HS256 with the API secret, issuer = API key, valid 5 minutes, claim sha256 = base64(SHA-256 of
 * the raw body), sent as the Authorization header. For tests and the bench; never used in
 * production code paths.
 */
import { createHash } from 'node:crypto';
import { AccessToken } from 'livekit-server-sdk';

export interface SignOptions {
  apiKey: string;
  apiSecret: string;
  /** Token lifetime; LiveKit uses 5m. A negative span ('-1m') makes an expired token. */
  ttl?: string;
  /** Sign this body's hash instead of the one sent (a body-hash mismatch). */
  signedBody?: string;
}

export function bodySha256(body: string): string {
  return createHash('sha256').update(body).digest('base64');
}

export async function signWebhook(body: string, options: SignOptions): Promise<string> {
  const token = new AccessToken(options.apiKey, options.apiSecret, { ttl: options.ttl ?? '5m' });
  token.sha256 = bodySha256(options.signedBody ?? body);
  return token.toJwt();
}

let seq = 0;

/** The sid webhookBody gives a room when none is given: one session per room name. */
export function defaultRoomSid(room: string): string {
  return `RM_${createHash('sha256').update(room).digest('hex').slice(0, 12)}`;
}

/**
 * A protojson WebhookEvent body, as LiveKit sends it (camelCase fields, enums by name). For tests
 * that post webhooks by hand; the fake LiveKit sends its own.
 */
export function webhookBody(
  event: 'participant_joined' | 'room_finished' | 'room_started',
  room: string,
  participant?: { kind?: string; identity?: string },
  sid = defaultRoomSid(room),
): string {
  seq++;
  const body: Record<string, unknown> = {
    event,
    room: { sid, name: room, emptyTimeout: 300, creationTime: '1700000000' },
    id: `EV_${process.pid}_${seq}`,
    createdAt: String(Math.floor(Date.now() / 1000)),
  };
  if (event === 'participant_joined') {
    body.participant = {
      sid: `PA_${seq}`,
      identity: participant?.identity ?? `sip_${room}`,
      state: 'ACTIVE',
      kind: participant?.kind ?? 'SIP',
      joinedAt: String(Math.floor(Date.now() / 1000)),
    };
  }
  return JSON.stringify(body);
}
