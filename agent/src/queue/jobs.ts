/**
 * The BullMQ job payloads and options shared by intake, dispatcher and operator commands.
 */
import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { CallPolicy } from '../config.js';
import type { CallSource } from '../telemetry/metrics.js';
import { CALLS_QUEUE, DEAD_LETTER_QUEUE } from './keys.js';

export interface CallJobData {
  callId: string;
  room: string;
  /** The room session (LiveKit webhook and sweep calls); API calls learn it when dispatched. */
  roomSid?: string;
  source: CallSource;
  /** Intake time, microseconds since the epoch (strictly increasing per intake process): the call's place in line. */
  receivedAtUs: number;
  useCase?: string;
  /** Caller-supplied metadata, passed to the agent in the dispatch metadata. */
  metadata?: unknown;
  /** The SIP participant that started the call (LiveKit webhook calls). */
  participantIdentity?: string;
  /** How many times an operator re-drove this call from the dead-letter queue. */
  redriven?: number;
}

/**
 * dispatch-failed: LiveKit refused or failed CreateDispatch; no-agent: dispatched, but no worker
 * took the job within DISPATCH_CONFIRM_SECONDS, every attempt; wait-timeout: not admitted within
 * CALL_MAX_WAIT_SECONDS; stalled: its job killed dispatchers five times.
 */
export type DeadLetterReason = 'dispatch-failed' | 'no-agent' | 'wait-timeout' | 'stalled';

export interface DeadLetterData {
  callId: string;
  room: string;
  reason: DeadLetterReason;
  /** The last error, when there was one (LiveKit's message; never credentials). */
  error?: string;
  /** Dispatch attempts made. */
  attempts: number;
  deadLetteredAtMs: number;
  call: CallJobData;
}

let lastUs = 0;
/** Wall-clock microseconds, strictly increasing within the process (an order for same-ms arrivals). */
export function nowUs(): number {
  const us = Date.now() * 1000;
  lastUs = us > lastUs ? us : lastUs + 1;
  return lastUs;
}

export function callJobOptions(policy: CallPolicy, callId: string): JobsOptions {
  return {
    jobId: callId,
    attempts: policy.maxAttempts,
    backoff: { type: 'exponential', delay: policy.backoffMs },
    // Completed jobs go after a day (the room claim keeps duplicates out for a week); failed ones
    // stay a week next to their dead letter.
    removeOnComplete: { age: 24 * 3600, count: 100_000 },
    removeOnFail: { age: 7 * 24 * 3600 },
  };
}

export interface CallQueues {
  calls: Queue<CallJobData>;
  deadLetters: Queue<DeadLetterData>;
  close(): Promise<void>;
}

/** Producer-side queues on a connection the caller owns (closing them leaves it open). */
export function openCallQueues(connection: Redis, prefix: string): CallQueues {
  const calls = new Queue<CallJobData>(CALLS_QUEUE, { connection, prefix });
  const deadLetters = new Queue<DeadLetterData>(DEAD_LETTER_QUEUE, { connection, prefix });
  // Queue errors (Redis down) surface on the commands that fail; keep them off the process.
  calls.on('error', () => {});
  deadLetters.on('error', () => {});
  return {
    calls,
    deadLetters,
    async close() {
      await Promise.allSettled([calls.close(), deadLetters.close()]);
    },
  };
}
