/**
 * planInference: the GPU servers of the local models, sized from the plan's traffic. Pure.
 *
 * Each local model gets a group of one-GPU instances, one server each. The group's size follows
 * the work its sessions send it, in GPU-seconds per second (a GPU's throughput taken from the
 * planning inputs of `inference.*`), at the busy hour (min) and at the spike (max), each filled to
 * the input's targetUtilization (the rest is headroom):
 * - LLM: output tokens / outputTokensPerSecond + prompt tokens not in the prefix cache /
 *   prefillTokensPerSecond; and no more requests in flight than `concurrency` per GPU.
 * - STT: audio seconds / audioSecondsPerGpuSecond.
 * - TTS: speech seconds (characters synthesised / speaking rate) / speechSecondsPerGpuSecond.
 */
import type { ProviderUsage } from '@voice-agent-infra/common';
import { ConfigError, type StackConfig } from '../config.js';
import { assertPinnedImage } from '../livekit/compose.js';
import { type InferenceConfig, TOOL_CALL_PARSERS } from './config.js';
import { GPU_INSTANCE_SHAPES, gpuMemoryGiB } from './gpus.js';

export const MODALITIES = ['llm', 'stt', 'tts'] as const;
export type Modality = (typeof MODALITIES)[number];

/** The port each server listens on (vLLM and speaches: 8000; Kokoro-FastAPI: 8880). */
export const INFERENCE_PORTS: Readonly<Record<Modality, number>> = { llm: 8000, stt: 8000, tts: 8880 };
/** Every server answers GET /health with 200 when it can serve (vLLM: 503 on EngineDeadError). */
export const INFERENCE_HEALTH_PATH = '/health';
/** vLLM's default --gpu-memory-utilization: the share of GPU memory it takes for weights and KV cache. */
export const VLLM_GPU_MEMORY_UTILIZATION = 0.9;

export interface Range {
  min: number;
  max: number;
}

/** What an autoscaler holds per GPU instance. */
export interface InferenceScaling {
  /** `requests-per-gpu`: vLLM's running + waiting requests per instance; `gpu-utilization`: percent. */
  metric: 'requests-per-gpu' | 'gpu-utilization';
  target: number;
  why: string;
}

/**
 * How a group's size follows its load: enough GPUs for the work (GPU-seconds per second, filled to
 * targetUtilization) and, for the LLM, for the requests in flight (`slotsPerGpu` each, as filled).
 * The cost engine re-sizes with it at other volumes (break-even).
 */
export interface InferenceSizing {
  /** GPU-seconds per second one concurrent session causes. */
  gpuSecondsPerSession: number;
  /** Requests in flight per session (LLM), or null where the server has no slot limit. */
  requestsInFlightPerSession: number | null;
  /** Requests one GPU serves at once (LLM: its concurrency), or null. */
  slotsPerGpu: number | null;
  targetUtilization: number;
  minGpus: number;
  /** Requests per second one session sends (the load balancer's new connections, at worst one each). */
  requestsPerSessionSecond: number;
  /** Bytes per second one session sends and receives through the load balancer. */
  bytesPerSessionSecond: number;
}

/** GPUs a group needs for a number of concurrent sessions. */
export function gpusForSessions(sizing: InferenceSizing, sessions: number): number {
  const forWork = gpusForLoad(sessions * sizing.gpuSecondsPerSession, sizing.targetUtilization, sizing.minGpus);
  if (sizing.requestsInFlightPerSession === null || sizing.slotsPerGpu === null) return forWork;
  const forSlots = Math.ceil(round9((sessions * sizing.requestsInFlightPerSession) / (sizing.slotsPerGpu * sizing.targetUtilization)));
  return Math.max(forWork, forSlots);
}

/** The group's GPUs at the busy hour (min) and the spike (max). */
export function gpuRange(sizing: InferenceSizing, sessions: { busyHour: number; spike: number }): Range {
  const min = gpusForSessions(sizing, sessions.busyHour);
  return { min, max: Math.max(min, gpusForSessions(sizing, sessions.spike)) };
}

