/**
 * livekit.yaml, pure: args in, config object and YAML text out.
 *
 * Only keys documented in ../shared/reference/livekit.md are written: livekit-server parses its
 * config in strict mode, so an unknown key stops it at start. `undocumentedKeys` checks that.
 *
 * No secret is written. The API secret and the Redis password reach livekit-server through its own
 * environment overrides, read from an env file the boot script writes at boot from Secrets Manager:
 * - `LIVEKIT_KEYS` ("<key>: <secret>"), the `--keys` flag;
 * - `REDIS_PASSWORD`, the `--redis-password` flag (there is no LIVEKIT_REDIS_PASSWORD).
 * Source: livekit/livekit cmd/server/main.go (flags with `cli.EnvVars`) and pkg/config/config.go
 * (`updateFromCLI` applies them over the YAML), checked 2026-11. So the file needs no template step
 * and can be shown to anyone.
 */
import {
  LIVEKIT_HTTP_PORT,
  LIVEKIT_PROMETHEUS_PORT,
  LIVEKIT_RTC_TCP_PORT,
  LIVEKIT_RTC_UDP_PORT_RANGE,
  LIVEKIT_TURN_TLS_PORT,
  LIVEKIT_TURN_UDP_PORT,
} from './ports.js';
import { toYamlText } from './yaml-text.js';

/** Environment variables livekit-server reads secrets from (filled at boot, never rendered). */
export const LIVEKIT_SECRET_ENV = {
  /** "<api key>: <api secret>" (YAML map text), overrides `keys`. */
  keys: 'LIVEKIT_KEYS',
  /** Overrides `redis.password`. */
  redisPassword: 'REDIS_PASSWORD',
} as const;

/** Seconds a TURN credential stays valid (turn.ttl_seconds, LiveKit >= 1.12; its default). */
export const TURN_CREDENTIAL_TTL_SECONDS = 300;

export type LivekitLogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface LivekitRedisArgs {
  /** host:port of the shared Redis primary endpoint, e.g. "master.vai.abc123.use1.cache.amazonaws.com:6379" (TLS). */
  address: string;
  /**
   * Where it is: `shared` (default), ElastiCache behind several LiveKit nodes (TLS, AUTH, rooms
   * spread by load); `node`, the single node's own Redis on loopback (no TLS; AUTH on mid), which
   * LiveKit needs only so its SIP API and the SIP service share a bus (components/sip).
   */
  kind?: 'shared' | 'node';
  /** AUTH: the password reaches livekit-server through REDIS_PASSWORD; default true for shared. */
  auth?: boolean;
  /** Speak TLS to it; default true (ElastiCache, external Redis). False for a Redis inside the cluster's network. */
  tls?: boolean;
}

/** LiveKit terminates TURN/TLS itself with this certificate (Kubernetes, as LiveKit's Helm chart does) instead of behind a TLS proxy. */
export interface LivekitTurnTlsArgs {
  /** PEM certificate chain path inside the container, e.g. "/etc/livekit-tls/tls.crt". */
  certFile: string;
  /** PEM private key path inside the container, e.g. "/etc/livekit-tls/tls.key". */
  keyFile: string;
}

export interface LivekitConfigArgs {
  /** LiveKit API key name (an identifier, not a secret), e.g. "APIb3x9...": signs the webhooks. */
  apiKey: string;
  /** TURN/TLS hostname, e.g. "turn.voice.example.com": clients use turns:<turnDomain>:443. */
  turnDomain: string;
  /** Webhook receivers (at least one), e.g. [localIntakeWebhookUrl(8080)]: the intake on this node. */
  webhookUrls: readonly string[];
  /** The shared Redis (ElastiCache, TLS and AUTH), or with SIP the single node's own; omitted: no `redis` key. */
  redis?: LivekitRedisArgs;
  /** Seconds an empty room stays open (room.empty_timeout); default 300, LiveKit's. */
  roomEmptyTimeoutSeconds?: number;
  /** Seconds a room stays open after its last participant left (room.departure_timeout); default 20. */
  roomDepartureTimeoutSeconds?: number;
  /** Participants per room (room.max_participants); default unlimited (key omitted). */
  maxParticipantsPerRoom?: number;
  /** Server log level (logging.level); default "info". */
  logLevel?: LivekitLogLevel;
  /** Worker load 0-1 above which LiveKit sends an agent worker no job (agents.target_load); default LiveKit's 0.7 (key omitted). */
  agentTargetLoad?: number;
  /**
   * The node's public IPv4 address (rtc.node_ip), known in advance on a single node (its Elastic
   * IP): ICE candidates and TURN relays carry it, with no STUN discovery at start that could race
   * the address association. Omitted: the node discovers it (rtc.use_external_ip), as autoscaled
   * nodes must.
   */
  nodeIp?: string;
  /** TURN/TLS terminated by LiveKit with this certificate (turn.external_tls false); default: terminated in front of LiveKit. */
  turnTls?: LivekitTurnTlsArgs;
  /** Where the secrets come from, for the file's header comment; default the AWS boot script. */
  secretsFrom?: string;
}

