/**
 * The layout both targets build from, pure: where TLS terminates, where Redis lives, which roles
 * share a machine, what autoscales on which signal, how long a stopping worker may drain, and on
 * Kubernetes the size, replicas and grace period of every pod. planDeployment derives it from the
 * tier and the config; the components read it and never branch on the tier's name.
 */
import type { KubernetesProvider, StackConfig, Tier } from '../config.js';
import type { Range } from './plan.js';

/** What runs in the stack. `tls-proxy` is Caddy on the AWS small box, or the TLS proxy pods on Kubernetes. */
export type Role = 'livekit' | 'redis' | 'intake' | 'dispatcher' | 'agent' | 'tls-proxy';

/**
 * Where TLS for a public name ends:
 * - `node-proxy`: Caddy on the LiveKit node, both names split by SNI (AWS small);
 * - `load-balancer`: the network load balancer's TLS listener (AWS mid and large);
 * - `cluster-proxy`: TLS proxy pods behind the signalling load balancer (Kubernetes signalling);
 * - `livekit`: LiveKit's own TURN/TLS listener with the certificate (Kubernetes TURN/TLS, as
 *   LiveKit's Helm chart does), the load balancer passing TCP through.
 */
export type TlsTerminator = 'node-proxy' | 'load-balancer' | 'cluster-proxy' | 'livekit';

/** Where Redis lives: on the LiveKit node, in the cluster (a StatefulSet), a managed service the stack creates, or one it is given. */
export type RedisPlacement = 'node' | 'in-cluster' | 'managed' | 'external';

export interface RedisLayout {
  placement: RedisPlacement;
  /** Who connects: `node` = only processes on the same machine (loopback); `stack` = the stack's other machines or pods too. */
  reachedFrom: 'node' | 'stack';
  /** Clients speak TLS to it (managed and external Redis). */
  tls: boolean;
  /** It requires a password (AUTH): everywhere it is reached over the network. */
  auth: boolean;
  /**
   * LiveKit uses it: more than one LiveKit node share rooms through it (multi-node mode), or (on
   * Kubernetes) the LiveKit SIP service, which reaches LiveKit only over this Redis (psrpc).
   */
  livekitUsesIt: boolean;
}

/** Machines (AWS) or node pools (Kubernetes) and the roles that run on them. */
export interface MachineGroup {
  name: 'box' | 'livekit' | 'agents' | 'services';
  roles: Role[];
  /** Machines in the group at the busy hour (min) and the spike (max); null on Kubernetes: as many as the pods' requests need (see the cost). */
  count: Range | null;
  /** Instance type of the machines (Kubernetes: the node type the pods are sized for and priced at). */
  instanceType: string;
  /** At most one pod of the group's first role per machine (LiveKit: host networking, host ports). */
  onePerMachine: boolean;
}

/** One signal an autoscaler follows. */
export interface ScalingSignal {
  /** `queue-waiting`: calls waiting for an agent; `queue-active`: calls holding capacity; `cpu`: average CPU. */
  metric: 'queue-waiting' | 'queue-active' | 'cpu';
  /** The value per replica the autoscaler holds (calls per replica, or CPU percent). */
  target: number;
  why: string;
}

export interface Autoscaling {
  role: 'livekit' | 'agent';
  replicas: Range;
  /** Scale out when any signal asks; the replicas follow the largest. */
  signals: ScalingSignal[];
}

export interface Resources {
  cpu: number;
  memoryGiB: number;
}

export interface ContainerSize {
  name: 'livekit' | 'sip' | 'agent' | 'intake' | 'dispatcher' | 'redis' | 'tls-proxy';
  requests: Resources;
  limits: Resources;
}

export type PodRole = 'livekit' | 'agent' | 'queue' | 'redis' | 'tlsProxy';

export interface PodLayout {
  replicas: Range;
  containers: ContainerSize[];
  /** Seconds between SIGTERM and SIGKILL: covers the drain of what the pod holds. */
  terminationGracePeriodSeconds: number;
  /** The node pool the pod is sized for and priced on (MachineGroup name). */
  pool: MachineGroup['name'];
}

