/**
 * Phone calls on Kubernetes, in process under the mocks (setup-mocks.ts): every example stack is
 * built with SIP on (its default) and with `sip.enabled: false`, plus a mid stack with other numbers
 * and a large stack whose outbound trunk logs in. Held against the plan: the SIP service in every
 * LiveKit pod, its config (LiveKit's Redis, STUN, no secret), the fill step's secrets from the SIP
 * Secret only, the sip-sync Job (immutable declaration and credentials, so a change replaces them
 * and the Job: pulumi-kubernetes provider/pkg/provider/diff.go), Redis admitting it, the outputs,
 * the policies; and with SIP off, none of it.
 */
import type { ResourceValidationPolicy } from '@pulumi/policy';
import * as pulumi from '@pulumi/pulumi';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { ttsVendor } from '../../components/agent-providers.js';
import type { StackConfig } from '../../components/config.js';
import { configHash, containerResources, LABEL_KEYS, sizeOf } from '../../components/k8s/common.js';
import { SIP_CONFIG_HASH_ANNOTATION, SIP_DECLARATION_HASH_ANNOTATION, SIP_SYNC_TIMEOUT_SECONDS, sipFillScript, sipFirewallLines } from '../../components/k8s/sip.js';
import type { K8sVoiceStack } from '../../components/k8s/voice-stack.js';
import { K8S_TYPES, kubernetesPolicies } from '../../components/policy/kubernetes.js';
import { findSecretMaterial, resourceViolations } from '../../components/policy/policies.js';
import { buildStackReport } from '../../components/report.js';
import { sipSettings } from '../../components/sip/config.js';
import { sipDeclaration } from '../../components/sip/declaration.js';
import { unknownSipKeys } from '../../components/sip/sip-config-keys.js';
import { SIP_CONFIG_PLACEHOLDERS, SIP_IMAGE } from '../../components/sip/sip-yaml.js';
import { type RecordedResource, waitForRegistrations } from '../../scripts/lib/pulumi-mocks.js';
import { exampleConfig, registeredResources, valueOf } from './helpers.js';
import { validateObject } from './k8s-schema.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
type Tier = 'small' | 'mid' | 'large';
const TIERS: readonly Tier[] = ['small', 'mid', 'large'];
const EXTERNAL_REDIS_PASSWORD = 'external-redis-password-sip-0123456789abcdef';
const OUTBOUND = { username: 'sip-outbound-user-0123456789abcdefghijk', password: 'sip-outbound-password-0123456789abcdefg' };

interface Built {
  stack: K8sVoiceStack;
  config: StackConfig;
  plan: ReturnType<typeof buildStackReport>['plan'];
}
const built = new Map<string, Built>();

function variant(tier: Tier, change: (config: StackConfig) => StackConfig = (c) => c): StackConfig {
  return change(exampleConfig(`k8s-${tier}`));
}

beforeAll(async () => {
  const { K8sVoiceStack } = await import('../../components/k8s/voice-stack.js');
  const withOutbound = (c: StackConfig): StackConfig => ({
    ...c,
    sip: { ...c.sip, outbound: { address: 'example.pstn.twilio.com', numbers: ['+15550100000'], transport: 'auto' } },
    sipOutboundUsername: true,
    sipOutboundPassword: true,
  });
  const builds: Array<[string, Tier, StackConfig]> = [
    ...TIERS.map((t): [string, Tier, StackConfig] => [t, t, variant(t)]),
    ...TIERS.map((t): [string, Tier, StackConfig] => [`${t}-off`, t, variant(t, (c) => ({ ...c, sip: { ...c.sip, enabled: false } }))]),
    ['mid-numbers', 'mid', variant('mid', (c) => ({ ...c, sip: { ...c.sip, numbers: ['+15550100001', '+15550100002'] } }))],
    ['large-outbound', 'large', variant('large', withOutbound)],
  ];
  for (const [name, tier, config] of builds) {
    const { plan } = buildStackReport(`k8s-${tier}`, config);
    const stack = new K8sVoiceStack(name, {
      stack: `k8s-${tier}`,
      config,
      plan,
      ...(tier === 'large' ? { redisPassword: pulumi.secret(EXTERNAL_REDIS_PASSWORD) } : {}),
      ...(name === 'large-outbound' ? { sipCredentials: { sipOutboundUsername: pulumi.secret(OUTBOUND.username), sipOutboundPassword: pulumi.secret(OUTBOUND.password) } } : {}),
    });
    built.set(name, { stack, config, plan });
    await valueOf(pulumi.all([stack.dnsRecords, stack.secretNames]));
  }
  await waitForRegistrations();
}, 120_000);