/**
 * Bytes on the wire, for the load balancers' capacity units and cross-zone traffic (planning
 * figures): an SSE chunk of the streamed reply is ~200 bytes per token (JSON with id, model and
 * the delta), a prompt ~4 bytes per token of JSON text; audio is 16-bit mono PCM at 24 kHz
 * (48,000 bytes a second: the agents' audio rate, the OpenAI plugin's WAV upload and its
 * `pcm` TTS download).
 */
export const WIRE_BYTES = { perPromptToken: 4, perStreamedToken: 200, perAudioSecond: 48_000 } as const;

/** One local model's servers. */
export interface InferenceServerPlan {
  modality: Modality;
  /** The model the server loads (or the TTS model name). */
  model: string;
  /** Pinned server image. */
  image: string;
  port: number;
  healthPath: string;
  instanceType: string;
  gpu: string;
  gpuMemoryGiB: number;
  vcpu: number;
  memoryGiB: number;
  /** GPU instances (one server each) at the busy hour (min) and the spike (max). */
  gpus: Range;
  /**
   * What is built (and priced): the GPUs' range when an autoscaler follows the load (AWS; Kubernetes
   * with KEDA and inference.prometheusUrl), else the spike size, always on.
   */
  replicas: Range;
  autoscaled: boolean;
  /** Work the sessions send, GPU-seconds per second, before headroom: at the busy hour and the spike. */
  gpuLoad: { busyHour: number; spike: number };
  /** How the size was found, in words. */
  basis: string;
  /** The size as a function of sessions (re-sized by the cost engine at other volumes). */
  sizing: InferenceSizing;
  scaling: InferenceScaling;
  /** The server's arguments after the image's entrypoint, and its environment (no secret). */
  server: { args: string[]; environment: Record<string, string> };
  /** The hosted provider the agent falls back to, and the break-even compares with. */
  hostedFallback: string;
  /** Root volume per instance, GiB (image and weights). */
  rootVolumeGiB: number;
  /** Seconds a stopping instance keeps answering what it holds. */
  drainSeconds: number;
}

/** Local models of a stack: present only for the providers set to `local`. */
export type InferencePlan = Partial<Record<Modality, InferenceServerPlan>>;

/** The LLM-specific extras (the agent needs the parser's parallel-tool-call rule). */
export interface LlmServerPlan extends InferenceServerPlan {
  toolCallParser: keyof typeof TOOL_CALL_PARSERS;
  /** False where the model cannot emit several tool calls in one turn (the agent sends parallel_tool_calls: false). */
  parallelToolCalls: boolean;
}

export interface InferenceInputs {
  config: Pick<StackConfig, 'providers' | 'inference' | 'usage' | 'traffic' | 'target' | 'kubernetes'>;
  /** Expected usage of one call (the plan's usagePerCall). */
  usagePerCall: ProviderUsage;
  /** Concurrent sessions at the busy hour and at the spike. */
  sessions: { busyHour: number; spike: number };
}

/** Which modalities the providers run locally. */
export function localModalities(providers: StackConfig['providers']): Modality[] {
  return [
    ...(providers.llm === 'local' || providers.complexLlm === 'local' ? (['llm'] as const) : []),
    ...(providers.stt === 'local' ? (['stt'] as const) : []),
    ...(providers.tts === 'local' ? (['tts'] as const) : []),
  ];
}

/** The servers of every local model. Throws a ConfigError on an input that would not run. */
export function planInference(inputs: InferenceInputs): InferencePlan {
  const plan: InferencePlan = {};
  for (const modality of localModalities(inputs.config.providers)) {
    if (modality === 'llm') plan.llm = planLlm(inputs);
    if (modality === 'stt') plan.stt = planStt(inputs);
    if (modality === 'tts') plan.tts = planTts(inputs);
  }
  return plan;
}

/** GPUs for a load (GPU-seconds per second) filled to a target share, at least `minimum`. */
export function gpusForLoad(load: number, targetUtilization: number, minimum: number): number {
  return Math.max(minimum, Math.ceil(round9(load / targetUtilization)));
}

