/**
 * Queue metrics: Prometheus (prom-client, scraped at /metrics) and the same figures as CloudWatch
 * EMF lines on an interval. Names come from the shared METRICS module the AWS alarms read.
 * No call id is ever a label (unbounded cardinality).
 */
import { METRICS } from '@voice-agent-infra/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { errorMessage, type Logger } from '../log.js';
import { buildEmfRecords, type EmfValue } from './emf.js';

/** The autoscaling signals (also GET /v1/queue). */
export interface QueueStats {
  /** Calls waiting for capacity (queued, in retry backoff, or held in the admission line). */
  waiting: number;
  /** Calls holding capacity: admitted, being dispatched, or on a call. */
  active: number;
  /** Concurrent sessions the fleet can take now. */
  capacity: number;
  /** Age of the oldest waiting call; 0 when none waits. */
  oldestWaitSeconds: number;
  /** Calls in the dead-letter queue. */
  deadLetters: number;
}

/** livekit: a webhook; api: POST /v1/calls; sweep: the recovery sweep found a caller whose webhook was lost. */
export type CallSource = 'livekit' | 'api' | 'sweep';

export interface EmfSnapshot {
  callsReceived: number;
  deadLettered: number;
  callsRecovered: number;
  queueWaitSeconds: number[];
  dispatchLatencySeconds: number[];
  agentJoinSeconds: number[];
}

/** Why the recovery sweep fixed a call. */
export type RecoveryReason = 'missed-join' | 'room-gone';

/** At most this many samples per interval go to CloudWatch (reservoir-sampled beyond it). */
const EMF_SAMPLE_LIMIT = 1000;

class Reservoir {
  private values: number[] = [];
  private seen = 0;
  add(v: number) {
    this.seen++;
    if (this.values.length < EMF_SAMPLE_LIMIT) this.values.push(v);
    else {
      const i = Math.floor(Math.random() * this.seen);
      if (i < EMF_SAMPLE_LIMIT) this.values[i] = v;
    }
  }
  take(): number[] {
    const out = this.values;
    this.values = [];
    this.seen = 0;
    return out;
  }
}

export class QueueMetrics {
  readonly registry: Registry;
  private readonly received: Counter<'source'>;
  private readonly deadLetteredTotal: Counter<'reason'>;
  private readonly queueWait: Histogram;
  private readonly dispatchLatency: Histogram;
  private readonly agentJoin: Histogram;
  private readonly recovered: Counter<'reason'>;
  private statsReader?: () => Promise<QueueStats>;
  private statsCache?: { at: number; value: Promise<QueueStats> };
  private lastStats?: QueueStats;
  private emf = { callsReceived: 0, deadLettered: 0, callsRecovered: 0, queueWait: new Reservoir(), dispatchLatency: new Reservoir(), agentJoin: new Reservoir() };

  constructor(options: { registry?: Registry; processMetrics?: boolean } = {}) {
    this.registry = options.registry ?? new Registry();
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    const r = [this.registry];
    this.received = new Counter({ name: METRICS.callsReceived.prometheus, help: METRICS.callsReceived.help, labelNames: ['source'], registers: r });
    this.deadLetteredTotal = new Counter({
      name: METRICS.deadLettered.prometheus,
      help: METRICS.deadLettered.help,
      labelNames: ['reason'],
      registers: r,
    });
    this.queueWait = new Histogram({
      name: METRICS.queueWait.prometheus,
      help: METRICS.queueWait.help,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
      registers: r,
    });
    this.dispatchLatency = new Histogram({
      name: METRICS.dispatchLatency.prometheus,
      help: METRICS.dispatchLatency.help,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: r,
    });
    this.agentJoin = new Histogram({
      name: METRICS.agentJoin.prometheus,
      help: METRICS.agentJoin.help,
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: r,
    });
    this.recovered = new Counter({ name: METRICS.callsRecovered.prometheus, help: METRICS.callsRecovered.help, labelNames: ['reason'], registers: r });
    const readForScrape = () => this.readStatsForScrape();
    const make = (def: { prometheus: string; help: string }, pick: (s: QueueStats) => number) =>
      new Gauge({
        name: def.prometheus,
        help: def.help,
        registers: r,
        // Read from Redis at scrape time (cached briefly, shared by the five gauges).
        async collect(this: Gauge) {
          const stats = await readForScrape();
          if (stats) this.set(pick(stats));
        },
      });
    make(METRICS.queueWaitingCalls, (s) => s.waiting);
    make(METRICS.queueOldestWait, (s) => s.oldestWaitSeconds);
    make(METRICS.activeCalls, (s) => s.active);
    make(METRICS.fleetCapacity, (s) => s.capacity);
    make(METRICS.deadLetters, (s) => s.deadLetters);
  }