const resourcesOf = (name: string) => registeredResources().filter((r) => r.name === name || r.name.startsWith(`${name}-`));
/** The resources of one built stack: its own prefix, not a longer stack name that starts with it (mid vs mid-numbers). */
function own(name: string): RecordedResource[] {
  const longer = [...built.keys()].filter((other) => other !== name && other.startsWith(`${name}-`));
  return resourcesOf(name).filter((r) => !longer.some((other) => r.name === other || r.name.startsWith(`${other}-`)));
}
/** One Kubernetes object of a stack by its logical name (a component may share the name: LivekitServer and its Deployment). */
const one = (name: string, logical: string) => {
  const r = own(name).find((x) => x.name === `${name}-${logical}` && x.type.startsWith('kubernetes:'));
  if (!r) throw new Error(`${name}: no resource ${name}-${logical}`);
  return r;
};
const inputs = (r: RecordedResource) => r.rawInputs as Obj;
const livekitPod = (name: string) => inputs(one(name, 'livekit')).spec.template as Obj;
/** The resource a pod's reference names: the mocks autoname as the provider does (`<logical name>-<hex>`). */
const referenced = (name: string, type: string, physical: string) => own(name).find((r) => r.type === type && physical.startsWith(`${r.name}-`));
const jobs = (name: string) => own(name).filter((r) => r.type === K8S_TYPES.job);

