/** The Kubernetes target's pure parts: config checks, node packing, the proxy config, the KEDA spec, the cost lines. */
import { DEFAULT_CATALOG } from '@voice-agent-infra/common';
import { describe, expect, it } from 'vitest';
import { parseStackConfig, type StackConfigInput } from '../../components/config.js';
import { kubernetesNodePools, nodesFor } from '../../components/cost/kubernetes-nodes.js';
import { CONTROL_PLANE_PRICE_KEY, priceDeployment } from '../../components/cost/price-deployment.js';
import { scaledObjectSpec } from '../../components/k8s/agent-workers.js';
import { cpuQuantity, labels, memoryQuantity, selectorLabels } from '../../components/k8s/common.js';
import { loadBalancerAnnotations } from '../../components/k8s/livekit.js';
import { redisCommand } from '../../components/k8s/redis.js';
import { redisUrl } from '../../components/k8s/secrets.js';
import { tlsProxyConfig } from '../../components/k8s/tls-proxy.js';
import { ISSUED_TLS_SECRET, validateK8sConfig } from '../../components/k8s/validate.js';
import { planDeployment } from '../../components/plan/plan.js';
import { errorOf } from '../fixtures/config-error.js';

const kubernetes = {
  domain: 'voice.example.com',
  tls: { clusterIssuer: 'letsencrypt-prod' },
  agentImage: 'ghcr.io/acme/voice-agent:1.2.3',
  nodeCidrs: ['10.0.0.0/16'],
};
const config = (over: Record<string, unknown> = {}, minutes = 50_000) =>
  parseStackConfig({ monthlyMinutes: minutes, target: 'kubernetes', kubernetes: { ...kubernetes, ...over } } as StackConfigInput);
const check = (c: ReturnType<typeof config>) => validateK8sConfig(c, planDeployment(c));

describe('the kubernetes config section', () => {
  it('fills its defaults: namespace voice-agent, generic provider, no KEDA, control plane 0', () => {
    const c = parseStackConfig({ monthlyMinutes: 1000 });
    expect(c.kubernetes).toMatchObject({ namespace: 'voice-agent', provider: 'generic', keda: false, kedaNamespace: 'keda', controlPlaneMonthlyUsd: 0, inClusterRedis: false });
  });

  it.each([
    [{ namespace: 'Voice_Agent' }, 'kubernetes.namespace', /lower-case DNS label/],
    [{ provider: 'azure' }, 'kubernetes.provider', /aws, gcp, generic/],
    [{ keda: 'yes' }, 'kubernetes.keda', /true or false/],
    [{ controlPlaneMonthlyUsd: -1 }, 'kubernetes.controlPlaneMonthlyUsd', /at least 0/],
    [{ tolerations: { livekit: [{ effect: 'Sometimes' }] } }, 'kubernetes.tolerations.livekit.0.effect', /NoSchedule/],
    [{ nodeSelectors: { gpu: {} } }, 'kubernetes.nodeSelectors.gpu', /unknown key; allowed here: livekit, agents, services/],
  ])('rejects %j naming the key', (over, key, allowed) => {
    const error = errorOf(() => config(over));
    expect(error.key).toBe(key);
    expect(error.message).toMatch(allowed);
  });

  it('reads "true" and "false" as pulumi config set writes them', () => {
    expect(config({ keda: 'true' }).kubernetes.keda).toBe(true);
  });
});