function shapeOf(key: string, instanceType: string) {
  const shape = GPU_INSTANCE_SHAPES[instanceType];
  if (!shape) throw new ConfigError(key, instanceType, `unknown GPU instance type; allowed: ${Object.keys(GPU_INSTANCE_SHAPES).join(', ')}`);
  return shape;
}

function pinned(key: string, image: string): string {
  try {
    assertPinnedImage(key, image);
  } catch {
    throw new ConfigError(key, image, 'must be an image reference pinned by tag or digest (not latest), e.g. vllm/vllm-openai:v0.25.0');
  }
  return image;
}

/**
 * Whether the servers autoscale: always on AWS (target tracking); on Kubernetes only with KEDA and
 * a Prometheus to query (inference.prometheusUrl). A Prometheus without KEDA is a config error.
 */
export function inferenceAutoscaled(config: InferenceInputs['config']): boolean {
  if (config.target !== 'kubernetes') return true;
  if (config.inference.prometheusUrl && !config.kubernetes.keda) {
    throw new ConfigError('inference.prometheusUrl', config.inference.prometheusUrl, 'scales the servers through KEDA: set kubernetes.keda: true (KEDA installed), or leave it unset to run them at their spike size');
  }
  return Boolean(config.inference.prometheusUrl);
}

/** The servers built: the plan's range when autoscaled, else the spike size. */
export function builtReplicas(gpus: Range, autoscaled: boolean): Range {
  return autoscaled ? { ...gpus } : { min: gpus.max, max: gpus.max };
}

function common(modality: Modality, inference: InferenceConfig, instanceType: string, key: string) {
  const shape = shapeOf(`${key}.instanceType`, instanceType);
  return {
    modality,
    port: INFERENCE_PORTS[modality],
    healthPath: INFERENCE_HEALTH_PATH,
    instanceType,
    gpu: shape.gpu,
    gpuMemoryGiB: round3(gpuMemoryGiB(shape)),
    vcpu: shape.vcpu,
    memoryGiB: shape.memoryGiB,
    rootVolumeGiB: inference.rootVolumeGiB,
    drainSeconds: inference.drainSeconds,
  };
}

/** Per concurrent session, what the local LLM is asked for. */
export interface LlmDemand {
  /** Local turns per call, prompt and output tokens per call. */
  turnsPerCall: number;
  promptTokensPerCall: number;
  outputTokensPerCall: number;
  /** GPU-seconds per second one session causes. */
  gpuSecondsPerSecond: number;
  /** Requests in flight per session (Little's law: request rate x time per request). */
  requestsInFlight: number;
  /** Seconds one request holds a slot: its uncached prefill plus its reply at the per-request decode speed. */
  secondsPerRequest: number;
  /** Tokens of context one request holds in the KV cache, on average. */
  averageContextTokens: number;
  /** The longest request of a call: the last turn's prompt and its reply. */
  longestContextTokens: number;
}

export function llmDemandPerSession(inputs: InferenceInputs): LlmDemand {
  const { config, usagePerCall } = inputs;
  const llm = config.inference.llm;
  const local = usagePerCall.llm.filter((m) => m.model === 'local');
  const promptTokensPerCall = sum(local.map((m) => m.inputTokens));
  const outputTokensPerCall = sum(local.map((m) => m.outputTokens));
  const totalPrompt = sum(usagePerCall.llm.map((m) => m.inputTokens));
  // The plan splits tokens between the models in proportion to their turns.
  const localShare = totalPrompt > 0 ? promptTokensPerCall / totalPrompt : 0;
  const turnsPerCall = config.usage.turnsPerMinute * config.traffic.avgCallMinutes * localShare;
  const callSeconds = config.traffic.avgCallMinutes * 60;
  const uncachedPrompt = promptTokensPerCall * (1 - llm.prefixCacheHitShare);
  const gpuSecondsPerSecond = (outputTokensPerCall / llm.outputTokensPerSecond + uncachedPrompt / llm.prefillTokensPerSecond) / callSeconds;
  const perRequestDecode = llm.outputTokensPerSecond / llm.concurrency;
  const secondsPerRequest = turnsPerCall > 0 ? uncachedPrompt / turnsPerCall / llm.prefillTokensPerSecond + outputTokensPerCall / turnsPerCall / perRequestDecode : 0;
  const requestsInFlight = (turnsPerCall / callSeconds) * secondsPerRequest;
  const averageContextTokens = turnsPerCall > 0 ? (promptTokensPerCall + outputTokensPerCall) / turnsPerCall : 0;
  const turns = config.usage.turnsPerMinute * config.traffic.avgCallMinutes;
  const u = config.usage;
  const longestContextTokens = u.systemPromptTokens + u.userTokensPerTurn + (u.userTokensPerTurn + u.agentTokensPerTurn) * Math.max(0, Math.ceil(turns) - 1) + u.agentTokensPerTurn;
  return { turnsPerCall, promptTokensPerCall, outputTokensPerCall, gpuSecondsPerSecond, requestsInFlight, secondsPerRequest, averageContextTokens, longestContextTokens };
}

