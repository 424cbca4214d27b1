/**
 * Speech and language providers from the spec and the environment: Deepgram STT, OpenAI LLMs,
 * Cartesia or ElevenLabs TTS, Silero VAD; fallbacks where a second provider is configured.
 *
 * LLM routing (reference article, "LLM inference at scale"): routine agents run on a local
 * OpenAI-compatible model (LOCAL_LLM_URL: vLLM, Ollama, ...) behind an llm.FallbackAdapter that
 * falls back to the hosted routine model when the local one fails or is slow to answer; complex
 * agents run on the stronger hosted model (gpt-4o by default). LOCAL_LLM_PARALLEL_TOOL_CALLS=false
 * for a model that cannot emit several tool calls in a turn (Llama 3 with vLLM's llama3_json).
 *
 * Local speech (the stack's own servers, components/inference): LOCAL_STT_URL (an OpenAI-compatible
 * /v1/audio/transcriptions, e.g. speaches) and LOCAL_TTS_URL (/v1/audio/speech, 24 kHz PCM, e.g.
 * Kokoro-FastAPI), each through the OpenAI plugin's base URL, first in a fallback adapter whose
 * next entry is the hosted provider. The local STT is not streamed: the VAD cuts each utterance.
 *
 * Costs are priced with the shared catalog, so every provider maps to a catalog name here.
 */
import { llm, stt, tts } from '@livekit/agents';
import * as cartesia from '@livekit/agents-plugin-cartesia';
import * as deepgram from '@livekit/agents-plugin-deepgram';
import * as elevenlabs from '@livekit/agents-plugin-elevenlabs';
import * as openai from '@livekit/agents-plugin-openai';
import type { VAD } from '@livekit/agents';
import { LLM_MODELS, type LlmModel, type ProviderChoice, type TtsProvider } from '@voice-agent-infra/common';
import { ConfigError, type Env } from '../config.js';
import type { TtsIdentity } from './phrase-cache.js';
import type { ModelTier, ProvidersSpec } from './spec.js';

type TtsVendor = 'cartesia' | 'elevenlabs';

export interface TtsSettings {
  provider: TtsVendor;
  model: string;
  voice: string;
  apiKey: string;
}

/** A local OpenAI-compatible speech server (LOCAL_STT_URL / LOCAL_TTS_URL). */
export interface LocalSpeechSettings {
  url: string;
  model: string;
  apiKey: string;
}

export interface ProviderSettings {
  stt: {
    model: string;
    language: string;
    apiKey: string;
    fallback?: { provider: 'openai'; apiKey: string };
    /** Present when LOCAL_STT_URL is set: tried first, the hosted STT behind it. */
    local?: LocalSpeechSettings;
  };
  llm: {
    routine: LlmModel;
    complex: LlmModel;
    openaiApiKey: string;
    /** Present when LOCAL_LLM_URL is set. */
    local?: {
      url: string;
      model: string;
      apiKey: string;
      timeoutSeconds: number;
      /** false where the model cannot emit several tool calls in one turn (LOCAL_LLM_PARALLEL_TOOL_CALLS); unset: the plugin's default (true). */
      parallelToolCalls?: boolean;
    };
  };
  tts: TtsSettings & {
    fallback?: TtsSettings;
    /** Present when LOCAL_TTS_URL is set: tried first, the hosted TTS behind it. */
    local?: LocalSpeechSettings & { voice: string };
  };
  turnDetection: 'vad' | 'stt';
  /** Catalog names the call cost is priced with. */
  choice: ProviderChoice;
}

const DEFAULT_TTS: Record<TtsVendor, { model: string; voice: string }> = {
  cartesia: { model: 'sonic-2', voice: 'f786b574-daa5-4673-aa0c-cbe3e8534c02' },
  elevenlabs: { model: 'eleven_flash_v2_5', voice: 'bIHbv24MWmeRgasZH58o' },
};
const TTS_KEY: Record<TtsVendor, string> = { cartesia: 'CARTESIA_API_KEY', elevenlabs: 'ELEVEN_API_KEY' };

function value(env: Env, name: string): string | undefined {
  const v = env[name]?.trim();
  return v ? v : undefined;
}

function requireKey(env: Env, name: string, why: string): string {
  const v = value(env, name);
  if (!v) throw new ConfigError(name, `${name} is required: set it to the API key ${why}`);
  return v;
}

/** Catalog TTS product for a vendor and model. */
export function catalogTts(provider: TtsVendor, model: string): TtsProvider {
  if (provider === 'cartesia') return 'cartesia-sonic';
  return /multilingual/i.test(model) ? 'elevenlabs-multilingual' : 'elevenlabs-flash';
}

