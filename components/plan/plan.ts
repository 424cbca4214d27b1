/**
 * planDeployment: stack config -> DeploymentPlan, pure. Traffic -> offered load -> concurrent
 * sessions (Erlang C) -> tier -> machines. The plan is the single source of truth: the Pulumi
 * components build what it says and the cost engine prices it; neither re-derives a size.
 */
import type { LlmModel, ProviderChoice, ProviderUsage } from '@voice-agent-infra/common';
import { ConfigError, type StackConfig, type Tier } from '../config.js';
import { type ErlangResult, sessionsForServiceLevel } from './erlang.js';
import { type CpuArchitecture, DEFAULT_INSTANCE_TYPES, INSTANCE_SHAPES, type InstanceShape, REDIS_NODE_TYPES } from './instances.js';
import { planSip, type SipPlan, sipWarnings } from '../sip/plan.js';
import { allocatable, type DeploymentLayout, planLayout } from './layout.js';
import { type InferencePlan, planInference } from '../inference/plan.js';

/** Tier edges in monthly minutes: < 25,000 small; 25,000 to 100,000 mid; above 100,000 large. */
export const TIER_EDGES = { midFromMinutes: 25_000, largeAboveMinutes: 100_000 } as const;

/** Below this, a managed platform may be cheaper (the reference article: managed works to ~10k). */
export const MANAGED_MAY_BE_CHEAPER_BELOW_MINUTES = 10_000;

/** LiveKit's agent sizing floor: a worker process plus its idle job processes. */
export const MIN_AGENT_INSTANCE = { vcpu: 2, memoryGiB: 4 } as const;
/** Memory kept for LiveKit, Redis and Caddy on the small box. */
export const SMALL_BOX_RESERVED_MEMORY_GIB = 2;
/** Large runs at least two of everything, in two AZs, so one instance can fail. */
export const LARGE_MIN_INSTANCES = 2;
/** Two participants per call: the caller (SIP) and the agent. */
export const PARTICIPANTS_PER_CALL = 2;
/** The article: at 100 concurrent calls, LLM provider rate-limit tiers become the bottleneck. */
export const LLM_RATE_LIMIT_WARNING_SESSIONS = 100;

export interface Range {
  min: number;
  max: number;
}

export interface MachinePlan {
  instanceType: string;
  vcpu: number;
  memoryGiB: number;
  architecture: CpuArchitecture;
}

export interface DeploymentPlan {
  tier: Tier;
  /** Why this tier: from the minutes, named in config, or promoted because the load did not fit. */
  tierReason: string;
  target: StackConfig['target'];
  assumptions: {
    monthlyMinutes: number;
    avgCallMinutes: number;
    businessDaysPerMonth: number;
    busyHourShare: number;
    spikeMultiplier: number;
    maxWaitSeconds: number;
    serviceLevel: number;
  };
  capacity: { busyHour: ErlangResult; spike: ErlangResult };
  livekit: MachinePlan & {
    nodes: Range;
    /** Calls one node carries at the planning participants-per-vCPU figure. */
    callsPerNode: number;
  };
  agents: MachinePlan & {
    sessionsPerWorker: number;
    workers: Range;
    /** True on small: the agent runs on the LiveKit box. */
    colocatedWithLivekit: boolean;
  };
  redis:
    | { mode: 'local'; nodeType: null; replicas: 0; engine: null }
    | { mode: 'managed'; nodeType: string; replicas: number; engine: 'redis' | 'valkey' }
    /** Kubernetes: a Redis the stack is given (kubernetes.redisUrl), neither run nor priced by it. */
    | { mode: 'external'; nodeType: null; replicas: 0; engine: null };
  loadBalancer: boolean;
  /**
   * Where TLS terminates, where Redis lives, which roles share a machine, what autoscales on which
   * signal; on Kubernetes also every pod's size. Components build from it (components/plan/layout.ts).
   */
  layout: DeploymentLayout;
  /**
   * One internet-facing NLB per role (mid, large): `signalling` (TLS 443 -> 7880) and `turn-tls`
   * (TLS 443 -> TURN tls_port). Two, because LiveKit always advertises `turns:<turn domain>:443`
   * and an NLB listener cannot split one port by hostname.
   */
  loadBalancerRoles: Array<'signalling' | 'turn-tls'>;
  llmRateLimits: {
    requestsPerMinute: number;
    tokensPerMinute: number;
    byModel: Array<{ model: LlmModel; requestsPerMinute: number; tokensPerMinute: number }>;
  };
  /** Expected provider usage of one average call (what the cost engine prices per minute). */
  usagePerCall: ProviderUsage & { cachedTtsCharacters: number };
  providers: ProviderChoice & { llm: LlmModel; complexLlm: LlmModel };
  /** Phone calls: where the LiveKit SIP service runs and how the provider reaches it (components/sip/plan.ts). */
  sip: SipPlan;
  /**
   * The local models' GPU servers (components/inference/plan.ts): one entry per provider set to
   * `local`, sized at the busy hour (min) and the spike (max); empty when every model is hosted.
   */
  inference: InferencePlan;
  /** Inputs the cost engine needs beyond the machines. */
  costInputs: {
    expectedScaleOutShare: number;
    rootVolumeGiB: number;
    /** The single node's data volume (small, mid: Redis AOF, certificates), GiB; 0 on large (ElastiCache). */
    dataVolumeGiB: number;
    telephonyAudioKbps: number;
    webrtcAudioKbps: number;
    pricing: Record<string, number>;
    /** Kubernetes: the control plane's monthly fee (kubernetes.controlPlaneMonthlyUsd; 0 for an existing cluster). */
    kubernetesControlPlaneMonthlyUsd: number;
  };
  warnings: string[];
}

