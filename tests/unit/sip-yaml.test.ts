import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { LIVEKIT_SIP_CONFIG_KEYS, LIVEKIT_SIP_CONFIG_SOURCE, unknownSipKeys } from '../../components/sip/sip-config-keys.js';
import {
  livekitRedisForSip,
  renderSipConfig,
  SIP_CONFIG_PLACEHOLDERS,
  SIP_IMAGE,
  sipComposeService,
  sipConfigFillScript,
  type SipServiceArgs,
} from '../../components/sip/sip-yaml.js';

const apiKey = 'APIb3x9kQ2mZ7pL';
/** The parsed YAML, loosely typed for assertions. */
type Parsed = { [key: string]: Parsed } & Record<string, unknown>;
const TIERS: Record<string, SipServiceArgs> = {
  small: { apiKey, redis: { host: '127.0.0.1', tls: false, auth: false }, publicIp: '203.0.113.10' },
  mid: { apiKey, redis: { host: '127.0.0.1', tls: false, auth: true }, publicIp: '203.0.113.20' },
  large: {
    apiKey,
    redis: { host: 'master.vai-large.abc123.use1.cache.amazonaws.com', port: 6379, tls: true, auth: true },
    publicIp: 'imds',
    tls: { certFile: '/sip/tls/cert.pem', keyFile: '/sip/tls/key.pem' },
    logLevel: 'debug',
  },
};

describe('LiveKit SIP config', () => {
  it.each(Object.entries(TIERS))('%s: every key is one livekit/sip v1.11.0 reads', (_tier, args) => {
    const parsed = parseYaml(renderSipConfig(args)) as Record<string, unknown>;
    expect(unknownSipKeys(parsed)).toEqual([]);
  });

  it('the key list catches what livekit/sip would silently ignore', () => {
    // The README's `log_level` and a {start, end} port mapping are both ignored by the service.
    expect(unknownSipKeys({ log_level: 'debug', logging: { level: 'debug', colour: true } })).toEqual(['log_level', 'logging.colour']);
    expect(unknownSipKeys({ tls: { certs: [{ cert_file: '/a', key: '/b' }] } })).toEqual(['tls.certs[0].key']);
    expect(unknownSipKeys({ redis: 'localhost:6379' })).toEqual(['redis (not a mapping)']);
    expect(LIVEKIT_SIP_CONFIG_SOURCE).toMatchObject({ repository: 'github.com/livekit/sip', tag: 'v1.11.0', file: 'pkg/config/config.go' });
    expect(Object.keys(LIVEKIT_SIP_CONFIG_KEYS)).toEqual(expect.arrayContaining(['nat_1_to_1_ip', 'rtp_port', 'health_port', 'redis', 'ws_url']));
  });

  it('sets the public address, Redis, the ports and a private health port', () => {
    const small = parseYaml(renderSipConfig(TIERS.small!)) as Record<string, unknown>;
    expect(small).toMatchObject({
      api_key: apiKey,
      ws_url: 'ws://127.0.0.1:7880',
      redis: { address: '127.0.0.1:6379' },
      sip_port: 5060,
      rtp_port: '10000-20000',
      nat_1_to_1_ip: '203.0.113.10',
      health_port: 8086,
      hide_inbound_port: true,
      logging: { level: 'info', json: true },
    });
    expect(small).not.toHaveProperty('use_external_ip');
    expect(small).not.toHaveProperty('tls');
    const large = parseYaml(renderSipConfig(TIERS.large!)) as Parsed;
    expect(large.redis).toEqual({
      address: 'master.vai-large.abc123.use1.cache.amazonaws.com:6379',
      password: SIP_CONFIG_PLACEHOLDERS.redisPassword,
      tls: { enabled: true, server_name: 'master.vai-large.abc123.use1.cache.amazonaws.com' },
    });
    expect(large.nat_1_to_1_ip).toBe(SIP_CONFIG_PLACEHOLDERS.publicIp);
    expect(large.tls).toEqual({ port: 5061, certs: [{ cert_file: '/sip/tls/cert.pem', key_file: '/sip/tls/key.pem' }] });
  });

  it('holds placeholders, never secrets', () => {
    const mid = parseYaml(renderSipConfig(TIERS.mid!)) as Parsed;
    expect(mid.api_secret).toBe(SIP_CONFIG_PLACEHOLDERS.apiSecret);
    expect(mid.redis!.password).toBe(SIP_CONFIG_PLACEHOLDERS.redisPassword);
  });

  it.each([
    [{ publicIp: '10.0.1.5' }, /private address 10\.0\.1\.5/],
    [{ publicIp: 'ip-10-0-1-5' }, /IPv4 address/],
    [{ apiKey: 'API key' }, /API key name/],
    [{ wsUrl: 'ws://user:pw@127.0.0.1:7880' }, /without credentials/],
    [{ tls: { certFile: 'cert.pem', keyFile: '/sip/tls/key.pem' } }, /absolute path/],
  ])('refuses %j', (over, message) => {
    expect(() => renderSipConfig({ ...TIERS.small!, ...over } as SipServiceArgs)).toThrow(message);
  });
});

