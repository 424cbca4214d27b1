/**
 * Fleet capacity from the agents themselves. Each agent worker calls startCapacityHeartbeat with
 * the sessions it can take; the dispatcher admits calls while active calls < the sum of the live
 * heartbeats (unless FLEET_CAPACITY fixes it). A worker that dies stops beating and its capacity
 * expires after ttlSeconds; a worker that drains calls update(0) or stop() so no new call is
 * admitted against it.
 */
import type { Redis } from 'ioredis';
import { DEFAULT_QUEUE_PREFIX, queueKeys } from './keys.js';
import { FLEET_CAPACITY, HEARTBEAT, HEARTBEAT_STOP } from './lua.js';

export interface CapacityHeartbeatOptions {
  /** An ioredis connection the caller owns (not a blocking or subscriber one); not closed by stop(). */
  redis: Redis;
  /** Unique per agent worker process, e.g. hostname + pid. */
  workerId: string;
  /** Concurrent sessions this worker can take now. */
  capacitySessions: number;
  /** The heartbeat expires this long after the last beat (default 15 s). */
  ttlSeconds?: number;
  /** Time between beats (default ttlSeconds / 3, so two beats can be lost before expiry). */
  intervalSeconds?: number;
  /** Queue key prefix; must match the dispatchers' QUEUE_PREFIX (default {voice-queue}). */
  prefix?: string;
  /** Called when a periodic beat fails (the next beat retries); default: ignore. */
  onError?: (err: unknown) => void;
}

export interface CapacityHeartbeat {
  /** The capacity last written. */
  readonly capacitySessions: number;
  /** Write a new capacity now (e.g. 0 while draining) and keep beating with it. */
  update(capacitySessions: number): Promise<void>;
  /** Stop beating and remove this worker's capacity at once. */
  stop(): Promise<void>;
}

function checkSessions(n: number): number {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`capacitySessions must be a whole number >= 0, got ${n}`);
  return n;
}

/** Writes the first heartbeat before resolving, so the capacity is visible when it returns. */
export async function startCapacityHeartbeat(options: CapacityHeartbeatOptions): Promise<CapacityHeartbeat> {
  const { redis, workerId } = options;
  const ttlSeconds = options.ttlSeconds ?? 15;
  if (!(ttlSeconds > 0)) throw new RangeError(`ttlSeconds must be > 0, got ${ttlSeconds}`);
  const intervalMs = Math.max(100, (options.intervalSeconds ?? ttlSeconds / 3) * 1000);
  const keys = queueKeys(options.prefix ?? DEFAULT_QUEUE_PREFIX);
  let sessions = checkSessions(options.capacitySessions);
  let stopped = false;

  const beat = () => HEARTBEAT.run(redis, [keys.fleet, keys.fleetExpiry], [workerId, sessions, Math.round(ttlSeconds * 1000), keys.freedChannel]);

  await beat();
  const timer = setInterval(() => {
    beat().catch((err: unknown) => options.onError?.(err));
  }, intervalMs);
  timer.unref();

  return {
    get capacitySessions() {
      return sessions;
    },
    async update(n: number) {
      if (stopped) throw new Error('capacity heartbeat is stopped');
      sessions = checkSessions(n);
      await beat();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      await HEARTBEAT_STOP.run(redis, [keys.fleet, keys.fleetExpiry], [workerId]);
    },
  };
}

/** The sum of the live heartbeats (what the dispatcher uses when FLEET_CAPACITY is unset). */
export async function readFleetCapacity(redis: Redis, prefix: string = DEFAULT_QUEUE_PREFIX): Promise<number> {
  const keys = queueKeys(prefix);
  return Number(await FLEET_CAPACITY.run(redis, [keys.fleet, keys.fleetExpiry], []));
}
