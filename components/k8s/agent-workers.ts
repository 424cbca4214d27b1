/**
 * Agent workers on Kubernetes: a Deployment of the agent image sized by the plan (the plan's
 * sessions per worker as AGENT_MAX_SESSIONS, requests = limits from the plan), a grace period of
 * the worker's drain + 30 s (SIGTERM drains: no new jobs, active calls finish), a
 * PodDisruptionBudget, and an autoscaler from the plan's busy-hour to spike workers:
 * - with KEDA, a ScaledObject with two `metrics-api` triggers on the intake's GET /v1/queue:
 *   `waiting` (calls waiting for an agent, target = what one worker starts within the acceptable
 *   wait) and `active` (calls holding capacity, target = 80% of a worker's sessions). The HPA
 *   KEDA drives follows the larger, so the fleet grows on a backlog and holds while calls are up.
 *   Not the `redis` trigger: it reads one list's length, and the BullMQ wait list misses calls in
 *   retry backoff and in the admission line, which /v1/queue counts (agent/README.md);
 * - without KEDA, an autoscaling/v2 HPA on CPU.
 * Scale-in lets the HPA pick which pod stops: the drain and the grace period keep its calls.
 */
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { agentSessionEnvironment } from '@voice-agent-infra/common';
import { DEFAULT_AGENT_NAME } from '../livekit/compose.js';
import type { Autoscaling, PodLayout } from '../plan/layout.js';
import {
  containerResources,
  httpProbe,
  labels,
  podScheduling,
  prometheusAnnotations,
  restrictedContainer,
  restrictedPod,
  type Scheduling,
  selectorLabels,
  type StackIdentity,
  sizeOf,
  tcpProbe,
  UIDS,
} from './common.js';
import { secretEnv } from './secrets.js';

/** agents-js health port (GET / answers 200 or 503) and the worker's /metrics (agent/README.md). */
export const AGENT_HEALTH_PORT = 8081;
export const AGENT_METRICS_PORT = 9464;
/** Seconds between KEDA's polls of /v1/queue (KEDA's default is 30; calls wait seconds, not minutes). */
export const KEDA_POLLING_SECONDS = 10;

/** The ScaledObject's spec (KEDA keda.sh/v1alpha1), pure: from the plan's agent autoscaling. */
export function scaledObjectSpec(args: { deploymentName: string; autoscaling: Autoscaling; queueStatsUrl: string }) {
  const triggers = args.autoscaling.signals.map((signal) => {
    if (signal.metric === 'cpu') throw new Error('the KEDA ScaledObject follows the queue; a cpu signal belongs to the HPA fallback');
    return {
      type: 'metrics-api',
      name: signal.metric,
      metricType: 'AverageValue',
      metadata: {
        url: args.queueStatsUrl,
        format: 'json',
        // GJSON path into {waiting, active, capacity, oldestWaitSeconds, deadLetters}.
        valueLocation: signal.metric === 'queue-waiting' ? 'waiting' : 'active',
        targetValue: String(signal.target),
      },
    };
  });
  return {
    scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: args.deploymentName },
    pollingInterval: KEDA_POLLING_SECONDS,
    cooldownPeriod: 300,
    minReplicaCount: args.autoscaling.replicas.min,
    maxReplicaCount: args.autoscaling.replicas.max,
    // The intake unreachable: hold the spike size rather than shrink blind.
    fallback: { failureThreshold: 3, replicas: args.autoscaling.replicas.max },
    advanced: {
      horizontalPodAutoscalerConfig: {
        behavior: {
          scaleUp: { stabilizationWindowSeconds: 0, policies: [{ type: 'Percent', value: 100, periodSeconds: 30 }] },
          // A removed worker drains its calls first; shrink slowly, one at a time.
          scaleDown: { stabilizationWindowSeconds: 300, policies: [{ type: 'Pods', value: 1, periodSeconds: 120 }] },
        },
      },
    },
    triggers,
  };
}

