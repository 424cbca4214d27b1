/**
 * priceDeployment: DeploymentPlan + price catalog -> monthly cost lines, totals, and the managed
 * platforms at the same minutes with the break-even against each. Pure.
 *
 * Conventions (reference/pricing-and-capacity.md): 730 hours a month; autoscaled groups priced at
 * an expected average size = min + (max - min) x expectedScaleOutShare; usage priced per call with
 * the same function the agent uses for its cost per call (@voice-agent-infra/common priceUsage).
 */
import {
  type PriceCatalog,
  METRICS,
  price,
  priceUsage,
  sum,
  withPriceOverrides,
} from '@voice-agent-infra/common';
import { sessionsForServiceLevel } from '../plan/erlang.js';
import { REDIS_VOLUME_GIB } from '../plan/layout.js';
import { hostedEquivalent, inferenceLines } from './inference-cost.js';
import { kubernetesNodePools, type NodePool } from './kubernetes-nodes.js';
import type { DeploymentPlan, Range } from '../plan/plan.js';
import { crossNodeSipShare } from '../sip/plan.js';

export const HOURS_PER_MONTH = 730;
/**
 * Agents reach LiveKit's media at its public address (`rtc.use_external_ip`), and AWS bills
 * same-region traffic to a public IPv4 address at the cross-AZ rate, in and out, whatever the AZ.
 */
export const AGENT_MEDIA_BILLED_SHARE = 1;
/** CloudWatch Logs ingested per call: container logs, the call record and EMF lines (estimate). */
export const LOG_KB_PER_CALL = 40;
/** Public IPv4 addresses of an internet-facing NLB: one per AZ (two AZs). */
export const NLB_PUBLIC_ADDRESSES_EACH = 2;
/** The bundled agent image in ECR, GB. */
export const AGENT_IMAGE_GB = 1.5;
/** Alarms every AWS stack creates (dead letters, success rate, P95 latency, backlog, CPU, oldest wait). */
export const ALARM_COUNT = 6;
/**
 * Secrets Manager entries: the LiveKit API key and secret, the intake token, and on mid and large
 * the Redis AUTH token (mid: the node's Redis, which agent workers reach over the VPC; large:
 * ElastiCache). The small box's Redis listens on loopback only. With phone calls, the SIP
 * credentials (one entry, present even when no credential is set, so the nodes can name it).
 */
export function secretCount(plan: DeploymentPlan): number {
  return (plan.tier === 'small' ? 2 : 3) + (plan.sip.enabled ? 1 : 0);
}

export type CostCategory = 'infra' | 'providers';

export interface CostLine {
  item: string;
  category: CostCategory;
  quantity: number;
  unitUsd: number;
  monthlyUsd: number;
  /** How the quantity was found, in words (units included). */
  basis: string;
  /** The catalog entry the unit price comes from. */
  priceKey: string;
}

export interface ManagedPlatformCost {
  platform: string;
  perMinuteUsd: number;
  monthlyUsd: number;
  /**
   * Monthly minutes from which this stack (its infrastructure held as planned) costs no more than
   * the platform (whose volume-dependent fees are re-priced at each volume); 0 when it is cheaper
   * at any volume; null when never (the platform's per-minute price is at or below this stack's
   * provider cost per minute).
   */
  breakEvenMinutes: number | null;
  basis: string;
}

export interface DeploymentCost {
  monthlyUsd: number;
  perMinuteUsd: number;
  infraMonthlyUsd: number;
  providersMonthlyUsd: number;
  lines: CostLine[];
  managed: ManagedPlatformCost[];
  /** Catalog entries the lines used, with source and date. */
  pricesUsed: Array<{ key: string; value: number; unit: string; source: string; date: string }>;
}

/** Expected average of an autoscaled group over the month. */
export function expectedAverage(range: Range, scaleOutShare: number): number {
  return range.min + (range.max - range.min) * scaleOutShare;
}

