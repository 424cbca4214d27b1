/**
 * Provider routing: routine agents on the local model, complex ones on the stronger model, and a
 * failing local model falling back to the hosted one (llm.FallbackAdapter). Then the wiring from
 * spec and environment to real plugin instances (constructed, never called: no network).
 */
import { llm, type VAD } from '@livekit/agents';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../src/config.js';
import { BillingAgent, loadAgentSpec, SchedulingAgent } from '../src/voice/agents/index.js';
import type { RunningCall } from '../src/voice/call.js';
import { buildVoiceProviders, catalogModelResolver, llmForTier, resolveProviderSettings, routeLlms } from '../src/voice/providers.js';
import { say, startTestCall } from './helpers/call-harness.js';
import { quietFrameworkLogs, ScriptedLLM, SPEC_PATH } from './helpers/voice-fakes.js';

beforeAll(quietFrameworkLogs);

let running: RunningCall | undefined;
afterEach(async () => {
  await running?.session.close();
  running = undefined;
});

const ROUTER = 'route each caller';
const SCHEDULING = 'You book, move and cancel appointments';

/** Three models as the tiers see them: local (self-hosted), hosted routine, hosted complex. */
function models() {
  const local = new ScriptedLLM({
    model: 'llama3.1:8b',
    provider: 'local.test',
    replies: [
      { agent: ROUTER, input: 'I need to book an appointment', toolCalls: [{ name: 'transfer_to_scheduling', args: {} }], usage: { inputTokens: 300, outputTokens: 12 } },
      { agent: ROUTER, input: 'There is a charge on my bill I do not recognise', toolCalls: [{ name: 'transfer_to_billing', args: {} }], usage: { inputTokens: 310, outputTokens: 12 } },
      { agent: SCHEDULING, input: 'I need to book an appointment', content: 'local: which day suits you?', usage: { inputTokens: 400, outputTokens: 9 } },
    ],
  });
  const hostedRoutine = new ScriptedLLM({
    model: 'gpt-4o-mini',
    provider: 'api.openai.com',
    replies: [
      { agent: ROUTER, input: 'I need to book an appointment', toolCalls: [{ name: 'transfer_to_scheduling', args: {} }], usage: { inputTokens: 300, outputTokens: 12 } },
      { agent: SCHEDULING, input: 'I need to book an appointment', content: 'hosted: which day suits you?', usage: { inputTokens: 400, outputTokens: 9 } },
    ],
  });
  const strong = new ScriptedLLM({
    model: 'gpt-4o',
    provider: 'api.openai.com',
    replies: [{ input: 'There is a charge on my bill I do not recognise', content: 'strong: let me look at that invoice.', usage: { inputTokens: 500, outputTokens: 20 } }],
  });
  const tiers = routeLlms({ local, hostedRoutine, complex: strong, localTimeoutSeconds: 5 });
  return { local, hostedRoutine, strong, tiers, llmFor: (_agent: string, tier: 'routine' | 'complex') => llmForTier(tiers, tier) };
}

describe('provider routing', () => {
  it('runs a routine intent on the local model', async () => {
    const m = models();
    running = await startTestCall({ router: m.tiers.routine, llmFor: m.llmFor });

    const { result, spoken } = await say(running, 'I need to book an appointment');

    result.expect.containsAgentHandoff({ newAgentType: SchedulingAgent });
    expect(spoken).toContain('local: which day suits you?');
    expect(m.local.asked).toEqual(['I need to book an appointment', 'I need to book an appointment']); // router, then scheduling
    expect(m.hostedRoutine.asked).toEqual([]);
    expect(m.strong.asked).toEqual([]);
    // Local tokens are recorded under the catalog's "local" model (no per-token fee).
    expect(running.finish().usage.llm).toEqual([{ model: 'local', inputTokens: 700, outputTokens: 21 }]);
  });

  it('runs a complex intent on the stronger model', async () => {
    const m = models();
    running = await startTestCall({ router: m.tiers.routine, llmFor: m.llmFor });

    const { result, spoken } = await say(running, 'There is a charge on my bill I do not recognise');

    result.expect.containsAgentHandoff({ newAgentType: BillingAgent });
    expect(m.strong.asked).toEqual(['There is a charge on my bill I do not recognise']);
    expect(spoken).toContain('strong: let me look at that invoice.');
    expect(running.finish().usage.llm).toEqual([
      { model: 'gpt-4o', inputTokens: 500, outputTokens: 20 },
      { model: 'local', inputTokens: 310, outputTokens: 12 },
    ]);
  });

  it('falls back to the hosted model when the local model fails', async () => {
    const m = models();
    m.local.fail = true;
    running = await startTestCall({ router: m.tiers.routine, llmFor: m.llmFor, localLlmProvider: 'local.test' });

    const { result, spoken } = await say(running, 'I need to book an appointment');

    result.expect.containsAgentHandoff({ newAgentType: SchedulingAgent });
    expect(m.local.asked.length).toBeGreaterThan(0); // it was tried first
    expect(m.hostedRoutine.asked).toEqual(['I need to book an appointment', 'I need to book an appointment']);
    expect(spoken).toContain('hosted: which day suits you?');
    // The fallback's tokens are priced as the hosted model, once (the adapter's own metrics are not counted twice).
    expect(running.finish().usage.llm).toEqual([{ model: 'gpt-4o-mini', inputTokens: 700, outputTokens: 21 }]);
    // The fallback answered: the supervisor does not count the local model's failure as a failed turn.
    expect(running.call.supervisor.failedTurnCount).toBe(0);
  });
});

