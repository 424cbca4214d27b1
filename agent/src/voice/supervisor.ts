/**
 * The supervisor of the reference article's multi-agent pattern: it watches the whole call
 * (conversation items, tool results, errors, LLM metrics) and overrides the active agent by
 * sending the caller to the escalation specialist when
 * - the caller asks for a person,
 * - the caller sounds frustrated,
 * - the configured number of turns failed (a tool error, a model error, an empty reply),
 * - the configured number of turns went round in circles (the caller repeats themselves, or the
 *   agent repeats the same reply).
 * Every override is kept with its reason for the call record. Its detail names the rule that
 * fired (the pattern, the turn numbers), never the caller's words: call records are stored and
 * shipped to metrics, and must not carry what the caller said.
 *
 * It is not an agent and never talks. Decisions are taken at one point, `beforeReply`, which the
 * agents call before each LLM generation: the active agent then does not answer a turn the
 * supervisor has taken over, and the hand-over goes through the framework's ordinary handoff
 * path (see CallAgent.llmNode).
 */
import { llm, voice } from '@livekit/agents';
import { normalizePhrase } from './phrase-cache.js';

export type OverrideReason = 'human_requested' | 'frustration' | 'failed_turns' | 'repeated_turns';

export interface SupervisorOverride {
  reason: OverrideReason;
  /** Which rule fired, e.g. "2 failed turns (turns 1, 2): tool check_availability failed"; never the caller's words. */
  detail: string;
  fromAgent: string;
  toAgent: string;
  /** User turn (1-based) the override happened on. */
  turn: number;
  /** Milliseconds since the epoch. */
  atMs: number;
}

export interface SupervisorPolicy {
  /** Specialist that takes over (the escalation role). */
  escalateTo: string;
  /** Failed turns that trigger an escalation. */
  maxFailedTurns: number;
  /** Repeated turns that trigger an escalation. */
  maxRepeatedTurns: number;
  /** An explicit request for a person. */
  humanRequest: readonly RegExp[];
  /** Signs of frustration. */
  frustration: readonly RegExp[];
}

export interface SupervisorOptions {
  now?: () => number;
  /** Cached phrases are meant to repeat; they never count as the agent going in circles. */
  isCachedPhrase?: (text: string) => boolean;
  /**
   * LLM providers behind a fallback (the local model): their empty answers are not failed turns,
   * because the fallback answers instead (and the adapter reports a turn nobody answered).
   */
  fallbackCoveredProviders?: readonly string[];
}

/** Assistant replies shorter than this (normalised) are acknowledgements, not loops. */
const MIN_LOOP_REPLY_LENGTH = 12;

function tokens(text: string): Set<string> {
  return new Set(normalizePhrase(text).split(' ').filter(Boolean));
}

/** The caller said (nearly) the same thing again: identical, or 80% of the words shared. */
function sameRequest(a: string, b: string): boolean {
  if (normalizePhrase(a) === normalizePhrase(b)) return true;
  const ta = tokens(a);
  const tb = tokens(b);
  if (ta.size < 3 || tb.size < 3) return false;
  let shared = 0;
  for (const t of ta) if (tb.has(t)) shared++;
  return shared / (ta.size + tb.size - shared) >= 0.8;
}

export class Supervisor {
  readonly overrides: SupervisorOverride[] = [];
  private readonly now: () => number;
  private readonly isCachedPhrase: (text: string) => boolean;
  private readonly coveredProviders: ReadonlySet<string>;
  private turn = 0;
  private readonly seenUserMessages = new Set<string>();
  /** Caller turns by text, with the turn each was said on (never leaves this object). */
  private readonly userTexts: Array<{ text: string; turn: number }> = [];
  /** Agent replies (normalised) -> the turn each was first said on. */
  private readonly assistantTexts = new Map<string, number>();
  /** Turn number -> what failed in it. */
  private readonly failedTurns = new Map<number, string[]>();
  private repeatedTurns = 0;
  private readonly repeatNotes: string[] = [];
  private pending?: { reason: OverrideReason; detail: string };
  private activeAgent?: string;
  private escalated = false;

  constructor(
    readonly policy: SupervisorPolicy,
    options: SupervisorOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.isCachedPhrase = options.isCachedPhrase ?? (() => false);
    this.coveredProviders = new Set(options.fallbackCoveredProviders ?? []);
  }

