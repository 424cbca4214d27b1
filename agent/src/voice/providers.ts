/**
 * Speech and language providers from the spec and the environment: Deepgram STT, OpenAI LLMs,
 * Cartesia or ElevenLabs TTS, Silero VAD; fallbacks where a second provider is configured.
 *
 * LLM routing (reference article, "LLM inference at scale"): routine agents run on a local
 * OpenAI-compatible model (LOCAL_LLM_URL: vLLM, Ollama, ...) behind an llm.FallbackAdapter that
 * falls back to the hosted routine model when the local one fails or is slow to answer; complex
 * agents run on the stronger hosted model (gpt-4o by default).
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

export interface ProviderSettings {
  stt: { model: string; language: string; apiKey: string; fallback?: { provider: 'openai'; apiKey: string } };
  llm: {
    routine: LlmModel;
    complex: LlmModel;
    openaiApiKey: string;
    /** Present when LOCAL_LLM_URL is set. */
    local?: { url: string; model: string; apiKey: string; timeoutSeconds: number };
  };
  tts: TtsSettings & { fallback?: TtsSettings };
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

/**
 * Resolves the providers section of the spec with the environment. Keys come from the
 * environment only; a missing key is a ConfigError naming the variable (never its value).
 */
export function resolveProviderSettings(spec: ProvidersSpec, env: Env): ProviderSettings {
  const openaiApiKey = requireKey(env, 'OPENAI_API_KEY', 'for the hosted OpenAI models');
  const localUrl = value(env, 'LOCAL_LLM_URL');
  if (localUrl !== undefined && !/^https?:\/\/[^\s]+$/.test(localUrl)) {
    throw new ConfigError('LOCAL_LLM_URL', `LOCAL_LLM_URL=${JSON.stringify(localUrl)} is invalid: must be the http(s) base URL of an OpenAI-compatible API, e.g. http://vllm:8000/v1`);
  }
  const tts = resolveTtsSettings(spec, env);
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
            },
          }
        : {}),
    },
    tts,
    turnDetection,
    choice: { stt: 'deepgram-nova-3', tts: catalogTts(tts.provider, tts.model), telephony },
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

export function ttsIdentity(settings: TtsSettings): TtsIdentity {
  return { provider: settings.provider, model: settings.model, voice: settings.voice };
}

/** Instantiates the providers (no network until a call uses them). */
export function buildVoiceProviders(settings: ProviderSettings, vad: VAD): VoiceProviders {
  const deepgramStt = new deepgram.STT({ apiKey: settings.stt.apiKey, model: settings.stt.model, language: settings.stt.language });
  const speechToText = settings.stt.fallback
    ? new stt.FallbackAdapter({ sttInstances: [deepgramStt, new openai.STT({ apiKey: settings.stt.fallback.apiKey })], vad })
    : deepgramStt;
  const primaryTts = buildTts(settings.tts);
  const textToSpeech = settings.tts.fallback
    ? new tts.FallbackAdapter({ ttsInstances: [primaryTts, buildTts(settings.tts.fallback)] })
    : primaryTts;
  const hosted = (model: LlmModel) => new openai.LLM({ model, apiKey: settings.llm.openaiApiKey });
  const local = settings.llm.local;
  return {
    stt: speechToText,
    tts: textToSpeech,
    vad,
    llm: routeLlms({
      local: local ? new openai.LLM({ model: local.model, baseURL: local.url, apiKey: local.apiKey }) : undefined,
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
