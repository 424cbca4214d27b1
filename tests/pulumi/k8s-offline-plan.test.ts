/**
 * The real program (index.ts) under the engine-like mocks, once per Kubernetes example stack
 * (child processes), held against the Kubernetes schemas, the plan, the policies and the cost.
 */
import type { ResourceValidationPolicy } from '@pulumi/policy';
import { DEFAULT_CATALOG, price, sessionsAtThreshold } from '@voice-agent-infra/common';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { expectedAverage, HOURS_PER_MONTH } from '../../components/cost/price-deployment.js';
import { nodesFor, type PodDemand } from '../../components/cost/kubernetes-nodes.js';
import { LABEL_KEYS } from '../../components/k8s/common.js';
import { undocumentedKeys } from '../../components/livekit/livekit-yaml.js';
import { allocatable, MAX_CALL_SECONDS, type PodRole } from '../../components/plan/layout.js';
import { INSTANCE_SHAPES } from '../../components/plan/instances.js';
import { findSecretMaterial } from '../../components/policy/policies.js';
import { K8S_TYPES, kubernetesPolicies, pdbViolations } from '../../components/policy/kubernetes.js';
import { buildStackReport } from '../../components/report.js';
import { offlinePlans, type OfflinePlan, type PlannedResource, resourceTree } from '../../scripts/lib/offline-plan.js';
import { resourceViolations } from '../../components/policy/policies.js';
import { exampleConfig, K8S_EXAMPLE_STACKS } from './helpers.js';
import { validateObject } from './k8s-schema.js';

const T = {
  ...K8S_TYPES,
  namespace: 'kubernetes:core/v1:Namespace',
  secret: 'kubernetes:core/v1:Secret',
  service: 'kubernetes:core/v1:Service',
  networkPolicy: 'kubernetes:networking.k8s.io/v1:NetworkPolicy',
  hpa: 'kubernetes:autoscaling/v2:HorizontalPodAutoscaler',
  scaledObject: 'kubernetes:keda.sh/v1alpha1:ScaledObject',
  certificate: 'kubernetes:cert-manager.io/v1:Certificate',
  job: 'kubernetes:batch/v1:Job',
} as const;

const plans = new Map<string, OfflinePlan>();
beforeAll(async () => {
  for (const plan of await offlinePlans(K8S_EXAMPLE_STACKS)) plans.set(plan.stack, plan);
}, 300_000);

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const k8sObjects = (stack: string) => plans.get(stack)!.resources.filter((r) => r.type.startsWith('kubernetes:'));
const of = (stack: string, type: string) => plans.get(stack)!.resources.filter((r) => r.type === type);
const component = (r: PlannedResource) => (r.inputs as Obj).metadata?.labels?.[LABEL_KEYS.component] as string | undefined;
const workload = (stack: string, name: string) => (of(stack, T.deployment).find((d) => (d.inputs as Obj).metadata.name === name)?.inputs ?? null) as Obj | null;
const podSpec = (w: Obj) => w.spec.template.spec as Obj;
const planOf = (stack: string) => buildStackReport(stack, exampleConfig(stack)).plan;
const envOf = (container: Obj, name: string): Obj => (container.env as Obj[]).find((e) => e.name === name)!;
const autoscalerOf = (stack: string, target: string) => {
  const hpa = of(stack, T.hpa).find((h) => (h.inputs as Obj).spec.scaleTargetRef.name === target);
  const keda = of(stack, T.scaledObject).find((s) => (s.inputs as Obj).spec.scaleTargetRef.name === target);
  return { hpa: hpa?.inputs as Obj | undefined, keda: keda?.inputs as Obj | undefined };
};
/** Replicas at the busy hour and the spike, as the graph sets them: the autoscaler's bounds, or the fixed count. */
const replicasOf = (stack: string, w: Obj) => {
  const { hpa, keda } = autoscalerOf(stack, w.metadata.name);
  if (keda) return { min: keda.spec.minReplicaCount as number, max: keda.spec.maxReplicaCount as number };
  if (hpa) return { min: hpa.spec.minReplicas as number, max: hpa.spec.maxReplicas as number };
  return { min: w.spec.replicas as number, max: w.spec.replicas as number };
};
const livekitConfigOf = (stack: string) => {
  const configMap = of(stack, T.configMap).find((c) => c.name === 'voice-livekit-config')!;
  return parseYaml((configMap.inputs as Obj).data['config.yaml']) as Obj;
};

