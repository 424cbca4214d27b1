import { describe, expect, it } from 'vitest';
import { awsLayout } from '../../components/aws/layout.js';
import { AWS_MAX_DRAIN_SECONDS, parseStackConfig } from '../../components/config.js';
import {
  AGENT_CPU_TARGET_PERCENT,
  AGENT_SHUTDOWN_MARGIN_SECONDS,
  allocatable,
  LIVEKIT_CPU_TARGET_PERCENT,
  backlogPerWorkerTarget,
  MAX_CALL_SECONDS,
  NODE_RESERVED,
  ROOM_EMPTY_TIMEOUT_SECONDS,
} from '../../components/plan/layout.js';
import { planDeployment } from '../../components/plan/plan.js';
import { errorOf } from '../fixtures/config-error.js';

const aws = (minutes: number, extra: Record<string, unknown> = {}) => planDeployment(parseStackConfig({ monthlyMinutes: minutes, ...extra }));
const k8s = (minutes: number, kubernetes: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) =>
  planDeployment(parseStackConfig({ monthlyMinutes: minutes, target: 'kubernetes', kubernetes, ...extra }));

describe('layout on AWS (what the AWS components read in place of the tier name)', () => {
  it('small: Caddy on the box terminates TLS, Redis on loopback without AUTH, every role on one machine, nothing autoscales', () => {
    const { layout } = aws(15_000);
    expect(layout.tls).toEqual({ signalling: 'node-proxy', turn: 'node-proxy' });
    expect(layout.loadBalancers).toEqual([]);
    expect(layout.redis).toEqual({ placement: 'node', reachedFrom: 'node', tls: false, auth: false, livekitUsesIt: false });
    expect(layout.machines).toHaveLength(1);
    expect(layout.machines[0]!.roles).toEqual(expect.arrayContaining(['livekit', 'redis', 'intake', 'dispatcher', 'agent', 'tls-proxy']));
    expect(layout.autoscaling).toEqual([]);
    expect(layout.pods).toBeNull();
  });

  it('mid: the NLBs terminate TLS, Redis on the LiveKit node reached by the agents with AUTH, agents scale on backlog and CPU', () => {
    const plan = aws(50_000);
    const { layout } = plan;
    expect(layout.tls).toEqual({ signalling: 'load-balancer', turn: 'load-balancer' });
    expect(layout.loadBalancers).toEqual(plan.loadBalancerRoles);
    expect(layout.redis).toMatchObject({ placement: 'node', reachedFrom: 'stack', auth: true, livekitUsesIt: false });
    expect(layout.machines.map((m) => [m.name, m.roles])).toEqual([
      ['livekit', ['livekit', 'redis', 'intake', 'dispatcher']],
      ['agents', ['agent']],
    ]);
    expect(layout.autoscaling.map((a) => [a.role, a.signals.map((s) => s.metric)])).toEqual([['agent', ['queue-waiting', 'cpu']]]);
    expect(layout.autoscaling[0]!.replicas).toEqual(plan.agents.workers);
  });

  it('large: managed Redis over TLS that LiveKit shares, and the LiveKit group scales on CPU', () => {
    const plan = aws(250_000);
    expect(plan.layout.redis).toEqual({ placement: 'managed', reachedFrom: 'stack', tls: true, auth: true, livekitUsesIt: true });
    expect(plan.layout.autoscaling.map((a) => a.role)).toEqual(['livekit', 'agent']);
    expect(plan.layout.autoscaling[0]!.replicas).toEqual(plan.livekit.nodes);
  });

  it.each([5_000, 15_000, 24_999, 25_000, 50_000, 100_000, 100_001, 250_000, 1_000_000])(
    'awsLayout gives the AWS components what the tier used to decide (%i minutes)',
    (minutes) => {
      const plan = aws(minutes);
      const view = awsLayout(plan.layout);
      const byTier = { small: 0, mid: 1, large: 2 }[plan.tier];
      expect(view.tlsTerminator).toBe(['caddy', 'nlb', 'nlb'][byTier]);
      expect(view.agentFleet).toBe(!plan.agents.colocatedWithLivekit);
      expect(view.redis).toBe(['node-loopback', 'node-shared', 'managed'][byTier]);
      expect(view.redisAuth).toBe(byTier > 0);
      expect(view.singleLivekitNode).toBe(byTier < 2);
      expect(view.livekitNodeRole).toBe(['small', 'livekit-mid', 'livekit-large'][byTier]);
      expect(view.livekitCpuLabel).toBe(['the box', 'LiveKit node', 'LiveKit nodes'][byTier]);
      expect(view.agentScaling).toEqual(
        byTier === 0
          ? null
          : { backlogPerInstance: backlogPerWorkerTarget({ ...plan.assumptions, sessionsPerWorker: plan.agents.sessionsPerWorker }), cpuPercent: AGENT_CPU_TARGET_PERCENT },
      );
      expect(view.livekitCpuPercent).toBe(byTier === 2 ? LIVEKIT_CPU_TARGET_PERCENT : null);
    },
  );

  it('the drain on AWS is aws.drainSeconds (default: the longest one termination hook holds)', () => {
    expect(aws(50_000).layout.drain).toEqual({ agentSeconds: AWS_MAX_DRAIN_SECONDS, livekitSeconds: AWS_MAX_DRAIN_SECONDS });
    expect(aws(50_000, { aws: { drainSeconds: 900 } }).layout.drain).toEqual({ agentSeconds: 900, livekitSeconds: 900 });
  });

  it('awsLayout refuses a layout AWS cannot build', () => {
    expect(() => awsLayout(k8s(50_000, { domain: 'voice.example.com', tls: { secretName: 'tls' }, agentImage: 'r/a:1', nodeCidrs: ['10.0.0.0/16'] }).layout)).toThrow(/Kubernetes layout/);
    const layout = aws(250_000).layout;
    expect(() => awsLayout({ ...layout, autoscaling: layout.autoscaling.map((a) => ({ ...a, signals: a.signals.filter((sig) => sig.metric !== 'queue-waiting') })) })).toThrow(
      /queue backlog and CPU/,
    );
    expect(() => awsLayout({ ...layout, redis: { ...layout.redis, placement: 'in-cluster' } })).toThrow(/not "in-cluster"/);
  });

  it('the backlog target is what one worker starts within the acceptable wait', () => {
    // 25 sessions, 5-minute calls: 25 / 300 s = 1/12 call per second; 5 s of wait -> 0.42 waiting calls.
    expect(backlogPerWorkerTarget({ maxWaitSeconds: 5, avgCallMinutes: 5, sessionsPerWorker: 25 })).toBe(0.42);
    expect(backlogPerWorkerTarget({ maxWaitSeconds: 0, avgCallMinutes: 5, sessionsPerWorker: 25 })).toBe(0.1);
  });
});

