/** The AWS components' pure helpers: subnet maths, port rules, listeners, scaling, alarms, IAM. */
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_METRICS_NAMESPACE, METRICS } from '@voice-agent-infra/common';
import { describe, expect, it } from 'vitest';
import { backlogMetrics } from '../../components/aws/agent-fleet.js';
import { contentTag, DEFAULT_TAG_SOURCES, imagePlatforms } from '../../components/aws/agent-image.js';
import { ecrRepositoryArnOfImage, instancePolicyDocument, lifecyclePolicyDocument } from '../../components/aws/instance-role.js';
import { DRAIN_HOOK_MARGIN_SECONDS, terminationHookArgs } from '../../components/aws/scaling-group.js';
import { DRAIN_HOOK_NAME } from '../../components/livekit/layout.js';
import { REPO_ROOT } from '../../scripts/lib/stacks.js';
import { listenerSpecs, OPERATOR_LISTENER_PORT } from '../../components/aws/load-balancers.js';
import { alarmSpecs, dashboardBody } from '../../components/aws/monitoring.js';
import { pickZones, subnetCidrs } from '../../components/aws/network.js';
import { groupRoles, ingressRules, type SecurityLayout } from '../../components/aws/security-groups.js';
import { ALARM_COUNT } from '../../components/cost/price-deployment.js';
import { CADDY_PORTS, LIVEKIT_PORTS, LIVEKIT_TURN_TLS_PORT, REDIS_PORT } from '../../components/livekit/ports.js';

describe('network maths', () => {
  it('splits a /16 into /20s from the network address', () => {
    expect(subnetCidrs('10.40.0.0/16', 2)).toEqual(['10.40.0.0/20', '10.40.16.0/20']);
    expect(subnetCidrs('172.31.5.9/16', 3)).toEqual(['172.31.0.0/20', '172.31.16.0/20', '172.31.32.0/20']);
    expect(subnetCidrs('192.168.0.0/24', 2)).toEqual(['192.168.0.0/28', '192.168.0.16/28']);
  });
  it('refuses what AWS cannot hold', () => {
    expect(() => subnetCidrs('10.0.0.0/26', 2)).toThrow(/too small/);
    expect(() => subnetCidrs('10.0.0.0/16', 17)).toThrow(/at most 16/);
    expect(() => subnetCidrs('10.0.0/16', 2)).toThrow(/not an IPv4 CIDR/);
  });
  it('picks the first zones in name order and fails when the region has too few', () => {
    expect(pickZones(['us-east-1c', 'us-east-1a', 'us-east-1b'], 2)).toEqual(['us-east-1a', 'us-east-1b']);
    expect(() => pickZones(['eu-x-1a'], 2)).toThrow(/needs 2/);
  });
});

const layout = (over: Partial<SecurityLayout>): SecurityLayout => ({
  tlsTerminator: 'nlb',
  agentFleet: true,
  redis: 'managed',
  intakePort: 8080,
  operatorListenerPort: null,
  operatorCidrs: [],
  ...over,
});

