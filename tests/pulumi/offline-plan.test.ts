/**
 * The real program (index.ts) under engine-like mocks, once per example stack (child processes:
 * Pulumi's runtime is per process), held against the plan, the policies and the cost engine.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CATALOG, price, sessionsAtThreshold } from '@voice-agent-infra/common';
import { parse } from 'yaml';
import { type ComposeFile, DRAIN_HOOK_NAME, NODE_FILES, USER_DATA_MAX_BYTES } from '../../components/livekit/index.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { TAG_KEYS } from '../../components/aws/common.js';
import { ALARM_COUNT, expectedAverage, HOURS_PER_MONTH, NLB_PUBLIC_ADDRESSES_EACH, secretCount } from '../../components/cost/price-deployment.js';
import { isSecretArn } from '../../components/livekit/secret-arn.js';
import { lifecycleHookViolations, policies, RESOURCE_TYPES, resourceViolations, largeAlarmViolations, userDataText } from '../../components/policy/policies.js';
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
  volume: 'aws:ebs/volume:Volume',
} as const;

/** The plan's resources as the stack policies see them (physical names, as the engine's props.name carries them). */
const hooked = (rs: PlannedResource[]) => rs.map((r) => ({ type: r.type, name: r.name, props: r.inputs, ...(r.physicalName ? { physicalName: r.physicalName } : {}) }));

interface Statement {
  Sid: string;
  Action: string[];
  Resource: string | string[];
}
const policyOf = (r: PlannedResource) => JSON.parse(r.inputs.policy as string) as { Statement: Statement[] };
const lifecycleStatements = (stack: string) =>
  of(stack, 'aws:iam/rolePolicy:RolePolicy')
    .filter((p) => p.name.endsWith('-lifecycle'))
    .flatMap((p) => policyOf(p).Statement)
    .filter((st) => st.Action.includes('autoscaling:CompleteLifecycleAction'));
const livekitRoleStatements = (stack: string) => policyOf(plans.get(stack)!.resources.find((r) => r.name === 'voice-livekit-role-policy')!).Statement;
/** The mock's ARN of a group (the mocks compute it from the physical name). */
const arnOfGroup = (stack: string, group: PlannedResource) =>
  lifecycleStatements(stack)
    .map((st) => st.Resource as string)
    .find((arn) => arn.endsWith(`:autoScalingGroupName/${group.physicalName}`));

