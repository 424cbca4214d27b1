/**
 * A simulated call end to end: the session runs router -> billing on fake models, TTS and audio
 * output; the audio-only signals (STT audio, measured turn latency) are fed in as the room would
 * produce them. The record must be complete, its cost must equal the catalog arithmetic, and
 * publishing it must show on /metrics and in the Redis stream `calls:records` (a real redis-server
 * of the test's own).
 */
import { llm, voice } from '@livekit/agents';
import { DEFAULT_CATALOG } from '@voice-agent-infra/common';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type RedisServer } from '../src/dev/redis-server.js';
import { silentLogger } from '../src/log.js';
import { callRecordSchema, type CallRecord } from '../src/telemetry/call-record.js';
import { CALL_RECORDS_STREAM, CallMetrics, CallTelemetry } from '../src/telemetry/call-telemetry.js';
import { startMetricsServer, type MetricsServer } from '../src/telemetry/metrics-server.js';
import { HttpRecordSink, startRecordIngest, type RecordIngest } from '../src/telemetry/record-sink.js';
import { PhraseCache, renderPhrases } from '../src/voice/phrase-cache.js';
import { say, startTestCall } from './helpers/call-harness.js';
import { CountingTTS, ImmediateOutput, quietFrameworkLogs, ScriptedLLM } from './helpers/voice-fakes.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const GREETING = 'Thanks for calling. How can I help you today?';
const INTENT = 'There is a charge on my bill I do not recognise';
const STARTED_AT = Date.UTC(2026, 10, 23, 14, 5, 0); // 14:05 UTC

let redisServer: RedisServer;
let redis: Redis;
let cacheDir: string;

beforeAll(async () => {
  quietFrameworkLogs();
  redisServer = await startRedisServer(); // fails with a clear message when redis-server is missing
  redis = new Redis(redisServer.url, { maxRetriesPerRequest: 1 });
  cacheDir = await mkdtemp(join(tmpdir(), 'record-cache-'));
  await renderPhrases([GREETING], new CountingTTS(), { provider: 'test', model: 'counting', voice: 'v1' }, cacheDir);
});

afterAll(async () => {
  redis?.disconnect();
  await redisServer?.stop();
  if (cacheDir) await rm(cacheDir, { recursive: true, force: true });
});

/** Runs the simulated call and returns its record and what the TTS synthesised. */
async function simulatedCall(): Promise<{ record: CallRecord; synthesizedCharacters: number }> {
  let clock = STARTED_AT;
  const tts = new CountingTTS();
  const router = new ScriptedLLM({
    model: 'gpt-4o-mini',
    provider: 'api.openai.com',
    replies: [{ input: INTENT, toolCalls: [{ name: 'transfer_to_billing', args: {} }], usage: { inputTokens: 300, outputTokens: 12 } }],
  });
  const billing = new ScriptedLLM({
    model: 'gpt-4o',
    provider: 'api.openai.com',
    replies: [{ input: INTENT, content: 'Let me look at that invoice with you.', usage: { inputTokens: 500, outputTokens: 20 } }],
  });
  const running = await startTestCall({
    router,
    specialists: { billing },
    tts,
    audioOutput: new ImmediateOutput(),
    phraseCache: await PhraseCache.load(cacheDir, { provider: 'test', model: 'counting', voice: 'v1' }),
    caller: { sip: true, identity: 'sip_+15550001111' },
    now: () => clock,
  });
  try {
    await say(running, INTENT);

    // What the room's audio path adds on a real call: STT audio and measured turn latency.
    const { session } = running;
    session.emit(voice.AgentSessionEventTypes.MetricsCollected, {
      type: 'metrics_collected',
      createdAt: Date.now(),
      metrics: { type: 'stt_metrics', label: 'deepgram.STT', requestId: 'r1', timestamp: Date.now(), durationMs: 0, audioDurationMs: 42_000, streamed: true },
    });
    for (const e2eLatency of [0.62, 0.48]) {
      session.emit(voice.AgentSessionEventTypes.ConversationItemAdded, {
        type: 'conversation_item_added',
        createdAt: Date.now(),
        item: llm.ChatMessage.create({ role: 'assistant', content: 'measured turn', metrics: { e2eLatency } }),
      });
    }
    clock = STARTED_AT + 90_000; // the caller hangs up after 90 s
    const record = running.finish();
    return { record, synthesizedCharacters: tts.synthesized.reduce((n, t) => n + t.length, 0) };
  } finally {
    await running.session.close();
  }
}

