/**
 * Everything one call's agents share, carried as the AgentSession's userData: the spec, the
 * models per tier, the phrase player, the supervisor and the services the tools call.
 */
import type { llm, voice } from '@livekit/agents';
import type { Logger } from '../log.js';
import type { ToolBackend } from './backend.js';
import type { CallbackStore, HumanTransfer } from './human-handoff.js';
import type { PhrasePlayer } from './phrase-cache.js';
import type { AgentSpec, ModelTier } from './spec.js';
import type { Supervisor } from './supervisor.js';

export interface CallerInfo {
  /** Identity of the caller's participant, when known (needed for a SIP transfer). */
  identity?: string;
  /** The caller came in over SIP (a phone call), so it can be transferred and telephony is billed. */
  sip: boolean;
}

export interface CallServices {
  backend: ToolBackend;
  /** Present when a transfer number is configured and LiveKit credentials allow the transfer. */
  humanTransfer?: HumanTransfer;
  /** tel: or sip: URI the escalation specialist transfers to. */
  transferTo?: string;
  callbacks: CallbackStore;
}

export interface CallContext {
  readonly callId: string;
  readonly room: string;
  readonly useCase: string;
  readonly spec: AgentSpec;
  readonly caller: CallerInfo;
  /** The LLM an agent runs on: its tier's model (routine: local with hosted fallback; complex: the stronger model). */
  llmFor(agent: string, tier: ModelTier): llm.LLM;
  readonly phrases: PhrasePlayer;
  readonly supervisor: Supervisor;
  readonly services: CallServices;
  readonly log: Logger;
  /** Builds the agent a spec name stands for (the role registry); `chatCtx` carries the conversation over. */
  createAgent(name: string, chatCtx?: llm.ChatContext): voice.Agent<CallContext>;
  /** Set by the escalation specialist once a person has the caller (or a callback is booked). */
  handedToHuman?: { via: 'sip-transfer' | 'callback'; atMs: number };
}
