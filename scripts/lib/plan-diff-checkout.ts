/**
 * The two sides of `npm run diff`: a git revision planned by its own code in a temporary
 * worktree (its dependencies reused from this checkout when its package-lock.json is the same,
 * installed with `npm ci` otherwise), or this checkout's working tree; and the saved plans that
 * `npm run plan -- --stack all --json` prints. Progress goes to a callback (stderr in the CLI).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from './cli.js';
import type { SavedStackPlan } from './plan-diff.js';

export type Progress = (line: string) => void;

/** A command's result; `code` null when it was killed. */
interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command in its own process group (killed whole on abort: the plan CLI starts one child
 * per stack). Each stderr line goes to `onLine` as it comes.
 */
export function run(
  command: string,
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; signal?: AbortSignal; onLine?: (line: string) => void },
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const out: Buffer[] = [];
    let err = '';
    let pending = '';
    const kill = () => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGTERM');
      } catch {
        // already gone
      }
    };
    options.signal?.addEventListener('abort', kill, { once: true });
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => {
      const text = d.toString('utf8');
      err += text;
      pending += text;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const l of lines) if (l.trim() && !l.startsWith('npm warn')) options.onLine?.(l);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      options.signal?.removeEventListener('abort', kill);
      if (pending.trim() && !pending.startsWith('npm warn')) options.onLine?.(pending);
      resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: err });
    });
  });
}

/** The last meaningful line of a command's stderr (npm's notices left out), for a one-line error. */
export function lastLine(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('npm warn') && !l.startsWith('npm notice') && !/^npm error (A complete log|code|path|command|cwd)/.test(l));
  return lines.at(-1) ?? 'no message';
}

function git(repo: string, args: readonly string[]) {
  const r = spawnSync('git', ['-C', repo, ...args], { encoding: 'utf8' });
  if (r.error) throw new Error(`git ${args[0]}: ${r.error.message}`);
  return { code: r.status, stdout: r.stdout.trim(), stderr: r.stderr.trim() };
}

/** The commit a ref names; an unknown ref is a user error naming the flag. */
export function resolveCommit(repo: string, ref: string, flag: string): string {
  const r = git(repo, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`]);
  if (r.code !== 0 || !r.stdout) throw new UsageError(`${flag} ${JSON.stringify(ref)}: not a commit in ${repo} (git rev-parse)`);
  return r.stdout;
}

/** How a checkout gets its dependencies. Pure: the two lock files in, the decision out. */
export type DependencyPlan = { kind: 'reuse' } | { kind: 'install'; reason: string } | { kind: 'impossible'; reason: string };

/**
 * Reuse this checkout's node_modules when the other checkout's package-lock.json is byte-for-byte
 * this one's (the same dependency tree `npm ci` would install); `npm ci` when it differs; no
 * lock file there cannot be installed reproducibly.
 */
export function dependencyPlan(checkoutLock: string | null, runningLock: string | null): DependencyPlan {
  if (checkoutLock === null) return { kind: 'impossible', reason: 'it has no package-lock.json (npm ci needs one)' };
  if (runningLock === null) return { kind: 'install', reason: 'this checkout has no package-lock.json to compare with' };
  if (checkoutLock === runningLock) return { kind: 'reuse' };
  return { kind: 'install', reason: "its package-lock.json differs from this checkout's" };
}

/** The npm workspaces of a checkout: package name -> its directory (plain paths and one-level `dir/*` globs). */
export function workspacePackages(checkoutDir: string): Map<string, string> {
  const manifest = JSON.parse(readFileSync(join(checkoutDir, 'package.json'), 'utf8')) as { workspaces?: string[] | { packages?: string[] } };
  const patterns = Array.isArray(manifest.workspaces) ? manifest.workspaces : (manifest.workspaces?.packages ?? []);
  const dirs = patterns.flatMap((p) =>
    p.endsWith('/*') && existsSync(join(checkoutDir, p.slice(0, -2)))
      ? readdirSync(join(checkoutDir, p.slice(0, -2))).map((d) => join(checkoutDir, p.slice(0, -2), d))
      : [join(checkoutDir, p)],
  );
  const packages = new Map<string, string>();
  for (const dir of dirs) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) packages.set((JSON.parse(readFileSync(file, 'utf8')) as { name: string }).name, dir);
  }
  return packages;
}

