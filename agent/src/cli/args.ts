/**
 * Command-line parsing for `voice-agent`. Pure: argv in, a command out, or a UsageError whose
 * message is one line naming the flag or argument.
 */
import { parseArgs as parseNodeArgs } from 'node:util';

export type Role = 'intake' | 'dispatcher' | 'all' | 'agent' | 'drain-watch';

export type Command =
  | { kind: 'help' }
  | { kind: 'version' }
  | { kind: 'role'; role: Role }
  | { kind: 'queue-stats'; json: boolean }
  | { kind: 'queue-dead-letters'; json: boolean }
  | { kind: 'queue-retry'; target: { all: true } | { callId: string }; json: boolean }
  | { kind: 'sip-sync'; json: boolean };

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

const ROLES: readonly Role[] = ['intake', 'dispatcher', 'all', 'agent', 'drain-watch'];

export function parseArgs(argv: readonly string[]): Command {
  let parsed;
  try {
    parsed = parseNodeArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean' },
        json: { type: 'boolean' },
        all: { type: 'boolean' },
      },
    });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const flag = /'(-[^']*)'/.exec(message)?.[1];
    throw new UsageError(flag ? `unknown option ${flag} (see voice-agent --help)` : message);
  }
  const { values, positionals } = parsed;
  if (values.help) return { kind: 'help' };
  if (values.version) return { kind: 'version' };
  const [command, sub, ...rest] = positionals;
  if (command === undefined) throw new UsageError('missing command: one of agent, intake, dispatcher, all, drain-watch, queue (see voice-agent --help)');

  const noExtra = (allowed: readonly string[]) => {
    for (const flag of ['json', 'all'] as const) {
      if (values[flag] && !allowed.includes(flag)) throw new UsageError(`option --${flag} does not apply to "${[command, sub].filter(Boolean).join(' ')}"`);
    }
  };

  if ((ROLES as readonly string[]).includes(command)) {
    if (sub !== undefined) throw new UsageError(`unexpected argument "${sub}" after ${command}`);
    noExtra([]);
    return { kind: 'role', role: command as Role };
  }
  if (command === 'sip-sync') {
    if (sub !== undefined) throw new UsageError(`unexpected argument "${sub}" after sip-sync`);
    noExtra(['json']);
    return { kind: 'sip-sync', json: values.json ?? false };
  }
  if (command !== 'queue') {
    throw new UsageError(`unknown command "${command}": use agent, intake, dispatcher, all, drain-watch, queue or sip-sync (see voice-agent --help)`);
  }
  const json = values.json ?? false;
  switch (sub) {
    case 'stats':
    case 'dead-letters':
      if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}" after queue ${sub}`);
      noExtra(['json']);
      return { kind: sub === 'stats' ? 'queue-stats' : 'queue-dead-letters', json };
    case 'retry': {
      noExtra(['json', 'all']);
      if (values.all) {
        if (rest.length > 0) throw new UsageError('queue retry takes a call id or --all, not both');
        return { kind: 'queue-retry', target: { all: true }, json };
      }
      if (rest.length !== 1) throw new UsageError('queue retry needs one call id, or --all');
      return { kind: 'queue-retry', target: { callId: rest[0]! }, json };
    }
    case undefined:
      throw new UsageError('missing queue command: one of stats, dead-letters, retry');
    default:
      throw new UsageError(`unknown queue command "${sub}": use stats, dead-letters or retry`);
  }
}
