/**
 * The `inference` section of the stack config: the self-hosted models `providers.llm: local`,
 * `providers.stt: local` and `providers.tts: local` select, the servers that run them and the
 * planning inputs their GPUs are sized from. Every default carries its source; the throughput
 * figures are planning inputs to replace with your own measurement (`vllm bench serve
 * --max-concurrency N` for the LLM), never promises. Pure: zod only (components/config.ts wires it in).
 */
import { z } from 'zod';
import { GPU_INSTANCE_TYPES } from './gpus.js';

// Numbers arrive as strings from `pulumi config set --path`: accept numeric strings, as config.ts does.
const NUMERIC = /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i;
function numeric<T extends z.ZodType>(schema: T) {
  return z.preprocess((v) => (typeof v === 'string' && NUMERIC.test(v.trim()) ? Number(v) : v), schema);
}
const positive = (what: string) => numeric(z.number({ error: `must be a number (${what})` }).gt(0, `must be > 0 (${what})`));
const share = (what: string) =>
  numeric(z.number({ error: `must be a number between 0 and 1 (${what})` }).min(0, `must be at least 0 (${what})`).max(1, `must be at most 1 (${what})`));
const utilization = (what: string) =>
  numeric(z.number({ error: `must be a number between 0 and 1 (${what})` }).gt(0, `must be > 0 (${what})`).max(1, `must be at most 1 (${what})`));
const wholeBetween = (min: number, max: number, what: string) =>
  numeric(
    z
      .number({ error: `must be a whole number (${what})` })
      .int(`must be a whole number (${what})`)
      .min(min, `must be at least ${min} (${what})`)
      .max(max, `must be at most ${max} (${what})`),
  );
const oneOf = <T extends readonly [string, ...string[]]>(values: T) => z.enum(values, { error: `must be one of: ${values.join(', ')}` });
const nonEmpty = (what: string) => z.string({ error: `must be text (${what})` }).trim().min(1, `must not be empty (${what})`);

/**
 * vLLM's tool-call parsers this stack knows (vllm docs/features/tool_calling.md): which model
 * families they serve and whether the model can emit several tool calls in one turn. "Parallel
 * tool calls are not supported for Llama 3" (the same page): the agent then sends
 * parallel_tool_calls: false, and vLLM keeps the first call only
 * (vllm/entrypoints/serve/utils/tool_calls_utils.py maybe_filter_parallel_tool_calls).
 */
export const TOOL_CALL_PARSERS = {
  hermes: { models: 'Qwen2.5, Hermes 2 Pro / 3', parallelToolCalls: true, needsChatTemplate: false },
  llama3_json: { models: 'Llama 3.1 / 3.2', parallelToolCalls: false, needsChatTemplate: true },
  mistral: { models: 'Mistral', parallelToolCalls: true, needsChatTemplate: false },
} as const;
export type ToolCallParser = keyof typeof TOOL_CALL_PARSERS;
const PARSER_NAMES = Object.keys(TOOL_CALL_PARSERS) as [ToolCallParser, ...ToolCallParser[]];

/** Hosted models the local ones fall back to (and are compared with for the break-even). */
export const HOSTED_LLM_FALLBACKS = ['gpt-4o-mini', 'gpt-4.1-mini', 'gpt-4o', 'gpt-4.1'] as const;
export const HOSTED_STT_FALLBACKS = ['deepgram-nova-3'] as const;
export const HOSTED_TTS_FALLBACKS = ['cartesia-sonic', 'elevenlabs-flash', 'elevenlabs-multilingual'] as const;

/**
 * Server images, pinned (a restart must not change what runs). Confirm each resolves before the
 * first deploy (`docker manifest inspect <image>`): the build machine cannot reach the registries.
 * - vLLM: v0.25.0, released by 2026-07-12 (llm-d/llm-d-benchmark#1623; reference self-hosted-inference.md).
 * - speaches: 0.8.3 (2025-09-18) with the CUDA suffix its docker-build-and-push.yaml publishes
 *   (semver {{major}}.{{minor}}.{{patch}} + "-cuda", CUDA 12.9 base).
 * - Kokoro-FastAPI: v0.8.0 (2026-08-15), the GPU build (release.yml tags vX.Y.Z).
 */
export const INFERENCE_IMAGES = {
  llm: 'vllm/vllm-openai:v0.25.0',
  stt: 'ghcr.io/speaches-ai/speaches:0.8.3-cuda',
  tts: 'ghcr.io/remsky/kokoro-fastapi-gpu:v0.8.0',
} as const;

