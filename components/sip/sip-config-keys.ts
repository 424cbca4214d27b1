/**
 * Every key livekit/sip's config parser reads, taken from its source at the pinned release. The
 * service parses its YAML with yaml.v3 `Unmarshal`, which silently ignores unknown keys (a typo
 * such as the README's `log_level` simply does nothing), so the renderer checks each key it writes
 * against this list (sip-yaml.ts) and a test holds it there.
 *
 * Sources (read with git from the mirrors, 2026-12-01):
 * - github.com/livekit/sip, tag v1.11.0 (commit ce06795679d3b3d58f846905fd0ed9abbb718a28),
 *   pkg/config/config.go: `Config`, `TLSConfig`, `TLSCert`, `TCPConfig` (unchanged at main be5d3f5).
 * - github.com/livekit/protocol at the commit v1.11.0's go.mod pins (cae1efd79202):
 *   redis/redis.go `RedisConfig`, xtls/tls.go `Config`, logger/config.go `Config`.
 * - github.com/livekit/mediatransportutil pkg/rtcconfig/config.go `PortRange`: a scalar
 *   "start-end" string (UnmarshalYAML reads the node's value; a {start, end} mapping is not parsed).
 *   Read at mirror commit 77f742a (2026-04-29), older than the pin a3417d38cda0 (2026-06-08).
 */

/** `true`: a leaf (scalar, list of scalars or free-form map); an object: its sub-keys; `[object]`: a list of such mappings. */
export type SipKeyTree = { readonly [key: string]: true | SipKeyTree | readonly [SipKeyTree] };

export const LIVEKIT_SIP_CONFIG_SOURCE = {
  repository: 'github.com/livekit/sip',
  tag: 'v1.11.0',
  commit: 'ce06795679d3b3d58f846905fd0ed9abbb718a28',
  file: 'pkg/config/config.go',
} as const;

/** protocol redis/redis.go RedisConfig (with xtls/tls.go Config as `tls`). */
const REDIS_KEYS = {
  address: true,
  username: true,
  password: true,
  db: true,
  use_tls: true, // deprecated in favour of tls
  tls: { enabled: true, insecure: true, server_name: true, ca_cert_file: true, client_cert_file: true, client_key_file: true },
  sentinel_master_name: true,
  sentinel_username: true,
  sentinel_password: true,
  sentinel_addresses: true,
  cluster_addresses: true,
  dial_timeout: true,
  read_timeout: true,
  write_timeout: true,
  max_redirects: true,
  pool_timeout: true,
  pool_size: true,
} as const satisfies SipKeyTree;

/** protocol logger/config.go Config. */
const LOGGING_KEYS = {
  json: true,
  level: true,
  sample: true,
  component_levels: true,
  sample_initial: true,
  sample_interval: true,
  item_sample_seconds: true,
  item_sample_initial: true,
  item_sample_interval: true,
} as const satisfies SipKeyTree;

/** livekit/sip pkg/config/config.go Config, in struct order. */
export const LIVEKIT_SIP_CONFIG_KEYS = {
  redis: REDIS_KEYS,
  api_key: true,
  api_secret: true,
  ws_url: true,
  health_port: true,
  prometheus_port: true,
  pprof_port: true,
  sip_port: true,
  sip_port_listen: true,
  sip_hostname: true,
  outbound_route_headers: true,
  sip_ringing_interval: true,
  tcp: { dial_port: true },
  tls: {
    port: true,
    port_listen: true,
    certs: [{ cert_file: true, key_file: true }],
    key_log: true,
    min_version: true,
    max_version: true,
    cipher_suites: true,
    alpn: true,
  },
  rtp_port: true,
  logging: LOGGING_KEYS,
  cluster_id: true,
  max_cpu_utilization: true,
  max_active_calls: true,
  sip_trunk_ids: true,
  use_external_ip: true,
  local_net: true,
  nat_1_to_1_ip: true,
  listen_ip: true,
  udp_max_payload: true,
  media_use_external_ip: true,
  media_nat_1_to_1_ip: true,
  media_timeout: true,
  media_timeout_initial: true,
  symmetric_rtp: true,
  rtp_draining_idle_timeout: true,
  rtp_draining_duration: true,
  ignore_local_addr_in_sdp: true,
  codecs: true,
  hide_inbound_port: true,
  disable_rejected_invite_cache: true,
  add_record_route: true,
  audio_dtmf: true,
  enable_jitter_buffer: true,
  enable_jitter_buffer_prob: true,
  // `NodeID string // Do not provide, will be overwritten` has no yaml tag, so yaml.v3 reads it as
  // "nodeid"; listed because it exists, never rendered. (`ServiceName` is `yaml:"-"`.)
  nodeid: true,
  jaeger_url: true,
  experimental: { inbound_wait_ack: true },
} as const satisfies SipKeyTree;

/**
 * Dotted paths of the keys in `config` that `allowed` does not list, sorted (list items as
 * `path[i].key`). A listed section given something other than a mapping (or a list where a list
 * of mappings belongs) is reported as well.
 */
export function unknownSipKeys(config: unknown, allowed: SipKeyTree = LIVEKIT_SIP_CONFIG_KEYS): string[] {
  const found: string[] = [];
  walk(config, allowed, '', found);
  return found.sort();
}

function walk(value: unknown, allowed: SipKeyTree, prefix: string, found: string[]): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    found.push(prefix === '' ? '(root is not a mapping)' : `${prefix} (not a mapping)`);
    return;
  }
  for (const [key, child] of Object.entries(value)) {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    const rule = Object.hasOwn(allowed, key) ? allowed[key] : undefined;
    if (rule === undefined) found.push(path);
    else if (Array.isArray(rule)) {
      if (!Array.isArray(child)) found.push(`${path} (not a list)`);
      else child.forEach((item, i) => walk(item, rule[0] as SipKeyTree, `${path}[${i}]`, found));
    } else if (rule !== true) walk(child, rule as SipKeyTree, path, found);
  }
}
