/**
 * The local models through the real OpenAI plugin against an in-test OpenAI-compatible server
 * (src/dev/fake-openai-server.ts) that speaks the protocol the plugin uses and refuses what vLLM
 * refuses: a routine turn and a hand-off run on the local LLM (tool calls streamed as vLLM
 * streams them), and when the local server fails, the hosted fallback answers; local STT
 * (multipart WAV in, JSON out) and TTS (24 kHz PCM out) with their hosted fallbacks.
 */
import { llm, stt, tts, type VAD } from '@livekit/agents';
import * as openai from '@livekit/agents-plugin-openai';
import { AudioFrame } from '@livekit/rtc-node';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { ConfigError } from '../src/config.js';
import { FakeOpenAiServer, SPEECH_MS_PER_CHARACTER, speechFor, transcriptKey } from '../src/dev/fake-openai-server.js';
import { SchedulingAgent, loadAgentSpec } from '../src/voice/agents/index.js';
import type { RunningCall } from '../src/voice/call.js';
import {
  buildLocalLlm,
  buildLocalStt,
  buildLocalTts,
  buildVoiceProviders,
  catalogModelResolver,
  llmForTier,
  providerHost,
  resolveProviderSettings,
  routeLlms,
  ttsIdentity,
} from '../src/voice/providers.js';
import { say, startTestCall } from './helpers/call-harness.js';
import { quietFrameworkLogs, ScriptedLLM, SPEC_PATH } from './helpers/voice-fakes.js';

beforeAll(quietFrameworkLogs);

const ROUTER = 'route each caller';
const SCHEDULING = 'You book, move and cancel appointments';
const LOCAL_MODEL = 'Qwen/Qwen2.5-7B-Instruct';

/** The scripted conversation: the router hands over, scheduling answers. */
const REPLIES = (who: string) => [
  { agent: ROUTER, input: 'I need to book an appointment', toolCalls: [{ name: 'transfer_to_scheduling', arguments: {} }] },
  { agent: SCHEDULING, input: 'I need to book an appointment', content: `${who}: which day suits you?` },
  { agent: ROUTER, input: 'What are your opening hours?', content: `${who}: we are open nine to five.` },
];

