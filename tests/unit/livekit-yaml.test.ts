import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  LIVEKIT_DOCUMENTED_KEYS,
  LIVEKIT_SERVER_VERSION,
  PINNED_IMAGES,
  LIVEKIT_PORTS,
  livekitConfig,
  type LivekitConfigArgs,
  localIntakeWebhookUrl,
  renderLivekitConfig,
  undocumentedKeys,
} from '../../components/livekit/index.js';
import { API_KEY, at, ELASTICACHE_HOST } from './livekit-fixtures.js';

const singleNode: LivekitConfigArgs = {
  apiKey: API_KEY,
  turnDomain: 'turn.voice.example.com',
  webhookUrls: [localIntakeWebhookUrl(8080)],
};
const multiNode: LivekitConfigArgs = { ...singleNode, redis: { address: `${ELASTICACHE_HOST}:6379` } };
const everything: LivekitConfigArgs = {
  ...multiNode,
  roomEmptyTimeoutSeconds: 60,
  roomDepartureTimeoutSeconds: 10,
  maxParticipantsPerRoom: 4,
  logLevel: 'warn',
  agentTargetLoad: 0.6,
};

describe('livekit.yaml', () => {
  it.each([
    ['single node', singleNode],
    ['multi-node', multiNode],
    ['every option set', everything],
  ])('%s: the rendered text parses and uses only documented keys', (_name, args) => {
    const parsed: unknown = parse(renderLivekitConfig(args));
    expect(parsed).toEqual(livekitConfig(args));
    expect(undocumentedKeys(parsed)).toEqual([]);
  });

  it('a single node has no redis key, so LiveKit stays in single-node mode', () => {
    const parsed = parse(renderLivekitConfig(singleNode)) as Record<string, unknown>;
    expect(parsed).not.toHaveProperty('redis');
    expect(parsed).not.toHaveProperty('node_selector');
  });

  it('multi-node shares Redis over TLS, verified against the endpoint name, with no password in the file', () => {
    const parsed = parse(renderLivekitConfig(multiNode)) as Record<string, unknown>;
    expect(parsed.redis).toEqual({ address: `${ELASTICACHE_HOST}:6379`, tls: { enabled: true, server_name: ELASTICACHE_HOST } });
    expect(at(parsed, 'redis.password')).toBeUndefined();
  });

  it('holds no secret: no keys, key_file or password anywhere, and says where the secrets come from', () => {
    const text = renderLivekitConfig(everything);
    expect(allKeys(parse(text)).filter((key) => ['keys', 'key_file', 'password', 'username', 'cert_file'].includes(key))).toEqual([]);
    expect(text).toContain('LIVEKIT_KEYS and REDIS_PASSWORD');
  });

  it('TURN: enabled on the TURN domain with both ports set and TLS terminated in front (external_tls)', () => {
    const parsed = parse(renderLivekitConfig(singleNode));
    expect(at(parsed, 'turn')).toEqual({ enabled: true, domain: 'turn.voice.example.com', tls_port: 5349, udp_port: 3478, external_tls: true, ttl_seconds: 300 });
  });

  it('pins a LiveKit release of at least 1.12 (TURN refuses private peers, credentials expire) in one place', () => {
    const [major, minor] = LIVEKIT_SERVER_VERSION.replace(/^v/, '').split('.').map(Number) as [number, number];
    expect(major > 1 || (major === 1 && minor >= 12)).toBe(true);
    expect(PINNED_IMAGES.livekit).toBe(`livekit/livekit-server:${LIVEKIT_SERVER_VERSION}`);
  });

  it('a single node names its public address (the Elastic IP) instead of discovering it over STUN', () => {
    const parsed = parse(renderLivekitConfig({ ...singleNode, nodeIp: '203.0.113.45' }));
    expect(at(parsed, 'rtc.node_ip')).toBe('203.0.113.45');
    // LiveKit reads node_ip only when use_external_ip is off (config-sample.yaml).
    expect(at(parsed, 'rtc.use_external_ip')).toBe(false);
    expect(at(parse(renderLivekitConfig(singleNode)), 'rtc.use_external_ip')).toBe(true);
    for (const bad of ['10.0.1.5', '172.20.0.1', '192.168.1.1', '127.0.0.1', '169.254.169.254', '999.1.1.1', 'eip']) {
      expect(() => livekitConfig({ ...singleNode, nodeIp: bad }), bad).toThrow(/nodeIp must be the node's public IPv4 address/);
    }
  });

  it('webhooks go to the intake on the same node, signed with the API key', () => {
    const parsed = parse(renderLivekitConfig(singleNode));
    expect(at(parsed, 'webhook')).toEqual({ api_key: API_KEY, urls: ['http://127.0.0.1:8080/webhooks/livekit'] });
  });

  it('ports, external IP discovery, metrics and JSON logs', () => {
    const parsed = parse(renderLivekitConfig(singleNode));
    expect(at(parsed, 'port')).toBe(7880);
    expect(at(parsed, 'rtc')).toEqual({ tcp_port: 7881, port_range_start: 50000, port_range_end: 60000, use_external_ip: true });
    expect(at(parsed, 'prometheus.port')).toBe(6789);
    expect(at(parsed, 'logging')).toEqual({ json: true, level: 'info' });
    expect(at(parsed, 'room')).toEqual({ empty_timeout: 300, departure_timeout: 20 });
  });

  it('every port in LIVEKIT_PORTS is the value its config key holds (security groups and config agree)', () => {
    const parsed = parse(renderLivekitConfig(multiNode));
    for (const port of LIVEKIT_PORTS) {
      const values = port.configKeys.map((key) => at(parsed, key));
      expect(values, port.name).toEqual(port.configKeys.length === 2 ? [port.fromPort, port.toPort] : [port.fromPort]);
    }
  });

  it('optional settings land on their documented keys', () => {
    const parsed = parse(renderLivekitConfig(everything));
    expect(at(parsed, 'room')).toEqual({ empty_timeout: 60, departure_timeout: 10, max_participants: 4 });
    expect(at(parsed, 'logging.level')).toBe('warn');
    expect(at(parsed, 'agents.target_load')).toBe(0.6);
    expect(at(parsed, 'node_selector')).toEqual({ kind: 'sysload', sort_by: 'sysload' });
  });

  it.each([
    ['turnDomain', { turnDomain: 'Turn Domain' }, /turnDomain/],
    ['apiKey', { apiKey: 'key: with space' }, /apiKey/],
    ['no webhook', { webhookUrls: [] }, /at least one/],
    ['webhook credentials', { webhookUrls: ['https://user:pw@hooks.example.com/x'] }, /credentials/],
    ['redis address', { redis: { address: 'no-port' } }, /host:port/],
    ['target load', { agentTargetLoad: 1.5 }, /agentTargetLoad/],
  ])('rejects a bad %s', (_name, patch, message) => {
    expect(() => renderLivekitConfig({ ...singleNode, ...patch } as LivekitConfigArgs)).toThrow(message);
  });
});

describe('undocumentedKeys', () => {
  it('reports unknown and deprecated keys by dotted path, sorted', () => {
    const config = { port: 7880, prometheus_port: 6789, rtc: { tcp_port: 7881, udp_mux: true }, redis: { address: 'r:6379', use_tls: true } };
    expect(undocumentedKeys(config)).toEqual(['prometheus_port', 'redis.use_tls', 'rtc.udp_mux']);
  });

  it('reports a documented section that is not a mapping', () => {
    expect(undocumentedKeys({ rtc: 7881 })).toEqual(['rtc (not a mapping)']);
    expect(undocumentedKeys(['port'])).toEqual(['(root is not a mapping)']);
  });

  it('does not look inside leaves such as keys (free-form map) or urls (list)', () => {
    expect(undocumentedKeys({ keys: { anyKeyName: 'x' }, webhook: { urls: ['http://a'] } })).toEqual([]);
  });

  it('does not accept inherited object properties as documented keys', () => {
    expect(undocumentedKeys({ toString: 1, constructor: 2 })).toEqual(['constructor', 'toString']);
  });

  it('the allow-list has the sections of reference/livekit.md', () => {
    expect(Object.keys(LIVEKIT_DOCUMENTED_KEYS).sort()).toEqual(
      ['agents', 'bind_addresses', 'key_file', 'keys', 'log_level', 'logging', 'node_selector', 'port', 'prometheus', 'redis', 'region', 'room', 'rtc', 'turn', 'webhook'].sort(),
    );
  });
});

function allKeys(value: unknown): string[] {
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([key, child]) => [key, ...allKeys(child)]);
}
