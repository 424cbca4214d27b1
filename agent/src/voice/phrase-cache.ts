/**
 * Pre-rendered audio for the phrases an agent says over and over ("I'll check availability for
 * you"), so they cost no TTS characters and start playing at once (reference article, "TTS at
 * scale").
 *
 * - `renderPhrases` (the precache CLI) synthesises each phrase once with the configured TTS into
 *   a WAV file plus `index.json` naming the voice it was rendered with.
 * - `PhraseCache` loads that directory once per process; a cache rendered with another voice is
 *   ignored rather than played in the wrong voice.
 * - `PhrasePlayer` is per call: scripted lines go through `say` (`session.say(text, { audio })`
 *   on a hit), LLM replies through `interceptTts` (the agents' ttsNode), and it counts hits,
 *   misses and characters saved for the call record.
 */
import { AudioFrame } from '@livekit/rtc-node';
import type { tts, voice } from '@livekit/agents';
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ReadableStream } from 'node:stream/web';
import { z } from 'zod';
import { decodeWav, encodeWav, type Pcm16 } from './wav.js';

/** What a phrase was rendered with; a cache only plays for the same voice. */
export interface TtsIdentity {
  provider: string;
  model: string;
  voice: string;
}

export const PHRASE_INDEX_FILE = 'index.json';

const indexSchema = z.object({
  version: z.literal(1),
  tts: z.object({ provider: z.string(), model: z.string(), voice: z.string() }),
  phrases: z.array(
    z.object({
      text: z.string(),
      file: z.string().regex(/^[a-f0-9]{16}\.wav$/),
      characters: z.number().int().nonnegative(),
      durationMs: z.number().nonnegative(),
    }),
  ),
});
export type PhraseIndex = z.infer<typeof indexSchema>;

/**
 * The key a phrase is matched by: case, punctuation and spacing do not change what is heard
 * ("I'll check availability for you." matches "i'll check availability for you").
 */