/**
 * Gives a checkout this checkout's installed dependencies: a node_modules of symlinks to the
 * packages (their real paths, so one copy of @pulumi/pulumi is loaded), except the workspace
 * packages, which point at the checkout's own workspace directories (its own common code).
 */
export function linkNodeModules(sourceNodeModules: string, checkoutDir: string, workspaces: ReadonlyMap<string, string>): void {
  const target = join(checkoutDir, 'node_modules');
  mkdirSync(target, { recursive: true });
  const scopesWithWorkspaces = new Set([...workspaces.keys()].filter((n) => n.startsWith('@')).map((n) => n.split('/')[0]!));
  for (const entry of readdirSync(sourceNodeModules)) {
    if (!scopesWithWorkspaces.has(entry)) {
      symlinkSync(realpathSync(join(sourceNodeModules, entry)), join(target, entry));
      continue;
    }
    mkdirSync(join(target, entry), { recursive: true });
    for (const name of readdirSync(join(sourceNodeModules, entry))) {
      const own = workspaces.get(`${entry}/${name}`);
      symlinkSync(own ?? realpathSync(join(sourceNodeModules, entry, name)), join(target, entry, name));
    }
  }
  for (const [name, dir] of workspaces) {
    const link = join(target, name);
    if (!existsSync(link)) {
      mkdirSync(join(link, '..'), { recursive: true });
      symlinkSync(dir, link);
    }
  }
}

function readIfExists(file: string): string | null {
  return existsSync(file) ? readFileSync(file, 'utf8') : null;
}

