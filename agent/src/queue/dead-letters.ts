/**
 * Dead letters: calls that could not be dispatched (attempts exhausted, waited too long, or their
 * job failed by stalling too often). Each one lands in the dead-letter queue once, counts in a
 * metric, writes a structured log line and POSTs an alert; an operator re-drives it with
 * `voice-agent queue retry`.
 */
import type { CallPolicy } from '../config.js';
import { errorMessage, type Logger } from '../log.js';
import type { QueueMetrics } from '../telemetry/metrics.js';
import type { CallStore } from './call-store.js';
import { callJobOptions, nowUs, type CallJobData, type CallQueues, type DeadLetterData, type DeadLetterReason } from './jobs.js';

export interface DeadLetterContext {
  store: CallStore;
  queues: CallQueues;
  log: Logger;
  metrics?: QueueMetrics;
  alertWebhookUrl?: string;
}

/** The alert body (also the shape a pager integration maps). */
export interface DeadLetterAlert {
  callId: string;
  room: string;
  reason: DeadLetterReason;
  attempts: number;
  error?: string;
}

/**
 * Makes the call a dead letter. Idempotent (a dispatcher dying half-way re-runs it safely).
 * Returns false when there was nothing to dead-letter (the room already finished).
 */
export async function deadLetterCall(
  ctx: DeadLetterContext,
  call: CallJobData,
  reason: DeadLetterReason,
  attempts: number,
  error?: string,
): Promise<boolean> {
  const outcome = await ctx.store.deadLetter(call.callId, reason);
  if (outcome === 'finished' || outcome === 'duplicate') return false;
  const data: DeadLetterData = { callId: call.callId, room: call.room, reason, attempts, deadLetteredAtMs: Date.now(), call };
  if (error !== undefined) data.error = error.slice(0, 500);
  // jobId = callId: adding again after a crash is a no-op.
  await ctx.queues.deadLetters.add('dead-letter', data, { jobId: call.callId });
  if (outcome === 'new') {
    ctx.metrics?.deadLettered(reason);
    ctx.log.error('call dead-lettered', { callId: call.callId, room: call.room, reason, attempts, error: data.error });
  }
  const record = await ctx.store.callRecord(call.callId);
  if (ctx.alertWebhookUrl && !record.alertedAtMs) {
    const alert: DeadLetterAlert = { callId: call.callId, room: call.room, reason, attempts };
    if (data.error !== undefined) alert.error = data.error;
    if (await postAlert(ctx.alertWebhookUrl, alert, ctx.log)) await ctx.store.markAlerted(call.callId);
  }
  return true;
}

async function postAlert(url: string, alert: DeadLetterAlert, log: Logger): Promise<boolean> {
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(alert),
        signal: AbortSignal.timeout(5000),
      });
      if (response.ok) return true;
      log.warn('dead-letter alert rejected', { callId: alert.callId, status: response.status, attempt });
    } catch (err) {
      // The URL may carry a token: log the error, not the URL.
      log.warn('dead-letter alert failed', { callId: alert.callId, error: errorMessage(err), attempt });
    }
    await new Promise((r) => setTimeout(r, 500 * attempt));
  }
  return false;
}

export async function listDeadLetters(queues: CallQueues, limit = 1000): Promise<DeadLetterData[]> {
  const jobs = await queues.deadLetters.getJobs(['wait', 'paused', 'prioritized', 'delayed'], 0, limit - 1, true);
  return jobs.filter((j) => j?.data).map((j) => j.data);
}

export type RedriveOutcome =
  | { callId: string; outcome: 'redriven' }
  | { callId: string; outcome: 'not-found' }
  | { callId: string; outcome: 'skipped'; reason: string };

/**
 * Puts a dead-lettered call back in the queue as a fresh job (attempts reset, wait clock
 * restarted, at the back of the line) and removes its dead letter.
 */
export async function redriveDeadLetter(
  ctx: { store: CallStore; queues: CallQueues; policy: CallPolicy },
  callId: string,
): Promise<RedriveOutcome> {
  const deadLetter = await ctx.queues.deadLetters.getJob(callId);
  if (!deadLetter) return { callId, outcome: 'not-found' };
  const existing = await ctx.queues.calls.getJob(callId);
  const existingState = existing ? await existing.getState() : undefined;
  if (existing && existingState !== 'failed' && existingState !== 'completed' && existingState !== 'unknown') {
    return { callId, outcome: 'skipped', reason: `its job is ${existingState}` };
  }
  const state = await ctx.store.redrive(callId);
  if (state !== 'redriven') {
    await deadLetter.remove();
    return { callId, outcome: 'skipped', reason: `the call is ${state} (dead letter removed)` };
  }
  if (existing) await existing.remove();
  const call: CallJobData = { ...deadLetter.data.call, receivedAtUs: nowUs(), redriven: (deadLetter.data.call.redriven ?? 0) + 1 };
  await ctx.queues.calls.add('call', call, callJobOptions(ctx.policy, callId));
  await deadLetter.remove();
  return { callId, outcome: 'redriven' };
}
