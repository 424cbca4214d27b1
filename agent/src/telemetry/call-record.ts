/**
 * One record per call, the unit monitoring and cost tracking build on (reference article,
 * "production monitoring": success, latency, escalation, cost per call by use case and time of
 * day). `CallRecorder` listens to the session's events while the call runs; `finish` prices the
 * usage with the shared catalog (the Pulumi cost engine's, not a copy) and returns the record.
 *
 * The zod schema is the record's contract: the ingest endpoint checks it, and the `calls:records`
 * Redis stream carries exactly this JSON for the report tool.
 */
import { voice, llm, type metrics } from '@livekit/agents';
import {
  type LlmModel,
  type PriceCatalog,
  type ProviderChoice,
  type ProviderUsage,
  STT_PROVIDERS,
  TELEPHONY_PROVIDERS,
  TTS_PROVIDERS,
  usageCostUsd,
} from '@voice-agent-infra/common';
import { z } from 'zod';

export const CALL_OUTCOMES = ['completed', 'escalated', 'failed', 'abandoned'] as const;
export type CallOutcome = (typeof CALL_OUTCOMES)[number];

const overrideSchema = z.object({
  reason: z.enum(['human_requested', 'frustration', 'failed_turns', 'repeated_turns']),
  detail: z.string(),
  fromAgent: z.string(),
  toAgent: z.string(),
  turn: z.number().int().nonnegative(),
  atMs: z.number(),
});

export const callRecordSchema = z.object({
  callId: z.string().min(1),
  room: z.string(),
  useCase: z.string(),
  /** Agents in the order they held the call, e.g. ["router", "billing", "escalation"]. */
  agentPath: z.array(z.string()),
  outcome: z.enum(CALL_OUTCOMES),
  /** ISO time the agent joined. */
  startedAt: z.string(),
  /** Hour of day (UTC, 0-23) the call started: cost and volume by time of day. */
  startedAtHour: z.number().int().min(0).max(23),
  durationSeconds: z.number().nonnegative(),
  /** Per agent turn: end of the caller's speech to the agent's first audio, ms. */
  turnLatenciesMs: z.array(z.number().nonnegative()),
  usage: z.object({
    /** Caller audio sent to STT. */
    sttSeconds: z.number().nonnegative(),
    /** Tokens per catalog model. */
    llm: z.array(z.object({ model: z.string(), inputTokens: z.number().int().nonnegative(), outputTokens: z.number().int().nonnegative() })),
    /** Characters billed by the TTS provider. */
    ttsCharacters: z.number().int().nonnegative(),
    /** Characters played from the phrase cache instead (not billed). */
    cachedCharacters: z.number().int().nonnegative(),
    /** Telephony minutes billed (phone callers only). */
    telephonyMinutes: z.number().nonnegative(),
  }),
  /** Provider cost in USD, priced with the shared catalog. */
  costUsd: z.number().nonnegative(),
  /** Catalog names the cost was priced with. */
  providers: z.object({ stt: z.enum(STT_PROVIDERS), tts: z.enum(TTS_PROVIDERS), telephony: z.enum(TELEPHONY_PROVIDERS) }),
  /** LLM models seen that the catalog cannot price (left out of costUsd). */
  unpricedModels: z.array(z.string()),
  overrides: z.array(overrideSchema),
  phraseCache: z.object({ hits: z.number().int().nonnegative(), misses: z.number().int().nonnegative() }),
  /** The human hand-over, when there was one. */
  handedToHuman: z.enum(['sip-transfer', 'callback']).optional(),
});

export type CallRecord = z.infer<typeof callRecordSchema>;
export type CallOverride = z.infer<typeof overrideSchema>;

export interface CallRecorderOptions {
  callId: string;
  room: string;
  useCase: string;
  providers: ProviderChoice;
  catalog: PriceCatalog;
  /** LLM metrics (provider, model) -> catalog model; undefined when unknown. */
  catalogModel: (provider: string, model: string) => LlmModel | undefined;
  /** The caller is on a phone line (telephony minutes are billed). */
  telephony: boolean;
  /** Name of the escalation specialist (reaching it means "escalated"). */
  escalateTo: string;
  now?: () => number;
}

export interface FinishInput {
  phraseCache: { hits: number; misses: number; charactersSaved: number };
  overrides: readonly CallOverride[];
  handedToHuman?: 'sip-transfer' | 'callback';
  /** Set when the call ended on an error the session could not recover from. */
  failed?: boolean;
}

// Fallback adapters re-emit their children's metrics and also emit their own for the same work;
// the children's carry the real provider and model, so the adapters' are skipped.
const ADAPTER_LABEL = /FallbackAdapter/;

export class CallRecorder {
  private readonly now: () => number;
  private readonly startedAtMs: number;
  private readonly path: string[] = [];
  private readonly latenciesMs: number[] = [];
  private sttMs = 0;
  private ttsCharacters = 0;
  private readonly tokens = new Map<string, { model: string; inputTokens: number; outputTokens: number }>();
  private readonly unpriced = new Set<string>();
  private awaitingAnswer = false;
  private answeredTurns = 0;
  private closeReason?: string;
  private closedWithError = false;
  private finished?: CallRecord;

  constructor(private readonly options: CallRecorderOptions) {
    this.now = options.now ?? Date.now;
    this.startedAtMs = this.now();
  }

