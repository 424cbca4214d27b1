/**
 * `npm run diff` end to end, on a throwaway git repository: this project's files committed twice
 * (the second commit raises one stack's minutes and adds a stack), its node_modules reused the way
 * the diff reuses them for a worktree (same package-lock.json), each revision planned by its own
 * code. Checks what the grown, untouched and added stacks show, secrets, the comment size, the
 * JSON names and every exit code.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkNodeModules, workspacePackages } from '../../scripts/lib/plan-diff-checkout.js';
import type { SavedStackPlan } from '../../scripts/lib/plan-diff.js';
import { DIFF_MARKER, MARKDOWN_LIMIT_CHARS } from '../../scripts/lib/plan-diff-format.js';
import { createMocks } from '../../scripts/lib/pulumi-mocks.js';
import { REPO_ROOT } from '../../scripts/lib/stacks.js';

const work = mkdtempSync(join(tmpdir(), 'plan-diff-test-'));
const repo = join(work, 'repo');

function git(...args: string[]): string {
  const r = spawnSync('git', ['-C', repo, '-c', 'user.name=plan-diff test', '-c', 'user.email=plan-diff@example.com', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

/** Runs the diff CLI in the throwaway repository; `npm` runs it through package.json as users do. */
function diff(args: string[], via: 'node' | 'npm' = 'node'): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const [command, prefix] = via === 'npm' ? ['npm', ['run', '-s', 'diff', '--']] : [process.execPath, ['--import', 'tsx', 'scripts/diff.ts']];
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_') && !k.startsWith('PULUMI_')));
  return new Promise((resolve, reject) => {
    const child = spawn(command as string, [...(prefix as string[]), ...args], { cwd: repo, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr: stderr.split('\n').filter((l) => l && !l.startsWith('npm warn')).join('\n') }));
  });
}

const mainRun = { code: null as number | null, stderr: '', json: {} as DiffJson, base: [] as SavedStackPlan[], head: [] as SavedStackPlan[], texts: [] as string[] };

interface DiffJson {
  version: string;
  currency: string;
  projects: Array<{
    name: string;
    pastBreakdown: { totalMonthlyCost: string } | null;
    breakdown: { totalMonthlyCost: string };
    diff: { totalMonthlyCost: string };
    changes: {
      status: string;
      plan: Array<{ field: string; before: unknown; after: unknown }>;
      resources: { added: Array<{ type: string; name: string }>; removed: Array<{ type: string; name: string; impact?: string }>; changed: Array<{ type: string; action: string }> };
      cost: { lines: unknown[] };
    };
  }>;
  pastTotalMonthlyCost: string;
  totalMonthlyCost: string;
  diffTotalMonthlyCost: string;
}

