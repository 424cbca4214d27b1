/**
 * Policies for the Kubernetes target (@pulumi/policy), as a plain array beside the AWS ones: no
 * privileged container, limits on every container, no secret in a ConfigMap (nor in a literal env
 * value or an annotation), the host network only for LiveKit's media (LiveKit and the LiveKit SIP
 * service), a PodDisruptionBudget for LiveKit and the agent workers, and grace periods that cover
 * the drain. The PolicyPack (index.ts) runs them with the AWS array; the tests
 * call each validation on the mocked resource graph.
 */
import type { ReportViolation, ResourceValidationPolicy, StackValidationPolicy } from '@pulumi/policy';
import { MAX_CALL_SECONDS } from '../plan/layout.js';
import { findSecretMaterial } from './policies.js';

export const K8S_TYPES = {
  deployment: 'kubernetes:apps/v1:Deployment',
  statefulSet: 'kubernetes:apps/v1:StatefulSet',
  daemonSet: 'kubernetes:apps/v1:DaemonSet',
  pod: 'kubernetes:core/v1:Pod',
  job: 'kubernetes:batch/v1:Job',
  configMap: 'kubernetes:core/v1:ConfigMap',
  pdb: 'kubernetes:policy/v1:PodDisruptionBudget',
} as const;

/** The agent worker's drain when AGENT_DRAIN_TIMEOUT_SECONDS is unset (agent/src/worker/config.ts). */
export const AGENT_DEFAULT_DRAIN_SECONDS = 600;
/** Seconds beyond the drain a worker needs to exit. */
export const DRAIN_MARGIN_SECONDS = 30;

type Props = Record<string, unknown>;
const record = (v: unknown): Props => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Props) : {});
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** The pod spec of a workload (Deployment, StatefulSet, DaemonSet, Job: spec.template.spec; Pod: spec), or null. */
export function podSpecOf(type: string, props: Props): Props | null {
  if (type === K8S_TYPES.pod) return record(props.spec);
  if (type === K8S_TYPES.deployment || type === K8S_TYPES.statefulSet || type === K8S_TYPES.daemonSet || type === K8S_TYPES.job) {
    return record(record(record(props.spec).template).spec);
  }
  return null;
}

function containersOf(spec: Props): Props[] {
  return [...list(spec.initContainers), ...list(spec.containers)].map(record);
}

// --- No privileged containers --------------------------------------------------------------------

const DANGEROUS_CAPABILITIES = new Set(['ALL', 'SYS_ADMIN', 'NET_ADMIN', 'SYS_PTRACE', 'SYS_MODULE']);

export const k8sNoPrivilegedContainers: ResourceValidationPolicy = {
  name: 'k8s-no-privileged-containers',
  description: 'No container is privileged, may escalate privileges (allowPrivilegeEscalation must be false) or adds a dangerous capability.',
  enforcementLevel: 'mandatory',
  validateResource: (args, report) => {
    const spec = podSpecOf(args.type, args.props);
    if (!spec) return;
    for (const c of containersOf(spec)) {
      const sc = record(c.securityContext);
      const name = `${args.name} container ${String(c.name)}`;
      if (sc.privileged === true) report(`${name}: privileged: true gives it the node; nothing in this stack needs it`);
      if (sc.allowPrivilegeEscalation !== false) report(`${name}: allowPrivilegeEscalation is not false`);
      const added = list(record(sc.capabilities).add).map(String).filter((cap) => DANGEROUS_CAPABILITIES.has(cap.toUpperCase().replace(/^CAP_/, '')));
      if (added.length > 0) report(`${name}: adds capabilities ${added.join(', ')}`);
    }
  },
};

// --- Limits on every container -----------------------------------------------------------------------

export const k8sLimitsOnEveryContainer: ResourceValidationPolicy = {
  name: 'k8s-limits-on-every-container',
  description: 'Every container requests and limits CPU and memory (sizes come from the plan; a container without limits can starve the calls beside it).',
  enforcementLevel: 'mandatory',
  validateResource: (args, report) => {
    const spec = podSpecOf(args.type, args.props);
    if (!spec) return;
    for (const c of containersOf(spec)) {
      const resources = record(c.resources);
      for (const kind of ['requests', 'limits'] as const) {
        const r = record(resources[kind]);
        const missing = ['cpu', 'memory'].filter((k) => r[k] === undefined || r[k] === null || r[k] === '');
        if (missing.length > 0) report(`${args.name} container ${String(c.name)}: no ${kind} for ${missing.join(' and ')}`);
      }
    }
  },
};

