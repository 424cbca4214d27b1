/**
 * What every Kubernetes component shares, pure: labels (selectors derived from them, never typed
 * twice), resource quantities from the plan's sizes, the restricted security context, scheduling
 * per role, probes, Prometheus annotations and in-cluster addresses.
 */
import { createHash } from 'node:crypto';
import type { ContainerSize, Resources } from '../plan/layout.js';

/** The roles that take node selectors and tolerations (config kubernetes.nodeSelectors / tolerations). */
export type SchedulingRole = 'livekit' | 'agents' | 'services';

/** Components of the stack, the `app.kubernetes.io/component` label. */
export type Component = 'livekit' | 'redis' | 'queue' | 'agent' | 'tls-proxy' | 'inference' | 'sip-sync';

/** Label keys the stack sets (Kubernetes' recommended labels, plus the tier for policies and dashboards). */
export const LABEL_KEYS = {
  name: 'app.kubernetes.io/name',
  instance: 'app.kubernetes.io/instance',
  component: 'app.kubernetes.io/component',
  partOf: 'app.kubernetes.io/part-of',
  managedBy: 'app.kubernetes.io/managed-by',
  tier: 'voice-agent-infra/tier',
} as const;

export interface StackIdentity {
  /** Stack name (pulumi.getStack()). */
  stack: string;
  tier: string;
}

/** Labels of every object of one component. */
export function labels(id: StackIdentity, component: Component): Record<string, string> {
  return {
    [LABEL_KEYS.name]: 'voice-agent',
    [LABEL_KEYS.instance]: id.stack,
    [LABEL_KEYS.component]: component,
    [LABEL_KEYS.partOf]: 'voice-agent-infra',
    [LABEL_KEYS.managedBy]: 'pulumi',
    [LABEL_KEYS.tier]: id.tier,
  };
}

/** The labels that select a component's pods: a subset of labels(), so they always match. */
export function selectorLabels(id: StackIdentity, component: Component): Record<string, string> {
  const all = labels(id, component);
  return { [LABEL_KEYS.name]: all[LABEL_KEYS.name]!, [LABEL_KEYS.instance]: all[LABEL_KEYS.instance]!, [LABEL_KEYS.component]: all[LABEL_KEYS.component]! };
}

/** CPU as a Kubernetes quantity in millicores ("3200m"). */
export function cpuQuantity(cpu: number): string {
  if (!(cpu > 0)) throw new Error(`cpu must be > 0, got ${cpu}`);
  return `${Math.round(cpu * 1000)}m`;
}

/** Memory as a Kubernetes quantity in MiB ("6554Mi"). */
export function memoryQuantity(memoryGiB: number): string {
  if (!(memoryGiB > 0)) throw new Error(`memoryGiB must be > 0, got ${memoryGiB}`);
  return `${Math.round(memoryGiB * 1024)}Mi`;
}

function quantities(r: Resources): { cpu: string; memory: string } {
  return { cpu: cpuQuantity(r.cpu), memory: memoryQuantity(r.memoryGiB) };
}

/** A container's requests and limits, from the plan's layout. */
export function containerResources(size: ContainerSize): { requests: { cpu: string; memory: string }; limits: { cpu: string; memory: string } } {
  return { requests: quantities(size.requests), limits: quantities(size.limits) };
}

/** The plan's size of one container of a pod (throws if the layout has none: a plan/component mismatch). */
export function sizeOf(containers: readonly ContainerSize[], name: ContainerSize['name']): ContainerSize {
  const size = containers.find((c) => c.name === name);
  if (!size) throw new Error(`the plan's layout sizes no ${name} container`);
  return size;
}

/**
 * The restricted container security context (Pod Security Standards "restricted"): not root, no
 * privilege escalation, no capabilities, the runtime's default seccomp profile.
 */
export function restrictedContainer(uid: number) {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: uid,
    allowPrivilegeEscalation: false,
    privileged: false,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** The pod-level half: non-root, volumes group-owned by `uid` (Redis's data volume). */
export function restrictedPod(uid: number) {
  return { runAsNonRoot: true, runAsUser: uid, runAsGroup: uid, fsGroup: uid, seccompProfile: { type: 'RuntimeDefault' } };
}

/** User ids the images run as: the agent image's `node` user, Redis's `redis`, nobody for LiveKit and Caddy. */
export const UIDS = { agentImage: 1000, redis: 999, nobody: 65534 } as const;

export interface Toleration {
  key?: string;
  operator?: 'Exists' | 'Equal';
  value?: string;
  effect?: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
  tolerationSeconds?: number;
}

export interface Scheduling {
  nodeSelectors: Partial<Record<SchedulingRole, Record<string, string>>>;
  tolerations: Partial<Record<SchedulingRole, Toleration[]>>;
}

/** nodeSelector and tolerations of a role's pods (only what the config sets). */
export function podScheduling(scheduling: Scheduling, role: SchedulingRole): { nodeSelector?: Record<string, string>; tolerations?: Toleration[] } {
  const nodeSelector = scheduling.nodeSelectors[role];
  const tolerations = scheduling.tolerations[role];
  return {
    ...(nodeSelector && Object.keys(nodeSelector).length > 0 ? { nodeSelector: { ...nodeSelector } } : {}),
    ...(tolerations && tolerations.length > 0 ? { tolerations: tolerations.map((t) => ({ ...t })) } : {}),
  };
}

/** An HTTP GET probe. */
export function httpProbe(path: string, port: number, opts: { periodSeconds?: number; failureThreshold?: number; initialDelaySeconds?: number } = {}) {
  return { httpGet: { path, port }, periodSeconds: opts.periodSeconds ?? 10, failureThreshold: opts.failureThreshold ?? 3, timeoutSeconds: 5, ...(opts.initialDelaySeconds ? { initialDelaySeconds: opts.initialDelaySeconds } : {}) };
}

/** A TCP probe (liveness of processes that hold calls: a slow answer must not restart them). */
export function tcpProbe(port: number, opts: { periodSeconds?: number; failureThreshold?: number } = {}) {
  return { tcpSocket: { port }, periodSeconds: opts.periodSeconds ?? 20, failureThreshold: opts.failureThreshold ?? 6, timeoutSeconds: 5 };
}

/** Pod annotations the common Prometheus scrape config reads (prometheus.io/scrape, port, path). */
export function prometheusAnnotations(port: number, path = '/metrics'): Record<string, string> {
  return { 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(port), 'prometheus.io/path': path };
}

/** Annotation carrying a config's content hash on the pod template: a config change rolls the pods. */
export const CONFIG_HASH_ANNOTATION = 'voice-agent-infra/config-hash';

/** First 16 hex characters of the SHA-256 of a config text. */
export function configHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** A Service's cluster DNS name. */
export function serviceHost(service: string, namespace: string): string {
  return `${service}.${namespace}.svc.cluster.local`;
}

/** Names of the stack's Services (stable: LiveKit's webhook URL and the agents' LiveKit URL carry them). */
export const SERVICE_NAMES = {
  livekit: 'livekit',
  livekitTurn: 'livekit-turn',
  signalling: 'signalling',
  queue: 'queue',
  redis: 'redis',
} as const;