  /** Subscribes to the session's events; returns the unsubscribe. */
  attach<U>(session: voice.AgentSession<U>): () => void {
    const E = voice.AgentSessionEventTypes;
    const onItem = (ev: voice.ConversationItemAddedEvent) => {
      const item = ev.item;
      if (item instanceof llm.AgentHandoffItem) this.onAgentChanged(item.newAgentId);
      else if (item.role === 'user') this.onUserMessage(item.id, item.textContent ?? '');
      else if (item.role === 'assistant') this.onAssistantMessage(item.textContent ?? '', item.interrupted);
    };
    const onTools = (ev: voice.FunctionToolsExecutedEvent) => {
      for (const output of ev.functionCallOutputs) {
        if (output.isError) this.markFailed(`tool ${output.name} failed`);
      }
    };
    const onError = (ev: voice.ErrorEvent) => {
      const error = ev.error as { type?: string } | undefined;
      this.markFailed(`${error?.type ?? 'model'} error`);
    };
    const onMetrics = (ev: voice.MetricsCollectedEvent) => {
      const m = ev.metrics;
      // No first token and not cancelled: the model answered with nothing at all.
      if (m.type !== 'llm_metrics' || m.ttftMs >= 0 || m.cancelled) return;
      if (this.coveredProviders.has(m.metadata?.modelProvider ?? '')) return;
      this.markFailed('empty LLM reply');
    };
    session.on(E.ConversationItemAdded, onItem);
    session.on(E.FunctionToolsExecuted, onTools);
    session.on(E.Error, onError);
    session.on(E.MetricsCollected, onMetrics);
    return () => {
      session.off(E.ConversationItemAdded, onItem);
      session.off(E.FunctionToolsExecuted, onTools);
      session.off(E.Error, onError);
      session.off(E.MetricsCollected, onMetrics);
    };
  }

  /** The agent path moved on; reaching the escalation specialist ends supervision. */
  onAgentChanged(agent: string): void {
    this.activeAgent = agent;
    if (agent === this.policy.escalateTo) {
      this.escalated = true;
      this.pending = undefined;
    }
  }

  /** A caller turn (from the chat context at the gate, or the conversation event; each id once). */
  onUserMessage(id: string, text: string): void {
    if (this.seenUserMessages.has(id)) return;
    this.seenUserMessages.add(id);
    this.turn++;
    const human = this.policy.humanRequest.findIndex((re) => re.test(text));
    if (human >= 0) this.propose('human_requested', `caller asked for a person (rule humanRequest[${human}] ${String(this.policy.humanRequest[human])})`);
    const frustrated = this.policy.frustration.findIndex((re) => re.test(text));
    if (frustrated >= 0) this.propose('frustration', `caller sounded frustrated (rule frustration[${frustrated}] ${String(this.policy.frustration[frustrated])})`);
    const earlier = text.trim() ? this.userTexts.find((previous) => sameRequest(previous.text, text)) : undefined;
    if (earlier) this.countRepeat(`caller repeated turn ${earlier.turn} on turn ${this.turn}`);
    this.userTexts.push({ text, turn: this.turn });
  }

  onAssistantMessage(text: string, interrupted = false): void {
    const key = normalizePhrase(text);
    if (interrupted || key.length < MIN_LOOP_REPLY_LENGTH || this.isCachedPhrase(text)) return;
    const first = this.assistantTexts.get(key);
    if (first !== undefined) this.countRepeat(`agent repeated its reply of turn ${first} on turn ${Math.max(this.turn, 1)}`);
    else this.assistantTexts.set(key, Math.max(this.turn, 1));
  }

  /** Something went wrong in the current turn (counted once per turn). */
  markFailed(what: string): void {
    const turn = Math.max(this.turn, 1);
    const notes = this.failedTurns.get(turn) ?? [];
    notes.push(what);
    this.failedTurns.set(turn, notes);
    if (this.failedTurns.size >= this.policy.maxFailedTurns) {
      const turns = [...this.failedTurns.keys()].join(', ');
      const causes = [...new Set([...this.failedTurns.values()].flat())].join('; ');
      this.propose('failed_turns', `${this.failedTurns.size} failed turns (turns ${turns}): ${causes}`);
    }
  }

  private countRepeat(note: string): void {
    this.repeatedTurns++;
    this.repeatNotes.push(note);
    if (this.repeatedTurns >= this.policy.maxRepeatedTurns) {
      this.propose('repeated_turns', `${this.repeatedTurns} repeated turns: ${this.repeatNotes.join('; ')}`);
    }
  }

  private propose(reason: OverrideReason, detail: string): void {
    // The first reason found wins; an explicit request outranks anything counted.
    if (this.escalated || this.pending) return;
    this.pending = { reason, detail };
  }

  /**
   * Called by the active agent before each LLM generation. Returns the override to carry out
   * instead of answering, or undefined to let the agent answer.
   */
  beforeReply(agent: string, chatCtx: llm.ChatContext): SupervisorOverride | undefined {
    this.activeAgent = agent;
    if (agent === this.policy.escalateTo) this.escalated = true;
    // The newest caller message is in the context before the conversation event fires.
    for (let i = chatCtx.items.length - 1; i >= 0; i--) {
      const item = chatCtx.items[i]!;
      if (item.type === 'message' && item.role === 'user') {
        this.onUserMessage(item.id, item.textContent ?? '');
        break;
      }
    }
    if (this.escalated || !this.pending) return undefined;
    const override: SupervisorOverride = {
      ...this.pending,
      fromAgent: agent,
      toAgent: this.policy.escalateTo,
      turn: this.turn,
      atMs: this.now(),
    };
    this.pending = undefined;
    this.escalated = true;
    this.overrides.push(override);
    return override;
  }

  get failedTurnCount(): number {
    return this.failedTurns.size;
  }

  get repeatedTurnCount(): number {
    return this.repeatedTurns;
  }

  get currentAgent(): string | undefined {
    return this.activeAgent;
  }
}