describe('boot fill step', () => {
  const run = (template: string, env: Record<string, string>, imdsAnswer = '198.51.100.7') => {
    const dir = mkdtempSync(join(tmpdir(), 'sip-fill-'));
    const files = { template: join(dir, 'sip.yaml'), output: join(dir, 'run-sip.yaml') };
    writeFileSync(files.template, template);
    const script = [
      'set -euo pipefail',
      'fail() { echo "voice-agent boot: $*" >&2; exit 1; }',
      `imds() { [[ $1 == public-ipv4 ]] && printf '%s' '${imdsAnswer}'; }`,
      ...sipConfigFillScript(files),
    ].join('\n');
    // stdin closed: bash sources ~/.bashrc when its stdin is a socket, as it can be under the test runner.
    const result = spawnSync('bash', ['-c', script], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return { ...result, files };
  };
  // Characters bash's pattern substitution would otherwise treat specially (& in bash 5.2) or expand.
  const secret = 'Ab&c$d|e%f*g';
  const password = 'Zy&x$w|v#u';

  it('fills the secrets and the IMDS address into a 0600 copy that parses to the same keys', () => {
    const { status, stderr, files } = run(renderSipConfig(TIERS.large!), { LIVEKIT_API_SECRET: secret, REDIS_PASSWORD: password });
    expect(stderr).toBe('');
    expect(status).toBe(0);
    const filled = parseYaml(readFileSync(files.output, 'utf8')) as Parsed;
    expect(filled.api_secret).toBe(secret);
    expect(filled.redis!.password).toBe(password);
    expect(filled.nat_1_to_1_ip).toBe('198.51.100.7');
    expect(unknownSipKeys(filled)).toEqual([]);
    expect(statSync(files.output).mode & 0o777).toBe(0o600);
  });

  it('fails the boot when a secret it needs was not read', () => {
    const { status, stderr } = run(renderSipConfig(TIERS.mid!), { LIVEKIT_API_SECRET: secret });
    expect(status).not.toBe(0);
    expect(stderr).toMatch(/REDIS_PASSWORD was not read/);
  });

  it('fails the boot when IMDS gives no public address', () => {
    const { status, stderr } = run(renderSipConfig(TIERS.large!), { LIVEKIT_API_SECRET: secret, REDIS_PASSWORD: password }, 'not-an-ip');
    expect(status).not.toBe(0);
    expect(stderr).toMatch(/public-ipv4 is not an IPv4 address/);
  });

  it('leaves the small tier without a Redis password', () => {
    const { status, files } = run(renderSipConfig(TIERS.small!), { LIVEKIT_API_SECRET: secret });
    expect(status).toBe(0);
    expect((parseYaml(readFileSync(files.output, 'utf8')) as Parsed).redis).toEqual({ address: '127.0.0.1:6379' });
  });
});

describe('what the node needs around it', () => {
  it('single-node livekit.yaml gets the same Redis (loopback, no TLS; the password through REDIS_PASSWORD on mid)', () => {
    expect(livekitRedisForSip(TIERS.small!.redis)).toEqual({ block: { address: '127.0.0.1:6379' } });
    expect(livekitRedisForSip(TIERS.mid!.redis)).toEqual({ block: { address: '127.0.0.1:6379' }, passwordEnv: 'REDIS_PASSWORD' });
    expect(livekitRedisForSip(TIERS.large!.redis).block.tls).toEqual({ enabled: true, server_name: 'master.vai-large.abc123.use1.cache.amazonaws.com' });
  });

  it('runs the pinned image with host networking, drains on SIGTERM and mounts the filled config', () => {
    expect(SIP_IMAGE).toBe('livekit/sip:v1.11.0');
    const service = sipComposeService({ drainSeconds: 600, tls: true, localRedis: true });
    expect(service).toMatchObject({ image: 'livekit/sip:v1.11.0', network_mode: 'host', stop_signal: 'SIGTERM', stop_grace_period: '600s' });
    expect(service.volumes).toEqual(['/opt/voice-agent/run/sip.yaml:/sip/config.yaml:ro', '/opt/voice-agent/run/sip-tls:/sip/tls:ro']);
    expect(service.depends_on).toEqual(['redis', 'livekit']);
    expect(() => sipComposeService({ drainSeconds: 600, tls: false, localRedis: false, image: 'livekit/sip:latest' })).toThrow(/pinned/);
  });
});
