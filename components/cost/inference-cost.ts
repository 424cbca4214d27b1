/**
 * What the local models cost, pure: their GPU instances priced from the catalog (never $0: a local
 * model's tokens are free, its GPUs are not), and per modality the break-even against the hosted
 * provider it replaces, at the stack's traffic.
 *
 * Lines per local model (AWS): the GPU group at its expected average size (min + (max - min) x
 * expectedScaleOutShare, as every autoscaled group), its root volumes and public addresses, its
 * internal load balancer (hours and capacity units), its two CloudWatch metrics, and the traffic
 * the load balancer carries across zones. Kubernetes: the GPU nodes (one per server pod) and their
 * root volumes; the Service, the metrics and the addresses cost nothing extra there.
 */
import {
  type LlmModel,
  type PriceCatalog,
  price,
  type ProviderChoice,
  type ProviderUsage,
  priceUsage,
  type SttProvider,
  sum,
  type TtsProvider,
  type UsagePriceLine,
  withPriceOverrides,
} from '@voice-agent-infra/common';
import { builtReplicas, type InferenceServerPlan, inferenceServers, gpusForSessions, type Modality } from '../inference/plan.js';
import { sessionsForServiceLevel } from '../plan/erlang.js';
import type { DeploymentPlan } from '../plan/plan.js';
import type { CostLine } from './price-deployment.js';

const HOURS_PER_MONTH = 730;

/** CloudWatch metrics each inference group publishes: requests (running + waiting) and GPU utilisation. */
export const INFERENCE_METRICS_PER_GROUP = 2;
/** Share of a group's load-balanced traffic that crosses zones: targets spread over two zones, cross-zone balancing on. */
export const INFERENCE_CROSS_ZONE_SHARE = 0.5;

/** Readable names of the modalities. */
export const MODALITY_LABELS: Readonly<Record<Modality, string>> = { llm: 'LLM', stt: 'STT', tts: 'TTS' };

/** The expected average of a group over the month. */
function average(range: { min: number; max: number }, share: number): number {
  return range.min + (range.max - range.min) * share;
}

function line(item: string, priceKey: string, quantity: number, catalog: PriceCatalog, basis: string): CostLine {
  const unitUsd = price(catalog, priceKey);
  return { item, category: 'infra', quantity, unitUsd, monthlyUsd: quantity * unitUsd, basis, priceKey };
}

/** Load balancer capacity units of a group at the spike: the larger of new connections / 800 per s and GB per hour (TCP NLCU). */
export function inferenceNlcu(server: InferenceServerPlan, spikeSessions: number): number {
  const newConnectionsPerSecond = spikeSessions * server.sizing.requestsPerSessionSecond;
  const gbPerHour = (spikeSessions * server.sizing.bytesPerSessionSecond * 3600) / 1e9;
  return Math.max(newConnectionsPerSecond / 800, gbPerHour);
}

/** Monthly GB a group's load balancer carries (every call-second of the month). */
export function inferenceTrafficGb(server: InferenceServerPlan, monthlyMinutes: number): number {
  return (server.sizing.bytesPerSessionSecond * monthlyMinutes * 60) / 1e9;
}

/** The cost lines of one local model's servers. */
export function inferenceServerLines(plan: DeploymentPlan, server: InferenceServerPlan, catalog: PriceCatalog, gpus = server.replicas, monthlyMinutes = plan.assumptions.monthlyMinutes, spikeSessions = plan.capacity.spike.sessions): CostLine[] {
  const share = plan.costInputs.expectedScaleOutShare;
  const label = `local ${MODALITY_LABELS[server.modality]}`;
  const instances = average(gpus, share);
  const groupBasis =
    gpus.min === gpus.max
      ? `${gpus.min} GPU instance${gpus.min === 1 ? '' : 's'} x 730 h`
      : `expected average ${round2(instances)} of ${gpus.min}-${gpus.max} GPU instances (at the spike size ${Math.round(share * 100)}% of the month) x 730 h`;
  const lines: CostLine[] = [
    line(`EC2 ${server.instanceType} GPU (${label}: ${server.model})`, `aws.ec2.${server.instanceType}`, instances * HOURS_PER_MONTH, catalog, groupBasis),
    line(`EBS gp3 root volumes (${label})`, 'aws.ebs.gp3.gb-month', instances * server.rootVolumeGiB, catalog, `${round2(instances)} instances x ${server.rootVolumeGiB} GB (server image and model weights)`),
  ];
  if (plan.target === 'kubernetes') return lines;
  const nlcu = inferenceNlcu(server, spikeSessions);
  const crossZoneGb = inferenceTrafficGb(server, monthlyMinutes) * INFERENCE_CROSS_ZONE_SHARE;
  lines.push(
    line(`Public IPv4 addresses (${label})`, 'aws.ipv4.hour', instances * HOURS_PER_MONTH, catalog, `${round2(instances)} instances (image and weight downloads; no inbound from the internet) x 730 h`),
    line(`Internal load balancer (${label})`, 'aws.nlb.hour', HOURS_PER_MONTH, catalog, '1 internal NLB, reachable from the agent workers only, x 730 h'),
    line(`Internal load balancer capacity units (${label})`, 'aws.nlb.nlcu-hour', nlcu * HOURS_PER_MONTH, catalog, `${nlcu.toFixed(4)} NLCU (new connections / 800 per s or GB per hour at the spike) x 730 h`),
    line(`CloudWatch custom metrics (${label})`, 'aws.cloudwatch.metric-month', INFERENCE_METRICS_PER_GROUP, catalog, `${INFERENCE_METRICS_PER_GROUP} metrics (requests per GPU, GPU utilisation) x 1 Stack and Modality dimension`),
    line(`Inference traffic across zones (${label})`, 'aws.data-transfer.cross-az.gb', crossZoneGb * 2, catalog, `${round2(crossZoneGb)} GB (${Math.round(INFERENCE_CROSS_ZONE_SHARE * 100)}% of ${round2(inferenceTrafficGb(server, monthlyMinutes))} GB through the load balancer), billed out and in`),
  );
  return lines;
}

