import { describe, expect, it } from 'vitest';
import { runVoiceAgent } from '../src/dev/processes.js';
import { freePort } from '../src/dev/redis-server.js';

const full = {
  REDIS_URL: 'redis://127.0.0.1:1',
  LIVEKIT_URL: 'http://127.0.0.1:7880',
  LIVEKIT_API_KEY: 'APIkey',
  LIVEKIT_API_SECRET: 'super-secret-value-123',
  INTAKE_TOKEN: 'intake-token-0123456789abcdef',
};

function without(name: keyof typeof full): Record<string, string> {
  const env: Record<string, string> = { ...full };
  delete env[name];
  return env;
}

/** One line on stderr, nothing on stdout. */
function oneLine(result: { stdout: string; stderr: string }): string {
  expect(result.stdout).toBe('');
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  return lines[0]!;
}

describe('voice-agent CLI', () => {
  it('--help lists the roles and operator commands, exit 0, on stdout', async () => {
    const r = await runVoiceAgent(['--help'], {});
    expect(r.code).toBe(0);
    for (const text of ['voice-agent intake', 'voice-agent dispatcher', 'voice-agent all', 'queue stats', 'queue dead-letters', 'queue retry']) {
      expect(r.stdout).toContain(text);
    }
    expect(r.stderr).toBe('');
  });

  it.each([
    ['intake', 'REDIS_URL', without('REDIS_URL')],
    ['intake', 'LIVEKIT_API_KEY', without('LIVEKIT_API_KEY')],
    ['intake', 'INTAKE_TOKEN', without('INTAKE_TOKEN')],
    ['dispatcher', 'LIVEKIT_URL', without('LIVEKIT_URL')],
    ['dispatcher', 'LIVEKIT_API_SECRET', without('LIVEKIT_API_SECRET')],
    ['all', 'INTAKE_TOKEN', without('INTAKE_TOKEN')],
    ['queue stats', 'REDIS_URL', {}],
  ])('%s without %s: exit 2, one line naming it', async (command, variable, env) => {
    const r = await runVoiceAgent(command.split(' '), env);
    expect(r.code).toBe(2);
    expect(oneLine(r)).toMatch(new RegExp(`^voice-agent: ${variable} is required`));
  });

  it('a bad value: exit 2 naming the variable and the value, but never a secret', async () => {
    const bad = await runVoiceAgent(['dispatcher'], { ...full, FLEET_CAPACITY: 'lots' });
    expect(bad.code).toBe(2);
    expect(oneLine(bad)).toBe('voice-agent: FLEET_CAPACITY="lots" is invalid: must be a whole number of concurrent sessions >= 0 (unset: sum of live agent heartbeats)');
    const weak = await runVoiceAgent(['intake'], { ...full, INTAKE_TOKEN: 'short-secret' });
    expect(weak.code).toBe(2);
    const line = oneLine(weak);
    expect(line).toContain('INTAKE_TOKEN');
    expect(line).not.toContain('short-secret');
    const url = await runVoiceAgent(['intake'], { ...full, REDIS_URL: 'http://user:pw@host' });
    expect(url.code).toBe(2);
    expect(oneLine(url)).not.toContain('pw');
  });

  it('bad flags and arguments: exit 2, one line naming them', async () => {
    const flag = await runVoiceAgent(['queue', 'stats', '--verbose'], full);
    expect(flag.code).toBe(2);
    expect(oneLine(flag)).toContain('--verbose');
    const cmd = await runVoiceAgent(['agnet'], full);
    expect(cmd.code).toBe(2);
    expect(oneLine(cmd)).toContain('"agnet"');
    const retry = await runVoiceAgent(['queue', 'retry'], full);
    expect(retry.code).toBe(2);
    expect(oneLine(retry)).toContain('call id');
  });

  it('Redis unreachable: queue commands exit 1 with one line, password redacted', async () => {
    const port = await freePort();
    const r = await runVoiceAgent(['queue', 'stats', '--json'], { REDIS_URL: `redis://:hunter2@127.0.0.1:${port}` });
    expect(r.code).toBe(1);
    const line = oneLine(r);
    expect(line).toMatch(/^voice-agent: cannot reach Redis at redis:\/\/:\*\*\*@127\.0\.0\.1/);
    expect(line).not.toContain('hunter2');
  });
});
