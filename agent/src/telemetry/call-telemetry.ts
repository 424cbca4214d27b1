/**
 * Where call records go, in the worker's main process: Prometheus metrics (scraped at /metrics),
 * one CloudWatch Embedded Metric Format line per call on stdout, and the capped Redis stream
 * `calls:records` for the report tool. Metric names come from the shared METRICS module the AWS
 * alarms and dashboards read; no call id is ever a label.
 */
import { METRICS } from '@voice-agent-infra/common';
import type { Redis } from 'ioredis';
import { Counter, Histogram, Registry, Summary } from 'prom-client';
import { errorMessage, type Logger } from '../log.js';
import type { CallRecord } from './call-record.js';
import { buildEmfRecords, type EmfRecord } from './emf.js';

export const CALL_RECORDS_STREAM = 'calls:records';
/** Default cap of the stream (XADD MAXLEN ~): about a week at 14,000 calls a day. */
export const DEFAULT_CALL_RECORDS_MAX_LENGTH = 100_000;

export class CallMetrics {
  private readonly turnLatency: Histogram<'use_case'>;
  private readonly calls: Counter<'outcome' | 'use_case'>;
  private readonly succeeded: Summary<'use_case'>;
  private readonly escalated: Summary<'use_case'>;
  private readonly cost: Histogram<'use_case' | 'hour'>;
  private readonly duration: Histogram<'use_case'>;
  private readonly overrides: Counter<'reason'>;
  private readonly cacheHits: Counter;
  private readonly cacheMisses: Counter;
  private readonly cacheSaved: Counter;

  constructor(readonly registry: Registry) {
    const registers = [registry];
    this.turnLatency = new Histogram({
      name: METRICS.turnLatency.prometheus,
      help: METRICS.turnLatency.help,
      labelNames: ['use_case'],
      // Around the article's targets: 300 ms excellent, 500 ms good, 800 ms acceptable.
      buckets: [0.2, 0.3, 0.4, 0.5, 0.65, 0.8, 1, 1.25, 1.5, 2, 3, 5],
      registers,
    });
    this.calls = new Counter({ name: METRICS.callsFinished.prometheus, help: METRICS.callsFinished.help, labelNames: ['outcome', 'use_case'], registers });
    // 0/1 per call: rate(_sum) / rate(_count) is the success (escalation) rate; no quantiles needed.
    this.succeeded = new Summary({ name: METRICS.callSucceeded.prometheus, help: METRICS.callSucceeded.help, labelNames: ['use_case'], percentiles: [], registers });
    this.escalated = new Summary({ name: METRICS.callEscalated.prometheus, help: METRICS.callEscalated.help, labelNames: ['use_case'], percentiles: [], registers });
    this.cost = new Histogram({
      name: METRICS.callCost.prometheus,
      help: METRICS.callCost.help,
      // Hour of day (UTC) is 24 values: cost by time of day without unbounded cardinality.
      labelNames: ['use_case', 'hour'],
      buckets: [0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5],
      registers,
    });
    this.duration = new Histogram({
      name: METRICS.callDuration.prometheus,
      help: METRICS.callDuration.help,
      labelNames: ['use_case'],
      buckets: [15, 30, 60, 120, 180, 300, 600, 900, 1800, 3600],
      registers,
    });
    this.overrides = new Counter({ name: METRICS.supervisorOverrides.prometheus, help: METRICS.supervisorOverrides.help, labelNames: ['reason'], registers });
    this.cacheHits = new Counter({ name: METRICS.phraseCacheHits.prometheus, help: METRICS.phraseCacheHits.help, registers });
    this.cacheMisses = new Counter({ name: METRICS.phraseCacheMisses.prometheus, help: METRICS.phraseCacheMisses.help, registers });
    this.cacheSaved = new Counter({ name: METRICS.phraseCacheSavedCharacters.prometheus, help: METRICS.phraseCacheSavedCharacters.help, registers });
  }