// --- No secret in a ConfigMap, an annotation or a literal env value --------------------------------------

const SECRET_ENV_NAME = /(secret|password|passwd|token|private_?key|access_?key|api_?key)$/i;
/** Env names that look secret-ish but hold identifiers (the LiveKit API key is the webhooks' issuer, not a secret). */
const NOT_SECRET_ENV = new Set(['LIVEKIT_API_KEY']);

export const k8sNoSecretInConfig: ResourceValidationPolicy = {
  name: 'k8s-no-secret-in-config',
  description: 'No secret material in a ConfigMap, an annotation, or a literal env value: secrets come from Secrets through secretKeyRef.',
  enforcementLevel: 'mandatory',
  validateResource: (args, report) => {
    const check = (where: string, text: unknown) => {
      if (typeof text !== 'string') return;
      const found = findSecretMaterial(text);
      if (found) report(`${args.name} ${where}: contains ${found.what} (${found.excerpt}); put it in a Secret and reference it`);
    };
    const metadata = record(args.props.metadata);
    for (const [key, value] of Object.entries(record(metadata.annotations))) check(`annotation ${key}`, `${key}: ${String(value)}`);
    if (args.type === K8S_TYPES.configMap) {
      for (const [key, value] of Object.entries(record(args.props.data))) {
        check(`data ${key}`, value);
        check(`data ${key}`, `${key}: ${String(value)}`);
      }
    }
    const spec = podSpecOf(args.type, args.props);
    if (!spec) return;
    const template = record(record(record(args.props.spec).template).metadata);
    for (const [key, value] of Object.entries(record(template.annotations))) check(`pod annotation ${key}`, `${key}: ${String(value)}`);
    for (const c of containersOf(spec)) {
      for (const env of list(c.env).map(record)) {
        const name = String(env.name);
        if (typeof env.value === 'string' && env.value !== '' && SECRET_ENV_NAME.test(name) && !NOT_SECRET_ENV.has(name)) {
          report(`${args.name} container ${String(c.name)}: env ${name} has a literal value; read it from a Secret (valueFrom.secretKeyRef)`);
        }
        check(`container ${String(c.name)} env ${name}`, `${name}=${typeof env.value === 'string' ? env.value : ''}`);
      }
    }
  },
};

// --- The host network only for LiveKit's media ---------------------------------------------------------

/** Image repositories allowed on the host network: WebRTC and SIP media need the node's own ports and address. */
export const HOST_NETWORK_IMAGES = ['livekit/livekit-server', 'livekit/sip'] as const;

