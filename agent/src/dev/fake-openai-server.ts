/**
 * An in-process OpenAI-compatible server for tests: the three endpoints the agent's OpenAI plugin
 * calls, in the protocol the plugin and its `openai` client speak, with the refusals of the real
 * servers where the agent depends on them. It plays vLLM (chat, `toolCalling` as the server's
 * flags), speaches (transcriptions), Kokoro-FastAPI (speech) or the hosted OpenAI API.
 *
 * - POST /v1/chat/completions, streamed (the plugin always streams: agents src/inference/llm.ts
 *   sends stream: true, stream_options.include_usage): SSE `data: <chunk>` lines, a first delta
 *   with the role, content deltas or tool-call deltas (index, id, type and function.name first,
 *   then function.arguments fragments), a finish_reason chunk, the usage chunk with empty
 *   choices when include_usage is set, then `data: [DONE]`.
 *   Refusals copied from vLLM:
 *   - tools without tool_choice default to "auto" (vllm/entrypoints/openai/protocol.py
 *     check_tool_usage), and "auto" without --enable-auto-tool-choice is a 400:
 *     `"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set`
 *     (vllm/renderers/online_renderer.py render_chat @01063cd);
 *   - stream_options without stream: 400 (protocol.py validate_stream_options);
 *   - an unknown model: 404 "The model `x` does not exist." (serving _check_model);
 *   - parallel_tool_calls: false keeps the tool calls of index 0 only
 *     (vllm/entrypoints/serve/utils/tool_calls_utils.py maybe_filter_parallel_tool_calls);
 *   errors in vLLM's shape `{"error": {"message", "type", "param", "code"}}` (engine/protocol.py ErrorResponse).
 * - POST /v1/audio/transcriptions: multipart/form-data with `file` (a WAV), `model`,
 *   `response_format` json: `{"text": ...}`. The transcript is looked up by the SHA-256 of the
 *   WAV's PCM samples (`transcriptKey`), so a test proves the audio it sent arrived intact.
 * - POST /v1/audio/speech: JSON {model, input, voice, response_format: "pcm"}: raw 16-bit PCM,
 *   24 kHz mono (Kokoro's native rate, what the plugin assumes), ~70 ms per character.
 * - GET /health, GET /v1/models.
 * Failure injection: `fail` answers every request with a status (or drops the connection).
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeWav } from '../voice/wav.js';

export interface FakeToolCall {
  name: string;
  arguments: Record<string, unknown>;
}

export interface FakeChatReply {
  /** The newest caller message, or the newest tool output, this reply answers. */
  input: string;
  /** Only when the system prompt contains this (one model serves several agents). */
  agent?: string;
  content?: string;
  toolCalls?: FakeToolCall[];
}

/** One request as the server received it. */
export interface FakeRequest {
  path: string;
  /** The JSON body (chat, speech) or the multipart fields other than the file (transcriptions). */
  body: Record<string, unknown>;
  /** The uploaded file's bytes (transcriptions). */
  file?: Buffer;
}

export interface FakeOpenAiOptions {
  /** Chat model names it serves (vLLM: --served-model-name; the hosted API: the models the test uses). */
  chatModels?: string[];
  /**
   * vLLM's tool calling flags (--enable-auto-tool-choice --tool-call-parser <parser>); null: started
   * without them, as a bare `vllm serve`. The hosted OpenAI API: { parser: 'openai' }.
   */
  toolCalling?: { parser: 'hermes' | 'llama3_json' | 'mistral' | 'openai' } | null;
  replies?: FakeChatReply[];
  /** Speech-to-text models (speaches: the loaded Whisper; OpenAI: whisper-1). */
  sttModels?: string[];
  /** Transcripts by transcriptKey(pcm samples). */
  transcripts?: ReadonlyMap<string, string>;
  /** Text-to-speech models and voices (Kokoro-FastAPI: kokoro, af_heart ...). */
  ttsModels?: string[];
  voices?: string[];
  port?: number;
}

/** Kokoro's and the plugin's rate: 24 kHz mono. */
export const SPEECH_SAMPLE_RATE = 24_000;
/** Milliseconds of speech per character (~150 words a minute at ~5.7 characters a word). */
export const SPEECH_MS_PER_CHARACTER = 70;

/** The key a transcript is looked up by: SHA-256 of the little-endian 16-bit samples. */
export function transcriptKey(samples: Int16Array): string {
  return createHash('sha256').update(Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength)).digest('hex');
}

/** The PCM the fake synthesises for a text (deterministic: a 220 Hz tone, as long as the text needs). */
export function speechFor(text: string): Int16Array {
  const samples = new Int16Array(Math.round((text.length * SPEECH_MS_PER_CHARACTER * SPEECH_SAMPLE_RATE) / 1000));
  for (let i = 0; i < samples.length; i++) samples[i] = Math.round(3000 * Math.sin((2 * Math.PI * 220 * i) / SPEECH_SAMPLE_RATE));
  return samples;
}