/** Tier from monthly minutes alone. */
export function tierForMinutes(monthlyMinutes: number): Tier {
  if (monthlyMinutes < TIER_EDGES.midFromMinutes) return 'small';
  if (monthlyMinutes <= TIER_EDGES.largeAboveMinutes) return 'mid';
  return 'large';
}

/** Busy-hour offered load: A = monthlyMinutes * busyHourShare / businessDaysPerMonth / 60 Erlangs. */
export function busyHourErlangs(traffic: { busyHourShare: number; businessDaysPerMonth: number }, monthlyMinutes: number): number {
  return (monthlyMinutes * traffic.busyHourShare) / traffic.businessDaysPerMonth / 60;
}

/**
 * Expected provider usage of one call. LLM input grows with the call: every turn re-sends the
 * system prompt and the whole history, so turn i (1-based) sends
 * system + user + (i - 1) (user + agent) tokens; summed over T turns:
 * T (system + user) + (user + agent) T (T - 1) / 2.
 */
export function expectedUsagePerCall(config: StackConfig): ProviderUsage & { cachedTtsCharacters: number } {
  const { usage, providers, traffic } = config;
  const minutes = traffic.avgCallMinutes;
  const turns = usage.turnsPerMinute * minutes;
  const inputTokens =
    turns * (usage.systemPromptTokens + usage.userTokensPerTurn) +
    ((usage.userTokensPerTurn + usage.agentTokensPerTurn) * turns * (turns - 1)) / 2;
  const outputTokens = turns * usage.agentTokensPerTurn;
  const spokenCharacters = minutes * usage.agentTalkShare * usage.wordsPerMinute * usage.charactersPerWord;
  // Only a cache the agent image carries saves anything: nothing in the deploy renders one.
  const cachedTtsCharacters = usage.phraseCacheDeployed ? spokenCharacters * usage.ttsCacheHitRatio : 0;
  return {
    sttMinutes: minutes,
    llm: splitByModel(providers.llm, providers.complexLlm, usage.complexTurnShare, inputTokens, outputTokens),
    ttsCharacters: spokenCharacters - cachedTtsCharacters,
    cachedTtsCharacters,
    telephonyMinutes: minutes,
  };
}

function splitByModel(routine: LlmModel, complex: LlmModel, complexShare: number, inputTokens: number, outputTokens: number) {
  if (routine === complex || complexShare === 0) return [{ model: routine, inputTokens, outputTokens }];
  if (complexShare === 1) return [{ model: complex, inputTokens, outputTokens }];
  // Complex turns are spread over the call, so they carry their share of the growing context.
  return [
    { model: routine, inputTokens: inputTokens * (1 - complexShare), outputTokens: outputTokens * (1 - complexShare) },
    { model: complex, inputTokens: inputTokens * complexShare, outputTokens: outputTokens * complexShare },
  ];
}