export function priceDeployment(plan: DeploymentPlan, baseCatalog: PriceCatalog): DeploymentCost {
  const catalog = withPriceOverrides(baseCatalog, plan.costInputs.pricing);
  // The local models' GPUs are infrastructure: their tokens are free, the machines are not.
  const infra = [...infraLines(plan, catalog), ...inferenceLines(plan, catalog)];
  const providers = providerLines(plan, catalog);
  const lines = [...infra, ...providers];
  const infraMonthlyUsd = sum(infra.map((l) => l.monthlyUsd));
  const providersMonthlyUsd = sum(providers.map((l) => l.monthlyUsd));
  const monthlyUsd = infraMonthlyUsd + providersMonthlyUsd;
  const minutes = plan.assumptions.monthlyMinutes;
  const providersPerMinuteUsd = providersMonthlyUsd / minutes;
  const { managed, priceKeys: managedKeys } = managedPlatforms(plan, catalog, providersPerMinuteUsd, infraMonthlyUsd);
  const usedKeys = [
    ...lines.map((l) => l.priceKey),
    ...managedKeys,
    'aws.data-transfer-out.free-gb',
    ...DATA_OUT_TIERS.map(([key]) => key),
    ...(plan.redis.engine === 'valkey' ? ['aws.elasticache.valkey-discount'] : []),
  ].filter((key) => key in catalog);
  return {
    monthlyUsd,
    perMinuteUsd: monthlyUsd / minutes,
    infraMonthlyUsd,
    providersMonthlyUsd,
    lines,
    managed,
    pricesUsed: [...new Set(usedKeys)].sort().map((key) => {
      const entry = catalog[key]!;
      return { key, value: entry.value, unit: entry.unit, source: entry.source, date: entry.date };
    }),
  };
}

function line(item: string, category: CostCategory, priceKey: string, quantity: number, catalog: PriceCatalog, basis: string): CostLine {
  const unitUsd = price(catalog, priceKey);
  return { item, category, quantity, unitUsd, monthlyUsd: quantity * unitUsd, basis, priceKey };
}