describe('call record', () => {
  let record: CallRecord;
  let synthesizedCharacters: number;
  beforeAll(async () => {
    ({ record, synthesizedCharacters } = await simulatedCall());
  });

  it('is complete', () => {
    expect(callRecordSchema.parse(record)).toEqual(record);
    expect(record).toMatchObject({
      callId: 'call-test-1',
      room: 'room-test-1',
      useCase: 'customer-service',
      agentPath: ['router', 'billing'],
      outcome: 'completed',
      startedAt: '2026-11-23T14:05:00.000Z',
      startedAtHour: 14,
      durationSeconds: 90,
      turnLatenciesMs: [620, 480],
      usage: {
        sttSeconds: 42,
        llm: [
          { model: 'gpt-4o', inputTokens: 500, outputTokens: 20 },
          { model: 'gpt-4o-mini', inputTokens: 300, outputTokens: 12 },
        ],
        ttsCharacters: synthesizedCharacters,
        cachedCharacters: GREETING.length,
        telephonyMinutes: 1.5,
      },
      providers: { stt: 'deepgram-nova-3', tts: 'cartesia-sonic', telephony: 'sip-trunk' },
      unpricedModels: [],
      overrides: [],
      phraseCache: { hits: 1, misses: 2 }, // the greeting from the cache; billing's greeting and reply through TTS
    });
    expect(synthesizedCharacters).toBe('I can help with your bill.'.length + 'Let me look at that invoice with you.'.length);
  });

  it('costs what the catalog says', () => {
    const p = (key: string) => DEFAULT_CATALOG[key]!.value;
    const expected =
      (42 / 60) * p('stt.deepgram-nova-3.minute') +
      (500 / 1e6) * p('llm.gpt-4o.input') +
      (20 / 1e6) * p('llm.gpt-4o.output') +
      (300 / 1e6) * p('llm.gpt-4o-mini.input') +
      (12 / 1e6) * p('llm.gpt-4o-mini.output') +
      (synthesizedCharacters / 1e6) * p('tts.cartesia-sonic.characters') +
      1.5 * p('telephony.sip-trunk.minute');
    expect(record.costUsd).toBeCloseTo(expected, 6);
    expect(record.costUsd).toBeGreaterThan(0);
  });

  describe('published from the job process to the worker', () => {
    let ingest: RecordIngest;
    let metricsServer: MetricsServer;
    const emfLines: string[] = [];

    beforeAll(async () => {
      const registry = new Registry();
      const telemetry = new CallTelemetry({
        metrics: new CallMetrics(registry),
        redis,
        namespace: 'VoiceAgent',
        stack: 'test',
        emf: true,
        log: silentLogger,
        write: (line) => void emfLines.push(line),
      });
      ingest = await startRecordIngest((r) => telemetry.publish(r), silentLogger);
      metricsServer = await startMetricsServer({ registry, host: '127.0.0.1', port: 0, log: silentLogger });
      await new HttpRecordSink(ingest.url, ingest.token).send(record);
    });

    afterAll(async () => {
      await ingest?.close();
      await metricsServer?.close();
    });

    it('shows on /metrics', async () => {
      const text = await (await fetch(`${metricsServer.url}/metrics`)).text();
      expect(text).toContain('voice_calls_total{outcome="completed",use_case="customer-service"} 1');
      expect(text).toContain('voice_turn_latency_seconds_count{use_case="customer-service"} 2');
      expect(text).toContain(`voice_call_cost_usd_sum{use_case="customer-service",hour="14"} ${record.costUsd}`);
      expect(text).toContain('voice_call_success_ratio_sum{use_case="customer-service"} 1');
      expect(text).toContain('voice_call_escalated_ratio_sum{use_case="customer-service"} 0');
      expect(text).toContain('voice_phrase_cache_hits_total 1');
      expect(text).toContain(`voice_phrase_cache_saved_characters_total ${GREETING.length}`);
      expect(text).not.toContain('call-test-1'); // never a call id as a label
    });

    it('is appended to the Redis stream calls:records', async () => {
      const entries = await redis.xrange(CALL_RECORDS_STREAM, '-', '+');
      expect(entries).toHaveLength(1);
      const fields = entries[0]![1];
      const json = fields[fields.indexOf('record') + 1]!;
      expect(JSON.parse(json)).toEqual(record);
      expect(fields.slice(0, 6)).toEqual(['callId', 'call-test-1', 'outcome', 'completed', 'useCase', 'customer-service']);
    });

    it('is one EMF line with the Stack dimension and the call as properties', () => {
      expect(emfLines).toHaveLength(1);
      const emf = JSON.parse(emfLines[0]!);
      expect(emf._aws.CloudWatchMetrics[0]).toMatchObject({ Namespace: 'VoiceAgent', Dimensions: [['Stack']] });
      expect(emf).toMatchObject({ Stack: 'test', callId: 'call-test-1', outcome: 'completed', CallCostUsd: record.costUsd, TurnLatency: [620, 480], CallsFinished: 1 });
    });

    it('refuses a record without the worker token, and a malformed one', async () => {
      await expect(new HttpRecordSink(ingest.url, 'wrong-token').send(record)).rejects.toThrow('401');
      const res = await fetch(ingest.url, { method: 'POST', headers: { 'x-record-token': ingest.token }, body: '{"callId": 1}' });
      expect(res.status).toBe(400);
    });
  });

  it('keeps the stream capped', async () => {
    const telemetry = new CallTelemetry({ metrics: new CallMetrics(new Registry()), redis, streamMaxLength: 100, namespace: 'VoiceAgent', stack: 'test', emf: false, log: silentLogger });
    await redis.del(CALL_RECORDS_STREAM);
    for (let i = 0; i < 400; i++) await telemetry.publish({ ...record, callId: `cap-${i}` });
    // MAXLEN ~ trims whole stream nodes (100 entries each): never more than a node over the cap.
    expect(await redis.xlen(CALL_RECORDS_STREAM)).toBeLessThanOrEqual(200);
  });
});
