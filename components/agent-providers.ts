/**
 * Which hosted providers the bundled agent talks to, and so which API keys and TTS vendor the
 * deploy gives it (AWS: aws.agentEnvSecretArn and TTS_PROVIDER; Kubernetes: agentEnvSecret and
 * TTS_PROVIDER). Pure; read against agent/src/voice/providers.ts.
 */
import type { StackConfig } from './config.js';

/** The config the agent's hosted providers follow from. */
export type ProviderConfig = Pick<StackConfig, 'providers' | 'inference'>;

/**
 * The hosted speech providers the agent worker talks to: the configured ones, or, for a local
 * model, its hosted fallback (inference.<modality>.hostedFallback), which the worker keeps behind
 * the local server (agent/src/voice/providers.ts).
 */
export function hostedSpeechProviders(config: ProviderConfig): { stt: string; tts: string } {
  const { stt, tts } = config.providers;
  return {
    stt: stt === 'local' ? config.inference.stt.hostedFallback : stt,
    tts: tts === 'local' ? config.inference.tts.hostedFallback : tts,
  };
}

/**
 * The variables the agent worker needs for the configured providers (agent/src/voice/providers.ts):
 * OPENAI_API_KEY always (the hosted models, and the fallback of a local one), DEEPGRAM_API_KEY for
 * Deepgram STT, CARTESIA_API_KEY or ELEVEN_API_KEY for the TTS vendor (a local model's fallback's).
 */
export function agentProviderKeys(config: ProviderConfig): string[] {
  const keys = ['OPENAI_API_KEY'];
  if (hostedSpeechProviders(config).stt.startsWith('deepgram')) keys.push('DEEPGRAM_API_KEY');
  keys.push(ttsVendor(config) === 'cartesia' ? 'CARTESIA_API_KEY' : 'ELEVEN_API_KEY');
  return keys;
}

/** The agent image's hosted TTS vendor (TTS_PROVIDER: cartesia or elevenlabs). */
export function ttsVendor(config: ProviderConfig): 'cartesia' | 'elevenlabs' {
  const tts = hostedSpeechProviders(config).tts;
  if (tts.startsWith('cartesia')) return 'cartesia';
  if (tts.startsWith('elevenlabs')) return 'elevenlabs';
  throw new Error(`no agent TTS vendor for "${tts}"`);
}