/** The object as the API server would receive it; Secrets' values are redacted in the offline plan, so a placeholder map stands in. */
function asSent(r: PlannedResource): Obj {
  const object = structuredClone(r.inputs) as Obj;
  if (r.type === T.secret && object.stringData === '[secret]') object.stringData = { REDACTED: '[secret]' };
  return object;
}

describe.each(K8S_EXAMPLE_STACKS)('stack %s: every object is valid against the Kubernetes schemas', (stack) => {
  it('passes kubernetes-models validation (KEDA and cert-manager models for the custom resources)', async () => {
    const objects = k8sObjects(stack);
    expect(objects.length).toBeGreaterThan(15);
    for (const r of objects) {
      await expect(validateObject(asSent(r)), `${r.type} ${r.name}`).resolves.toBeUndefined();
    }
  });
});

describe('schema validation fails on a deliberately broken object', () => {
  it('a Deployment with a port as text, a ScaledObject with replicas as words, a NetworkPolicy with a bad port field', async () => {
    const livekit = structuredClone(workload('k8s-mid', 'livekit')!);
    livekit.spec.template.spec.containers[0].ports[0].containerPort = '7880';
    await expect(validateObject(livekit)).rejects.toThrow(/containerPort must be integer/);
    const scaler = structuredClone(of('k8s-mid', T.scaledObject)[0]!.inputs) as Obj;
    scaler.spec.minReplicaCount = 'two';
    await expect(validateObject(scaler)).rejects.toThrow(/minReplicaCount/);
    const policy = structuredClone(of('k8s-mid', T.networkPolicy)[0]!.inputs) as Obj;
    policy.spec.policyTypes = 'Ingress';
    await expect(validateObject(policy)).rejects.toThrow(/policyTypes/);
    await expect(validateObject({ apiVersion: 'example.com/v1', kind: 'Widget' })).rejects.toThrow(/no schema model/);
  });
});

