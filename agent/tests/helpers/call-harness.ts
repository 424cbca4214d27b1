/**
 * Starts a call the way the job entry does (spec, call context, supervisor, recorder, router),
 * with test models: the router on the given LLM (usually the framework's FakeLLM), each
 * specialist on its own scripted LLM.
 */
import { voice, type llm } from '@livekit/agents';
import { DEFAULT_CATALOG } from '@voice-agent-infra/common';
import { silentLogger } from '../../src/log.js';
import { loadAgentSpec } from '../../src/voice/agents/index.js';
import { startCall, createCallContext, type RunningCall } from '../../src/voice/call.js';
import type { CallContext, CallerInfo, CallServices } from '../../src/voice/call-context.js';
import { PhraseCache } from '../../src/voice/phrase-cache.js';
import { catalogModelResolver } from '../../src/voice/providers.js';
import type { AgentSpec } from '../../src/voice/spec.js';
import { demoServices, ScriptedLLM, SPEC_PATH } from './voice-fakes.js';

export interface HarnessOptions {
  router: llm.LLM;
  /** LLM per specialist name; a silent ScriptedLLM for the others. */
  specialists?: Record<string, llm.LLM>;
  /** Overrides every agent's model lookup (provider-routing tests). */
  llmFor?: CallContext['llmFor'];
  spec?: AgentSpec;
  services?: CallServices;
  caller?: CallerInfo;
  phraseCache?: PhraseCache;
  tts?: voice.AgentSessionOptions<CallContext>['tts'];
  audioOutput?: voice.AudioOutput;
  now?: () => number;
  /** Provider of the local model behind a fallback (provider-routing tests). */
  localLlmProvider?: string;
  /** How LLM metrics map to catalog models; default: "local.test" is the local model. */
  catalogModel?: (provider: string, model: string) => ReturnType<ReturnType<typeof catalogModelResolver>>;
}

export async function startTestCall(options: HarnessOptions): Promise<RunningCall> {
  const spec = options.spec ?? loadAgentSpec(SPEC_PATH);
  const fallback = new Map<string, llm.LLM>();
  const llmFor: CallContext['llmFor'] =
    options.llmFor ??
    ((agent) => {
      if (agent === 'router') return options.router;
      const given = options.specialists?.[agent];
      if (given) return given;
      if (!fallback.has(agent)) fallback.set(agent, new ScriptedLLM({ model: agent }));
      return fallback.get(agent)!;
    });
  const call = createCallContext({
    callId: 'call-test-1',
    room: 'room-test-1',
    useCase: spec.useCase,
    caller: options.caller ?? { sip: false },
    spec,
    llmFor,
    phraseCache: options.phraseCache ?? PhraseCache.empty(),
    services: options.services ?? demoServices(),
    log: silentLogger,
    now: options.now,
    localLlmProvider: options.localLlmProvider,
  });
  const session = new voice.AgentSession<CallContext>({ llm: options.router, tts: options.tts, userData: call });
  if (options.audioOutput) session.output.audio = options.audioOutput;
  const running = await startCall({
    call,
    session,
    cost: {
      providers: { stt: 'deepgram-nova-3', tts: 'cartesia-sonic', telephony: 'sip-trunk' },
      catalog: DEFAULT_CATALOG,
      catalogModel: options.catalogModel ?? catalogModelResolver('local.test'),
    },
    now: options.now,
  });
  // The caller hears the greeting before speaking.
  await session.waitForIdle();
  return running;
}

export interface Turn {
  result: voice.testing.RunResult;
  /** Everything the agents said during the turn, scripted lines included (RunResult leaves say() out). */
  spoken: string[];
}

/** Runs one caller turn and waits for everything it set off (replies, hand-overs, greetings). */
export async function say(running: RunningCall, userInput: string): Promise<Turn> {
  const spoken: string[] = [];
  const onItem = (ev: voice.ConversationItemAddedEvent) => {
    if (ev.item.type === 'message' && ev.item.role === 'assistant') spoken.push(ev.item.textContent ?? '');
  };
  running.session.on(voice.AgentSessionEventTypes.ConversationItemAdded, onItem);
  try {
    const result = await running.session.run({ userInput }).wait();
    await running.session.waitForIdle();
    return { result, spoken };
  } finally {
    running.session.off(voice.AgentSessionEventTypes.ConversationItemAdded, onItem);
  }
}
