/**
 * The replace-on-change table against what the program creates and what the SDKs accept: every
 * resource type in the offline plans of the example stacks has an entry, and every input the
 * table names is an input of that type in the installed @pulumi/aws / @pulumi/random (the
 * Terraform attribute names translated right).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { offlinePlans, type OfflinePlan } from '../../scripts/lib/offline-plan.js';
import { AWS_REGION_RULE, isRegionalAwsType, REPLACE_ON_CHANGE } from '../../scripts/lib/plan-diff-replace.js';
import { REPO_ROOT } from '../../scripts/lib/stacks.js';
import { EXAMPLE_STACKS } from './helpers.js';

let plans: OfflinePlan[] = [];
beforeAll(async () => {
  plans = await offlinePlans(EXAMPLE_STACKS);
}, 120_000);

/** The input names of a resource's `XArgs` interface in the installed SDK's type declarations. */
function sdkInputs(type: string): Set<string> | null {
  const [pkg, module, kind] = type.split(':') as [string, string, string];
  const [folder, file] = module.split('/') as [string, string];
  const dts = pkg === 'random' ? join(REPO_ROOT, 'node_modules/@pulumi/random', `${file}.d.ts`) : join(REPO_ROOT, `node_modules/@pulumi/${pkg}`, folder, `${file}.d.ts`);
  if (!existsSync(dts)) return null;
  const text = readFileSync(dts, 'utf8');
  const body = new RegExp(`export interface ${kind}Args \\{([\\s\\S]*?)\\n\\}`).exec(text)?.[1];
  if (!body) return null;
  return new Set([...body.matchAll(/^ {4}(\w+)\??:/gm)].map((m) => m[1]!));
}

describe('the replace-on-change table', () => {
  it('has an entry for every resource type the example stacks create', () => {
    const types = new Set(plans.flatMap((p) => p.resources.filter((r) => r.id !== null).map((r) => r.type)));
    expect(types.size).toBeGreaterThan(30);
    const missing = [...types].filter((t) => !(t in REPLACE_ON_CHANGE));
    expect(missing, 'add them to scripts/lib/plan-diff-replace.ts, read from the provider').toEqual([]);
  });

  it('names inputs the SDK has', () => {
    for (const [type, rules] of Object.entries(REPLACE_ON_CHANGE)) {
      if (rules.replaceOn === 'all') continue;
      const inputs = sdkInputs(type);
      if (type.startsWith('docker-build:')) continue; // no rules
      expect(inputs, `${type}: no Args interface found`).not.toBeNull();
      for (const rule of [...rules.replaceOn, ...(isRegionalAwsType(type) ? [AWS_REGION_RULE] : [])]) {
        expect(inputs!.has(rule.path.split('.')[0]!), `${type}: ${rule.path}`).toBe(true);
      }
      for (const update of rules.disruptiveUpdates ?? []) for (const p of update.paths) expect(inputs!.has(p.split('.')[0]!), `${type}: ${p}`).toBe(true);
    }
  });
});