describe('security group rules from the port table', () => {
  it('opens to the internet exactly LiveKit public ports (and Caddy on small)', () => {
    const publicPorts = LIVEKIT_PORTS.filter((p) => p.access === 'public').map((p) => `${p.protocol}:${p.fromPort}-${p.toPort}`);
    const small = ingressRules(layout({ tlsTerminator: 'caddy', agentFleet: false, redis: 'node-loopback' }));
    const open = (rules: ReturnType<typeof ingressRules>) =>
      rules.filter((r) => r.source.kind === 'internet').map((r) => `${r.group}/${r.protocol}:${r.fromPort}-${r.toPort}`).sort();
    expect(open(small)).toEqual([...publicPorts, ...CADDY_PORTS.map((p) => `${p.protocol}:${p.fromPort}-${p.toPort}`)].map((p) => `livekit/${p}`).sort());
    expect(open(ingressRules(layout({})))).toEqual([...publicPorts.map((p) => `livekit/${p}`), 'nlb/tcp:443-443'].sort());
  });
  it('lets only the NLB reach the proxied ports (signalling, TURN/TLS) behind it', () => {
    const rules = ingressRules(layout({})).filter((r) => r.group === 'livekit' && (r.fromPort === 7880 || r.fromPort === LIVEKIT_TURN_TLS_PORT));
    expect(rules.map((r) => r.source)).toEqual([
      { kind: 'group', group: 'nlb' },
      { kind: 'group', group: 'nlb' },
    ]);
    // Behind Caddy (small) they stay on loopback: no rule at all.
    expect(ingressRules(layout({ tlsTerminator: 'caddy' })).some((r) => r.fromPort === 7880)).toBe(false);
  });
  it('admits Redis only from the stack groups (LiveKit, agents)', () => {
    const redis = ingressRules(layout({})).filter((r) => r.fromPort === REDIS_PORT);
    expect(redis.map((r) => [r.group, r.source])).toEqual([
      ['redis', { kind: 'group', group: 'livekit' }],
      ['redis', { kind: 'group', group: 'agents' }],
    ]);
    const mid = ingressRules(layout({ redis: 'node-shared' })).filter((r) => r.fromPort === REDIS_PORT);
    expect(mid.map((r) => [r.group, r.source])).toEqual([['livekit', { kind: 'group', group: 'agents' }]]);
  });
  it('gives the operator listener only the operator CIDRs, and the intake only the NLB', () => {
    const rules = ingressRules(layout({ operatorListenerPort: OPERATOR_LISTENER_PORT, operatorCidrs: ['203.0.113.0/24', '198.51.100.7/32'] }));
    expect(rules.filter((r) => r.fromPort === OPERATOR_LISTENER_PORT).map((r) => r.source)).toEqual([
      { kind: 'cidr', cidr: '203.0.113.0/24' },
      { kind: 'cidr', cidr: '198.51.100.7/32' },
    ]);
    expect(rules.filter((r) => r.fromPort === 8080).map((r) => r.source)).toEqual([{ kind: 'group', group: 'nlb' }]);
  });
  it('gives agent workers no ingress at all', () => {
    expect(ingressRules(layout({})).some((r) => r.group === 'agents')).toBe(false);
    expect(groupRoles(layout({}))).toEqual(['livekit', 'agents', 'nlb', 'redis']);
  });
});

describe('load balancer listeners', () => {
  it('maps 443 to signalling 7880 and TURN/TLS to its tls_port, one NLB each', () => {
    expect(listenerSpecs(['signalling', 'turn-tls'], null)).toEqual([
      { loadBalancer: 'signalling', name: 'signalling', listenerPort: 443, targetPort: 7880 },
      { loadBalancer: 'turn-tls', name: 'turn-tls', listenerPort: 443, targetPort: LIVEKIT_TURN_TLS_PORT },
    ]);
  });
  it('adds the operator listener on the signalling NLB only when asked', () => {
    expect(listenerSpecs(['signalling', 'turn-tls'], { intakePort: 8080 }).at(-1)).toEqual({
      loadBalancer: 'signalling',
      name: 'operator',
      listenerPort: OPERATOR_LISTENER_PORT,
      targetPort: 8080,
    });
  });
});

describe('agent fleet scaling', () => {
  it('divides waiting calls by in-service instances with exactly one returned series', () => {
    const metrics = backlogMetrics({ namespace: DEFAULT_METRICS_NAMESPACE, stack: 'large', groupName: 'agents' });
    expect(metrics.filter((m) => m.returnData)).toHaveLength(1);
    expect(metrics.find((m) => m.returnData)?.expression).toBe('waiting / instances');
    expect(metrics[0]?.metricStat?.metric.metricName).toBe(METRICS.queueWaitingCalls.cloudWatch);
    expect(metrics[1]?.metricStat?.metric.metricName).toBe('GroupInServiceInstances');
  });
});

