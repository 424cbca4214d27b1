/**
 * The queue's intake and dispatcher on Kubernetes: one Deployment whose pods run both roles of
 * the agent image (two replicas from mid up), behind a ClusterIP Service. LiveKit's webhook URL is
 * that Service's cluster DNS name. A NetworkPolicy admits the intake only from the nodes (LiveKit
 * runs on the host network, so its webhooks come from node addresses: a pod selector never
 * matches them), from KEDA (its metrics-api scaler reads /v1/queue) and from the operators'
 * namespace (/v1 and /metrics). Several dispatchers are safe: admission is atomic in Redis.
 */
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { DEFAULT_AGENT_NAME } from '../livekit/compose.js';
import { DEFAULT_INTAKE_PORT, INTAKE_WEBHOOK_PATH } from '../livekit/ports.js';
import { MAX_CALL_SECONDS, type PodLayout } from '../plan/layout.js';
import {
  containerResources,
  httpProbe,
  labels,
  podScheduling,
  prometheusAnnotations,
  restrictedContainer,
  restrictedPod,
  type Scheduling,
  SERVICE_NAMES,
  selectorLabels,
  serviceHost,
  type StackIdentity,
  sizeOf,
  UIDS,
} from './common.js';
import { secretEnv } from './secrets.js';

/** The dispatcher's /metrics and /healthz (METRICS_PORT): the intake has 8080, the agent worker 9464. */
export const DISPATCHER_METRICS_PORT = 9465;
/** Path of the queue stats the KEDA metrics-api trigger reads. */
export const QUEUE_STATS_PATH = '/v1/queue';

/** The intake's webhook URL inside the cluster: LiveKit posts there. */
export function intakeWebhookUrl(namespace: string, port = DEFAULT_INTAKE_PORT): string {
  return `http://${serviceHost(SERVICE_NAMES.queue, namespace)}:${port}${INTAKE_WEBHOOK_PATH}`;
}

/** The queue stats URL inside the cluster (KEDA's metrics-api trigger). */
export function queueStatsUrl(namespace: string, port = DEFAULT_INTAKE_PORT): string {
  return `http://${serviceHost(SERVICE_NAMES.queue, namespace)}:${port}${QUEUE_STATS_PATH}`;
}

export interface QueueServicesArgs {
  id: StackIdentity;
  namespace: string;
  pod: PodLayout;
  image: string;
  apiKey: pulumi.Input<string>;
  /** Secret with LIVEKIT_API_SECRET, REDIS_URL, INTAKE_TOKEN. */
  secretName: pulumi.Input<string>;
  /** LiveKit's API inside the cluster, e.g. http://livekit.voice-agent.svc.cluster.local:7880. */
  livekitUrl: string;
  /** The nodes' ranges: LiveKit's webhooks and the kubelet's probes come from there. */
  nodeCidrs: string[];
  /** KEDA's namespace, admitted to /v1/queue; null without KEDA. */
  kedaNamespace: string | null;
  operatorNamespace: string | null;
  scheduling: Scheduling;
}

/** Intake and dispatcher: Deployment, Service, PodDisruptionBudget, NetworkPolicy. */
export class QueueServices extends pulumi.ComponentResource {
  public readonly deployment: k8s.apps.v1.Deployment;
  public readonly service: k8s.core.v1.Service;