export interface DeploymentLayout {
  tls: { signalling: TlsTerminator; turn: TlsTerminator };
  /** Public load balancers, one per name (LiveKit advertises turns:<turn domain>:443 and signalling on <domain>:443). */
  loadBalancers: Array<'signalling' | 'turn-tls'>;
  redis: RedisLayout;
  machines: MachineGroup[];
  /** Empty on fixed-size stacks. */
  autoscaling: Autoscaling[];
  /** Seconds a stopping agent worker waits for its calls (AGENT_DRAIN_TIMEOUT_SECONDS) and a stopping LiveKit for its rooms. */
  drain: { agentSeconds: number; livekitSeconds: number };
  /** Kubernetes only: every pod of the stack, sized from the plan; null on AWS. */
  pods: Record<PodRole, PodLayout | null> | null;
  /** Kubernetes only: the load balancer annotations' cloud. */
  provider: KubernetesProvider | null;
}

// --- Constants, with where they come from ------------------------------------------------------

/**
 * What a Kubernetes node keeps from its pods: kubelet and system reservations plus the usual
 * DaemonSets (CNI, kube-proxy, CSI, log and metrics agents). The EKS AMI's bootstrap reserves about
 * 0.1 vCPU and 0.6-1.2 GiB on 4-8 vCPU nodes (kube-reserved: 6% of the first core..., 11 MiB per
 * max pod + 255 MiB) and the DaemonSets take a few hundred millicores more. A planning figure.
 */
export const NODE_RESERVED: Readonly<Resources> = { cpu: 0.5, memoryGiB: 1.5 };

/** LiveKit pod memory request on a LiveKit node (livekit-helm examples/server-eks.yaml limits 2048Mi on an 8-core node). */
export const LIVEKIT_POD_MEMORY_GIB = 2;
/** LiveKit pod memory on the small tier (its reserved 2 GiB share LiveKit, Redis and the TLS proxy). */
export const SMALL_LIVEKIT_POD_MEMORY_GIB = 1;

/** Intake and dispatcher containers: light Node processes (agent/README: ~200 us of CPU per webhook). */
export const QUEUE_CONTAINER: Readonly<{ requests: Resources; limits: Resources }> = {
  requests: { cpu: 0.25, memoryGiB: 0.25 },
  limits: { cpu: 1, memoryGiB: 0.5 },
};
/** In-cluster Redis: the queue holds a few KB per call; memory is the limit Redis's maxmemory is set under. */
export const REDIS_CONTAINER: Readonly<{ requests: Resources; limits: Resources }> = {
  requests: { cpu: 0.25, memoryGiB: 1 },
  limits: { cpu: 1, memoryGiB: 1 },
};
/** GiB of the in-cluster Redis volume (the AOF of a queue that holds a few KB per call). */
export const REDIS_VOLUME_GIB = 10;
/**
 * The LiveKit SIP service beside LiveKit in its pod (Kubernetes, sip.enabled): SIP signalling and,
 * per call, G.711 <-> Opus transcoding and resampling. A planning figure (livekit/sip publishes no
 * per-call cost): its request comes out of LiveKit's share of the node on mid and large, so the pod
 * still fits the node it is sized for; the limit lets it burst at the spike.
 */
export const SIP_CONTAINER: Readonly<{ requests: Resources; limits: Resources }> = {
  requests: { cpu: 0.5, memoryGiB: 0.5 },
  limits: { cpu: 2, memoryGiB: 1 },
};
/** The TLS proxy in front of signalling: WebSocket frames only, no media. */
export const TLS_PROXY_CONTAINER: Readonly<{ requests: Resources; limits: Resources }> = {
  requests: { cpu: 0.1, memoryGiB: 0.125 },
  limits: { cpu: 0.5, memoryGiB: 0.25 },
};

/**
 * The longest call the stack plans for: the dispatcher's CALL_MAX_DURATION_SECONDS default
 * (agent/README.md), after which the queue releases a call that never saw room_finished.
 */
