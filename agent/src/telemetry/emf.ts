/**
 * CloudWatch Embedded Metric Format: a JSON log line that CloudWatch Logs turns into metrics,
 * with no PutMetricData calls and no credentials in the process. Pure.
 */
import { CLOUDWATCH_STACK_DIMENSION, type MetricName } from '@voice-agent-infra/common';

/** CloudWatch takes at most 100 values per metric in one EMF record. */
export const EMF_MAX_VALUES = 100;

export interface EmfValue {
  metric: MetricName;
  /**
   * In Prometheus base units (seconds for durations, plain counts); converted to the metric's
   * CloudWatch unit here. An array carries individual samples (for percentiles).
   */
  value: number | readonly number[];
}

export interface EmfInput {
  namespace: string;
  stack: string;
  timestampMs: number;
  values: readonly EmfValue[];
}

export type EmfRecord = Record<string, unknown> & {
  _aws: {
    Timestamp: number;
    CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string; Unit: string }> }>;
  };
};

function toCloudWatchUnit(metric: MetricName, value: number): number {
  return metric.cloudWatchUnit === 'Milliseconds' ? Math.round(value * 1000 * 1000) / 1000 : value;
}

/**
 * One or more records: scalars go in the first; sample arrays longer than 100 are split across
 * records so none exceeds the EMF limit. Metrics with no samples are left out.
 */
export function buildEmfRecords(input: EmfInput): EmfRecord[] {
  const chunks: Array<Map<MetricName, number | number[]>> = [new Map()];
  for (const { metric, value } of input.values) {
    if (typeof value === 'number') {
      chunks[0]!.set(metric, toCloudWatchUnit(metric, value));
      continue;
    }
    const converted = value.map((v) => toCloudWatchUnit(metric, v));
    for (let i = 0, c = 0; i < converted.length; i += EMF_MAX_VALUES, c++) {
      chunks[c] ??= new Map();
      chunks[c]!.set(metric, converted.slice(i, i + EMF_MAX_VALUES));
    }
  }
  return chunks
    .filter((chunk) => chunk.size > 0)
    .map((chunk) => {
      const record: EmfRecord = {
        _aws: {
          Timestamp: input.timestampMs,
          CloudWatchMetrics: [
            {
              Namespace: input.namespace,
              Dimensions: [[CLOUDWATCH_STACK_DIMENSION]],
              Metrics: [...chunk.keys()].map((m) => ({ Name: m.cloudWatch, Unit: m.cloudWatchUnit })),
            },
          ],
        },
        [CLOUDWATCH_STACK_DIMENSION]: input.stack,
      };
      for (const [metric, value] of chunk) record[metric.cloudWatch] = value;
      return record;
    });
}