function infraLines(plan: DeploymentPlan, catalog: PriceCatalog): CostLine[] {
  if (plan.target === 'kubernetes') return kubernetesInfraLines(plan, catalog);
  const share = plan.costInputs.expectedScaleOutShare;
  const lines: CostLine[] = [];
  let instances = 0;
  let publicAddresses = 0;

  if (plan.tier === 'small') {
    lines.push(
      line(`EC2 ${plan.livekit.instanceType} (LiveKit, Redis, agent on one box)`, 'infra', `aws.ec2.${plan.livekit.instanceType}`, HOURS_PER_MONTH, catalog, '1 instance x 730 h'),
    );
    instances = 1;
    publicAddresses = 1;
  } else {
    const livekitNodes = plan.tier === 'large' ? expectedAverage(plan.livekit.nodes, share) : 1;
    lines.push(
      line(
        `EC2 ${plan.livekit.instanceType} (LiveKit${plan.tier === 'mid' ? ', Redis' : ''}, intake, dispatcher)`,
        'infra',
        `aws.ec2.${plan.livekit.instanceType}`,
        livekitNodes * HOURS_PER_MONTH,
        catalog,
        groupBasis(plan.livekit.nodes, livekitNodes, share),
      ),
    );
    const workers = expectedAverage(plan.agents.workers, share);
    lines.push(
      line(`EC2 ${plan.agents.instanceType} (agent workers)`, 'infra', `aws.ec2.${plan.agents.instanceType}`, workers * HOURS_PER_MONTH, catalog, groupBasis(plan.agents.workers, workers, share)),
    );
    instances = livekitNodes + workers;
    const nlbs = plan.loadBalancerRoles.length;
    publicAddresses = livekitNodes + workers + nlbs * NLB_PUBLIC_ADDRESSES_EACH;
    lines.push(
      line('Network Load Balancers', 'infra', 'aws.nlb.hour', nlbs * HOURS_PER_MONTH, catalog, `${nlbs} NLBs (${plan.loadBalancerRoles.join(', ')}) x 730 h`),
    );
    const nlcu = nlcuPerHour(plan);
    lines.push(
      line('NLB capacity units', 'infra', 'aws.nlb.nlcu-hour', nlcu * HOURS_PER_MONTH, catalog, `${nlcu.toFixed(4)} NLCU (the larger of active TLS connections / 3,000 and new TLS connections per s / 50 at the spike, signalling) x 730 h`),
    );
  }

  if (plan.redis.mode === 'managed') {
    const nodes = 1 + plan.redis.replicas;
    const hourly = price(catalog, `aws.elasticache.${plan.redis.nodeType}`);
    const factor = plan.redis.engine === 'valkey' ? price(catalog, 'aws.elasticache.valkey-discount') : 1;
    lines.push({
      item: `ElastiCache ${plan.redis.engine} ${plan.redis.nodeType}`,
      category: 'infra',
      quantity: nodes * HOURS_PER_MONTH,
      unitUsd: hourly * factor,
      monthlyUsd: nodes * HOURS_PER_MONTH * hourly * factor,
      basis: `${nodes} nodes (primary + ${plan.redis.replicas} replica) x 730 h${factor !== 1 ? ` x ${factor} (Valkey)` : ''}`,
      priceKey: `aws.elasticache.${plan.redis.nodeType}`,
    });
  }

  lines.push(
    line('EBS gp3 root volumes', 'infra', 'aws.ebs.gp3.gb-month', instances * plan.costInputs.rootVolumeGiB, catalog, `${round2(instances)} instances x ${plan.costInputs.rootVolumeGiB} GB`),
  );
  if (plan.costInputs.dataVolumeGiB > 0) {
    // The single node's state (Redis AOF, certificates) outlives the instance on its own volume.
    lines.push(
      line('EBS gp3 data volume', 'infra', 'aws.ebs.gp3.gb-month', plan.costInputs.dataVolumeGiB, catalog, `1 volume x ${plan.costInputs.dataVolumeGiB} GB (Redis AOF${plan.tier === 'small' ? ', Caddy certificates' : ''})`),
    );
  }
  lines.push(
    line('Public IPv4 addresses', 'infra', 'aws.ipv4.hour', publicAddresses * HOURS_PER_MONTH, catalog, `${round2(publicAddresses)} addresses (instances${plan.loadBalancer ? `, ${NLB_PUBLIC_ADDRESSES_EACH} per NLB` : ''}) x 730 h`),
  );

  lines.push(...dataTransferLines(plan, catalog, plan.tier !== 'small'));

  const metricCount = Object.keys(METRICS).length;
  lines.push(line('CloudWatch custom metrics', 'infra', 'aws.cloudwatch.metric-month', metricCount, catalog, `${metricCount} metrics x 1 Stack dimension`));
  const calls = plan.assumptions.monthlyMinutes / plan.assumptions.avgCallMinutes;
  const logGb = (calls * LOG_KB_PER_CALL) / 1e6;
  lines.push(line('CloudWatch Logs ingestion', 'infra', 'aws.cloudwatch.logs-ingest-gb', logGb, catalog, `${Math.round(calls).toLocaleString('en-US')} calls x ~${LOG_KB_PER_CALL} KB of logs and metric records`));
  lines.push(line('CloudWatch alarms', 'infra', 'aws.cloudwatch.alarm-month', ALARM_COUNT, catalog, `${ALARM_COUNT} standard alarms`));
  lines.push(line('CloudWatch dashboard', 'infra', 'aws.cloudwatch.dashboard-month', 1, catalog, '1 dashboard'));
  const secrets = secretCount(plan);
  lines.push(line('Secrets Manager secrets', 'infra', 'aws.secretsmanager.secret-month', secrets, catalog, `${secrets} secrets`));
  lines.push(line('ECR image storage', 'infra', 'aws.ecr.gb-month', AGENT_IMAGE_GB, catalog, `agent image ~${AGENT_IMAGE_GB} GB`));
  return lines;
}

function groupBasis(range: Range, average: number, share: number): string {
  if (range.min === range.max) return `${range.min} instance${range.min === 1 ? '' : 's'} x 730 h`;
  return `expected average ${round2(average)} of ${range.min}-${range.max} instances (at the spike size ${Math.round(share * 100)}% of the month) x 730 h`;
}

/** Active TLS connections: one agent connection per active call; new ones at the spike arrival rate. */
function nlcuPerHour(plan: DeploymentPlan): number {
  const activeTls = plan.capacity.spike.sessions;
  const newTlsPerSecond = plan.capacity.spike.erlangs / (plan.assumptions.avgCallMinutes * 60);
  return Math.max(activeTls / 3000, newTlsPerSecond / 50);
}