export function normalizePhrase(text: string): string {
  return text
    .toLowerCase()
    .replace(/[’‘]/g, "'")
    .replace(/[^\p{L}\p{N}' ]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

function sameVoice(a: TtsIdentity, b: TtsIdentity): boolean {
  return a.provider === b.provider && a.model === b.model && a.voice === b.voice;
}

function fileFor(text: string, identity: TtsIdentity): string {
  const key = `${identity.provider}\n${identity.model}\n${identity.voice}\n${normalizePhrase(text)}`;
  return `${createHash('sha256').update(key).digest('hex').slice(0, 16)}.wav`;
}

export interface CachedPhrase {
  text: string;
  /** Characters the TTS provider would have billed for it. */
  characters: number;
  pcm: Pcm16;
}

/** 20 ms frames, the size LiveKit's audio source is fed with. */
const FRAME_MS = 20;

export class PhraseCache {
  private readonly entries = new Map<string, CachedPhrase>();
  /** Longest normalised phrase: an LLM reply longer than this cannot be a hit. */
  readonly maxNormalizedLength: number;

  constructor(phrases: Iterable<CachedPhrase> = []) {
    let max = 0;
    for (const phrase of phrases) {
      const key = normalizePhrase(phrase.text);
      if (!key) continue;
      this.entries.set(key, phrase);
      max = Math.max(max, key.length);
    }
    this.maxNormalizedLength = max;
  }

  static empty(): PhraseCache {
    return new PhraseCache();
  }

  /**
   * Loads a directory written by `renderPhrases`. A missing directory is an empty cache (the
   * agent still speaks, through TTS); a cache for another voice is ignored, and `onWarning` says
   * why, because playing it would switch voices mid-call.
   */
  static async load(dir: string, voice: TtsIdentity, onWarning: (message: string) => void = () => {}): Promise<PhraseCache> {
    let raw: string;
    try {
      raw = await readFile(join(dir, PHRASE_INDEX_FILE), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        onWarning(`no phrase cache in ${dir}: every phrase goes through TTS (run npm run precache)`);
        return PhraseCache.empty();
      }
      throw err;
    }
    const parsed = indexSchema.safeParse(JSON.parse(raw));
    if (!parsed.success) throw new Error(`${join(dir, PHRASE_INDEX_FILE)} is not a phrase index: ${parsed.error.issues[0]?.message}`);
    const index = parsed.data;
    if (!sameVoice(index.tts, voice)) {
      onWarning(
        `phrase cache in ${dir} was rendered with ${index.tts.provider}/${index.tts.model}/${index.tts.voice}, ` +
          `not the configured ${voice.provider}/${voice.model}/${voice.voice}: ignored (re-run npm run precache)`,
      );
      return PhraseCache.empty();
    }
    const phrases: CachedPhrase[] = [];
    for (const entry of index.phrases) {
      const pcm = decodeWav(await readFile(join(dir, entry.file)));
      phrases.push({ text: entry.text, characters: entry.characters, pcm });
    }
    return new PhraseCache(phrases);
  }

  get size(): number {
    return this.entries.size;
  }

  lookup(text: string): CachedPhrase | undefined {
    if (this.entries.size === 0) return undefined;
    return this.entries.get(normalizePhrase(text));
  }

  /** A fresh stream of new frames for each use: a ReadableStream is read once. */
  audioStream(phrase: CachedPhrase): ReadableStream<AudioFrame> {
    const { samples, sampleRate, channels } = phrase.pcm;
    const step = Math.max(1, Math.round((sampleRate * FRAME_MS) / 1000)) * channels;
    let offset = 0;
    return new ReadableStream<AudioFrame>({
      pull(controller) {
        if (offset >= samples.length) {
          controller.close();
          return;
        }
        const chunk = samples.slice(offset, Math.min(offset + step, samples.length));
        offset += step;
        controller.enqueue(new AudioFrame(chunk, sampleRate, channels, chunk.length / channels));
      },
    });
  }
}

/** Per-call counters; they end up in the call record and the phrase-cache metrics. */
export interface PhraseStats {
  hits: number;
  misses: number;
  /** Characters played from the cache instead of being billed by the TTS provider. */
  charactersSaved: number;
}

type TextInput = ReadableStream<string> | AsyncIterable<string>;
type Synthesize = (text: ReadableStream<string>) => Promise<ReadableStream<AudioFrame> | null>;

export class PhrasePlayer {
  readonly stats: PhraseStats = { hits: 0, misses: 0, charactersSaved: 0 };

  constructor(readonly cache: PhraseCache) {}

  private hit(phrase: CachedPhrase): ReadableStream<AudioFrame> {
    this.stats.hits++;
    this.stats.charactersSaved += phrase.characters;
    return this.cache.audioStream(phrase);
  }

  /**
   * Scripted speech (greetings, hand-over lines). A hit plays the cached audio; a miss goes to
   * the TTS through the agent's ttsNode, which counts it.
   */
  say<U>(session: voice.AgentSession<U>, text: string, options: { allowInterruptions?: boolean } = {}): voice.SpeechHandle {
    const phrase = this.cache.lookup(text);
    if (phrase) return session.say(text, { ...options, audio: this.hit(phrase) });
    return session.say(text, options);
  }

  /**
   * The agents' ttsNode: LLM output that is exactly a cached phrase plays from the cache.
   * Text is held back only until it is longer than the longest phrase (a few tokens), so a miss
   * starts synthesis almost as early as it would without the cache.
   */
  async interceptTts(text: TextInput, synthesize: Synthesize): Promise<ReadableStream<AudioFrame> | null> {
    const iterator = text[Symbol.asyncIterator]();
    let buffered = '';
    let ended = false;
    if (this.cache.size > 0) {
      for (;;) {
        const next = await iterator.next();
        if (next.done) {
          ended = true;
          break;
        }
        buffered += next.value;
        if (normalizePhrase(buffered).length > this.cache.maxNormalizedLength) break;
      }
      if (ended) {
        const phrase = this.cache.lookup(buffered);
        if (phrase) return this.hit(phrase);
      }
    }
    this.stats.misses++;
    const replay = new ReadableStream<string>({
      start(controller) {
        if (buffered) controller.enqueue(buffered);
        if (ended) controller.close();
      },
      async pull(controller) {
        if (ended) return;
        const next = await iterator.next();
        if (next.done) {
          ended = true;
          controller.close();
        } else controller.enqueue(next.value);
      },
      async cancel(reason) {
        await iterator.return?.(reason);
      },
    });
    return synthesize(replay);
  }
}

export interface RenderOptions {
  /** Re-render phrases that already have a file for this voice. */
  force?: boolean;
  /** Called after each phrase (progress on stderr in the CLI). */
  onPhrase?: (event: { text: string; index: number; total: number; rendered: boolean }) => void;
}

export interface RenderResult {
  index: PhraseIndex;
  rendered: number;
  reused: number;
  /** Characters sent to the TTS provider by this run. */
  characters: number;
}

/**
 * Renders the phrases with `tts` into `outDir`: one WAV per phrase and an index.json naming the
 * voice. Phrases already rendered with the same voice are kept unless `force`.
 */
export async function renderPhrases(
  phrases: readonly string[],
  engine: tts.TTS,
  identity: TtsIdentity,
  outDir: string,
  options: RenderOptions = {},
): Promise<RenderResult> {
  await mkdir(outDir, { recursive: true });
  let previous: PhraseIndex | undefined;
  try {
    const parsed = indexSchema.safeParse(JSON.parse(await readFile(join(outDir, PHRASE_INDEX_FILE), 'utf8')));
    if (parsed.success && sameVoice(parsed.data.tts, identity)) previous = parsed.data;
  } catch {
    // no usable index yet: render everything
  }
  const existing = new Map((previous?.phrases ?? []).map((p) => [normalizePhrase(p.text), p]));
  // The first spelling of a phrase wins; later ones that sound the same are the same phrase.
  const byKey = new Map<string, string>();
  for (const p of phrases) if (normalizePhrase(p) && !byKey.has(normalizePhrase(p))) byKey.set(normalizePhrase(p), p.trim());
  const unique = [...byKey.values()];
  const index: PhraseIndex = { version: 1, tts: identity, phrases: [] };
  let rendered = 0;
  let characters = 0;
  for (const [i, text] of unique.entries()) {
    const kept = existing.get(normalizePhrase(text));
    if (kept && !options.force) {
      try {
        await readFile(join(outDir, kept.file));
        index.phrases.push(kept);
        options.onPhrase?.({ text, index: i, total: unique.length, rendered: false });
        continue;
      } catch {
        // file gone: render again
      }
    }
    const frame = await engine.synthesize(text).collect();
    const file = fileFor(text, identity);
    const pcm: Pcm16 = { samples: frame.data, sampleRate: frame.sampleRate, channels: frame.channels };
    await writeFile(join(outDir, file), encodeWav(pcm));
    index.phrases.push({
      text,
      file,
      characters: text.length,
      durationMs: Math.round((frame.samplesPerChannel / frame.sampleRate) * 1000),
    });
    rendered++;
    characters += text.length;
    options.onPhrase?.({ text, index: i, total: unique.length, rendered: true });
  }
  // Write the index last and atomically: a crashed run never leaves an index naming missing files.
  const tmp = join(outDir, `${PHRASE_INDEX_FILE}.tmp`);
  await writeFile(tmp, `${JSON.stringify(index, null, 2)}\n`);
  await rename(tmp, join(outDir, PHRASE_INDEX_FILE));
  return { index, rendered, reused: index.phrases.length - rendered, characters };
}
