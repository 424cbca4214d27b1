/**
 * One holder at a time across the LiveKit nodes (large: every node runs sip-sync at boot). LiveKit
 * checks trunk conflicts and then stores, not atomically (livekit/livekit pkg/service/sip.go), so
 * two nodes creating the same trunk at once could both succeed and leave two trunks on the same
 * numbers, which LiveKit then refuses to route. The lock is the usual single-instance Redis lock:
 * SET key token NX PX ttl, renewed while held, released only by its holder (compare and delete).
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

const RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";
const RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end";

export class LockTimeoutError extends Error {
  constructor(key: string, waitMs: number) {
    super(`another sip-sync held ${key} for more than ${Math.round(waitMs / 1000)} s`);
    this.name = 'LockTimeoutError';
  }
}

export interface LockOptions {
  /** How long the lock lives without renewal (a crashed holder frees it after this). */
  ttlMs: number;
  /** How long to wait for another holder before giving up. */
  waitMs: number;
  /** Pause between attempts while another holder has it. */
  retryMs?: number;
}

/** Runs fn while holding the lock `key`; waits for another holder up to waitMs. */
export async function withRedisLock<T>(redis: Redis, key: string, options: LockOptions, fn: () => Promise<T>): Promise<T> {
  const token = randomUUID();
  const deadline = Date.now() + options.waitMs;
  for (;;) {
    const taken = await redis.set(key, token, 'PX', options.ttlMs, 'NX');
    if (taken === 'OK') break;
    if (Date.now() >= deadline) throw new LockTimeoutError(key, options.waitMs);
    await new Promise((resolve) => setTimeout(resolve, options.retryMs ?? 250));
  }
  // Renew at a third of the TTL, so a slow LiveKit cannot let the lock lapse mid-sync.
  const renew = setInterval(() => void redis.eval(RENEW, 1, key, token, String(options.ttlMs)).catch(() => undefined), Math.max(50, Math.floor(options.ttlMs / 3)));
  try {
    return await fn();
  } finally {
    clearInterval(renew);
    await redis.eval(RELEASE, 1, key, token).catch(() => undefined);
  }
}