export function planDeployment(config: StackConfig): DeploymentPlan {
  const { traffic, capacity, providers, usage } = config;
  const warnings: string[] = [];
  const averageHandlingSeconds = traffic.avgCallMinutes * 60;
  const busyErlangs = busyHourErlangs(traffic, config.monthlyMinutes);
  const busyHour = sessionsForServiceLevel(busyErlangs, traffic.maxWaitSeconds, averageHandlingSeconds, traffic.serviceLevel);
  const spike = sessionsForServiceLevel(
    busyErlangs * traffic.spikeMultiplier,
    traffic.maxWaitSeconds,
    averageHandlingSeconds,
    traffic.serviceLevel,
  );

  const family = DEFAULT_INSTANCE_TYPES[capacity.instanceFamily];
  // Kubernetes: the configured node types, when given, are the machines the pods are sized for.
  const nodeTypes = config.target === 'kubernetes' ? config.kubernetes.nodeInstanceTypes : {};
  const agentShape = nodeTypes.agents
    ? machine('kubernetes.nodeInstanceTypes.agents', nodeTypes.agents)
    : machine('capacity.agentInstanceType', capacity.agentInstanceType ?? family.agent);
  const livekitShape = nodeTypes.livekit
    ? machine('kubernetes.nodeInstanceTypes.livekit', nodeTypes.livekit)
    : machine('capacity.livekitInstanceType', capacity.livekitInstanceType ?? family.livekit);
  const servicesShape = nodeTypes.services ? machine('kubernetes.nodeInstanceTypes.services', nodeTypes.services) : agentShape;
  if (agentShape.vcpu < MIN_AGENT_INSTANCE.vcpu || agentShape.memoryGiB < MIN_AGENT_INSTANCE.memoryGiB) {
    throw new ConfigError(
      'capacity.agentInstanceType',
      agentShape.instanceType,
      `too small for an agent worker (${agentShape.vcpu} vCPU / ${agentShape.memoryGiB} GiB); needs at least ${MIN_AGENT_INSTANCE.vcpu} vCPU / ${MIN_AGENT_INSTANCE.memoryGiB} GiB, e.g. ${family.agent}`,
    );
  }
  if (agentShape.architecture !== livekitShape.architecture) {
    warnings.push(
      `agent (${agentShape.instanceType}) and LiveKit (${livekitShape.instanceType}) instances differ in CPU architecture; the agent image is built for ${agentShape.architecture}`,
    );
  }

  // On Kubernetes a pod gets what the node's kubelet and DaemonSets leave (allocatable), not the whole machine.
  const agentFit = config.target === 'kubernetes' ? allocatable(agentShape) : agentShape;
  const livekitFit = config.target === 'kubernetes' ? allocatable(livekitShape) : livekitShape;
  const sessionsPerAgentWorker = sessionsThatFit(agentFit.vcpu, agentFit.memoryGiB, capacity);
  const callsPerLivekitNode = Math.floor((livekitFit.vcpu * capacity.livekitParticipantsPerVcpu) / PARTICIPANTS_PER_CALL);

  // The small box: LiveKit, Redis and Caddy on the reserved vCPU, the agent on the rest.
  const smallAgentVcpu = agentFit.vcpu - capacity.smallBoxReservedVcpu;
  const smallSessions = sessionsThatFit(smallAgentVcpu, agentFit.memoryGiB - SMALL_BOX_RESERVED_MEMORY_GIB, capacity);
  const smallLivekitCalls = Math.floor((capacity.smallBoxReservedVcpu * capacity.livekitParticipantsPerVcpu) / PARTICIPANTS_PER_CALL);
  const smallFits = smallSessions >= spike.sessions && smallLivekitCalls >= spike.sessions;
  const midFits = callsPerLivekitNode >= spike.sessions;

  let tier: Tier;
  let tierReason: string;
  const byMinutes = tierForMinutes(config.monthlyMinutes);
  const smallDoesNotFit = `the spike needs ${spike.sessions} concurrent sessions; the small tier's single ${agentShape.instanceType} holds ${Math.min(smallSessions, smallLivekitCalls)} (LiveKit, Redis and the agent on one box)`;
  const midDoesNotFit = `the spike needs ${spike.sessions} concurrent calls; the mid tier's single LiveKit node (${livekitShape.instanceType}) carries ${callsPerLivekitNode}`;
  if (config.tier) {
    tier = config.tier;
    tierReason = `set in config (minutes alone give ${byMinutes})`;
    if (tier === 'small' && !smallFits) throw new ConfigError('tier', tier, `does not fit: ${smallDoesNotFit}; use mid or lower traffic.spikeMultiplier`);
    if (tier === 'mid' && !midFits) throw new ConfigError('tier', tier, `does not fit: ${midDoesNotFit}; use large`);
  } else {
    tier = byMinutes;
    tierReason = `${config.monthlyMinutes.toLocaleString('en-US')} minutes/month`;
    if (tier === 'small' && !smallFits) {
      tier = 'mid';
      tierReason += `; promoted from small: ${smallDoesNotFit}`;
      warnings.push(`planned as mid, not small: ${smallDoesNotFit}`);
    }
    if (tier === 'mid' && !midFits) {
      tier = 'large';
      tierReason += `; promoted from mid: ${midDoesNotFit}`;
      warnings.push(`planned as large, not mid: ${midDoesNotFit}`);
    }
  }

  let agents: DeploymentPlan['agents'];
  let livekit: DeploymentPlan['livekit'];
  let redis: DeploymentPlan['redis'];
  if (tier === 'small') {
    agents = { ...agentShape, sessionsPerWorker: smallSessions, workers: { min: 1, max: 1 }, colocatedWithLivekit: true };
    livekit = { ...agentShape, nodes: { min: 1, max: 1 }, callsPerNode: smallLivekitCalls };
    redis = { mode: 'local', nodeType: null, replicas: 0, engine: null };
  } else {
    const minWorkers = tier === 'large' ? LARGE_MIN_INSTANCES : 1;
    const workers = workersFor(busyHour.sessions, spike.sessions, sessionsPerAgentWorker, minWorkers);
    agents = { ...agentShape, sessionsPerWorker: sessionsPerAgentWorker, workers, colocatedWithLivekit: false };
    const nodes =
      tier === 'mid'
        ? { min: 1, max: 1 }
        : workersFor(busyHour.sessions, spike.sessions, callsPerLivekitNode, LARGE_MIN_INSTANCES);
    livekit = { ...livekitShape, nodes, callsPerNode: callsPerLivekitNode };
    redis =
      tier === 'mid'
        ? { mode: 'local', nodeType: null, replicas: 0, engine: null }
        : {
            mode: 'managed',
            nodeType: capacity.redisNodeType ?? REDIS_NODE_TYPES.find((t) => spike.sessions <= t.maxSpikeSessions)!.nodeType,
            replicas: capacity.redisReplicas,
            engine: capacity.redisEngine,
          };
  }

  if (config.target === 'kubernetes') redis = kubernetesRedis(config, tier, redis);
  if (redis.mode === 'external') {
    warnings.push('the external Redis (kubernetes.redisUrl) is not in the cost: it is billed by whoever runs it (ElastiCache, Memorystore, ...); it must run with maxmemory-policy noeviction');
  }

  const usagePerCall = expectedUsagePerCall(config);
  const llmRateLimits = rateLimitsAtSpike(spike.sessions, config, usagePerCall);
  if (spike.sessions >= LLM_RATE_LIMIT_WARNING_SESSIONS) {
    const hosted = llmRateLimits.byModel.filter((m) => m.model !== 'local');
    if (hosted.length > 0) {
      warnings.push(
        `LLM rate limits at the spike (${spike.sessions} concurrent calls): ${hosted
          .map((m) => `${m.model} ${fmt(m.requestsPerMinute)} requests/min, ${fmt(m.tokensPerMinute)} tokens/min`)
          .join('; ')}; check your provider tier (the article: 100 concurrent calls need OpenAI Tier 4+), or route routine turns to a local model`,
      );
    }
  }

  warnings.push(...sipWarnings(config.sip, providers.telephony));
  if (!usage.phraseCacheDeployed && usage.ttsCacheHitRatio > 0) {
    warnings.push(
      `the plan counts no phrase-cache hits (usage.ttsCacheHitRatio ${usage.ttsCacheHitRatio} is not applied): nothing in the deploy renders the cache and the bundled image carries none; run it with an image that does (README, "The phrase cache") and set usage.phraseCacheDeployed: true`,
    );
  }
  const inference = planInference({ config, usagePerCall, sessions: { busyHour: busyHour.sessions, spike: spike.sessions } });
  for (const server of Object.values(inference)) {
    if (!server.autoscaled && server.gpus.min < server.gpus.max) {
      warnings.push(
        `the local ${server.modality.toUpperCase()} runs ${server.gpus.max} GPUs (its spike size) all month, not ${server.gpus.min}-${server.gpus.max}: on Kubernetes the servers scale only through KEDA (kubernetes.keda) and a Prometheus (inference.prometheusUrl)`,
      );
    }
  }

  const layout = planLayout({
    tier,
    config,
    livekit,
    agents,
    servicesInstanceType: servicesShape.instanceType,
    redisMode: redis.mode,
    assumptions: { maxWaitSeconds: traffic.maxWaitSeconds, avgCallMinutes: traffic.avgCallMinutes },
  });
  return {
    tier,
    tierReason,
    target: config.target,
    assumptions: {
      monthlyMinutes: config.monthlyMinutes,
      avgCallMinutes: traffic.avgCallMinutes,
      businessDaysPerMonth: traffic.businessDaysPerMonth,
      busyHourShare: traffic.busyHourShare,
      spikeMultiplier: traffic.spikeMultiplier,
      maxWaitSeconds: traffic.maxWaitSeconds,
      serviceLevel: traffic.serviceLevel,
    },
    capacity: { busyHour, spike },
    livekit,
    agents,
    redis,
    // AWS: none on small (Caddy on the box), two NLBs from mid; Kubernetes: two LoadBalancer Services on every tier.
    loadBalancer: layout.loadBalancers.length > 0,
    layout,
    loadBalancerRoles: [...layout.loadBalancers],
    llmRateLimits,
    usagePerCall,
    providers: { ...providers },
    sip: planSip(config.sip, tier, config.target),
    inference,
    costInputs: {
      expectedScaleOutShare: capacity.expectedScaleOutShare,
      rootVolumeGiB: capacity.rootVolumeGiB,
      dataVolumeGiB: tier === 'large' ? 0 : config.aws.dataVolumeGiB,
      telephonyAudioKbps: usage.telephonyAudioKbps,
      webrtcAudioKbps: usage.webrtcAudioKbps,
      pricing: { ...config.pricing },
      kubernetesControlPlaneMonthlyUsd: config.target === 'kubernetes' ? config.kubernetes.controlPlaneMonthlyUsd : 0,
    },
    warnings,
  };
}

