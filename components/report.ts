/**
 * The stack report: config -> plan -> cost, in the JSON contract that `npm run plan -- --json`,
 * `npm run cost -- --format json` and the Pulumi stack outputs share (issue "Foundation", item 6).
 * Pure.
 */
import { DEFAULT_CATALOG, type PriceCatalog } from '@voice-agent-infra/common';
import type { StackConfig } from './config.js';
import { compareInference, inferenceWarnings, type ModalityComparison } from './cost/inference-cost.js';
import { type DeploymentCost, priceDeployment } from './cost/price-deployment.js';
import type { InferenceServerPlan, Modality } from './inference/plan.js';
import { type DeploymentPlan, MANAGED_MAY_BE_CHEAPER_BELOW_MINUTES, planDeployment } from './plan/plan.js';

export interface StackReport {
  stack: string | null;
  tier: DeploymentPlan['tier'];
  target: DeploymentPlan['target'];
  assumptions: DeploymentPlan['assumptions'];
  capacity: {
    busyHour: CapacityFigures;
    spike: CapacityFigures;
  };
  livekit: { instanceType: string; vcpu: number; memoryGiB: number; nodes: { min: number; max: number } };
  agents: {
    instanceType: string;
    vcpu: number;
    memoryGiB: number;
    sessionsPerWorker: number;
    workers: { min: number; max: number };
  };
  redis: { mode: DeploymentPlan['redis']['mode']; nodeType: string | null; replicas: number };
  loadBalancer: boolean;
  /** Where TLS terminates, where Redis lives, machines or pods, autoscaling signals (components/plan/layout.ts). */
  layout: DeploymentPlan['layout'];
  llmRateLimits: DeploymentPlan['llmRateLimits'];
  /** The local models' GPU servers (components/inference/plan.ts): a key per provider set to `local`. */
  inference: Partial<Record<Modality, InferenceReport>>;
  cost: {
    monthlyUsd: number;
    perMinuteUsd: number;
    infraMonthlyUsd: number;
    providersMonthlyUsd: number;
    lines: Array<{ item: string; quantity: number; unitUsd: number; monthlyUsd: number; basis: string }>;
    managed: Array<{ platform: string; perMinuteUsd: number; monthlyUsd: number; breakEvenMinutes: number | null }>;
    /** Per local model: its GPUs' monthly cost against the hosted provider's for the same usage, and the break-even. */
    inference: ModalityComparison[];
  };
  warnings: string[];
}

/** A local model's servers in the JSON contract. */
export interface InferenceReport {
  model: string;
  image: string;
  instanceType: string;
  gpu: string;
  gpuMemoryGiB: number;
  /** GPU instances at the busy hour (min) and the spike (max). */
  gpus: { min: number; max: number };
  /** GPU-seconds of work per second at the busy hour and the spike (before headroom). */
  gpuLoad: InferenceServerPlan['gpuLoad'];
  basis: string;
  scaling: InferenceServerPlan['scaling'];
  hostedFallback: string;
}

interface CapacityFigures {
  erlangs: number;
  sessions: number;
  probabilityOfWait: number;
  serviceLevel: number;
  averageSpeedOfAnswerSeconds: number;
}

/** Plan and price one stack; the full plan and cost come back too, for callers that need more. */
export function buildStackReport(
  stack: string | null,
  config: StackConfig,
  catalog: PriceCatalog = DEFAULT_CATALOG,
): { report: StackReport; plan: DeploymentPlan; cost: DeploymentCost } {
  const plan = planDeployment(config);
  const cost = priceDeployment(plan, catalog);
  const inference = compareInference(plan, catalog);
  const warnings = [...plan.warnings, ...inferenceWarnings(inference, plan.assumptions.monthlyMinutes)];
  if (plan.assumptions.monthlyMinutes < MANAGED_MAY_BE_CHEAPER_BELOW_MINUTES) {
    const cheapest = cost.managed.reduce((a, b) => (b.monthlyUsd < a.monthlyUsd ? b : a));
    const breakEven = cheapest.breakEvenMinutes;
    warnings.push(
      `under ${MANAGED_MAY_BE_CHEAPER_BELOW_MINUTES.toLocaleString('en-US')} minutes a month a managed platform may be cheaper: ` +
        `${cheapest.platform} would cost $${cheapest.monthlyUsd.toFixed(0)}/month against $${cost.monthlyUsd.toFixed(0)} self-hosted; ` +
        (breakEven === null ? 'self-hosting this stack never breaks even with it' : `break-even at ${breakEven.toLocaleString('en-US')} minutes/month`),
    );
  }
  const report: StackReport = {
    stack,
    tier: plan.tier,
    target: plan.target,
    assumptions: plan.assumptions,
    capacity: { busyHour: figures(plan.capacity.busyHour), spike: figures(plan.capacity.spike) },
    livekit: {
      instanceType: plan.livekit.instanceType,
      vcpu: plan.livekit.vcpu,
      memoryGiB: plan.livekit.memoryGiB,
      nodes: plan.livekit.nodes,
    },
    agents: {
      instanceType: plan.agents.instanceType,
      vcpu: plan.agents.vcpu,
      memoryGiB: plan.agents.memoryGiB,
      sessionsPerWorker: plan.agents.sessionsPerWorker,
      workers: plan.agents.workers,
    },
    redis: { mode: plan.redis.mode, nodeType: plan.redis.nodeType, replicas: plan.redis.replicas },
    loadBalancer: plan.loadBalancer,
    layout: plan.layout,
    llmRateLimits: plan.llmRateLimits,
    inference: Object.fromEntries(
      Object.entries(plan.inference).map(([modality, server]) => [
        modality,
        {
          model: server.model,
          image: server.image,
          instanceType: server.instanceType,
          gpu: server.gpu,
          gpuMemoryGiB: server.gpuMemoryGiB,
          gpus: { ...server.gpus },
          gpuLoad: { ...server.gpuLoad },
          basis: server.basis,
          scaling: { ...server.scaling },
          hostedFallback: server.hostedFallback,
        },
      ]),
    ),
    cost: {
      monthlyUsd: cost.monthlyUsd,
      perMinuteUsd: cost.perMinuteUsd,
      infraMonthlyUsd: cost.infraMonthlyUsd,
      providersMonthlyUsd: cost.providersMonthlyUsd,
      lines: cost.lines.map(({ item, quantity, unitUsd, monthlyUsd, basis }) => ({ item, quantity, unitUsd, monthlyUsd, basis })),
      managed: cost.managed.map(({ platform, perMinuteUsd, monthlyUsd, breakEvenMinutes }) => ({
        platform,
        perMinuteUsd,
        monthlyUsd,
        breakEvenMinutes,
      })),
      inference,
    },
    warnings,
  };
  return { report, plan, cost };
}

function figures(r: CapacityFigures): CapacityFigures {
  return {
    erlangs: r.erlangs,
    sessions: r.sessions,
    probabilityOfWait: r.probabilityOfWait,
    serviceLevel: r.serviceLevel,
    averageSpeedOfAnswerSeconds: r.averageSpeedOfAnswerSeconds,
  };
}