describe('alarms and dashboard', () => {
  const inputs = {
    stack: 'large',
    region: 'us-east-1',
    namespace: DEFAULT_METRICS_NAMESPACE,
    maxWaitSeconds: 5,
    cpuSources: [
      { kind: 'group' as const, id: 'lk', label: 'LiveKit nodes' },
      { kind: 'group' as const, id: 'ag', label: 'agent workers' },
    ],
  };
  it('creates as many alarms as the cost engine prices, on the shared metric names', () => {
    const specs = alarmSpecs(inputs);
    expect(specs).toHaveLength(ALARM_COUNT);
    const byId = Object.fromEntries(specs.map((s) => [s.id, s]));
    expect(byId['dead-letters']).toMatchObject({ comparisonOperator: 'GreaterThanThreshold', threshold: 0, metric: { key: 'deadLetters' } });
    expect(byId['success-rate']).toMatchObject({ comparisonOperator: 'LessThanThreshold', threshold: 0.95, metric: { key: 'callSucceeded' } });
    expect(byId['turn-latency-p95']).toMatchObject({ threshold: 800, metric: { key: 'turnLatency', extendedStatistic: 'p95' } });
    expect(byId['oldest-wait']).toMatchObject({ threshold: 5, metric: { key: 'queueOldestWait' } });
    const cpu = byId.cpu!.metric;
    expect(cpu.kind === 'math' && cpu.queries.filter((q) => q.returnData)).toHaveLength(1);
  });
  it('draws only metrics the queue and agent publish', () => {
    const body = dashboardBody({ ...inputs, alarmArns: ['arn:alarm'] }) as { widgets: Array<{ properties: { metrics?: unknown[][] } }> };
    const names = new Set<string>(Object.values(METRICS).map((m) => m.cloudWatch));
    const drawn = body.widgets.flatMap((w) => w.properties.metrics ?? []).filter((m) => m[0] === DEFAULT_METRICS_NAMESPACE);
    expect(drawn.length).toBeGreaterThan(10);
    for (const metric of drawn) expect(names.has(metric[1] as string)).toBe(true);
    for (const wanted of ['queueWaitingCalls', 'queueWait', 'activeCalls', 'fleetCapacity', 'turnLatency', 'callSucceeded', 'callEscalated', 'callCost'] as const) {
      expect(drawn.some((m) => m[1] === METRICS[wanted].cloudWatch)).toBe(true);
    }
    const latency = drawn.filter((m) => m[1] === METRICS.turnLatency.cloudWatch).map((m) => (m[4] as { stat: string }).stat);
    expect(latency).toEqual(['p50', 'p95', 'p99']);
  });
});

describe('instance role', () => {
  const doc = instancePolicyDocument({
    secretArns: ['arn:aws:secretsmanager:us-east-1:123456789012:secret:voice-agent/large/livekit-api-secret-x'],
    metricsNamespace: 'VoiceAgent',
    logGroupArn: 'arn:aws:logs:us-east-1:123456789012:log-group:/voice-agent/large',
    ecrRepositoryArn: 'arn:aws:ecr:us-east-1:123456789012:repository/voice-agent',
  });
  it("reads this stack's secrets by ARN, nothing wider", () => {
    const read = doc.Statement.find((s) => s.Action.includes('secretsmanager:GetSecretValue'))!;
    expect(read.Resource).toEqual(['arn:aws:secretsmanager:us-east-1:123456789012:secret:voice-agent/large/livekit-api-secret-x']);
  });
  it('puts metrics only into its namespace', () => {
    const put = doc.Statement.find((s) => s.Action.includes('cloudwatch:PutMetricData'))!;
    expect(put.Condition).toEqual({ StringEquals: { 'cloudwatch:namespace': 'VoiceAgent' } });
  });
  it('grants "*" only where AWS has no resource scope', () => {
    const wildcard = doc.Statement.filter((s) => s.Resource === '*').flatMap((s) => s.Action);
    expect(wildcard.sort()).toEqual(['cloudwatch:PutMetricData', 'ecr:GetAuthorizationToken']);
  });
  it('finds the ECR repository of an image reference', () => {
    expect(ecrRepositoryArnOfImage('123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/voice-agent:1.2.3')).toBe(
      'arn:aws:ecr:eu-west-1:123456789012:repository/team/voice-agent',
    );
    expect(ecrRepositoryArnOfImage('ghcr.io/acme/voice-agent:1.2.3')).toBeNull();
  });
});