/** npm's environment for installs here: onnxruntime-node's install script would download (as in .ci/run). */
function npmEnv(): NodeJS.ProcessEnv {
  return { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' };
}

/**
 * Makes a checkout runnable: dependencies linked from `runningRoot` (same lock file) and its
 * workspaces built by its own `prepare` script, as `npm ci` would; or `npm ci`.
 */
export async function prepareDependencies(checkoutDir: string, runningRoot: string, label: string, progress: Progress, signal?: AbortSignal): Promise<void> {
  const plan = dependencyPlan(readIfExists(join(checkoutDir, 'package-lock.json')), readIfExists(join(runningRoot, 'package-lock.json')));
  if (plan.kind === 'impossible') throw new Error(`${label}: cannot install its dependencies: ${plan.reason}`);
  if (plan.kind === 'install') {
    progress(`${label}: npm ci (${plan.reason})`);
    const r = await run('npm', ['ci', '--no-audit', '--no-fund'], { cwd: checkoutDir, env: npmEnv(), signal });
    if (r.code !== 0) throw new Error(`${label}: npm ci failed (exit ${r.code}): ${lastLine(r.stderr)}`);
    return;
  }
  progress(`${label}: dependencies reused (same package-lock.json)`);
  linkNodeModules(join(runningRoot, 'node_modules'), checkoutDir, workspacePackages(checkoutDir));
  const r = await run('npm', ['run', '--if-present', '--silent', 'prepare'], { cwd: checkoutDir, env: npmEnv(), signal });
  if (r.code !== 0) throw new Error(`${label}: npm run prepare failed (exit ${r.code}): ${lastLine(r.stderr)}`);
}

/** A temporary worktree at a commit; `remove` deletes it and its git registration (safe to call twice). */
export interface Worktree {
  dir: string;
  remove(): void;
}

export function addWorktree(repo: string, commit: string, name: string): Worktree {
  const parent = mkdtempSync(join(tmpdir(), 'plan-diff-'));
  const dir = join(parent, name);
  const r = git(repo, ['worktree', 'add', '--detach', '--quiet', dir, commit]);
  if (r.code !== 0) {
    rmSync(parent, { recursive: true, force: true });
    throw new Error(`git worktree add ${commit.slice(0, 12)}: ${lastLine(r.stderr)}`);
  }
  let removed = false;
  return {
    dir,
    remove() {
      if (removed) return;
      removed = true;
      git(repo, ['worktree', 'remove', '--force', dir]);
      rmSync(parent, { recursive: true, force: true });
      git(repo, ['worktree', 'prune']);
    },
  };
}

/**
 * Checks that a document is what `npm run plan -- --json` prints (one stack or `--stack all`'s
 * list) and returns it as a list. `source` names where it came from, for the error.
 */
export function parseSavedPlans(text: string, source: string): SavedStackPlan[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${source}: not JSON (${(error as Error).message.split('\n')[0]})`);
  }
  const list = Array.isArray(value) ? value : [value];
  list.forEach((p, i) => {
    const why = planShapeProblem(p);
    if (why) throw new UsageError(`${source}: not the output of npm run plan -- --json (${Array.isArray(value) ? `element ${i}: ` : ''}${why})`);
  });
  return list as SavedStackPlan[];
}

function planShapeProblem(p: unknown): string | null {
  if (!p || typeof p !== 'object') return 'not an object';
  const plan = p as Record<string, unknown>;
  if (typeof plan.stack !== 'string') return 'no "stack" name (plan a stack file: --stack NAME or --stack all)';
  if (typeof plan.tier !== 'string') return 'no "tier"';
  const cost = plan.cost as Record<string, unknown> | undefined;
  if (!cost || typeof cost.monthlyUsd !== 'number' || !Array.isArray(cost.lines)) return 'no "cost" with "monthlyUsd" and "lines"';
  if (plan.resources !== undefined && plan.resources !== null && !Array.isArray(plan.resources)) return '"resources" is not a list';
  return null;
}

/** Plans every stack of a checkout with the checkout's own plan CLI (`plan --stack all --json`). */
export async function planCheckout(dir: string, label: string, progress: Progress, signal?: AbortSignal): Promise<SavedStackPlan[]> {
  progress(`${label}: planning every stack`);
  const r = await run(process.execPath, ['--import', 'tsx', join('scripts', 'plan.ts'), '--stack', 'all', '--json'], {
    cwd: dir,
    signal,
    onLine: (l) => progress(`${label}: ${l}`),
  });
  if (signal?.aborted) throw new Error(`${label}: stopped`);
  if (r.code === 2) throw new UsageError(`${label}: ${lastLine(r.stderr)}`);
  if (r.code !== 0) throw new Error(`${label}: npm run plan failed (exit ${r.code}): ${lastLine(r.stderr)}`);
  return withRepoPlaceholder(parseSavedPlans(r.stdout, `${label}: npm run plan output`), dir);
}

/** Stands in for the checkout's directory in plan values (the image build context), which differs between checkouts. */
export const REPO_PLACEHOLDER = '<repo>';

/** Replaces the checkout's absolute path in every string of the plans by REPO_PLACEHOLDER. */
export function withRepoPlaceholder<T>(value: T, dir: string): T {
  const roots = [...new Set([realpathSync(dir), dir])].sort((a, b) => b.length - a.length);
  const replace = (v: unknown): unknown => {
    if (typeof v === 'string') return roots.reduce((text, root) => text.split(root).join(REPO_PLACEHOLDER), v);
    if (Array.isArray(v)) return v.map(replace);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, replace(x)]));
    return v;
  };
  return replace(value) as T;
}

/** Stack names of a checkout (its stacks/Pulumi.<name>.yaml files), for validating --stacks before planning. */
export function stackNamesIn(dir: string): string[] {
  const stacks = join(dir, 'stacks');
  if (!existsSync(stacks)) return [];
  return readdirSync(stacks)
    .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
    .filter((n): n is string => Boolean(n));
}

/** Stack names at a commit, read from git without a checkout. */
export function stackNamesAt(repo: string, commit: string): string[] {
  const r = git(repo, ['ls-tree', '--name-only', `${commit}:stacks`]);
  if (r.code !== 0) return [];
  return r.stdout
    .split('\n')
    .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
    .filter((n): n is string => Boolean(n));
}
