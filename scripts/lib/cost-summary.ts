/**
 * The comparison model behind `npm run cost`: one summary per stack, derived from its StackReport
 * (the plan --json contract) and nothing else. Pure. Every output format is built from these.
 *
 * Savings: against every managed platform in the report (so finance sees the whole range, from
 * LiveKit Cloud with the same providers to the reference article's all-in figures), plus one
 * summary figure against the cheapest platform at the stack's minutes, the honest "best case for
 * managed". savingsMonthlyUsd = platform monthly cost - self-hosted monthly cost at the same minutes:
 * positive means self-hosting saves that much, negative means the platform is cheaper.
 */
import type { ModalityComparison } from '../../components/cost/inference-cost.js';
import type { StackReport } from '../../components/report.js';

export interface ManagedComparison {
  platform: string;
  /** The platform's monthly cost at this stack's minutes. */
  monthlyUsd: number;
  perMinuteUsd: number;
  /** Platform monthly cost - self-hosted monthly cost; negative when the platform is cheaper. */
  savingsMonthlyUsd: number;
  /** savingsMonthlyUsd as a share of the platform's cost (0.45 = self-hosting costs 45% less). */
  savingsShare: number;
  /** Monthly minutes above which self-hosting is cheaper; 0 at any volume; null never (report contract). */
  breakEvenMinutes: number | null;
}

export interface StackSummary {
  stack: string;
  tier: StackReport['tier'];
  target: StackReport['target'];
  monthlyMinutes: number;
  busyHourSessions: number;
  spikeSessions: number;
  agentInstanceType: string;
  workers: { min: number; max: number };
  livekitInstanceType: string;
  livekitNodes: { min: number; max: number };
  redis: StackReport['redis'];
  infraMonthlyUsd: number;
  providersMonthlyUsd: number;
  monthlyUsd: number;
  perMinuteUsd: number;
  managed: ManagedComparison[];
  /** The cheapest platform at this stack's minutes (null only if the report lists none). */
  cheapestManaged: ManagedComparison | null;
  /** Per local model: GPUs, their cost against the hosted provider's, the break-even (empty: every model hosted). */
  inference: ModalityComparison[];
  warnings: string[];
}

export function summarizeStack(report: StackReport): StackSummary {
  const { cost } = report;
  const managed = cost.managed.map((m) => {
    const savingsMonthlyUsd = m.monthlyUsd - cost.monthlyUsd;
    return {
      platform: m.platform,
      monthlyUsd: m.monthlyUsd,
      perMinuteUsd: m.perMinuteUsd,
      savingsMonthlyUsd,
      savingsShare: m.monthlyUsd > 0 ? savingsMonthlyUsd / m.monthlyUsd : 0,
      breakEvenMinutes: m.breakEvenMinutes,
    };
  });
  const cheapestManaged = managed.reduce<ManagedComparison | null>((best, m) => (best === null || m.monthlyUsd < best.monthlyUsd ? m : best), null);
  return {
    stack: report.stack ?? '(unnamed)',
    tier: report.tier,
    target: report.target,
    monthlyMinutes: report.assumptions.monthlyMinutes,
    busyHourSessions: report.capacity.busyHour.sessions,
    spikeSessions: report.capacity.spike.sessions,
    agentInstanceType: report.agents.instanceType,
    workers: report.agents.workers,
    livekitInstanceType: report.livekit.instanceType,
    livekitNodes: report.livekit.nodes,
    redis: report.redis,
    infraMonthlyUsd: cost.infraMonthlyUsd,
    providersMonthlyUsd: cost.providersMonthlyUsd,
    monthlyUsd: cost.monthlyUsd,
    perMinuteUsd: cost.perMinuteUsd,
    managed,
    cheapestManaged,
    inference: report.cost.inference ?? [],
    warnings: report.warnings,
  };
}

/** Platform names across all stacks, in first-seen order (every report lists the same ones today). */
export function platformNames(summaries: readonly StackSummary[]): string[] {
  return [...new Set(summaries.flatMap((s) => s.managed.map((m) => m.platform)))];
}

export function managedFor(summary: StackSummary, platform: string): ManagedComparison | undefined {
  return summary.managed.find((m) => m.platform === platform);
}

/** "managed" (ElastiCache) names its node type and replicas; "local" runs on the LiveKit box (or in the cluster); "external" is given to the stack. */
export function redisLabel(redis: StackReport['redis']): string {
  if (redis.mode === 'local' || redis.mode === 'external') return redis.mode;
  return `managed ${redis.nodeType ?? '(node type unset)'} +${redis.replicas} replica${redis.replicas === 1 ? '' : 's'}`;
}

/** Break-even in words: a number of minutes, "any volume" (0) or "never" (null). */
export function breakEvenLabel(minutes: number | null): string {
  if (minutes === null) return 'never';
  if (minutes === 0) return 'any volume';
  return `${formatInteger(minutes)} min`;
}

export function formatInteger(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** Whole dollars with separators: finance reads monthly comparisons to the dollar ($1,334). */
export function formatUsd(usd: number): string {
  const sign = usd < 0 ? '-' : '';
  return `${sign}$${Math.abs(Math.round(usd)).toLocaleString('en-US')}`;
}

/** $ per minute to a hundredth of a cent ($0.0486). */
export function formatUsdPerMinute(usd: number): string {
  return `$${usd.toFixed(4)}`;
}

export function formatShare(share: number): string {
  return `${Math.round(share * 100)}%`;
}

/** "$605 (45%)": what self-hosting saves against a platform, negative when the platform is cheaper. */
export function savingsLabel(m: ManagedComparison): string {
  return `${formatUsd(m.savingsMonthlyUsd)} (${formatShare(m.savingsShare)})`;
}