describe('providers from spec and environment', () => {
  const spec = loadAgentSpec(SPEC_PATH);
  const keys = { OPENAI_API_KEY: 'sk-test', DEEPGRAM_API_KEY: 'dg-test', CARTESIA_API_KEY: 'ca-test' };
  const vad = {} as VAD; // only the STT fallback would use it

  it('routes routine turns to LOCAL_LLM_URL with the hosted routine model as fallback, complex turns to gpt-4o', () => {
    const settings = resolveProviderSettings(spec.providers, { ...keys, LOCAL_LLM_URL: 'http://vllm:8000/v1', LOCAL_LLM_MODEL: 'qwen2.5:7b' });
    const providers = buildVoiceProviders(settings, vad);
    const routine = providers.llm.routine;
    expect(routine).toBeInstanceOf(llm.FallbackAdapter);
    const [first, second] = (routine as llm.FallbackAdapter).llms;
    expect([first?.model, first?.provider]).toEqual(['qwen2.5:7b', 'vllm:8000']);
    expect([second?.model, second?.provider]).toEqual(['gpt-4o-mini', 'api.openai.com']);
    expect(providers.llm.complex.model).toBe('gpt-4o');
    expect(providers.catalogModel('vllm:8000', 'qwen2.5:7b')).toBe('local');
    expect(settings.choice).toEqual({ stt: 'deepgram-nova-3', tts: 'cartesia-sonic', telephony: 'sip-trunk' });
  });

  it('uses the hosted routine model directly when no local model is configured', () => {
    const providers = buildVoiceProviders(resolveProviderSettings(spec.providers, keys), vad);
    expect(providers.llm.routine).not.toBeInstanceOf(llm.FallbackAdapter);
    expect(providers.llm.routine.model).toBe('gpt-4o-mini');
  });

  it('adds the TTS fallback only when its key is set', () => {
    expect(resolveProviderSettings(spec.providers, keys).tts.fallback).toBeUndefined();
    const withEleven = resolveProviderSettings(spec.providers, { ...keys, ELEVEN_API_KEY: 'el-test' });
    expect(withEleven.tts.fallback?.provider).toBe('elevenlabs');
    expect(buildVoiceProviders(withEleven, vad).tts.label).toBe('tts.FallbackAdapter');
  });

  it('names the missing key, never a value', () => {
    const { DEEPGRAM_API_KEY: _omit, ...rest } = keys;
    expect(() => resolveProviderSettings(spec.providers, rest)).toThrow(ConfigError);
    expect(() => resolveProviderSettings(spec.providers, rest)).toThrow('DEEPGRAM_API_KEY is required');
  });

  it('prices dated model snapshots as their family and leaves unknown models unpriced', () => {
    const resolve = catalogModelResolver('vllm:8000');
    expect(resolve('api.openai.com', 'gpt-4o-2024-08-06')).toBe('gpt-4o');
    expect(resolve('api.openai.com', 'gpt-4o-mini')).toBe('gpt-4o-mini');
    expect(resolve('api.openai.com', 'o9-preview')).toBeUndefined();
  });
});
