/**
 * One local model's server on Kubernetes, from the plan (plan.inference.<m>): a Deployment whose
 * pod holds one GPU (`nvidia.com/gpu: 1` in requests and limits: GPUs are not shared nor
 * fractional, and requests must equal limits; kubernetes.io "Schedule GPUs"), a ClusterIP Service
 * the agent workers reach (and only they: a NetworkPolicy), startup, readiness and liveness probes
 * on the server's GET /health, a PodDisruptionBudget, and with KEDA and a Prometheus
 * (inference.prometheusUrl) a ScaledObject between the plan's busy-hour and spike GPUs, on vLLM's
 * running + waiting requests (LLM) or GPU utilisation from NVIDIA's dcgm-exporter (STT, TTS).
 * Prerequisite (README): GPU nodes with the NVIDIA driver and device plugin, so `nvidia.com/gpu`
 * exists; the pods tolerate the usual `nvidia.com/gpu` taint of GPU node groups.
 */
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { MODEL_LOAD_SECONDS } from '../inference/cloud-init.js';
import type { InferenceServerPlan } from '../inference/plan.js';
import { allocatable } from '../plan/layout.js';
import { cpuQuantity, httpProbe, labels, memoryQuantity, prometheusAnnotations, selectorLabels, serviceHost, type StackIdentity } from './common.js';

/** The GPU resource the NVIDIA device plugin advertises. */
export const GPU_RESOURCE = 'nvidia.com/gpu';
/** The taint GPU node groups carry (EKS accelerated node groups, GKE GPU pools): the servers tolerate it. */
export const GPU_TOLERATION = { key: GPU_RESOURCE, operator: 'Exists', effect: 'NoSchedule' } as const;
/** Shared memory for vLLM's worker processes (its Kubernetes docs: an in-memory /dev/shm). */
export const SHM_SIZE = '2Gi';

/** The Service (and Deployment) name of a local model's server. */
export function inferenceServiceName(server: Pick<InferenceServerPlan, 'modality'>): string {
  return `inference-${server.modality}`;
}

/** The server's in-cluster host (what the agents dial). */
export function inferenceHost(server: Pick<InferenceServerPlan, 'modality'>, namespace: string): string {
  return serviceHost(inferenceServiceName(server), namespace);
}

/**
 * The Prometheus query KEDA scales a server on, and how its value compares with the target:
 * - LLM: running + waiting requests over the server's pods (vLLM labels its metrics with
 *   model_name), per replica (AverageValue);
 * - STT, TTS: the GPUs' average utilisation (dcgm-exporter's DCGM_FI_DEV_GPU_UTIL with its
 *   Kubernetes pod labels), as a whole (Value).
 */
export function scalingQuery(server: InferenceServerPlan, namespace: string): { query: string; metricType: 'AverageValue' | 'Value' } {
  if (server.scaling.metric === 'requests-per-gpu') {
    const selector = `model_name="${server.model}",namespace="${namespace}"`;
    return { query: `sum(vllm:num_requests_running{${selector}}) + sum(vllm:num_requests_waiting{${selector}})`, metricType: 'AverageValue' };
  }
  return { query: `avg(DCGM_FI_DEV_GPU_UTIL{namespace="${namespace}",pod=~"${inferenceServiceName(server)}-.+"})`, metricType: 'Value' };
}

/** The ScaledObject spec (KEDA keda.sh/v1alpha1), pure. */
export function inferenceScaledObjectSpec(args: { server: InferenceServerPlan; deploymentName: string; namespace: string; prometheusUrl: string }) {
  const { query, metricType } = scalingQuery(args.server, args.namespace);
  return {
    scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: args.deploymentName },
    pollingInterval: 30,
    // A GPU server takes minutes to load its model: shrink slowly.
    cooldownPeriod: 600,
    minReplicaCount: args.server.replicas.min,
    maxReplicaCount: args.server.replicas.max,
    // Prometheus unreachable: hold the spike size rather than shrink blind.
    fallback: { failureThreshold: 3, replicas: args.server.replicas.max },
    triggers: [{ type: 'prometheus', name: args.server.scaling.metric, metricType, metadata: { serverAddress: args.prometheusUrl, query, threshold: String(args.server.scaling.target) } }],
  };
}

export interface InferenceServerArgs {
  id: StackIdentity;
  namespace: string;
  /** The server to run (the plan's): image, args, port, GPU shape, replicas, scaling. */
  server: InferenceServerPlan;
  /** Prometheus KEDA queries (inference.prometheusUrl); null: a fixed size. */
  prometheusUrl: string | null;
  /** The operators' namespace (Prometheus): admitted to the server port for /metrics. */
  operatorNamespace: string | null;
}

/** Deployment, Service, PodDisruptionBudget, NetworkPolicy and (autoscaled) ScaledObject of one local model. */
export class InferenceServer extends pulumi.ComponentResource {
  public readonly deployment: k8s.apps.v1.Deployment;
  public readonly service: k8s.core.v1.Service;