export const MAX_CALL_SECONDS = 7200;
/** LiveKit's room.empty_timeout default: a drained room closes this long after its last participant. */
export const ROOM_EMPTY_TIMEOUT_SECONDS = 300;
/** Beyond the agent's drain: the worker's own shutdown after its last call. */
export const AGENT_SHUTDOWN_MARGIN_SECONDS = 30;
/** Intake and dispatcher: the dispatcher's drain gives up after 60 s (agent/README.md), plus 30 s to exit. */
export const QUEUE_GRACE_SECONDS = 90;
/** Redis: time to write the AOF and exit. */
export const REDIS_GRACE_SECONDS = 60;
/** TLS proxy: lets open WebSocket connections move (clients reconnect signalling; media is not on this path). */
export const TLS_PROXY_GRACE_SECONDS = 30;

/** Agent CPU the autoscalers aim for: below the worker's 0.7 load threshold, so capacity arrives before workers refuse jobs. */
export const AGENT_CPU_TARGET_PERCENT = 50;
/** LiveKit CPU the autoscaler aims for (livekit-helm examples/server-eks.yaml targetCPUUtilizationPercentage). */
export const LIVEKIT_CPU_TARGET_PERCENT = 60;
/** Share of a worker's sessions the active-calls signal fills before asking for another worker. */
export const AGENT_ACTIVE_TARGET_SHARE = 0.8;
/** The smallest backlog target: any waiting call is a reason to scale out. */
export const MIN_BACKLOG_TARGET = 0.1;

/**
 * Acceptable waiting calls per worker: what one worker starts within the acceptable wait
 * (acceptable latency / time per call; the backlog-per-instance pattern). One worker starts
 * sessionsPerWorker / callSeconds calls a second at steady state.
 */
export function backlogPerWorkerTarget(args: { maxWaitSeconds: number; avgCallMinutes: number; sessionsPerWorker: number }): number {
  const callsPerSecond = args.sessionsPerWorker / (args.avgCallMinutes * 60);
  return Math.max(MIN_BACKLOG_TARGET, Math.round(args.maxWaitSeconds * callsPerSecond * 100) / 100);
}

/** What a node of this shape offers its pods (Kubernetes): the shape less NODE_RESERVED. */
export function allocatable(shape: { vcpu: number; memoryGiB: number }): { vcpu: number; memoryGiB: number } {
  return { vcpu: Math.max(0, shape.vcpu - NODE_RESERVED.cpu), memoryGiB: Math.max(0, shape.memoryGiB - NODE_RESERVED.memoryGiB) };
}

// --- The layout -----------------------------------------------------------------------------------

export interface LayoutInputs {
  tier: Tier;
  config: Pick<StackConfig, 'target' | 'kubernetes' | 'capacity' | 'aws'> & { sip: Pick<StackConfig['sip'], 'enabled'> };
  livekit: { instanceType: string; vcpu: number; memoryGiB: number; nodes: Range };
  agents: { instanceType: string; sessionsPerWorker: number; workers: Range; colocatedWithLivekit: boolean };
  /** Instance type of the Kubernetes services pool (intake, dispatcher, Redis, TLS proxy). */
  servicesInstanceType: string;
  redisMode: 'local' | 'managed' | 'external';
  assumptions: { maxWaitSeconds: number; avgCallMinutes: number };
}

/** The layout of a planned stack, per target. */
export function planLayout(inputs: LayoutInputs): DeploymentLayout {
  return inputs.config.target === 'kubernetes' ? kubernetesLayout(inputs) : awsLayout(inputs);
}

function agentSignalsAws(inputs: LayoutInputs): ScalingSignal[] {
  return [
    {
      metric: 'queue-waiting',
      target: backlogPerWorkerTarget({ ...inputs.assumptions, sessionsPerWorker: inputs.agents.sessionsPerWorker }),
      why: 'waiting calls per worker: what one worker starts within the acceptable wait',
    },
    { metric: 'cpu', target: AGENT_CPU_TARGET_PERCENT, why: 'holds the fleet while calls are active and the queue is empty' },
  ];
}

