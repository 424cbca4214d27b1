/**
 * Provider usage and its price: what one call (or one month of calls) consumed from speech, LLM,
 * TTS and telephony providers, priced with the shared catalog. The Pulumi cost engine prices its
 * expected usage with it; the agent prices each call's measured usage with it.
 */
import { type PriceCatalog, price } from './catalog.js';

/** `local`: the stack's own OpenAI-compatible Whisper server (inference.stt): no per-minute fee, its GPUs priced as infrastructure. */
export const STT_PROVIDERS = ['deepgram-nova-3', 'local'] as const;
export const LLM_MODELS = [
  'gpt-4o',
  'gpt-4o-mini',
  'gpt-4.1',
  'gpt-4.1-mini',
  'claude-haiku-4.5',
  'claude-sonnet-4.5',
  'local',
] as const;
/** `local`: the stack's own OpenAI-compatible Kokoro server (inference.tts): no per-character fee, its GPUs priced as infrastructure. */
export const TTS_PROVIDERS = ['cartesia-sonic', 'elevenlabs-flash', 'elevenlabs-multilingual', 'local'] as const;
export const TELEPHONY_PROVIDERS = ['twilio', 'sip-trunk'] as const;

export type SttProvider = (typeof STT_PROVIDERS)[number];
export type LlmModel = (typeof LLM_MODELS)[number];
export type TtsProvider = (typeof TTS_PROVIDERS)[number];
export type TelephonyProvider = (typeof TELEPHONY_PROVIDERS)[number];

/** Which provider serves each part of a call. */
export interface ProviderChoice {
  stt: SttProvider;
  tts: TtsProvider;
  telephony: TelephonyProvider;
}

/** What calls consumed from the providers. */
export interface ProviderUsage {
  /** Caller audio streamed to STT, in minutes. */
  sttMinutes: number;
  /** Tokens per LLM model. */
  llm: ReadonlyArray<{ model: LlmModel; inputTokens: number; outputTokens: number }>;
  /** Characters synthesised by the TTS provider (cached phrases excluded). */
  ttsCharacters: number;
  /** Telephony minutes (inbound leg). */
  telephonyMinutes: number;
}

/** One priced line of provider usage. */
export interface UsagePriceLine {
  item: string;
  /** Catalog key the unit price comes from. */
  priceKey: string;
  /** What was used, in natural units (minutes, tokens, characters). */
  amount: number;
  /** The natural unit of `amount`, e.g. "input tokens". */
  amountUnit: string;
  /** Quantity in the price's unit (e.g. millions of tokens). */
  quantity: number;
  unitUsd: number;
  usd: number;
}

/** Prices usage line by line with the catalog; the lines sum to the usage's cost. */
export function priceUsage(usage: ProviderUsage, providers: ProviderChoice, catalog: PriceCatalog): UsagePriceLine[] {
  const lines: UsagePriceLine[] = [line(`STT ${providers.stt}`, `stt.${providers.stt}.minute`, usage.sttMinutes, 'audio minutes', 1, catalog)];
  for (const { model, inputTokens, outputTokens } of usage.llm) {
    lines.push(line(`LLM ${model} input`, `llm.${model}.input`, inputTokens, 'input tokens', 1e6, catalog));
    lines.push(line(`LLM ${model} output`, `llm.${model}.output`, outputTokens, 'output tokens', 1e6, catalog));
  }
  lines.push(line(`TTS ${providers.tts}`, `tts.${providers.tts}.characters`, usage.ttsCharacters, 'characters synthesised (cache hits excluded)', 1e6, catalog));
  lines.push(line(`Telephony ${providers.telephony}`, `telephony.${providers.telephony}.minute`, usage.telephonyMinutes, 'inbound minutes', 1, catalog));
  return lines;
}

/** Total USD of the usage. */
export function usageCostUsd(usage: ProviderUsage, providers: ProviderChoice, catalog: PriceCatalog): number {
  return sum(priceUsage(usage, providers, catalog).map((l) => l.usd));
}

function line(item: string, priceKey: string, amount: number, amountUnit: string, unitScale: number, catalog: PriceCatalog): UsagePriceLine {
  const quantity = amount / unitScale;
  const unitUsd = price(catalog, priceKey);
  return { item, priceKey, amount, amountUnit, quantity, unitUsd, usd: quantity * unitUsd };
}

export function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