/** Every local model's lines (none when every model is hosted). */
export function inferenceLines(plan: DeploymentPlan, catalog: PriceCatalog): CostLine[] {
  return inferenceServers(plan.inference).flatMap((server) => inferenceServerLines(plan, server, catalog));
}

/** One modality run locally, against the hosted provider it replaces, at the stack's traffic. */
export interface ModalityComparison {
  modality: Modality;
  /** The local model and its GPUs. */
  model: string;
  instanceType: string;
  gpus: { min: number; max: number };
  /** Its infrastructure a month (the lines above). */
  localMonthlyUsd: number;
  /** The hosted provider (the fallback), and what it would bill for the same usage a month. */
  hosted: string;
  hostedMonthlyUsd: number;
  /** Monthly minutes from which local stays cheaper; 0 at any volume; null never (below the search limit). */
  breakEvenMinutes: number | null;
  /** Local costs more than hosted at the stack's minutes. */
  localCostsMore: boolean;
}

/** What the hosted provider would bill per call for the usage the local model serves. */
export function hostedUsdPerCall(plan: DeploymentPlan, server: InferenceServerPlan, catalog: PriceCatalog): number {
  const usage = plan.usagePerCall;
  let lines: UsagePriceLine[];
  if (server.modality === 'llm') {
    const local = usage.llm.filter((m) => m.model === 'local').map((m) => ({ ...m, model: server.hostedFallback as (typeof m)['model'] }));
    lines = priceUsage({ sttMinutes: 0, llm: local, ttsCharacters: 0, telephonyMinutes: 0 }, plan.providers, catalog).filter((l) => l.item.startsWith('LLM'));
  } else if (server.modality === 'stt') {
    lines = priceUsage({ sttMinutes: usage.sttMinutes, llm: [], ttsCharacters: 0, telephonyMinutes: 0 }, { ...plan.providers, stt: server.hostedFallback as typeof plan.providers.stt }, catalog).filter((l) => l.item.startsWith('STT'));
  } else {
    lines = priceUsage({ sttMinutes: 0, llm: [], ttsCharacters: usage.ttsCharacters, telephonyMinutes: 0 }, { ...plan.providers, tts: server.hostedFallback as typeof plan.providers.tts }, catalog).filter((l) => l.item.startsWith('TTS'));
  }
  return sum(lines.map((l) => l.usd));
}

/**
 * The plan's usage and providers with every local model replaced by its hosted fallback: what a
 * managed platform (which runs hosted models) would be billed for the same calls.
 */
export function hostedEquivalent(plan: DeploymentPlan): { usage: ProviderUsage; providers: ProviderChoice } {
  const { llm, stt, tts } = plan.inference;
  const usage: ProviderUsage = {
    ...plan.usagePerCall,
    llm: plan.usagePerCall.llm.map((m) => (m.model === 'local' && llm ? { ...m, model: llm.hostedFallback as LlmModel } : m)),
  };
  const providers: ProviderChoice = {
    stt: plan.providers.stt === 'local' && stt ? (stt.hostedFallback as SttProvider) : plan.providers.stt,
    tts: plan.providers.tts === 'local' && tts ? (tts.hostedFallback as TtsProvider) : plan.providers.tts,
    telephony: plan.providers.telephony,
  };
  return { usage, providers };
}

/** Sessions at the busy hour and the spike at another monthly volume, with the plan's traffic shape (Erlang C). */
export function sessionsAt(plan: DeploymentPlan, minutes: number): { busyHour: number; spike: number } {
  const a = plan.assumptions;
  const at = (erlangs: number) => (erlangs <= 0 ? 0 : sessionsForServiceLevel(erlangs, a.maxWaitSeconds, a.avgCallMinutes * 60, a.serviceLevel).sessions);
  const scale = minutes / a.monthlyMinutes;
  return { busyHour: at(plan.capacity.busyHour.erlangs * scale), spike: at(plan.capacity.spike.erlangs * scale) };
}

