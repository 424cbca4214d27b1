/** `npm run diff` flags, parsed and checked (pure: argv in, options or a UsageError naming the flag out). */
import { parseArgs } from 'node:util';
import { joinNegativeNumbers, UsageError, usageFromParseArgs } from './cli.js';
import { DIFF_FORMATS, type DiffFormat } from './plan-diff-format.js';

export const DIFF_USAGE = `usage: npm run diff -- --base <git-ref> [--head <git-ref>] [options]
       npm run diff -- --base-plan FILE --head-plan FILE [options]
  --base <git-ref>      the revision to compare against, planned by its own code in a temporary worktree
  --head <git-ref>      the revision to compare (default: this working tree)
  --base-plan FILE      a saved \`npm run plan -- --stack all --json\` output, instead of --base
  --head-plan FILE      the same for the head side
  --stacks all|a,b      stacks to show (default all: those of either side)
  --format table|markdown|json   (default table)
  --out FILE            write there instead of stdout
  --fail-on-increase-percent N   exit 3 when a stack's monthly cost grew by more than N%
  --save-plans DIR      also write the two sides' plans to DIR/base-plan.json and DIR/head-plan.json
Exit: 0 done, 3 a cost increase over the limit, 2 a bad flag / ref / stack, 1 a failure.`;

/** Exit code when a stack's monthly cost grew by more than --fail-on-increase-percent. */
export const EXIT_COST_INCREASE = 3;

export interface DiffArgs {
  base?: string;
  head?: string;
  basePlan?: string;
  headPlan?: string;
  /** Stack names to show; 'all' shows every stack of either side. */
  stacks: 'all' | string[];
  format: DiffFormat;
  out?: string;
  failOnIncreasePercent?: number;
  savePlans?: string;
  help: boolean;
}

const STACK_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export function parseDiffArgs(argv: readonly string[]): DiffArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args: joinNegativeNumbers(argv),
      options: {
        base: { type: 'string' },
        head: { type: 'string' },
        'base-plan': { type: 'string' },
        'head-plan': { type: 'string' },
        stacks: { type: 'string', default: 'all' },
        format: { type: 'string', default: 'table' },
        out: { type: 'string' },
        'fail-on-increase-percent': { type: 'string' },
        'save-plans': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw usageFromParseArgs(error, 'npm run diff --');
  }
  const args: DiffArgs = { stacks: 'all', format: 'table', help: values.help };
  if (values.help) return args;

  if (!DIFF_FORMATS.includes(values.format as DiffFormat)) {
    throw new UsageError(`--format ${JSON.stringify(values.format)}: one of ${DIFF_FORMATS.join(', ')}`);
  }
  args.format = values.format as DiffFormat;

  const gitMode = values.base !== undefined || values.head !== undefined;
  const fileMode = values['base-plan'] !== undefined || values['head-plan'] !== undefined;
  if (gitMode && fileMode) throw new UsageError('--base/--head and --base-plan/--head-plan: use one pair or the other');
  if (fileMode) {
    if (values['base-plan'] === undefined || values['head-plan'] === undefined) {
      throw new UsageError(`${values['base-plan'] === undefined ? '--base-plan' : '--head-plan'} is required with ${values['base-plan'] === undefined ? '--head-plan' : '--base-plan'}`);
    }
    args.basePlan = values['base-plan'];
    args.headPlan = values['head-plan'];
  } else {
    if (values.base === undefined) throw new UsageError('--base <git-ref> (or --base-plan FILE --head-plan FILE) is required (see npm run diff -- --help)');
    if (values.base.trim() === '' || values.base.startsWith('-')) throw new UsageError(`--base ${JSON.stringify(values.base)}: a git ref (branch, tag, commit)`);
    if (values.head !== undefined && (values.head.trim() === '' || values.head.startsWith('-'))) {
      throw new UsageError(`--head ${JSON.stringify(values.head)}: a git ref (branch, tag, commit)`);
    }
    args.base = values.base;
    if (values.head !== undefined) args.head = values.head;
  }

  if (values.stacks !== 'all') {
    const names = values.stacks.split(',').map((s) => s.trim());
    const bad = names.find((n) => !STACK_NAME.test(n));
    if (bad !== undefined) throw new UsageError(`--stacks ${JSON.stringify(values.stacks)}: "all" or stack names separated by commas (bad: ${JSON.stringify(bad)})`);
    args.stacks = [...new Set(names)];
  }

  const limit = values['fail-on-increase-percent'];
  if (limit !== undefined) {
    const n = Number(limit);
    if (limit.trim() === '' || !Number.isFinite(n) || n < 0) {
      throw new UsageError(`--fail-on-increase-percent ${JSON.stringify(limit)}: a number of percent, 0 or more`);
    }
    args.failOnIncreasePercent = n;
  }
  if (values.out !== undefined) {
    if (values.out.trim() === '') throw new UsageError('--out "": a file path');
    args.out = values.out;
  }
  if (values['save-plans'] !== undefined) {
    if (values['save-plans'].trim() === '') throw new UsageError('--save-plans "": a directory');
    args.savePlans = values['save-plans'];
  }
  return args;
}
