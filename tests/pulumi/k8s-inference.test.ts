/**
 * The program on Kubernetes with local models, under the mocks: a GPU Deployment and a Service per
 * model, valid against the Kubernetes (and KEDA) schemas, sized and scaled as the plan says, reached
 * by the agent workers (LOCAL_* env) and by them only, with the policies holding.
 */
import type { ResourceValidationPolicy } from '@pulumi/policy';
import { DEFAULT_CATALOG, price } from '@voice-agent-infra/common';
import { expectedAverage, HOURS_PER_MONTH } from '../../components/cost/price-deployment.js';
import { buildStackReport } from '../../components/report.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseStackConfig } from '../../components/config.js';
import { LABEL_KEYS } from '../../components/k8s/common.js';
import { GPU_RESOURCE, GPU_TOLERATION } from '../../components/k8s/inference-server.js';
import type { InferenceServerPlan } from '../../components/inference/plan.js';
import { planDeployment } from '../../components/plan/plan.js';
import { K8S_TYPES, kubernetesPolicies } from '../../components/policy/kubernetes.js';
import { resourceViolations } from '../../components/policy/policies.js';
import { type OfflinePlan, offlinePlanWithOverrides, type PlannedResource } from '../../scripts/lib/offline-plan.js';
import { setPath } from '../../scripts/lib/plan-flags.js';
import { stackValues } from '../../scripts/lib/stacks.js';
import { validateObject } from './k8s-schema.js';

const PROMETHEUS = 'http://prometheus-server.monitoring.svc:80';
/** k8s-large (KEDA on) with every model local: with a Prometheus (autoscaled) and without (fixed at the spike size). */
const VARIANTS = {
  scaled: { 'providers.llm': 'local', 'providers.stt': 'local', 'providers.tts': 'local', 'inference.prometheusUrl': PROMETHEUS },
  fixed: { 'providers.llm': 'local' },
} as const;
type Variant = keyof typeof VARIANTS;

const plans = new Map<Variant, OfflinePlan>();
beforeAll(async () => {
  for (const variant of Object.keys(VARIANTS) as Variant[]) plans.set(variant, await offlinePlanWithOverrides('k8s-large', VARIANTS[variant]));
}, 240_000);

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const of = (variant: Variant, type: string) => plans.get(variant)!.resources.filter((r) => r.type === type);
const byMeta = (variant: Variant, type: string, name: string) => of(variant, type).find((r) => (r.inputs as Obj).metadata?.name === name)?.inputs as Obj;
function servers(variant: Variant): InferenceServerPlan[] {
  const values = structuredClone(stackValues('k8s-large'));
  for (const [path, value] of Object.entries(VARIANTS[variant])) setPath(values, path, value);
  return Object.values(planDeployment(parseStackConfig(values)).inference) as InferenceServerPlan[];
}

