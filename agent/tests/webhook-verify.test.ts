/**
 * The intake verifies webhooks with TokenVerifier and node:crypto instead of WebhookReceiver
 * (which hashes through WebCrypto, ~100 us a call). Its verdict must be WebhookReceiver's on
 * every request: random valid webhooks, and ones with the wrong key, the wrong secret, a tampered
 * body, an expired token, a token not yet valid, no sha256 claim, no Authorization.
 */
import { randomBytes } from 'node:crypto';
import { AccessToken, WebhookReceiver } from 'livekit-server-sdk';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bodySha256, signWebhook, webhookBody } from '../src/dev/webhook-signer.js';
import { WebhookAuthError, WebhookBodyError, WebhookVerifier } from '../src/queue/webhook-verify.js';
import { API_KEY, API_SECRET, Harness } from './helpers/harness.js';
import { startRoles, type InProcessRoles } from './helpers/roles.js';

type Verdict = 'accepted' | 'rejected';

/** A small seeded generator, so a failure names a case that can be replayed. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

const KINDS = ['valid', 'wrong-key', 'wrong-secret', 'tampered-body', 'expired', 'not-yet-valid', 'no-sha256', 'no-header', 'edge-expiry'] as const;
type Kind = (typeof KINDS)[number];

interface Case {
  kind: Kind;
  body: string;
  auth: string | undefined;
}

/** Tokens minted with jose directly, for claims the SDK's AccessToken does not let us set. */
async function rawToken(claims: Record<string, unknown>, secret = API_SECRET): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(secret));
}

async function makeCase(kind: Kind, random: () => number): Promise<Case> {
  const room = `room-${Math.floor(random() * 1e6)}-${'ü'.repeat(Math.floor(random() * 3))}`;
  const events = ['participant_joined', 'room_finished', 'room_started'] as const;
  const body = webhookBody(events[Math.floor(random() * events.length)]!, room, { kind: random() < 0.5 ? 'SIP' : 'AGENT' }, `RM_${randomBytes(6).toString('hex')}`);
  const now = Math.floor(Date.now() / 1000);
  switch (kind) {
    case 'valid':
      return { kind, body, auth: await signWebhook(body, { apiKey: API_KEY, apiSecret: API_SECRET }) };
    case 'wrong-key':
      return { kind, body, auth: await signWebhook(body, { apiKey: `APIother${Math.floor(random() * 100)}`, apiSecret: API_SECRET }) };
    case 'wrong-secret':
      return { kind, body, auth: await signWebhook(body, { apiKey: API_KEY, apiSecret: randomBytes(24).toString('hex') }) };
    case 'tampered-body': {
      const auth = await signWebhook(body, { apiKey: API_KEY, apiSecret: API_SECRET });
      const tampered = random() < 0.5 ? body.replace(room, `${room}x`) : `${body} `;
      return { kind, body: tampered, auth };
    }
    case 'expired':
      // Past LiveKit's 10 s clock tolerance (edge-expiry covers the line itself).
      return { kind, body, auth: await signWebhook(body, { apiKey: API_KEY, apiSecret: API_SECRET, ttl: `-${11 + Math.floor(random() * 600)}s` }) };
    case 'not-yet-valid':
      return { kind, body, auth: await rawToken({ iss: API_KEY, nbf: now + 60 + Math.floor(random() * 600), exp: now + 3600, sha256: bodySha256(body) }) };
    case 'no-sha256': {
      const token = new AccessToken(API_KEY, API_SECRET, { ttl: '5m' });
      return { kind, body, auth: await token.toJwt() };
    }
    case 'no-header':
      return { kind, body, auth: random() < 0.5 ? undefined : '' };
    case 'edge-expiry':
      // Within and beyond LiveKit's clock tolerance (10 s): both verifiers must draw the line at the same place.
      // Seconds 8-11 are left out: a second ticking between the two verifications could move them across.
      return { kind, body, auth: await rawToken({ iss: API_KEY, exp: now - [0, 3, 5, 7, 12, 15, 20, 29][Math.floor(random() * 8)]!, sha256: bodySha256(body) }) };
  }
}

