/**
 * Operator commands: `voice-agent queue stats | dead-letters | retry`. Data on stdout (a table,
 * or JSON with --json); returns the exit code.
 */
import { Redis } from 'ioredis';
import type { QueueCommandConfig } from '../config.js';
import { CallStore } from '../queue/call-store.js';
import { listDeadLetters, redriveDeadLetter, type RedriveOutcome } from '../queue/dead-letters.js';
import { openCallQueues } from '../queue/jobs.js';
import { readQueueStats } from '../queue/stats.js';
import { errorMessage } from '../log.js';
import { redactRedisUrl } from '../redis.js';
import type { Command } from './args.js';
import { UsageError } from './args.js';

export interface Output {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

/** A failure of the world (Redis unreachable): exit 1. */
export class WorldError extends Error {}

type QueueCommand = Extract<Command, { kind: 'queue-stats' | 'queue-dead-letters' | 'queue-retry' }>;

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  ')).join('\n') + '\n';
}

export async function runQueueCommand(command: QueueCommand, config: QueueCommandConfig, out: Output): Promise<number> {
  // One attempt, no reconnect loop: an operator wants "Redis is down" now, not a hang.
  const redis = new Redis(config.redis.url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 3000,
    commandTimeout: 15_000,
    retryStrategy: () => null,
  });
  let lastError: unknown;
  redis.on('error', (err) => (lastError = err));
  try {
    await redis.connect();
  } catch (err) {
    redis.disconnect();
    // The 'error' event carries the cause (ECONNREFUSED, ENOTFOUND); the rejection only says "closed".
    throw new WorldError(`cannot reach Redis at ${redactRedisUrl(config.redis.url)}: ${errorMessage(lastError ?? err)}`);
  }
  const store = new CallStore(redis, config.redis.prefix);
  const queues = openCallQueues(redis, config.redis.prefix);
  try {
    switch (command.kind) {
      case 'queue-stats': {
        const stats = await readQueueStats(store, queues, config.fleetCapacity);
        if (command.json) out.stdout(`${JSON.stringify(stats)}\n`);
        else
          out.stdout(
            table([
              ['waiting', String(stats.waiting)],
              ['active', String(stats.active)],
              ['capacity', String(stats.capacity)],
              ['oldest wait (s)', String(stats.oldestWaitSeconds)],
              ['dead letters', String(stats.deadLetters)],
            ]),
          );
        return 0;
      }
      case 'queue-dead-letters': {
        const letters = await listDeadLetters(queues);
        if (command.json) {
          out.stdout(`${JSON.stringify(letters)}\n`);
        } else if (letters.length === 0) {
          out.stdout('no dead letters\n');
        } else {
          out.stdout(
            table([
              ['CALL ID', 'ROOM', 'REASON', 'ATTEMPTS', 'DEAD-LETTERED AT', 'ERROR'],
              ...letters.map((d) => [d.callId, d.room, d.reason, String(d.attempts), new Date(d.deadLetteredAtMs).toISOString(), d.error ?? '']),
            ]),
          );
        }
        return 0;
      }
      case 'queue-retry': {
        const ids = 'all' in command.target ? (await listDeadLetters(queues, 100_000)).map((d) => d.callId) : [command.target.callId];
        const results: RedriveOutcome[] = [];
        for (const callId of ids) {
          results.push(await redriveDeadLetter({ store, queues, policy: config.calls }, callId));
          if (!command.json) out.stderr(`\r${results.length}/${ids.length}`);
        }
        if (!command.json && ids.length > 0) out.stderr('\n');
        if (command.json) out.stdout(`${JSON.stringify(results)}\n`);
        else if (results.length === 0) out.stdout('no dead letters\n');
        else
          for (const r of results) {
            out.stdout(`${r.callId}\t${r.outcome}${r.outcome === 'skipped' ? `: ${r.reason}` : ''}\n`);
          }
        const missing = results.find((r) => r.outcome === 'not-found');
        if (missing && !('all' in command.target)) throw new UsageError(`no dead letter with call id "${missing.callId}" (see voice-agent queue dead-letters)`);
        return 0;
      }
    }
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new WorldError(`queue command failed: ${errorMessage(err)}`);
  } finally {
    await queues.close();
    redis.disconnect();
  }
}