function imageRepository(image: unknown): string {
  return String(image).replace(/@sha256:[a-f0-9]+$/, '').replace(/:[A-Za-z0-9_][A-Za-z0-9_.-]*$/, '').replace(/^docker\.io\//, '');
}

function isSipImage(image: unknown): boolean {
  return imageRepository(image) === 'livekit/sip';
}

export const k8sHostNetworkOnlyForMedia: ResourceValidationPolicy = {
  name: 'k8s-host-network-only-for-media',
  description: `Only pods made of LiveKit's media servers (${HOST_NETWORK_IMAGES.join(', ')}) use the host network (and with it ClusterFirstWithHostNet DNS): any other container there would bypass NetworkPolicies and share the node's ports.`,
  enforcementLevel: 'mandatory',
  validateResource: (args, report) => {
    const spec = podSpecOf(args.type, args.props);
    if (!spec || spec.hostNetwork !== true) return;
    for (const c of containersOf(spec)) {
      if (!(HOST_NETWORK_IMAGES as readonly string[]).includes(imageRepository(c.image))) {
        report(`${args.name} container ${String(c.name)}: image ${String(c.image)} runs on the host network; only ${HOST_NETWORK_IMAGES.join(' and ')} may`);
      }
    }
    if (spec.dnsPolicy !== 'ClusterFirstWithHostNet') report(`${args.name}: on the host network without dnsPolicy ClusterFirstWithHostNet, its containers cannot resolve the cluster's Services (Redis, the intake)`);
  },
};

// --- Grace periods that cover the drain ---------------------------------------------------------------

/** What a workload's pods drain on SIGTERM, from their containers: the agent worker's drain timeout, LiveKit's rooms. */
export function drainSecondsOf(spec: Props): { seconds: number; what: string } | null {
  for (const c of containersOf(spec)) {
    const env = list(c.env).map(record);
    const args = list(c.args).map(String);
    const drain = env.find((e) => e.name === 'AGENT_DRAIN_TIMEOUT_SECONDS');
    if (args[0] === 'agent' || drain) {
      const seconds = drain && typeof drain.value === 'string' ? Number(drain.value) : AGENT_DEFAULT_DRAIN_SECONDS;
      return { seconds: seconds + DRAIN_MARGIN_SECONDS, what: `the agent worker's drain (${seconds} s) + ${DRAIN_MARGIN_SECONDS} s` };
    }
    if (String(c.image).includes('livekit-server')) return { seconds: MAX_CALL_SECONDS, what: `the longest call (${MAX_CALL_SECONDS} s): LiveKit drains its rooms` };
    // livekit/sip cmd/livekit-sip/main.go: SIGTERM finishes every call, then exits.
    if (isSipImage(c.image)) return { seconds: MAX_CALL_SECONDS, what: `the longest call (${MAX_CALL_SECONDS} s): the SIP service finishes its calls` };
  }
  return null;
}

export const k8sGraceCoversDrain: ResourceValidationPolicy = {
  name: 'k8s-grace-covers-drain',
  description: "Pods that hold calls (agent workers, LiveKit) get a terminationGracePeriodSeconds that covers their drain, or Kubernetes kills live calls.",
  enforcementLevel: 'mandatory',
  validateResource: (args, report) => {
    const spec = podSpecOf(args.type, args.props);
    if (!spec) return;
    const drain = drainSecondsOf(spec);
    if (!drain) return;
    // Kubernetes' default grace period is 30 s.
    const grace = typeof spec.terminationGracePeriodSeconds === 'number' ? spec.terminationGracePeriodSeconds : 30;
    if (grace < drain.seconds) report(`${args.name}: terminationGracePeriodSeconds ${grace} does not cover ${drain.what} = ${drain.seconds} s`);
  },
};

// --- PodDisruptionBudgets for LiveKit and the agents ------------------------------------------------------

interface StackResource {
  type: string;
  name: string;
  props: Props;
}

function matches(selector: Props, podLabels: Props): boolean {
  const wanted = Object.entries(record(selector.matchLabels));
  return wanted.length > 0 && wanted.every(([k, v]) => podLabels[k] === v);
}

/** Workloads that hold calls (their pods drain: see drainSecondsOf) without a PodDisruptionBudget selecting their pods. Exported for tests. */
export function pdbViolations(resources: readonly StackResource[]): string[] {
  const pdbs = resources.filter((r) => r.type === K8S_TYPES.pdb).map((r) => ({ namespace: record(r.props.metadata).namespace, selector: record(record(r.props.spec).selector) }));
  const violations: string[] = [];
  for (const r of resources) {
    const spec = podSpecOf(r.type, r.props);
    if (!spec || !drainSecondsOf(spec)) continue;
    const namespace = record(r.props.metadata).namespace;
    const podLabels = record(record(record(record(r.props.spec).template).metadata).labels);
    if (!pdbs.some((p) => p.namespace === namespace && matches(p.selector, podLabels))) {
      violations.push(`${r.name}: holds calls but no PodDisruptionBudget selects its pods (a node drain could stop them all at once)`);
    }
  }
  return violations;
}

export const k8sPdbForCallHolders: StackValidationPolicy = {
  name: 'k8s-pdb-for-call-holders',
  description: 'LiveKit and the agent workers each have a PodDisruptionBudget selecting their pods.',
  enforcementLevel: 'mandatory',
  validateStack: (args, report: ReportViolation) => {
    for (const violation of pdbViolations(args.resources.map((r) => ({ type: r.type, name: r.name, props: r.props })))) report(violation);
  },
};

/** Every Kubernetes policy. */
export const kubernetesPolicies = [k8sNoPrivilegedContainers, k8sLimitsOnEveryContainer, k8sNoSecretInConfig, k8sHostNetworkOnlyForMedia, k8sGraceCoversDrain, k8sPdbForCallHolders];
