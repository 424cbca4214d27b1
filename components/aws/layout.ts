/**
 * What the AWS components read from the plan's layout (components/plan/layout.ts), pure. The
 * components never branch on the tier's name: where TLS ends, where Redis lives and who reaches it,
 * which roles share the LiveKit machines, what autoscales and on which signal, all come from here.
 */
import type { NodeRole } from '../livekit/layout.js';
import type { DeploymentLayout, MachineGroup } from '../plan/layout.js';
import type { SecurityLayout } from './security-groups.js';

export interface AwsLayout {
  /** Who terminates TLS for the public names: Caddy on the node, or the network load balancers. */
  tlsTerminator: SecurityLayout['tlsTerminator'];
  /** Agent workers run in their own autoscaling group (not on the LiveKit machine). */
  agentFleet: boolean;
  /** Where Redis is and who reaches it, as the security groups need it. */
  redis: SecurityLayout['redis'];
  /** Redis requires AUTH (a Secrets Manager entry holds the token). */
  redisAuth: boolean;
  /** LiveKit runs on one instance with an Elastic IP (false: an autoscaling group). */
  singleLivekitNode: boolean;
  /** The LiveKit machines' node role: which containers their compose file runs. */
  livekitNodeRole: Exclude<NodeRole, 'agent'>;
  /** The LiveKit machine's label on the dashboard. */
  livekitCpuLabel: string;
  /** What the agent group's target tracking holds (waiting calls per worker, CPU percent), or null without an agent group. */
  agentScaling: { backlogPerInstance: number; cpuPercent: number } | null;
  /** Average CPU percent the LiveKit group holds, or null on a single node. */
  livekitCpuPercent: number | null;
}

/** Reads an AWS plan's layout; throws on a layout AWS cannot build (a Kubernetes one). */
export function awsLayout(layout: DeploymentLayout): AwsLayout {
  if (layout.pods !== null) throw new Error('a Kubernetes layout reached the AWS components');
  const livekit = livekitMachine(layout);
  const signalling = layout.tls.signalling;
  if (signalling !== 'node-proxy' && signalling !== 'load-balancer') throw new Error(`AWS terminates TLS at the node or the load balancer, not "${signalling}"`);
  const agentGroup = layout.machines.some((m) => m.name === 'agents');
  const signal = (role: 'agent' | 'livekit', metric: 'queue-waiting' | 'cpu'): number | null =>
    layout.autoscaling.find((a) => a.role === role)?.signals.find((s) => s.metric === metric)?.target ?? null;
  const backlog = signal('agent', 'queue-waiting');
  const agentCpu = signal('agent', 'cpu');
  if (agentGroup && (backlog === null || agentCpu === null)) throw new Error('the agent group scales on queue backlog and CPU: the layout lacks one of them');
  const singleLivekitNode = !layout.autoscaling.some((a) => a.role === 'livekit');
  const livekitCpu = signal('livekit', 'cpu');
  if (!singleLivekitNode && livekitCpu === null) throw new Error('the LiveKit group scales on CPU: the layout has no such signal');
  return {
    tlsTerminator: signalling === 'node-proxy' ? 'caddy' : 'nlb',
    agentFleet: agentGroup,
    redis: redisPlacement(layout),
    redisAuth: layout.redis.auth,
    singleLivekitNode,
    livekitNodeRole: nodeRole(livekit),
    livekitCpuLabel: livekit.name === 'box' ? 'the box' : singleLivekitNode ? 'LiveKit node' : 'LiveKit nodes',
    agentScaling: agentGroup ? { backlogPerInstance: backlog!, cpuPercent: agentCpu! } : null,
    livekitCpuPercent: singleLivekitNode ? null : livekitCpu,
  };
}

function livekitMachine(layout: DeploymentLayout): MachineGroup {
  const machine = layout.machines.find((m) => m.roles.includes('livekit'));
  if (!machine) throw new Error('the layout has no machine running LiveKit');
  return machine;
}

/** The compose file a LiveKit machine runs follows from the roles it shares the machine with. */
function nodeRole(machine: MachineGroup): Exclude<NodeRole, 'agent'> {
  if (machine.roles.includes('agent')) return 'small';
  if (machine.roles.includes('redis')) return 'livekit-mid';
  return 'livekit-large';
}

function redisPlacement(layout: DeploymentLayout): SecurityLayout['redis'] {
  const { placement, reachedFrom } = layout.redis;
  if (placement === 'managed') return 'managed';
  if (placement === 'node') return reachedFrom === 'node' ? 'node-loopback' : 'node-shared';
  throw new Error(`AWS runs Redis on the node or as ElastiCache, not "${placement}"`);
}
