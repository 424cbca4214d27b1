/**
 * The real program with local models (providers llm/stt/tts: local) under the strict mocks: the
 * GPU groups the plan sizes, built as the plan says, reachable from the agents only, drained on
 * termination, and the priced graph equal to the plan's infrastructure cost, GPU groups included.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CATALOG, price } from '@voice-agent-infra/common';
import { parse } from 'yaml';
import type { ResourceValidationPolicy } from '@pulumi/policy';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseStackConfig } from '../../components/config.js';
import { expectedAverage, HOURS_PER_MONTH } from '../../components/cost/price-deployment.js';
import { GPU_AMI, INFERENCE_FILES, INFERENCE_METRICS } from '../../components/inference/cloud-init.js';
import { type InferenceServerPlan, type LlmServerPlan } from '../../components/inference/plan.js';
import { DRAIN_HOOK_NAME } from '../../components/livekit/layout.js';
import { lifecycleHookViolations, policies, resourceViolations, userDataText } from '../../components/policy/policies.js';
import { buildStackReport } from '../../components/report.js';
import { type OfflinePlan, offlinePlanWithOverrides, type PlannedResource } from '../../scripts/lib/offline-plan.js';
import { stackValues } from '../../scripts/lib/stacks.js';
import { setPath } from '../../scripts/lib/plan-flags.js';

const T = {
  instance: 'aws:ec2/instance:Instance',
  launchTemplate: 'aws:ec2/launchTemplate:LaunchTemplate',
  group: 'aws:autoscaling/group:Group',
  policy: 'aws:autoscaling/policy:Policy',
  hook: 'aws:autoscaling/lifecycleHook:LifecycleHook',
  nlb: 'aws:lb/loadBalancer:LoadBalancer',
  targetGroup: 'aws:lb/targetGroup:TargetGroup',
  listener: 'aws:lb/listener:Listener',
  securityGroup: 'aws:ec2/securityGroup:SecurityGroup',
  ingress: 'aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule',
  egress: 'aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule',
  rolePolicy: 'aws:iam/rolePolicy:RolePolicy',
  eip: 'aws:ec2/eip:Eip',
  volume: 'aws:ebs/volume:Volume',
  replicationGroup: 'aws:elasticache/replicationGroup:ReplicationGroup',
  metricAlarm: 'aws:cloudwatch/metricAlarm:MetricAlarm',
  dashboard: 'aws:cloudwatch/dashboard:Dashboard',
  secret: 'aws:secretsmanager/secret:Secret',
} as const;

/** The variants planned: large with every model local, small with the LLM local and a pinned GPU AMI. */
const VARIANTS = {
  'large-local': { stack: 'large', overrides: { 'providers.llm': 'local', 'providers.stt': 'local', 'providers.tts': 'local' } },
  'small-local-llm': { stack: 'small', overrides: { 'providers.llm': 'local', 'inference.amiId': 'ami-0123456789abcdef0' } },
} as const;
type Variant = keyof typeof VARIANTS;

const plans = new Map<Variant, OfflinePlan>();
beforeAll(async () => {
  for (const [variant, { stack, overrides }] of Object.entries(VARIANTS) as Array<[Variant, (typeof VARIANTS)[Variant]]>) {
    plans.set(variant, await offlinePlanWithOverrides(stack, overrides));
  }
}, 180_000);

/** The validated config of a variant: the stack file with the same overrides, as the offline plan saw it. */
function configOf(variant: Variant) {
  const { stack, overrides } = VARIANTS[variant];
  const values = structuredClone(stackValues(stack));
  for (const [path, value] of Object.entries(overrides)) setPath(values, path, value);
  return parseStackConfig(values);
}
const reportOf = (variant: Variant) => buildStackReport(VARIANTS[variant].stack, configOf(variant));
const of = (variant: Variant, type: string) => plans.get(variant)!.resources.filter((r) => r.type === type);
const byId = (variant: Variant, id: unknown) => plans.get(variant)!.resources.find((r) => r.id === id);
const byName = (variant: Variant, type: string, name: string) => of(variant, type).find((r) => r.name === name)!;
const servers = (variant: Variant) => Object.values(reportOf(variant).plan.inference) as InferenceServerPlan[];
const templateOf = (variant: Variant, group: PlannedResource) => byId(variant, (group.inputs.launchTemplate as { id: string }).id)!;
const filesOf = (text: string) => new Map((parse(text) as { write_files: Array<{ path: string; content: string }> }).write_files.map((f) => [f.path, f.content]));