/** The livekit.yaml this package writes: a subset of the documented keys, and never `keys` or a password. */
export interface LivekitConfig {
  port: number;
  rtc: { tcp_port: number; port_range_start: number; port_range_end: number; use_external_ip: boolean; node_ip?: string };
  turn: { enabled: true; domain: string; tls_port: number; udp_port: number; external_tls: boolean; cert_file?: string; key_file?: string; ttl_seconds: number };
  prometheus: { port: number };
  webhook: { api_key: string; urls: string[] };
  room: { empty_timeout: number; departure_timeout: number; max_participants?: number };
  logging: { json: true; level: LivekitLogLevel };
  redis?: { address: string; tls?: { enabled: true; server_name: string } };
  node_selector?: { kind: 'sysload'; sort_by: 'sysload' };
  agents?: { target_load: number };
}

/** A documented key: `true` is a leaf (scalar, list or free-form map), an object lists its sub-keys. */
export interface KeyTree {
  readonly [key: string]: true | KeyTree;
}

/**
 * Every livekit.yaml key documented in ../shared/reference/livekit.md ("livekit.yaml keys"), as a
 * nested allow-list, checked against the pinned release (LIVEKIT_SERVER_VERSION): livekit/livekit
 * v1.13.5 pkg/config/config.go yaml tags, which also has the TURN keys of 1.12 (ttl_seconds,
 * allow_restricted_peer_cidrs, deny_peer_cidrs). Deprecated spellings (`prometheus_port`,
 * `redis.use_tls`) are left out. The server runs in strict config mode (KnownFields): a key it
 * does not know stops it at start.
 */
export const LIVEKIT_DOCUMENTED_KEYS = {
  port: true,
  bind_addresses: true,
  keys: true,
  key_file: true,
  region: true,
  log_level: true,
  prometheus: { port: true, username: true, password: true },
  logging: { level: true, json: true, sample: true, pion_level: true },
  rtc: {
    tcp_port: true,
    port_range_start: true,
    port_range_end: true,
    udp_port: true,
    use_external_ip: true,
    node_ip: true,
    stun_servers: true,
    turn_servers: true,
    use_ice_lite: true,
  },
  redis: {
    address: true,
    username: true,
    password: true,
    db: true,
    tls: { enabled: true, insecure: true, server_name: true, ca_cert_file: true },
    sentinel_master_name: true,
    sentinel_addresses: true,
    cluster_addresses: true,
    dial_timeout: true,
    read_timeout: true,
    write_timeout: true,
    pool_size: true,
  },
  turn: {
    enabled: true,
    domain: true,
    tls_port: true,
    udp_port: true,
    external_tls: true,
    cert_file: true,
    key_file: true,
    relay_range_start: true,
    relay_range_end: true,
    ttl_seconds: true,
    allow_restricted_peer_cidrs: true,
    deny_peer_cidrs: true,
  },
  webhook: { api_key: true, urls: true },
  room: { auto_create: true, empty_timeout: true, departure_timeout: true, max_participants: true, enabled_codecs: true },
  node_selector: { kind: true, sort_by: true, sysload_limit: true },
  agents: { target_load: true },
} as const satisfies KeyTree;

/**
 * Dotted paths of the keys in `config` that `allowed` does not document, sorted. A documented
 * section given something other than a mapping (e.g. `rtc: 7881`) is reported as well.
 */