async function verdictOf(fn: () => Promise<unknown>): Promise<Verdict> {
  try {
    await fn();
    return 'accepted';
  } catch {
    return 'rejected';
  }
}

describe('webhook verification equals WebhookReceiver', () => {
  const receiver = new WebhookReceiver(API_KEY, API_SECRET);
  const verifier = new WebhookVerifier(API_KEY, API_SECRET);

  it('the same verdict, and the same event, on 900 random webhooks of every kind', async () => {
    const random = rng(0x5eed);
    const seen = new Map<Kind, Record<Verdict, number>>();
    for (let i = 0; i < 900; i++) {
      const kind = KINDS[i % KINDS.length]!;
      const c = await makeCase(kind, random);
      const expected = await verdictOf(() => receiver.receive(c.body, c.auth));
      const actual = await verdictOf(() => verifier.receive(c.body, c.auth));
      expect({ i, kind, verdict: actual }).toEqual({ i, kind, verdict: expected });
      if (expected === 'accepted') {
        expect((await verifier.receive(c.body, c.auth)).toJson()).toEqual((await receiver.receive(c.body, c.auth)).toJson());
      }
      const counts = seen.get(kind) ?? { accepted: 0, rejected: 0 };
      counts[actual]++;
      seen.set(kind, counts);
    }
    // Every kind was really exercised: valid ones pass, the broken ones fail.
    expect(seen.get('valid')).toEqual({ accepted: 100, rejected: 0 });
    for (const kind of ['wrong-key', 'wrong-secret', 'tampered-body', 'expired', 'not-yet-valid', 'no-sha256', 'no-header'] as const) {
      expect(seen.get(kind)).toEqual({ accepted: 0, rejected: 100 });
    }
    const edge = seen.get('edge-expiry')!;
    expect(edge.accepted).toBeGreaterThan(0);
    expect(edge.rejected).toBeGreaterThan(0);
  });

  it('tells a bad signature (401) from a correctly signed body that is not an event (400)', async () => {
    for (const body of ['not json {', '[1,2]', '"text"']) {
      const auth = await signWebhook(body, { apiKey: API_KEY, apiSecret: API_SECRET });
      await expect(verifier.receive(body, auth)).rejects.toBeInstanceOf(WebhookBodyError);
      await expect(receiver.receive(body, auth)).rejects.toThrow();
    }
    const body = webhookBody('room_finished', 'r');
    await expect(verifier.receive(body, await signWebhook(body, { apiKey: API_KEY, apiSecret: 'nope-nope-nope-nope-nope' }))).rejects.toBeInstanceOf(WebhookAuthError);
  });
});

describe('the intake answers as WebhookReceiver decides', () => {
  let h: Harness;
  let roles: InProcessRoles;
  beforeAll(async () => {
    h = await new Harness().start();
    roles = await startRoles(h, { FLEET_CAPACITY: '0' }, 0);
  });
  afterAll(async () => {
    await roles?.close();
    await h?.close();
  });

  it('200 exactly when WebhookReceiver accepts, 401 otherwise, on random webhooks over HTTP', async () => {
    const receiver = new WebhookReceiver(API_KEY, API_SECRET);
    const random = rng(0xabc);
    for (let i = 0; i < 90; i++) {
      const c = await makeCase(KINDS[i % KINDS.length]!, random);
      const expected = await verdictOf(() => receiver.receive(c.body, c.auth));
      const res = await h.postWebhook(roles.intake.url, c.body, c.auth ?? '');
      expect({ i, kind: c.kind, status: res.status }).toEqual({ i, kind: c.kind, status: expected === 'accepted' ? 200 : 401 });
    }
  });
});
