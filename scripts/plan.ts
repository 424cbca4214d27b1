/**
 * `npm run plan -- --stack mid [--json]` or `npm run plan -- --minutes 50000 [flags] [--json]`:
 * the capacity plan of a stack and its cost, readable by default, the JSON contract with --json.
 * Flags override the stack file's values (or the defaults, with --minutes).
 * With --stack, the plan also lists every resource the Pulumi program would create (the offline
 * plan: index.ts under Pulumi mocks, secrets as "[secret]"): `resources` in --json, a tree per
 * component in the readable form; --no-resources skips it.
 */
import { parseArgs } from 'node:util';
import { ConfigError } from '../components/config.js';
import { UsageError, joinNegativeNumbers, runCli, usageFromParseArgs } from './lib/cli.js';
import { FLAG_KEYS, type PlanFlag as Flag, reportWithFlags } from './lib/plan-flags.js';
import { formatPlan } from './lib/plan-format.js';
import { mapConcurrently, offlinePlanWithOverrides, type OfflinePlan, resourceTree } from './lib/offline-plan.js';
import { listStacks } from './lib/stacks.js';

const USAGE = `usage: npm run plan -- (--stack NAME | --minutes N) [--tier small|mid|large] [--avg-call-minutes N]
  [--business-days N] [--busy-hour-share S] [--spike-multiplier N] [--max-wait-seconds N]
  [--service-level S] [--json] [--no-resources]`;

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      args: joinNegativeNumbers(process.argv.slice(2)),
      options: {
        stack: { type: 'string' },
        json: { type: 'boolean', default: false },
        'no-resources': { type: 'boolean', default: false },
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
  const graphs = values['no-resources'] ? stacks.map(() => undefined) : await resourceGraphs(stacks, flags);

  if (values.json) {
    const json = reports.map((r, i) => (graphs[i] === undefined ? r.report : { ...r.report, resources: graphs[i] === null ? null : graphs[i]!.resources }));
    process.stdout.write(`${JSON.stringify(values.stack === 'all' ? json : json[0], null, 2)}\n`);
    return;
  }
  process.stdout.write(
    `${reports.map((r, i) => formatPlan(r.report, r.plan.tierReason) + formatResources(graphs[i])).join('\n\n')}\n`,
  );
}

/**
 * The offline plan of each named stack (two at a time), flags layered over the stack file. Without
 * a stack (--minutes) there is no AWS section to build from: undefined. A stack whose flags make it
 * unbuildable (e.g. --tier mid on a stack without a certificate) gets null and one line on stderr;
 * a stack file that is itself unbuildable is a user error.
 */
async function resourceGraphs(stacks: ReadonlyArray<string | null>, flags: Partial<Record<Flag, string>>): Promise<Array<OfflinePlan | null | undefined>> {
  const overrides = Object.fromEntries(Object.entries(flags).map(([flag, value]) => [FLAG_KEYS[flag as Flag], value]));
  return mapConcurrently(stacks, async (stack): Promise<OfflinePlan | null | undefined> => {
    if (!stack) return undefined;
    if (stacks.length > 1) process.stderr.write(`plan: resources of ${stack}...\n`);
    try {
      return await offlinePlanWithOverrides(stack, overrides);
    } catch (error) {
      if (!(error instanceof ConfigError) || Object.keys(overrides).length === 0) throw error;
      process.stderr.write(`plan: ${stack}: no resource list with these flags: ${error.message}\n`);
      return null;
    }
  });
}

function formatResources(graph: OfflinePlan | null | undefined): string {
  if (!graph) return '';
  const custom = graph.resources.filter((r) => r.id !== null).length;
  return `\n\nResources (the Pulumi program under mocks: ${custom} resources in ${graph.resources.length - custom} components)\n${resourceTree(graph.resources)
    .map((l) => `  ${l}`)
    .join('\n')}`;
}

await runCli('plan', main);