  constructor(name: string, args: InferenceServerArgs, opts?: pulumi.ComponentResourceOptions) {
    super('voice-agent-infra:k8s:InferenceServer', name, {}, opts);
    const { server } = args;
    const child = { parent: this };
    const serviceName = inferenceServiceName(server);
    const meta = { namespace: args.namespace, labels: { ...labels(args.id, 'inference'), 'voice-agent-infra/model': server.modality } };
    const selector = { ...selectorLabels(args.id, 'inference'), 'voice-agent-infra/model': server.modality };
    // The pod holds its node's GPU, so it takes what the node offers its pods.
    const node = allocatable({ vcpu: server.vcpu, memoryGiB: server.memoryGiB });
    const size = { cpu: cpuQuantity(node.vcpu), memory: memoryQuantity(node.memoryGiB), [GPU_RESOURCE]: '1' };
    const isLlm = server.modality === 'llm';
    if (args.prometheusUrl === null && server.autoscaled) throw new Error(`the plan autoscales the ${server.modality} server but no Prometheus is given`);

    this.deployment = new k8s.apps.v1.Deployment(
      name,
      {
        metadata: { ...meta, name: serviceName },
        spec: {
          ...(server.autoscaled ? {} : { replicas: server.replicas.min }),
          selector: { matchLabels: selector },
          // A new server first (it needs a free GPU node); the old one serves until the new is ready.
          strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
          template: {
            metadata: { labels: { ...meta.labels }, ...(isLlm ? { annotations: prometheusAnnotations(server.port) } : {}) },
            spec: {
              // Open requests end within the drain; then SIGTERM (the agents' fallback covers the rest).
              terminationGracePeriodSeconds: server.drainSeconds + 30,
              automountServiceAccountToken: false,
              tolerations: [{ ...GPU_TOLERATION }],
              containers: [
                {
                  name: 'server',
                  image: server.image,
                  ...(server.server.args.length > 0 ? { args: [...server.server.args] } : {}),
                  ...(Object.keys(server.server.environment).length > 0 ? { env: Object.entries(server.server.environment).map(([n, value]) => ({ name: n, value })) } : {}),
                  ports: [{ name: 'http', containerPort: server.port, protocol: 'TCP' }],
                  resources: { requests: { ...size }, limits: { ...size } },
                  // Loading the weights takes minutes: the startup probe allows MODEL_LOAD_SECONDS before liveness counts.
                  startupProbe: httpProbe(server.healthPath, server.port, { periodSeconds: 10, failureThreshold: Math.ceil(MODEL_LOAD_SECONDS / 10) }),
                  readinessProbe: httpProbe(server.healthPath, server.port, { periodSeconds: 10, failureThreshold: 3 }),
                  livenessProbe: httpProbe(server.healthPath, server.port, { periodSeconds: 20, failureThreshold: 6 }),
                  // The servers' images run as root (vLLM writes its cache under /root): no privilege beyond that.
                  securityContext: { allowPrivilegeEscalation: false, privileged: false, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' } },
                  volumeMounts: [{ name: 'shm', mountPath: '/dev/shm' }, ...(isLlm ? [{ name: 'cache', mountPath: '/root/.cache/huggingface' }] : [])],
                },
              ],
              volumes: [{ name: 'shm', emptyDir: { medium: 'Memory', sizeLimit: SHM_SIZE } }, ...(isLlm ? [{ name: 'cache', emptyDir: {} }] : [])],
            },
          },
        },
      },
      child,
    );
    this.service = new k8s.core.v1.Service(
      `${name}-service`,
      { metadata: { ...meta, name: serviceName }, spec: { type: 'ClusterIP', selector, ports: [{ name: 'http', port: server.port, targetPort: 'http', protocol: 'TCP' }] } },
      child,
    );
    new k8s.policy.v1.PodDisruptionBudget(`${name}-pdb`, { metadata: meta, spec: { maxUnavailable: 1, selector: { matchLabels: selector } } }, child);
    // The agents reach the server; the operators' Prometheus reads vLLM's /metrics on the same port.
    new k8s.networking.v1.NetworkPolicy(
      `${name}-ingress`,
      {
        metadata: meta,
        spec: {
          podSelector: { matchLabels: selector },
          policyTypes: ['Ingress'],
          ingress: [
            { from: [{ podSelector: { matchLabels: selectorLabels(args.id, 'agent') } }], ports: [{ protocol: 'TCP', port: server.port }] },
            ...(args.operatorNamespace ? [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': args.operatorNamespace } } }], ports: [{ protocol: 'TCP', port: server.port }] }] : []),
          ],
        },
      },
      child,
    );
    if (server.autoscaled && args.prometheusUrl) {
      const prometheusUrl = args.prometheusUrl;
      new k8s.apiextensions.CustomResource(
        `${name}-scaler`,
        {
          apiVersion: 'keda.sh/v1alpha1',
          kind: 'ScaledObject',
          metadata: meta,
          spec: this.deployment.metadata.name.apply((deploymentName) => inferenceScaledObjectSpec({ server, deploymentName, namespace: args.namespace, prometheusUrl })),
        },
        child,
      );
    }
    this.registerOutputs({ deployment: this.deployment.metadata.name, service: this.service.metadata.name });
  }
}
