/**
 * `npm run diff -- --base <git-ref> [--head <git-ref>] [--stacks all|a,b] [--format table|markdown|json]
 *  [--out FILE] [--fail-on-increase-percent N] [--save-plans DIR]`, or `--base-plan FILE --head-plan FILE`:
 * the offline plan of two revisions, diffed per stack (plan figures, resources, cost). Each git
 * revision is planned by its own code in a temporary worktree (removed afterwards); the head
 * defaults to this working tree. Offline, no credentials; progress on stderr, the diff on stdout.
 * Exit 0; 3 when a stack's monthly cost grew by more than --fail-on-increase-percent; 2 on a user
 * error (flag, ref, stack) with one line; 1 on a failure.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, UsageError } from './lib/cli.js';
import { diffPlans, type SavedStackPlan, stacksOverIncrease } from './lib/plan-diff.js';
import { type DiffArgs, DIFF_USAGE, EXIT_COST_INCREASE, parseDiffArgs } from './lib/plan-diff-args.js';
import {
  addWorktree,
  parseSavedPlans,
  planCheckout,
  prepareDependencies,
  type Progress,
  resolveCommit,
  stackNamesAt,
  stackNamesIn,
  type Worktree,
} from './lib/plan-diff-checkout.js';
import { type DiffMeta, formatDiffJson, formatDiffMarkdown, formatDiffTable } from './lib/plan-diff-format.js';
import { REPO_ROOT } from './lib/stacks.js';

const progress: Progress = (line) => process.stderr.write(`diff: ${line}\n`);

interface Sides {
  base: SavedStackPlan[];
  head: SavedStackPlan[];
  meta: Omit<DiffMeta, 'generatedAt'>;
}

function readPlanFile(file: string, flag: string): SavedStackPlan[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`${flag} ${JSON.stringify(file)}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  return parseSavedPlans(text, `${flag} ${file}`);
}

function checkStacks(wanted: DiffArgs['stacks'], known: readonly string[]): void {
  if (wanted === 'all') return;
  const unknown = wanted.filter((s) => !known.includes(s));
  if (unknown.length > 0) {
    throw new UsageError(`--stacks ${JSON.stringify(wanted.join(','))}: no stack ${unknown.map((s) => JSON.stringify(s)).join(', ')} at base or head; stacks: ${[...new Set(known)].join(', ') || '(none)'}`);
  }
}

/** Plans both sides at once: each git revision in its own worktree, the working tree in place. */
async function planSides(args: DiffArgs): Promise<Sides> {
  const baseCommit = resolveCommit(REPO_ROOT, args.base!, '--base');
  const headCommit = args.head === undefined ? undefined : resolveCommit(REPO_ROOT, args.head, '--head');
  checkStacks(args.stacks, [...stackNamesAt(REPO_ROOT, baseCommit), ...(headCommit ? stackNamesAt(REPO_ROOT, headCommit) : stackNamesIn(REPO_ROOT))]);

  const controller = new AbortController();
  const worktrees: Worktree[] = [];
  const removeAll = () => worktrees.forEach((w) => w.remove());
  const onSignal = (signal: NodeJS.Signals) => {
    controller.abort();
    removeAll();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const side = async (label: 'base' | 'head', commit: string | undefined): Promise<SavedStackPlan[]> => {
    if (commit === undefined) return planCheckout(REPO_ROOT, label, progress, controller.signal);
    progress(`${label}: worktree at ${commit.slice(0, 12)}`);
    const worktree = addWorktree(REPO_ROOT, commit, label);
    worktrees.push(worktree);
    await prepareDependencies(worktree.dir, REPO_ROOT, label, progress, controller.signal);
    return planCheckout(worktree.dir, label, progress, controller.signal);
  };
  try {
    // The first failure stops the other side (its processes are killed), then both are awaited
    // before the worktrees go.
    const stopOthers = (error: unknown) => {
      if (!controller.signal.aborted) {
        controller.abort();
        throw error;
      }
      throw Object.assign(new Error('stopped'), { stopped: true });
    };
    const results = await Promise.allSettled([side('base', baseCommit).catch(stopOthers), side('head', headCommit).catch(stopOthers)]);
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected' && !(r.reason as { stopped?: boolean }).stopped);
    if (failure) throw failure.reason;
    const [base, head] = results.map((r) => (r as PromiseFulfilledResult<SavedStackPlan[]>).value) as [SavedStackPlan[], SavedStackPlan[]];
    return {
      base,
      head,
      meta: { base: { label: args.base!, commit: baseCommit }, head: headCommit ? { label: args.head!, commit: headCommit } : { label: 'working tree' } },
    };
  } finally {
    removeAll();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function main(): Promise<void> {
  const args = parseDiffArgs(process.argv.slice(2));
  if (args.help) {
    process.stdout.write(`${DIFF_USAGE}\n`);
    return;
  }
  const sides: Sides =
    args.basePlan !== undefined
      ? {
          base: readPlanFile(args.basePlan, '--base-plan'),
          head: readPlanFile(args.headPlan!, '--head-plan'),
          meta: { base: { label: args.basePlan }, head: { label: args.headPlan! } },
        }
      : await planSides(args);
  checkStacks(args.stacks, [...sides.base, ...sides.head].map((p) => p.stack ?? ''));

  const diff = diffPlans(sides.base, sides.head, args.stacks === 'all' ? undefined : args.stacks);
  const meta: DiffMeta = { ...sides.meta, generatedAt: new Date().toISOString() };
  if (args.savePlans !== undefined) {
    mkdirSync(args.savePlans, { recursive: true });
    writeFileSync(join(args.savePlans, 'base-plan.json'), `${JSON.stringify(sides.base, null, 2)}\n`);
    writeFileSync(join(args.savePlans, 'head-plan.json'), `${JSON.stringify(sides.head, null, 2)}\n`);
    progress(`plans saved in ${args.savePlans}/base-plan.json and head-plan.json`);
  }
  const text =
    args.format === 'json'
      ? formatDiffJson(diff, meta, sides.base, sides.head)
      : args.format === 'markdown'
        ? formatDiffMarkdown(diff, meta)
        : formatDiffTable(diff, meta);
  if (args.out !== undefined) {
    writeFileSync(args.out, text);
    progress(`wrote ${args.out}`);
  } else {
    process.stdout.write(text);
  }

  if (args.failOnIncreasePercent !== undefined) {
    const over = stacksOverIncrease(diff, args.failOnIncreasePercent);
    if (over.length > 0) {
      const list = over.map((s) => `${s.stack} +${s.cost.monthlyUsd.percent!.toFixed(1)}%`).join(', ');
      process.stderr.write(`diff: monthly cost grew by more than ${args.failOnIncreasePercent}% (--fail-on-increase-percent): ${list}\n`);
      process.exitCode = EXIT_COST_INCREASE;
    }
  }
}

await runCli('diff', main);