describe('lifecycle: termination hook and the drain watcher\'s IAM', () => {
  it('the hook waits the drain plus a margin, within AWS\'s 30-7200 s, and terminates anyway at the end', () => {
    expect(terminationHookArgs('g', 600)).toEqual({
      name: DRAIN_HOOK_NAME,
      autoscalingGroupName: 'g',
      lifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
      heartbeatTimeout: 600 + DRAIN_HOOK_MARGIN_SECONDS,
      defaultResult: 'CONTINUE',
    });
    expect(() => terminationHookArgs('g', 7200)).toThrow(/AWS allows 30-7200/);
  });
  it('completes lifecycle actions on its own group only', () => {
    const arn = 'arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:abc:autoScalingGroupName/voice-agents-1234567';
    const doc = lifecyclePolicyDocument(arn);
    const complete = doc.Statement.find((st) => st.Action.includes('autoscaling:CompleteLifecycleAction'))!;
    expect(complete.Resource).toBe(arn);
    // The only "*": a lookup AWS cannot scope.
    expect(doc.Statement.filter((st) => st.Resource === '*').flatMap((st) => st.Action)).toEqual(['autoscaling:DescribeAutoScalingInstances']);
  });
  it('the single node role reads the image parameter it is given, nothing wider', () => {
    const parameter = 'arn:aws:ssm:us-east-1:123456789012:parameter/voice-agent/mid/agent-image';
    const doc = instancePolicyDocument({ secretArns: [], metricsNamespace: 'VoiceAgent', logGroupArn: 'arn:aws:logs:us-east-1:123456789012:log-group:/x', ecrRepositoryArn: null, parameterArns: [parameter] });
    expect(doc.Statement.find((st) => st.Action.includes('ssm:GetParameter'))?.Resource).toEqual([parameter]);
  });
});

describe('agent image', () => {
  it('the tag covers every path the build context admits (.dockerignore is an allowlist)', () => {
    const allowed = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('!'))
      .map((l) => l.slice(1).replace(/\/\*\*$/, ''));
    expect(allowed.length).toBeGreaterThan(5);
    for (const path of allowed) expect(DEFAULT_TAG_SOURCES, path).toContain(path);
    expect(DEFAULT_TAG_SOURCES).toEqual(expect.arrayContaining(['.dockerignore', 'agent/Dockerfile']));
  });
  it('a new target platform is a new tag', () => {
    const root = mkdtempSync(join(tmpdir(), 'agent-image-'));
    writeFileSync(join(root, 'package.json'), '{}');
    expect(contentTag(root, ['package.json'], ['linux/amd64'])).not.toBe(contentTag(root, ['package.json'], ['linux/amd64', 'linux/arm64']));
    expect(contentTag(root, ['package.json'], ['linux/arm64', 'linux/amd64'])).toBe(contentTag(root, ['package.json'], ['linux/amd64', 'linux/arm64']));
  });
  it('tags by content: same sources, same tag; a change, a new tag', () => {
    const root = mkdtempSync(join(tmpdir(), 'agent-image-'));
    mkdirSync(join(root, 'agent', 'src'), { recursive: true });
    writeFileSync(join(root, 'agent', 'src', 'main.ts'), 'one');
    const first = contentTag(root, ['agent/src', 'agent/Dockerfile']);
    expect(first).toMatch(/^src-[0-9a-f]{12}$/);
    expect(contentTag(root, ['agent/src', 'agent/Dockerfile'])).toBe(first);
    writeFileSync(join(root, 'agent', 'src', 'main.ts'), 'two');
    expect(contentTag(root, ['agent/src', 'agent/Dockerfile'])).not.toBe(first);
  });
  it('builds one platform per CPU architecture', () => {
    expect(imagePlatforms(['arm64', 'arm64'])).toEqual(['linux/arm64']);
    expect(imagePlatforms(['x86_64', 'arm64'])).toEqual(['linux/amd64', 'linux/arm64']);
  });
});
