/**
 * The real program (index.ts) under engine-like mocks, once per example stack (child processes:
 * Pulumi's runtime is per process), held against the plan, the policies and the cost engine.
 */
import { DEFAULT_CATALOG, price } from '@voice-agent-infra/common';
import { beforeAll, describe, expect, it } from 'vitest';
import { TAG_KEYS } from '../../components/aws/common.js';
import { ALARM_COUNT, expectedAverage, HOURS_PER_MONTH, NLB_PUBLIC_ADDRESSES_EACH, secretCount } from '../../components/cost/price-deployment.js';
import { isSecretArn } from '../../components/livekit/secret-arn.js';
import { policies, RESOURCE_TYPES, resourceViolations, largeAlarmViolations, userDataText } from '../../components/policy/policies.js';
import type { ResourceValidationPolicy, StackValidationPolicy } from '@pulumi/policy';
import { buildStackReport } from '../../components/report.js';
import { offlinePlans, type OfflinePlan, type PlannedResource, resourceTree } from '../../scripts/lib/offline-plan.js';
import { EXAMPLE_STACKS, exampleConfig } from './helpers.js';

const T = {
  ...RESOURCE_TYPES,
  group: 'aws:autoscaling/group:Group',
  policy: 'aws:autoscaling/policy:Policy',
  nlb: 'aws:lb/loadBalancer:LoadBalancer',
  eip: 'aws:ec2/eip:Eip',
  secret: 'aws:secretsmanager/secret:Secret',
  dashboard: 'aws:cloudwatch/dashboard:Dashboard',
  ssmParameter: 'aws:ssm/parameter:Parameter',
  lifecycleHook: 'aws:autoscaling/lifecycleHook:LifecycleHook',
  volumeAttachment: 'aws:ec2/volumeAttachment:VolumeAttachment',
  securityGroup: 'aws:ec2/securityGroup:SecurityGroup',
} as const;

const plans = new Map<string, OfflinePlan>();
beforeAll(async () => {
  const results = await offlinePlans(EXAMPLE_STACKS);
  for (const plan of results) plans.set(plan.stack, plan);
}, 120_000);

const of = (stack: string, type: string) => plans.get(stack)!.resources.filter((r) => r.type === type);
const byId = (stack: string, id: unknown) => plans.get(stack)!.resources.find((r) => r.id === id);
const launchTemplateOf = (stack: string, group: PlannedResource) => byId(stack, (group.inputs.launchTemplate as { id: string }).id)!;
const planOf = (stack: string) => buildStackReport(stack, exampleConfig(stack)).plan;