/** The TTS part alone (the precache CLI needs only the TTS key). */
export function resolveTtsSettings(spec: ProvidersSpec, env: Env): TtsSettings & { fallback?: TtsSettings } {
  const vendorRaw = value(env, 'TTS_PROVIDER') ?? spec.tts.provider;
  if (vendorRaw !== 'cartesia' && vendorRaw !== 'elevenlabs') {
    throw new ConfigError('TTS_PROVIDER', `TTS_PROVIDER=${JSON.stringify(vendorRaw)} is invalid: must be cartesia or elevenlabs`);
  }
  const vendor: TtsVendor = vendorRaw;
  // The spec's model and voice belong to the spec's vendor; TTS_PROVIDER switching vendor uses its defaults.
  const sameVendor = vendor === spec.tts.provider;
  const model = (sameVendor ? spec.tts.model : undefined) ?? DEFAULT_TTS[vendor].model;
  const primary: TtsSettings = {
    provider: vendor,
    model,
    voice: value(env, 'TTS_VOICE') ?? (sameVendor ? spec.tts.voice : undefined) ?? DEFAULT_TTS[vendor].voice,
    apiKey: requireKey(env, TTS_KEY[vendor], `for ${vendor} TTS`),
  };
  let ttsFallback: TtsSettings | undefined;
  const fb = spec.tts.fallback;
  // A fallback is used only when its key is there: a second provider is optional.
  if (fb && fb !== vendor && value(env, TTS_KEY[fb])) {
    ttsFallback = {
      provider: fb,
      model: DEFAULT_TTS[fb].model,
      voice: spec.tts.fallbackVoice ?? DEFAULT_TTS[fb].voice,
      apiKey: value(env, TTS_KEY[fb])!,
    };
  }
  return { ...primary, ...(ttsFallback ? { fallback: ttsFallback } : {}) };
}

function baseUrl(env: Env, name: string): string | undefined {
  const url = value(env, name);
  if (url !== undefined && !/^https?:\/\/[^\s]+$/.test(url)) {
    throw new ConfigError(name, `${name}=${JSON.stringify(url)} is invalid: must be the http(s) base URL of an OpenAI-compatible API, e.g. http://vllm:8000/v1`);
  }
  return url;
}

/** A variable that must be set when another is (LOCAL_STT_MODEL with LOCAL_STT_URL). */
function requiredWith(env: Env, name: string, withName: string, what: string): string {
  const v = value(env, name);
  if (!v) throw new ConfigError(name, `${name} is required with ${withName}: ${what}`);
  return v;
}

/** The local speech servers, when their URLs are set (no key: the stack's servers take none). */
function localSpeech(env: Env): { stt?: LocalSpeechSettings; tts?: LocalSpeechSettings & { voice: string } } {
  const sttUrl = baseUrl(env, 'LOCAL_STT_URL');
  const ttsUrl = baseUrl(env, 'LOCAL_TTS_URL');
  return {
    ...(sttUrl
      ? { stt: { url: sttUrl, model: requiredWith(env, 'LOCAL_STT_MODEL', 'LOCAL_STT_URL', 'the model the server transcribes with, e.g. deepdml/faster-whisper-large-v3-turbo-ct2'), apiKey: value(env, 'LOCAL_STT_API_KEY') ?? 'local' } }
      : {}),
    ...(ttsUrl
      ? {
          tts: {
            url: ttsUrl,
            model: requiredWith(env, 'LOCAL_TTS_MODEL', 'LOCAL_TTS_URL', 'the server\'s model name, e.g. kokoro'),
            voice: requiredWith(env, 'LOCAL_TTS_VOICE', 'LOCAL_TTS_URL', 'a voice of the server, e.g. af_heart'),
            apiKey: value(env, 'LOCAL_TTS_API_KEY') ?? 'local',
          },
        }
      : {}),
  };
}

function parallelToolCalls(env: Env): boolean | undefined {
  const raw = value(env, 'LOCAL_LLM_PARALLEL_TOOL_CALLS');
  if (raw === undefined) return undefined;
  if (raw !== 'true' && raw !== 'false') {
    throw new ConfigError('LOCAL_LLM_PARALLEL_TOOL_CALLS', `LOCAL_LLM_PARALLEL_TOOL_CALLS=${JSON.stringify(raw)} is invalid: must be true or false (false for a model that cannot emit several tool calls in a turn, e.g. Llama 3)`);
  }
  return raw === 'true';
}