function planLlm(inputs: InferenceInputs): LlmServerPlan {
  const { inference } = inputs.config;
  const llm = inference.llm;
  const key = 'inference.llm';
  const base = common('llm', inference, llm.instanceType, key);
  const parser = TOOL_CALL_PARSERS[llm.toolCallParser];
  if (parser.needsChatTemplate && !llm.chatTemplate) {
    throw new ConfigError(
      `${key}.chatTemplate`,
      undefined,
      `is required with toolCallParser ${llm.toolCallParser} (${parser.models}): a path inside the server image to vLLM's tool chat template, e.g. examples/tool_chat_template_llama3.1_json.jinja`,
    );
  }
  const demand = llmDemandPerSession(inputs);
  // vLLM takes 90% of the GPU for weights and KV cache; what the weights leave is the cache.
  const usableGiB = base.gpuMemoryGiB * VLLM_GPU_MEMORY_UTILIZATION;
  const cacheGiB = usableGiB - llm.weightsGiB;
  const kvGiB = (tokens: number) => (tokens * llm.kvCacheKiBPerToken) / (1024 * 1024);
  if (cacheGiB <= 0) {
    throw new ConfigError(`${key}.instanceType`, llm.instanceType, `its ${base.gpu} holds ${round1(usableGiB)} GiB for vLLM (90% of ${round1(base.gpuMemoryGiB)} GiB): the weights (inference.llm.weightsGiB ${llm.weightsGiB}) do not fit; choose a larger GPU (g6e.xlarge: L40S 44.7 GiB) or a smaller or quantised model`);
  }
  if (demand.longestContextTokens > llm.maxModelLen) {
    throw new ConfigError(`${key}.maxModelLen`, llm.maxModelLen, `is shorter than a call's last turn (${Math.ceil(demand.longestContextTokens)} tokens: the system prompt and the whole history at the usage settings); raise it to at least ${Math.ceil(demand.longestContextTokens)}`);
  }
  if (kvGiB(llm.maxModelLen) > cacheGiB) {
    throw new ConfigError(`${key}.maxModelLen`, llm.maxModelLen, `needs ${round1(kvGiB(llm.maxModelLen))} GiB of KV cache and the ${base.gpu} leaves ${round1(cacheGiB)} GiB after the weights: vLLM would refuse to start; lower it or choose a larger GPU`);
  }
  const concurrentKvGiB = kvGiB(llm.concurrency * demand.averageContextTokens);
  if (concurrentKvGiB > cacheGiB) {
    throw new ConfigError(`${key}.concurrency`, llm.concurrency, `${llm.concurrency} requests of ~${Math.round(demand.averageContextTokens)} tokens need ${round1(concurrentKvGiB)} GiB of KV cache; the ${base.gpu} leaves ${round1(cacheGiB)} GiB after the weights; lower it (at most ${Math.floor(cacheGiB / kvGiB(demand.averageContextTokens))})`);
  }
  const callSeconds = inputs.config.traffic.avgCallMinutes * 60;
  const sizing: InferenceSizing = {
    gpuSecondsPerSession: demand.gpuSecondsPerSecond,
    requestsInFlightPerSession: demand.requestsInFlight,
    slotsPerGpu: llm.concurrency,
    targetUtilization: llm.targetUtilization,
    minGpus: llm.minGpus,
    requestsPerSessionSecond: demand.turnsPerCall / callSeconds,
    bytesPerSessionSecond: (demand.promptTokensPerCall * WIRE_BYTES.perPromptToken + demand.outputTokensPerCall * WIRE_BYTES.perStreamedToken) / callSeconds,
  };
  const gpus = gpuRange(sizing, inputs.sessions);
  return {
    ...base,
    model: llm.model,
    image: pinned(`${key}.image`, llm.image),
    gpus,
    ...built(inputs, gpus),
    gpuLoad: { busyHour: round6(inputs.sessions.busyHour * sizing.gpuSecondsPerSession), spike: round6(inputs.sessions.spike * sizing.gpuSecondsPerSession) },
    sizing,
    basis:
      `${fmt(demand.outputTokensPerCall)} output and ${fmt(demand.promptTokensPerCall)} prompt tokens per call (${Math.round(llm.prefixCacheHitShare * 100)}% from the prefix cache) on ` +
      `${llm.outputTokensPerSecond} output / ${llm.prefillTokensPerSecond} prefill tokens/s per GPU at ${llm.concurrency} concurrent requests, filled to ${Math.round(llm.targetUtilization * 100)}%: ` +
      `${inputs.sessions.busyHour} sessions at the busy hour need ${gpus.min}, ${inputs.sessions.spike} at the spike ${gpus.max}`,
    scaling: {
      metric: 'requests-per-gpu',
      target: round2(llm.concurrency * llm.targetUtilization),
      why: `vLLM's running + waiting requests per instance, held at ${Math.round(llm.targetUtilization * 100)}% of the concurrency its throughput was measured at`,
    },
    server: {
      args: [
        '--model', llm.model,
        '--served-model-name', llm.model,
        '--host', '0.0.0.0',
        '--port', String(INFERENCE_PORTS.llm),
        '--enable-auto-tool-choice',
        '--tool-call-parser', llm.toolCallParser,
        ...(llm.chatTemplate ? ['--chat-template', llm.chatTemplate] : []),
        '--max-model-len', String(llm.maxModelLen),
        // More would queue inside vLLM where the autoscaler sees them waiting, not slow every stream.
        '--max-num-seqs', String(llm.concurrency),
        '--gpu-memory-utilization', String(VLLM_GPU_MEMORY_UTILIZATION),
      ],
      environment: {},
    },
    hostedFallback: llm.hostedFallback,
    toolCallParser: llm.toolCallParser,
    parallelToolCalls: parser.parallelToolCalls,
  };
}

