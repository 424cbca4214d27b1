/**
 * Small fakes for the voice tests, next to the framework's own voice.testing.FakeLLM:
 * - ScriptedLLM: answers by the newest caller message (or tool output) even when hand-off and
 *   config items follow it, records what it was asked, reports token usage, can fail;
 * - CountingTTS: silence proportional to the text, counting every synthesis;
 * - ImmediateOutput: an audio sink that "plays" instantly, so TTS and cached audio really flow.
 */
import { APIConnectionError, initializeLogger, llm, tts, voice, type APIConnectOptions } from '@livekit/agents';
import { AudioFrame } from '@livekit/rtc-node';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { silentLogger } from '../../src/log.js';
import { DemoToolBackend } from '../../src/voice/backend.js';
import type { CallServices } from '../../src/voice/call-context.js';
import { LogCallbackStore } from '../../src/voice/human-handoff.js';

/** The framework logger must exist before any session is built. */
export function quietFrameworkLogs(): void {
  initializeLogger({ pretty: false, level: 'silent' });
}

export interface ScriptedReply {
  /** The caller's newest message or the newest tool output, exactly. */
  input: string;
  /** Only when the agent's instructions contain this (one model shared by several agents). */
  agent?: string;
  content?: string;
  toolCalls?: Array<{ name: string; args: Record<string, unknown> }>;
  /** Token usage reported for this reply. */
  usage?: { inputTokens: number; outputTokens: number };
}

/**
 * The text a reply is looked up by: the newest tool output, else the newest caller message.
 * Scripted assistant lines (a greeting said while the reply starts) and hand-off/config items are
 * skipped, so the lookup does not depend on which finished first.
 */
function lookupKey(chatCtx: llm.ChatContext): string | undefined {
  for (let i = chatCtx.items.length - 1; i >= 0; i--) {
    const item = chatCtx.items[i]!;
    if (item.type === 'function_call_output') return item.output;
    if (item.type === 'function_call') return undefined;
    if (item.type === 'message' && item.role === 'user') return item.textContent ?? '';
  }
  return undefined;
}

export class ScriptedLLM extends llm.LLM {
  /** The lookup key of every chat() call, in order. */
  readonly asked: string[] = [];
  fail = false;
  constructor(
    private readonly options: { model?: string; provider?: string; replies?: ScriptedReply[] } = {},
  ) {
    super();
  }

  label(): string {
    return `scripted.${this.model}`;
  }

  override get model(): string {
    return this.options.model ?? 'scripted';
  }

  override get provider(): string {
    return this.options.provider ?? 'test';
  }

  reply(input: string, instructions: string): ScriptedReply | undefined {
    return (this.options.replies ?? []).find((r) => r.input === input && (r.agent === undefined || instructions.includes(r.agent)));
  }

  chat({ chatCtx, toolCtx, connOptions }: { chatCtx: llm.ChatContext; toolCtx?: llm.ToolContextLike; connOptions?: APIConnectOptions }): llm.LLMStream {
    const key = lookupKey(chatCtx) ?? '';
    this.asked.push(key);
    const system = chatCtx.items.find((i) => i.type === 'message' && i.role === 'system');
    const instructions = system?.type === 'message' ? (system.textContent ?? '') : '';
    return new ScriptedStream(this, this.reply(key, instructions), { chatCtx, toolCtx, connOptions: connOptions ?? { maxRetry: 0, retryIntervalMs: 0, timeoutMs: 5000 } });
  }
}

class ScriptedStream extends llm.LLMStream {
  constructor(
    private readonly scripted: ScriptedLLM,
    private readonly scriptedReply: ScriptedReply | undefined,
    params: { chatCtx: llm.ChatContext; toolCtx?: llm.ToolContextLike; connOptions: APIConnectOptions },
  ) {
    super(scripted, params);
  }

