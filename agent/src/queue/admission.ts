/**
 * Admission: the calls one dispatcher holds wait here for fleet capacity.
 *
 * Every wake-up (a new call, capacity freed anywhere, the poll tick) sends all held calls, oldest
 * first, to one Lua script that admits them in line order while capacity lasts. One script call
 * per wake-up per process, however many calls wait, and the order is global: a call is admitted
 * only when it is the oldest in the line shared by all dispatchers.
 */
import { errorMessage, type Logger } from '../log.js';
import type { AdmitCandidate, AdmitCode, CallStore } from './call-store.js';

export type AdmissionOutcome = Exclude<AdmitCode, 'wait'> | 'released';

export interface AdmissionGateOptions {
  store: CallStore;
  /** FLEET_CAPACITY, or undefined for the heartbeat sum. */
  fixedCapacity: number | undefined;
  pollMs: number;
  log: Logger;
}

interface Held {
  candidate: Omit<AdmitCandidate, 'late'>;
  deadlineMs: number;
  resolve: (outcome: AdmissionOutcome) => void;
}

export class AdmissionGate {
  private readonly held = new Map<string, Held>();
  private readonly timer: NodeJS.Timeout;
  private scheduled = false;
  private running?: Promise<void>;
  private rerun = false;
  private lastWarnMs = 0;
  /** A line entry not refreshed for this long belongs to a dead dispatcher. */
  private readonly lineStaleMs: number;
  /** The capacity seen by the last admission run (for logs and the zero-capacity warning). */
  lastCapacity = -1;

  constructor(private readonly options: AdmissionGateOptions) {
    this.lineStaleMs = Math.max(3000, options.pollMs * 10);
    this.timer = setInterval(() => this.wake(), options.pollMs);
    this.timer.unref();
  }

  /**
   * Waits until the call is admitted, or can never be (finished, dead, duplicate, released), or
   * is past deadlineMs while still waiting ('timeout', decided in the same script as admission).
   */
  request(candidate: Omit<AdmitCandidate, 'late'>, deadlineMs: number): Promise<AdmissionOutcome> {
    return new Promise((resolve) => {
      this.held.get(candidate.callId)?.resolve('released'); // a stale duplicate of this job
      this.held.set(candidate.callId, { candidate, deadlineMs, resolve });
      this.wake();
    });
  }

  /** Capacity may be free: run an admission round soon (coalesced). */
  wake(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.run();
    });
  }

  private run(): Promise<void> {
    if (this.running) {
      this.rerun = true;
      return this.running;
    }
    this.running = this.loop().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async loop(): Promise<void> {
    do {
      this.rerun = false;
      const now = Date.now();
      if (this.held.size === 0) return;
      const batch = [...this.held.values()].sort((a, b) => a.candidate.receivedAtUs - b.candidate.receivedAtUs);
      let result;
      try {
        result = await this.options.store.admit(
          batch.map((h) => ({ ...h.candidate, late: now > h.deadlineMs })),
          this.options.fixedCapacity,
          this.lineStaleMs,
        );
      } catch (err) {
        // Redis away: keep holding; the next tick tries again. Warn at most every 10 s.
        if (now - this.lastWarnMs > 10_000) {
          this.lastWarnMs = now;
          this.options.log.warn('admission check failed; retrying', { error: errorMessage(err) });
        }
        return;
      }
      if (result.capacity === 0 && this.lastCapacity !== 0) {
        this.options.log.warn('fleet capacity is 0: calls wait until FLEET_CAPACITY is raised or agent workers report capacity');
      }
      this.lastCapacity = result.capacity;
      let admitted = 0;
      batch.forEach((h, i) => {
        const code = result.codes[i];
        if (code === undefined || code === 'wait') return;
        if (code === 'admitted') admitted++;
        // A released or timed-out call may have been replaced while the script ran.
        if (this.held.get(h.candidate.callId) === h) this.held.delete(h.candidate.callId);
        h.resolve(code);
      });
      // Capacity left but our calls still wait: an older call in another dispatcher is ahead of
      // them; tell the others. Only after progress, so a stale line head cannot cause a storm.
      if (admitted > 0 && result.active < result.capacity && this.held.size > 0) {
        this.options.store.publishFreed().catch(() => {});
      }
    } while (this.rerun);
  }

  /** Drain: hand every held call back (its job returns to the head of the queue). */
  async releaseAll(): Promise<void> {
    clearInterval(this.timer);
    while (this.running) await this.running;
    const released = [...this.held.values()];
    this.held.clear();
    await this.options.store.leaveLine(released.map((h) => h.candidate.callId)).catch(() => {});
    for (const h of released) h.resolve('released');
  }
}
