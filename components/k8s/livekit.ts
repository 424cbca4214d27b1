/**
 * LiveKit server on Kubernetes, the livekit-helm chart's shape with our strict config:
 * - a Deployment with `hostNetwork: true`: WebRTC media needs the node's own ports (10,001 UDP
 *   ports cannot go through a Service) and the address LiveKit advertises in ICE must be the
 *   node's; so one pod per node (a required anti-affinity says it outright) and
 *   `dnsPolicy: ClusterFirstWithHostNet` so it still resolves cluster names (the intake, Redis);
 * - the strict livekit.yaml (components/livekit) in a ConfigMap, passed as LIVEKIT_CONFIG, with the
 *   keys and the Redis password from a Secret through env; no `--disable-strict-config`;
 * - TURN/TLS terminated by LiveKit with the stack's certificate (as the chart does), behind a
 *   LoadBalancer Service 443 -> turn.tls_port; a ClusterIP Service on 7880 for the TLS proxy,
 *   the dispatcher and the agents;
 * - a grace period covering the longest call (SIGTERM drains: rooms stay, new ones go elsewhere),
 *   rolling updates that start the new pod before the old one drains, a PodDisruptionBudget, and
 *   an HPA on CPU when the plan has more than one node.
 */
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import type { KubernetesProvider } from '../config.js';
import { PINNED_IMAGES } from '../livekit/compose.js';
import { type LivekitConfigArgs, renderLivekitConfig } from '../livekit/livekit-yaml.js';
import {
  LIVEKIT_HTTP_PORT,
  LIVEKIT_PROMETHEUS_PORT,
  LIVEKIT_RTC_TCP_PORT,
  LIVEKIT_TURN_TLS_PORT,
  LIVEKIT_TURN_UDP_PORT,
  PUBLIC_TLS_PORT,
} from '../livekit/ports.js';
import type { Autoscaling, PodLayout } from '../plan/layout.js';
import {
  CONFIG_HASH_ANNOTATION,
  configHash,
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
  type StackIdentity,
  sizeOf,
  tcpProbe,
  UIDS,
} from './common.js';
import { secretEnv } from './secrets.js';
import type { LivekitSidecar } from './sip.js';

/** Where the TLS Secret is mounted in the LiveKit pod (TURN/TLS certificate and key). */
export const LIVEKIT_TLS_MOUNT = '/etc/livekit-tls';

/** Service annotations that make a LoadBalancer Service the right kind of load balancer for the cloud (TCP passthrough). */
export function loadBalancerAnnotations(provider: KubernetesProvider): Record<string, string> {
  switch (provider) {
    case 'aws':
      // In-tree cloud provider: a Network Load Balancer (livekit-helm service.yaml, type "aws").
      return { 'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb' };
    case 'gcp':
      // GKE: a backend-service-based external passthrough Network Load Balancer.
      return { 'cloud.google.com/l4-rbs': 'enabled' };
    case 'generic':
      return {};
  }
}

export interface LivekitServerArgs {
  id: StackIdentity;
  namespace: pulumi.Input<string>;
  /** The plan's LiveKit pod: replicas (nodes), resources, grace period. */
  pod: PodLayout;
  /** The plan's LiveKit autoscaler (multi-node), or undefined for a fixed size. */
  autoscaling?: Autoscaling;
  /** livekit.yaml inputs except the API key (taken from `apiKey`). */
  config: Omit<LivekitConfigArgs, 'apiKey'>;
  apiKey: pulumi.Input<string>;
  /** Secret with LIVEKIT_KEYS (and REDIS_PASSWORD when `redisPassword`). */
  secretName: pulumi.Input<string>;
  /** The Secret carries REDIS_PASSWORD for the shared Redis (`config.redis` set, and the Redis needs one). */
  redisPassword: boolean;
  /** kubernetes.io/tls Secret with the TURN certificate. */
  tlsSecretName: string;
  provider: KubernetesProvider;
  scheduling: Scheduling;
  /** livekit-server image, pinned; default PINNED_IMAGES.livekit. */
  image?: string;
  /** The LiveKit SIP service in the same pod (SipService.sidecar), with phone calls on. */
  sidecar?: LivekitSidecar;
}

