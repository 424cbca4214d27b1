/**
 * The agent env secret's contract, held against the agent itself: the keys the AWS components ask
 * the operator for are exactly the ones the worker refuses to start without (agent/src/voice/
 * providers.ts, run here), and the names the converter refuses cover every variable the queue
 * roles read (agent/src/config.ts) and every one the compose renderer writes, while leaving the
 * worker's own options to the operator.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { TTS_PROVIDERS } from '@voice-agent-infra/common';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ConfigError as AgentConfigError } from '../../agent/src/config.js';
import { loadAgentSpec } from '../../agent/src/voice/agents/index.js';
import { resolveProviderSettings } from '../../agent/src/voice/providers.js';
import { DEFAULT_SPEC_PATH } from '../../agent/src/worker/config.js';
import { AGENT_ENV_HELP } from '../../agent/src/worker/help.js';
import { agentProviderKeys, ttsVendor } from '../../components/agent-providers.js';
import { parseStackConfig } from '../../components/config.js';
import {
  AGENT_ENV_CONVERTER,
  type CloudInitArgs,
  isReservedAgentEnvName,
  NODE_FILES,
  NODE_ROLES,
  RESERVED_AGENT_ENV_PREFIXES,
  renderCloudInit,
  reservedAgentEnvNames,
} from '../../components/livekit/index.js';
import { nodeArgs } from './livekit-fixtures.js';

const spec = loadAgentSpec(DEFAULT_SPEC_PATH);

describe('the keys the stack asks for are the ones the worker needs', () => {
  it.each(TTS_PROVIDERS)('providers.tts %s: with exactly those keys (and TTS_PROVIDER) the worker resolves its providers; without any one it refuses, naming it', (tts) => {
    const config = parseStackConfig({ monthlyMinutes: 10_000, providers: { tts } });
    const keys = agentProviderKeys(config);
    const env: Record<string, string> = { ...Object.fromEntries(keys.map((k) => [k, `value-of-${k}`])), TTS_PROVIDER: ttsVendor(config) };
    expect(resolveProviderSettings(spec.providers, env).tts.provider).toBe(ttsVendor(config));
    for (const key of keys) {
      const { [key]: _dropped, ...without } = env;
      let error: unknown;
      try {
        resolveProviderSettings(spec.providers, without);
      } catch (e) {
        error = e;
      }
      expect(error, key).toBeInstanceOf(AgentConfigError);
      expect((error as AgentConfigError).variable).toBe(key);
    }
  });
});

describe('a local speech model: the worker keeps its hosted fallback behind it', () => {
  it.each([
    ['cartesia-sonic', 'cartesia', 'CARTESIA_API_KEY'],
    ['elevenlabs-flash', 'elevenlabs', 'ELEVEN_API_KEY'],
  ] as const)('tts local with fallback %s: TTS_PROVIDER %s and its key', (fallback, vendor, key) => {
    const config = parseStackConfig({ monthlyMinutes: 10_000, providers: { tts: 'local', stt: 'local' }, inference: { tts: { hostedFallback: fallback } } });
    expect(ttsVendor(config)).toBe(vendor);
    // STT local: its fallback (Deepgram by default) still needs its key.
    expect(agentProviderKeys(config)).toEqual(['OPENAI_API_KEY', 'DEEPGRAM_API_KEY', key]);
  });
});

describe('the names the operator may not set', () => {
  it('every variable the queue roles read (agent/src/config.ts) is reserved', () => {
    const source = readFileSync(new URL('../../agent/src/config.ts', import.meta.url), 'utf8');
    const vars = source.slice(source.indexOf('const VARS = {'), source.indexOf('} satisfies Record<string, VarSpec<unknown>>'));
    const names = [...vars.matchAll(/^ {2}([A-Z][A-Z0-9_]+): \{/gm)].map((m) => m[1]!);
    expect(names.length).toBeGreaterThan(20);
    for (const name of names) expect(isReservedAgentEnvName(name), name).toBe(true);
  });

  it.each(NODE_ROLES)('%s: every variable the compose file sets for the agent image is refused by its boot script', (role) => {
    const args = { ...nodeArgs(role), extraEnvironment: { TTS_PROVIDER: 'cartesia' } } as CloudInitArgs;
    const files = new Map((parse(renderCloudInit(args)) as { write_files: Array<{ path: string; content: string }> }).write_files.map((f) => [f.path, f.content]));
    const boot = files.get(NODE_FILES.bootScript)!;
    const call = /^read_agent_env '[^']+' '[^']+' '([^']*)' '([^']*)' '[^']*'$/m.exec(boot);
    if (role !== 'small' && role !== 'agent') {
      expect(call).toBeNull();
      return;
    }
    const [reserved, prefixes] = [call![1]!.split(' '), call![2]!.split(' ')];
    expect(prefixes).toEqual([...RESERVED_AGENT_ENV_PREFIXES]);
    const compose = parse(files.get(NODE_FILES.compose)!) as { services: Record<string, { environment?: Record<string, string> }> };
    for (const [service, svc] of Object.entries(compose.services)) {
      for (const name of Object.keys(svc.environment ?? {})) {
        expect(reserved.includes(name) || prefixes.some((p) => name.startsWith(p)), `${service}: ${name}`).toBe(true);
      }
    }
    expect(reserved).toContain('TTS_PROVIDER');
  });

  it('leaves the worker’s own options to the operator: provider keys, the local model, the tools backend, the transfer number, the voice', () => {
    const options = [...AGENT_ENV_HELP.map(([name]) => name), 'ELEVEN_API_KEY', 'TTS_VOICE', 'LOG_LEVEL', 'NODE_OPTIONS'].filter(
      (name) => !name.startsWith('LIVEKIT_') && !name.startsWith('AGENT_') && !name.startsWith('REDIS_') && name !== 'PHRASE_CACHE_DIR',
    );
    expect(options).toEqual(expect.arrayContaining(['OPENAI_API_KEY', 'DEEPGRAM_API_KEY', 'CARTESIA_API_KEY', 'LOCAL_LLM_URL', 'TOOLS_BACKEND_URL', 'ESCALATION_TRANSFER_TO']));
    for (const name of options) expect(isReservedAgentEnvName(name), name).toBe(false);
    expect(reservedAgentEnvNames(['FOO_BAR', 'LIVEKIT_URL'])).toContain('FOO_BAR');
    // What a prefix covers is not listed twice.
    expect(reservedAgentEnvNames(['LIVEKIT_URL'])).not.toContain('LIVEKIT_URL');
  });
});

describe('the converter alone (python3, as boot.sh runs it)', () => {
  const convert = (secretString: string, reserved = 'STACK_NAME TTS_PROVIDER', expected = 'OPENAI_API_KEY') =>
    spawnSync('python3', ['-c', AGENT_ENV_CONVERTER, 'arn:test', reserved, RESERVED_AGENT_ENV_PREFIXES.join(' '), expected], { input: secretString, encoding: 'utf8' });

  it('writes NAME=\'value\' lines in the secret’s order, and nothing else', () => {
    const run = convert('{"OPENAI_API_KEY": "sk-1", "TOOLS_BACKEND_URL": "https://tools.example.com/v1?a=b&c=$d"}');
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toBe("OPENAI_API_KEY='sk-1'\nTOOLS_BACKEND_URL='https://tools.example.com/v1?a=b&c=$d'\n");
    expect(run.stderr).toBe('');
  });

  it('refuses a name the rendered compose file sets (passed in, not listed in the converter)', () => {
    const run = convert('{"TTS_PROVIDER": "elevenlabs"}');
    expect(run.status).toBe(1);
    expect(run.stderr).toBe('voice-agent boot: agent env secret arn:test: TTS_PROVIDER is set by the stack itself; remove it from the secret\n');
  });

  it('an empty object is a valid secret (the warning names every expected key)', () => {
    const run = convert('{}', '', 'OPENAI_API_KEY DEEPGRAM_API_KEY');
    expect(run.status).toBe(0);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('has no OPENAI_API_KEY, DEEPGRAM_API_KEY');
  });
});