class RequestError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
    readonly param: string | null = null,
  ) {
    super(message);
  }
}

export class FakeOpenAiServer {
  readonly requests: FakeRequest[] = [];
  /** Answer every request with this status (or drop the connection); undefined: serve. */
  fail?: number | 'drop';
  /** Chat requests whose input had no scripted reply (a test's script is incomplete). */
  readonly unanswered: string[] = [];
  url = '';
  private server?: Server;
  private nextId = 1;

  constructor(private readonly options: FakeOpenAiOptions = {}) {}

  /** The base URL the OpenAI client takes (…/v1). */
  get baseURL(): string {
    return `${this.url}/v1`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        if (err instanceof RequestError) this.error(res, err);
        else this.error(res, new RequestError(500, 'InternalServerError', String(err)));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(this.options.port ?? 0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = undefined;
  }

  /** Chat requests received, in order. */
  get chatRequests(): Array<Record<string, unknown>> {
    return this.requests.filter((r) => r.path === '/v1/chat/completions').map((r) => r.body);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (this.fail !== undefined) {
      // Recorded all the same: a test asserts the failing server was tried.
      this.requests.push({ path, body: jsonOrEmpty(body) });
      if (this.fail === 'drop') {
        req.socket.destroy();
        return;
      }
      throw new RequestError(this.fail, 'InternalServerError', 'the server failed (test)');
    }
    if (req.method === 'GET' && path === '/health') {
      res.writeHead(200).end();
      return;
    }
    if (req.method === 'GET' && path === '/v1/models') {
      const ids = [...(this.options.chatModels ?? []), ...(this.options.sttModels ?? []), ...(this.options.ttsModels ?? [])];
      this.json(res, 200, { object: 'list', data: ids.map((id) => ({ id, object: 'model', owned_by: 'fake' })) });
      return;
    }
    if (req.method !== 'POST') throw new RequestError(405, 'MethodNotAllowed', `${req.method} ${path}`);
    switch (path) {
      case '/v1/chat/completions':
        return this.chat(JSON.parse(body.toString('utf8')) as Record<string, unknown>, res);
      case '/v1/audio/transcriptions':
        return this.transcribe(req, body, res);
      case '/v1/audio/speech':
        return this.speech(JSON.parse(body.toString('utf8')) as Record<string, unknown>, res);
      default:
        throw new RequestError(404, 'NotFoundError', `no route ${path}`);
    }
  }

  private checkModel(model: unknown, models: readonly string[] | undefined): string {
    if (typeof model !== 'string' || !(models ?? []).includes(model)) {
      throw new RequestError(404, 'NotFoundError', `The model \`${String(model)}\` does not exist.`, 'model');
    }
    return model;
  }

  private chat(request: Record<string, unknown>, res: ServerResponse): void {
    this.requests.push({ path: '/v1/chat/completions', body: request });
    const model = this.checkModel(request.model, this.options.chatModels);
    if (request.stream_options && !request.stream) throw new RequestError(400, 'BadRequestError', 'Stream options can only be defined when `stream=True`.');
    const tools = Array.isArray(request.tools) && request.tools.length > 0 ? (request.tools as Array<{ function?: { name?: string } }>) : null;
    let toolChoice = request.tool_choice;
    if (toolChoice === undefined && tools) toolChoice = 'auto';
    if (toolChoice !== undefined && toolChoice !== 'none' && !tools) throw new RequestError(400, 'BadRequestError', 'When using `tool_choice`, `tools` must be set.');
    if (toolChoice === 'auto' && !this.options.toolCalling) {
      throw new RequestError(400, 'BadRequestError', '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set');
    }
    const messages = (request.messages as Array<Record<string, unknown>>) ?? [];
    const reply = this.replyFor(messages);
    const toolNames = new Set((tools ?? []).map((t) => t.function?.name));
    let calls = toolChoice === 'none' ? [] : (reply?.toolCalls ?? []);
    for (const call of calls) {
      if (!toolNames.has(call.name)) throw new Error(`the script calls ${call.name}, which the request does not offer (tools: ${[...toolNames].join(', ')})`);
    }
    if (request.parallel_tool_calls === false) calls = calls.slice(0, 1);
    const id = `chatcmpl-${this.nextId++}`;
    const created = Math.floor(Date.now() / 1000);
    const chunk = (delta: Record<string, unknown>, finish: string | null = null) => ({
      id,
      object: 'chat.completion.chunk',
      created,
      model,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    });
    const chunks: Array<Record<string, unknown>> = [chunk({ role: 'assistant', content: '' })];
    const content = calls.length > 0 ? '' : (reply?.content ?? '');
    // Word by word, as a model streams.
    for (const piece of content.match(/\S+\s*/g) ?? []) chunks.push(chunk({ content: piece }));
    calls.forEach((call, index) => {
      const callId = this.options.toolCalling?.parser === 'openai' ? `call_${this.nextId++}` : `chatcmpl-tool-${this.nextId++}`;
      chunks.push(chunk({ tool_calls: [{ index, id: callId, type: 'function', function: { name: call.name, arguments: '' } }] }));
      const args = JSON.stringify(call.arguments);
      for (let i = 0; i < args.length; i += 8) chunks.push(chunk({ tool_calls: [{ index, function: { arguments: args.slice(i, i + 8) } }] }));
    });
    chunks.push(chunk({}, calls.length > 0 ? 'tool_calls' : 'stop'));
    // Token counts stand in for a tokenizer: ~4 characters a prompt token, one completion token per chunk.
    const promptTokens = Math.ceil(JSON.stringify(messages).length / 4) + (tools ? Math.ceil(JSON.stringify(tools).length / 4) : 0);
    const completionTokens = chunks.length - 2;
    if ((request.stream_options as { include_usage?: boolean } | undefined)?.include_usage) {
      chunks.push({ id, object: 'chat.completion.chunk', created, model, choices: [], usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens } });
    }
    if (!request.stream) throw new RequestError(400, 'BadRequestError', 'this stand-in streams only: the plugin always sets stream: true');
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    for (const c of chunks) res.write(`data: ${JSON.stringify(c)}\n\n`);
    res.end('data: [DONE]\n\n');
  }