/** The default GPU instance: g6.xlarge, one L4 (24 GB, FP8-capable), the cheapest 24 GB GPU in the catalog. */
export const DEFAULT_GPU_INSTANCE_TYPE = 'g6.xlarge';

const gpuInstanceType = oneOf(GPU_INSTANCE_TYPES);

/**
 * The local LLM: vLLM's OpenAI-compatible server with tool calling on. Defaults: an 8B-class
 * instruct model with tool calling that needs no Hugging Face token (Qwen2.5-7B-Instruct is
 * Apache-2.0, ungated; Llama 3.1 is gated and needs a token the stack does not manage).
 */
const llmSchema = z
  .strictObject({
    /** Hugging Face model id the server loads (`vllm serve <model>`). */
    model: nonEmpty('a Hugging Face model id').default('Qwen/Qwen2.5-7B-Instruct'),
    /** The server image, pinned by tag or digest. */
    image: nonEmpty('an image reference').default(INFERENCE_IMAGES.llm),
    /** vLLM's --tool-call-parser for the model family (hermes: Qwen2.5; llama3_json: Llama 3.1). */
    toolCallParser: oneOf(PARSER_NAMES).default('hermes'),
    /** --chat-template, a path inside the image: required with llama3_json (vLLM's tool_chat_template_llama3.1_json.jinja). */
    chatTemplate: nonEmpty('a path inside the server image').optional(),
    /** --max-model-len: the longest context a call reaches (system prompt + the whole history); default 8192. */
    maxModelLen: wholeBetween(1024, 131_072, 'tokens of context').default(8192),
    /** GPU instance type; default g6.xlarge (one L4). */
    instanceType: gpuInstanceType.default(DEFAULT_GPU_INSTANCE_TYPE),
    /** GiB the weights take on the GPU: Qwen2.5-7B-Instruct, 7.62B parameters in BF16 (model card) x 2 bytes = 14.2 GiB. */
    weightsGiB: positive('GiB of model weights on the GPU').default(14.2),
    /**
     * KiB of KV cache per token: Qwen2.5-7B config.json, 28 layers x 4 KV heads x 128 head dim x
     * (K and V) x 2 bytes = 56 KiB.
     */
    kvCacheKiBPerToken: positive('KiB of KV cache per token').default(56),
    /**
     * Requests one GPU serves at once, the concurrency the throughput below was measured at.
     * 16 keeps a reply streaming at ~25 tokens/s (400 / 16), faster than speech. Measure with
     * `vllm bench serve --max-concurrency 16`.
     */
    concurrency: wholeBetween(1, 1024, 'concurrent requests per GPU').default(16),
    /**
     * Output tokens per second one GPU produces at `concurrency`. Published: 513 tok/s for
     * Llama-3.1-8B-Instruct on one L4 at request_rate=inf (arc53/llm-price-compass, 2024-08-13),
     * saturated; 400 assumes ~80% of that at concurrency 16 (UNVERIFIED: measure with
     * `vllm bench serve`).
     */
    outputTokensPerSecond: positive('output tokens per second per GPU').default(400),
    /**
     * Prompt (prefill) tokens per second one GPU processes. Derived: L4 121 dense FP16 TFLOPS
     * (NVIDIA L4 datasheet, 242 with sparsity) / 2 x 7.6 G FLOPs per token x ~40% utilisation
     * = ~3,200; 3,000 kept. UNVERIFIED: measure (the input lengths of `vllm bench serve`).
     */
    prefillTokensPerSecond: positive('prompt tokens per second per GPU').default(3000),
    /**
     * Share of each turn's prompt served from vLLM's prefix cache (automatic prefix caching,
     * on by default in the V1 engine): every turn re-sends the system prompt and the history the
     * previous turn already computed, ~90% of the prompt at the usage defaults; 0.8 allows for
     * evictions under load.
     */
    prefixCacheHitShare: share('share of prompt tokens served from the prefix cache').default(0.8),
    /** Share of a GPU's measured throughput the plan fills: the rest is headroom for bursts (0.7 = 30% headroom). */
    targetUtilization: utilization('planned share of a GPU\'s throughput').default(0.7),
    /** GPUs kept running at the least (the hosted fallback covers a failed one). */
    minGpus: wholeBetween(1, 64, 'GPUs at the least').default(1),
    /** The hosted model routine turns fall back to, and the local model is compared with (break-even). */
    hostedFallback: oneOf(HOSTED_LLM_FALLBACKS).default('gpt-4o-mini'),
  })
  .prefault({});

