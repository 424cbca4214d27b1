/**
 * Redis connections for the queue roles. Three kinds, because they fail differently on purpose:
 * - producer (intake, operator commands): no offline queue and short timeouts, so a request
 *   fails within a second while Redis is down and the intake can answer 503 instead of hanging;
 * - worker (BullMQ workers, dispatcher scripts): maxRetriesPerRequest null, so work waits for
 *   Redis to come back instead of failing (BullMQ requires it for blocking connections);
 * - subscriber: a duplicate of a worker connection for pub/sub.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { errorMessage, type Logger } from './log.js';

/** The URL without its password, for logs and error messages. */
export function redactRedisUrl(url: string): string {
  if (!URL.canParse(url)) return '(invalid Redis URL)';
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

const common: RedisOptions = {
  // A name shows up in CLIENT LIST, which helps when an operator hunts a connection leak.
  connectionName: 'voice-agent',
  // Redis restarts (or fails over) are expected; reconnect quickly and keep trying.
  retryStrategy: (times) => Math.min(100 * times, 1000),
};

export interface ProducerOptions {
  /** Each command's deadline, ms; the intake's 503 budget. */
  commandTimeoutMs?: number;
  lazyConnect?: boolean;
}

export function createProducerConnection(url: string, options: ProducerOptions = {}): Redis {
  return new Redis(url, {
    ...common,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: options.commandTimeoutMs ?? 800,
    connectTimeout: 1000,
    lazyConnect: options.lazyConnect ?? false,
    // Concurrent webhooks issue commands in the same tick: one socket write for all of them.
    enableAutoPipelining: true,
  });
}

export function createWorkerConnection(url: string): Redis {
  return new Redis(url, { ...common, maxRetriesPerRequest: null, enableReadyCheck: true });
}

/** Resolves once the connection is ready, or rejects after timeoutMs. */
export async function waitForReady(redis: Redis, timeoutMs: number): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`Redis not reachable within ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = () => {
      cleanup();
      resolve();
    };
    const cleanup = () => {
      clearTimeout(timer);
      redis.off('ready', onReady);
    };
    redis.on('ready', onReady);
  });
}

/**
 * Queued calls must never be evicted: warn loudly unless maxmemory-policy is noeviction, and note
 * when AOF is off. ElastiCache disables CONFIG; then say what the parameter group must set.
 */
export async function checkRedisDurability(redis: Redis, log: Logger): Promise<void> {
  try {
    const policy = (await redis.config('GET', 'maxmemory-policy')) as string[];
    const value = policy[1];
    if (value !== undefined && value !== 'noeviction') {
      log.warn(
        `REDIS MAXMEMORY-POLICY IS ${value.toUpperCase()}, NOT NOEVICTION: under memory pressure Redis ` +
          'will silently delete queued calls. Set maxmemory-policy noeviction.',
        { maxmemoryPolicy: value },
      );
    }
    const aof = (await redis.config('GET', 'appendonly')) as string[];
    if (aof[1] === 'no') {
      log.warn('Redis AOF is off: a Redis restart loses every call queued since the last snapshot. Set appendonly yes, appendfsync everysec.');
    }
  } catch (err) {
    log.info('could not read the Redis eviction policy (CONFIG is disabled, as on ElastiCache): make sure the parameter group sets maxmemory-policy noeviction', {
      error: errorMessage(err),
    });
  }
}

export async function quitQuietly(redis: Redis): Promise<void> {
  try {
    if (redis.status === 'end') return;
    if (redis.status === 'ready') await redis.quit();
    else redis.disconnect();
  } catch {
    redis.disconnect();
  }
}