/**
 * Redis on Kubernetes: in the cluster (a StatefulSet) where AWS would run it on the node, the
 * external `kubernetes.redisUrl` when given, and on large (where AWS runs ElastiCache) the external
 * one unless the config chooses the cluster.
 */
function kubernetesRedis(config: StackConfig, tier: Tier, aws: DeploymentPlan['redis']): DeploymentPlan['redis'] {
  const k8s = config.kubernetes;
  const local = { mode: 'local', nodeType: null, replicas: 0, engine: null } as const;
  if (k8s.redisUrl !== undefined) {
    if (k8s.inClusterRedis) throw new ConfigError('kubernetes.inClusterRedis', true, 'conflicts with kubernetes.redisUrl: choose the external Redis or the one in the cluster');
    return { mode: 'external', nodeType: null, replicas: 0, engine: null };
  }
  if (aws.mode === 'managed' && !k8s.inClusterRedis) {
    throw new ConfigError(
      'kubernetes.redisUrl',
      undefined,
      `is required on the ${tier} tier (the queue and ${tier === 'large' ? 'several LiveKit nodes' : 'LiveKit'} share a durable Redis): set rediss://host:port of a managed Redis, or kubernetes.inClusterRedis: true to run it in the cluster`,
    );
  }
  return local;
}