describe.each(Object.keys(VARIANTS) as Variant[])('%s: the GPU groups the plan sizes', (variant) => {
  it('one group per local model, in the plan counts, on its GPU instance type and the GPU AMI', () => {
    const list = servers(variant);
    expect(list.length).toBe(variant === 'large-local' ? 3 : 1);
    for (const server of list) {
      const group = byName(variant, T.group, `voice-inference-${server.modality}`);
      expect([group.inputs.minSize, group.inputs.maxSize], server.modality).toEqual([server.gpus.min, server.gpus.max]);
      const template = templateOf(variant, group);
      expect(template.inputs.instanceType).toBe(server.instanceType);
      // The AMI: pinned, or AWS's public parameter (the mock answers it with a deterministic id), never Canonical's Ubuntu lookup.
      expect(template.inputs.imageId).toMatch(/^ami-0[0-9a-f]{16}$/);
      if (variant === 'small-local-llm') expect(template.inputs.imageId).toBe('ami-0123456789abcdef0');
      // A new AMI or user data rolls the group: launch first, 100% healthy, instances warmed by their model load.
      expect(group.inputs.instanceRefresh).toMatchObject({ strategy: 'Rolling', preferences: { minHealthyPercentage: 100 } });
      expect(group.inputs.healthCheckType).toBe('ELB');
      expect(group.inputs.healthCheckGracePeriod as number).toBeGreaterThanOrEqual(900);
      expect((template.inputs.blockDeviceMappings as Array<{ ebs: { volumeSize: number; encrypted: string } }>)[0]!.ebs).toMatchObject({ volumeSize: server.rootVolumeGiB, encrypted: 'true' });
    }
  });

  it('the server container with its health check, the metrics it scales on, the drain on termination; cloud-init schema passes', () => {
    for (const server of servers(variant)) {
      const template = templateOf(variant, byName(variant, T.group, `voice-inference-${server.modality}`));
      const text = userDataText(T.launchTemplate, template.inputs)!;
      expect(text).toMatch(/^#cloud-config/);
      expect(text).toContain(GPU_AMI.description);
      const files = filesOf(text);
      const compose = parse(files.get(INFERENCE_FILES.compose)!) as { services: { server: Record<string, unknown> } };
      expect(compose.services.server).toMatchObject({ image: server.image, network_mode: 'host' });
      expect(compose.services.server.deploy).toEqual({ resources: { reservations: { devices: [{ driver: 'nvidia', count: 'all', capabilities: ['gpu'] }] } } });
      expect(JSON.stringify(compose.services.server.healthcheck)).toContain(`http://127.0.0.1:${server.port}/health`);
      if (server.modality === 'llm') expect(compose.services.server.command).toEqual(server.server.args);
      expect(files.get(INFERENCE_FILES.metricsScript)).toContain(`--namespace 'VoiceAgent'`);
      expect(files.get(INFERENCE_FILES.drainScript)).toContain(`--lifecycle-hook-name '${DRAIN_HOOK_NAME}'`);
      const dir = mkdtempSync(join(tmpdir(), 'inference-user-data-'));
      try {
        writeFileSync(join(dir, 'user-data.yaml'), text);
        const result = spawnSync('cloud-init', ['schema', '--config-file', join(dir, 'user-data.yaml')], { encoding: 'utf8' });
        expect(result.status, `${result.stdout}${result.stderr}`).toBe(0);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  });

  it('reachable from the agent workers only: the load balancer admits their group, the instances admit the load balancer', () => {
    const agentsGroup = of(variant, T.securityGroup).find((g) => g.name === (variant === 'small-local-llm' ? 'voice-sg-livekit' : 'voice-sg-agents'))!;
    for (const server of servers(variant)) {
      const nlb = byName(variant, T.nlb, `voice-inference-${server.modality}`);
      expect(nlb.inputs).toMatchObject({ loadBalancerType: 'network', internal: true });
      const lbGroup = byName(variant, T.securityGroup, `voice-inference-${server.modality}-lb`);
      const serverGroup = byName(variant, T.securityGroup, `voice-inference-${server.modality}`);
      expect(nlb.inputs.securityGroups).toEqual([lbGroup.id]);
      const ingressOf = (group: PlannedResource) => of(variant, T.ingress).filter((r) => r.inputs.securityGroupId === group.id);
      expect(ingressOf(lbGroup).map((r) => [r.inputs.referencedSecurityGroupId, r.inputs.fromPort, r.inputs.cidrIpv4])).toEqual([[agentsGroup.id, server.port, undefined]]);
      expect(ingressOf(serverGroup).map((r) => [r.inputs.referencedSecurityGroupId, r.inputs.fromPort, r.inputs.cidrIpv4])).toEqual([[lbGroup.id, server.port, undefined]]);
      const group = byName(variant, T.group, `voice-inference-${server.modality}`);
      expect(templateOf(variant, group).inputs.networkInterfaces).toMatchObject([{ securityGroups: [serverGroup.id] }]);
      // Health from the server itself, on its port.
      const targetGroup = byName(variant, T.targetGroup, `voice-inference-${server.modality}`);
      expect(targetGroup.inputs).toMatchObject({ protocol: 'TCP', port: server.port, healthCheck: { protocol: 'HTTP', path: '/health', port: String(server.port), matcher: '200' } });
      expect(group.inputs.targetGroupArns).toEqual([expect.stringContaining(`targetgroup/${targetGroup.physicalName}/`)]);
      expect(byName(variant, T.listener, `voice-inference-${server.modality}`).inputs).toMatchObject({ protocol: 'TCP', port: server.port });
    }
  });

  it('scales on the server queue (LLM) or GPU use, at the plan target, from the metrics the instances publish', () => {
    for (const server of servers(variant)) {
      const policy = byName(variant, T.policy, `voice-inference-${server.modality}-${server.scaling.metric}`);
      const spec = (policy.inputs.targetTrackingConfiguration as { targetValue: number; customizedMetricSpecification: Record<string, unknown> });
      expect(spec.targetValue).toBe(server.scaling.target);
      expect(spec.customizedMetricSpecification).toEqual({
        namespace: 'VoiceAgent',
        metricName: server.modality === 'llm' ? INFERENCE_METRICS.requests : INFERENCE_METRICS.gpuUtilization,
        statistic: 'Average',
        metricDimensions: [
          { name: 'Stack', value: VARIANTS[variant].stack },
          { name: 'Modality', value: server.modality },
        ],
      });
    }
  });

  it('lifecycle-safe: a termination hook per GPU group and the right to complete it on that group only', () => {
    const resources = plans.get(variant)!.resources;
    const hooked = (rs: PlannedResource[]) => rs.map((r) => ({ type: r.type, name: r.name, props: r.inputs, ...(r.physicalName ? { physicalName: r.physicalName } : {}) }));
    expect(lifecycleHookViolations(hooked(resources))).toEqual([]);
    // Without their hooks, the inference groups are reported too.
    const withoutInferenceHooks = resources.filter((r) => !(r.type === T.hook && r.name.startsWith('voice-inference-')));
    expect(lifecycleHookViolations(hooked(withoutInferenceHooks))).toHaveLength(servers(variant).length);
    for (const server of servers(variant)) {
      const group = byName(variant, T.group, `voice-inference-${server.modality}`);
      const hook = of(variant, T.hook).find((h) => h.inputs.autoscalingGroupName === group.physicalName)!;
      expect(hook.inputs).toMatchObject({ name: DRAIN_HOOK_NAME, lifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING', heartbeatTimeout: server.drainSeconds + 120 });
      const lifecycle = JSON.parse(byName(variant, T.rolePolicy, `voice-inference-${server.modality}-lifecycle`).inputs.policy as string) as { Statement: Array<{ Resource: string }> };
      expect(lifecycle.Statement[0]!.Resource).toMatch(new RegExp(`:autoScalingGroupName/${group.physicalName}$`));
    }
  });

  it('the agents are told the load balancers: LOCAL_*_URL in their user data', () => {
    const agentMachine =
      variant === 'small-local-llm' ? of(variant, T.instance)[0]! : templateOf(variant, byName(variant, T.group, 'voice-agents'));
    const text = userDataText(agentMachine.type, agentMachine.inputs)!;
    const compose = parse(filesOf(text).get('/opt/voice-agent/compose.yaml')!) as { services: Record<string, { environment?: Record<string, string> }> };
    // The agent group's worker is `agent`; the small box rolls its worker between two slots, `agent-a` and `agent-b`.
    const workers = ['agent', 'agent-a', 'agent-b'].filter((name) => compose.services[name]);
    expect(workers).toEqual(variant === 'small-local-llm' ? ['agent-a', 'agent-b'] : ['agent']);
    const local = (name: string) => Object.entries(compose.services[name]!.environment!).filter(([k]) => k.startsWith('LOCAL_'));
    expect(local(workers.at(-1)!)).toEqual(local(workers[0]!));
    const env = compose.services[workers[0]!]!.environment!;
    for (const server of servers(variant)) {
      const dns = byName(variant, T.nlb, `voice-inference-${server.modality}`).physicalName!;
      expect(env[`LOCAL_${server.modality.toUpperCase()}_URL`], server.modality).toMatch(new RegExp(`^http://${dns}-[0-9a-f]+\\.elb\\.us-east-1\\.amazonaws\\.com:${server.port}/v1$`));
    }
    const llm = servers(variant).find((s) => s.modality === 'llm') as LlmServerPlan;
    expect(env.LOCAL_LLM_MODEL).toBe(llm.model);
    expect(env.LOCAL_LLM_PARALLEL_TOOL_CALLS).toBe(String(llm.parallelToolCalls));
  });

  it('passes every resource policy', async () => {
    for (const policy of policies) {
      if ('validateStack' in policy) continue;
      for (const r of plans.get(variant)!.resources.filter((x) => x.name.startsWith('voice-inference'))) {
        const violations = await resourceViolations(policy as ResourceValidationPolicy, { type: r.type, name: r.name, props: r.inputs, ...(r.options ? { options: r.options } : {}) });
        expect(violations, `${policy.name} on ${r.name}`).toEqual([]);
      }
    }
  });

  it('the mocked graph, priced with the catalog, costs what the plan says, GPU groups included', () => {
    const { plan, cost } = reportOf(variant);
    const p = (key: string) => price(DEFAULT_CATALOG, key);
    const share = plan.costInputs.expectedScaleOutShare;
    let usd = 0;
    let addresses = of(variant, T.eip).length;
    let volumesGiB = 0;
    for (const instance of of(variant, T.instance)) {
      usd += p(`aws.ec2.${instance.inputs.instanceType as string}`) * HOURS_PER_MONTH;
      volumesGiB += (instance.inputs.rootBlockDevice as { volumeSize: number }).volumeSize;
    }
    for (const volume of of(variant, T.volume)) volumesGiB += volume.inputs.size as number;
    let gpuGroups = 0;
    for (const group of of(variant, T.group)) {
      const template = templateOf(variant, group);
      const average = expectedAverage({ min: group.inputs.minSize as number, max: group.inputs.maxSize as number }, share);
      usd += p(`aws.ec2.${template.inputs.instanceType as string}`) * HOURS_PER_MONTH * average;
      if (/^g\d/.test(template.inputs.instanceType as string)) gpuGroups++;
      volumesGiB += average * (template.inputs.blockDeviceMappings as Array<{ ebs: { volumeSize: number } }>)[0]!.ebs.volumeSize;
      if ((template.inputs.networkInterfaces as Array<{ associatePublicIpAddress: string }>)[0]!.associatePublicIpAddress === 'true') addresses += average;
    }
    expect(gpuGroups).toBe(servers(variant).length);
    for (const nlb of of(variant, T.nlb)) {
      usd += p('aws.nlb.hour') * HOURS_PER_MONTH;
      // Internal load balancers have private addresses only.
      if (nlb.inputs.internal !== true) addresses += (nlb.inputs.subnets as string[]).length;
    }
    for (const redis of of(variant, T.replicationGroup)) {
      const factor = redis.inputs.engine === 'valkey' ? p('aws.elasticache.valkey-discount') : 1;
      usd += (redis.inputs.numCacheClusters as number) * p(`aws.elasticache.${redis.inputs.nodeType as string}`) * HOURS_PER_MONTH * factor;
    }
    usd += volumesGiB * p('aws.ebs.gp3.gb-month');
    usd += addresses * p('aws.ipv4.hour') * HOURS_PER_MONTH;
    usd += of(variant, T.metricAlarm).length * p('aws.cloudwatch.alarm-month');
    usd += of(variant, T.dashboard).length * p('aws.cloudwatch.dashboard-month');
    usd += of(variant, T.secret).length * p('aws.secretsmanager.secret-month');
    // Usage-derived lines (traffic, metrics, image storage, load balancer capacity units) come from the plan.
    const usageKeys = ['aws.nlb.nlcu-hour', 'aws.data-transfer-out.gb', 'aws.data-transfer.cross-az.gb', 'aws.cloudwatch.metric-month', 'aws.cloudwatch.logs-ingest-gb', 'aws.ecr.gb-month'];
    usd += cost.lines.filter((l) => l.category === 'infra' && usageKeys.includes(l.priceKey)).reduce((a, l) => a + l.monthlyUsd, 0);
    expect(usd).toBeCloseTo(cost.infraMonthlyUsd, 6);
    // And the GPU lines are not $0.
    for (const server of servers(variant)) {
      expect(cost.lines.find((l) => l.item.startsWith(`EC2 ${server.instanceType} GPU (local ${server.modality.toUpperCase()}`))!.monthlyUsd).toBeGreaterThan(0);
    }
  });
});
