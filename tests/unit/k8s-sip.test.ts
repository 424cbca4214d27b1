/**
 * The LiveKit SIP service on Kubernetes, the pure parts: the init container's fill step run for real
 * with bash (as the SIP image runs it: template from the ConfigMap, secrets from the environment
 * the Secret fills, the filled file in the shared volume), the config it fills (livekit/sip keys
 * only, STUN for the public address), the credentials Secret's data, the firewall lines, and the
 * Kubernetes layout with and without phone calls.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CATALOG } from '@voice-agent-infra/common';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ConfigError, parseStackConfig } from '../../components/config.js';
import { checkK8sSip, sipCredentialEnvNames, sipCredentialsSecretData, sipFillScript, sipFirewallLines, sipRedisPassword } from '../../components/k8s/sip.js';
import { kubernetesNodePools } from '../../components/cost/kubernetes-nodes.js';
import { priceDeployment } from '../../components/cost/price-deployment.js';
import { allocatable, SIP_CONTAINER } from '../../components/plan/layout.js';
import { planDeployment } from '../../components/plan/plan.js';
import { sipIngressRules } from '../../components/sip/providers.js';
import { unknownSipKeys } from '../../components/sip/sip-config-keys.js';
import { renderSipConfig, SIP_CONFIG_PLACEHOLDERS, type SipServiceArgs } from '../../components/sip/sip-yaml.js';
import { errorOf } from '../fixtures/config-error.js';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const K8S_SIP: SipServiceArgs = { apiKey: 'APIabcdefabcdef', redis: { host: 'redis.voice.svc.cluster.local', port: 6379, tls: false, auth: true }, publicIp: 'stun' };
const API_SECRET = 'k8s-api-secret-0123456789abcdefghijklmnopqrstuv';
const REDIS_PASSWORD = 'k8s-redis-password-0123456789abcdefghijklmn';

/** Runs the init container's script against a template, as the pod would: returns the exit code, stderr and the filled file. */
function fill(template: string, env: Record<string, string>): { status: number | null; stderr: string; output: string | null; mode: number | null } {
  const dir = mkdtempSync(join(tmpdir(), 'k8s-sip-fill-'));
  dirs.push(dir);
  const paths = { template: join(dir, 'template', 'config.yaml'), output: join(dir, 'run', 'config.yaml') };
  mkdirSync(join(dir, 'template'));
  mkdirSync(join(dir, 'run'));
  writeFileSync(paths.template, template);
  // stdin not a socket: bash would read ~/.bashrc when it thinks a remote shell started it.
  const result = spawnSync('bash', ['-c', sipFillScript(paths)], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const exists = existsSync(paths.output);
  return { status: result.status, stderr: result.stderr, output: exists ? readFileSync(paths.output, 'utf8') : null, mode: exists ? statSync(paths.output).mode & 0o777 : null };
}

describe('the SIP config on Kubernetes', () => {
  it('holds only livekit/sip keys, finds its public address with STUN (never both use_external_ip and nat_1_to_1_ip), and no secret', () => {
    const config = parse(renderSipConfig(K8S_SIP)) as Record<string, unknown>;
    expect(unknownSipKeys(config)).toEqual([]);
    expect(config.use_external_ip).toBe(true);
    // livekit/sip pkg/config/config.go refuses both at once.
    expect(config).not.toHaveProperty('nat_1_to_1_ip');
    expect(config.ws_url).toBe('ws://127.0.0.1:7880');
    expect(config.api_secret).toBe(SIP_CONFIG_PLACEHOLDERS.apiSecret);
    expect(config.redis).toEqual({ address: 'redis.voice.svc.cluster.local:6379', password: SIP_CONFIG_PLACEHOLDERS.redisPassword });
    // The AWS form is unchanged: the address from IMDS or the Elastic IP, no STUN.
    const aws = parse(renderSipConfig({ ...K8S_SIP, publicIp: 'imds' })) as Record<string, unknown>;
    expect(aws.nat_1_to_1_ip).toBe(SIP_CONFIG_PLACEHOLDERS.publicIp);
    expect(aws).not.toHaveProperty('use_external_ip');
  });
});

describe('the init container fills the SIP config (bash, for real)', () => {
  it('writes the secrets into the run copy (0600), which parses to the same keys with the values in place', () => {
    const result = fill(renderSipConfig(K8S_SIP), { LIVEKIT_API_SECRET: API_SECRET, REDIS_PASSWORD });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.mode).toBe(0o600);
    const filled = parse(result.output!) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(filled.api_secret).toBe(API_SECRET);
    expect(filled.redis.password).toBe(REDIS_PASSWORD);
    expect(unknownSipKeys(filled)).toEqual([]);
    expect(result.output).not.toContain('@@');
  });

  it('keeps "&" and "$" literal, and needs no Redis password when the Redis takes none', () => {
    const secret = 'a&b$HOME${PATH}c0123456789';
    const result = fill(renderSipConfig({ ...K8S_SIP, redis: { ...K8S_SIP.redis, auth: false } }), { LIVEKIT_API_SECRET: secret });
    expect(result.status).toBe(0);
    const filled = parse(result.output!) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(filled.api_secret).toBe(secret);
    expect(filled.redis).toEqual({ address: 'redis.voice.svc.cluster.local:6379' });
  });

  it.each([
    ['a quote in the API secret', { LIVEKIT_API_SECRET: 'abc"def', REDIS_PASSWORD }, /LIVEKIT_API_SECRET holds a quote, a backslash or white space/],
    ['a backslash in the Redis password', { LIVEKIT_API_SECRET: API_SECRET, REDIS_PASSWORD: 'abc\\def' }, /REDIS_PASSWORD holds a quote, a backslash or white space/],
    ['a space in the Redis password', { LIVEKIT_API_SECRET: API_SECRET, REDIS_PASSWORD: 'abc def' }, /REDIS_PASSWORD holds/],
    ['no API secret', { REDIS_PASSWORD }, /LIVEKIT_API_SECRET is empty/],
    ['no Redis password for a Redis that needs one', { LIVEKIT_API_SECRET: API_SECRET }, /REDIS_PASSWORD was not read/],
  ])('refuses %s, one line on stderr naming the variable, and writes nothing', (_what, env, message) => {
    const result = fill(renderSipConfig(K8S_SIP), env);
    expect(result.status).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(message);
    expect(result.output).toBeNull();
    // Never the value itself.
    expect(result.stderr).not.toContain('abc');
  });

  it('an external Redis password the config cannot carry fails the deployment first, naming the key and not the value', () => {
    expect(sipRedisPassword('abc-DEF_123&$')).toBe('abc-DEF_123&$');
    for (const bad of ['has space', 'has"quote', 'has\\backslash', 'has\nnewline']) {
      const error = errorOf(() => sipRedisPassword(bad));
      expect(error.key).toBe('redisPassword');
      expect(error.message).not.toContain(bad);
    }
  });

  it('fails on a placeholder it does not know, rather than starting the service with it', () => {
    const result = fill(`${renderSipConfig(K8S_SIP)}extra: "@@UNKNOWN@@"\n`, { LIVEKIT_API_SECRET: API_SECRET, REDIS_PASSWORD });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/a placeholder is left unfilled/);
  });
});