/** GB for a number of call-minutes at a bitrate in kbps, one direction. */
export function audioGb(minutes: number, kbps: number): number {
  return (minutes * 60 * kbps * 1000) / 8 / 1e9;
}

/** Data transfer out is tiered: free allowance, then $/GB steps (sizes in GB). */
const DATA_OUT_TIERS: ReadonlyArray<[key: string, sizeGb: number]> = [
  ['aws.data-transfer-out.gb', 10_240],
  ['aws.data-transfer-out.next-40tb.gb', 40_960],
  ['aws.data-transfer-out.next-100tb.gb', Number.POSITIVE_INFINITY],
];

function dataTransferLines(plan: DeploymentPlan, catalog: PriceCatalog, agentMedia: boolean): CostLine[] {
  const minutes = plan.assumptions.monthlyMinutes;
  // Caller audio leaves AWS towards the telephony provider.
  const outGb = audioGb(minutes, plan.costInputs.telephonyAudioKbps);
  const freeGb = price(catalog, 'aws.data-transfer-out.free-gb');
  const billableGb = Math.max(0, outGb - freeGb);
  let remainingGb = billableGb;
  let usd = 0;
  for (const [key, sizeGb] of DATA_OUT_TIERS) {
    const gb = Math.min(remainingGb, sizeGb);
    usd += gb * price(catalog, key);
    remainingGb -= gb;
  }
  const lines: CostLine[] = [
    {
      item: 'Data transfer out (telephony audio)',
      category: 'infra',
      quantity: billableGb,
      unitUsd: billableGb > 0 ? usd / billableGb : price(catalog, 'aws.data-transfer-out.gb'),
      monthlyUsd: usd,
      basis: `${round2(outGb)} GB (${minutes.toLocaleString('en-US')} min x ${plan.costInputs.telephonyAudioKbps} kbps) less ${freeGb} GB free, tiered`,
      priceKey: 'aws.data-transfer-out.gb',
    },
  ];
  if (agentMedia) {
    const perDirectionGb = audioGb(minutes, plan.costInputs.webrtcAudioKbps);
    const billedGb = 2 * perDirectionGb * AGENT_MEDIA_BILLED_SHARE * 2;
    lines.push(
      line('Agent media to LiveKit public addresses', 'infra', 'aws.data-transfer.cross-az.gb', billedGb, catalog, `2 directions x ${round2(perDirectionGb)} GB (${plan.costInputs.webrtcAudioKbps} kbps), billed out and in`),
    );
  }
  lines.push(...sipLines(plan, catalog));
  return lines;
}

/**
 * What the LiveKit SIP service adds (components/sip/plan.ts). Already priced elsewhere: the RTP to
 * and from the provider ("Data transfer out (telephony audio)": inbound is free), the provider's
 * per-minute price (the telephony line), and the addresses the provider reaches (the LiveKit
 * node's Elastic IP on small and mid, the signalling NLB's addresses on large: no new ones; on
 * Kubernetes the LiveKit nodes' own public addresses, no load balancer, and the SIP container's
 * requests are in the LiveKit pod the node pools are sized for). New: with several LiveKit nodes,
 * the SIP service on one node often carries a call whose room LiveKit placed on another, and that
 * WebRTC leg crosses between the nodes' public addresses, billed out and in.
 */
function sipLines(plan: DeploymentPlan, catalog: PriceCatalog): CostLine[] {
  if (!plan.sip.enabled) return [];
  const nodes = expectedAverage(plan.livekit.nodes, plan.costInputs.expectedScaleOutShare);
  const share = crossNodeSipShare(nodes);
  if (share === 0) return [];
  const perDirectionGb = audioGb(plan.assumptions.monthlyMinutes, plan.costInputs.webrtcAudioKbps);
  const billedGb = 2 * perDirectionGb * share * 2;
  return [
    line(
      'SIP media between LiveKit nodes',
      'infra',
      'aws.data-transfer.cross-az.gb',
      billedGb,
      catalog,
      `2 directions x ${round2(perDirectionGb)} GB (${plan.costInputs.webrtcAudioKbps} kbps) x ${Math.round(share * 100)}% of calls whose room is on another of ~${round2(nodes)} nodes, billed out and in`,
    ),
  ];
}

