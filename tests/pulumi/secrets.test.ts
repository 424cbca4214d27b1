/**
 * Secrets, in process (mocks from setup-mocks.ts mark secrets as the engine does): the large stack
 * is built once, then its secret values are looked for everywhere they must not be.
 */
import * as pulumi from '@pulumi/pulumi';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AwsVoiceStack } from '../../components/aws/voice-stack.js';
import { buildStackReport } from '../../components/report.js';
import { userDataText } from '../../components/policy/policies.js';
import { REPO_ROOT } from '../../scripts/lib/stacks.js';
import { exampleConfig, refusedRegistrations, registeredResources, valueOf } from './helpers.js';

let stack: AwsVoiceStack;
beforeAll(async () => {
  // Imported after the mocks are installed (setup file), so outputs resolve.
  const { AwsVoiceStack } = await import('../../components/aws/voice-stack.js');
  const config = exampleConfig('large');
  const { plan } = buildStackReport('large', config);
  stack = new AwsVoiceStack('voice', { stack: 'large', config, plan, repoRoot: REPO_ROOT });
  await valueOf(stack.dashboardUrl);
  await valueOf(pulumi.all(stack.groupNames));
});

/** Every secret value the stack generated (the SecretVersions' raw inputs). */
async function secretValues(): Promise<string[]> {
  await valueOf(pulumi.all([stack.secretArns.livekitApiSecret, stack.secretArns.intakeToken, stack.secretArns.redisAuth]));
  const versions = registeredResources().filter((r) => r.type === 'aws:secretsmanager/secretVersion:SecretVersion');
  // The LiveKit API secret, the intake token, the Redis AUTH token, the SIP credentials (tests/pulumi/sip-graph.test.ts).
  expect(versions).toHaveLength(4);
  return versions.map((v) => v.rawInputs.secretString as string);
}

describe('secrets', () => {
  it('AWS would accept every resource of the large stack', () => {
    expect(registeredResources().length).toBeGreaterThan(50);
    expect(refusedRegistrations()).toEqual([]);
  });

  it('keeps the API secret a Pulumi secret, and names (URLs, ARNs, the key id) plain', async () => {
    expect(await pulumi.isSecret(stack.apiSecret)).toBe(true);
    expect(await pulumi.isSecret(stack.secretArns.livekitApiSecret)).toBe(false);
    expect(await pulumi.isSecret(stack.livekitUrl)).toBe(false);
    expect(await valueOf(stack.apiKey)).toMatch(/^API[0-9A-Za-z]{12}$/);
  });

  it('sends every secret to the engine as a secret', () => {
    const secretInputs = registeredResources().flatMap((r) => r.secretInputs.map((k) => `${r.type.split(':').at(-1)}.${k}`));
    expect(secretInputs).toEqual(expect.arrayContaining(['SecretVersion.secretString', 'ReplicationGroup.authToken']));
    expect(registeredResources().filter((r) => r.type === 'aws:secretsmanager/secretVersion:SecretVersion').every((r) => r.secretInputs.includes('secretString'))).toBe(true);
  });

  it('puts no secret value in user data, in any plain input, or in the outputs', async () => {
    const values = await secretValues();
    for (const value of values) expect(value.length).toBeGreaterThanOrEqual(32);
    const machines = registeredResources().filter((r) => r.type === 'aws:ec2/launchTemplate:LaunchTemplate');
    expect(machines).toHaveLength(2);
    for (const m of machines) {
      expect(m.secretInputs, `${m.name} user data must not be secret: it would mean a secret flowed into it`).not.toContain('userData');
      const text = userDataText(m.type, m.rawInputs)!;
      for (const value of values) expect(text.includes(value), m.name).toBe(false);
    }
    // The recorded inputs, as the offline plan prints them (secrets redacted), and the stack's plain outputs.
    const printed = JSON.stringify(registeredResources().map((r) => r.inputs));
    const outputs = JSON.stringify(await valueOf(pulumi.all([stack.livekitUrl, stack.webhookUrl, stack.dashboardUrl, stack.dnsRecords, stack.secretArns])));
    for (const value of values) {
      expect(printed.includes(value)).toBe(false);
      expect(outputs.includes(value)).toBe(false);
    }
  });
});