describe('sip-sync credentials and firewall lines', () => {
  it('the credentials Secret holds one key per credential set, checked as on AWS (a bad value names its key, never the value)', () => {
    expect(sipCredentialsSecretData({})).toEqual({});
    expect(sipCredentialsSecretData({ sipOutboundUsername: 'user-1', sipOutboundPassword: 'p&ss$word=1' })).toEqual({ SIP_OUTBOUND_USERNAME: 'user-1', SIP_OUTBOUND_PASSWORD: 'p&ss$word=1' });
    const error = errorOf(() => sipCredentialsSecretData({ sipAuthPassword: 'has space' }));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.key).toBe('sipAuthPassword');
    expect(error.message).not.toContain('has space');
    expect(sipCredentialEnvNames({ version: 1, owner: 's', inboundTrunk: { name: 'i', numbers: [], allowedAddresses: [], auth: true, mediaEncryption: 'disable' } })).toEqual([
      'SIP_INBOUND_USERNAME',
      'SIP_INBOUND_PASSWORD',
    ]);
  });

  it('the firewall lines are the AWS rules, one each: signalling only from the provider, RTP from its media ranges', () => {
    const sip = parseStackConfig({ monthlyMinutes: 50_000, target: 'kubernetes' }).sip;
    const lines = sipFirewallLines(sip);
    expect(lines).toHaveLength(sipIngressRules({ provider: 'twilio', tls: false }).length);
    expect(lines[0]).toBe('udp 5060 from 54.172.60.0/30: SIP signalling UDP from Twilio 54.172.60.0/30 (North America Virginia)');
    expect(lines.filter((l) => /^(udp|tcp) 5060 /.test(l)).every((l) => !l.includes('0.0.0.0/0'))).toBe(true);
    expect(lines.at(-1)).toMatch(/^udp 10000-20000 from 168\.86\.128\.0\/18: /);
    const telnyx = sipFirewallLines({ ...sip, provider: 'telnyx' });
    expect(telnyx.at(-1)).toMatch(/^udp 10000-20000 from 0\.0\.0\.0\/0: SIP RTP media from Telnyx/);
  });

  it('SIP over TLS is refused on Kubernetes with one line naming the key (its certificate source is an AWS secret)', () => {
    const config = parseStackConfig({
      monthlyMinutes: 50_000,
      target: 'kubernetes',
      sip: { tls: { enabled: true, certificateSecretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:sip-cert' } },
    });
    const error = errorOf(() => checkK8sSip(config));
    expect(error.key).toBe('sip.tls.enabled');
    expect(error.message).toMatch(/not supported on target kubernetes yet/);
    expect(() => checkK8sSip({ sip: { ...config.sip, enabled: false } })).not.toThrow();
  });
});

describe('the Kubernetes layout with phone calls', () => {
  const k8s = (minutes: number, sip: Record<string, unknown>, kubernetes: Record<string, unknown> = {}) =>
    planDeployment(parseStackConfig({ monthlyMinutes: minutes, target: 'kubernetes', sip, kubernetes }));

  it.each([
    ['small', 15_000, {}],
    ['mid', 50_000, {}],
    ['large', 250_000, { redisUrl: 'rediss://queue.example.internal:6379' }],
  ])('%s: a SIP container in the LiveKit pod, LiveKit on Redis, the pod still fitting its node; none of it with sip.enabled false', (tier, minutes, kubernetes) => {
    const on = k8s(minutes, {}, kubernetes);
    const off = k8s(minutes, { enabled: false }, kubernetes);
    const pod = on.layout.pods!.livekit!;
    expect(pod.containers.map((c) => c.name)).toEqual(['livekit', 'sip']);
    expect(pod.containers[1]).toEqual({ name: 'sip', ...SIP_CONTAINER });
    expect(on.sip.entry).toBe('node-dns');
    // The SIP service reaches LiveKit only through Redis (livekit/sip README): LiveKit uses it even on one node.
    expect(on.layout.redis.livekitUsesIt).toBe(true);
    expect(off.layout.redis.livekitUsesIt).toBe(tier === 'large');
    expect(off.layout.pods!.livekit!.containers.map((c) => c.name)).toEqual(['livekit']);
    if (tier !== 'small') {
      // LiveKit held the whole node; the SIP request comes out of it, so LiveKit + SIP = the node's allocatable CPU.
      const node = allocatable(on.livekit);
      const requested = pod.containers.reduce((a, c) => a + c.requests.cpu, 0);
      expect(requested).toBeCloseTo(node.vcpu, 6);
      expect(off.layout.pods!.livekit!.containers[0]!.requests.cpu).toBeCloseTo(node.vcpu, 6);
    }
    // AWS keeps its entries.
    expect(planDeployment(parseStackConfig({ monthlyMinutes: minutes })).sip.entry).toBe(tier === 'large' ? 'load-balancer' : 'node-elastic-ip');
  });
});

describe('what the plan prices for SIP on Kubernetes is what is built', () => {
  const priced = (minutes: number, sip: Record<string, unknown>, kubernetes: Record<string, unknown> = {}) => {
    const plan = planDeployment(parseStackConfig({ monthlyMinutes: minutes, target: 'kubernetes', sip, kubernetes }));
    return { plan, cost: priceDeployment(plan, DEFAULT_CATALOG) };
  };
  const line = (c: ReturnType<typeof priced>['cost'], item: string) => c.lines.find((l) => l.item === item);

  it.each([
    ['small', 15_000, {}],
    ['mid', 50_000, {}],
    ['large', 250_000, { redisUrl: 'rediss://queue.example.internal:6379' }],
  ])('%s: no load balancer and no address of its own, its container in the LiveKit nodes, the cross-node leg only with several LiveKit nodes', (_tier, minutes, kubernetes) => {
    const on = priced(minutes, {}, kubernetes);
    const off = priced(minutes, { enabled: false }, kubernetes);
    // The provider reaches the nodes' own addresses: the same load balancers and public addresses.
    for (const item of ['Load balancers', 'Public IPv4 addresses', 'Kubernetes control plane']) expect(line(on.cost, item)!.quantity, item).toBe(line(off.cost, item)!.quantity);
    // The SIP container's request is in the LiveKit pod the node pools are sized for.
    const pool = (p: typeof on.plan) => kubernetesNodePools(p.layout).find((x) => x.roles.includes('livekit'))!;
    const livekitPod = (p: typeof on.plan) => p.layout.pods!.livekit!.containers.reduce((a, c) => a + c.requests.cpu, 0);
    expect(livekitPod(on.plan) - livekitPod(off.plan)).toBeCloseTo(on.plan.tier === 'small' ? SIP_CONTAINER.requests.cpu : 0, 6);
    expect(pool(on.plan).busyNodes).toBeGreaterThanOrEqual(pool(off.plan).busyNodes);
    const crossNode = line(on.cost, 'SIP media between LiveKit nodes');
    expect(crossNode !== undefined).toBe(on.plan.livekit.nodes.max > 1);
    expect(line(off.cost, 'SIP media between LiveKit nodes')).toBeUndefined();
    // No Secrets Manager entry on Kubernetes (the credentials are a Kubernetes Secret).
    expect(on.cost.lines.some((l) => l.priceKey.startsWith('aws.secretsmanager'))).toBe(false);
  });
});