describe.each(EXAMPLE_STACKS)('stack %s: the resource graph matches the plan', (stack) => {
  it('builds the LiveKit and agent machines the plan names, in its counts', () => {
    const plan = planOf(stack);
    const instances = of(stack, T.instance);
    const groups = of(stack, T.group);
    if (plan.tier === 'large') {
      expect(instances).toHaveLength(0);
      const livekit = groups.find((g) => g.name === 'voice-livekit')!;
      expect(launchTemplateOf(stack, livekit).inputs.instanceType).toBe(plan.livekit.instanceType);
      expect([livekit.inputs.minSize, livekit.inputs.maxSize]).toEqual([plan.livekit.nodes.min, plan.livekit.nodes.max]);
    } else {
      expect(instances.map((i) => i.inputs.instanceType)).toEqual([plan.livekit.instanceType]);
    }
    const agents = groups.find((g) => g.name === 'voice-agents');
    if (plan.agents.colocatedWithLivekit) {
      expect(agents).toBeUndefined();
    } else {
      expect(launchTemplateOf(stack, agents!).inputs.instanceType).toBe(plan.agents.instanceType);
      expect([agents!.inputs.minSize, agents!.inputs.maxSize]).toEqual([plan.agents.workers.min, plan.agents.workers.max]);
      expect(agents!.inputs.enabledMetrics).toContain('GroupInServiceInstances');
      expect(agents!.inputs.instanceRefresh).toMatchObject({ strategy: 'Rolling' });
    }
  });

  it("tells the agent worker the plan's sessions per worker (the worker does not re-derive it)", () => {
    const plan = planOf(stack);
    const agentMachine = plan.agents.colocatedWithLivekit
      ? of(stack, T.instance)[0]!
      : launchTemplateOf(stack, of(stack, T.group).find((g) => g.name === 'voice-agents')!);
    expect(userDataText(agentMachine.type, agentMachine.inputs)).toContain(`AGENT_MAX_SESSIONS: "${plan.agents.sessionsPerWorker}"`);
  });

  it('has NLBs and ElastiCache exactly where the tier has them', () => {
    const plan = planOf(stack);
    expect(of(stack, T.nlb)).toHaveLength(plan.loadBalancerRoles.length);
    const redis = of(stack, T.replicationGroup);
    if (plan.redis.mode === 'managed') {
      expect(redis).toHaveLength(1);
      expect(redis[0]!.inputs).toMatchObject({ nodeType: plan.redis.nodeType, numCacheClusters: 1 + plan.redis.replicas, engine: plan.redis.engine });
    } else {
      expect(redis).toHaveLength(0);
    }
    if (plan.tier === 'small') expect(of(stack, T.nlb)).toHaveLength(0);
    if (plan.tier === 'mid') {
      // One LiveKit node, so only the agent group scales: from busy-hour to spike size.
      const tracking = of(stack, T.policy).filter((p) => p.inputs.policyType === 'TargetTrackingScaling');
      expect(tracking.map((p) => p.name).sort()).toEqual(['voice-agents-backlog', 'voice-agents-cpu']);
    }
    if (plan.tier === 'large') {
      expect(of(stack, T.group).length).toBeGreaterThanOrEqual(2);
      const tracking = of(stack, T.policy).filter((p) => p.inputs.policyType === 'TargetTrackingScaling');
      expect(tracking.map((p) => p.name).sort()).toEqual(['voice-agents-backlog', 'voice-agents-cpu', 'voice-livekit-cpu']);
      const backlog = tracking.find((p) => p.name === 'voice-agents-backlog')!;
      const metrics = (backlog.inputs.targetTrackingConfiguration as { customizedMetricSpecification: { metrics: Array<{ returnData: boolean }> } })
        .customizedMetricSpecification.metrics;
      expect(metrics.filter((m) => m.returnData)).toHaveLength(1);
    }
  });

  it('requires IMDSv2 and encrypts the root volume on every instance and launch template', () => {
    const machines = [...of(stack, T.instance), ...of(stack, T.launchTemplate)];
    expect(machines.length).toBeGreaterThan(0);
    for (const m of machines) expect((m.inputs.metadataOptions as { httpTokens: string }).httpTokens, m.name).toBe('required');
  });

  it("admits Redis only from the stack's own security groups", () => {
    const groupIds = new Set(of(stack, T.securityGroup).map((g) => g.id));
    const redisRules = of(stack, T.ingressRule).filter((r) => r.inputs.fromPort === 6379);
    if (planOf(stack).tier !== 'small') expect(redisRules.length).toBeGreaterThan(0);
    for (const rule of redisRules) {
      expect(rule.inputs.cidrIpv4).toBeUndefined();
      expect(groupIds.has(rule.inputs.referencedSecurityGroupId as string)).toBe(true);
    }
    const redis = of(stack, T.replicationGroup)[0];
    if (redis) {
      const sg = byId(stack, (redis.inputs.securityGroupIds as string[])[0])!;
      expect(sg.name).toBe('voice-sg-redis');
      expect(redis.inputs).toMatchObject({ transitEncryptionEnabled: true, atRestEncryptionEnabled: true, multiAzEnabled: true, automaticFailoverEnabled: true, authToken: '[secret]' });
    }
  });

  it('keeps secret values out of user data and prints secrets as [secret]', () => {
    const plan = plans.get(stack)!;
    for (const r of of(stack, 'aws:secretsmanager/secretVersion:SecretVersion')) expect(r.inputs.secretString).toBe('[secret]');
    for (const m of [...of(stack, T.instance), ...of(stack, T.launchTemplate)]) {
      const text = userDataText(m.type, m.inputs)!;
      expect(text, m.name).toMatch(/^#cloud-config/);
      // ARNs only: every secret the boot script reads is named by an ARN of this stack.
      const reads = [...text.matchAll(/read_secret (\w+) '([^']+)'/g)];
      expect(reads.length).toBeGreaterThan(0);
      for (const [, , arn] of reads) expect(isSecretArn(arn!)).toBe(true);
    }
    expect(Object.values(plan.outputs.secretArns as Record<string, string>).every(isSecretArn)).toBe(true);
    expect(JSON.stringify(plan.outputs)).not.toMatch(/apiSecret|authToken/);
  });

  it('tags every taggable resource with the stack and tier', () => {
    const tagged = plans.get(stack)!.resources.filter((r) => r.inputs.tags && !Array.isArray(r.inputs.tags));
    expect(tagged.length).toBeGreaterThan(10);
    for (const r of tagged) expect((r.inputs.tags as Record<string, string>)[TAG_KEYS.tier], r.name).toBe(planOf(stack).tier);
  });

  it('passes every policy', async () => {
    const resources = plans.get(stack)!.resources;
    for (const policy of policies) {
      if ('validateStack' in policy) {
        expect(largeAlarmViolations(resources.map((r) => ({ type: r.type, name: r.name, props: r.inputs }))), policy.name).toEqual([]);
        continue;
      }
      for (const r of resources) {
        expect(await resourceViolations(policy as ResourceValidationPolicy, { type: r.type, name: r.name, props: r.inputs }), `${policy.name} on ${r.name}`).toEqual([]);
      }
    }
  });

  it('prints a resource tree per component', () => {
    const tree = resourceTree(plans.get(stack)!.resources);
    expect(tree[0]).toBe('voice  voice-agent-infra:aws:AwsVoiceStack');
    expect(tree).toContain('    voice-network-vpc  aws:ec2:Vpc');
  });
});

describe('the mocked graph, priced with the catalog, costs what the plan says', () => {
  it.each(EXAMPLE_STACKS)('%s', (stack) => {
    const { plan, cost } = buildStackReport(stack, exampleConfig(stack));
    const p = (key: string) => price(DEFAULT_CATALOG, key);
    const share = plan.costInputs.expectedScaleOutShare;
    let usd = 0;
    let addresses = 0;
    let volumesGiB = 0;
    for (const instance of of(stack, T.instance)) {
      usd += p(`aws.ec2.${instance.inputs.instanceType as string}`) * HOURS_PER_MONTH;
      volumesGiB += (instance.inputs.rootBlockDevice as { volumeSize: number }).volumeSize;
    }
    addresses += of(stack, T.eip).length;
    // Data volumes (the single node's Redis AOF and certificates).
    for (const volume of of(stack, T.volume)) volumesGiB += volume.inputs.size as number;
    // SSM parameters of the Standard tier cost nothing (AWS Systems Manager pricing): none of Advanced.
    expect(of(stack, T.ssmParameter).every((p) => p.inputs.tier === 'Standard')).toBe(true);
    for (const group of of(stack, T.group)) {
      const template = launchTemplateOf(stack, group);
      const average = expectedAverage({ min: group.inputs.minSize as number, max: group.inputs.maxSize as number }, share);
      usd += p(`aws.ec2.${template.inputs.instanceType as string}`) * HOURS_PER_MONTH * average;
      volumesGiB += average * (template.inputs.blockDeviceMappings as Array<{ ebs: { volumeSize: number } }>)[0]!.ebs.volumeSize;
      const publicIp = (template.inputs.networkInterfaces as Array<{ associatePublicIpAddress: string }>)[0]!.associatePublicIpAddress === 'true';
      if (publicIp) addresses += average;
    }
    const nlbs = of(stack, T.nlb);
    usd += nlbs.length * p('aws.nlb.hour') * HOURS_PER_MONTH;
    for (const nlb of nlbs) addresses += (nlb.inputs.subnets as string[]).length;
    for (const redis of of(stack, T.replicationGroup)) {
      const factor = redis.inputs.engine === 'valkey' ? p('aws.elasticache.valkey-discount') : 1;
      usd += (redis.inputs.numCacheClusters as number) * p(`aws.elasticache.${redis.inputs.nodeType as string}`) * HOURS_PER_MONTH * factor;
    }
    usd += volumesGiB * p('aws.ebs.gp3.gb-month');
    usd += addresses * p('aws.ipv4.hour') * HOURS_PER_MONTH;
    usd += of(stack, T.metricAlarm).length * p('aws.cloudwatch.alarm-month');
    usd += of(stack, T.dashboard).length * p('aws.cloudwatch.dashboard-month');
    usd += of(stack, T.secret).length * p('aws.secretsmanager.secret-month');
    // Usage-derived lines (traffic, metrics, image storage, NLB capacity units) come from the plan.
    const usageKeys = ['aws.nlb.nlcu-hour', 'aws.data-transfer-out.gb', 'aws.data-transfer.cross-az.gb', 'aws.cloudwatch.metric-month', 'aws.cloudwatch.logs-ingest-gb', 'aws.ecr.gb-month'];
    usd += cost.lines.filter((l) => l.category === 'infra' && usageKeys.includes(l.priceKey)).reduce((a, l) => a + l.monthlyUsd, 0);

    expect(usd).toBeCloseTo(cost.infraMonthlyUsd, 6);
    // The counts the cost engine assumes, held against the graph.
    expect(of(stack, T.metricAlarm)).toHaveLength(ALARM_COUNT);
    expect(nlbs.every((n) => (n.inputs.subnets as string[]).length === NLB_PUBLIC_ADDRESSES_EACH)).toBe(true);
    expect(of(stack, T.secret)).toHaveLength(secretCount(plan));
  });
});

describe('policies fail, with their message, on a deliberately bad resource', () => {
  const bad: Array<[string, { type: string; name: string; props: Record<string, unknown> }, RegExp]> = [
    ['imdsv2-required', { type: T.launchTemplate, name: 'lt', props: { metadataOptions: { httpTokens: 'optional' } } }, /IMDSv2 is not required/],
    ['imdsv2-required', { type: T.instance, name: 'box', props: {} }, /IMDSv2 is not required/],
    ['ebs-encrypted', { type: T.instance, name: 'box', props: { rootBlockDevice: { encrypted: false } } }, /root volume not encrypted/],
    ['ebs-encrypted', { type: T.launchTemplate, name: 'lt', props: { blockDeviceMappings: [{ deviceName: '/dev/sda1', ebs: { encrypted: 'false' } }] } }, /not encrypted/],
    ['no-open-ingress', { type: T.ingressRule, name: 'ssh', props: { ipProtocol: 'tcp', fromPort: 22, toPort: 22, cidrIpv4: '0.0.0.0/0' } }, /may reach tcp 22-22/],
    ['no-open-ingress', { type: T.securityGroup, name: 'sg', props: { ingress: [{ protocol: 'tcp', fromPort: 6379, toPort: 6379, ipv6CidrBlocks: ['::/0'] }] } }, /::\/0 may reach tcp 6379/],
    ['redis-encrypted-auth', { type: T.replicationGroup, name: 'redis', props: { transitEncryptionEnabled: false, atRestEncryptionEnabled: true, authToken: 'x'.repeat(32) } }, /transitEncryptionEnabled/],
    ['redis-encrypted-auth', { type: T.replicationGroup, name: 'redis', props: { transitEncryptionEnabled: true, atRestEncryptionEnabled: true } }, /no AUTH/],
    ['no-secrets-in-user-data', { type: T.instance, name: 'box', props: { userData: '#!/bin/bash\nexport REDIS_PASSWORD=hunter2hunter2\n' } }, /secret-named setting with a literal value/],
    ['no-secrets-in-user-data', { type: T.instance, name: 'box', props: { userData: 'key: |\n  -----BEGIN RSA PRIVATE KEY-----\n' } }, /PEM private key/],
    ['no-secrets-in-user-data', { type: T.launchTemplate, name: 'lt', props: { userData: Buffer.from('aws configure set aws_access_key_id AKIAABCDEFGHIJKLMNOP').toString('base64') } }, /AWS access key/],
    ['ecr-scan-on-push', { type: T.ecrRepository, name: 'repo', props: { imageScanningConfiguration: { scanOnPush: false } } }, /scanOnPush is not true/],
  ];
  it.each(bad)('%s', async (name, resource, message) => {
    const policy = policies.find((p) => p.name === name) as ResourceValidationPolicy;
    const violations = await resourceViolations(policy, resource);
    expect(violations).toHaveLength(1);
    expect(violations[0]).toMatch(message);
    // A violation names the resource and never echoes a secret value.
    expect(violations[0]).toContain(resource.name);
    expect(violations[0]).not.toContain('hunter2hunter2');
  });

  it('alarms-on-large: a large stack without alarms fails', async () => {
    const policy = policies.find((p) => p.name === 'alarms-on-large') as StackValidationPolicy;
    const messages: string[] = [];
    const resources = [{ type: T.instance, name: 'box', props: { tags: { [TAG_KEYS.tier]: 'large' } }, urn: 'urn:x' }];
    await policy.validateStack({ resources, stackTags: new Map(), getConfig: () => ({}), notApplicable: () => undefined as never } as never, (m) => messages.push(m));
    expect(messages).toContain('large tier: no alarm on QueueDeadLetters');
    expect(messages).toContain('large tier: no CPU alarm');
    // Removing one alarm from the real large graph fails too.
    const large = plans.get('large')!.resources.filter((r) => r.name !== 'voice-monitoring-turn-latency-p95');
    expect(largeAlarmViolations(large.map((r) => ({ type: r.type, name: r.name, props: r.inputs })))).toEqual(['large tier: no alarm on TurnLatency']);
  });
});