  observe(record: CallRecord): void {
    const use_case = record.useCase;
    for (const ms of record.turnLatenciesMs) this.turnLatency.observe({ use_case }, ms / 1000);
    this.calls.inc({ outcome: record.outcome, use_case });
    this.succeeded.observe({ use_case }, record.outcome === 'failed' ? 0 : 1);
    this.escalated.observe({ use_case }, record.outcome === 'escalated' ? 1 : 0);
    this.cost.observe({ use_case, hour: String(record.startedAtHour) }, record.costUsd);
    this.duration.observe({ use_case }, record.durationSeconds);
    for (const o of record.overrides) this.overrides.inc({ reason: o.reason });
    this.cacheHits.inc(record.phraseCache.hits);
    this.cacheMisses.inc(record.phraseCache.misses);
    this.cacheSaved.inc(record.usage.cachedCharacters);
  }
}

/**
 * The call as EMF: metrics under the Stack dimension (what the alarms watch) plus the record's
 * identifying fields as plain log properties, so Logs Insights can find the call behind a spike.
 */
export function callEmfRecords(record: CallRecord, options: { namespace: string; stack: string; timestampMs: number }): EmfRecord[] {
  const records = buildEmfRecords({
    namespace: options.namespace,
    stack: options.stack,
    timestampMs: options.timestampMs,
    values: [
      { metric: METRICS.turnLatency, value: record.turnLatenciesMs.map((ms) => ms / 1000) },
      { metric: METRICS.callsFinished, value: 1 },
      { metric: METRICS.callSucceeded, value: record.outcome === 'failed' ? 0 : 1 },
      { metric: METRICS.callEscalated, value: record.outcome === 'escalated' ? 1 : 0 },
      { metric: METRICS.callCost, value: record.costUsd },
      { metric: METRICS.callDuration, value: record.durationSeconds },
      { metric: METRICS.supervisorOverrides, value: record.overrides.length },
      { metric: METRICS.phraseCacheHits, value: record.phraseCache.hits },
      { metric: METRICS.phraseCacheMisses, value: record.phraseCache.misses },
      { metric: METRICS.phraseCacheSavedCharacters, value: record.usage.cachedCharacters },
    ],
  });
  const properties = {
    callId: record.callId,
    room: record.room,
    useCase: record.useCase,
    outcome: record.outcome,
    agentPath: record.agentPath.join('>'),
    startedAtHour: record.startedAtHour,
  };
  return records.map((r) => ({ ...r, ...properties }));
}

/** Appends the record to the capped stream; the entry's `record` field is the JSON. */
export async function appendCallRecord(redis: Redis, record: CallRecord, maxLength = DEFAULT_CALL_RECORDS_MAX_LENGTH): Promise<string> {
  const id = await redis.xadd(
    CALL_RECORDS_STREAM,
    'MAXLEN',
    '~',
    String(maxLength),
    '*',
    'callId',
    record.callId,
    'outcome',
    record.outcome,
    'useCase',
    record.useCase,
    'record',
    JSON.stringify(record),
  );
  return id ?? '';
}

export interface CallTelemetryOptions {
  metrics: CallMetrics;
  /** Stream target; without it records go to metrics and logs only. */
  redis?: Redis;
  streamMaxLength?: number;
  namespace: string;
  stack: string;
  /** 0 turns the EMF line off (not on AWS). */
  emf: boolean;
  log: Logger;
  /** Default: stdout, where the CloudWatch agent or awslogs driver picks the line up. */
  write?: (line: string) => void;
}

export class CallTelemetry {
  private readonly write: (line: string) => void;
  constructor(private readonly options: CallTelemetryOptions) {
    this.write = options.write ?? ((line) => void process.stdout.write(line));
  }

  /** Metrics and the EMF line never fail; a Redis failure is logged (the EMF line still has the call). */
  async publish(record: CallRecord): Promise<void> {
    this.options.metrics.observe(record);
    if (this.options.emf) {
      for (const line of callEmfRecords(record, { namespace: this.options.namespace, stack: this.options.stack, timestampMs: Date.now() })) {
        this.write(`${JSON.stringify(line)}\n`);
      }
    }
    this.options.log.info('call finished', {
      callId: record.callId,
      outcome: record.outcome,
      agentPath: record.agentPath,
      durationSeconds: record.durationSeconds,
      costUsd: record.costUsd,
    });
    if (!this.options.redis) return;
    try {
      await appendCallRecord(this.options.redis, record, this.options.streamMaxLength);
    } catch (err) {
      this.options.log.warn('call record not appended to Redis', { callId: record.callId, stream: CALL_RECORDS_STREAM, error: errorMessage(err) });
    }
  }
}
