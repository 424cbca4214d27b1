/**
 * `npm run precache -- --phrases agent/config/phrases.yaml [--out DIR] [--force] [--json]`
 * (in the image: `node dist/voice/precache.js ...`). Renders every phrase once through the
 * configured TTS (agents.yaml providers.tts, TTS_PROVIDER/TTS_VOICE, the provider's key) into WAV
 * files and an index the agent loads at start (PHRASE_CACHE_DIR).
 *
 * Local directory only: to share a cache across an autoscaling group, render it once and copy it
 * (image layer, volume, or `aws s3 sync` in the instance's boot script).
 *
 * Exit 0 done, 2 bad flag/file/environment (one line), 1 the TTS provider failed.
 */
import { initializeLogger, type tts } from '@livekit/agents';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError, type Env } from '../config.js';
import { errorMessage } from '../log.js';
import { DEFAULT_PHRASE_CACHE_DIR, DEFAULT_SPEC_PATH } from '../worker/config.js';
import { loadAgentSpec } from './agents/index.js';
import { renderPhrases, type RenderResult, type TtsIdentity } from './phrase-cache.js';
import { buildTts, resolveTtsSettings, ttsIdentity, type TtsSettings } from './providers.js';

export interface PrecacheIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

export interface PrecacheDeps {
  /** The TTS to render with (tests pass a fake); default: the configured provider. */
  createTts?: (settings: TtsSettings) => tts.TTS;
}

class UsageError extends Error {}

const phrasesSchema = z.object({ phrases: z.array(z.string().trim().min(1, 'must not be empty')).min(1, 'must list at least one phrase') }).strict();

function readPhrases(path: string): string[] {
  let raw: string;
  try {
    raw = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`--phrases ${path} cannot be read: ${errorMessage(err)}`);
  }
  let data: unknown;
  try {
    data = parseYaml(raw);
  } catch (err) {
    throw new UsageError(`${path}: not valid YAML: ${errorMessage(err).split('\n')[0]}`);
  }
  const parsed = phrasesSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '') || '(top level)';
    throw new UsageError(`${path}: ${key} ${issue.message.startsWith('must') ? issue.message : `is invalid: ${issue.message}`} (expected "phrases:" and a list of lines)`);
  }
  return parsed.data.phrases;
}

export async function runPrecache(argv: readonly string[], env: Env, io: PrecacheIo, deps: PrecacheDeps = {}): Promise<number> {
  let phrasesPath: string;
  let outDir: string;
  let force: boolean;
  let json: boolean;
  let settings: TtsSettings;
  let phrases: string[];
  try {
    let values;
    try {
      ({ values } = parseArgs({
        args: [...argv],
        strict: true,
        allowPositionals: false,
        options: { phrases: { type: 'string' }, out: { type: 'string' }, force: { type: 'boolean' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      }));
    } catch (err) {
      throw new UsageError(`${errorMessage(err)} (usage: precache --phrases FILE [--out DIR] [--force] [--json])`);
    }
    if (values.help) {
      io.stdout('usage: precache --phrases FILE [--out DIR] [--force] [--json]\n  renders each phrase through the configured TTS into DIR (default PHRASE_CACHE_DIR or agent/phrase-cache)\n');
      return 0;
    }
    if (!values.phrases) throw new UsageError('--phrases FILE is required (e.g. agent/config/phrases.yaml)');
    phrasesPath = resolve(values.phrases);
    // Empty PHRASE_CACHE_DIR means unset, as the worker reads it: both must use the same directory.
    outDir = resolve(values.out ?? (env.PHRASE_CACHE_DIR?.trim() || DEFAULT_PHRASE_CACHE_DIR));
    force = values.force ?? false;
    json = values.json ?? false;
    phrases = readPhrases(phrasesPath);
    const spec = loadAgentSpec(env.AGENT_SPEC?.trim() || DEFAULT_SPEC_PATH);
    settings = resolveTtsSettings(spec.providers, env);
  } catch (err) {
    if (err instanceof UsageError || err instanceof ConfigError) {
      io.stderr(`precache: ${err.message}\n`);
      return 2;
    }
    throw err;
  }

  initializeLogger({ pretty: false, level: 'warn' });
  const identity: TtsIdentity = ttsIdentity(settings);
  const engine = (deps.createTts ?? buildTts)(settings);
  let result: RenderResult;
  try {
    result = await renderPhrases(phrases, engine, identity, outDir, {
      force,
      onPhrase: ({ text, index, total, rendered }) => io.stderr(`[${index + 1}/${total}] ${rendered ? 'rendered' : 'kept    '} ${text}\n`),
    });
  } catch (err) {
    io.stderr(`precache: ${identity.provider} TTS failed: ${errorMessage(err)}\n`);
    return 1;
  } finally {
    await engine.close();
  }
  const summary = { outDir, tts: identity, phrases: result.index.phrases.length, rendered: result.rendered, kept: result.reused, characters: result.characters };
  io.stdout(
    json
      ? `${JSON.stringify(summary)}\n`
      : `${summary.phrases} phrases in ${outDir} (${identity.provider}/${identity.model}/${identity.voice}): ${result.rendered} rendered (${result.characters} characters billed), ${result.reused} kept\n`,
  );
  return 0;
}

// Run as a script (node dist/voice/precache.js ...), not when imported by tests.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const io: PrecacheIo = { stdout: (t) => void process.stdout.write(t), stderr: (t) => void process.stderr.write(t) };
  runPrecache(process.argv.slice(2), process.env, io).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`precache: ${errorMessage(err)}\n`);
      process.exitCode = 1;
    },
  );
}
