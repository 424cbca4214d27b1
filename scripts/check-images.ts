/**
 * `npm run check:images -- --stack small` (or `--stack all`): before a first deploy, asks the
 * registries whether every image the stack's nodes pull exists, with `docker manifest inspect`
 * (the Docker CLI and registry access are needed; no daemon). Exit 0 when all exist, 1 naming each
 * one missing or unreachable, 2 on a bad flag or config.
 */
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { parseStackConfig } from '../components/config.js';
import { planDeployment } from '../components/plan/plan.js';
import { runCli, UsageError, usageFromParseArgs } from './lib/cli.js';
import { stackImages } from './lib/stack-images.js';
import { listStacks, stackValues } from './lib/stacks.js';

const USAGE = 'usage: npm run check:images -- --stack NAME|all';

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({ args: process.argv.slice(2), options: { stack: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true }));
  } catch (error) {
    throw usageFromParseArgs(error, 'npm run check:images --');
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (!values.stack) throw new UsageError('--stack is required (a stack name or all)');
  const stacks = values.stack === 'all' ? listStacks() : [values.stack];
  const images = new Map<string, string[]>();
  for (const stack of stacks) {
    const config = parseStackConfig(stackValues(stack));
    for (const { role, image } of stackImages(config, planDeployment(config))) images.set(image, [...(images.get(image) ?? []), `${stack}: ${role}`]);
  }
  const missing: string[] = [];
  for (const [image, users] of images) {
    const result = spawnSync('docker', ['manifest', 'inspect', image], { encoding: 'utf8', timeout: 60_000 });
    if (result.error) throw new Error(`cannot run docker (${result.error.message}); install the Docker CLI to check images`);
    const ok = result.status === 0;
    process.stdout.write(`${ok ? 'ok    ' : 'NOT OK'}  ${image}  (${users.join('; ')})\n`);
    if (!ok) missing.push(`${image}: ${(result.stderr || result.stdout).trim().split('\n')[0] ?? 'not found'}`);
  }
  if (missing.length > 0) throw new Error(`${missing.length} image(s) not found or not reachable: ${missing.join('; ')}`);
}

void runCli('check:images', main);