export function undocumentedKeys(config: unknown, allowed: KeyTree = LIVEKIT_DOCUMENTED_KEYS): string[] {
  const found: string[] = [];
  walk(config, allowed, '', found);
  return found.sort();
}

function walk(value: unknown, allowed: KeyTree, prefix: string, found: string[]): void {
  if (!isPlainObject(value)) {
    found.push(prefix === '' ? '(root is not a mapping)' : `${prefix} (not a mapping)`);
    return;
  }
  for (const [key, child] of Object.entries(value)) {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    const rule = Object.hasOwn(allowed, key) ? allowed[key] : undefined;
    if (rule === undefined) found.push(path);
    else if (rule !== true) walk(child, rule, path, found);
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Builds the livekit.yaml object for one node. Throws on an argument LiveKit would reject. */
export function livekitConfig(args: LivekitConfigArgs): LivekitConfig {
  assertApiKeyName('apiKey', args.apiKey);
  assertHostname('turnDomain', args.turnDomain);
  if (args.webhookUrls.length === 0) throw new Error('webhookUrls must name at least one receiver (the intake)');
  for (const url of args.webhookUrls) assertHttpUrl('webhookUrls', url);
  const emptyTimeoutSeconds = args.roomEmptyTimeoutSeconds ?? 300;
  const departureTimeoutSeconds = args.roomDepartureTimeoutSeconds ?? 20;
  assertWholeNumber('roomEmptyTimeoutSeconds', emptyTimeoutSeconds, 1);
  assertWholeNumber('roomDepartureTimeoutSeconds', departureTimeoutSeconds, 0);
  if (args.maxParticipantsPerRoom !== undefined) assertWholeNumber('maxParticipantsPerRoom', args.maxParticipantsPerRoom, 2);
  if (args.nodeIp !== undefined && !isPublicIpv4(args.nodeIp)) throw new Error(`nodeIp must be the node's public IPv4 address, got "${args.nodeIp}"`);
  if (args.agentTargetLoad !== undefined && !(args.agentTargetLoad > 0 && args.agentTargetLoad <= 1)) {
    throw new Error(`agentTargetLoad must be in (0, 1], got ${args.agentTargetLoad}`);
  }

  const config: LivekitConfig = {
    port: LIVEKIT_HTTP_PORT,
    rtc: {
      tcp_port: LIVEKIT_RTC_TCP_PORT,
      port_range_start: LIVEKIT_RTC_UDP_PORT_RANGE.start,
      port_range_end: LIVEKIT_RTC_UDP_PORT_RANGE.end,
      // AWS nodes have a private address NATed to a public one: discover the public one over STUN,
      // unless it is given. livekit/livekit config-sample.yaml: use_external_ip takes precedence,
      // so node_ip takes effect only with use_external_ip false (mediatransportutil rtcconfig then
      // rewrites the host candidates to it, NAT 1:1).
      use_external_ip: args.nodeIp === undefined,
      ...(args.nodeIp !== undefined ? { node_ip: args.nodeIp } : {}),
    },
    turn: {
      enabled: true,
      domain: args.turnDomain,
      tls_port: LIVEKIT_TURN_TLS_PORT,
      udp_port: LIVEKIT_TURN_UDP_PORT,
      // The NLB (mid, large) or Caddy (small) terminates TLS and forwards plain TCP to tls_port;
      // with turnTls, LiveKit holds the certificate and the load balancer passes TCP through.
      external_tls: args.turnTls === undefined,
      ...(args.turnTls ? { cert_file: absolutePath('turnTls.certFile', args.turnTls.certFile), key_file: absolutePath('turnTls.keyFile', args.turnTls.keyFile) } : {}),
      // LiveKit's default since 1.12, written out: TURN credentials expire after 5 minutes.
      ttl_seconds: TURN_CREDENTIAL_TTL_SECONDS,
    },
    prometheus: { port: LIVEKIT_PROMETHEUS_PORT },
    webhook: { api_key: args.apiKey, urls: [...args.webhookUrls] },
    room: {
      empty_timeout: emptyTimeoutSeconds,
      departure_timeout: departureTimeoutSeconds,
      ...(args.maxParticipantsPerRoom !== undefined ? { max_participants: args.maxParticipantsPerRoom } : {}),
    },
    logging: { json: true, level: args.logLevel ?? 'info' },
  };
  if (args.redis && (args.redis.kind ?? 'shared') === 'node') {
    // The single node's own Redis: LiveKit in Redis mode so its SIP API reaches the SIP service.
    redisHost(args.redis.address);
    config.redis = { address: args.redis.address };
  } else if (args.redis) {
    const host = redisHost(args.redis.address);
    // Setting `redis` switches LiveKit to multi-node mode. ElastiCache speaks TLS only (transit
    // encryption is required for AUTH); the password comes from REDIS_PASSWORD.
    config.redis = args.redis.tls === false ? { address: args.redis.address } : { address: args.redis.address, tls: { enabled: true, server_name: host } };
    // Spread rooms by load rather than at random across the nodes.
    config.node_selector = { kind: 'sysload', sort_by: 'sysload' };
  }
  if (args.agentTargetLoad !== undefined) config.agents = { target_load: args.agentTargetLoad };
  return config;
}

/** livekit.yaml text for one node (see livekitConfig). */
export function renderLivekitConfig(args: LivekitConfigArgs): string {
  const config = livekitConfig(args);
  const undocumented = undocumentedKeys(config);
  // Unreachable unless livekitConfig grows a key the reference does not list: fail here, not at boot.
  if (undocumented.length > 0) throw new Error(`livekit.yaml would contain undocumented keys: ${undocumented.join(', ')}`);
  const redisAuth = args.redis !== undefined && (args.redis.auth ?? (args.redis.kind ?? 'shared') === 'shared');
  const secretEnv = redisAuth ? `${LIVEKIT_SECRET_ENV.keys} and ${LIVEKIT_SECRET_ENV.redisPassword}` : LIVEKIT_SECRET_ENV.keys;
  const comment = [
    ' Rendered by voice-agent-infra (components/livekit). Holds no secret: livekit-server reads',
    ` ${secretEnv} from ${args.secretsFrom ?? 'an env file the boot script writes from Secrets Manager'}.`,
  ].join('\n');
  return toYamlText(config, comment);
}

const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/;

/** Throws unless `value` is a lower-case DNS name with at least two labels. */
export function assertHostname(name: string, value: string): void {
  if (!HOSTNAME.test(value)) throw new Error(`${name} must be a lower-case DNS name such as turn.voice.example.com, got "${value}"`);
}

/** Throws unless `value` can be a LiveKit API key name (an identifier such as "APIb3x9kQ2"). */
export function assertApiKeyName(name: string, value: string): void {
  // Whitespace or a colon would break LIVEKIT_KEYS ("<key>: <secret>").
  if (!/^[A-Za-z0-9_-]{3,64}$/.test(value)) {
    throw new Error(`${name} must be 3-64 letters, digits, "_" or "-" (a LiveKit API key name), got "${value}"`);
  }
}

function assertHttpUrl(name: string, value: string): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`${name} must be http(s) URLs, got "${value}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`${name} must be http(s) URLs, got "${value}"`);
  // Credentials in a webhook URL would put a secret in user data.
  if (url.username !== '' || url.password !== '') throw new Error(`${name} must not carry credentials`);
}

/** A dotted IPv4 address outside the private, loopback, link-local and unspecified ranges. */
function isPublicIpv4(value: string): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(value);
  if (!m) return false;
  const [a, b] = [Number(m[1]), Number(m[2])];
  if (m.slice(1).some((o) => Number(o) > 255)) return false;
  return !(a === 0 || a === 10 || a === 127 || (a === 169 && b === 254) || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168));
}

function absolutePath(name: string, value: string): string {
  if (!/^\/[\w./-]+$/.test(value)) throw new Error(`${name} must be an absolute path, got "${value}"`);
  return value;
}

function assertWholeNumber(name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be a whole number >= ${min}, got ${value}`);
}

function redisHost(address: string): string {
  const match = /^([a-z0-9.-]+):(\d{1,5})$/i.exec(address);
  if (!match || Number(match[2]) < 1 || Number(match[2]) > 65_535) {
    throw new Error(`redis.address must be host:port, e.g. master.vai.abc123.use1.cache.amazonaws.com:6379, got "${address}"`);
  }
  return match[1]!;
}