/**
 * Resolves the providers section of the spec with the environment. Keys come from the
 * environment only; a missing key is a ConfigError naming the variable (never its value).
 */
export function resolveProviderSettings(spec: ProvidersSpec, env: Env): ProviderSettings {
  const openaiApiKey = requireKey(env, 'OPENAI_API_KEY', 'for the hosted OpenAI models');
  const localUrl = baseUrl(env, 'LOCAL_LLM_URL');
  const parallel = parallelToolCalls(env);
  const speech = localSpeech(env);
  const tts = { ...resolveTtsSettings(spec, env), ...(speech.tts ? { local: speech.tts } : {}) };
  const turnDetection = value(env, 'TURN_DETECTION') ?? spec.turnDetection;
  if (turnDetection !== 'vad' && turnDetection !== 'stt') {
    throw new ConfigError('TURN_DETECTION', `TURN_DETECTION=${JSON.stringify(turnDetection)} is invalid: must be vad or stt`);
  }
  const telephony = value(env, 'TELEPHONY_PROVIDER') ?? spec.telephony;
  if (telephony !== 'sip-trunk' && telephony !== 'twilio') {
    throw new ConfigError('TELEPHONY_PROVIDER', `TELEPHONY_PROVIDER=${JSON.stringify(telephony)} is invalid: must be sip-trunk or twilio`);
  }
  return {
    stt: {
      model: spec.stt.model,
      language: spec.stt.language,
      apiKey: requireKey(env, 'DEEPGRAM_API_KEY', 'for Deepgram STT'),
      ...(spec.stt.fallback === 'openai' ? { fallback: { provider: 'openai' as const, apiKey: openaiApiKey } } : {}),
      ...(speech.stt ? { local: speech.stt } : {}),
    },
    llm: {
      routine: spec.llm.routine,
      complex: spec.llm.complex,
      openaiApiKey,
      ...(localUrl
        ? {
            local: {
              url: localUrl,
              model: value(env, 'LOCAL_LLM_MODEL') ?? spec.llm.local.model,
              // OpenAI-compatible servers usually ignore the key, but the client insists on one.
              apiKey: value(env, 'LOCAL_LLM_API_KEY') ?? 'local',
              timeoutSeconds: spec.llm.local.timeoutSeconds,
              ...(parallel !== undefined ? { parallelToolCalls: parallel } : {}),
            },
          }
        : {}),
    },
    tts,
    turnDetection,
    // The local servers bill nothing per minute or character (their GPUs are the stack's infrastructure).
    choice: { stt: speech.stt ? 'local' : 'deepgram-nova-3', tts: speech.tts ? 'local' : catalogTts(tts.provider, tts.model), telephony },
  };
}

export interface LlmTiers {
  routine: llm.LLM;
  complex: llm.LLM;
}

/**
 * Composes the tiers. With a local model, routine turns try it first and fall back to the hosted
 * routine model when it errors or does not start answering within `localTimeoutSeconds`.
 */
export function routeLlms(options: { local?: llm.LLM; hostedRoutine: llm.LLM; complex: llm.LLM; localTimeoutSeconds: number }): LlmTiers {
  const routine = options.local
    ? new llm.FallbackAdapter({ llms: [options.local, options.hostedRoutine], attemptTimeout: options.localTimeoutSeconds, maxRetryPerLLM: 0 })
    : options.hostedRoutine;
  return { routine, complex: options.complex };
}

/**
 * The catalog model an LLM metrics event is priced as: anything served by the local endpoint is
 * "local" (no per-token fee); hosted models by name (dated snapshots such as gpt-4o-2024-08-06
 * price as their family). Returns undefined for a model the catalog does not know.
 */
export function catalogModelResolver(localProvider?: string): (provider: string, model: string) => LlmModel | undefined {
  const known = [...LLM_MODELS].sort((a, b) => b.length - a.length);
  return (provider, model) => {
    if (localProvider !== undefined && provider === localProvider) return 'local';
    if ((LLM_MODELS as readonly string[]).includes(model)) return model as LlmModel;
    return known.find((m) => m !== 'local' && model.startsWith(`${m}-`) && /^\d{4}-\d{2}-\d{2}$/.test(model.slice(m.length + 1)));
  };
}

/** Host the openai plugin reports as the provider of a base URL (its metrics carry it). */
export function providerHost(url: string): string {
  return new URL(url).host;
}

export interface VoiceProviders {
  stt: stt.STT;
  tts: tts.TTS;
  llm: LlmTiers;
  vad: VAD;
  ttsIdentity: TtsIdentity;
  /** LLM provider/model (metrics metadata) -> catalog model. */
  catalogModel: (provider: string, model: string) => LlmModel | undefined;
  /** Provider (host) the local model reports in its metrics, when there is one. */
  localProvider?: string;
}

