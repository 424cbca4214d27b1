/**
 * The offline resource plan: every resource the real program (index.ts) would create for a stack,
 * from a run under Pulumi mocks (mock ids, secrets as "[secret]"), with the stack outputs. No
 * cloud, no Pulumi CLI. Each stack runs in its own child process (Pulumi's runtime is per process).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { CONFIG_NAMESPACE, ConfigError } from '../../components/config.js';
import { setPath } from './plan-flags.js';
import type { RecordedResourceOptions } from './pulumi-mocks.js';
import { REPO_ROOT, stackFile } from './stacks.js';

/** One resource of the plan. */
export interface PlannedResource {
  /** Pulumi type token, e.g. "aws:ec2/instance:Instance". */
  type: string;
  /** Logical name, e.g. "voice-livekit". */
  name: string;
  /** Parent's logical name (components nest: voice -> voice-agents -> ...); null at the top. */
  parent: string | null;
  /** Mock id (custom resources), null for components. */
  id: string | null;
  /** Inputs as the engine would receive them; secrets as "[secret]". */
  inputs: Record<string, unknown>;
  /** The physical name the provider would give it (name, prefix or auto-name), where the type has one. */
  physicalName?: string;
  /** Resource options that decide replacements and that the policies read (ignoreChanges, replaceOnChanges, ...); absent when none is set. */
  options?: RecordedResourceOptions;
}

export interface OfflinePlan {
  stack: string;
  resources: PlannedResource[];
  /** Stack outputs; secrets as "[secret]". */
  outputs: Record<string, unknown>;
}

const CHILD = join(REPO_ROOT, 'scripts', 'lib', 'offline-plan-child.ts');

/**
 * Runs the program for one stack under mocks in a child process (config from stacks/Pulumi.<stack>.yaml,
 * or from `stackFile`). A bad stack config rejects with a ConfigError naming the file and key; any
 * other failure with an Error.
 */
export function offlinePlan(stack: string, options: { stackFile?: string } = {}): Promise<OfflinePlan> {
  const fileName = options.stackFile ?? `stacks/Pulumi.${stack}.yaml`;
  return new Promise((resolve, reject) => {
    const args = ['--import', 'tsx', CHILD, stack, ...(options.stackFile ? [options.stackFile] : [])];
    const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code) => {
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8').trim();
      if (code === 0) {
        try {
          resolve(JSON.parse(stdout) as OfflinePlan);
        } catch (error) {
          reject(new Error(`offline plan of ${stack}: unreadable output (${(error as Error).message})`));
        }
        return;
      }
      if (code === 2) {
        try {
          const { error } = JSON.parse(stdout) as { error: { key: string; value: unknown; allowed: string } };
          reject(new ConfigError(`${fileName}: voice-agent-infra:${error.key}`, error.value, error.allowed));
          return;
        } catch {
          // fall through to the generic failure
        }
      }
      reject(new Error(`offline plan of ${stack} failed (exit ${code}): ${stderr.split('\n').filter((l) => !l.startsWith('npm warn')).join(' ') || 'no message'}`));
    });
  });
}

/** Maps items through an async function, `concurrency` at a time, keeping their order. */
export async function mapConcurrently<T, R>(items: readonly T[], fn: (item: T) => Promise<R>, concurrency = 2): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}

/** Plans several stacks, two at a time (the machines have two cores). */
export function offlinePlans(stacks: readonly string[], concurrency = 2): Promise<OfflinePlan[]> {
  return mapConcurrently(stacks, (stack) => offlinePlan(stack), concurrency);
}

/** The plan's resources as an indented tree (components first, then their children), one line each. */
export function resourceTree(resources: readonly PlannedResource[]): string[] {
  const children = new Map<string | null, PlannedResource[]>();
  const names = new Set(resources.map((r) => r.name));
  for (const r of resources) {
    const parent = r.parent !== null && names.has(r.parent) ? r.parent : null;
    children.set(parent, [...(children.get(parent) ?? []), r]);
  }
  const lines: string[] = [];
  const visit = (parent: string | null, depth: number) => {
    const list = [...(children.get(parent) ?? [])].sort((a, b) => Number(b.id === null) - Number(a.id === null) || a.name.localeCompare(b.name));
    for (const r of list) {
      lines.push(`${'  '.repeat(depth)}${r.name}  ${shortType(r.type)}`);
      if (r.id === null) visit(r.name, depth + 1);
    }
  };
  visit(null, 0);
  return lines;
}

/** "aws:ec2/instance:Instance" -> "aws:ec2:Instance"; component types stay as they are. */
export function shortType(type: string): string {
  const [pkg, module, kind] = type.split(':');
  if (!module || !kind) return type;
  return `${pkg}:${module.split('/')[0]}:${kind}`;
}

/**
 * The offline plan of a stack with config values layered over its file (the plan CLI's flags):
 * the merged values go to a temporary stack file, as `pulumi config set` would have written them.
 */
export async function offlinePlanWithOverrides(stack: string, overrides: Readonly<Record<string, unknown>>): Promise<OfflinePlan> {
  if (Object.keys(overrides).length === 0) return offlinePlan(stack);
  const doc = parseYaml(readFileSync(stackFile(stack), 'utf8')) as { config: Record<string, unknown> };
  for (const [path, value] of Object.entries(overrides)) setPath(doc.config, `${CONFIG_NAMESPACE}:${path}`, value);
  const dir = mkdtempSync(join(tmpdir(), 'offline-plan-'));
  const file = join(dir, `Pulumi.${stack}.yaml`);
  try {
    writeFileSync(file, stringifyYaml(doc));
    return await offlinePlan(stack, { stackFile: file });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
