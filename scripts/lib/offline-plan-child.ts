/**
 * Child process of the offline plan: `tsx scripts/lib/offline-plan-child.ts <stack> [<stack file>]` runs the real
 * Pulumi program (index.ts) under mocks with the stack file's config, as the engine would pass it,
 * and prints one JSON document: the resources registered and the stack outputs. One stack per
 * process, because Pulumi's runtime state is per process.
 * Exit 0 with the plan; 2 with {"error": {...config error}} on bad config; 1 on anything else.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as pulumi from '@pulumi/pulumi';
import { parse as parseYaml } from 'yaml';
import { CONFIG_NAMESPACE } from '../../components/config.js';
import { installMocks, redact, SECRET_PLACEHOLDER, waitForRegistrations } from './pulumi-mocks.js';
import { REPO_ROOT, stackFile } from './stacks.js';

/** The engine's view of a stack file's config: every key as a string (objects as JSON). */
export function engineConfig(yamlText: string): { config: Record<string, string>; secretKeys: string[] } {
  const doc = parseYaml(yamlText) as { config?: Record<string, unknown> } | null;
  const config: Record<string, string> = {};
  const secretKeys: string[] = [];
  for (const [key, value] of Object.entries(doc?.config ?? {})) {
    if (value && typeof value === 'object' && 'secure' in value) {
      // Encrypted values cannot be read offline; a placeholder keeps the key present and secret.
      config[key] = SECRET_PLACEHOLDER;
      secretKeys.push(key);
    } else {
      config[key] = typeof value === 'string' ? value : JSON.stringify(value);
    }
  }
  return { config, secretKeys };
}

async function resolve(value: unknown): Promise<unknown> {
  if (!pulumi.Output.isInstance(value) && (typeof value !== 'object' || value === null)) return value;
  const output = pulumi.output(value);
  const [plain, secret] = await Promise.all([new Promise<unknown>((r) => output.apply((v) => r(v))), pulumi.isSecret(output)]);
  return secret ? SECRET_PLACEHOLDER : redact(plain);
}

async function main(): Promise<void> {
  const stack = process.argv[2];
  if (!stack) throw new Error('usage: offline-plan-child <stack>');
  const { config, secretKeys } = engineConfig(readFileSync(process.argv[3] ?? stackFile(stack), 'utf8'));
  const region = config['aws:region'] ?? JSON.parse(config[`${CONFIG_NAMESPACE}:aws`] ?? '{}').region ?? 'us-east-1';
  const { resources, refusals } = await installMocks({ stack, config, secretKeys, region });

  const failures: unknown[] = [];
  process.on('unhandledRejection', (reason) => failures.push(reason));
  const program = (await import(pathToFileURL(join(REPO_ROOT, 'index.ts')).href)) as Record<string, unknown>;
  const outputs: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(program)) outputs[key] = await resolve(value);
  await waitForRegistrations();
  // What AWS would refuse fails the plan, every refusal listed (the first line is the message).
  if (refusals.length > 0) throw new Error(`${refusals.length} resource(s) AWS would refuse:\n${refusals.map((e) => e.message).join('\n')}`);
  if (failures.length > 0) throw failures[0];

  const plan = {
    stack,
    resources: resources.map((r) => ({
      type: r.type,
      name: r.name,
      parent: r.parent,
      id: r.id,
      inputs: r.inputs,
      ...(r.physicalName !== undefined ? { physicalName: r.physicalName } : {}),
      ...(r.options ? { options: r.options } : {}),
    })),
    outputs,
  };
  process.stdout.write(`${JSON.stringify(plan)}\n`);
}

main().catch((error: unknown) => {
  const cause = (error as { cause?: unknown })?.cause as { name?: string; key?: string; value?: unknown; allowed?: string } | undefined;
  if (cause?.name === 'ConfigError') {
    process.stdout.write(`${JSON.stringify({ error: { kind: 'config', key: cause.key, value: cause.value, allowed: cause.allowed } })}\n`);
    process.exit(2);
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`offline plan: ${error instanceof Error && message.includes('AWS would refuse') ? message : message.split('\n')[0]}\n`);
  if (process.env.DEBUG) process.stderr.write(`${(error as Error)?.stack ?? ''}\n`);
  process.exit(1);
});