function awsLayout(inputs: LayoutInputs): DeploymentLayout {
  const { agents, livekit } = inputs;
  // aws.drainSeconds: what the nodes' compose files give LiveKit and the agent to stop, and what
  // the termination lifecycle hooks wait for.
  const drain = { agentSeconds: inputs.config.aws.drainSeconds, livekitSeconds: inputs.config.aws.drainSeconds };
  const multiNode = livekit.nodes.max > 1;
  if (agents.colocatedWithLivekit) {
    // One box: Caddy terminates TLS for both names, Redis listens on loopback only.
    return {
      tls: { signalling: 'node-proxy', turn: 'node-proxy' },
      loadBalancers: [],
      redis: { placement: 'node', reachedFrom: 'node', tls: false, auth: false, livekitUsesIt: false },
      machines: [{ name: 'box', roles: ['tls-proxy', 'livekit', 'redis', 'intake', 'dispatcher', 'agent'], count: { min: 1, max: 1 }, instanceType: livekit.instanceType, onePerMachine: true }],
      autoscaling: [],
      drain,
      pods: null,
      provider: null,
    };
  }
  const managed = inputs.redisMode === 'managed';
  return {
    tls: { signalling: 'load-balancer', turn: 'load-balancer' },
    loadBalancers: ['signalling', 'turn-tls'],
    redis: managed
      ? { placement: 'managed', reachedFrom: 'stack', tls: true, auth: true, livekitUsesIt: multiNode }
      : { placement: 'node', reachedFrom: 'stack', tls: false, auth: true, livekitUsesIt: false },
    machines: [
      { name: 'livekit', roles: managed ? ['livekit', 'intake', 'dispatcher'] : ['livekit', 'redis', 'intake', 'dispatcher'], count: livekit.nodes, instanceType: livekit.instanceType, onePerMachine: true },
      { name: 'agents', roles: ['agent'], count: agents.workers, instanceType: agents.instanceType, onePerMachine: true },
    ],
    autoscaling: [
      ...(multiNode
        ? [{ role: 'livekit' as const, replicas: livekit.nodes, signals: [{ metric: 'cpu' as const, target: LIVEKIT_CPU_TARGET_PERCENT, why: 'spreads rooms over more nodes before one saturates' }] }]
        : []),
      { role: 'agent', replicas: agents.workers, signals: agentSignalsAws(inputs) },
    ],
    drain,
    pods: null,
    provider: null,
  };
}

function container(name: ContainerSize['name'], size: { requests: Resources; limits: Resources }): ContainerSize {
  return { name, requests: { ...size.requests }, limits: { ...size.limits } };
}