/** Price key of the control plane line: a config value, not a catalog entry. */
export const CONTROL_PLANE_PRICE_KEY = 'config:kubernetes.controlPlaneMonthlyUsd';

/**
 * Kubernetes: the nodes the pods' requests need (kubernetesNodePools: at the busy hour and the
 * spike, priced at the expected average like an autoscaled group), their root volumes and public
 * addresses, the Redis volume, the two load balancers, the control plane fee from config, and the
 * same traffic lines as on AWS. Machines and load balancers at the catalog's AWS prices: on another
 * cloud, override them under `pricing`. No CloudWatch, Secrets Manager or ECR: Prometheus scrapes
 * the pods, secrets are Kubernetes Secrets, the image is the user's.
 */
function kubernetesInfraLines(plan: DeploymentPlan, catalog: PriceCatalog): CostLine[] {
  const share = plan.costInputs.expectedScaleOutShare;
  const lines: CostLine[] = [];
  let nodes = 0;
  let livekitNodes = 0;
  for (const pool of kubernetesNodePools(plan.layout)) {
    const average = expectedAverage({ min: pool.busyNodes, max: pool.spikeNodes }, share);
    nodes += average;
    if (pool.roles.includes('livekit')) livekitNodes += expectedAverage({ min: pool.busyPods.livekit ?? 0, max: pool.spikePods.livekit ?? 0 }, share);
    lines.push(
      line(`Kubernetes nodes ${pool.instanceType} (${pool.roles.join(', ')})`, 'infra', `aws.ec2.${pool.instanceType}`, average * HOURS_PER_MONTH, catalog, nodePoolBasis(pool, average, share)),
    );
  }
  const controlPlaneUsd = plan.costInputs.kubernetesControlPlaneMonthlyUsd;
  lines.push({
    item: 'Kubernetes control plane',
    category: 'infra',
    quantity: 1,
    unitUsd: controlPlaneUsd,
    monthlyUsd: controlPlaneUsd,
    basis: controlPlaneUsd === 0 ? 'kubernetes.controlPlaneMonthlyUsd = 0 (an existing cluster)' : 'kubernetes.controlPlaneMonthlyUsd (config), per month',
    priceKey: CONTROL_PLANE_PRICE_KEY,
  });
  const redisVolumeGiB = plan.layout.redis.placement === 'in-cluster' ? REDIS_VOLUME_GIB : 0;
  lines.push(
    line('Node root volumes and the Redis volume', 'infra', 'aws.ebs.gp3.gb-month', nodes * plan.costInputs.rootVolumeGiB + redisVolumeGiB, catalog, `${round2(nodes)} nodes x ${plan.costInputs.rootVolumeGiB} GB${redisVolumeGiB > 0 ? ` + ${redisVolumeGiB} GB Redis volume` : ''} (gp3)`),
  );
  const lbs = plan.layout.loadBalancers.length;
  lines.push(line('Load balancers', 'infra', 'aws.nlb.hour', lbs * HOURS_PER_MONTH, catalog, `${lbs} LoadBalancer Services (${plan.layout.loadBalancers.join(', ')}) x 730 h, at the NLB rate`));
  const nlcu = nlcuPerHour(plan);
  lines.push(line('Load balancer capacity units', 'infra', 'aws.nlb.nlcu-hour', nlcu * HOURS_PER_MONTH, catalog, `${nlcu.toFixed(4)} NLCU (active and new TLS connections at the spike, signalling) x 730 h`));
  const addresses = livekitNodes + lbs * NLB_PUBLIC_ADDRESSES_EACH;
  lines.push(
    line('Public IPv4 addresses', 'infra', 'aws.ipv4.hour', addresses * HOURS_PER_MONTH, catalog, `${round2(addresses)} addresses (LiveKit nodes need public IPs for media; ${NLB_PUBLIC_ADDRESSES_EACH} per load balancer) x 730 h`),
  );
  // Agent pods reach LiveKit's media at its node's public address, from another node.
  lines.push(...dataTransferLines(plan, catalog, true));
  return lines;
}

