/**
 * Redis in the cluster for the queue (and LiveKit when it runs several nodes): a one-replica
 * StatefulSet with the queue's durability flags (AOF everysec, noeviction: agent/README.md), a
 * password, and its data on a volume of the configured StorageClass; a headless Service; a
 * PodDisruptionBudget that keeps node drains from taking the queue down as a side effect; a
 * NetworkPolicy that admits only the stack's pods (and the nodes, where host-network LiveKit
 * connects from).
 */
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { PINNED_IMAGES, REDIS_DURABILITY_FLAGS } from '../livekit/compose.js';
import { REDIS_PORT } from '../livekit/ports.js';
import { type PodLayout, REDIS_VOLUME_GIB } from '../plan/layout.js';
import {
  type Component,
  containerResources,
  labels,
  podScheduling,
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

/** Share of the container's memory limit given to Redis's maxmemory (the rest: AOF rewrite, buffers). */
export const REDIS_MAXMEMORY_SHARE = 0.75;

/**
 * The Redis container's command: durability flags and maxmemory under the container limit. The
 * password (REDIS_PASSWORD, from the Secret) is fed as config on stdin, never as an argument (argv
 * is readable in /proc), as the AWS nodes' compose file does; the manifest holds no value.
 */
export function redisCommand(memoryLimitGiB: number): string[] {
  const maxMemoryMb = Math.floor(memoryLimitGiB * 1024 * REDIS_MAXMEMORY_SHARE);
  const flags = ['--port', String(REDIS_PORT), ...REDIS_DURABILITY_FLAGS, '--maxmemory', `${maxMemoryMb}mb`, '--dir', '/data'].join(' ');
  return ['sh', '-c', [`exec redis-server ${flags} - <<EOF`, 'requirepass "$REDIS_PASSWORD"', 'EOF', ''].join('\n')];
}

export interface InClusterRedisArgs {
  id: StackIdentity;
  namespace: pulumi.Input<string>;
  pod: PodLayout;
  /** Secret with REDIS_PASSWORD. */
  secretName: pulumi.Input<string>;
  /** StorageClass of the data volume; null for the cluster's default. */
  storageClass: string | null;
  /** Components whose pods may connect. */
  clients: Component[];
  /** Node ranges admitted too (host-network LiveKit connects from its node's address), or []. */
  nodeCidrs: string[];
  scheduling: Scheduling;
  image?: string;
}

/** The in-cluster Redis. */
export class InClusterRedis extends pulumi.ComponentResource {
  public readonly statefulSet: k8s.apps.v1.StatefulSet;
  public readonly service: k8s.core.v1.Service;

  constructor(name: string, args: InClusterRedisArgs, opts?: pulumi.ComponentResourceOptions) {
    super('voice-agent-infra:k8s:InClusterRedis', name, {}, opts);
    const child = { parent: this };
    const meta = { namespace: args.namespace, labels: labels(args.id, 'redis') };
    const selector = selectorLabels(args.id, 'redis');
    const size = sizeOf(args.pod.containers, 'redis');

    this.service = new k8s.core.v1.Service(
      `${name}-headless`,
      {
        metadata: { ...meta, name: SERVICE_NAMES.redis },
        // Headless: the name resolves to the pod, whose identity the StatefulSet keeps.
        spec: { clusterIP: 'None', selector, ports: [{ name: 'redis', port: REDIS_PORT, targetPort: REDIS_PORT, protocol: 'TCP' }] },
      },
      child,
    );
    this.statefulSet = new k8s.apps.v1.StatefulSet(
      name,
      {
        metadata: { ...meta, name: SERVICE_NAMES.redis },
        spec: {
          serviceName: SERVICE_NAMES.redis,
          replicas: args.pod.replicas.min,
          selector: { matchLabels: selector },
          template: {
            metadata: { labels: { ...meta.labels } },
            spec: {
              terminationGracePeriodSeconds: args.pod.terminationGracePeriodSeconds,
              automountServiceAccountToken: false,
              securityContext: restrictedPod(UIDS.redis),
              ...podScheduling(args.scheduling, 'services'),
              containers: [
                {
                  name: 'redis',
                  image: args.image ?? PINNED_IMAGES.redis,
                  command: redisCommand(size.limits.memoryGiB),
                  env: [secretEnv('REDIS_PASSWORD', args.secretName)],
                  ports: [{ name: 'redis', containerPort: REDIS_PORT, protocol: 'TCP' }],
                  readinessProbe: { exec: { command: ['sh', '-c', 'redis-cli --no-auth-warning -a "$REDIS_PASSWORD" ping | grep -q PONG'] }, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 },
                  livenessProbe: tcpProbe(REDIS_PORT),
                  resources: containerResources(size),
                  securityContext: restrictedContainer(UIDS.redis),
                  volumeMounts: [{ name: 'data', mountPath: '/data' }],
                },
              ],
            },
          },
          volumeClaimTemplates: [
            {
              metadata: { name: 'data' },
              spec: {
                accessModes: ['ReadWriteOnce'],
                ...(args.storageClass ? { storageClassName: args.storageClass } : {}),
                resources: { requests: { storage: `${REDIS_VOLUME_GIB}Gi` } },
              },
            },
          ],
        },
      },
      child,
    );
    // minAvailable 1 of 1: a node drain waits for an operator instead of stopping the queue.
    new k8s.policy.v1.PodDisruptionBudget(`${name}-pdb`, { metadata: meta, spec: { minAvailable: 1, selector: { matchLabels: selector } } }, child);
    new k8s.networking.v1.NetworkPolicy(
      `${name}-ingress`,
      {
        metadata: meta,
        spec: {
          podSelector: { matchLabels: selector },
          policyTypes: ['Ingress'],
          ingress: [
            {
              from: [
                ...args.clients.map((component) => ({ podSelector: { matchLabels: selectorLabels(args.id, component) } })),
                ...args.nodeCidrs.map((cidr) => ({ ipBlock: { cidr } })),
              ],
              ports: [{ protocol: 'TCP', port: REDIS_PORT }],
            },
          ],
        },
      },
      child,
    );
    this.registerOutputs({ service: this.service.metadata.name });
  }
}