  constructor(name: string, args: QueueServicesArgs, opts?: pulumi.ComponentResourceOptions) {
    super('voice-agent-infra:k8s:QueueServices', name, {}, opts);
    const child = { parent: this };
    const meta = { namespace: args.namespace, labels: labels(args.id, 'queue') };
    const selector = selectorLabels(args.id, 'queue');
    const plain = (name: string, value: string | pulumi.Input<string>) => ({ name, value });
    const common = [
      plain('LIVEKIT_API_KEY', args.apiKey),
      plain('STACK_NAME', args.id.stack),
      // No CloudWatch here: Prometheus scrapes /metrics, so the EMF lines are off.
      plain('METRICS_INTERVAL_SECONDS', '0'),
      plain('CALL_MAX_DURATION_SECONDS', String(MAX_CALL_SECONDS)),
      secretEnv('LIVEKIT_API_SECRET', args.secretName),
      secretEnv('REDIS_URL', args.secretName),
    ];

    this.deployment = new k8s.apps.v1.Deployment(
      name,
      {
        metadata: { ...meta, name: SERVICE_NAMES.queue },
        spec: {
          replicas: args.pod.replicas.min,
          selector: { matchLabels: selector },
          strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
          template: {
            metadata: { labels: { ...meta.labels }, annotations: prometheusAnnotations(DEFAULT_INTAKE_PORT) },
            spec: {
              terminationGracePeriodSeconds: args.pod.terminationGracePeriodSeconds,
              automountServiceAccountToken: false,
              securityContext: restrictedPod(UIDS.agentImage),
              ...podScheduling(args.scheduling, 'services'),
              containers: [
                {
                  name: 'intake',
                  image: args.image,
                  args: ['intake'],
                  env: [...common, plain('INTAKE_PORT', String(DEFAULT_INTAKE_PORT)), secretEnv('INTAKE_TOKEN', args.secretName)],
                  ports: [{ name: 'http', containerPort: DEFAULT_INTAKE_PORT, protocol: 'TCP' }],
                  // /readyz: Redis answers and the intake is not draining; /healthz: the process runs.
                  readinessProbe: httpProbe('/readyz', DEFAULT_INTAKE_PORT, { periodSeconds: 5 }),
                  livenessProbe: httpProbe('/healthz', DEFAULT_INTAKE_PORT),
                  resources: containerResources(sizeOf(args.pod.containers, 'intake')),
                  securityContext: restrictedContainer(UIDS.agentImage),
                },
                {
                  name: 'dispatcher',
                  image: args.image,
                  args: ['dispatcher'],
                  env: [...common, plain('LIVEKIT_URL', args.livekitUrl), plain('AGENT_NAME', DEFAULT_AGENT_NAME), plain('METRICS_PORT', String(DISPATCHER_METRICS_PORT))],
                  ports: [{ name: 'metrics', containerPort: DISPATCHER_METRICS_PORT, protocol: 'TCP' }],
                  readinessProbe: httpProbe('/healthz', DISPATCHER_METRICS_PORT),
                  livenessProbe: httpProbe('/healthz', DISPATCHER_METRICS_PORT),
                  resources: containerResources(sizeOf(args.pod.containers, 'dispatcher')),
                  securityContext: restrictedContainer(UIDS.agentImage),
                },
              ],
            },
          },
        },
      },
      child,
    );
    this.service = new k8s.core.v1.Service(
      `${name}-service`,
      {
        metadata: { ...meta, name: SERVICE_NAMES.queue },
        spec: { type: 'ClusterIP', selector, ports: [{ name: 'http', port: DEFAULT_INTAKE_PORT, targetPort: DEFAULT_INTAKE_PORT, protocol: 'TCP' }] },
      },
      child,
    );
    new k8s.policy.v1.PodDisruptionBudget(`${name}-pdb`, { metadata: meta, spec: { maxUnavailable: 1, selector: { matchLabels: selector } } }, child);

    const namespaces = [args.kedaNamespace, args.operatorNamespace].filter((n): n is string => n !== null);
    new k8s.networking.v1.NetworkPolicy(
      `${name}-ingress`,
      {
        metadata: meta,
        spec: {
          podSelector: { matchLabels: selector },
          policyTypes: ['Ingress'],
          ingress: [
            // LiveKit's webhooks (host network: node addresses) and the kubelet's probes.
            { from: args.nodeCidrs.map((cidr) => ({ ipBlock: { cidr } })), ports: [{ protocol: 'TCP', port: DEFAULT_INTAKE_PORT }] },
            ...(namespaces.length > 0
              ? [
                  {
                    from: namespaces.map((ns) => ({ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } } })),
                    ports: [
                      { protocol: 'TCP', port: DEFAULT_INTAKE_PORT },
                      { protocol: 'TCP', port: DISPATCHER_METRICS_PORT },
                    ],
                  },
                ]
              : []),
          ],
        },
      },
      child,
    );
    this.registerOutputs({ service: this.service.metadata.name });
  }
}
