/**
 * `voice-agent sip-sync`: run on a LiveKit node (at boot and whenever the stack's declaration
 * changes), it waits for LiveKit's SIP API, takes the Redis lock, and reconciles the stack's SIP
 * objects. What it did goes to stdout (one line per object, or JSON with --json), progress to
 * stderr. Exit 0 done, 1 LiveKit unreachable or refusing, Redis unreachable, or the lock held too
 * long (bad environment: 2, from main).
 */
import { Redis } from 'ioredis';
import { ServerError, SipClient } from 'livekit-server-sdk';
import { errorMessage } from '../log.js';
import { redactRedisUrl } from '../redis.js';
import type { SipSyncConfig } from './config.js';
import { LockTimeoutError, withRedisLock } from './lock.js';
import { SipSyncError, syncSip, type SyncAction } from './sync.js';

export interface SipSyncIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

export interface SipSyncOptions {
  json: boolean;
  /** First retry pause while LiveKit is not up yet; doubles to at most 5 s. */
  retryBaseMs?: number;
  /** The lock's time to live (renewed while held); default 60 s. */
  lockTtlMs?: number;
}

/** Retry while LiveKit is starting: no answer, or a 5xx ("sip not connected (redis required)" included). A 4xx is an answer. */
function retryable(err: unknown): boolean {
  return !(err instanceof ServerError) || (err.status ?? 0) >= 500;
}

async function waitForSipApi(client: SipClient, deadlineMs: number, retryBaseMs: number, io: SipSyncIo): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await client.listSipInboundTrunk();
      return;
    } catch (err) {
      if (!retryable(err)) throw err;
      if (Date.now() >= deadlineMs) throw new Error(`LiveKit's SIP API did not answer in time: ${errorMessage(err)}`);
      if (attempt === 0 || attempt % 10 === 0) io.stderr(`sip-sync: waiting for LiveKit's SIP API (${errorMessage(err)})\n`);
      await new Promise((resolve) => setTimeout(resolve, Math.min(5000, retryBaseMs * 2 ** attempt)));
    }
  }
}

export function formatActions(actions: readonly SyncAction[]): string {
  const lines = actions.map((a) => `${a.action.padEnd(9)} ${a.kind.padEnd(14)} ${a.name} ${a.id}`);
  const count = (action: SyncAction['action']) => actions.filter((a) => a.action === action).length;
  lines.push(`sip-sync: ${count('created')} created, ${count('updated')} updated, ${count('deleted')} deleted, ${count('unchanged')} unchanged`);
  return `${lines.join('\n')}\n`;
}

export async function runSipSync(config: SipSyncConfig, io: SipSyncIo, options: SipSyncOptions): Promise<number> {
  const deadlineMs = Date.now() + config.waitSeconds * 1000;
  const client = new SipClient(config.livekit.url, config.livekit.apiKey, config.livekit.apiSecret, { requestTimeout: 10 });
  try {
    await waitForSipApi(client, deadlineMs, options.retryBaseMs ?? 250, io);
  } catch (err) {
    io.stderr(`voice-agent sip-sync: ${errorMessage(err)}\n`);
    return 1;
  }
  const redis = new Redis(config.redis.url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 3000, commandTimeout: 5000, retryStrategy: () => null });
  redis.on('error', () => undefined);
  try {
    try {
      await redis.connect();
    } catch (err) {
      io.stderr(`voice-agent sip-sync: Redis unreachable at ${redactRedisUrl(config.redis.url)}: ${errorMessage(err)}\n`);
      return 1;
    }
    const key = `${config.redis.prefix}:sip-sync:${config.declaration.owner}`;
    const actions = await withRedisLock(redis, key, { ttlMs: options.lockTtlMs ?? 60_000, waitMs: Math.max(0, deadlineMs - Date.now()) }, () =>
      syncSip(client, config.declaration, config.credentials),
    );
    io.stdout(options.json ? `${JSON.stringify({ owner: config.declaration.owner, actions })}\n` : formatActions(actions));
    return 0;
  } catch (err) {
    if (err instanceof SipSyncError || err instanceof LockTimeoutError) {
      io.stderr(`voice-agent sip-sync: ${err.message}\n`);
      return 1;
    }
    throw err;
  } finally {
    redis.disconnect();
  }
}