  /** Where the gauges come from (the queue in Redis); read at most every 250 ms. */
  setStatsSource(read: () => Promise<QueueStats>): void {
    this.statsReader = read;
  }

  async readStats(): Promise<QueueStats | undefined> {
    if (!this.statsReader) return undefined;
    const now = Date.now();
    if (!this.statsCache || now - this.statsCache.at > 250) {
      this.statsCache = { at: now, value: this.statsReader() };
    }
    const stats = await this.statsCache.value;
    this.lastStats = stats;
    return stats;
  }

  /** A scrape while Redis is down shows the last known values instead of failing. */
  private async readStatsForScrape(): Promise<QueueStats | undefined> {
    try {
      return await this.readStats();
    } catch {
      return this.lastStats;
    }
  }

  callReceived(source: CallSource): void {
    this.received.inc({ source });
    this.emf.callsReceived++;
  }

  deadLettered(reason: string): void {
    this.deadLetteredTotal.inc({ reason });
    this.emf.deadLettered++;
  }

  /** One dispatched call: intake -> dispatch (waitSeconds), admission -> CreateDispatch answered. */
  dispatched(sample: { waitSeconds: number; latencySeconds: number }): void {
    this.queueWait.observe(sample.waitSeconds);
    this.dispatchLatency.observe(sample.latencySeconds);
    this.emf.queueWait.add(sample.waitSeconds);
    this.emf.dispatchLatency.add(sample.latencySeconds);
  }

  /** An agent took a dispatched call, this long after CreateDispatch answered. */
  agentJoined(seconds: number): void {
    this.agentJoin.observe(seconds);
    this.emf.agentJoin.add(seconds);
  }

  callRecovered(reason: RecoveryReason): void {
    this.recovered.inc({ reason });
    this.emf.callsRecovered++;
  }

  takeEmfSnapshot(): EmfSnapshot {
    const snapshot = {
      callsReceived: this.emf.callsReceived,
      deadLettered: this.emf.deadLettered,
      callsRecovered: this.emf.callsRecovered,
      queueWaitSeconds: this.emf.queueWait.take(),
      dispatchLatencySeconds: this.emf.dispatchLatency.take(),
      agentJoinSeconds: this.emf.agentJoin.take(),
    };
    this.emf.callsReceived = 0;
    this.emf.deadLettered = 0;
    this.emf.callsRecovered = 0;
    return snapshot;
  }
}

export interface EmfReporterOptions {
  metrics: QueueMetrics;
  namespace: string;
  stack: string;
  intervalSeconds: number;
  log: Logger;
  /** Default: a line on stdout, where the CloudWatch agent or awslogs driver picks it up. */
  write?: (line: string) => void;
}

export interface EmfReporter {
  /** Writes a last record (so counts from the final interval are not lost) and stops. */
  stop(): Promise<void>;
}

export function startEmfReporter(options: EmfReporterOptions): EmfReporter {
  const write = options.write ?? ((line: string) => process.stdout.write(line));
  if (options.intervalSeconds <= 0) return { stop: async () => {} };
  const flush = async () => {
    const snapshot = options.metrics.takeEmfSnapshot();
    const values: EmfValue[] = [
      { metric: METRICS.callsReceived, value: snapshot.callsReceived },
      { metric: METRICS.deadLettered, value: snapshot.deadLettered },
      { metric: METRICS.queueWait, value: snapshot.queueWaitSeconds },
      { metric: METRICS.dispatchLatency, value: snapshot.dispatchLatencySeconds },
      { metric: METRICS.callsRecovered, value: snapshot.callsRecovered },
      { metric: METRICS.agentJoin, value: snapshot.agentJoinSeconds },
    ];
    try {
      const stats = await options.metrics.readStats();
      if (stats) {
        values.push(
          { metric: METRICS.queueWaitingCalls, value: stats.waiting },
          { metric: METRICS.queueOldestWait, value: stats.oldestWaitSeconds },
          { metric: METRICS.activeCalls, value: stats.active },
          { metric: METRICS.fleetCapacity, value: stats.capacity },
          { metric: METRICS.deadLetters, value: stats.deadLetters },
        );
      }
    } catch (err) {
      options.log.warn('queue stats unavailable for CloudWatch metrics', { error: errorMessage(err) });
    }
    for (const record of buildEmfRecords({ namespace: options.namespace, stack: options.stack, timestampMs: Date.now(), values })) {
      write(`${JSON.stringify(record)}\n`);
    }
  };
  let running = Promise.resolve();
  const timer = setInterval(() => {
    running = running.then(flush);
  }, options.intervalSeconds * 1000);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
      await flush();
    },
  };
}