function nodePoolBasis(pool: NodePool, average: number, share: number): string {
  const pods = (counts: NodePool['busyPods']) =>
    Object.entries(counts)
      .map(([role, n]) => `${n} ${role}`)
      .join(', ');
  const needs = `the pods' requests need ${pool.busyNodes} node${pool.busyNodes === 1 ? '' : 's'} at the busy hour (${pods(pool.busyPods)}) and ${pool.spikeNodes} at the spike (${pods(pool.spikePods)})`;
  if (pool.busyNodes === pool.spikeNodes) return `${needs} x 730 h`;
  return `${needs}; expected average ${round2(average)} (at the spike size ${Math.round(share * 100)}% of the month) x 730 h`;
}

function providerLines(plan: DeploymentPlan, catalog: PriceCatalog): CostLine[] {
  const calls = plan.assumptions.monthlyMinutes / plan.assumptions.avgCallMinutes;
  return priceUsage(plan.usagePerCall, plan.providers, catalog).map((u) => ({
    item: u.item,
    category: 'providers' as const,
    quantity: u.quantity * calls,
    unitUsd: u.unitUsd,
    monthlyUsd: u.usd * calls,
    basis: `${significant(u.amount)} ${u.amountUnit} per call x ${Math.round(calls).toLocaleString('en-US')} calls`,
    priceKey: u.priceKey,
  }));
}

/** Provider cost per minute under the plan's usage (what a platform that passes providers at cost adds). */
function perMinute(plan: DeploymentPlan, catalog: PriceCatalog, filter: (item: string) => boolean): number {
  // A platform runs hosted models: the usage a local model serves is priced at its hosted fallback.
  const hosted = hostedEquivalent(plan);
  const lines = priceUsage(hosted.usage, hosted.providers, catalog).filter((l) => filter(l.item));
  return sum(lines.map((l) => l.usd)) / plan.assumptions.avgCallMinutes;
}

/** A managed platform's monthly cost as a function of monthly minutes (fees that grow with volume included). */
interface ManagedPricing {
  platform: string;
  monthlyUsdAt: (minutes: number) => number;
  keys: string[];
  basis: string;
}

