/**
 * One call, assembled: the call context (spec, models, phrase player, supervisor, services), the
 * session's observers (supervisor, call recorder) and the router as the first agent. The job
 * entry and the tests both start calls through here, so the tests exercise the real wiring.
 */
import type { llm, voice } from '@livekit/agents';
import type { Room } from '@livekit/rtc-node';
import type { LlmModel, PriceCatalog, ProviderChoice } from '@voice-agent-infra/common';
import type { Logger } from '../log.js';
import { CallRecorder, type CallRecord } from '../telemetry/call-record.js';
import { createAgent } from './agents/index.js';
import type { CallContext, CallerInfo, CallServices } from './call-context.js';
import { PhrasePlayer, type PhraseCache } from './phrase-cache.js';
import { compilePatterns, type AgentSpec, type ModelTier } from './spec.js';
import { Supervisor } from './supervisor.js';

export interface NewCall {
  callId: string;
  room: string;
  useCase: string;
  caller: CallerInfo;
  spec: AgentSpec;
  llmFor: (agent: string, tier: ModelTier) => llm.LLM;
  phraseCache: PhraseCache;
  services: CallServices;
  log: Logger;
  now?: () => number;
  /** Provider (host) of the local model when it has a hosted fallback. */
  localLlmProvider?: string;
}

export function createCallContext(input: NewCall): CallContext {
  const policy = input.spec.supervisor;
  const supervisor = new Supervisor(
    {
      escalateTo: policy.escalateTo,
      maxFailedTurns: policy.maxFailedTurns,
      maxRepeatedTurns: policy.maxRepeatedTurns,
      humanRequest: compilePatterns(policy.humanRequest),
      frustration: compilePatterns(policy.frustration),
    },
    {
      now: input.now,
      isCachedPhrase: (text) => input.phraseCache.lookup(text) !== undefined,
      fallbackCoveredProviders: input.localLlmProvider ? [input.localLlmProvider] : [],
    },
  );
  const call: CallContext = {
    callId: input.callId,
    room: input.room,
    useCase: input.useCase,
    spec: input.spec,
    caller: input.caller,
    llmFor: input.llmFor,
    phrases: new PhrasePlayer(input.phraseCache),
    supervisor,
    services: input.services,
    log: input.log.child({ callId: input.callId }),
    createAgent: (name, chatCtx) => createAgent(call, name, chatCtx),
  };
  return call;
}

export interface CostSettings {
  providers: ProviderChoice;
  catalog: PriceCatalog;
  catalogModel: (provider: string, model: string) => LlmModel | undefined;
}

export interface RunningCall {
  call: CallContext;
  session: voice.AgentSession<CallContext>;
  recorder: CallRecorder;
  /** The call's record (idempotent); `failed` marks an error the session could not recover from. */
  finish(options?: { failed?: boolean }): CallRecord;
}

/**
 * Attaches the supervisor and the recorder to the session, then starts it with the router.
 * `room` is the LiveKit room in production; tests run without one (text turns via session.run).
 */
export async function startCall(options: {
  call: CallContext;
  session: voice.AgentSession<CallContext>;
  cost: CostSettings;
  room?: Room;
  inputOptions?: Parameters<voice.AgentSession['start']>[0]['inputOptions'];
  now?: () => number;
}): Promise<RunningCall> {
  const { call, session } = options;
  const recorder = new CallRecorder({
    callId: call.callId,
    room: call.room,
    useCase: call.useCase,
    providers: options.cost.providers,
    catalog: options.cost.catalog,
    catalogModel: options.cost.catalogModel,
    telephony: call.caller.sip,
    escalateTo: call.spec.supervisor.escalateTo,
    now: options.now,
  });
  // Observers first: the router's greeting and its hand-off item are part of the record.
  call.supervisor.attach(session);
  recorder.attach(session);
  await session.start({ agent: call.createAgent('router'), room: options.room, inputOptions: options.inputOptions });
  return {
    call,
    session,
    recorder,
    finish: (finishOptions = {}) =>
      recorder.finish({
        phraseCache: call.phrases.stats,
        overrides: call.supervisor.overrides,
        handedToHuman: call.handedToHuman?.via,
        failed: finishOptions.failed,
      }),
  };
}