export interface AgentWorkersArgs {
  id: StackIdentity;
  namespace: string;
  pod: PodLayout;
  /** The plan's agent autoscaling, or undefined for a fixed size (small). */
  autoscaling?: Autoscaling;
  /** KEDA installed: ScaledObject; else an HPA on CPU. */
  keda: boolean;
  queueStatsUrl: string;
  image: string;
  /** Concurrent sessions a worker takes (plan.agents.sessionsPerWorker): AGENT_MAX_SESSIONS follows from it (agentSessionEnvironment). */
  sessionsPerWorker: number;
  /** The stack's outbound trunk (sip.outbound), by name: the escalation transfer dials out on it; none by default. */
  escalationOutboundTrunk?: string;
  /** The hosted TTS vendor the worker uses (TTS_PROVIDER, from providers.tts: ttsVendor). */
  ttsProvider: 'cartesia' | 'elevenlabs';
  /** AGENT_DRAIN_TIMEOUT_SECONDS: the pod's grace period covers it. */
  drainSeconds: number;
  /** LiveKit for the workers, inside the cluster (ws://livekit.<ns>.svc.cluster.local:7880). */
  livekitUrl: string;
  apiKey: pulumi.Input<string>;
  /** Secret with LIVEKIT_API_SECRET and REDIS_URL. */
  secretName: pulumi.Input<string>;
  /** An existing Secret with provider API keys, passed whole (envFrom), or null. */
  envSecret: string | null;
  operatorNamespace: string | null;
  scheduling: Scheduling;
  /** The local models (LOCAL_LLM_URL, ...: components/inference/agent-env.ts); none by default. */
  inferenceEnvironment?: Record<string, string>;
}

/** Agent workers: Deployment, PodDisruptionBudget, autoscaler, NetworkPolicy. */
export class AgentWorkers extends pulumi.ComponentResource {
  public readonly deployment: k8s.apps.v1.Deployment;

