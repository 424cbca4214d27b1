/**
 * Instance shapes the plan can choose from (vCPU, memory, CPU architecture). Prices live in the
 * shared catalog (`aws.ec2.<type>`, `aws.elasticache.<type>`); this table only says what a type is.
 * Source: AWS EC2 instance type pages (c7i, c6i, c6a, c7g, m7i, m7g, t3), 2026-11.
 */

export type CpuArchitecture = 'x86_64' | 'arm64';

export interface InstanceShape {
  vcpu: number;
  memoryGiB: number;
  architecture: CpuArchitecture;
}

export const INSTANCE_SHAPES: Readonly<Record<string, InstanceShape>> = {
  'c7i.large': { vcpu: 2, memoryGiB: 4, architecture: 'x86_64' },
  'c7i.xlarge': { vcpu: 4, memoryGiB: 8, architecture: 'x86_64' },
  'c7i.2xlarge': { vcpu: 8, memoryGiB: 16, architecture: 'x86_64' },
  'c7i.4xlarge': { vcpu: 16, memoryGiB: 32, architecture: 'x86_64' },
  'c6i.xlarge': { vcpu: 4, memoryGiB: 8, architecture: 'x86_64' },
  'c6i.2xlarge': { vcpu: 8, memoryGiB: 16, architecture: 'x86_64' },
  'c6a.xlarge': { vcpu: 4, memoryGiB: 8, architecture: 'x86_64' },
  'm7i.xlarge': { vcpu: 4, memoryGiB: 16, architecture: 'x86_64' },
  't3.xlarge': { vcpu: 4, memoryGiB: 16, architecture: 'x86_64' },
  // Below the agent floor: known so that choosing it is refused as too small, not as unknown.
  't3.small': { vcpu: 2, memoryGiB: 2, architecture: 'x86_64' },
  'c7g.large': { vcpu: 2, memoryGiB: 4, architecture: 'arm64' },
  'c7g.xlarge': { vcpu: 4, memoryGiB: 8, architecture: 'arm64' },
  'c7g.2xlarge': { vcpu: 8, memoryGiB: 16, architecture: 'arm64' },
  'c7g.4xlarge': { vcpu: 16, memoryGiB: 32, architecture: 'arm64' },
  'm7g.xlarge': { vcpu: 4, memoryGiB: 16, architecture: 'arm64' },
};

/** Default instance types per CPU family: 4 vCPU / 8 GB agents (LiveKit's guidance), 8 vCPU / 16 GB LiveKit. */
export const DEFAULT_INSTANCE_TYPES = {
  x86: { agent: 'c7i.xlarge', livekit: 'c7i.2xlarge' },
  graviton: { agent: 'c7g.xlarge', livekit: 'c7g.2xlarge' },
} as const;

/** ElastiCache node types the plan picks from, smallest first, with the spike concurrency each is meant for. */
export const REDIS_NODE_TYPES: ReadonlyArray<{ nodeType: string; maxSpikeSessions: number }> = [
  // The queue holds a few KB per call; these limits are about connections and ops/s, not memory.
  { nodeType: 'cache.t4g.small', maxSpikeSessions: 100 },
  { nodeType: 'cache.t4g.medium', maxSpikeSessions: 1000 },
  { nodeType: 'cache.m7g.large', maxSpikeSessions: Number.POSITIVE_INFINITY },
];
