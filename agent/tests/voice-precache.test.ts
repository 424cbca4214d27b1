/**
 * The precache CLI: phrases.yaml through the configured TTS (a counting fake here) into the cache
 * directory the worker loads; bad input is one line and exit 2.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../src/dev/processes.js';
import { PhraseCache } from '../src/voice/phrase-cache.js';
import { runPrecache } from '../src/voice/precache.js';
import { CountingTTS, PHRASES_PATH } from './helpers/voice-fakes.js';

const ENV = { CARTESIA_API_KEY: 'ca-test-not-a-key' };
const VOICE = { provider: 'cartesia', model: 'sonic-2', voice: 'f786b574-daa5-4673-aa0c-cbe3e8534c02' };

let dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  dirs = [];
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'precache-'));
  dirs.push(dir);
  return dir;
}

function capture() {
  const out = { stdout: '', stderr: '' };
  return { out, io: { stdout: (t: string) => void (out.stdout += t), stderr: (t: string) => void (out.stderr += t) } };
}

describe('precache', () => {
  it('renders phrases.yaml with the configured voice into the cache the worker loads', async () => {
    const dir = await tempDir();
    const engine = new CountingTTS();
    const { out, io } = capture();

    const code = await runPrecache(['--phrases', PHRASES_PATH, '--out', dir, '--json'], ENV, io, { createTts: () => engine });

    expect(code).toBe(0);
    const summary = JSON.parse(out.stdout);
    expect(summary).toMatchObject({ outDir: dir, tts: VOICE, rendered: engine.synthesized.length, kept: 0 });
    expect(summary.phrases).toBeGreaterThan(5);
    expect(out.stderr).toContain(`[1/${summary.phrases}] rendered Thanks for calling. How can I help you today?`);
    const cache = await PhraseCache.load(dir, VOICE);
    expect(cache.lookup("I'll check availability for you.")).toBeDefined();

    // A second run keeps what is there: no characters billed again.
    const again = capture();
    expect(await runPrecache(['--phrases', PHRASES_PATH, '--out', dir], ENV, again.io, { createTts: () => new CountingTTS() })).toBe(0);
    expect(again.out.stdout).toContain(`0 rendered (0 characters billed), ${summary.phrases} kept`);
  });

  it('without --phrases, with a bad phrases file or without the TTS key: exit 2 and one line', async () => {
    const dir = await tempDir();
    const cases: Array<[string[], Record<string, string>, RegExp]> = [
      [[], ENV, /^precache: --phrases FILE is required/],
      [['--phrases', PHRASES_PATH, '--bogus'], ENV, /^precache: Unknown option '--bogus'/],
      [['--phrases', join(dir, 'none.yaml')], ENV, /^precache: --phrases .*none\.yaml cannot be read/],
      [['--phrases', join(dir, 'empty.yaml')], ENV, /^precache: .*empty\.yaml: phrases must list at least one phrase/],
      [['--phrases', PHRASES_PATH, '--out', dir], {}, /^precache: CARTESIA_API_KEY is required/],
    ];
    await writeFile(join(dir, 'empty.yaml'), 'phrases: []\n');
    for (const [argv, env, expected] of cases) {
      const { out, io } = capture();
      expect(await runPrecache(argv, env, io, { createTts: () => new CountingTTS() })).toBe(2);
      expect(out.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(out.stderr).toMatch(expected);
    }
  });

  it('a TTS failure is exit 1, and no index is left pointing at missing files', async () => {
    const dir = await tempDir();
    const failing = new CountingTTS();
    failing.synthesize = () => {
      throw new Error('401 unauthorized');
    };
    const { out, io } = capture();
    expect(await runPrecache(['--phrases', PHRASES_PATH, '--out', dir], ENV, io, { createTts: () => failing })).toBe(1);
    expect(out.stderr).toContain('precache: cartesia TTS failed: 401 unauthorized');
    await expect(readFile(join(dir, 'index.json'))).rejects.toThrow();
  });

  it('runs as a script (the npm run precache entry)', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'agent/src/voice/precache.ts', '--phrases', PHRASES_PATH], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '' },
      encoding: 'utf8',
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^precache: CARTESIA_API_KEY is required/);
  });
});
