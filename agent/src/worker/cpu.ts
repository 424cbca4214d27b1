/**
 * CPUs this process may use and how busy they are, honouring a container's cgroup CPU quota.
 * Node's os.availableParallelism() counts the host's CPUs and ignores the quota: a container
 * limited to 2 CPUs on a 16-CPU host would plan 100 sessions instead of 12.
 *
 * cgroup v2: /sys/fs/cgroup/cpu.max "<quota|max> <period>", usage in cpu.stat usage_usec.
 * cgroup v1: /sys/fs/cgroup/cpu/cpu.cfs_quota_us (-1: none) / cpu.cfs_period_us, usage in
 * /sys/fs/cgroup/cpuacct/cpuacct.usage (ns). The same files agents-js reads
 * (node_modules/@livekit/agents/src/cpu.ts), whose monitor the package does not export.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';

/** cpu.max content -> CPUs the quota allows, or undefined for no quota. Pure. */
export function parseCpuMax(text: string): number | undefined {
  const [quota, periodText] = text.trim().split(/\s+/);
  if (!quota || quota === 'max') return undefined;
  const period = periodText === undefined ? 100_000 : Number(periodText);
  const q = Number(quota);
  if (!Number.isFinite(q) || q <= 0 || !Number.isFinite(period) || period <= 0) return undefined;
  return q / period;
}

/** cgroup v1 quota and period (microseconds) -> CPUs, or undefined for no quota (-1). Pure. */
export function cfsQuotaCpus(quotaUs: number | undefined, periodUs: number | undefined): number | undefined {
  if (quotaUs === undefined || periodUs === undefined || quotaUs <= 0 || periodUs <= 0) return undefined;
  return quotaUs / periodUs;
}

/** The CPUs to plan on: the host's, capped by the quota. Pure. */
export function effectiveCpus(hostCpus: number, quotaCpus: number | undefined): number {
  return quotaCpus === undefined ? hostCpus : Math.min(hostCpus, quotaCpus);
}

export interface CgroupFiles {
  read(path: string): string | undefined;
}

const realFiles: CgroupFiles = {
  read(path) {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return undefined;
    }
  },
};

const firstNumber = (text: string | undefined) => {
  if (text === undefined) return undefined;
  const n = Number(text.trim().split(/\s+/)[0]);
  return Number.isFinite(n) ? n : undefined;
};

/** The cgroup CPU quota in CPUs (v2, else v1), or undefined when there is none. */
export function cgroupQuotaCpus(files: CgroupFiles = realFiles): number | undefined {
  const v2 = files.read('/sys/fs/cgroup/cpu.max');
  if (v2 !== undefined) return parseCpuMax(v2);
  return cfsQuotaCpus(firstNumber(files.read('/sys/fs/cgroup/cpu/cpu.cfs_quota_us')), firstNumber(files.read('/sys/fs/cgroup/cpu/cpu.cfs_period_us')));
}

/** CPUs this process may use: availableParallelism() capped by the cgroup quota. */
export function usableCpus(files: CgroupFiles = realFiles): number {
  return effectiveCpus(availableParallelism(), cgroupQuotaCpus(files));
}

/** CPU time used so far, in microseconds, by the cgroup (or the whole host without one). */
function cpuUsageUs(files: CgroupFiles): { usageUs: number; scope: 'cgroup' | 'host' } {
  const stat = files.read('/sys/fs/cgroup/cpu.stat');
  const line = stat?.split('\n').find((l) => l.startsWith('usage_usec'));
  if (line) return { usageUs: Number(line.split(/\s+/)[1]), scope: 'cgroup' };
  const v1 = firstNumber(files.read('/sys/fs/cgroup/cpuacct/cpuacct.usage'));
  if (v1 !== undefined) return { usageUs: v1 / 1000, scope: 'cgroup' };
  let busyMs = 0;
  for (const c of cpus()) busyMs += c.times.user + c.times.nice + c.times.sys + c.times.irq;
  return { usageUs: busyMs * 1000, scope: 'host' };
}

/** CPU load (0..1) between successive calls: used CPU time over wall time x usable CPUs. */
export class CpuLoadMonitor {
  private last: { usageUs: number; atMs: number };
  private readonly cpus: number;

  constructor(private readonly files: CgroupFiles = realFiles) {
    const usage = cpuUsageUs(files);
    this.cpus = usage.scope === 'host' ? cpus().length || 1 : usableCpus(files);
    this.last = { usageUs: usage.usageUs, atMs: performance.now() };
  }

  sample(): number {
    const now = performance.now();
    const { usageUs } = cpuUsageUs(this.files);
    const elapsedUs = (now - this.last.atMs) * 1000;
    const used = usageUs - this.last.usageUs;
    this.last = { usageUs, atMs: now };
    if (elapsedUs <= 0) return 0;
    return Math.min(1, Math.max(0, used / (elapsedUs * this.cpus)));
  }
}
