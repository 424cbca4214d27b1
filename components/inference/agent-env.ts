/**
 * What the agent workers are told about the local models: the environment the agent reads
 * (agent/src/voice/providers.ts). Pure. The URLs are the OpenAI-compatible base URLs (…/v1) of each
 * model's internal load balancer (AWS) or Service (Kubernetes); no key (the servers take none).
 */
import type { InferencePlan, LlmServerPlan, Modality } from './plan.js';

/** The agent's variable names, one place for both targets and the agent's tests. */
export const LOCAL_ENV = {
  llm: { url: 'LOCAL_LLM_URL', model: 'LOCAL_LLM_MODEL', parallelToolCalls: 'LOCAL_LLM_PARALLEL_TOOL_CALLS' },
  stt: { url: 'LOCAL_STT_URL', model: 'LOCAL_STT_MODEL' },
  tts: { url: 'LOCAL_TTS_URL', model: 'LOCAL_TTS_MODEL', voice: 'LOCAL_TTS_VOICE' },
} as const;

/** The OpenAI-compatible base URL of a server reached at a host name. */
export function inferenceBaseUrl(host: string, port: number): string {
  return `http://${host}:${port}/v1`;
}

/**
 * The agent's environment for the planned local models, given each server's host (load balancer
 * DNS name or Service name). `ttsVoice`: the Kokoro voice (inference.tts.voice).
 */
export function agentInferenceEnvironment(plan: InferencePlan, hosts: Partial<Record<Modality, string>>, ttsVoice: string): Record<string, string> {
  const env: Record<string, string> = {};
  const host = (m: Modality) => {
    const h = hosts[m];
    if (!h) throw new Error(`no host for the local ${m} server`);
    return h;
  };
  if (plan.llm) {
    const llm = plan.llm as LlmServerPlan;
    env[LOCAL_ENV.llm.url] = inferenceBaseUrl(host('llm'), llm.port);
    env[LOCAL_ENV.llm.model] = llm.model;
    env[LOCAL_ENV.llm.parallelToolCalls] = String(llm.parallelToolCalls);
  }
  if (plan.stt) {
    env[LOCAL_ENV.stt.url] = inferenceBaseUrl(host('stt'), plan.stt.port);
    env[LOCAL_ENV.stt.model] = plan.stt.model;
  }
  if (plan.tts) {
    env[LOCAL_ENV.tts.url] = inferenceBaseUrl(host('tts'), plan.tts.port);
    env[LOCAL_ENV.tts.model] = plan.tts.model;
    env[LOCAL_ENV.tts.voice] = ttsVoice;
  }
  return env;
}
