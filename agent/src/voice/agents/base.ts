/**
 * What every agent of a call shares, kept out of the role classes:
 * - the supervisor gate before each LLM generation (llmNode),
 * - the phrase cache in front of the TTS (ttsNode),
 * - hand-off tools built from the spec (`transfer_to_<specialist>`, `escalate_to_human`).
 * The role classes (router.ts, scheduling.ts, ...) hold their own tools and behaviour.
 */
import { llm, voice } from '@livekit/agents';
import type { AudioFrame } from '@livekit/rtc-node';
import { ReadableStream } from 'node:stream/web';
import { z } from 'zod';
import { errorMessage } from '../../log.js';
import { BackendError } from '../backend.js';
import type { CallContext } from '../call-context.js';
import { agentSpecOf, type RouterSpec, type SpecialistSpec } from '../spec.js';
import type { SupervisorOverride } from '../supervisor.js';

// The tool map types of the framework are generic over their arguments; ours vary per tool.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type CallTool = llm.AnonFunctionTool<any, CallContext, any>;
/** Builds a tool for one call (tools close over the call's services). */
export type ToolFactory = (call: CallContext, agent: string) => CallTool;
export type ToolCatalog = Readonly<Record<string, ToolFactory>>;

/** The tool every agent but the escalation specialist carries; the supervisor uses it too. */
export const ESCALATE_TOOL = 'escalate_to_human';
const SUPERVISOR_CALL_PREFIX = 'supervisor_';

/** Conversation carried into the next agent: the messages, not the previous agent's tools or prompt. */
export function handoffContext<U>(session: voice.AgentSession<U>): llm.ChatContext {
  return session.history
    .copy({ excludeFunctionCall: true, excludeInstructions: true, excludeHandoff: true, excludeConfigUpdate: true, excludeEmptyMessage: true })
    .truncate(30);
}

function transferTool(call: CallContext, target: string): CallTool {
  const spec = agentSpecOf(call.spec, target) as SpecialistSpec;
  return llm.tool({
    description: `Hand the caller to the ${target} specialist: ${spec.description}`,
    execute: async (_args, { ctx }) => llm.handoff({ agent: call.createAgent(target, handoffContext(ctx.session)) }),
  });
}

function escalateTool(call: CallContext, from: string): CallTool {
  return llm.tool({
    description: 'Hand the caller to a person (a member of staff) when they ask for one or you cannot help them.',
    parameters: z.object({ reason: z.string().describe('Why the caller needs a person, in a few words') }),
    execute: async ({ reason }, { ctx, toolCallId }) => {
      if (!toolCallId.startsWith(SUPERVISOR_CALL_PREFIX)) call.log.info('agent escalates to a person', { agent: from, reason });
      return llm.handoff({ agent: call.createAgent(call.spec.supervisor.escalateTo, handoffContext(ctx.session)) });
    },
  });
}

/** A one-chunk LLM stream that calls escalate_to_human: the supervisor's override, as a normal hand-off. */
function overrideStream(override: SupervisorOverride, seq: number): ReadableStream<llm.ChatChunk> {
  const call = llm.FunctionCall.create({
    callId: `${SUPERVISOR_CALL_PREFIX}${seq}`,
    name: ESCALATE_TOOL,
    args: JSON.stringify({ reason: `supervisor: ${override.reason}` }),
  });
  return new ReadableStream<llm.ChatChunk>({
    start(controller) {
      controller.enqueue({ id: `supervisor-${seq}`, delta: { role: 'assistant', toolCalls: [call] } });
      controller.close();
    },
  });
}

/**
 * Runs a backend call for a tool. Failures become a ToolError with a message safe to speak about
 * (the LLM apologises, the supervisor counts a failed turn); details go to the log only.
 */
export async function runBackendTool(call: CallContext, agent: string, tool: string, args: Record<string, unknown>): Promise<unknown> {
  try {
    return await call.services.backend.call(tool, args, { callId: call.callId, agent });
  } catch (err) {
    call.log.warn('tool failed', { tool, agent, error: errorMessage(err) });
    if (err instanceof llm.ToolError) throw err;
    const what = err instanceof BackendError ? 'The system behind this request is not answering right now.' : 'That request failed.';
    throw new llm.ToolError(`${what} Apologise briefly and offer another way to help.`);
  }
}

export abstract class CallAgent extends voice.Agent<CallContext> {
  readonly name: string;
  protected readonly call: CallContext;
  private overrides = 0;

  constructor(call: CallContext, name: string, catalog: ToolCatalog, chatCtx?: llm.ChatContext) {
    const spec = agentSpecOf(call.spec, name);
    const escalateTo = call.spec.supervisor.escalateTo;
    const tools: Record<string, CallTool> = {};
    for (const tool of spec.tools) tools[tool] = catalog[tool]!(call, name);
    for (const target of spec.handoffs) if (target !== escalateTo) tools[`transfer_to_${target}`] = transferTool(call, target);
    if (name !== escalateTo) tools[ESCALATE_TOOL] = escalateTool(call, name);
    super({ id: name, instructions: spec.instructions, llm: call.llmFor(name, spec.model), tools, chatCtx });
    this.name = name;
    this.call = call;
  }

  protected get spec(): RouterSpec | SpecialistSpec {
    return agentSpecOf(this.call.spec, this.name);
  }

  /** Scripted speech, from the phrase cache when the line was rendered. */
  protected speak(text: string): voice.SpeechHandle {
    return this.call.phrases.say(this.session, text);
  }

  /** The supervisor may take this turn over before the LLM answers it. */
  override async llmNode(
    chatCtx: llm.ChatContext,
    toolCtx: llm.ToolContext,
    modelSettings: voice.ModelSettings,
  ): Promise<ReadableStream<llm.ChatChunk | string> | null> {
    const override = this.call.supervisor.beforeReply(this.name, chatCtx);
    if (override) {
      this.call.log.info('supervisor override', { ...override });
      return overrideStream(override, ++this.overrides);
    }
    return voice.Agent.default.llmNode(this, chatCtx, toolCtx, modelSettings);
  }

  override async ttsNode(
    text: ReadableStream<string> | AsyncIterable<string>,
    modelSettings: voice.ModelSettings,
  ): Promise<ReadableStream<AudioFrame> | null> {
    return this.call.phrases.interceptTts(text, (replay) => voice.Agent.default.ttsNode(this, replay, modelSettings));
  }
}

/** Default first-turn instruction after a hand-over (the spec's onEnter replaces it). */
export const DEFAULT_ON_ENTER =
  'You have just taken over this call. Do not greet the caller again; answer the request they already made, asking only for what is missing.';

/** A specialist: greets (from the cache) and answers the request that brought the caller here. */
export abstract class SpecialistAgent extends CallAgent {
  override async onEnter(): Promise<void> {
    const spec = this.spec as SpecialistSpec;
    if (spec.greeting) this.speak(spec.greeting);
    this.session.generateReply({ instructions: spec.onEnter ?? DEFAULT_ON_ENTER });
  }
}