export function buildTts(settings: TtsSettings): tts.TTS {
  return settings.provider === 'cartesia'
    ? new cartesia.TTS({ apiKey: settings.apiKey, model: settings.model, voice: settings.voice })
    : new elevenlabs.TTS({ apiKey: settings.apiKey, model: settings.model, voiceId: settings.voice });
}

/** Provider name of a local OpenAI-compatible speech server in the phrase cache's voice identity. */
export const LOCAL_TTS_PROVIDER = 'local';

/** The voice speech is rendered in: the local server's when there is one (it speaks first), else the hosted one's. */
export function ttsIdentity(settings: TtsSettings & { local?: { model: string; voice: string } }): TtsIdentity {
  if (settings.local) return { provider: LOCAL_TTS_PROVIDER, model: settings.local.model, voice: settings.local.voice };
  return { provider: settings.provider, model: settings.model, voice: settings.voice };
}

/**
 * The local Whisper server through the OpenAI plugin: the transcriptions endpoint (not its
 * realtime one: speaches' realtime session schema differs from the plugin's, reference
 * self-hosted-inference.md), so each VAD-cut utterance is posted as WAV.
 */
export function buildLocalStt(local: LocalSpeechSettings, language: string): stt.STT {
  return new openai.STT({ baseURL: local.url, apiKey: local.apiKey, model: local.model, language: language.split('-')[0]!, useRealtime: false });
}

/** The local TTS server through the OpenAI plugin: /v1/audio/speech, PCM at 24 kHz mono (Kokoro's native rate). */
export function buildLocalTts(local: LocalSpeechSettings & { voice: string }): tts.TTS {
  // The plugin types voice as OpenAI's voice names; a local server has its own.
  return new openai.TTS({ baseURL: local.url, apiKey: local.apiKey, model: local.model, voice: local.voice as never });
}

/** The local LLM through the OpenAI plugin (no withVLLM: a base URL and a dummy key). */
export function buildLocalLlm(local: NonNullable<ProviderSettings['llm']['local']>): llm.LLM {
  return new openai.LLM({ model: local.model, baseURL: local.url, apiKey: local.apiKey, ...(local.parallelToolCalls !== undefined ? { parallelToolCalls: local.parallelToolCalls } : {}) });
}

/** Instantiates the providers (no network until a call uses them). */
export function buildVoiceProviders(settings: ProviderSettings, vad: VAD): VoiceProviders {
  const deepgramStt = new deepgram.STT({ apiKey: settings.stt.apiKey, model: settings.stt.model, language: settings.stt.language });
  const hostedStt: stt.STT[] = [deepgramStt, ...(settings.stt.fallback ? [new openai.STT({ apiKey: settings.stt.fallback.apiKey })] : [])];
  const sttChain = [...(settings.stt.local ? [buildLocalStt(settings.stt.local, settings.stt.language)] : []), ...hostedStt];
  const speechToText = sttChain.length > 1 ? new stt.FallbackAdapter({ sttInstances: sttChain, vad }) : deepgramStt;
  const hostedTts = [buildTts(settings.tts), ...(settings.tts.fallback ? [buildTts(settings.tts.fallback)] : [])];
  const ttsChain = [...(settings.tts.local ? [buildLocalTts(settings.tts.local)] : []), ...hostedTts];
  const textToSpeech = ttsChain.length > 1 ? new tts.FallbackAdapter({ ttsInstances: ttsChain }) : hostedTts[0]!;
  const hosted = (model: LlmModel) => new openai.LLM({ model, apiKey: settings.llm.openaiApiKey });
  const local = settings.llm.local;
  return {
    stt: speechToText,
    tts: textToSpeech,
    vad,
    llm: routeLlms({
      local: local ? buildLocalLlm(local) : undefined,
      hostedRoutine: hosted(settings.llm.routine),
      complex: hosted(settings.llm.complex),
      localTimeoutSeconds: local?.timeoutSeconds ?? 2.5,
    }),
    ttsIdentity: ttsIdentity(settings.tts),
    catalogModel: catalogModelResolver(local ? providerHost(local.url) : undefined),
    ...(local ? { localProvider: providerHost(local.url) } : {}),
  };
}

/** The tier an agent's spec names, as an LLM. */
export function llmForTier(tiers: LlmTiers, tier: ModelTier): llm.LLM {
  return tier === 'complex' ? tiers.complex : tiers.routine;
}