const servers: FakeOpenAiServer[] = [];
async function server(options: ConstructorParameters<typeof FakeOpenAiServer>[0]): Promise<FakeOpenAiServer> {
  const s = await new FakeOpenAiServer(options).start();
  servers.push(s);
  return s;
}
let running: RunningCall | undefined;
afterEach(async () => {
  await running?.session.close();
  running = undefined;
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

/** vLLM serving the local model with tool calling on, and the hosted API behind it. */
async function llmPair(options: { parser?: 'hermes' | 'llama3_json'; toolCalling?: boolean } = {}) {
  const vllm = await server({ chatModels: [LOCAL_MODEL], toolCalling: options.toolCalling === false ? null : { parser: options.parser ?? 'hermes' }, replies: REPLIES('local') });
  const hosted = await server({ chatModels: ['gpt-4o-mini', 'gpt-4o'], toolCalling: { parser: 'openai' }, replies: REPLIES('hosted') });
  const local = buildLocalLlm({ url: vllm.baseURL, model: LOCAL_MODEL, apiKey: 'local', timeoutSeconds: 5, ...(options.parser === 'llama3_json' ? { parallelToolCalls: false } : {}) });
  const hostedRoutine = new openai.LLM({ model: 'gpt-4o-mini', baseURL: hosted.baseURL, apiKey: 'sk-test' });
  const complex = new ScriptedLLM({ model: 'gpt-4o' });
  const tiers = routeLlms({ local, hostedRoutine, complex, localTimeoutSeconds: 5 });
  return { vllm, hosted, tiers, llmFor: (_agent: string, tier: 'routine' | 'complex') => llmForTier(tiers, tier) };
}

describe('the local LLM behind its hosted fallback (real OpenAI plugin, OpenAI-compatible server)', () => {
  it('runs a routine turn and a hand-off on the local model, streaming the tool call as vLLM does', async () => {
    const m = await llmPair();
    running = await startTestCall({ router: m.tiers.routine, llmFor: m.llmFor, localLlmProvider: providerHost(m.vllm.baseURL), catalogModel: catalogModelResolver(providerHost(m.vllm.baseURL)) });

    const routine = await say(running, 'What are your opening hours?');
    expect(routine.spoken).toContain('local: we are open nine to five.');

    const { result, spoken } = await say(running, 'I need to book an appointment');
    result.expect.containsAgentHandoff({ newAgentType: SchedulingAgent });
    expect(spoken).toContain('local: which day suits you?');
    expect(m.hosted.chatRequests).toEqual([]);
    // What the plugin sent: streamed, usage asked for, the hand-off tools offered, tool_choice left to the server ("auto").
    const [first] = m.vllm.chatRequests;
    expect(first).toMatchObject({ model: LOCAL_MODEL, stream: true, stream_options: { include_usage: true } });
    expect(first!.tool_choice).toBeUndefined();
    expect((first!.tools as Array<{ function: { name: string } }>).map((t) => t.function.name)).toContain('transfer_to_scheduling');
    expect(m.vllm.unanswered).toEqual([]);
    // The local tokens (from the usage chunk) are recorded under the catalog's "local" model: $0 per token.
    const record = running.finish();
    const local = record.usage.llm.find((u) => u.model === 'local')!;
    expect(local.inputTokens).toBeGreaterThan(0);
    expect(local.outputTokens).toBeGreaterThan(0);
    expect(record.usage.llm.map((u) => u.model)).toEqual(['local']);
    expect(record.costUsd).toBe(0);
  });

  it('when the local server fails (500, or a dropped connection), the hosted model answers the same turn and the hand-off', async () => {
    for (const failure of [500, 'drop'] as const) {
      const m = await llmPair();
      m.vllm.fail = failure;
      running = await startTestCall({ router: m.tiers.routine, llmFor: m.llmFor, localLlmProvider: providerHost(m.vllm.baseURL), catalogModel: catalogModelResolver(providerHost(m.vllm.baseURL)) });
      const { result, spoken } = await say(running, 'I need to book an appointment');
      result.expect.containsAgentHandoff({ newAgentType: SchedulingAgent });
      expect(spoken, String(failure)).toContain('hosted: which day suits you?');
      expect(m.vllm.requests.length, String(failure)).toBeGreaterThan(0); // tried first
      expect(m.hosted.chatRequests.length).toBeGreaterThanOrEqual(2); // router, then scheduling
      // The hosted tokens are priced as gpt-4o-mini, not as the free local model.
      expect(running.finish().usage.llm.map((u) => u.model)).toEqual(['gpt-4o-mini']);
      expect(running.call.supervisor.failedTurnCount).toBe(0);
      await running.session.close();
      running = undefined;
    }
  });

  it('a vLLM started without --enable-auto-tool-choice refuses the tool-bearing request with a 400; the hosted model answers', async () => {
    const m = await llmPair({ toolCalling: false });
    // The refusal, as the OpenAI client surfaces it.
    const direct = await fetch(`${m.vllm.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: LOCAL_MODEL, stream: true, messages: [{ role: 'user', content: 'hi' }], tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }] }),
    });
    expect(direct.status).toBe(400);
    expect(await direct.json()).toEqual({ error: { message: '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set', type: 'BadRequestError', param: null, code: 400 } });

    running = await startTestCall({ router: m.tiers.routine, llmFor: m.llmFor, localLlmProvider: providerHost(m.vllm.baseURL) });
    const { result, spoken } = await say(running, 'I need to book an appointment');
    result.expect.containsAgentHandoff({ newAgentType: SchedulingAgent });
    expect(spoken).toContain('hosted: which day suits you?');
  });

  it('Llama 3 (llama3_json): the agent asks for no parallel tool calls, and a second call in the turn is dropped as vLLM drops it', async () => {
    const vllm = await server({
      chatModels: ['meta-llama/Llama-3.1-8B-Instruct'],
      toolCalling: { parser: 'llama3_json' },
      replies: [
        { agent: ROUTER, input: 'Book me in and check my bill', toolCalls: [{ name: 'transfer_to_scheduling', arguments: {} }, { name: 'transfer_to_billing', arguments: {} }] },
        { agent: SCHEDULING, input: 'Book me in and check my bill', content: 'local: scheduling here.' },
      ],
    });
    const local = buildLocalLlm({ url: vllm.baseURL, model: 'meta-llama/Llama-3.1-8B-Instruct', apiKey: 'local', timeoutSeconds: 5, parallelToolCalls: false });
    const tiers = routeLlms({ local, hostedRoutine: new ScriptedLLM({ model: 'gpt-4o-mini' }), complex: new ScriptedLLM({ model: 'gpt-4o' }), localTimeoutSeconds: 5 });
    running = await startTestCall({ router: tiers.routine, llmFor: (_a, tier) => llmForTier(tiers, tier) });
    const { result, spoken } = await say(running, 'Book me in and check my bill');
    expect(vllm.chatRequests[0]!.parallel_tool_calls).toBe(false);
    result.expect.containsAgentHandoff({ newAgentType: SchedulingAgent });
    expect(spoken).toContain('local: scheduling here.');
    expect(running.finish().agentPath).toEqual(['router', 'scheduling']);
  });
});

describe('local speech through the plugin base URL, hosted behind it', () => {
  const vad = {} as VAD; // the adapters only keep it for streaming, which these tests do not use

  /** One second of a 440 Hz tone at 24 kHz: what the caller said. */
  function utterance(): AudioFrame {
    const samples = new Int16Array(24_000);
    for (let i = 0; i < samples.length; i++) samples[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 24_000));
    return new AudioFrame(samples, 24_000, 1, samples.length);
  }

  it('STT: the utterance goes to /v1/audio/transcriptions as WAV, the transcript comes back; a failed server falls back to the hosted STT', async () => {
    const frame = utterance();
    const transcripts = new Map([[transcriptKey(frame.data), 'i need to book an appointment']]);
    const speaches = await server({ sttModels: ['deepdml/faster-whisper-large-v3-turbo-ct2'], transcripts });
    const hostedWhisper = await server({ sttModels: ['whisper-1'], transcripts: new Map([[transcriptKey(frame.data), 'hosted: i need to book an appointment']]) });
    const local = buildLocalStt({ url: speaches.baseURL, model: 'deepdml/faster-whisper-large-v3-turbo-ct2', apiKey: 'local' }, 'en-US');
    expect(local.capabilities.streaming).toBe(false);

    const event = await local.recognize([frame]);
    expect(event.alternatives?.[0]?.text).toBe('i need to book an appointment');
    const [request] = speaches.requests;
    expect(request!.body).toMatchObject({ model: 'deepdml/faster-whisper-large-v3-turbo-ct2', response_format: 'json', language: 'en' });

    const chain = new stt.FallbackAdapter({ sttInstances: [local, new openai.STT({ baseURL: hostedWhisper.baseURL, apiKey: 'sk-test', model: 'whisper-1', useRealtime: false })], vad });
    speaches.fail = 503;
    const fallback = await chain.recognize([frame]);
    expect(fallback.alternatives?.[0]?.text).toBe('hosted: i need to book an appointment');
    await chain.close();
  });

  it('TTS: /v1/audio/speech answers 24 kHz mono PCM the plugin plays as is; a failed server falls back to the hosted TTS', async () => {
    const kokoro = await server({ ttsModels: ['kokoro'], voices: ['af_heart'] });
    const hostedSpeech = await server({ ttsModels: ['tts-1'], voices: ['alloy'] });
    const local = buildLocalTts({ url: kokoro.baseURL, model: 'kokoro', voice: 'af_heart', apiKey: 'local' });
    // Errors are events on the TTS (the session listens to its own TTS; these tests stand in for
    // it). A failed synthesis also leaves a rejected promise behind in agents' ChunkedStream, which
    // the job process swallows (agents src/ipc/job_proc_lazy_main.ts: unhandledRejection -> debug
    // log; agents' own tts/fallback_adapter.test.ts does the same): collected here and held to the
    // failures the test causes.
    const errors: string[] = [];
    const rejections: string[] = [];
    const onRejection = (reason: unknown) => rejections.push(reason instanceof Error ? reason.message : String(reason));
    process.on('unhandledRejection', onRejection);
    onTestFinished(() => {
      process.off('unhandledRejection', onRejection);
    });
    const listen = (engine: tts.TTS) => engine.on('error', (ev: { error: Error }) => errors.push(ev.error.message));
    listen(local);
    const text = 'Which day suits you?';
    const frame = await local.synthesize(text).collect();
    expect([frame.sampleRate, frame.channels]).toEqual([24_000, 1]);
    expect(frame.samplesPerChannel).toBe(speechFor(text).length);
    expect(Math.round((frame.samplesPerChannel / 24_000) * 1000)).toBe(text.length * SPEECH_MS_PER_CHARACTER);
    expect(kokoro.requests[0]!.body).toMatchObject({ model: 'kokoro', voice: 'af_heart', response_format: 'pcm', input: text });

    // A voice the server does not have is refused (Kokoro-FastAPI: 400), not spoken in another voice.
    const wrongVoice = buildLocalTts({ url: kokoro.baseURL, model: 'kokoro', voice: 'nova', apiKey: 'local' });
    listen(wrongVoice);
    await expect(wrongVoice.synthesize(text).collect()).rejects.toThrow();
    expect(errors).toEqual(["400 Voice 'nova' not found"]);

    const chain = new tts.FallbackAdapter({ ttsInstances: [local, new openai.TTS({ baseURL: hostedSpeech.baseURL, apiKey: 'sk-test', model: 'tts-1', voice: 'alloy' })] });
    listen(chain);
    kokoro.fail = 500;
    const fallback = await chain.synthesize(text).collect();
    expect(fallback.samplesPerChannel).toBeGreaterThan(0);
    expect(hostedSpeech.requests.map((r) => r.body.model)).toEqual(['tts-1']);
    await chain.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(rejections.every((m) => /^(400 Voice 'nova' not found|500 the server failed \(test\))$/.test(m)), rejections.join('; ')).toBe(true);
  });
});

describe('local providers from the environment the deploy writes', () => {
  const spec = loadAgentSpec(SPEC_PATH);
  const keys = { OPENAI_API_KEY: 'sk-test', DEEPGRAM_API_KEY: 'dg-test', CARTESIA_API_KEY: 'ca-test' };
  const vad = {} as VAD;
  const deploy = {
    ...keys,
    LOCAL_LLM_URL: 'http://internal-llm.elb.amazonaws.com:8000/v1',
    LOCAL_LLM_MODEL: LOCAL_MODEL,
    LOCAL_LLM_PARALLEL_TOOL_CALLS: 'false',
    LOCAL_STT_URL: 'http://internal-stt.elb.amazonaws.com:8000/v1',
    LOCAL_STT_MODEL: 'deepdml/faster-whisper-large-v3-turbo-ct2',
    LOCAL_TTS_URL: 'http://internal-tts.elb.amazonaws.com:8880/v1',
    LOCAL_TTS_MODEL: 'kokoro',
    LOCAL_TTS_VOICE: 'af_heart',
  };

  it('puts each local model first and the hosted provider behind it; prices local speech at $0 (catalog "local")', () => {
    const settings = resolveProviderSettings(spec.providers, deploy);
    expect(settings.choice).toEqual({ stt: 'local', tts: 'local', telephony: 'sip-trunk' });
    expect(settings.llm.local).toMatchObject({ model: LOCAL_MODEL, parallelToolCalls: false });
    const providers = buildVoiceProviders(settings, vad);
    expect(providers.stt).toBeInstanceOf(stt.FallbackAdapter);
    expect((providers.stt as stt.FallbackAdapter).sttInstances.map((s) => s.label)).toEqual(['stt.StreamAdapter<openai.STT>', 'deepgram.STT']);
    expect(providers.tts).toBeInstanceOf(tts.FallbackAdapter);
    const ttsChain = (providers.tts as unknown as { ttsInstances: tts.TTS[] }).ttsInstances;
    expect(ttsChain.map((t) => [t.label, t.provider])).toEqual([
      ['openai.TTS', 'internal-tts.elb.amazonaws.com:8880'],
      ['cartesia.TTS', expect.any(String)],
    ]);
    expect(providers.llm.routine).toBeInstanceOf(llm.FallbackAdapter);
    // The phrase cache plays only in the voice the calls hear first: the local one.
    expect(ttsIdentity(settings.tts)).toEqual({ provider: 'local', model: 'kokoro', voice: 'af_heart' });
  });

  it.each([
    [{ LOCAL_LLM_PARALLEL_TOOL_CALLS: 'no' }, 'LOCAL_LLM_PARALLEL_TOOL_CALLS', /must be true or false/],
    [{ LOCAL_STT_URL: 'speaches:8000' }, 'LOCAL_STT_URL', /must be the http\(s\) base URL/],
    [{ LOCAL_STT_URL: 'http://stt:8000/v1' }, 'LOCAL_STT_MODEL', /LOCAL_STT_MODEL is required with LOCAL_STT_URL/],
    [{ LOCAL_TTS_URL: 'http://tts:8880/v1', LOCAL_TTS_MODEL: 'kokoro' }, 'LOCAL_TTS_VOICE', /LOCAL_TTS_VOICE is required with LOCAL_TTS_URL/],
  ])('%j is refused naming the variable', (env, name, message) => {
    let error: unknown;
    try {
      resolveProviderSettings(spec.providers, { ...keys, ...env });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toMatch(message);
    expect((error as ConfigError).message).toContain(name);
  });
});