describe('validateK8sConfig', () => {
  it('returns the placement: turn.<domain>, the issued TLS Secret, the external Redis endpoint', () => {
    const p = validateK8sConfig(config({ redisUrl: 'rediss://r.example.internal:6380' }, 250_000), planDeployment(config({ redisUrl: 'rediss://r.example.internal:6380' }, 250_000)));
    expect(p).toMatchObject({ domain: 'voice.example.com', turnDomain: 'turn.voice.example.com', tls: { secretName: ISSUED_TLS_SECRET, clusterIssuer: 'letsencrypt-prod' }, externalRedis: { host: 'r.example.internal', port: 6380 } });
  });

  it.each([
    [{ domain: undefined }, 'kubernetes.domain', /is required/],
    [{ domain: 'https://voice.example.com' }, 'kubernetes.domain', /DNS hostname/],
    [{ turnDomain: 'voice.example.com' }, 'kubernetes.turnDomain', /must differ/],
    [{ tls: undefined }, 'kubernetes.tls', /exactly one of secretName .* or clusterIssuer/],
    [{ tls: { secretName: 'a', clusterIssuer: 'b' } }, 'kubernetes.tls', /exactly one/],
    [{ agentImage: undefined }, 'kubernetes.agentImage', /nothing is built in the cluster/],
    [{ agentImage: 'acme/voice-agent:latest' }, 'kubernetes.agentImage', /pinned/],
    [{ nodeCidrs: undefined }, 'kubernetes.nodeCidrs', /host network.*webhooks/],
    [{ nodeCidrs: ['0.0.0.0/0'] }, 'kubernetes.nodeCidrs[0]', /whole internet/],
    [{ nodeCidrs: ['10.0.0.300/16'] }, 'kubernetes.nodeCidrs[0]', /CIDR/],
  ])('refuses %j naming the key', (over, key, allowed) => {
    const error = errorOf(() => check(config(over)));
    expect(error.key).toBe(key);
    expect(error.message).toMatch(allowed);
    expect(error.message.split('\n')).toHaveLength(1);
  });

  it('the external Redis speaks TLS and carries no credential in stack config (the value is not echoed)', () => {
    const large = (redis: string) => check(config({ redisUrl: redis }, 250_000));
    expect(errorOf(() => large('redis://r.example.internal:6379')).message).toMatch(/must use rediss:\/\//);
    const withPassword = errorOf(() => large('rediss://:hunter2hunter2@r.example.internal:6379'));
    expect(withPassword.message).toMatch(/pulumi config set --secret voice-agent-infra:redisPassword/);
    expect(withPassword.message).not.toContain('hunter2');
    expect(errorOf(() => large('rediss://r.example.internal:6379/2')).message).toMatch(/host:port only/);
  });
});

describe('Kubernetes pieces', () => {
  it('labels: the selector is a subset of the labels, per component', () => {
    const id = { stack: 'k8s-mid', tier: 'mid' };
    const all = labels(id, 'agent');
    for (const [k, v] of Object.entries(selectorLabels(id, 'agent'))) expect(all[k]).toBe(v);
    expect(selectorLabels(id, 'agent')).not.toEqual(selectorLabels(id, 'livekit'));
  });

  it('quantities in millicores and MiB; nonsense refused', () => {
    expect(cpuQuantity(3.2)).toBe('3200m');
    expect(memoryQuantity(6.4)).toBe('6554Mi');
    expect(() => cpuQuantity(0)).toThrow(/cpu must be > 0/);
  });

  it('load balancer annotations per cloud', () => {
    expect(loadBalancerAnnotations('aws')).toEqual({ 'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb' });
    expect(loadBalancerAnnotations('gcp')).toEqual({ 'cloud.google.com/l4-rbs': 'enabled' });
    expect(loadBalancerAnnotations('generic')).toEqual({});
  });

  it('Redis: durable flags, maxmemory under the limit, the password on stdin (never argv)', () => {
    const [shell, flag, script] = redisCommand(1);
    expect([shell, flag]).toEqual(['sh', '-c']);
    expect(script).toMatch(/^exec redis-server --port 6379 --appendonly yes --appendfsync everysec --maxmemory-policy noeviction --maxmemory 768mb --dir \/data - <<EOF\nrequirepass "\$REDIS_PASSWORD"\nEOF\n$/);
  });

  it('REDIS_URL: rediss for the external Redis, the password URL-encoded', () => {
    expect(redisUrl({ tls: false, host: 'redis.ns.svc.cluster.local', port: 6379, password: 'a/b' })).toBe('redis://:a%2Fb@redis.ns.svc.cluster.local:6379');
    expect(redisUrl({ tls: true, host: 'r', port: 6380 })).toBe('rediss://r:6380');
  });

  it('the TLS proxy serves the signalling name only, HTTP/1.1, from the Secret, to LiveKit inside the cluster', () => {
    const c = tlsProxyConfig({ domain: 'voice.example.com', upstream: 'livekit.voice-agent.svc.cluster.local:7880' }) as any; // eslint-disable-line @typescript-eslint/no-explicit-any
    const signal = c.apps.http.servers.signal;
    expect(signal.listen).toEqual([':8443']);
    expect(signal.tls_connection_policies).toEqual([{ match: { sni: ['voice.example.com'] }, alpn: ['http/1.1'] }]);
    expect(signal.routes[0].handle[0]).toMatchObject({ handler: 'reverse_proxy', upstreams: [{ dial: 'livekit.voice-agent.svc.cluster.local:7880' }] });
    expect(c.apps.tls.certificates.load_files).toEqual([{ certificate: '/etc/tls/tls.crt', key: '/etc/tls/tls.key' }]);
    expect(c.admin).toEqual({ disabled: true });
    expect(() => tlsProxyConfig({ domain: 'voice.example.com', upstream: 'http://livekit:7880' })).toThrow(/host:port/);
  });

  it('the ScaledObject: metrics-api on waiting and active calls, the plan\'s bounds, fallback at the spike size', () => {
    const plan = planDeployment(config({ keda: true }));
    const autoscaling = plan.layout.autoscaling.find((a) => a.role === 'agent')!;
    const spec = scaledObjectSpec({ deploymentName: 'agent', autoscaling, queueStatsUrl: 'http://queue.ns.svc.cluster.local:8080/v1/queue' });
    expect(spec).toMatchObject({ minReplicaCount: plan.agents.workers.min, maxReplicaCount: plan.agents.workers.max, fallback: { replicas: plan.agents.workers.max } });
    expect(spec.triggers.map((t) => [t.metadata.valueLocation, t.metadata.targetValue])).toEqual([
      ['waiting', String(autoscaling.signals[0]!.target)],
      ['active', String(autoscaling.signals[1]!.target)],
    ]);
    const cpuOnly = planDeployment(config()).layout.autoscaling.find((a) => a.role === 'agent')!;
    expect(() => scaledObjectSpec({ deploymentName: 'agent', autoscaling: cpuOnly, queueStatsUrl: 'http://q/v1/queue' })).toThrow(/HPA fallback/);
  });
});

describe('nodes for the pods\' requests', () => {
  const pod = (cpu: number, memoryGiB: number, onePerNode = false) => ({ role: onePerNode ? ('livekit' as const) : ('agent' as const), requests: { cpu, memoryGiB }, onePerNode });
  const node = { cpu: 3.5, memoryGiB: 6.5 };

  it('first-fit decreasing by CPU, memory counted too', () => {
    expect(nodesFor([], node)).toBe(0);
    expect(nodesFor([pod(3.2, 6.4), pod(3.2, 6.4), pod(3.2, 6.4)], node)).toBe(3);
    expect(nodesFor([pod(1, 1), pod(1, 1), pod(1, 1)], node)).toBe(1);
    expect(nodesFor([pod(0.5, 4), pod(0.5, 4)], node)).toBe(2); // memory, not CPU, decides
  });

  it('one LiveKit pod per node, other pods fill the room beside it', () => {
    expect(nodesFor([pod(1, 1, true), pod(1, 1, true)], node)).toBe(2);
    expect(nodesFor([pod(1, 1, true), pod(2, 2)], node)).toBe(1);
  });

  it('a pod larger than a node is an error, not a fractional node', () => {
    expect(() => nodesFor([pod(4, 1)], node)).toThrow(/fits no node of 3.5 vCPU/);
  });

  it('pools of a plan: small packs every pod on the box type; mid has LiveKit, agents and services pools', () => {
    const small = kubernetesNodePools(planDeployment(config({}, 15_000)).layout);
    expect(small.map((p) => [p.name, p.busyNodes, p.spikeNodes])).toEqual([['box', 2, 2]]);
    const mid = planDeployment(config({ keda: true }));
    const pools = kubernetesNodePools(mid.layout);
    expect(pools.map((p) => p.name)).toEqual(['livekit', 'agents', 'services']);
    expect(pools[0]).toMatchObject({ busyNodes: mid.livekit.nodes.min, spikeNodes: mid.livekit.nodes.max });
    expect(pools[1]).toMatchObject({ busyNodes: mid.agents.workers.min, spikeNodes: mid.agents.workers.max }); // one 3.2 vCPU agent per 3.5 vCPU node
  });
});

describe('cost of a Kubernetes stack', () => {
  it('prices the node pools, the control plane from config, the load balancers; no CloudWatch, Secrets Manager or ECR', () => {
    const plan = planDeployment(config({ controlPlaneMonthlyUsd: 73, keda: true }));
    const cost = priceDeployment(plan, DEFAULT_CATALOG);
    const items = cost.lines.map((l) => l.item);
    expect(items.filter((i) => i.startsWith('Kubernetes nodes'))).toEqual([
      'Kubernetes nodes c7i.2xlarge (livekit)',
      'Kubernetes nodes c7i.xlarge (agent)',
      'Kubernetes nodes c7i.xlarge (queue, redis, tlsProxy)',
    ]);
    expect(cost.lines.find((l) => l.item === 'Kubernetes control plane')).toMatchObject({ monthlyUsd: 73, priceKey: CONTROL_PLANE_PRICE_KEY });
    expect(items.some((i) => /CloudWatch|Secrets Manager|ECR/.test(i))).toBe(false);
    expect(cost.pricesUsed.map((p) => p.key)).not.toContain(CONTROL_PLANE_PRICE_KEY);
    const agents = cost.lines.find((l) => l.item === 'Kubernetes nodes c7i.xlarge (agent)')!;
    expect(agents.basis).toMatch(/the pods' requests need \d+ nodes? at the busy hour .* and \d+ at the spike/);
    const sum = cost.lines.filter((l) => l.category === 'infra').reduce((a, l) => a + l.monthlyUsd, 0);
    expect(sum).toBeCloseTo(cost.infraMonthlyUsd, 9);
  });

  it('an existing cluster costs no control plane; the AWS stack keeps its lines', () => {
    expect(priceDeployment(planDeployment(config()), DEFAULT_CATALOG).lines.find((l) => l.item === 'Kubernetes control plane')!.monthlyUsd).toBe(0);
    const aws = priceDeployment(planDeployment(parseStackConfig({ monthlyMinutes: 50_000 })), DEFAULT_CATALOG);
    expect(aws.lines.some((l) => l.item.startsWith('Kubernetes'))).toBe(false);
    expect(aws.lines.some((l) => l.item === 'CloudWatch alarms')).toBe(true);
  });
});