/** The LiveKit Deployment, its Services, PodDisruptionBudget and autoscaler. */
export class LivekitServer extends pulumi.ComponentResource {
  public readonly deployment: k8s.apps.v1.Deployment;
  public readonly configMap: k8s.core.v1.ConfigMap;
  /** ClusterIP Service on 7880: the API and signalling inside the cluster. */
  public readonly service: k8s.core.v1.Service;
  /** LoadBalancer Service: TURN/TLS 443 -> turn.tls_port. */
  public readonly turnService: k8s.core.v1.Service;

  constructor(name: string, args: LivekitServerArgs, opts?: pulumi.ComponentResourceOptions) {
    super('voice-agent-infra:k8s:LivekitServer', name, {}, opts);
    const child = { parent: this };
    const meta = { namespace: args.namespace, labels: labels(args.id, 'livekit') };
    const selector = selectorLabels(args.id, 'livekit');
    if (args.redisPassword && args.config.redis === undefined) throw new Error('redisPassword without config.redis: LiveKit uses no Redis');

    const configText = pulumi.output(args.apiKey).apply((apiKey) => renderLivekitConfig({ ...args.config, apiKey }));
    this.configMap = new k8s.core.v1.ConfigMap(`${name}-config`, { metadata: meta, data: { 'config.yaml': configText } }, child);

    const size = sizeOf(args.pod.containers, 'livekit');
    this.deployment = new k8s.apps.v1.Deployment(
      name,
      {
        metadata: { ...meta, name: SERVICE_NAMES.livekit },
        spec: {
          // With an autoscaler, replicas are its business: a value here would reset them on every update.
          ...(args.autoscaling ? {} : { replicas: args.pod.replicas.min }),
          selector: { matchLabels: selector },
          // A new pod needs a free node (host ports); the old one drains only once it is ready.
          strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
          template: {
            metadata: {
              labels: { ...meta.labels },
              annotations: {
                [CONFIG_HASH_ANNOTATION]: configText.apply(configHash),
                ...prometheusAnnotations(LIVEKIT_PROMETHEUS_PORT),
                // Service meshes cannot sit in a host-network pod's path (livekit-helm podAnnotations).
                'sidecar.istio.io/inject': 'false',
                'linkerd.io/inject': 'disabled',
                ...(args.sidecar?.annotations ?? {}),
              },
            },
            spec: {
              hostNetwork: true,
              dnsPolicy: 'ClusterFirstWithHostNet',
              terminationGracePeriodSeconds: args.pod.terminationGracePeriodSeconds,
              automountServiceAccountToken: false,
              // Every port LiveKit opens is above 1024: it needs no root and no capability.
              securityContext: restrictedPod(UIDS.nobody),
              affinity: {
                podAntiAffinity: {
                  requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: selector }, topologyKey: 'kubernetes.io/hostname' }],
                },
              },
              ...podScheduling(args.scheduling, 'livekit'),
              ...(args.sidecar ? { initContainers: args.sidecar.initContainers } : {}),
              containers: [
                {
                  name: 'livekit',
                  image: args.image ?? PINNED_IMAGES.livekit,
                  env: [
                    { name: 'LIVEKIT_CONFIG', valueFrom: { configMapKeyRef: { name: this.configMap.metadata.name, key: 'config.yaml' } } },
                    secretEnv('LIVEKIT_KEYS', args.secretName),
                    ...(args.redisPassword ? [secretEnv('REDIS_PASSWORD', args.secretName)] : []),
                  ],
                  // With host networking the container port is the node's port (hostPort must equal it).
                  ports: [
                    { name: 'http', containerPort: LIVEKIT_HTTP_PORT, hostPort: LIVEKIT_HTTP_PORT, protocol: 'TCP' },
                    { name: 'rtc-tcp', containerPort: LIVEKIT_RTC_TCP_PORT, hostPort: LIVEKIT_RTC_TCP_PORT, protocol: 'TCP' },
                    { name: 'turn-udp', containerPort: LIVEKIT_TURN_UDP_PORT, hostPort: LIVEKIT_TURN_UDP_PORT, protocol: 'UDP' },
                    { name: 'turn-tls', containerPort: LIVEKIT_TURN_TLS_PORT, hostPort: LIVEKIT_TURN_TLS_PORT, protocol: 'TCP' },
                    { name: 'metrics', containerPort: LIVEKIT_PROMETHEUS_PORT, hostPort: LIVEKIT_PROMETHEUS_PORT, protocol: 'TCP' },
                  ],
                  // GET / answers 200 "OK", 406 while the node's stats are stale (livekit.md, Health).
                  readinessProbe: httpProbe('/', LIVEKIT_HTTP_PORT, { periodSeconds: 5 }),
                  // Liveness by TCP: a busy node answering slowly must not be restarted with its rooms.
                  livenessProbe: tcpProbe(LIVEKIT_HTTP_PORT),
                  resources: containerResources(size),
                  securityContext: restrictedContainer(UIDS.nobody),
                  volumeMounts: [{ name: 'tls', mountPath: LIVEKIT_TLS_MOUNT, readOnly: true }],
                },
                ...(args.sidecar?.containers ?? []),
              ],
              volumes: [{ name: 'tls', secret: { secretName: args.tlsSecretName } }, ...(args.sidecar?.volumes ?? [])],
            },
          },
        },
      },
      child,
    );

    this.service = new k8s.core.v1.Service(
      `${name}-api`,
      {
        metadata: { ...meta, name: SERVICE_NAMES.livekit },
        spec: { type: 'ClusterIP', selector, ports: [{ name: 'http', port: LIVEKIT_HTTP_PORT, targetPort: LIVEKIT_HTTP_PORT, protocol: 'TCP' }] },
      },
      child,
    );
    this.turnService = new k8s.core.v1.Service(
      `${name}-turn`,
      {
        metadata: { ...meta, name: SERVICE_NAMES.livekitTurn, annotations: loadBalancerAnnotations(args.provider) },
        spec: {
          type: 'LoadBalancer',
          selector,
          // TCP passthrough: LiveKit terminates TURN/TLS with the certificate (turn.external_tls: false).
          ports: [{ name: 'turn-tls', port: PUBLIC_TLS_PORT, targetPort: LIVEKIT_TURN_TLS_PORT, protocol: 'TCP' }],
        },
      },
      child,
    );

    // One node at a time: a disrupted pod drains its rooms for up to the grace period.
    new k8s.policy.v1.PodDisruptionBudget(`${name}-pdb`, { metadata: meta, spec: { maxUnavailable: 1, selector: { matchLabels: selector } } }, child);

    if (args.autoscaling) {
      const cpu = args.autoscaling.signals.find((s) => s.metric === 'cpu');
      if (!cpu) throw new Error('the LiveKit autoscaler follows CPU: the plan names no cpu signal');
      new k8s.autoscaling.v2.HorizontalPodAutoscaler(
        `${name}-hpa`,
        {
          metadata: meta,
          spec: {
            scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: this.deployment.metadata.name },
            minReplicas: args.autoscaling.replicas.min,
            maxReplicas: args.autoscaling.replicas.max,
            metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: cpu.target } } }],
            // A removed node drains for hours: remove one at a time, after 10 minutes of low load.
            behavior: { scaleDown: { stabilizationWindowSeconds: 600, policies: [{ type: 'Pods', value: 1, periodSeconds: 600 }] } },
          },
        },
        child,
      );
    }
    this.registerOutputs({ deployment: this.deployment.metadata.name, turnService: this.turnService.metadata.name });
  }
}