function planStt(inputs: InferenceInputs): InferenceServerPlan {
  const { inference, traffic, usage } = inputs.config;
  const stt = inference.stt;
  const key = 'inference.stt';
  const base = common('stt', inference, stt.instanceType, key);
  // The local STT is not streamed: the agent posts each utterance its VAD cuts (the OpenAI plugin
  // with useRealtime false), so it hears the caller's share of the call, not the whole call as a
  // streaming STT (the plan's sttMinutes) does.
  const audioPerSecond = (inputs.usagePerCall.sttMinutes / traffic.avgCallMinutes) * (1 - usage.agentTalkShare);
  const sizing: InferenceSizing = {
    gpuSecondsPerSession: audioPerSecond / stt.audioSecondsPerGpuSecond,
    requestsInFlightPerSession: null,
    slotsPerGpu: null,
    targetUtilization: stt.targetUtilization,
    minGpus: stt.minGpus,
    // One upload per caller utterance: one per turn.
    requestsPerSessionSecond: usage.turnsPerMinute / 60,
    bytesPerSessionSecond: audioPerSecond * WIRE_BYTES.perAudioSecond,
  };
  const gpus = gpuRange(sizing, inputs.sessions);
  return {
    ...base,
    model: stt.model,
    image: pinned(`${key}.image`, stt.image),
    gpus,
    ...built(inputs, gpus),
    gpuLoad: { busyHour: round6(inputs.sessions.busyHour * sizing.gpuSecondsPerSession), spike: round6(inputs.sessions.spike * sizing.gpuSecondsPerSession) },
    sizing,
    basis: `${round2(audioPerSecond)} s of caller speech per call-second (the caller's share of the call) at ${stt.audioSecondsPerGpuSecond}x real time per GPU, filled to ${Math.round(stt.targetUtilization * 100)}%: ${inputs.sessions.busyHour} sessions at the busy hour need ${gpus.min}, ${inputs.sessions.spike} at the spike ${gpus.max}`,
    scaling: gpuScaling(stt.targetUtilization),
    server: {
      args: [],
      // speaches: load the model at start and keep it (STT_MODEL_TTL -1), not on the first call.
      environment: { PRELOAD_MODELS: JSON.stringify([stt.model]), STT_MODEL_TTL: '-1' },
    },
    hostedFallback: stt.hostedFallback,
  };
}

