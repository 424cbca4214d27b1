/**
 * Phrase cache: rendered once through the TTS into WAV files, then played from the cache. A
 * counting fake TTS proves which utterances reached the provider.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReadableStream } from 'node:stream/web';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { loadAgentSpec } from '../src/voice/agents/index.js';
import type { RunningCall } from '../src/voice/call.js';
import { normalizePhrase, PhraseCache, PhrasePlayer, renderPhrases, type TtsIdentity } from '../src/voice/phrase-cache.js';
import { say, startTestCall } from './helpers/call-harness.js';
import { CountingTTS, ImmediateOutput, PHRASES_PATH, quietFrameworkLogs, ScriptedLLM, SPEC_PATH } from './helpers/voice-fakes.js';

beforeAll(quietFrameworkLogs);

const VOICE: TtsIdentity = { provider: 'test', model: 'counting', voice: 'v1' };
const GREETING = 'Thanks for calling. How can I help you today?';
const CHECKING = "I'll check availability for you.";

let dirs: string[] = [];
let running: RunningCall | undefined;
afterEach(async () => {
  await running?.session.close();
  running = undefined;
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  dirs = [];
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'phrase-cache-'));
  dirs.push(dir);
  return dir;
}

/** A cache rendered by the precache path with a counting TTS, then loaded as the worker does. */
async function renderedCache(phrases: string[]): Promise<PhraseCache> {
  const dir = await tempDir();
  await renderPhrases(phrases, new CountingTTS(), VOICE, dir);
  return PhraseCache.load(dir, VOICE);
}

describe('rendering (npm run precache)', () => {
  it('renders each phrase once into a WAV file and an index naming the voice; a second run reuses them', async () => {
    const dir = await tempDir();
    const engine = new CountingTTS();

    const first = await renderPhrases([GREETING, CHECKING, 'i’ll CHECK availability for you'], engine, VOICE, dir);

    expect(first).toMatchObject({ rendered: 2, reused: 0, characters: GREETING.length + CHECKING.length });
    expect(engine.synthesized).toEqual([GREETING, CHECKING]); // the third is the second, spelled differently
    const files = (await readdir(dir)).sort();
    expect(files.filter((f) => f.endsWith('.wav'))).toHaveLength(2);
    const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8'));
    expect(index.tts).toEqual(VOICE);

    const second = await renderPhrases([GREETING, CHECKING], engine, VOICE, dir);
    expect(second).toMatchObject({ rendered: 0, reused: 2, characters: 0 });
    expect(engine.synthesized).toHaveLength(2);
  });

  it('ignores a cache rendered with another voice (and says why) instead of switching voices mid-call', async () => {
    const dir = await tempDir();
    await renderPhrases([GREETING], new CountingTTS(), VOICE, dir);
    const warnings: string[] = [];
    const cache = await PhraseCache.load(dir, { ...VOICE, voice: 'v2' }, (w) => warnings.push(w));
    expect(cache.size).toBe(0);
    expect(warnings[0]).toContain('re-run npm run precache');
  });

  it('matches phrases regardless of case, punctuation and spacing', () => {
    expect(normalizePhrase('  I’ll check   availability, for you! ')).toBe(normalizePhrase(CHECKING));
  });

  it('holds every greeting of agents.yaml in phrases.yaml', async () => {
    const spec = loadAgentSpec(SPEC_PATH);
    const phrases = (parseYaml(await readFile(PHRASES_PATH, 'utf8')) as { phrases: string[] }).phrases.map(normalizePhrase);
    const greetings = [spec.router.greeting, ...Object.values(spec.specialists).map((s) => s.greeting)].filter((g): g is string => Boolean(g));
    for (const g of greetings) expect(phrases).toContain(normalizePhrase(g));
  });
});