  private replyFor(messages: Array<Record<string, unknown>>): FakeChatReply | undefined {
    const system = messages.find((m) => m.role === 'system');
    const instructions = typeof system?.content === 'string' ? system.content : JSON.stringify(system?.content ?? '');
    let input: string | undefined;
    for (let i = messages.length - 1; i >= 0; i--) {
      const m = messages[i]!;
      if (m.role === 'tool') {
        input = String(m.content);
        break;
      }
      if (m.role === 'user') {
        input = typeof m.content === 'string' ? m.content : (m.content as Array<{ text?: string }>).map((p) => p.text ?? '').join('');
        break;
      }
    }
    const reply = (this.options.replies ?? []).find((r) => r.input === input && (r.agent === undefined || instructions.includes(r.agent)));
    if (!reply) this.unanswered.push(input ?? '');
    return reply;
  }

  private async transcribe(req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<void> {
    const form = await new Request('http://fake/v1/audio/transcriptions', { method: 'POST', headers: { 'content-type': req.headers['content-type'] ?? '' }, body }).formData();
    const fields: Record<string, unknown> = {};
    let file: Buffer | undefined;
    for (const [key, value] of form.entries()) {
      if (typeof value === 'string') fields[key] = value;
      else if (key === 'file') file = Buffer.from(await value.arrayBuffer());
    }
    this.requests.push({ path: '/v1/audio/transcriptions', body: fields, ...(file ? { file } : {}) });
    this.checkModel(fields.model, this.options.sttModels);
    if (!file) throw new RequestError(400, 'BadRequestError', 'file: Field required', 'file');
    let samples: Int16Array;
    try {
      samples = decodeWav(file).samples;
    } catch (error) {
      throw new RequestError(400, 'BadRequestError', `file is not a WAV the server can decode: ${(error as Error).message}`, 'file');
    }
    const format = fields.response_format ?? 'json';
    if (format !== 'json') throw new RequestError(400, 'BadRequestError', `response_format ${String(format)}: this stand-in answers json (what the plugin asks for)`);
    this.json(res, 200, { text: this.options.transcripts?.get(transcriptKey(samples)) ?? '' });
  }

  private speech(request: Record<string, unknown>, res: ServerResponse): void {
    this.requests.push({ path: '/v1/audio/speech', body: request });
    this.checkModel(request.model, this.options.ttsModels);
    if (!(this.options.voices ?? []).includes(String(request.voice))) throw new RequestError(400, 'BadRequestError', `Voice '${String(request.voice)}' not found`, 'voice');
    if (request.response_format !== 'pcm') throw new RequestError(400, 'BadRequestError', `response_format ${String(request.response_format)}: this stand-in answers pcm (what the plugin asks for)`);
    const samples = speechFor(String(request.input ?? ''));
    res.writeHead(200, { 'content-type': 'audio/pcm' });
    res.end(Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength));
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  }

  private error(res: ServerResponse, error: RequestError): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    this.json(res, error.status, { error: { message: error.message, type: error.type, param: error.param, code: error.status } });
  }
}

function jsonOrEmpty(body: Buffer): Record<string, unknown> {
  try {
    return JSON.parse(body.toString('utf8')) as Record<string, unknown>;
  } catch {
    return {};
  }
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of req) parts.push(part as Buffer);
  return Buffer.concat(parts);
}