  attach<U>(session: voice.AgentSession<U>): () => void {
    const E = voice.AgentSessionEventTypes;
    const onItem = (ev: voice.ConversationItemAddedEvent) => this.onItem(ev.item);
    const onMetrics = (ev: voice.MetricsCollectedEvent) => this.onMetrics(ev.metrics);
    const onClose = (ev: voice.CloseEvent) => this.onClose(String(ev.reason), ev.error !== null);
    session.on(E.ConversationItemAdded, onItem);
    session.on(E.MetricsCollected, onMetrics);
    session.on(E.Close, onClose);
    return () => {
      session.off(E.ConversationItemAdded, onItem);
      session.off(E.MetricsCollected, onMetrics);
      session.off(E.Close, onClose);
    };
  }

  onItem(item: llm.ChatMessage | llm.AgentHandoffItem): void {
    if (item instanceof llm.AgentHandoffItem) {
      if (this.path[this.path.length - 1] !== item.newAgentId) this.path.push(item.newAgentId);
      return;
    }
    if (item.role === 'user') {
      this.awaitingAnswer = true;
    } else if (item.role === 'assistant') {
      if (this.awaitingAnswer) {
        this.answeredTurns++;
        this.awaitingAnswer = false;
      }
      // e2eLatency (s): the caller stopped speaking -> the agent started speaking (framework-measured).
      const e2e = item.metrics?.e2eLatency;
      if (typeof e2e === 'number' && Number.isFinite(e2e) && e2e >= 0) this.latenciesMs.push(Math.round(e2e * 1000));
    }
  }

  onMetrics(m: metrics.AgentMetrics): void {
    if ('label' in m && ADAPTER_LABEL.test(m.label)) return;
    if (m.type === 'stt_metrics') {
      this.sttMs += m.audioDurationMs;
    } else if (m.type === 'tts_metrics') {
      this.ttsCharacters += m.charactersCount;
    } else if (m.type === 'llm_metrics') {
      if (m.metadata?.modelName && ADAPTER_LABEL.test(m.metadata.modelName)) return;
      const provider = m.metadata?.modelProvider ?? 'unknown';
      const raw = m.metadata?.modelName ?? 'unknown';
      const model = this.options.catalogModel(provider, raw);
      if (!model) {
        if (m.promptTokens + m.completionTokens > 0) this.unpriced.add(`${provider}/${raw}`);
        return;
      }
      // A failed attempt (e.g. the local model before the fallback answered) used no tokens.
      if (m.promptTokens + m.completionTokens === 0) return;
      const entry = this.tokens.get(model) ?? { model, inputTokens: 0, outputTokens: 0 };
      entry.inputTokens += m.promptTokens;
      entry.outputTokens += m.completionTokens;
      this.tokens.set(model, entry);
    }
  }

  onClose(reason: string, withError: boolean): void {
    this.closeReason = reason;
    this.closedWithError = this.closedWithError || withError || reason === voice.CloseReason.ERROR;
  }

  get agentPath(): readonly string[] {
    return this.path;
  }

  /** The record of the call; calling it again returns the same record. */
  finish(input: FinishInput): CallRecord {
    if (this.finished) return this.finished;
    const endedAtMs = this.now();
    const durationSeconds = Math.max(0, (endedAtMs - this.startedAtMs) / 1000);
    const escalated = input.handedToHuman !== undefined || this.path.includes(this.options.escalateTo);
    let outcome: CallOutcome;
    if (input.failed || this.closedWithError) outcome = 'failed';
    else if (escalated) outcome = 'escalated';
    else if (this.answeredTurns === 0) outcome = 'abandoned'; // the caller left before any request was answered
    else outcome = 'completed';

    const llmUsage = [...this.tokens.values()].sort((a, b) => a.model.localeCompare(b.model));
    const telephonyMinutes = this.options.telephony ? durationSeconds / 60 : 0;
    const usage: ProviderUsage = {
      sttMinutes: this.sttMs / 60_000,
      llm: llmUsage.map((u) => ({ ...u, model: u.model as LlmModel })),
      ttsCharacters: this.ttsCharacters,
      telephonyMinutes,
    };
    const costUsd = usageCostUsd(usage, this.options.providers, this.options.catalog);
    const started = new Date(this.startedAtMs);
    this.finished = {
      callId: this.options.callId,
      room: this.options.room,
      useCase: this.options.useCase,
      agentPath: [...this.path],
      outcome,
      startedAt: started.toISOString(),
      startedAtHour: started.getUTCHours(),
      durationSeconds: round(durationSeconds, 3),
      turnLatenciesMs: [...this.latenciesMs],
      usage: {
        sttSeconds: round(this.sttMs / 1000, 3),
        llm: llmUsage,
        ttsCharacters: this.ttsCharacters,
        cachedCharacters: input.phraseCache.charactersSaved,
        telephonyMinutes: round(telephonyMinutes, 4),
      },
      // Micro-dollars are plenty for a per-call figure and keep the JSON readable.
      costUsd: round(costUsd, 6),
      providers: { ...this.options.providers },
      unpricedModels: [...this.unpriced].sort(),
      overrides: input.overrides.map((o) => ({ ...o })),
      phraseCache: { hits: input.phraseCache.hits, misses: input.phraseCache.misses },
      ...(input.handedToHuman ? { handedToHuman: input.handedToHuman } : {}),
    };
    return this.finished;
  }

  /** Why the session closed, when it did (for logs). */
  get closedBecause(): string | undefined {
    return this.closeReason;
  }
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
