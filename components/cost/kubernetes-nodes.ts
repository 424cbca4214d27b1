/**
 * Kubernetes nodes for the pods' requests, pure: how many nodes of each pool's instance type the
 * plan's pods need at the busy hour (every autoscaled workload at its minimum) and at the spike
 * (at its maximum). First-fit decreasing by CPU into nodes of the pool's allocatable (the machine
 * less NODE_RESERVED), at most one LiveKit pod per node (host ports, required anti-affinity), as
 * the scheduler would place them with room to spare. The cost engine prices these nodes; a test
 * holds the same count against the mocked resource graph.
 */
import { allocatable, type DeploymentLayout, type MachineGroup, type PodLayout, type PodRole, type Resources } from '../plan/layout.js';
import { INSTANCE_SHAPES } from '../plan/instances.js';

export interface PodDemand {
  role: PodRole;
  /** Sum of the pod's containers' requests. */
  requests: Resources;
  /** The scheduler puts at most one of these on a node (LiveKit). */
  onePerNode: boolean;
}

export interface NodePool {
  name: MachineGroup['name'];
  instanceType: string;
  /** Roles whose pods run in the pool. */
  roles: PodRole[];
  busyNodes: number;
  spikeNodes: number;
  /** Pods placed at the busy hour and at the spike, per role. */
  busyPods: Partial<Record<PodRole, number>>;
  spikePods: Partial<Record<PodRole, number>>;
}

/** The summed requests of a pod's containers. */
export function podRequests(pod: PodLayout): Resources {
  return pod.containers.reduce((a, c) => ({ cpu: a.cpu + c.requests.cpu, memoryGiB: a.memoryGiB + c.requests.memoryGiB }), { cpu: 0, memoryGiB: 0 });
}

/** Nodes of `node` capacity for these pods, first-fit decreasing; throws when a pod fits no node. */
export function nodesFor(pods: readonly PodDemand[], node: Resources): number {
  const EPSILON = 1e-9;
  const sorted = [...pods].sort((a, b) => b.requests.cpu - a.requests.cpu || b.requests.memoryGiB - a.requests.memoryGiB);
  const nodes: Array<{ cpu: number; memoryGiB: number; onePerNode: boolean }> = [];
  for (const pod of sorted) {
    if (pod.requests.cpu > node.cpu + EPSILON || pod.requests.memoryGiB > node.memoryGiB + EPSILON) {
      throw new Error(`a ${pod.role} pod (${pod.requests.cpu} vCPU, ${pod.requests.memoryGiB} GiB) fits no node of ${node.cpu} vCPU / ${node.memoryGiB} GiB allocatable`);
    }
    const fit = nodes.find(
      (n) => n.cpu + EPSILON >= pod.requests.cpu && n.memoryGiB + EPSILON >= pod.requests.memoryGiB && !(pod.onePerNode && n.onePerNode),
    );
    if (fit) {
      fit.cpu -= pod.requests.cpu;
      fit.memoryGiB -= pod.requests.memoryGiB;
      fit.onePerNode ||= pod.onePerNode;
    } else {
      nodes.push({ cpu: node.cpu - pod.requests.cpu, memoryGiB: node.memoryGiB - pod.requests.memoryGiB, onePerNode: pod.onePerNode });
    }
  }
  return nodes.length;
}

/** The node pools of a Kubernetes layout with their node counts at the busy hour and the spike. */
export function kubernetesNodePools(layout: DeploymentLayout): NodePool[] {
  if (!layout.pods) throw new Error('kubernetesNodePools needs a Kubernetes layout (layout.pods)');
  const pods = Object.entries(layout.pods).filter((e): e is [PodRole, PodLayout] => e[1] !== null);
  return layout.machines.map((machine) => {
    const shape = INSTANCE_SHAPES[machine.instanceType];
    if (!shape) throw new Error(`no shape for node type ${machine.instanceType}`);
    const { vcpu, memoryGiB } = allocatable(shape);
    const inPool = pods.filter(([, pod]) => pod.pool === machine.name);
    const demand = (at: 'min' | 'max') =>
      inPool.flatMap(([role, pod]) => Array.from({ length: pod.replicas[at] }, () => ({ role, requests: podRequests(pod), onePerNode: role === 'livekit' })));
    const count = (at: 'min' | 'max') => Object.fromEntries(inPool.map(([role, pod]) => [role, pod.replicas[at]]));
    return {
      name: machine.name,
      instanceType: machine.instanceType,
      roles: inPool.map(([role]) => role),
      busyNodes: nodesFor(demand('min'), { cpu: vcpu, memoryGiB }),
      spikeNodes: nodesFor(demand('max'), { cpu: vcpu, memoryGiB }),
      busyPods: count('min'),
      spikePods: count('max'),
    };
  });
}