describe('layout on Kubernetes', () => {
  it('sizes pods from what a node leaves them (allocatable), not the whole machine', () => {
    const plan = k8s(50_000);
    const node = allocatable({ vcpu: 4, memoryGiB: 8 });
    expect(node).toEqual({ vcpu: 4 - NODE_RESERVED.cpu, memoryGiB: 8 - NODE_RESERVED.memoryGiB });
    // 3.5 vCPU x 6.25 = 21.9, 6.5 GiB / 0.32 = 20.3: memory decides, 20 sessions (AWS gives the whole machine: 25).
    expect(plan.agents.sessionsPerWorker).toBe(20);
    expect(aws(50_000).agents.sessionsPerWorker).toBe(25);
    const agent = plan.layout.pods!.agent!;
    expect(agent.containers[0]!.requests).toEqual({ cpu: 3.2, memoryGiB: 6.4 });
    expect(agent.containers[0]!.limits).toEqual(agent.containers[0]!.requests);
    expect(agent.replicas).toEqual(plan.agents.workers);
    // The agent pod fits the node it is sized for.
    expect(agent.containers[0]!.requests.cpu).toBeLessThanOrEqual(node.vcpu);
    expect(agent.containers[0]!.requests.memoryGiB).toBeLessThanOrEqual(node.memoryGiB);
  });

  it('TLS: the proxy pods for signalling, LiveKit itself for TURN/TLS; two load balancers', () => {
    const { layout } = k8s(50_000);
    expect(layout.tls).toEqual({ signalling: 'cluster-proxy', turn: 'livekit' });
    expect(layout.loadBalancers).toEqual(['signalling', 'turn-tls']);
  });

  it('Redis: in the cluster on small and mid; large needs an external one or an explicit choice', () => {
    // One LiveKit node uses no Redis, unless the SIP service needs it there (tests/unit/k8s-sip.test.ts).
    expect(k8s(15_000, {}, { sip: { enabled: false } }).layout.redis).toMatchObject({ placement: 'in-cluster', tls: false, auth: true, livekitUsesIt: false });
    expect(k8s(15_000).layout.redis).toMatchObject({ placement: 'in-cluster', livekitUsesIt: true });
    expect(k8s(50_000).layout.pods!.redis).not.toBeNull();
    const error = errorOf(() => k8s(250_000));
    expect(error.key).toBe('kubernetes.redisUrl');
    expect(error.message).toMatch(/is required on the large tier.*kubernetes.inClusterRedis: true/);
    const external = k8s(250_000, { redisUrl: 'rediss://queue.example.internal:6379' });
    expect(external.redis.mode).toBe('external');
    expect(external.layout.redis).toEqual({ placement: 'external', reachedFrom: 'stack', tls: true, auth: true, livekitUsesIt: true });
    expect(external.layout.pods!.redis).toBeNull();
    expect(external.layout.machines.find((m) => m.name === 'services')!.roles).not.toContain('redis');
    const inCluster = k8s(250_000, { inClusterRedis: true });
    expect(inCluster.layout.redis).toMatchObject({ placement: 'in-cluster', livekitUsesIt: true });
    expect(errorOf(() => k8s(250_000, { redisUrl: 'rediss://r.example.internal:6379', inClusterRedis: true })).key).toBe('kubernetes.inClusterRedis');
  });

  it('agents scale on the queue with KEDA (waiting and active calls), on CPU without it; small does not scale', () => {
    const withKeda = k8s(50_000, { keda: true });
    const agents = withKeda.layout.autoscaling.find((a) => a.role === 'agent')!;
    expect(agents.signals.map((s) => s.metric)).toEqual(['queue-waiting', 'queue-active']);
    expect(agents.signals[1]!.target).toBe(Math.floor(withKeda.agents.sessionsPerWorker * 0.8));
    expect(k8s(50_000).layout.autoscaling.find((a) => a.role === 'agent')!.signals.map((s) => s.metric)).toEqual(['cpu']);
    expect(k8s(15_000, { keda: true }).layout.autoscaling).toEqual([]);
  });

  it('grace periods cover the drain: agents the longest call + 30 s, LiveKit the longest call and the empty room', () => {
    const { layout } = k8s(50_000);
    expect(layout.drain.agentSeconds).toBe(MAX_CALL_SECONDS);
    expect(layout.pods!.agent!.terminationGracePeriodSeconds).toBe(MAX_CALL_SECONDS + AGENT_SHUTDOWN_MARGIN_SECONDS);
    expect(layout.pods!.livekit!.terminationGracePeriodSeconds).toBe(MAX_CALL_SECONDS + ROOM_EMPTY_TIMEOUT_SECONDS);
  });

  it('two intake/dispatcher and proxy replicas from mid up, one on small', () => {
    expect(k8s(15_000).layout.pods!.queue!.replicas).toEqual({ min: 1, max: 1 });
    expect(k8s(50_000).layout.pods!.queue!.replicas).toEqual({ min: 2, max: 2 });
    expect(k8s(50_000).layout.pods!.tlsProxy!.replicas).toEqual({ min: 2, max: 2 });
  });

  it('node instance types from config size the pods and are named in errors', () => {
    const plan = k8s(50_000, { nodeInstanceTypes: { agents: 'c7i.2xlarge', services: 'c7i.large' } });
    expect(plan.agents.instanceType).toBe('c7i.2xlarge');
    expect(plan.agents.sessionsPerWorker).toBe(45); // 7.5 vCPU x 6.25 = 46.9, 14.5 GiB / 0.32 = 45.3
    expect(plan.layout.machines.find((m) => m.name === 'services')!.instanceType).toBe('c7i.large');
    expect(errorOf(() => k8s(50_000, { nodeInstanceTypes: { livekit: 'n2-standard-8' } })).key).toBe('kubernetes.nodeInstanceTypes.livekit');
  });

  it('leaves the AWS plan as it was (the target changes only the Kubernetes fields)', () => {
    const plan = aws(250_000);
    expect(plan.agents.sessionsPerWorker).toBe(25);
    expect(plan.redis.mode).toBe('managed');
  });
});