describe.each(TIERS)('k8s-%s with phone calls (the default)', (tier) => {
  it("the SIP service runs in every LiveKit pod: pinned image, host network, the plan's size, SIGTERM drain within LiveKit's grace period", () => {
    const { plan } = built.get(tier)!;
    const pod = livekitPod(tier);
    expect(pod.spec.hostNetwork).toBe(true);
    expect(pod.spec.dnsPolicy).toBe('ClusterFirstWithHostNet');
    expect(pod.spec.containers.map((c: Obj) => c.name)).toEqual(['livekit', 'sip']);
    const sip = pod.spec.containers[1];
    expect(sip.image).toBe(SIP_IMAGE);
    // The image's entrypoint (livekit-sip --config=/sip/config.yaml) runs unchanged.
    expect(sip.command).toBeUndefined();
    expect(sip.args).toBeUndefined();
    expect(sip.resources).toEqual(containerResources(sizeOf(plan.layout.pods!.livekit!.containers, 'sip')));
    expect(sip.ports.map((p: Obj) => `${p.protocol}/${p.containerPort}=${p.hostPort}`)).toEqual(['UDP/5060=5060', 'TCP/5060=5060', 'TCP/8086=8086', 'TCP/6790=6790']);
    expect(sip.readinessProbe.tcpSocket.port).toBe(8086);
    expect(sip.livenessProbe.tcpSocket.port).toBe(8086);
    expect(sip.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65534, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(pod.spec.terminationGracePeriodSeconds).toBe(plan.layout.pods!.livekit!.terminationGracePeriodSeconds);
    // As many SIP services as LiveKit pods: the replicas (or the HPA) are LiveKit's.
    expect(own(tier).filter((r) => r.type === K8S_TYPES.deployment && (inputs(r).spec.template.spec.containers as Obj[]).some((c) => c.image === SIP_IMAGE))).toHaveLength(1);
  });

  it("its config: only livekit/sip keys, LiveKit's own Redis and API key, STUN for the public address, placeholders for every secret", () => {
    const configMap = one(tier, 'sip-config');
    const text = inputs(configMap).data['config.yaml'] as string;
    const config = parseYaml(text) as Obj;
    expect(unknownSipKeys(config)).toEqual([]);
    const livekit = parseYaml(inputs(one(tier, 'livekit-config')).data['config.yaml'] as string) as Obj;
    // The same Redis (psrpc between LiveKit and SIP): LiveKit has it on every tier now.
    expect(config.redis.address).toBe(livekit.redis.address);
    expect(config.redis.tls).toEqual(livekit.redis.tls);
    expect(config.redis.password).toBe(SIP_CONFIG_PLACEHOLDERS.redisPassword);
    expect(config.api_key).toBe(livekit.webhook.api_key);
    expect(config.api_secret).toBe(SIP_CONFIG_PLACEHOLDERS.apiSecret);
    expect(config.ws_url).toBe('ws://127.0.0.1:7880');
    expect(config.use_external_ip).toBe(true);
    expect(config).not.toHaveProperty('nat_1_to_1_ip');
    expect(findSecretMaterial(text)).toBeNull();
    // A change of the config rolls the pods.
    expect(livekitPod(tier).metadata.annotations[SIP_CONFIG_HASH_ANNOTATION]).toBe(configHash(text));
  });

  it('the init container fills it from the SIP Secret only, into a memory volume the SIP container reads', () => {
    const pod = livekitPod(tier);
    const [init] = pod.spec.initContainers as Obj[];
    expect(pod.spec.initContainers).toHaveLength(1);
    expect(init!.image).toBe(SIP_IMAGE);
    expect(init!.command).toEqual(['bash', '-c', sipFillScript()]);
    expect(init!.env.map((e: Obj) => e.name)).toEqual(['LIVEKIT_API_SECRET', 'REDIS_PASSWORD']);
    for (const e of init!.env as Obj[]) {
      expect(e.value, e.name).toBeUndefined();
      const secret = referenced(tier, 'kubernetes:core/v1:Secret', e.valueFrom.secretKeyRef.name)!;
      expect(secret.name).toBe(`${tier}-sip-secret`);
      expect(Object.keys(inputs(secret).stringData)).toContain(e.valueFrom.secretKeyRef.key);
      expect(secret.secretInputs).toContain('stringData');
    }
    const volumes = Object.fromEntries((pod.spec.volumes as Obj[]).map((v) => [v.name, v]));
    expect(referenced(tier, K8S_TYPES.configMap, volumes['sip-template'].configMap.name)!.name).toBe(`${tier}-sip-config`);
    expect(volumes['sip-run'].emptyDir.medium).toBe('Memory');
    expect(pod.spec.containers[1].volumeMounts).toEqual([{ name: 'sip-run', mountPath: '/sip', readOnly: true }]);
  });

  it('sip-sync: one Job of the agent image, awaited with a timeout, reading the declaration from an immutable ConfigMap and admitted to Redis', () => {
    const { config } = built.get(tier)!;
    expect(jobs(tier)).toHaveLength(1);
    const job = inputs(jobs(tier)[0]!);
    expect(job.metadata.annotations['pulumi.com/timeoutSeconds']).toBe(String(SIP_SYNC_TIMEOUT_SECONDS));
    const spec = job.spec.template.spec;
    expect(spec.restartPolicy).toBe('Never');
    expect(spec.hostNetwork).toBeUndefined();
    const [container] = spec.containers as Obj[];
    expect(container!.image).toBe(config.kubernetes.agentImage);
    expect(container!.args).toEqual(['sip-sync']);
    const env = Object.fromEntries((container!.env as Obj[]).map((e) => [e.name, e]));
    expect(env.LIVEKIT_URL.value).toBe(`http://livekit.${config.kubernetes.namespace}.svc.cluster.local:7880`);
    for (const name of ['LIVEKIT_API_SECRET', 'REDIS_URL']) expect(env[name].valueFrom.secretKeyRef.name).toMatch(new RegExp(`^${tier}-secrets-queue-`));
    const declarationMap = referenced(tier, K8S_TYPES.configMap, env.SIP_DECLARATION.valueFrom.configMapKeyRef.name)!;
    expect(inputs(declarationMap).immutable).toBe(true);
    const text = inputs(declarationMap).data['sip-declaration.json'] as string;
    expect(JSON.parse(text)).toEqual(sipDeclaration({ stack: `k8s-${tier}`, sip: sipSettings(config) }));
    expect(JSON.parse(text).dispatchRule).toMatchObject({ name: `voice-agent-k8s-${tier}-calls`, type: 'individual' });
    expect(job.spec.template.metadata.annotations[SIP_DECLARATION_HASH_ANNOTATION]).toBe(configHash(text));
    expect(inputs(one(tier, 'sip-sync-credentials')).immutable).toBe(true);
    // Twilio admits by address: no credentials to read.
    expect(Object.keys(env).filter((n) => n.startsWith('SIP_') && n.endsWith('NAME'))).toEqual([]);
    const redisPolicy = own(tier).find((r) => r.name === `${tier}-redis-ingress`);
    if (redisPolicy) {
      const selectors = (inputs(redisPolicy).spec.ingress[0].from as Obj[]).filter((f) => f.podSelector).map((f) => f.podSelector.matchLabels);
      const podLabels = job.spec.template.metadata.labels as Obj;
      expect(selectors.some((s) => Object.entries(s).every(([k, v]) => podLabels[k] === v))).toBe(true);
      expect(podLabels[LABEL_KEYS.component]).toBe('sip-sync');
    } else {
      expect(tier).toBe('large'); // external Redis: no policy of ours in front of it
    }
  });

  it('outputs: the SIP URI (sip.<domain>, 5060), the numbers, the firewall rules to add; no signalling open to the internet', async () => {
    const { stack, config } = built.get(tier)!;
    expect(await valueOf(stack.sipUri!)).toBe(`sip:sip.${config.kubernetes.domain}:5060`);
    expect(await valueOf(stack.sipNumbers!)).toEqual(config.sip.numbers);
    const firewall = await valueOf(stack.sipFirewall!);
    expect(firewall).toEqual(sipFirewallLines(config.sip));
    for (const line of firewall.filter((l) => / 5060 /.test(l))) expect(line).not.toContain('0.0.0.0/0');
    expect((await valueOf(stack.dnsRecords)).at(-1)).toMatch(new RegExp(`^sip\\.${config.kubernetes.domain!.replaceAll('.', '\\.')} -> `));
  });

  it('every SIP object passes the Kubernetes schemas and every Kubernetes policy', async () => {
    const sipObjects = own(tier).filter((r) => r.type.startsWith('kubernetes:') && (r.name.includes('-sip') || r.name === `${tier}-livekit`));
    expect(sipObjects.map((r) => r.name).sort()).toEqual(
      [`${tier}-livekit`, `${tier}-sip-config`, `${tier}-sip-secret`, `${tier}-sip-sync`, `${tier}-sip-sync-credentials`, `${tier}-sip-sync-declaration`].sort(),
    );
    for (const r of sipObjects) await expect(validateObject(r.rawInputs), `${r.type} ${r.name}`).resolves.toBeUndefined();
    for (const policy of kubernetesPolicies) {
      if ('validateStack' in policy) continue;
      for (const r of sipObjects) expect(await resourceViolations(policy as ResourceValidationPolicy, { type: r.type, name: r.name, props: r.inputs }), `${policy.name} on ${r.name}`).toEqual([]);
    }
  });
});

describe.each(TIERS)('k8s-%s with sip.enabled false: none of it', (tier) => {
  it('no SIP container, init container, ConfigMap, Secret or Job; LiveKit on Redis only where it has several nodes; no SIP outputs', async () => {
    const name = `${tier}-off`;
    const { stack, plan } = built.get(name)!;
    const pod = livekitPod(name);
    expect(pod.spec.containers.map((c: Obj) => c.name)).toEqual(['livekit']);
    expect(pod.spec.initContainers).toBeUndefined();
    expect(pod.metadata.annotations[SIP_CONFIG_HASH_ANNOTATION]).toBeUndefined();
    expect(own(name).filter((r) => r.name.includes('-sip'))).toEqual([]);
    expect(jobs(name)).toEqual([]);
    expect(JSON.stringify(own(name).map((r) => r.rawInputs))).not.toContain(SIP_IMAGE);
    const livekit = parseYaml(inputs(one(name, 'livekit-config')).data['config.yaml'] as string) as Obj;
    expect(livekit.redis !== undefined).toBe(plan.livekit.nodes.max > 1);
    expect(stack.sipUri).toBeUndefined();
    expect(stack.sipNumbers).toBeUndefined();
    expect(stack.sipFirewall).toBeUndefined();
    expect(await valueOf(stack.dnsRecords)).toHaveLength(2);
    const redisPolicy = own(name).find((r) => r.name === `${name}-redis-ingress`);
    if (redisPolicy) expect(JSON.stringify(inputs(redisPolicy))).not.toContain('sip-sync');
  });
});

/**
 * What pulumi-kubernetes replaces rather than updates, for the three kinds sip-sync uses, with the
 * provider's default options (provider/pkg/provider/diff.go forceNewProperties: Secret data
 * unless enableSecretMutable and the Secret is mutable, ConfigMap data likewise with
 * enableConfigMapMutable, a Job's spec.template always).
 */
function replaced(kind: 'ConfigMap' | 'Secret' | 'Job', before: Obj, after: Obj, options: { mutableConfigMaps?: boolean; mutableSecrets?: boolean } = {}): boolean {
  const differs = (path: (o: Obj) => unknown) => JSON.stringify(path(before)) !== JSON.stringify(path(after));
  if (kind === 'Job') return differs((o) => o.spec.template);
  const immutable = before.immutable === true;
  if (kind === 'Secret') return (!options.mutableSecrets || immutable) && differs((o) => [o.data, o.stringData, o.type]);
  return (!options.mutableConfigMaps || immutable) && differs((o) => [o.data, o.binaryData]);
}

describe('sip-sync runs again exactly when its inputs change', () => {
  it('other numbers: the declaration ConfigMap is replaced (immutable, even with mutable ConfigMaps enabled), and the Job with it', () => {
    const before = inputs(one('mid', 'sip-sync-declaration'));
    const after = inputs(one('mid-numbers', 'sip-sync-declaration'));
    expect(JSON.parse(after.data['sip-declaration.json']).inboundTrunk.numbers).toEqual(['+15550100001', '+15550100002']);
    expect(replaced('ConfigMap', before, after, { mutableConfigMaps: true })).toBe(true);
    // The replacement has a new name, and the Job's template names it (and carries its hash): the Job is replaced.
    const job = (name: string) => inputs(jobs(name)[0]!);
    expect(job('mid').spec.template.spec.containers[0].env[0].valueFrom.configMapKeyRef.name).toMatch(/^mid-sip-sync-declaration-/);
    expect(replaced('Job', job('mid'), job('mid-numbers'))).toBe(true);
    // Nothing else in the template moved: up to the stack's own names and the declaration's hash, the two are the same.
    const normalised = (name: string) => {
      const template = structuredClone(job(name).spec.template);
      delete template.metadata.annotations[SIP_DECLARATION_HASH_ANNOTATION];
      // The stacks' random API key names differ too (the mocks derive them from the resource name).
      return JSON.stringify(template).replaceAll(`"${name}-`, '"STACK-').replace(/-[0-9a-f]{8}"/g, '"').replace(/"API[A-Za-z0-9]{12}"/, '"API-KEY"');
    };
    expect(normalised('mid-numbers')).toBe(normalised('mid'));
    expect(job('mid').spec.template.metadata.annotations[SIP_DECLARATION_HASH_ANNOTATION]).not.toBe(job('mid-numbers').spec.template.metadata.annotations[SIP_DECLARATION_HASH_ANNOTATION]);
  });

  it('credentials: only in their immutable Secret (read through secretKeyRef), whose change replaces it and so the Job', async () => {
    const secret = one('large-outbound', 'sip-sync-credentials');
    expect(secret.secretInputs).toContain('stringData');
    expect(inputs(secret).stringData).toEqual({ SIP_OUTBOUND_USERNAME: OUTBOUND.username, SIP_OUTBOUND_PASSWORD: OUTBOUND.password });
    expect(replaced('Secret', inputs(secret), { ...inputs(secret), stringData: { ...inputs(secret).stringData, SIP_OUTBOUND_PASSWORD: 'rotated-0123456789abcdef' } }, { mutableSecrets: true })).toBe(true);
    const env = inputs(jobs('large-outbound')[0]!).spec.template.spec.containers[0].env as Obj[];
    for (const variable of ['SIP_OUTBOUND_USERNAME', 'SIP_OUTBOUND_PASSWORD']) {
      const entry = env.find((e) => e.name === variable)!;
      expect(entry.value).toBeUndefined();
      expect(entry.valueFrom.secretKeyRef.name).toMatch(/^large-outbound-sip-sync-credentials-/);
    }
    const declaration = JSON.parse(inputs(one('large-outbound', 'sip-sync-declaration')).data['sip-declaration.json']);
    expect(declaration.outboundTrunk).toMatchObject({ name: 'voice-agent-k8s-large-outbound', auth: true });
    // Nowhere else: not in a ConfigMap, an annotation, a plain input, the outputs.
    const plain = JSON.stringify(registeredResources().map((r) => (r.type === 'kubernetes:core/v1:Secret' ? { ...r.rawInputs, stringData: undefined } : r.rawInputs)));
    for (const value of [OUTBOUND.username, OUTBOUND.password]) expect(plain).not.toContain(value);
    const { stack } = built.get('large-outbound')!;
    const outputs = JSON.stringify(await valueOf(pulumi.all([stack.sipUri, stack.sipNumbers, stack.sipFirewall, stack.dnsRecords])));
    for (const value of [OUTBOUND.username, OUTBOUND.password]) expect(outputs).not.toContain(value);
  });
});

describe('the escalation transfer on Kubernetes', () => {
  it("agent workers get the outbound trunk's name when the stack has one, and none otherwise", () => {
    const agentEnv = (name: string) => (inputs(one(name, 'agents')).spec.template.spec.containers[0].env as Obj[]).find((e) => e.name === 'ESCALATION_OUTBOUND_TRUNK');
    expect(agentEnv('large-outbound')?.value).toBe('voice-agent-k8s-large-outbound');
    expect(agentEnv('large')).toBeUndefined();
  });

  it("agent workers run the stack's TTS vendor (TTS_PROVIDER), not the image's default", () => {
    const env = inputs(one('large', 'agents')).spec.template.spec.containers[0].env as Obj[];
    expect(env.find((e) => e.name === 'TTS_PROVIDER')?.value).toBe(ttsVendor(built.get('large')!.config));
  });
});

describe('Kubernetes policies refuse what the SIP service must not become', () => {
  it('k8s-no-secret-in-config: the SIP ConfigMap with a filled-in secret fails', async () => {
    const policy = kubernetesPolicies.find((p) => p.name === 'k8s-no-secret-in-config') as ResourceValidationPolicy;
    const configMap = structuredClone(inputs(one('mid', 'sip-config')));
    configMap.data['config.yaml'] = (configMap.data['config.yaml'] as string).replace(SIP_CONFIG_PLACEHOLDERS.apiSecret, 'hunter2hunter2hunter2');
    const violations = await resourceViolations(policy, { type: K8S_TYPES.configMap, name: 'sip-config', props: configMap });
    expect(violations.join('\n')).toMatch(/secret-named setting/);
    expect(violations.join('\n')).not.toContain('hunter2hunter2');
  });

  it('k8s-host-network-only-for-media: another image in the LiveKit pod, a Job on the host network, or no ClusterFirstWithHostNet fail', async () => {
    const policy = kubernetesPolicies.find((p) => p.name === 'k8s-host-network-only-for-media') as ResourceValidationPolicy;
    const livekit = structuredClone(inputs(one('mid', 'livekit')));
    expect(await resourceViolations(policy, { type: K8S_TYPES.deployment, name: 'livekit', props: livekit })).toEqual([]);
    livekit.spec.template.spec.containers.push({ name: 'debug', image: 'busybox:1.36' });
    expect((await resourceViolations(policy, { type: K8S_TYPES.deployment, name: 'livekit', props: livekit })).join('\n')).toMatch(/container debug: image busybox:1\.36 runs on the host network/);
    const job = structuredClone(inputs(jobs('mid')[0]!));
    job.spec.template.spec.hostNetwork = true;
    const jobViolations = (await resourceViolations(policy, { type: K8S_TYPES.job, name: 'sip-sync', props: job })).join('\n');
    expect(jobViolations).toMatch(/container sip-sync: image .*voice-agent:0\.1\.0 runs on the host network/);
    expect(jobViolations).toMatch(/without dnsPolicy ClusterFirstWithHostNet/);
  });

  it('k8s-grace-covers-drain: the SIP service holds calls too (a pod of it alone needs the longest call)', async () => {
    const policy = kubernetesPolicies.find((p) => p.name === 'k8s-grace-covers-drain') as ResourceValidationPolicy;
    const livekit = structuredClone(inputs(one('mid', 'livekit')));
    livekit.spec.template.spec.containers = livekit.spec.template.spec.containers.filter((c: Obj) => c.name === 'sip');
    livekit.spec.template.spec.terminationGracePeriodSeconds = 600;
    expect((await resourceViolations(policy, { type: K8S_TYPES.deployment, name: 'sip', props: livekit })).join('\n')).toMatch(/the SIP service finishes its calls/);
  });
});