function managedPlatforms(
  plan: DeploymentPlan,
  catalog: PriceCatalog,
  selfProvidersPerMinuteUsd: number,
  selfInfraMonthlyUsd: number,
): { managed: ManagedPlatformCost[]; priceKeys: string[] } {
  const minutes = plan.assumptions.monthlyMinutes;
  const allProviders = perMinute(plan, catalog, () => true);
  const withoutStt = perMinute(plan, catalog, (item) => !item.startsWith('STT'));
  const linear = (rateUsd: number) => (m: number) => rateUsd * m;

  // Vapi bills concurrent lines over the included ones; concurrency grows with volume, so the
  // lines are re-planned (Erlang C at the spike) at each volume, not held at this one.
  const includedLines = price(catalog, 'managed.vapi.included-lines');
  const lineUsd = price(catalog, 'managed.vapi.extra-line-month');
  const vapiRate = price(catalog, 'managed.vapi.platform-minute') + allProviders;
  const extraLinesAt = (m: number) => Math.max(0, spikeSessionsAt(plan, m) - includedLines);
  // Bland: whichever plan is cheapest at each volume.
  const blandPlans = [
    { plan: 'free', fixed: 0, rate: price(catalog, 'managed.bland.free-minute') },
    { plan: 'Build', fixed: price(catalog, 'managed.bland.build-month'), rate: price(catalog, 'managed.bland.build-minute') },
    { plan: 'Scale', fixed: price(catalog, 'managed.bland.scale-month'), rate: price(catalog, 'managed.bland.scale-minute') },
  ];
  const blandAt = (m: number) => Math.min(...blandPlans.map((p) => p.fixed + p.rate * m));
  const blandHere = blandPlans.find((p) => p.fixed + p.rate * minutes === blandAt(minutes))!;

  const platforms: ManagedPricing[] = [
    {
      platform: 'Vapi',
      monthlyUsdAt: (m) => vapiRate * m + extraLinesAt(m) * lineUsd,
      keys: ['managed.vapi.platform-minute', 'managed.vapi.included-lines', 'managed.vapi.extra-line-month'],
      basis: `platform fee + the same STT/LLM/TTS/telephony at cost + ${extraLinesAt(minutes)} concurrent lines over the ${includedLines} included`,
    },
    {
      platform: 'Retell',
      monthlyUsdAt: linear(price(catalog, 'managed.retell.voice-infra-minute') + withoutStt),
      keys: ['managed.retell.voice-infra-minute'],
      basis: 'voice infrastructure (STT included) + the same LLM, TTS and telephony',
    },
    {
      platform: 'Bland',
      monthlyUsdAt: blandAt,
      keys: ['managed.bland.free-minute', 'managed.bland.build-minute', 'managed.bland.build-month', 'managed.bland.scale-minute', 'managed.bland.scale-month'],
      basis: `cheapest plan at each volume (${blandHere.plan} at this one), all-in`,
    },
    {
      platform: 'LiveKit Cloud',
      monthlyUsdAt: linear(price(catalog, 'managed.livekit-cloud.agent-minute') + allProviders),
      keys: ['managed.livekit-cloud.agent-minute'],
      basis: 'agent session minutes + the same providers (connection and bandwidth fees not included)',
    },
    {
      platform: 'Managed, all-in (article, low)',
      monthlyUsdAt: linear(price(catalog, 'managed.article.all-in-low-minute')),
      keys: ['managed.article.all-in-low-minute'],
      basis: 'the reference article: $0.23-0.33/min all-in',
    },
    {
      platform: 'Managed, all-in (article, high)',
      monthlyUsdAt: linear(price(catalog, 'managed.article.all-in-high-minute')),
      keys: ['managed.article.all-in-high-minute'],
      basis: 'the reference article: $0.23-0.33/min all-in',
    },
  ];

  const selfAt = (m: number) => selfInfraMonthlyUsd + selfProvidersPerMinuteUsd * m;
  const managed = platforms.map((p) => {
    const monthlyUsd = p.monthlyUsdAt(minutes);
    return {
      platform: p.platform,
      perMinuteUsd: monthlyUsd / minutes,
      monthlyUsd,
      breakEvenMinutes: breakEvenMinutes((m) => p.monthlyUsdAt(m) - selfAt(m)),
      basis: p.basis,
    };
  });
  return { managed, priceKeys: platforms.flatMap((p) => p.keys) };
}

/** Spike concurrency at another monthly volume, with this plan's traffic shape (Erlang C). */
function spikeSessionsAt(plan: DeploymentPlan, minutes: number): number {
  if (minutes <= 0) return 0;
  const a = plan.assumptions;
  const spikeErlangs = (plan.capacity.spike.erlangs * minutes) / a.monthlyMinutes;
  return sessionsForServiceLevel(spikeErlangs, a.maxWaitSeconds, a.avgCallMinutes * 60, a.serviceLevel).sessions;
}

/** Volumes searched for a break-even: beyond a billion minutes a month it is "never". */
export const BREAK_EVEN_SEARCH_LIMIT_MINUTES = 1e9;

/**
 * The smallest whole number of monthly minutes at which self-hosting (this infrastructure) costs
 * no more than the platform, given `savingAt(m)` = platform cost - self-hosted cost at m minutes,
 * non-decreasing in m (platform rates above our provider cost per minute; volume fees only grow).
 * 0 when self-hosting is cheaper at any volume; null when it never is.
 */
export function breakEvenMinutes(savingAt: (minutes: number) => number): number | null {
  if (savingAt(0) >= 0) return 0;
  if (savingAt(BREAK_EVEN_SEARCH_LIMIT_MINUTES) < 0) return null;
  let below = 0;
  let atOrAbove = BREAK_EVEN_SEARCH_LIMIT_MINUTES;
  while (atOrAbove - below > 1) {
    const middle = Math.floor((below + atOrAbove) / 2);
    if (savingAt(middle) >= 0) atOrAbove = middle;
    else below = middle;
  }
  return atOrAbove;
}

/** A quantity for a basis text: 3 significant figures below 100, whole numbers above. */
function significant(n: number): string {
  return Math.abs(n) >= 100 ? Math.round(n).toLocaleString('en-US') : Number(n.toPrecision(3)).toString();
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