function machine(key: string, instanceType: string): MachinePlan {
  const shape: InstanceShape | undefined = INSTANCE_SHAPES[instanceType];
  if (!shape) throw new ConfigError(key, instanceType, `unknown instance type; allowed: ${Object.keys(INSTANCE_SHAPES).join(', ')}`);
  return { instanceType, ...shape };
}

/** Sessions one machine holds: the tighter of CPU and memory, whole sessions only. */
function sessionsThatFit(vcpu: number, memoryGiB: number, capacity: StackConfig['capacity']): number {
  return Math.max(0, Math.floor(Math.min(vcpu * capacity.sessionsPerAgentVcpu, memoryGiB / capacity.memoryGiBPerSession)));
}

function workersFor(busySessions: number, spikeSessions: number, perWorker: number, minimum: number): Range {
  const min = Math.max(minimum, Math.ceil(busySessions / perWorker));
  return { min, max: Math.max(min, Math.ceil(spikeSessions / perWorker)) };
}

/** Requests and tokens per minute at spike concurrency: every session makes turnsPerMinute requests. */
function rateLimitsAtSpike(
  spikeSessions: number,
  config: StackConfig,
  usagePerCall: ProviderUsage,
): DeploymentPlan['llmRateLimits'] {
  const callMinutes = config.traffic.avgCallMinutes;
  const totalInput = usagePerCall.llm.reduce((a, m) => a + m.inputTokens, 0);
  const byModel = usagePerCall.llm.map((m) => {
    const share = totalInput > 0 ? m.inputTokens / totalInput : 1 / usagePerCall.llm.length;
    return {
      model: m.model,
      requestsPerMinute: Math.ceil(spikeSessions * config.usage.turnsPerMinute * share),
      tokensPerMinute: Math.ceil((spikeSessions * (m.inputTokens + m.outputTokens)) / callMinutes),
    };
  });
  return {
    requestsPerMinute: Math.ceil(spikeSessions * config.usage.turnsPerMinute),
    tokensPerMinute: byModel.reduce((a, m) => a + m.tokensPerMinute, 0),
    byModel,
  };
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}
