/**
 * Keeps the worker's capacity heartbeat in step with what LiveKit hears from it (rules in
 * capacity.ts). agents-js calls our loadFunc every 2.5 s while its connection to LiveKit is up
 * and sends the result as the worker's load and status; each call updates the heartbeat with the
 * same load. No call for three intervals means the connection is down: LiveKit has forgotten the
 * worker, so it offers 0 until it registers again.
 */
import type { Redis } from 'ioredis';
import { errorMessage, type Logger } from '../log.js';
import { startCapacityHeartbeat, type CapacityHeartbeat } from '../queue/capacity-heartbeat.js';
import { offeredSessions } from './capacity.js';

/** agents-js UPDATE_LOAD_INTERVAL (node_modules/@livekit/agents/src/worker.ts). */
export const STATUS_INTERVAL_MS = 2500;

export interface CapacityReporterOptions {
  redis: Redis;
  prefix: string;
  workerId: string;
  maxSessions: number;
  loadThreshold: number;
  log: Logger;
  statusIntervalMs?: number;
  now?: () => number;
}

export class CapacityReporter {
  private heartbeat?: CapacityHeartbeat;
  private registered = false;
  private draining = false;
  private stopped = false;
  private load = 0;
  private lastSeenMs = 0;
  private lastOffered = -1;
  private readonly timer: NodeJS.Timeout;
  private readonly now: () => number;
  private readonly intervalMs: number;
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly options: CapacityReporterOptions) {
    this.now = options.now ?? Date.now;
    this.intervalMs = options.statusIntervalMs ?? STATUS_INTERVAL_MS;
    // Notices a dropped connection even though no loadFunc call comes to say so.
    this.timer = setInterval(() => void this.publish(), this.intervalMs);
    this.timer.unref();
  }

  /** The sessions offered now. */
  get offered(): number {
    return offeredSessions({
      connected: this.registered && this.now() - this.lastSeenMs <= 3 * this.intervalMs,
      draining: this.draining,
      load: this.load,
      loadThreshold: this.options.loadThreshold,
      maxSessions: this.options.maxSessions,
    });
  }

  /** LiveKit accepted the worker (again): the heartbeat starts, or resumes. */
  registeredWithLiveKit(): Promise<void> {
    this.registered = true;
    this.lastSeenMs = this.now();
    this.load = 0; // LiveKit starts a (re)registered worker at load 0, WS_AVAILABLE (livekit pkg/agent/worker.go)
    return this.publish();
  }

  /** The load agents-js is about to send LiveKit. */
  reportLoad(load: number): void {
    this.lastSeenMs = this.now();
    this.load = load;
    void this.publish();
  }

  /** SIGTERM: no new calls (agents-js tells LiveKit WS_FULL at the same time). */
  drain(): Promise<void> {
    this.draining = true;
    return this.publish();
  }

  /** Removes this worker's capacity at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.chain;
    await this.heartbeat?.stop().catch(() => {});
  }

  /** Writes the offer (in order, one write at a time). */
  private publish(): Promise<void> {
    this.chain = this.chain.then(async () => {
      if (!this.registered || this.stopped) return;
      const offered = this.offered;
      try {
        if (!this.heartbeat) {
          this.heartbeat = await startCapacityHeartbeat({
            redis: this.options.redis,
            workerId: this.options.workerId,
            capacitySessions: offered,
            prefix: this.options.prefix,
            onError: (err) => this.options.log.warn('capacity heartbeat failed; retrying', { error: errorMessage(err) }),
          });
        } else if (offered !== this.heartbeat.capacitySessions) {
          await this.heartbeat.update(offered);
        }
        if (offered !== this.lastOffered) this.options.log.info('capacity offered to the queue', { capacitySessions: offered, load: this.load, draining: this.draining });
        this.lastOffered = offered;
      } catch (err) {
        this.options.log.warn('capacity heartbeat failed; retrying', { error: errorMessage(err) });
      }
    });
    return this.chain;
  }
}