function planTts(inputs: InferenceInputs): InferenceServerPlan {
  const { inference, traffic, usage } = inputs.config;
  const tts = inference.tts;
  const key = 'inference.tts';
  const base = common('tts', inference, tts.instanceType, key);
  const charactersPerSpeechSecond = (usage.wordsPerMinute * usage.charactersPerWord) / 60;
  const speechPerSecond = inputs.usagePerCall.ttsCharacters / charactersPerSpeechSecond / (traffic.avgCallMinutes * 60);
  const sizing: InferenceSizing = {
    gpuSecondsPerSession: speechPerSecond / tts.speechSecondsPerGpuSecond,
    requestsInFlightPerSession: null,
    slotsPerGpu: null,
    targetUtilization: tts.targetUtilization,
    minGpus: tts.minGpus,
    // AgentSession synthesises sentence by sentence: about two requests per agent turn.
    requestsPerSessionSecond: (2 * usage.turnsPerMinute) / 60,
    bytesPerSessionSecond: speechPerSecond * WIRE_BYTES.perAudioSecond,
  };
  const gpus = gpuRange(sizing, inputs.sessions);
  return {
    ...base,
    model: tts.model,
    image: pinned(`${key}.image`, tts.image),
    gpus,
    ...built(inputs, gpus),
    gpuLoad: { busyHour: round6(inputs.sessions.busyHour * sizing.gpuSecondsPerSession), spike: round6(inputs.sessions.spike * sizing.gpuSecondsPerSession) },
    sizing,
    basis: `${round2(speechPerSecond)} s of speech synthesised per call-second (cache hits excluded) at ${tts.speechSecondsPerGpuSecond}x real time per GPU, filled to ${Math.round(tts.targetUtilization * 100)}%: ${inputs.sessions.busyHour} sessions at the busy hour need ${gpus.min}, ${inputs.sessions.spike} at the spike ${gpus.max}`,
    scaling: gpuScaling(tts.targetUtilization),
    server: { args: [], environment: {} },
    hostedFallback: tts.hostedFallback,
  };
}

function built(inputs: InferenceInputs, gpus: Range): { replicas: Range; autoscaled: boolean } {
  const autoscaled = inferenceAutoscaled(inputs.config);
  return { replicas: builtReplicas(gpus, autoscaled), autoscaled };
}

function gpuScaling(targetUtilization: number): InferenceScaling {
  return {
    metric: 'gpu-utilization',
    target: Math.round(targetUtilization * 100),
    why: 'GPU utilisation (nvidia-smi) averaged over the instances: the server publishes no queue metric',
  };
}

/** The servers as a list, in a stable order. */
export function inferenceServers(plan: InferencePlan): InferenceServerPlan[] {
  return MODALITIES.flatMap((m) => (plan[m] ? [plan[m]!] : []));
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}
const round = (digits: number) => (n: number) => Math.round(n * 10 ** digits) / 10 ** digits;
const round1 = round(1);
const round2 = round(2);
const round3 = round(3);
const round6 = round(6);
// Floating error must not turn an exact fit (e.g. 0.7 / 0.7) into one GPU more.
const round9 = round(9);