/** `cloud-init schema` on a user data text (the renderer tests hold the tool to refusing bad configs). */
function cloudInitSchema(text: string): { status: number | null; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'plan-cloud-init-'));
  try {
    const file = join(dir, 'user-data.yaml');
    writeFileSync(file, text);
    for (const command of [['schema'], ['devel', 'schema']]) {
      const result = spawnSync('cloud-init', [...command, '--config-file', file], { encoding: 'utf8' });
      if (result.status === 0 || /Invalid|Error/.test(`${result.stdout}${result.stderr}`)) return { status: result.status, output: `${result.stdout}${result.stderr}` };
    }
    return { status: 1, output: 'cloud-init schema is not available' };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

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

  it("tells the agent worker the plan's sessions per worker: it reports itself full exactly there (the worker does not re-derive it)", () => {
    const plan = planOf(stack);
    const agentMachine = plan.agents.colocatedWithLivekit
      ? of(stack, T.instance)[0]!
      : launchTemplateOf(stack, of(stack, T.group).find((g) => g.name === 'voice-agents')!);
    const text = userDataText(agentMachine.type, agentMachine.inputs)!;
    const maxSessions = Number(/AGENT_MAX_SESSIONS: "(\d+)"/.exec(text)?.[1]);
    const threshold = Number(/AGENT_LOAD_THRESHOLD: "([\d.]+)"/.exec(text)?.[1]);
    expect(sessionsAtThreshold(maxSessions, threshold)).toBe(plan.agents.sessionsPerWorker);
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
    const stackViolations: Record<string, (rs: PlannedResource[]) => string[]> = {
      'alarms-on-large': (rs) => largeAlarmViolations(rs.map((r) => ({ type: r.type, name: r.name, props: r.inputs }))),
      'termination-hooks-on-call-groups': (rs) => lifecycleHookViolations(hooked(rs)),
    };
    for (const policy of policies) {
      if ('validateStack' in policy) {
        expect(stackViolations[policy.name], `no check for stack policy ${policy.name}`).toBeDefined();
        expect(stackViolations[policy.name]!(resources), policy.name).toEqual([]);
        continue;
      }
      for (const r of resources) {
        const violations = await resourceViolations(policy as ResourceValidationPolicy, { type: r.type, name: r.name, props: r.inputs, ...(r.options ? { options: r.options } : {}) });
        expect(violations, `${policy.name} on ${r.name}`).toEqual([]);
      }
    }
  });

  it('every autoscaling group that runs calls has a termination hook (heartbeat >= its drain) and IAM to complete it on that group only', () => {
    const groups = of(stack, T.group);
    const hooks = of(stack, T.lifecycleHook);
    expect(hooks).toHaveLength(groups.length);
    expect(groups.length).toBe(planOf(stack).tier === 'small' ? 0 : planOf(stack).tier === 'mid' ? 1 : 2);
    for (const group of groups) {
      const hook = hooks.find((h) => h.inputs.autoscalingGroupName === group.physicalName)!;
      expect(hook, group.name).toBeDefined();
      expect(hook.inputs).toMatchObject({ name: DRAIN_HOOK_NAME, lifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING', defaultResult: 'CONTINUE' });
      // The hook outlasts the drain the node's watcher allows: its DRAIN_SECONDS, from the user data.
      const text = userDataText(T.launchTemplate, launchTemplateOf(stack, group).inputs)!;
      const compose = parse((parse(text) as { write_files: Array<{ path: string; content: string }> }).write_files.find((f) => f.path === NODE_FILES.compose)!.content) as ComposeFile;
      const drainSeconds = Number(compose.services['drain-watch']!.environment!.DRAIN_SECONDS);
      expect(hook.inputs.heartbeatTimeout as number).toBeGreaterThan(drainSeconds);
      expect(hook.inputs.heartbeatTimeout as number).toBeLessThanOrEqual(7200);
      // Instance refresh and replacements keep capacity: launch first, terminate (drained) second.
      expect(group.inputs.instanceRefresh).toMatchObject({ preferences: { minHealthyPercentage: 100 } });
      expect(group.inputs.instanceMaintenancePolicy).toEqual({ minHealthyPercentage: 100, maxHealthyPercentage: 200 });
      expect(group.inputs.healthCheckGracePeriod).toBe(600);
      // CompleteLifecycleAction on this group's ARN only, for the role of this group's instances.
      const statement = lifecycleStatements(stack).find((p) => p.Resource === arnOfGroup(stack, group))!;
      expect(statement, `lifecycle policy of ${group.name}`).toBeDefined();
      expect(statement.Action.sort()).toEqual(['autoscaling:CompleteLifecycleAction', 'autoscaling:RecordLifecycleActionHeartbeat']);
    }
  });

  it('the drain watcher runs on every autoscaled node; the user data passes cloud-init schema and stays far under 16 KiB', () => {
    const machines = [...of(stack, T.instance), ...of(stack, T.launchTemplate)];
    for (const m of machines) {
      const encoded = (m.inputs.userDataBase64 ?? m.inputs.userData) as string;
      // 6 KiB of EC2's 16 KiB kept free for what nodes gain later (the small box with SIP over TLS and the agent env secret is ~9 KB).
      expect(Buffer.from(encoded, 'base64').length, m.name).toBeLessThan(USER_DATA_MAX_BYTES - 6 * 1024);
      const text = userDataText(m.type, m.inputs)!;
      const compose = parse((parse(text) as { write_files: Array<{ path: string; content: string }> }).write_files.find((f) => f.path === NODE_FILES.compose)!.content) as ComposeFile;
      expect(Object.hasOwn(compose.services, 'drain-watch'), m.name).toBe(m.type === T.launchTemplate);
      const schema = cloudInitSchema(text);
      expect(schema.status, `${m.name}: ${schema.output}`).toBe(0);
    }
  });

  it('the single node (small, mid): data volume in its zone, Elastic IP as node_ip, agent image from an SSM parameter, nothing that replaces it', () => {
    const instances = of(stack, T.instance);
    // The agent image parameter (the SIP declaration's is tests/pulumi/sip-graph.test.ts's).
    const imageParameters = of(stack, T.ssmParameter).filter((p) => p.name === 'voice-agent-image');
    if (planOf(stack).tier === 'large') {
      expect([instances, of(stack, T.volume), imageParameters].map((l) => l.length)).toEqual([0, 0, 0]);
      return;
    }
    const [node] = instances;
    expect(node!.options?.ignoreChanges).toEqual(expect.arrayContaining(['ami', 'userDataBase64']));
    expect(node!.inputs.userDataReplaceOnChange).toBeUndefined();
    // volumeTags would fight the data volume's own tags (the provider's docs: resource cycling).
    expect(node!.inputs.volumeTags).toBeUndefined();
    expect((node!.inputs.rootBlockDevice as { tags?: Record<string, string> }).tags).toMatchObject({ [TAG_KEYS.stack]: stack });
    const [volume] = of(stack, T.volume);
    expect(volume!.inputs).toMatchObject({ type: 'gp3', encrypted: true, size: planOf(stack).costInputs.dataVolumeGiB, availabilityZone: node!.inputs.availabilityZone });
    const [attachment] = of(stack, T.volumeAttachment);
    expect(attachment!.inputs).toMatchObject({ volumeId: volume!.id, instanceId: node!.id, stopInstanceBeforeDetaching: true });
    expect(attachment!.options?.deleteBeforeReplace).toBe(true);

    const text = userDataText(node!.type, node!.inputs)!;
    const files = new Map((parse(text) as { write_files: Array<{ path: string; content: string }> }).write_files.map((f) => [f.path, f.content]));
    expect(files.get(NODE_FILES.bootScript)).toContain(`mount_data '${volume!.id}'`);
    const eip = plans.get(stack)!.outputs.dnsRecords as string[];
    const nodeIp = (parse(files.get(NODE_FILES.livekitConfig)!) as { rtc: { node_ip: string; use_external_ip: boolean } }).rtc;
    expect(nodeIp.use_external_ip).toBe(false);
    if (planOf(stack).tier === 'small') expect(eip[0]).toBe(`voice.small.example.com A ${nodeIp.node_ip}`);

    const [parameter] = imageParameters;
    expect(parameter!.inputs).toMatchObject({ name: `/voice-agent/${stack}/agent-image`, type: 'String', tier: 'Standard', insecureValue: plans.get(stack)!.outputs.agentImage });
    // The image itself is not in the user data: a new image never changes it.
    expect(text).not.toContain(plans.get(stack)!.outputs.agentImage as string);
    expect(text).toContain(`/voice-agent/${stack}/agent-image`);
    // The node's role reads that parameter.
    const read = livekitRoleStatements(stack).find((st) => st.Sid === 'ReadStackParameters')!;
    expect(read.Resource).toContain(`arn:aws:ssm:us-east-1:123456789012:parameter/voice-agent/${stack}/agent-image`);
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
  const bad: Array<[string, { type: string; name: string; props: Record<string, unknown>; options?: { ignoreChanges: string[] } }, RegExp]> = [
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
    [
      'single-node-not-replaced',
      { type: T.instance, name: 'box', props: { userDataBase64: 'I2Nsb3VkLWNvbmZpZw==' }, options: { ignoreChanges: ['ami'] } },
      /a change of userDataBase64 would stop and start the instance/,
    ],
    ['single-node-not-replaced', { type: T.instance, name: 'box', props: {}, options: { ignoreChanges: ['userData'] } }, /a new AMI .* would replace the instance/],
    ['single-node-not-replaced', { type: T.instance, name: 'box', props: { userDataReplaceOnChange: true }, options: { ignoreChanges: ['ami'] } }, /userDataReplaceOnChange replaces the instance/],
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

  it('termination-hooks-on-call-groups: a call-running group without its hook fails, on the real graph too', async () => {
    for (const stack of ['mid', 'large'] as const) {
      const resources = plans.get(stack)!.resources;
      const withoutHooks = resources.filter((r) => r.type !== T.lifecycleHook);
      const violations = lifecycleHookViolations(hooked(withoutHooks));
      expect(violations.length, stack).toBe(of(stack, T.group).length);
      expect(violations[0]).toMatch(/has no termination lifecycle hook: scale-in and instance refresh would drop its calls/);
      // A launching-only hook does not count.
      const launching = resources.map((r) => (r.type === T.lifecycleHook ? { ...r, inputs: { ...r.inputs, lifecycleTransition: 'autoscaling:EC2_INSTANCE_LAUNCHING' } } : r));
      expect(lifecycleHookViolations(hooked(launching))).toHaveLength(of(stack, T.group).length);
    }
    // The engine's form: the hook's group name depends on the group's URN.
    const group = { type: T.group, name: 'g', urn: 'urn:g', props: { tags: [{ key: TAG_KEYS.component, value: 'agent-fleet' }] } };
    const hook = { type: T.lifecycleHook, name: 'h', props: { lifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING' }, propertyDependencies: { autoscalingGroupName: [{ urn: 'urn:g' }] } };
    expect(lifecycleHookViolations([group, hook])).toEqual([]);
    expect(lifecycleHookViolations([group])).toHaveLength(1);
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
