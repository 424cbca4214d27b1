/**
 * Kubernetes secrets, in process (mocks from setup-mocks.ts mark secrets as the engine does): the
 * mid stack (Redis in the cluster, its password generated) and the large stack (external Redis,
 * its password from the secret config; here also an outbound SIP trunk with its login) are built
 * once; their secret values are then looked for everywhere they must not be, and every object,
 * Secrets included, is schema-validated with its real keys.
 */
import * as pulumi from '@pulumi/pulumi';
import { beforeAll, describe, expect, it } from 'vitest';
import type { K8sVoiceStack } from '../../components/k8s/voice-stack.js';
import { buildStackReport } from '../../components/report.js';
import { type RecordedResource, waitForRegistrations } from '../../scripts/lib/pulumi-mocks.js';
import { exampleConfig, registeredResources, valueOf } from './helpers.js';
import { validateObject } from './k8s-schema.js';

const EXTERNAL_REDIS_PASSWORD = 'external-redis-password-0123456789abcdef';
const SIP_OUTBOUND_USERNAME = 'sip-outbound-user-0123456789abcdefghij';
const SIP_OUTBOUND_PASSWORD = 'sip-outbound-password-0123456789abcdefgh';
const stacks: Record<'mid' | 'large', K8sVoiceStack> = {} as never;

beforeAll(async () => {
  const { K8sVoiceStack } = await import('../../components/k8s/voice-stack.js');
  for (const [name, stack] of [
    ['mid', 'k8s-mid'],
    ['large', 'k8s-large'],
  ] as const) {
    const example = exampleConfig(stack);
    // large: transfers dial out on an outbound trunk that logs in (the credentials are Pulumi secrets).
    const config =
      name === 'large'
        ? { ...example, sip: { ...example.sip, outbound: { address: 'example.pstn.twilio.com', numbers: ['+15550100000'], transport: 'auto' as const } }, sipOutboundUsername: true as const, sipOutboundPassword: true as const }
        : example;
    const { plan } = buildStackReport(stack, config);
    stacks[name] = new K8sVoiceStack(name, {
      stack,
      config,
      plan,
      ...(name === 'large'
        ? { redisPassword: pulumi.secret(EXTERNAL_REDIS_PASSWORD), sipCredentials: { sipOutboundUsername: pulumi.secret(SIP_OUTBOUND_USERNAME), sipOutboundPassword: pulumi.secret(SIP_OUTBOUND_PASSWORD) } }
        : {}),
    });
    await valueOf(pulumi.all([stacks[name].dnsRecords, stacks[name].secretNames, stacks[name].sipUri]));
  }
  // Objects nobody awaits (Deployments, policies) are registered too.
  await waitForRegistrations();
});

const k8sResources = (prefix: string) => registeredResources().filter((r) => r.type.startsWith('kubernetes:') && r.name.startsWith(`${prefix}-`));

/** Every secret value the stacks generated or were given. */
function secretValues(): string[] {
  const generated = registeredResources()
    .filter((r) => r.type === 'random:index/randomPassword:RandomPassword')
    .map((r) => r.name);
  expect(generated.length).toBeGreaterThanOrEqual(5); // mid: api secret, intake token, Redis password; large: api secret, intake token
  const values: string[] = [EXTERNAL_REDIS_PASSWORD, SIP_OUTBOUND_USERNAME, SIP_OUTBOUND_PASSWORD];
  for (const secret of registeredResources().filter((r) => r.type === 'kubernetes:core/v1:Secret')) {
    for (const [key, value] of Object.entries(secret.rawInputs.stringData as Record<string, string>)) {
      if (key === 'LIVEKIT_KEYS') values.push(value.split(': ')[1]!);
      else values.push(value);
    }
  }
  return [...new Set(values)];
}

