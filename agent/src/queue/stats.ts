/**
 * The queue's autoscaling signals, read from Redis: waiting, oldest wait, active, capacity, dead
 * letters. Served by GET /v1/queue (KEDA metrics-api), the Prometheus gauges, EMF and `queue stats`.
 */
import type { QueueStats } from '../telemetry/metrics.js';
import type { CallStore } from './call-store.js';
import type { CallQueues } from './jobs.js';

export async function readQueueStats(store: CallStore, queues: CallQueues, fixedCapacity: number | undefined): Promise<QueueStats> {
  const [counts, capacity, oldestQueued, delayed, deadLetters] = await Promise.all([
    queues.calls.getJobCounts('wait', 'prioritized', 'delayed', 'paused'),
    store.capacityStats(fixedCapacity),
    queues.calls.getJobs(['wait'], 0, 0, true),
    // Calls in retry backoff keep their intake time; a few of the earliest are enough.
    queues.calls.getJobs(['delayed'], 0, 19, true),
    queues.deadLetters.getJobCounts('wait', 'prioritized', 'delayed', 'paused'),
  ]);
  const sum = (c: Record<string, number>) => Object.values(c).reduce((a, b) => a + b, 0);
  const receivedUs = [
    capacity.oldestLineUs,
    ...oldestQueued.map((j) => j?.data?.receivedAtUs),
    ...delayed.map((j) => j?.data?.receivedAtUs),
  ].filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  const oldestUs = receivedUs.length > 0 ? Math.min(...receivedUs) : undefined;
  return {
    // Held in the admission line = BullMQ-active jobs still waiting for capacity.
    waiting: sum(counts) + capacity.line,
    active: capacity.active,
    capacity: capacity.capacity,
    oldestWaitSeconds: oldestUs === undefined ? 0 : Math.max(0, Math.round((Date.now() - oldestUs / 1000) / 100) / 10),
    deadLetters: sum(deadLetters),
  };
}