/** The local speech-to-text: speaches (OpenAI-compatible /v1/audio/transcriptions, faster-whisper). */
const sttSchema = z
  .strictObject({
    /** Model speaches loads (a CTranslate2 Whisper on Hugging Face). */
    model: nonEmpty('a Hugging Face model id').default('deepdml/faster-whisper-large-v3-turbo-ct2'),
    image: nonEmpty('an image reference').default(INFERENCE_IMAGES.stt),
    instanceType: gpuInstanceType.default(DEFAULT_GPU_INSTANCE_TYPE),
    /**
     * Seconds of audio one GPU transcribes per second. faster-whisper's README: large-v2, int8,
     * beam 5, 13 minutes of audio in 59 s on an RTX 3070 Ti = 13x real time; large-v3-turbo (4
     * decoder layers instead of 32) is faster, so 13 is conservative. UNVERIFIED on L4: measure.
     */
    audioSecondsPerGpuSecond: positive('seconds of audio per GPU-second').default(13),
    targetUtilization: utilization('planned share of a GPU\'s throughput').default(0.7),
    minGpus: wholeBetween(1, 64, 'GPUs at the least').default(1),
    /** The hosted STT it falls back to (and is compared with). */
    hostedFallback: oneOf(HOSTED_STT_FALLBACKS).default('deepgram-nova-3'),
  })
  .prefault({});

/** The local text-to-speech: Kokoro-FastAPI (OpenAI-compatible /v1/audio/speech, 24 kHz PCM). */
const ttsSchema = z
  .strictObject({
    model: nonEmpty('the server\'s model name').default('kokoro'),
    /** Kokoro voice id. */
    voice: nonEmpty('a voice id').default('af_heart'),
    image: nonEmpty('an image reference').default(INFERENCE_IMAGES.tts),
    instanceType: gpuInstanceType.default(DEFAULT_GPU_INSTANCE_TYPE),
    /**
     * Seconds of speech one GPU synthesises per second. Kokoro-FastAPI's README: 35x-100x real
     * time on an RTX 4060 Ti 16 GB; 35, the low end, is kept. UNVERIFIED on L4: measure.
     */
    speechSecondsPerGpuSecond: positive('seconds of speech per GPU-second').default(35),
    targetUtilization: utilization('planned share of a GPU\'s throughput').default(0.7),
    minGpus: wholeBetween(1, 64, 'GPUs at the least').default(1),
    hostedFallback: oneOf(HOSTED_TTS_FALLBACKS).default('cartesia-sonic'),
  })
  .prefault({});

/**
 * Self-hosted inference. Each model runs only when its provider is `local`; the sections hold its
 * server and planning inputs either way (so `npm run cost -- --local` can price the switch).
 */
export const inferenceSchema = z
  .strictObject({
    llm: llmSchema,
    stt: sttSchema,
    tts: ttsSchema,
    /**
     * GPU AMI, pinned (ami-...). Unset: the public SSM parameter of the Deep Learning Base OSS
     * Nvidia Driver GPU AMI (Ubuntu 22.04), read at each deploy; a new one rolls the inference
     * groups through their instance refresh, each instance drained by its termination hook.
     */
    amiId: z.string().regex(/^ami-[0-9a-f]{8}([0-9a-f]{9})?$/, 'must be an AMI id such as ami-0123456789abcdef0').optional(),
    /** Seconds a stopping inference instance keeps answering the requests it holds; default 60 (a turn takes seconds). */
    drainSeconds: wholeBetween(30, 3600, 'seconds an inference server drains').default(60),
    /**
     * Kubernetes: the Prometheus server KEDA queries to scale the servers (it scrapes the pods'
     * /metrics through their prometheus.io annotations; the STT and TTS servers' GPU use comes from
     * NVIDIA's dcgm-exporter). Needs kubernetes.keda. Unset: the servers run at their spike size.
     */
    prometheusUrl: z.url({ error: 'must be the http(s) URL of a Prometheus server, e.g. http://prometheus-server.monitoring.svc:80' }).optional(),
    /** Root volume of a GPU instance, GiB of gp3: the server image (~10 GB for vLLM) and the model weights (~15 GB). */
    rootVolumeGiB: wholeBetween(40, 16_384, 'GiB root volume per GPU instance').default(100),
  })
  .prefault({});

export type InferenceConfig = z.infer<typeof inferenceSchema>;
