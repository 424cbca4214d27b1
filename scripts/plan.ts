/**
 * `npm run plan -- --stack mid [--json]` or `npm run plan -- --minutes 50000 [flags] [--json]`:
 * the capacity plan of a stack and its cost, readable by default, the JSON contract with --json.
 * Flags override the stack file's values (or the defaults, with --minutes).
 */
import { parseArgs } from 'node:util';
import { UsageError, joinNegativeNumbers, runCli, usageFromParseArgs } from './lib/cli.js';
import { FLAG_KEYS, type PlanFlag as Flag, reportWithFlags } from './lib/plan-flags.js';
import { formatPlan } from './lib/plan-format.js';
import { listStacks } from './lib/stacks.js';

const USAGE = `usage: npm run plan -- (--stack NAME | --minutes N) [--tier small|mid|large] [--avg-call-minutes N]
  [--business-days N] [--busy-hour-share S] [--spike-multiplier N] [--max-wait-seconds N]
  [--service-level S] [--json]`;

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      args: joinNegativeNumbers(process.argv.slice(2)),
      options: {
        stack: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
        ...(Object.fromEntries(Object.keys(FLAG_KEYS).map((f) => [f, { type: 'string' }])) as Record<Flag, { type: 'string' }>),
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (error) {
    throw usageFromParseArgs(error, 'npm run plan --');
  }
  const { values } = parsed;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (!values.stack && values.minutes === undefined) throw new UsageError('--stack or --minutes is required (see npm run plan -- --help)');

  const stacks = values.stack === 'all' ? listStacks() : values.stack ? [values.stack] : [null];
  const flags = Object.fromEntries(
    Object.keys(FLAG_KEYS)
      .filter((f) => values[f as Flag] !== undefined)
      .map((f) => [f, values[f as Flag] as string]),
  ) as Partial<Record<Flag, string>>;

  const reports = stacks.map((stack) => reportWithFlags(stack, flags));

  if (values.json) {
    const json = reports.map((r) => r.report);
    process.stdout.write(`${JSON.stringify(values.stack === 'all' ? json : json[0], null, 2)}\n`);
    return;
  }
  process.stdout.write(`${reports.map((r) => formatPlan(r.report, r.plan.tierReason)).join('\n\n')}\n`);
}

await runCli('plan', main);