/** A local model's infrastructure a month at another volume (its GPUs re-sized there). */
export function localMonthlyUsdAt(plan: DeploymentPlan, server: InferenceServerPlan, catalog: PriceCatalog, minutes: number): number {
  const sessions = sessionsAt(plan, minutes);
  const min = gpusForSessions(server.sizing, sessions.busyHour);
  const gpus = builtReplicas({ min, max: Math.max(min, gpusForSessions(server.sizing, sessions.spike)) }, server.autoscaled);
  return sum(inferenceServerLines(plan, server, catalog, gpus, minutes, sessions.spike).map((l) => l.monthlyUsd));
}

/** Volumes searched for a break-even: beyond 100 million minutes a month it is "never". */
export const INFERENCE_BREAK_EVEN_LIMIT_MINUTES = 1e8;

/**
 * The smallest monthly volume from which `savingAt(m)` (hosted - local) stays >= 0 up to the
 * search limit: a log grid finds the last volume where local still costs more, bisection the
 * crossing after it. GPU counts step with volume, so the saving is a saw-tooth: "stays" matters.
 * null when local still costs more at the limit.
 */
export function stableBreakEvenMinutes(savingAt: (minutes: number) => number, limit = INFERENCE_BREAK_EVEN_LIMIT_MINUTES): number | null {
  const grid: number[] = [];
  for (let m = 100; m < limit; m *= 1.15) grid.push(Math.round(m));
  grid.push(limit);
  let lastLoss = -1;
  for (let i = 0; i < grid.length; i++) if (savingAt(grid[i]!) < 0) lastLoss = i;
  if (lastLoss === -1) return savingAt(0) >= 0 ? 0 : bisect(savingAt, 0, grid[0]!);
  if (lastLoss === grid.length - 1) return null;
  return bisect(savingAt, grid[lastLoss]!, grid[lastLoss + 1]!);
}

/** The smallest whole m in (below, atOrAbove] with savingAt(m) >= 0, savingAt(below) < 0. */
function bisect(savingAt: (minutes: number) => number, below: number, atOrAbove: number): number {
  while (atOrAbove - below > 1) {
    const middle = Math.floor((below + atOrAbove) / 2);
    if (savingAt(middle) >= 0) atOrAbove = middle;
    else below = middle;
  }
  return atOrAbove;
}

/** Per local modality: its cost against the hosted provider's, and the break-even. */
export function compareInference(plan: DeploymentPlan, baseCatalog: PriceCatalog): ModalityComparison[] {
  const catalog = withPriceOverrides(baseCatalog, plan.costInputs.pricing);
  const minutes = plan.assumptions.monthlyMinutes;
  const calls = minutes / plan.assumptions.avgCallMinutes;
  return inferenceServers(plan.inference).map((server) => {
    const hostedPerMinute = hostedUsdPerCall(plan, server, catalog) / plan.assumptions.avgCallMinutes;
    const localMonthlyUsd = sum(inferenceServerLines(plan, server, catalog).map((l) => l.monthlyUsd));
    const hostedMonthlyUsd = hostedUsdPerCall(plan, server, catalog) * calls;
    return {
      modality: server.modality,
      model: server.model,
      instanceType: server.instanceType,
      gpus: { ...server.replicas },
      localMonthlyUsd,
      hosted: server.hostedFallback,
      hostedMonthlyUsd,
      breakEvenMinutes: stableBreakEvenMinutes((m) => hostedPerMinute * m - localMonthlyUsdAt(plan, server, catalog, m)),
      localCostsMore: localMonthlyUsd > hostedMonthlyUsd,
    };
  });
}

/** One line per local modality that costs more than hosted at the stack's volume. */
export function inferenceWarnings(comparisons: readonly ModalityComparison[], monthlyMinutes: number): string[] {
  return comparisons
    .filter((c) => c.localCostsMore)
    .map(
      (c) =>
        `the local ${MODALITY_LABELS[c.modality]} (${c.model} on ${c.gpus.min === c.gpus.max ? c.gpus.min : `${c.gpus.min}-${c.gpus.max}`} x ${c.instanceType}) costs $${Math.round(c.localMonthlyUsd).toLocaleString('en-US')}/month at ${Math.round(monthlyMinutes).toLocaleString('en-US')} minutes; ` +
        `hosted ${c.hosted} would cost $${Math.round(c.hostedMonthlyUsd).toLocaleString('en-US')}; ` +
        (c.breakEvenMinutes === null ? 'local does not break even below 100 million minutes a month' : `local breaks even from ${c.breakEvenMinutes.toLocaleString('en-US')} minutes a month`),
    );
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
