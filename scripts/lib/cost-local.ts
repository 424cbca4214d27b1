/**
 * `npm run cost -- --local llm[,stt,tts]`: each stack once as configured and once with the named
 * models served locally, side by side. Pure: the stack's raw config values in, the variant's out
 * (validated by the one config loader like any stack file).
 *
 * The variant compares like with like: the hosted provider a local model replaces is the stack's
 * own (its providers.llm, stt, tts), which becomes the local model's fallback and the break-even's
 * reference, unless the stack file names another.
 */
import { HOSTED_LLM_FALLBACKS, HOSTED_STT_FALLBACKS, HOSTED_TTS_FALLBACKS } from '../../components/inference/config.js';
import { MODALITIES, type Modality } from '../../components/inference/plan.js';
import { UsageError } from './cli.js';

/** The modalities a `--local` value names (comma-separated, at least one); a user error otherwise. */
export function parseLocalFlag(value: string): Modality[] {
  const names = [...new Set(value.split(',').map((s) => s.trim()).filter(Boolean))];
  if (names.length === 0) throw new UsageError(`--local ${JSON.stringify(value)}: name at least one model to run locally: ${MODALITIES.join(', ')} (comma-separated)`);
  for (const name of names) {
    if (!(MODALITIES as readonly string[]).includes(name)) {
      throw new UsageError(`--local ${JSON.stringify(value)}: unknown model "${name}"; allowed: ${MODALITIES.join(', ')} (comma-separated)`);
    }
  }
  return MODALITIES.filter((m) => names.includes(m));
}

/** The variant's name: "large+local-llm", "mid+local-llm-stt-tts". */
export function localVariantName(stack: string, modalities: readonly Modality[]): string {
  return `${stack}+local-${modalities.join('-')}`;
}

const FALLBACKS: Readonly<Record<Modality, readonly string[]>> = { llm: HOSTED_LLM_FALLBACKS, stt: HOSTED_STT_FALLBACKS, tts: HOSTED_TTS_FALLBACKS };
const DEFAULT_PROVIDER: Readonly<Record<Modality, string>> = { llm: 'gpt-4o-mini', stt: 'deepgram-nova-3', tts: 'cartesia-sonic' };

/** The stack's config values with the named models served locally (the rest as configured). */
export function localVariantValues(values: Readonly<Record<string, unknown>>, modalities: readonly Modality[]): Record<string, unknown> {
  const providers = { ...record(values.providers) };
  const inference = { ...record(values.inference) };
  for (const modality of modalities) {
    const hosted = String(providers[modality] ?? DEFAULT_PROVIDER[modality]);
    providers[modality] = 'local';
    const section = { ...record(inference[modality]) };
    // Compare with (and fall back to) the provider the stack pays today, when it is one the local model can fall back to.
    if (section.hostedFallback === undefined && FALLBACKS[modality].includes(hosted)) section.hostedFallback = hosted;
    inference[modality] = section;
  }
  return { ...values, providers, inference };
}

function record(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}