describe.each(Object.keys(VARIANTS) as Variant[])('k8s-large with local models (%s)', (variant) => {
  it('a Deployment and a Service per local model, valid against the schemas', async () => {
    const inference = plans.get(variant)!.resources.filter((r: PlannedResource) => (r.inputs as Obj).metadata?.labels?.[LABEL_KEYS.component] === 'inference');
    expect(inference.length).toBeGreaterThan(0);
    for (const r of inference) await expect(validateObject(structuredClone(r.inputs) as Obj), `${r.type} ${r.name}`).resolves.toBeUndefined();
    for (const server of servers(variant)) {
      expect(byMeta(variant, K8S_TYPES.deployment, `inference-${server.modality}`), server.modality).toBeDefined();
      expect(byMeta(variant, 'kubernetes:core/v1:Service', `inference-${server.modality}`).spec).toMatchObject({ type: 'ClusterIP', ports: [{ port: server.port, targetPort: 'http' }] });
    }
  });

  it('each pod holds one GPU (requests = limits), tolerates GPU nodes, and probes the server on /health', () => {
    for (const server of servers(variant)) {
      const pod = byMeta(variant, K8S_TYPES.deployment, `inference-${server.modality}`).spec.template.spec;
      const [container] = pod.containers;
      expect(container.image).toBe(server.image);
      expect(container.resources.limits[GPU_RESOURCE]).toBe('1');
      expect(container.resources.requests).toEqual(container.resources.limits);
      expect(pod.tolerations).toEqual([GPU_TOLERATION]);
      for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) expect(container[probe].httpGet, probe).toEqual({ path: '/health', port: server.port });
      // The startup probe lets the model load (15 minutes) before liveness counts.
      expect(container.startupProbe.periodSeconds * container.startupProbe.failureThreshold).toBeGreaterThanOrEqual(900);
      if (server.modality === 'llm') expect(container.args).toEqual(server.server.args);
    }
  });

  it('scales between the plan\'s busy-hour and spike GPUs with KEDA and a Prometheus; otherwise runs the spike size', () => {
    for (const server of servers(variant)) {
      const deployment = byMeta(variant, K8S_TYPES.deployment, `inference-${server.modality}`);
      const scaler = of(variant, 'kubernetes:keda.sh/v1alpha1:ScaledObject').find((s) => (s.inputs as Obj).spec.scaleTargetRef.name === `inference-${server.modality}`)?.inputs as Obj | undefined;
      if (variant === 'scaled') {
        expect(deployment.spec.replicas).toBeUndefined();
        expect([scaler!.spec.minReplicaCount, scaler!.spec.maxReplicaCount]).toEqual([server.gpus.min, server.gpus.max]);
        const [trigger] = scaler!.spec.triggers;
        expect(trigger).toMatchObject({ type: 'prometheus', metadata: { serverAddress: PROMETHEUS, threshold: String(server.scaling.target) } });
        expect(trigger.metadata.query).toContain(server.modality === 'llm' ? 'vllm:num_requests_waiting' : 'DCGM_FI_DEV_GPU_UTIL');
      } else {
        expect(scaler).toBeUndefined();
        expect(deployment.spec.replicas).toBe(server.gpus.max);
      }
    }
  });

  it('the agent workers are told the Services, and only they (and the operators\' Prometheus) reach the servers', () => {
    const agent = byMeta(variant, K8S_TYPES.deployment, 'agent').spec.template.spec.containers[0];
    const env = Object.fromEntries((agent.env as Obj[]).filter((e) => e.value !== undefined).map((e) => [e.name, e.value]));
    for (const server of servers(variant)) {
      expect(env[`LOCAL_${server.modality.toUpperCase()}_URL`]).toBe(`http://inference-${server.modality}.voice-agent.svc.cluster.local:${server.port}/v1`);
      const policy = of(variant, 'kubernetes:networking.k8s.io/v1:NetworkPolicy').find((p) => (p.inputs as Obj).spec.podSelector.matchLabels['voice-agent-infra/model'] === server.modality)!.inputs as Obj;
      expect(policy.spec.ingress[0].from).toEqual([{ podSelector: { matchLabels: expect.objectContaining({ [LABEL_KEYS.component]: 'agent' }) } }]);
      expect(policy.spec.ingress.every((rule: Obj) => rule.ports[0].port === server.port)).toBe(true);
    }
  });

  it('prices a GPU node per server the graph runs (the scaler\'s bounds or the fixed count), at the expected average', () => {
    const values = structuredClone(stackValues('k8s-large'));
    for (const [path, value] of Object.entries(VARIANTS[variant])) setPath(values, path, value);
    const { plan, cost } = buildStackReport('k8s-large', parseStackConfig(values));
    for (const server of servers(variant)) {
      const deployment = byMeta(variant, K8S_TYPES.deployment, `inference-${server.modality}`);
      const scaler = of(variant, 'kubernetes:keda.sh/v1alpha1:ScaledObject').find((s) => (s.inputs as Obj).spec.scaleTargetRef.name === `inference-${server.modality}`)?.inputs as Obj | undefined;
      const range = scaler ? { min: scaler.spec.minReplicaCount, max: scaler.spec.maxReplicaCount } : { min: deployment.spec.replicas, max: deployment.spec.replicas };
      const line = cost.lines.find((l) => l.item.startsWith(`EC2 ${server.instanceType} GPU (local ${server.modality.toUpperCase()}`))!;
      expect(line.monthlyUsd).toBeCloseTo(expectedAverage(range, plan.costInputs.expectedScaleOutShare) * HOURS_PER_MONTH * price(DEFAULT_CATALOG, `aws.ec2.${server.instanceType}`), 6);
    }
  });

  it('passes the Kubernetes policies', async () => {
    for (const policy of kubernetesPolicies) {
      if ('validateStack' in policy) continue;
      for (const r of of(variant, K8S_TYPES.deployment)) {
        const violations = await resourceViolations(policy as ResourceValidationPolicy, { type: r.type, name: r.name, props: r.inputs });
        expect(violations, `${policy.name} on ${r.name}`).toEqual([]);
      }
    }
  });
});