describe('Kubernetes secrets', () => {
  it('sends every Secret to the engine as a secret, one per consumer, with the keys the pods read', () => {
    const secrets = registeredResources().filter((r) => r.type === 'kubernetes:core/v1:Secret');
    expect(secrets.map((s) => s.name).sort()).toEqual([
      'large-secrets-agent',
      'large-secrets-livekit',
      'large-secrets-queue',
      'large-sip-secret',
      'large-sip-sync-credentials',
      'mid-secrets-agent',
      'mid-secrets-livekit',
      'mid-secrets-queue',
      'mid-secrets-redis',
      'mid-sip-secret',
      'mid-sip-sync-credentials',
    ]);
    for (const s of secrets) expect(s.secretInputs, s.name).toContain('stringData');
    const keys = (name: string) => Object.keys(secrets.find((s) => s.name === name)!.rawInputs.stringData as object).sort();
    expect(keys('mid-secrets-queue')).toEqual(['INTAKE_TOKEN', 'LIVEKIT_API_SECRET', 'REDIS_URL']);
    // One LiveKit node, but the SIP service reaches LiveKit only through Redis: LiveKit uses it on every tier with SIP.
    expect(keys('mid-secrets-livekit')).toEqual(['LIVEKIT_KEYS', 'REDIS_PASSWORD']);
    expect(keys('large-secrets-livekit')).toEqual(['LIVEKIT_KEYS', 'REDIS_PASSWORD']);
    // The SIP service's fill step reads the API secret and the Redis password; sip-sync the credentials, only those set.
    expect(keys('mid-sip-secret')).toEqual(['LIVEKIT_API_SECRET', 'REDIS_PASSWORD']);
    expect(keys('mid-sip-sync-credentials')).toEqual([]);
    expect(keys('large-sip-sync-credentials')).toEqual(['SIP_OUTBOUND_PASSWORD', 'SIP_OUTBOUND_USERNAME']);
    const credentials = secrets.find((s) => s.name === 'large-sip-sync-credentials')!.rawInputs.stringData as Record<string, string>;
    expect(credentials).toEqual({ SIP_OUTBOUND_USERNAME, SIP_OUTBOUND_PASSWORD });
    const url = (secrets.find((s) => s.name === 'large-secrets-agent')!.rawInputs.stringData as Record<string, string>).REDIS_URL;
    expect(url).toBe(`rediss://:${EXTERNAL_REDIS_PASSWORD}@master.voice-queue.abc123.use1.cache.amazonaws.com:6379`);
  });

  it('every env entry a pod reads from a Secret names a key that Secret has', () => {
    const secretKeys = new Map<string, string[]>();
    for (const s of registeredResources().filter((r) => r.type === 'kubernetes:core/v1:Secret')) {
      // The mocks autoname Secrets as the provider does: metadata.name is computed, so match by the name prefix.
      secretKeys.set(s.name, Object.keys(s.rawInputs.stringData as object));
    }
    const workloadTypes = ['kubernetes:apps/v1:Deployment', 'kubernetes:apps/v1:StatefulSet', 'kubernetes:batch/v1:Job'];
    const workloads = [...k8sResources('mid'), ...k8sResources('large')].filter((r) => workloadTypes.includes(r.type));
    let refs = 0;
    for (const w of workloads) {
      const spec = (w.rawInputs as any).spec.template.spec; // eslint-disable-line @typescript-eslint/no-explicit-any
      for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
        for (const e of c.env ?? []) {
          const ref = e.valueFrom?.secretKeyRef;
          if (!ref) continue;
          refs++;
          const owner = [...secretKeys.keys()].find((name) => ref.name.startsWith(`${name}-`));
          expect(owner, `${w.name}/${c.name} ${e.name} -> ${ref.name}`).toBeDefined();
          expect(secretKeys.get(owner!), `${w.name}/${c.name} ${e.name}`).toContain(ref.key);
        }
      }
    }
    // mid: LiveKit 2 (keys, Redis password), SIP fill step 2, intake 3, dispatcher 2, agent 2, Redis 1, sip-sync 2;
    // large: LiveKit 2, SIP fill step 2, intake 3, dispatcher 2, agent 2, sip-sync 4 (and the outbound login).
    expect(refs).toBe(14 + 15);
  });

  it('puts no secret value in a ConfigMap, an annotation, any plain input, or the outputs', async () => {
    const values = secretValues();
    for (const value of values) expect(value.length).toBeGreaterThanOrEqual(32);
    const plain = (r: RecordedResource) => JSON.stringify(r.type === 'kubernetes:core/v1:Secret' ? { ...r.rawInputs, stringData: undefined } : r.rawInputs);
    for (const r of registeredResources().filter((x) => x.type.startsWith('kubernetes:'))) {
      for (const value of values) expect(plain(r).includes(value), `${r.type} ${r.name}`).toBe(false);
    }
    const printed = JSON.stringify(registeredResources().map((r) => r.inputs));
    for (const value of values) expect(printed.includes(value)).toBe(false);
    for (const stack of Object.values(stacks)) {
      expect(await pulumi.isSecret(stack.apiSecret)).toBe(true);
      const outputs = JSON.stringify([
        await valueOf(pulumi.all([stack.livekitUrl, stack.webhookUrl, stack.dnsRecords, stack.secretNames, stack.apiKey, stack.namespace])),
        await valueOf(pulumi.all([stack.sipUri!, stack.sipNumbers!, stack.sipFirewall!])),
      ]);
      for (const value of values) expect(outputs.includes(value)).toBe(false);
    }
  });

  it('every object, Secrets with their real keys, passes schema validation', async () => {
    const objects = [...k8sResources('mid'), ...k8sResources('large')];
    expect(objects.length).toBeGreaterThan(45);
    for (const r of objects) await expect(validateObject(r.rawInputs), `${r.type} ${r.name}`).resolves.toBeUndefined();
  });

  it('the load balancers answer with the cloud\'s kind of address, and the DNS records name them', async () => {
    // aws (large): the in-tree NLB's hostname; gcp (mid): an IP.
    // And the SIP name, which the operator points at the LiveKit nodes (no load balancer carries SIP).
    const sip = (domain: string) => expect.stringMatching(new RegExp(`^sip\\.${domain.replaceAll('.', '\\.')} -> the public IPv4 address of each node running a LiveKit pod`));
    expect(await valueOf(stacks.large.dnsRecords)).toEqual([
      expect.stringMatching(/^voice\.large\.example\.com -> a[0-9a-f]+-[0-9a-f]+\.elb\.us-east-1\.amazonaws\.com$/),
      expect.stringMatching(/^turn\.voice\.large\.example\.com -> .+\.elb\./),
      sip('voice.large.example.com'),
    ]);
    expect(await valueOf(stacks.mid.dnsRecords)).toEqual([
      expect.stringMatching(/^voice\.mid\.example\.com -> 203\.0\.113\.\d+$/),
      expect.stringMatching(/^turn\.voice\.mid\.example\.com -> 203\.0\.113\.\d+$/),
      sip('voice.mid.example.com'),
    ]);
    expect(await valueOf(stacks.mid.sipUri!)).toBe('sip:sip.voice.mid.example.com:5060');
  });
});