beforeAll(async () => {
  // This project's files as they are now (tracked and new, not ignored), committed.
  const files = spawnSync('git', ['-C', REPO_ROOT, 'ls-files', '-z', '--cached', '--others', '--exclude-standard'], { encoding: 'utf8' }).stdout.split('\0').filter(Boolean);
  for (const file of files) {
    // Two example stacks are enough (one to grow, one to leave alone) and keep the test short.
    const otherStack = /^stacks\/Pulumi\..+\.yaml$/.test(file) && !['stacks/Pulumi.small.yaml', 'stacks/Pulumi.mid.yaml'].includes(file);
    if (!existsSync(join(REPO_ROOT, file)) || otherStack) continue;
    mkdirSync(dirname(join(repo, file)), { recursive: true });
    cpSync(join(REPO_ROOT, file), join(repo, file));
  }
  spawnSync('git', ['init', '-q', '-b', 'main', repo]);
  git('add', '-A');
  git('commit', '-q', '-m', 'base');
  // Its dependencies: this project's node_modules, linked as the diff links them for a worktree
  // (the diff's own worktree then runs the whole path, `npm run prepare` included), and the
  // common workspace as built here.
  linkNodeModules(join(REPO_ROOT, 'node_modules'), repo, workspacePackages(repo));
  cpSync(join(REPO_ROOT, 'common', 'dist'), join(repo, 'common', 'dist'), { recursive: true });

  // Second commit: mid grows to 150,000 minutes (tier large), a new stack "extra".
  const midFile = join(repo, 'stacks', 'Pulumi.mid.yaml');
  writeFileSync(midFile, readFileSync(midFile, 'utf8').replace('voice-agent-infra:monthlyMinutes: 50000', 'voice-agent-infra:monthlyMinutes: 150000'));
  expect(readFileSync(midFile, 'utf8')).toContain('150000');
  writeFileSync(join(repo, 'stacks', 'Pulumi.extra.yaml'), readFileSync(join(repo, 'stacks', 'Pulumi.small.yaml'), 'utf8').replace('15000', '12000'));
  git('add', '-A');
  git('commit', '-q', '-m', 'grow mid, add extra');

  const out = join(work, 'diff.json');
  const r = await diff(['--base', 'HEAD~1', '--format', 'json', '--out', out, '--save-plans', join(work, 'plans')], 'npm');
  mainRun.code = r.code;
  mainRun.stderr = r.stderr;
  if (r.code === 0) {
    mainRun.json = JSON.parse(readFileSync(out, 'utf8')) as DiffJson;
    mainRun.base = JSON.parse(readFileSync(join(work, 'plans', 'base-plan.json'), 'utf8')) as SavedStackPlan[];
    mainRun.head = JSON.parse(readFileSync(join(work, 'plans', 'head-plan.json'), 'utf8')) as SavedStackPlan[];
    mainRun.texts.push(readFileSync(out, 'utf8'));
  }
}, 180_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

const project = (name: string) => mainRun.json.projects.find((p) => p.name === name)!;
const cents = (usd: number) => Math.round(usd * 100);
const planOf = (plans: SavedStackPlan[], stack: string) => plans.find((p) => p.stack === stack)!;
const savedPlans = () => ['--base-plan', join(work, 'plans', 'base-plan.json'), '--head-plan', join(work, 'plans', 'head-plan.json')];

describe('npm run diff -- --base HEAD~1 on a two-commit repository', () => {
  it('exits 0, reports progress on stderr and removes its worktree', () => {
    expect(mainRun.code, mainRun.stderr).toBe(0);
    expect(mainRun.stderr).toMatch(/diff: base: worktree at [0-9a-f]{12}/);
    expect(mainRun.stderr).toContain('diff: base: dependencies reused (same package-lock.json)');
    expect(git('worktree', 'list').split('\n')).toHaveLength(1);
  });

  it('the grown stack shows more workers and nodes, its added resources, the dropped single node and a cost delta equal to the difference of the totals', () => {
    const mid = project('mid');
    expect(mid.changes.status).toBe('changed');
    expect(mid.changes.plan).toEqual(expect.arrayContaining([{ field: 'tier', before: 'mid', after: 'large' }, { field: 'monthly minutes', before: 50_000, after: 150_000 }]));
    const workers = mid.changes.plan.find((p) => p.field === 'agent workers')!;
    const nodes = mid.changes.plan.find((p) => p.field === 'LiveKit nodes')!;
    expect(workers.before).not.toEqual(workers.after);
    expect(nodes).toEqual({ field: 'LiveKit nodes', before: '1', after: '2' });
    expect(mid.changes.resources.added.map((r) => r.type)).toEqual(expect.arrayContaining(['aws:elasticache/replicationGroup:ReplicationGroup', 'aws:autoscaling/group:Group']));
    expect(mid.changes.resources.removed.find((r) => r.type === 'aws:ec2/instance:Instance')?.impact).toMatch(/drops the calls/);
    const [before, after] = [planOf(mainRun.base, 'mid').cost.monthlyUsd, planOf(mainRun.head, 'mid').cost.monthlyUsd];
    expect(after).toBeGreaterThan(before);
    expect(mid.diff.totalMonthlyCost).toBe(((cents(after) - cents(before)) / 100).toFixed(2));
    expect(mid.pastBreakdown!.totalMonthlyCost).toBe((cents(before) / 100).toFixed(2));
    expect(mid.breakdown.totalMonthlyCost).toBe((cents(after) / 100).toFixed(2));
  });

  it('untouched stacks show no change; the added stack shows as added with all its resources', () => {
    for (const name of ['small']) {
      const p = project(name);
      expect(p.changes.status, name).toBe('unchanged');
      expect(p.diff.totalMonthlyCost, name).toBe('0.00');
      expect(p.changes.plan, name).toEqual([]);
      expect(p.changes.resources, name).toMatchObject({ added: [], removed: [], changed: [] });
    }
    const extra = project('extra');
    expect(extra.changes.status).toBe('added');
    expect(extra.pastBreakdown).toBeNull();
    expect(extra.changes.resources.added).toHaveLength(planOf(mainRun.head, 'extra').resources!.length);
  });

  it('has the JSON names Infracost readers expect', () => {
    expect(mainRun.json).toMatchObject({ version: '0.2', currency: 'USD' });
    for (const key of ['pastTotalMonthlyCost', 'totalMonthlyCost', 'diffTotalMonthlyCost'] as const) expect(mainRun.json[key]).toMatch(/^-?\d+\.\d{2}$/);
    expect(mainRun.json.projects.map((p) => p.name)).toEqual(['small', 'mid', 'extra']);
  });

  it('markdown from the saved plans: the marker, one summary line per stack, under the size limit; table too; no secret value, no checkout path anywhere', async () => {
    const [markdown, table] = await Promise.all([diff([...savedPlans(), '--format', 'markdown']), diff(savedPlans())]);
    expect(markdown.code, markdown.stderr).toBe(0);
    expect(markdown.stdout.startsWith(`${DIFF_MARKER}\n`)).toBe(true);
    expect(markdown.stdout.length).toBeLessThan(MARKDOWN_LIMIT_CHARS);
    expect(markdown.stdout).toMatch(/- \*\*mid\*\*: monthly estimate up \$[\d,]+ \(\+\d+%\) to \$[\d,]+; \d+ resources added, \d+ removed/);
    expect(markdown.stdout).toMatch(/- \*\*small\*\*: no change/);
    expect(markdown.stdout).toMatch(/- \*\*extra\*\*: new stack/);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toContain('== mid (changed, tier mid -> large)');

    // The values the engine would keep secret: the random passwords' results, as the mocks compute them.
    const { mocks } = createMocks();
    const passwords = mainRun.head.flatMap((p) => p.resources ?? []).filter((r) => r.type === 'random:index/randomPassword:RandomPassword');
    const secrets = await Promise.all(
      passwords.map(async (r) => {
        const { state } = mocks.newResource({ type: r.type, name: r.name, inputs: r.inputs, custom: true } as pulumi.runtime.MockResourceArgs) as pulumi.runtime.MockResourceResult;
        expect(await pulumi.isSecret(pulumi.output(state.result)), r.name).toBe(true);
        return new Promise<string>((resolve) => pulumi.output(state.result as string).apply(resolve));
      }),
    );
    expect(secrets.length).toBeGreaterThan(0);
    for (const secret of secrets) expect(secret).toMatch(/^[0-9a-zA-Z]{16,}$/);
    for (const text of [...mainRun.texts, markdown.stdout, table.stdout, readFileSync(join(work, 'plans', 'head-plan.json'), 'utf8')]) {
      for (const secret of secrets) expect(text.includes(secret)).toBe(false);
      expect(text.includes(repo)).toBe(false);
    }
  });

  it('exits 3 when a stack grew by more than --fail-on-increase-percent, 0 under it', async () => {
    const [over, under] = await Promise.all([diff([...savedPlans(), '--fail-on-increase-percent', '10']), diff([...savedPlans(), '--fail-on-increase-percent', '100000'])]);
    expect(over.code).toBe(3);
    expect(over.stderr).toMatch(/^diff: monthly cost grew by more than 10% \(--fail-on-increase-percent\): mid \+\d+\.\d%$/m);
    expect(over.stdout).toContain('== mid'); // the diff is still printed
    expect(under.code, under.stderr).toBe(0);
  });

  it('exits 2 with one line on a user error: unknown ref, unknown stack, bad flag, unreadable plan', async () => {
    const results = await Promise.all([
      diff(['--base', 'no-such-ref']),
      diff(['--base', 'HEAD~1', '--stacks', 'mid,nope']),
      diff(['--base', 'HEAD~1', '--format', 'yaml']),
      diff(['--base-plan', join(work, 'missing.json'), '--head-plan', join(work, 'plans', 'head-plan.json')]),
    ]);
    const expected = [
      /^diff: --base "no-such-ref": not a commit in .* \(git rev-parse\)$/,
      /^diff: --stacks "mid,nope": no stack "nope" at base or head; stacks: (small|mid|extra)(, (small|mid|extra)){2}$/,
      /^diff: --format "yaml": one of table, markdown, json$/,
      /^diff: --base-plan ".*missing\.json": cannot read it \(ENOENT\)$/,
    ];
    results.forEach((r, i) => {
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr.split('\n'), r.stderr).toHaveLength(1);
      expect(r.stderr).toMatch(expected[i]!);
      expect(r.stdout).toBe('');
    });
  });

  it('exits 1 with one line when a revision cannot be planned, and leaves no worktree behind', async () => {
    // A revision whose plan CLI fails (as a crash in the program would make it fail).
    const plan = join(repo, 'scripts', 'plan.ts');
    writeFileSync(plan, `process.stderr.write('plan: broken on purpose\\n');\nprocess.exit(1);\n${readFileSync(plan, 'utf8')}`);
    git('commit', '-q', '-am', 'break the plan');
    const r = await diff(['--base', 'HEAD']);
    expect(r.code, r.stderr).toBe(1);
    const last = r.stderr.split('\n').at(-1)!;
    expect(last).toMatch(/^diff: (base|head): npm run plan failed \(exit 1\): plan: broken on purpose$/);
    expect(git('worktree', 'list').split('\n')).toHaveLength(1);
  });
});
