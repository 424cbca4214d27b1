/**
 * CLI plumbing shared by the scripts: exit 0 on success, 2 with one line on a user error (bad flag,
 * bad config), 1 with one line on a failure of the world (network, credentials, files).
 */
import { ConfigError } from '../../components/config.js';

/** A bad command line: names the flag. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export const EXIT_USER_ERROR = 2;
export const EXIT_WORLD_ERROR = 1;

/** Runs a CLI main; user errors print one line and exit 2, anything else one line and exit 1. */
export async function runCli(name: string, main: () => Promise<void> | void): Promise<void> {
  try {
    await main();
  } catch (error) {
    if (error instanceof UsageError || error instanceof ConfigError) {
      process.stderr.write(`${name}: ${error.message}\n`);
      process.exitCode = EXIT_USER_ERROR;
      return;
    }
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`${name}: ${message.split('\n')[0]}\n`);
    if (process.env.DEBUG) process.stderr.write(`${(error as Error)?.stack ?? ''}\n`);
    process.exitCode = EXIT_WORLD_ERROR;
  }
}

/** Node's parseArgs errors, rephrased as one line that names the flag. */
export function usageFromParseArgs(error: unknown, command: string): UsageError {
  const message = error instanceof Error ? error.message.split('\n')[0]! : String(error);
  return new UsageError(`${message.replace(/\. To specify.*$/, '').replace(/\.$/, '')} (see ${command} --help)`);
}

/** `--flag -5` -> `--flag=-5`, so negative numbers reach validation instead of confusing the parser. */
export function joinNegativeNumbers(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const next = args[i + 1];
    if (arg.startsWith('--') && !arg.includes('=') && next !== undefined && /^-\d|^-\.\d/.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}