  protected async run(): Promise<void> {
    if (this.scripted.fail) throw new APIConnectionError({ message: `${this.scripted.model} is down`, options: { retryable: false } });
    const reply = this.scriptedReply;
    if (!reply) return;
    if (reply.content) this.queue.put({ id: 'scripted', delta: { role: 'assistant', content: reply.content } });
    if (reply.toolCalls?.length) {
      const calls = reply.toolCalls.map((tc, i) => llm.FunctionCall.create({ callId: `call_${i}_${Date.now()}`, name: tc.name, args: JSON.stringify(tc.args) }));
      this.queue.put({ id: 'scripted', delta: { role: 'assistant', toolCalls: calls } });
    }
    if (reply.usage) {
      const { inputTokens, outputTokens } = reply.usage;
      this.queue.put({
        id: 'scripted',
        usage: { promptTokens: inputTokens, completionTokens: outputTokens, promptCachedTokens: 0, totalTokens: inputTokens + outputTokens },
      });
    }
  }
}

const SAMPLE_RATE = 24_000;
/** 10 ms of silence per character: enough audio to flow, no real synthesis. */
function silence(text: string): AudioFrame {
  const samples = Math.max(1, text.length) * (SAMPLE_RATE / 100);
  return new AudioFrame(new Int16Array(samples), SAMPLE_RATE, 1, samples);
}

export class CountingTTS extends tts.TTS {
  label = 'counting.TTS';
  /** Every text sent for synthesis (stream segments and synthesize calls). */
  readonly synthesized: string[] = [];

  constructor() {
    super(SAMPLE_RATE, 1, { streaming: true });
  }

  override get model(): string {
    return 'counting';
  }

  override get provider(): string {
    return 'test';
  }

  synthesize(text: string, connOptions?: APIConnectOptions): tts.ChunkedStream {
    this.synthesized.push(text);
    return new CountingChunkedStream(this, text, connOptions);
  }

  stream(options?: { connOptions?: APIConnectOptions }): tts.SynthesizeStream {
    return new CountingSynthesizeStream(this, options?.connOptions);
  }
}

class CountingChunkedStream extends tts.ChunkedStream {
  label = 'counting.ChunkedStream';
  constructor(
    private readonly engine: CountingTTS,
    private readonly text: string,
    connOptions?: APIConnectOptions,
  ) {
    super(text, engine, connOptions);
  }

  protected async run(): Promise<void> {
    this.queue.put({ requestId: 'counting', segmentId: 'counting', frame: silence(this.text), final: true });
  }
}

class CountingSynthesizeStream extends tts.SynthesizeStream {
  label = 'counting.SynthesizeStream';
  constructor(
    private readonly engine: CountingTTS,
    connOptions?: APIConnectOptions,
  ) {
    super(engine, connOptions);
  }

  protected async run(): Promise<void> {
    let text = '';
    for await (const data of this.input) {
      if (this.abortController.signal.aborted) break;
      if (typeof data !== 'string') continue; // flush sentinel
      this.markStarted();
      text += data;
      this.queue.put({ requestId: 'counting', segmentId: 'counting', frame: silence(data), final: false });
    }
    if (text) this.engine.synthesized.push(text);
  }
}

/** Plays every frame instantly and reports playback, like a room output on a fast network. */
export class ImmediateOutput extends voice.AudioOutput {
  framesPlayed = 0;

  constructor() {
    super(SAMPLE_RATE);
  }

  override async captureFrame(frame: AudioFrame): Promise<void> {
    const segments = this.capturedPlayoutSegments;
    await super.captureFrame(frame);
    this.framesPlayed++;
    if (this.capturedPlayoutSegments > segments) this.onPlaybackStarted(Date.now());
  }

  override flush(): void {
    super.flush();
    if (this.pendingPlayoutSegments > 0) this.onPlaybackFinished({ playbackPosition: 0.02, interrupted: false });
  }

  override clearBuffer(): void {
    if (this.pendingPlayoutSegments > 0) this.onPlaybackFinished({ playbackPosition: 0, interrupted: true });
  }
}

export const SPEC_PATH = fileURLToPath(new URL('../../config/agents.yaml', import.meta.url));
export const PHRASES_PATH = fileURLToPath(new URL('../../config/phrases.yaml', import.meta.url));

/** The shipped spec as a plain object, for tests that change one key. */
export function shippedSpecObject(): Record<string, unknown> {
  return parseYaml(readFileSync(SPEC_PATH, 'utf8')) as Record<string, unknown>;
}

export function demoServices(overrides: Partial<CallServices> = {}): CallServices {
  return { backend: new DemoToolBackend(), callbacks: new LogCallbackStore(silentLogger), ...overrides };
}