  constructor(name: string, args: AgentWorkersArgs, opts?: pulumi.ComponentResourceOptions) {
    super('voice-agent-infra:k8s:AgentWorkers', name, {}, opts);
    const child = { parent: this };
    const meta = { namespace: args.namespace, labels: labels(args.id, 'agent') };
    const selector = selectorLabels(args.id, 'agent');
    if (args.pod.terminationGracePeriodSeconds < args.drainSeconds + 30) {
      throw new Error(`agent grace period ${args.pod.terminationGracePeriodSeconds}s does not cover the drain (${args.drainSeconds}s) + 30 s`);
    }
    const plain = (name: string, value: pulumi.Input<string>) => ({ name, value });

    this.deployment = new k8s.apps.v1.Deployment(
      name,
      {
        metadata: { ...meta, name: 'agent' },
        spec: {
          // With an autoscaler, replicas are its business: a value here would reset them on every update.
          ...(args.autoscaling ? {} : { replicas: args.pod.replicas.min }),
          selector: { matchLabels: selector },
          // New workers first; an old one drains its calls before it stops.
          strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 0 } },
          template: {
            metadata: { labels: { ...meta.labels }, annotations: prometheusAnnotations(AGENT_METRICS_PORT) },
            spec: {
              terminationGracePeriodSeconds: args.pod.terminationGracePeriodSeconds,
              automountServiceAccountToken: false,
              securityContext: restrictedPod(UIDS.agentImage),
              ...podScheduling(args.scheduling, 'agents'),
              containers: [
                {
                  name: 'agent',
                  image: args.image,
                  args: ['agent'],
                  env: [
                    plain('LIVEKIT_URL', args.livekitUrl),
                    plain('LIVEKIT_API_KEY', args.apiKey),
                    plain('AGENT_NAME', DEFAULT_AGENT_NAME),
                    // The plan sizes the worker: it must not re-derive its capacity from the node's cores,
                    // and it must report itself full exactly at the planned sessions.
                    ...Object.entries(agentSessionEnvironment(args.sessionsPerWorker)).map(([n, v]) => plain(n, v)),
                    ...(args.escalationOutboundTrunk ? [plain('ESCALATION_OUTBOUND_TRUNK', args.escalationOutboundTrunk)] : []),
                    // The stack's TTS, not the image's default vendor (whose key the Secret may not hold).
                    plain('TTS_PROVIDER', args.ttsProvider),
                    plain('AGENT_DRAIN_TIMEOUT_SECONDS', String(args.drainSeconds)),
                    plain('AGENT_HEALTH_PORT', String(AGENT_HEALTH_PORT)),
                    plain('AGENT_METRICS_PORT', String(AGENT_METRICS_PORT)),
                    plain('STACK_NAME', args.id.stack),
                    plain('CALL_RECORD_EMF', 'off'),
                    ...Object.entries(args.inferenceEnvironment ?? {}).map(([n, v]) => plain(n, v)),
                    secretEnv('LIVEKIT_API_SECRET', args.secretName),
                    secretEnv('REDIS_URL', args.secretName),
                  ],
                  ...(args.envSecret ? { envFrom: [{ secretRef: { name: args.envSecret } }] } : {}),
                  ports: [
                    { name: 'health', containerPort: AGENT_HEALTH_PORT, protocol: 'TCP' },
                    { name: 'metrics', containerPort: AGENT_METRICS_PORT, protocol: 'TCP' },
                  ],
                  // GET / answers 503 until the worker is registered with LiveKit.
                  readinessProbe: httpProbe('/', AGENT_HEALTH_PORT, { initialDelaySeconds: 10 }),
                  // Liveness by TCP: a worker busy with calls must not be restarted for a slow answer.
                  livenessProbe: tcpProbe(AGENT_HEALTH_PORT),
                  resources: containerResources(sizeOf(args.pod.containers, 'agent')),
                  securityContext: restrictedContainer(UIDS.agentImage),
                },
              ],
            },
          },
        },
      },
      child,
    );
    new k8s.policy.v1.PodDisruptionBudget(`${name}-pdb`, { metadata: meta, spec: { maxUnavailable: 1, selector: { matchLabels: selector } } }, child);

    if (args.autoscaling) {
      if (args.keda) {
        new k8s.apiextensions.CustomResource(
          `${name}-scaler`,
          {
            apiVersion: 'keda.sh/v1alpha1',
            kind: 'ScaledObject',
            metadata: meta,
            spec: this.deployment.metadata.name.apply((deploymentName) => scaledObjectSpec({ deploymentName, autoscaling: args.autoscaling!, queueStatsUrl: args.queueStatsUrl })),
          },
          child,
        );
      } else {
        const cpu = args.autoscaling.signals.find((s) => s.metric === 'cpu');
        if (!cpu) throw new Error('without KEDA the agent autoscaler follows CPU: the plan names no cpu signal');
        new k8s.autoscaling.v2.HorizontalPodAutoscaler(
          `${name}-hpa`,
          {
            metadata: meta,
            spec: {
              scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: this.deployment.metadata.name },
              minReplicas: args.autoscaling.replicas.min,
              maxReplicas: args.autoscaling.replicas.max,
              metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: cpu.target } } }],
              behavior: { scaleDown: { stabilizationWindowSeconds: 300, policies: [{ type: 'Pods', value: 1, periodSeconds: 120 }] } },
            },
          },
          child,
        );
      }
    }

    // Workers dial out (LiveKit, providers, Redis); inbound only Prometheus from the operators' namespace.
    new k8s.networking.v1.NetworkPolicy(
      `${name}-ingress`,
      {
        metadata: meta,
        spec: {
          podSelector: { matchLabels: selector },
          policyTypes: ['Ingress'],
          ingress: args.operatorNamespace
            ? [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': args.operatorNamespace } } }], ports: [{ protocol: 'TCP', port: AGENT_METRICS_PORT }] }]
            : [],
        },
      },
      child,
    );
    this.registerOutputs({ deployment: this.deployment.metadata.name });
  }
}
