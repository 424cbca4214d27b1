/** The example and user stacks under stacks/: `Pulumi.<name>.yaml`, read with the one config loader. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { valuesFromStackFile } from '../../components/config.js';
import { UsageError } from './cli.js';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const STACKS_DIR = join(REPO_ROOT, 'stacks');

/** Stack names found in the stacks directory, in a stable order (small, mid, large first, then their Kubernetes twins). */
export function listStacks(dir = STACKS_DIR): string[] {
  const order = ['small', 'mid', 'large', 'k8s-small', 'k8s-mid', 'k8s-large'];
  const rank = (name: string) => (order.includes(name) ? order.indexOf(name) : order.length);
  return readdirSync(dir)
    .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
    .filter((n): n is string => Boolean(n))
    .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

export function stackFile(name: string, dir = STACKS_DIR): string {
  return join(dir, `Pulumi.${name}.yaml`);
}

/**
 * The raw `voice-agent-infra:*` values of one stack file (validate with parseStackConfig, after
 * layering any flags on top). A missing stack is a user error naming the flag.
 */
export function stackValues(name: string, flag = '--stack', dir = STACKS_DIR): Record<string, unknown> {
  const file = stackFile(name, dir);
  const shown = relative(process.cwd(), file) || file;
  if (!existsSync(file)) {
    throw new UsageError(`${flag} ${JSON.stringify(name)}: no stack file ${shown}; stacks: ${listStacks(dir).join(', ')}`);
  }
  return valuesFromStackFile(readFileSync(file, 'utf8'), shown);
}