describe('playing', () => {
  it('plays a cached phrase without calling the TTS', async () => {
    const tts = new CountingTTS();
    const output = new ImmediateOutput();
    running = await startTestCall({ router: new ScriptedLLM(), phraseCache: await renderedCache([GREETING]), tts, audioOutput: output });

    // The router's greeting went out at start, from the cache.
    expect(tts.synthesized).toEqual([]);
    expect(output.framesPlayed).toBeGreaterThan(0);
    expect(running.call.phrases.stats).toEqual({ hits: 1, misses: 0, charactersSaved: GREETING.length });
  });

  it('sends a phrase that is not cached to the TTS', async () => {
    const tts = new CountingTTS();
    running = await startTestCall({ router: new ScriptedLLM(), phraseCache: await renderedCache([GREETING]), tts, audioOutput: new ImmediateOutput() });

    await running.call.phrases.say(running.session, 'Your booking reference is BK-1001.').waitForPlayout();

    expect(tts.synthesized).toEqual(['Your booking reference is BK-1001.']);
    expect(running.call.phrases.stats).toMatchObject({ hits: 1, misses: 1 });
  });

  it('plays the same cached phrase twice (a fresh stream each time)', async () => {
    const tts = new CountingTTS();
    const output = new ImmediateOutput();
    running = await startTestCall({ router: new ScriptedLLM(), phraseCache: await renderedCache([GREETING, CHECKING]), tts, audioOutput: output });
    const afterGreeting = output.framesPlayed;

    await running.call.phrases.say(running.session, CHECKING).waitForPlayout();
    const once = output.framesPlayed - afterGreeting;
    await running.call.phrases.say(running.session, CHECKING).waitForPlayout();
    const twice = output.framesPlayed - afterGreeting;

    expect(once).toBeGreaterThan(0);
    expect(twice).toBe(2 * once);
    expect(tts.synthesized).toEqual([]);
    expect(running.call.phrases.stats).toEqual({ hits: 3, misses: 0, charactersSaved: GREETING.length + 2 * CHECKING.length });
    // The transcript still has the words.
    const said = running.session.history.items.filter((i) => i.type === 'message' && i.role === 'assistant').map((i) => (i.type === 'message' ? i.textContent : ''));
    expect(said).toEqual([GREETING, CHECKING, CHECKING]);
  });

  it('plays an LLM reply that is exactly a cached phrase from the cache, and synthesises a longer one in full', async () => {
    const tts = new CountingTTS();
    const router = new ScriptedLLM({
      replies: [
        { input: 'Can I come in on Tuesday?', content: CHECKING },
        { input: 'And Wednesday?', content: "I'll check availability for you, and also for Thursday." },
      ],
    });
    running = await startTestCall({ router, phraseCache: await renderedCache([GREETING, CHECKING]), tts, audioOutput: new ImmediateOutput() });

    const first = await say(running, 'Can I come in on Tuesday?');
    expect(first.spoken).toEqual([CHECKING]);
    expect(tts.synthesized).toEqual([]);

    await say(running, 'And Wednesday?');
    expect(tts.synthesized).toEqual(["I'll check availability for you, and also for Thursday."]);
    expect(running.call.phrases.stats).toEqual({ hits: 2, misses: 1, charactersSaved: GREETING.length + CHECKING.length });
  });
});

describe('interceptTts', () => {
  it('hands a miss to the TTS with the text exactly as streamed, held back only to the longest phrase', async () => {
    const player = new PhrasePlayer(new PhraseCache([{ text: 'Hi there.', characters: 9, pcm: { samples: new Int16Array(480), sampleRate: 24_000, channels: 1 } }]));
    const chunks = ['Hi', ' there', ', how', ' are', ' you', ' today?'];
    let received = '';
    await player.interceptTts(ReadableStream.from(chunks), async (text) => {
      for await (const chunk of text) received += chunk;
      return null;
    });
    expect(received).toBe(chunks.join(''));
    expect(player.stats).toEqual({ hits: 0, misses: 1, charactersSaved: 0 });
  });
});