describe.each(K8S_EXAMPLE_STACKS)('stack %s: the graph matches the plan', (stack) => {
  it('LiveKit: host network, one pod per node, replicas or autoscaler bounds from the plan, a grace period covering the longest call', () => {
    const plan = planOf(stack);
    const livekit = workload(stack, 'livekit')!;
    const spec = podSpec(livekit);
    expect(spec.hostNetwork).toBe(true);
    expect(spec.dnsPolicy).toBe('ClusterFirstWithHostNet');
    const anti = spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution;
    expect(anti).toHaveLength(1);
    expect(anti[0].topologyKey).toBe('kubernetes.io/hostname');
    expect(anti[0].labelSelector.matchLabels).toEqual(livekit.spec.selector.matchLabels);
    expect(replicasOf(stack, livekit)).toEqual(plan.livekit.nodes);
    const { hpa } = autoscalerOf(stack, 'livekit');
    expect(hpa !== undefined).toBe(plan.livekit.nodes.max > 1);
    if (hpa) expect(livekit.spec.replicas).toBeUndefined();
    expect(spec.terminationGracePeriodSeconds).toBe(plan.layout.pods!.livekit!.terminationGracePeriodSeconds);
    expect(spec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(MAX_CALL_SECONDS);
    const container = spec.containers[0];
    expect(envOf(container, 'LIVEKIT_CONFIG').valueFrom.configMapKeyRef.key).toBe('config.yaml');
    expect(container.args ?? []).not.toContain('--disable-strict-config');
    expect(container.readinessProbe.httpGet).toEqual({ path: '/', port: 7880 });
  });

  it('the LiveKit config passes the same strict-key test as on AWS, webhooks to the intake Service, TURN/TLS with the certificate', () => {
    const plan = planOf(stack);
    const config = livekitConfigOf(stack);
    expect(undocumentedKeys(config)).toEqual([]);
    const ns = exampleConfig(stack).kubernetes.namespace;
    expect(config.webhook.urls).toEqual([`http://queue.${ns}.svc.cluster.local:8080/webhooks/livekit`]);
    expect(config.turn).toMatchObject({ external_tls: false, cert_file: '/etc/livekit-tls/tls.crt', key_file: '/etc/livekit-tls/tls.key' });
    // The intake Service the URL names exists and selects the queue pods.
    const queue = of(stack, T.service).find((s) => (s.inputs as Obj).metadata.name === 'queue')!.inputs as Obj;
    expect(queue.spec.selector).toEqual(workload(stack, 'queue')!.spec.selector.matchLabels);
    expect(workload(stack, 'queue')!.spec.replicas).toBe(plan.layout.pods!.queue!.replicas.min);
  });

  it('Redis where the layout puts it: a StatefulSet in the cluster, or the external one (TLS) that LiveKit shares on large', () => {
    const plan = planOf(stack);
    const config = livekitConfigOf(stack);
    const statefulSets = of(stack, T.statefulSet);
    const redisPolicy = of(stack, T.networkPolicy).find((p) => component(p) === 'redis');
    if (plan.layout.redis.placement === 'in-cluster') {
      expect(statefulSets).toHaveLength(1);
      const redis = statefulSets[0]!.inputs as Obj;
      expect(redis.spec.template.spec.containers[0].command.join(' ')).toMatch(/--appendonly yes --appendfsync everysec --maxmemory-policy noeviction/);
      const from = (redisPolicy!.inputs as Obj).spec.ingress[0].from as Obj[];
      // sip-sync takes its lock in the queue's Redis.
      expect(from.filter((f) => f.podSelector).map((f) => f.podSelector.matchLabels[LABEL_KEYS.component]).sort()).toEqual(['agent', 'queue', 'sip-sync']);
      expect(from.some((f) => f.ipBlock)).toBe(plan.layout.redis.livekitUsesIt);
    } else {
      expect(statefulSets).toHaveLength(0);
      expect(redisPolicy).toBeUndefined();
    }
    if (plan.layout.redis.livekitUsesIt) {
      const external = exampleConfig(stack).kubernetes.redisUrl;
      if (external) expect(config.redis).toEqual({ address: new URL(external).host, tls: { enabled: true, server_name: new URL(external).hostname } });
      else expect(config.redis.tls).toBeUndefined();
    } else {
      expect(config.redis).toBeUndefined();
    }
  });

  it("agents: the plan's sessions per worker, requests = limits, grace >= drain + 30 s, min and max workers from the plan", () => {
    const plan = planOf(stack);
    const agent = workload(stack, 'agent')!;
    const container = podSpec(agent).containers[0];
    expect(sessionsAtThreshold(Number(envOf(container, 'AGENT_MAX_SESSIONS').value), Number(envOf(container, 'AGENT_LOAD_THRESHOLD').value))).toBe(plan.agents.sessionsPerWorker);
    const drain = Number(envOf(container, 'AGENT_DRAIN_TIMEOUT_SECONDS').value);
    expect(podSpec(agent).terminationGracePeriodSeconds).toBeGreaterThanOrEqual(drain + 30);
    expect(container.resources.limits).toEqual(container.resources.requests);
    expect(replicasOf(stack, agent)).toEqual(plan.agents.workers);
    const { hpa, keda } = autoscalerOf(stack, 'agent');
    const config = exampleConfig(stack);
    if (plan.agents.colocatedWithLivekit) {
      expect(hpa ?? keda).toBeUndefined();
    } else if (config.kubernetes.keda) {
      expect(keda!.spec.triggers.map((t: Obj) => [t.type, t.metadata.valueLocation])).toEqual([
        ['metrics-api', 'waiting'],
        ['metrics-api', 'active'],
      ]);
      for (const t of keda!.spec.triggers) expect(t.metadata.url).toBe(`http://queue.${config.kubernetes.namespace}.svc.cluster.local:8080/v1/queue`);
      expect(keda!.spec.fallback.replicas).toBe(plan.agents.workers.max);
    } else {
      expect(hpa!.spec.metrics[0].resource.name).toBe('cpu');
    }
  });

  it('PodDisruptionBudgets for LiveKit and the agents; NetworkPolicies deny by default and admit the nodes to the intake', () => {
    const resources = plans.get(stack)!.resources.map((r) => ({ type: r.type, name: r.name, props: r.inputs }));
    expect(pdbViolations(resources)).toEqual([]);
    const pdbComponents = of(stack, T.pdb).map(component).sort();
    expect(pdbComponents).toEqual(expect.arrayContaining(['agent', 'livekit', 'queue', 'tls-proxy']));
    const policies = of(stack, T.networkPolicy).map((p) => p.inputs as Obj);
    expect(policies.some((p) => Object.keys(p.spec.podSelector).length === 0 && p.spec.ingress === undefined)).toBe(true);
    const queue = policies.find((p) => p.metadata.labels[LABEL_KEYS.component] === 'queue' && p.spec.ingress)!;
    const cidrs = exampleConfig(stack).kubernetes.nodeCidrs!;
    expect(queue.spec.ingress[0]).toEqual({ from: cidrs.map((cidr) => ({ ipBlock: { cidr } })), ports: [{ protocol: 'TCP', port: 8080 }] });
  });

  it('every container has probes, limits, and runs without privilege escalation; only LiveKit (with the SIP service in its pod) uses the host network', () => {
    for (const r of [...of(stack, T.deployment), ...of(stack, T.statefulSet)]) {
      const spec = podSpec(r.inputs as Obj);
      expect(spec.hostNetwork === true, r.name).toBe(component(r) === 'livekit');
      expect(spec.automountServiceAccountToken, r.name).toBe(false);
      for (const c of spec.containers as Obj[]) {
        expect(c.readinessProbe, `${r.name}/${c.name}`).toBeDefined();
        expect(c.livenessProbe, `${r.name}/${c.name}`).toBeDefined();
        expect(c.securityContext).toMatchObject({ runAsNonRoot: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
      }
    }
  });

  it('every namespaced object is in the stack namespace', () => {
    const ns = exampleConfig(stack).kubernetes.namespace;
    expect((of(stack, T.namespace)[0]!.inputs as Obj).metadata.name).toBe(ns);
    for (const r of k8sObjects(stack).filter((o) => o.type !== T.namespace)) expect((r.inputs as Obj).metadata.namespace, r.name).toBe(ns);
  });

  it('no secret value in a ConfigMap, an annotation, an env value or the outputs', () => {
    for (const s of of(stack, T.secret)) expect((s.inputs as Obj).stringData).toBe('[secret]');
    for (const r of k8sObjects(stack)) {
      const o = r.inputs as Obj;
      for (const text of [...Object.values(o.data ?? {}), ...Object.entries(o.metadata?.annotations ?? {}).map(([k, v]) => `${k}: ${v}`)]) {
        expect(findSecretMaterial(String(text)), r.name).toBeNull();
      }
    }
    const outputs = plans.get(stack)!.outputs;
    expect(outputs).toMatchObject({ livekitUrl: `wss://${exampleConfig(stack).kubernetes.domain}`, tier: planOf(stack).tier });
    expect(JSON.stringify(outputs)).not.toMatch(/\[secret\]|apiSecret|password/i);
    expect(outputs.dnsRecords).toHaveLength(3);
    expect(outputs.secretArns).toBeUndefined();
  });

  it('passes every Kubernetes policy', async () => {
    for (const policy of kubernetesPolicies) {
      if ('validateStack' in policy) continue;
      for (const r of plans.get(stack)!.resources) {
        expect(await resourceViolations(policy as ResourceValidationPolicy, { type: r.type, name: r.name, props: r.inputs }), `${policy.name} on ${r.name}`).toEqual([]);
      }
    }
  });

  it('prints a resource tree per component', () => {
    const tree = resourceTree(plans.get(stack)!.resources);
    expect(tree[0]).toBe('voice  voice-agent-infra:k8s:K8sVoiceStack');
    expect(tree).toContain('  voice-livekit  voice-agent-infra:k8s:LivekitServer');
  });
});

/** CPU and memory of a quantity the components write ("3200m", "6554Mi"). */
function cpuOf(q: string): number {
  return q.endsWith('m') ? Number(q.slice(0, -1)) / 1000 : Number(q);
}
function memoryGiBOf(q: string): number {
  if (!q.endsWith('Mi')) throw new Error(`unexpected memory quantity ${q}`);
  return Number(q.slice(0, -2)) / 1024;
}

describe('the nodes the graph needs, priced with the catalog, cost what the plan says', () => {
  it.each(K8S_EXAMPLE_STACKS)('%s', (stack) => {
    const { plan, cost } = buildStackReport(stack, exampleConfig(stack));
    const roleOf: Record<string, PodRole> = { livekit: 'livekit', agent: 'agent', queue: 'queue', redis: 'redis', 'tls-proxy': 'tlsProxy' };
    const workloads = [...of(stack, T.deployment), ...of(stack, T.statefulSet)].map((r) => r.inputs as Obj);
    let usd = 0;
    for (const pool of plan.layout.machines) {
      const demand = (at: 'min' | 'max'): PodDemand[] =>
        workloads
          .filter((w) => plan.layout.pods![roleOf[w.metadata.labels[LABEL_KEYS.component]]!]!.pool === pool.name)
          .flatMap((w) => {
            const role = roleOf[w.metadata.labels[LABEL_KEYS.component]]!;
            const requests = (podSpec(w).containers as Obj[]).reduce<{ cpu: number; memoryGiB: number }>(
              (a, c) => ({ cpu: a.cpu + cpuOf(c.resources.requests.cpu), memoryGiB: a.memoryGiB + memoryGiBOf(c.resources.requests.memory) }),
              { cpu: 0, memoryGiB: 0 },
            );
            const replicas = w.kind === 'StatefulSet' ? { min: w.spec.replicas, max: w.spec.replicas } : replicasOf(stack, w);
            return Array.from({ length: replicas[at] }, () => ({ role, requests, onePerNode: role === 'livekit' }));
          });
      const shape = allocatable(INSTANCE_SHAPES[pool.instanceType]!);
      const node = { cpu: shape.vcpu, memoryGiB: shape.memoryGiB };
      const average = expectedAverage({ min: nodesFor(demand('min'), node), max: nodesFor(demand('max'), node) }, plan.costInputs.expectedScaleOutShare);
      usd += average * HOURS_PER_MONTH * price(DEFAULT_CATALOG, `aws.ec2.${pool.instanceType}`);
    }
    const nodeLines = cost.lines.filter((l) => l.item.startsWith('Kubernetes nodes'));
    expect(nodeLines.length).toBe(plan.layout.machines.length);
    expect(usd).toBeCloseTo(nodeLines.reduce((a, l) => a + l.monthlyUsd, 0), 6);
    const controlPlane = cost.lines.find((l) => l.item === 'Kubernetes control plane')!;
    expect(controlPlane.monthlyUsd).toBe(exampleConfig(stack).kubernetes.controlPlaneMonthlyUsd);
    // Two LoadBalancer Services in the graph, two priced.
    const lbs = of(stack, T.service).filter((s) => (s.inputs as Obj).spec.type === 'LoadBalancer');
    expect(cost.lines.find((l) => l.item === 'Load balancers')!.quantity).toBe(lbs.length * HOURS_PER_MONTH);
  });
});

describe('Kubernetes policies fail, with their message, on a deliberately bad resource', () => {
  const agent = () => structuredClone(workload('k8s-mid', 'agent')!);
  const cases: Array<[string, () => { type: string; name: string; props: Obj }, RegExp]> = [
    [
      'k8s-no-privileged-containers',
      () => {
        const w = agent();
        w.spec.template.spec.containers[0].securityContext = { privileged: true };
        return { type: T.deployment, name: 'agent', props: w };
      },
      /privileged: true/,
    ],
    [
      'k8s-limits-on-every-container',
      () => {
        const w = agent();
        delete w.spec.template.spec.containers[0].resources.limits;
        return { type: T.deployment, name: 'agent', props: w };
      },
      /no limits for cpu and memory/,
    ],
    ['k8s-no-secret-in-config', () => ({ type: T.configMap, name: 'cm', props: { data: { 'app.env': 'REDIS_PASSWORD=hunter2hunter2' } } }), /secret-named setting/],
    [
      'k8s-no-secret-in-config',
      () => {
        const w = agent();
        w.spec.template.spec.containers[0].env.push({ name: 'OPENAI_API_KEY', value: 'sk-hunter2hunter2' });
        return { type: T.deployment, name: 'agent', props: w };
      },
      /env OPENAI_API_KEY has a literal value/,
    ],
    [
      'k8s-grace-covers-drain',
      () => {
        const w = agent();
        w.spec.template.spec.terminationGracePeriodSeconds = 600;
        return { type: T.deployment, name: 'agent', props: w };
      },
      /terminationGracePeriodSeconds 600 does not cover the agent worker's drain/,
    ],
    [
      'k8s-grace-covers-drain',
      () => {
        const w = structuredClone(workload('k8s-mid', 'livekit')!);
        delete w.spec.template.spec.terminationGracePeriodSeconds;
        return { type: T.deployment, name: 'livekit', props: w };
      },
      /terminationGracePeriodSeconds 30 does not cover the longest call/,
    ],
  ];
  it.each(cases)('%s', async (name, build, message) => {
    const policy = kubernetesPolicies.find((p) => p.name === name) as ResourceValidationPolicy;
    const resource = build();
    const violations = await resourceViolations(policy, resource);
    expect(violations.length).toBeGreaterThanOrEqual(1);
    expect(violations.join('\n')).toMatch(message);
    expect(violations.join('\n')).not.toContain('hunter2hunter2');
  });

  it('k8s-pdb-for-call-holders: removing the agents PodDisruptionBudget fails', () => {
    const resources = plans
      .get('k8s-large')!
      .resources.filter((r) => !(r.type === T.pdb && component(r) === 'agent'))
      .map((r) => ({ type: r.type, name: r.name, props: r.inputs }));
    expect(pdbViolations(resources)).toEqual(['voice-agents: holds calls but no PodDisruptionBudget selects its pods (a node drain could stop them all at once)']);
  });
});