function kubernetesLayout(inputs: LayoutInputs): DeploymentLayout {
  const { agents, livekit, config } = inputs;
  const k8s = config.kubernetes;
  const multiNode = livekit.nodes.max > 1;
  const inCluster = inputs.redisMode !== 'external';
  const small = agents.colocatedWithLivekit;
  const sip = config.sip.enabled;
  const node = allocatable(livekit);
  // LiveKit holds the whole node it runs on (one per node), except on small, where the plan gives it
  // the reserved share; the SIP service's request comes out of the whole node, not on top of it.
  const livekitRequests: Resources = small
    ? { cpu: config.capacity.smallBoxReservedVcpu, memoryGiB: SMALL_LIVEKIT_POD_MEMORY_GIB }
    : { cpu: round3(node.vcpu - (sip ? SIP_CONTAINER.requests.cpu : 0)), memoryGiB: LIVEKIT_POD_MEMORY_GIB };
  const livekitLimits: Resources = small ? { ...livekitRequests } : { cpu: node.vcpu, memoryGiB: node.memoryGiB };
  // An agent pod requests what its sessions need (LiveKit's example: requests = limits).
  const agentSize: Resources = {
    cpu: round3(agents.sessionsPerWorker / config.capacity.sessionsPerAgentVcpu),
    memoryGiB: round3(agents.sessionsPerWorker * config.capacity.memoryGiBPerSession),
  };
  // Two intake/dispatcher and proxy replicas from mid up, so one can restart while the other serves.
  const serviceReplicas = small ? 1 : 2;
  const fixed = (n: number): Range => ({ min: n, max: n });
  const pool = (name: 'livekit' | 'agents' | 'services'): MachineGroup['name'] => (small ? 'box' : name);
  const agentDrainSeconds = MAX_CALL_SECONDS;
  const livekitGrace = MAX_CALL_SECONDS + ROOM_EMPTY_TIMEOUT_SECONDS;

  const agentSignals: ScalingSignal[] = k8s.keda
    ? [
        {
          metric: 'queue-waiting',
          target: backlogPerWorkerTarget({ ...inputs.assumptions, sessionsPerWorker: agents.sessionsPerWorker }),
          why: 'waiting calls per worker (the intake\'s /v1/queue "waiting"): what one worker starts within the acceptable wait',
        },
        {
          metric: 'queue-active',
          target: Math.max(1, Math.floor(agents.sessionsPerWorker * AGENT_ACTIVE_TARGET_SHARE)),
          why: 'calls holding capacity per worker (/v1/queue "active"): holds the fleet while calls are active and the queue is empty, with headroom',
        },
      ]
    : [{ metric: 'cpu', target: AGENT_CPU_TARGET_PERCENT, why: 'no KEDA: the HPA follows CPU, below the worker\'s 0.7 load threshold' }];

  return {
    tls: { signalling: 'cluster-proxy', turn: 'livekit' },
    loadBalancers: ['signalling', 'turn-tls'],
    // The SIP service needs LiveKit on its Redis even with one LiveKit node (livekit/sip README).
    redis: inCluster
      ? { placement: 'in-cluster', reachedFrom: 'stack', tls: false, auth: true, livekitUsesIt: multiNode || sip }
      : { placement: 'external', reachedFrom: 'stack', tls: true, auth: true, livekitUsesIt: multiNode || sip },
    // Small: one pool of the plan's box type, the scheduler packing every pod (LiveKit one per node).
    machines: small
      ? [{ name: 'box', roles: ['livekit', 'agent', 'intake', 'dispatcher', ...(inCluster ? (['redis'] as const) : []), 'tls-proxy'], count: null, instanceType: livekit.instanceType, onePerMachine: true }]
      : [
          { name: 'livekit', roles: ['livekit'], count: null, instanceType: livekit.instanceType, onePerMachine: true },
          { name: 'agents', roles: ['agent'], count: null, instanceType: agents.instanceType, onePerMachine: false },
          { name: 'services', roles: ['intake', 'dispatcher', ...(inCluster ? (['redis'] as const) : []), 'tls-proxy'], count: null, instanceType: inputs.servicesInstanceType, onePerMachine: false },
        ],
    autoscaling: [
      ...(multiNode
        ? [{ role: 'livekit' as const, replicas: livekit.nodes, signals: [{ metric: 'cpu' as const, target: LIVEKIT_CPU_TARGET_PERCENT, why: 'spreads rooms over more nodes before one saturates' }] }]
        : []),
      ...(small ? [] : [{ role: 'agent' as const, replicas: agents.workers, signals: agentSignals }]),
    ],
    drain: { agentSeconds: agentDrainSeconds, livekitSeconds: livekitGrace },
    pods: {
      // With phone calls the SIP service runs in LiveKit's pod: one per LiveKit node, scaled with it (components/k8s/sip.ts says why).
      livekit: {
        replicas: livekit.nodes,
        containers: [{ name: 'livekit', requests: livekitRequests, limits: livekitLimits }, ...(sip ? [container('sip', SIP_CONTAINER)] : [])],
        terminationGracePeriodSeconds: livekitGrace,
        pool: pool('livekit'),
      },
      agent: {
        replicas: agents.workers,
        containers: [{ name: 'agent', requests: agentSize, limits: { ...agentSize } }],
        terminationGracePeriodSeconds: agentDrainSeconds + AGENT_SHUTDOWN_MARGIN_SECONDS,
        pool: pool('agents'),
      },
      queue: {
        replicas: fixed(serviceReplicas),
        containers: [container('intake', QUEUE_CONTAINER), container('dispatcher', QUEUE_CONTAINER)],
        terminationGracePeriodSeconds: QUEUE_GRACE_SECONDS,
        pool: pool('services'),
      },
      redis: inCluster ? { replicas: fixed(1), containers: [container('redis', REDIS_CONTAINER)], terminationGracePeriodSeconds: REDIS_GRACE_SECONDS, pool: pool('services') } : null,
      tlsProxy: { replicas: fixed(serviceReplicas), containers: [container('tls-proxy', TLS_PROXY_CONTAINER)], terminationGracePeriodSeconds: TLS_PROXY_GRACE_SECONDS, pool: pool('services') },
    },
    provider: k8s.provider,
  };
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}
