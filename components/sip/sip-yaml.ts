/**
 * The LiveKit SIP service's config file, pure: args in, config object and YAML text out, plus what
 * the node needs around it (the compose service, the boot step that fills the secrets in, and the
 * `redis` block the single-node livekit.yaml needs so LiveKit and SIP share a bus).
 *
 * No secret is rendered. livekit/sip reads only LIVEKIT_API_KEY, LIVEKIT_API_SECRET and
 * LIVEKIT_WS_URL from the environment (pkg/config/config.go NewConfig); the Redis password has no
 * environment variable, so it must be in the file. The rendered file (user data, readable) carries
 * placeholders instead (SIP_CONFIG_PLACEHOLDERS); at boot, after boot.sh has read the secrets from
 * Secrets Manager, `sipConfigFillScript` writes the filled copy to the node's run directory (0600),
 * which is the file the container mounts. The node's public address, when it is only known on the
 * node (large: autoscaled nodes), is filled the same way from IMDS.
 */
import { NODE_DIR } from '../livekit/layout.js';
import { assertApiKeyName, LIVEKIT_DOCUMENTED_KEYS } from '../livekit/livekit-yaml.js';
import { LIVEKIT_HTTP_PORT } from '../livekit/ports.js';
import { toYamlText } from '../livekit/yaml-text.js';
import { SIP_HEALTH_PORT, SIP_PROMETHEUS_PORT, SIP_RTP_PORT_RANGE, SIP_SIGNALLING_PORT, SIP_TLS_PORT } from './ports.js';
import { LIVEKIT_SIP_CONFIG_SOURCE, unknownSipKeys } from './sip-config-keys.js';

/**
 * The SIP service image, pinned in one place: livekit/sip's docker workflow publishes
 * `livekit/sip:v{version}` (amd64 and arm64) for each release tag; v1.11.0 is the release whose
 * config struct sip-config-keys.ts lists (github.com/livekit/sip .github/workflows/docker.yaml at
 * tag v1.11.0, commit ce06795). Its entrypoint is `livekit-sip --config=/sip/config.yaml`.
 */
export const SIP_IMAGE = `livekit/sip:${LIVEKIT_SIP_CONFIG_SOURCE.tag}`;

/** Placeholders in the rendered file, filled at boot (never a real value in user data). */
export const SIP_CONFIG_PLACEHOLDERS = {
  /** The LiveKit API secret (boot.sh variable LIVEKIT_API_SECRET). */
  apiSecret: '@@LIVEKIT_API_SECRET@@',
  /** The Redis AUTH password (boot.sh variable REDIS_PASSWORD), mid and large. */
  redisPassword: '@@REDIS_PASSWORD@@',
  /** The node's public IPv4 from IMDS (`public-ipv4`), when not known at deploy time. */
  publicIp: '@@NODE_PUBLIC_IP@@',
} as const;

/** Files on the node and in the container. */
export const SIP_FILES = {
  /** Rendered by the program (placeholders, no secret), written by cloud-init. */
  template: `${NODE_DIR}/sip.yaml`,
  /** Filled at every boot by boot.sh (mode 0600): what the container mounts. */
  config: `${NODE_DIR}/run/sip.yaml`,
  /** TLS certificate and key written at boot from Secrets Manager (sip.tls). */
  tlsDir: `${NODE_DIR}/run/sip-tls`,
  /** The image reads its config here (its ENTRYPOINT). */
  containerConfig: '/sip/config.yaml',
  containerTlsDir: '/sip/tls',
} as const;

export type SipLogLevel = 'debug' | 'info' | 'warn' | 'error';

/** The Redis LiveKit and the SIP service share (the same one the queue uses). */
export interface SipRedisArgs {
  /** Host name or IP: "127.0.0.1" for the node's own Redis (small, mid), the ElastiCache primary endpoint (large). */
  host: string;
  /** TCP port; default 6379. */
  port?: number;
  /** TLS in transit: ElastiCache (large) yes, the node's own Redis no. */
  tls: boolean;
  /** AUTH password set (mid and large): filled in at boot. */
  auth: boolean;
}

export interface SipServiceArgs {
  /** LiveKit API key name (an identifier; its secret is filled in at boot). */
  apiKey: string;
  /** LiveKit the SIP service joins rooms on; default ws://127.0.0.1:7880 (LiveKit on the same node). */
  wsUrl?: string;
  redis: SipRedisArgs;
  /**
   * The address the SIP service advertises in SIP and SDP (`nat_1_to_1_ip`): the node's Elastic
   * IP (small, mid), or "imds" to fill the node's public IPv4 in at boot (large), or "stun" for
   * `use_external_ip: true` (Kubernetes: the node is not known before the pod lands; livekit/sip
   * asks public STUN servers, mediatransportutil pkg/rtcconfig). Without one of them the service
   * advertises its private address and callers hear nothing.
   */
  publicIp: string | 'imds' | 'stun';
  /** SIP over TLS on 5061: certificate and key files inside the container; default off. */
  tls?: { certFile: string; keyFile: string };
  /** logging.level; default info. */
  logLevel?: SipLogLevel;
}

/** The config this package writes: a subset of livekit/sip's Config keys. */
export interface SipServiceConfig {
  api_key: string;
  api_secret: string;
  ws_url: string;
  redis: { address: string; password?: string; tls?: { enabled: true; server_name: string } };
  sip_port: number;
  rtp_port: string;
  /** One of the two (livekit/sip refuses both: pkg/config/config.go "use_external_ip and nat_1_to_1_ip can not both be set"). */
  nat_1_to_1_ip?: string;
  use_external_ip?: true;
  health_port: number;
  prometheus_port: number;
  hide_inbound_port: true;
  logging: { level: SipLogLevel; json: true };
  tls?: { port: number; certs: Array<{ cert_file: string; key_file: string }> };
}

/** The SIP service's config object for one node. Throws on an argument the service would reject or misuse. */
export function sipServiceConfig(args: SipServiceArgs): SipServiceConfig {
  assertApiKeyName('apiKey', args.apiKey);
  const wsUrl = args.wsUrl ?? `ws://127.0.0.1:${LIVEKIT_HTTP_PORT}`;
  if (!/^wss?:\/\/[^\s/@]+(:\d+)?\/?$/.test(wsUrl)) throw new Error(`wsUrl must be a ws:// or wss:// URL without credentials or path, got "${wsUrl}"`);
  const publicAddress =
    args.publicIp === 'stun'
      ? { use_external_ip: true as const }
      : { nat_1_to_1_ip: args.publicIp === 'imds' ? SIP_CONFIG_PLACEHOLDERS.publicIp : assertPublicIpv4(args.publicIp) };
  const config: SipServiceConfig = {
    api_key: args.apiKey,
    api_secret: SIP_CONFIG_PLACEHOLDERS.apiSecret,
    ws_url: wsUrl,
    redis: sipRedisBlock(args.redis),
    sip_port: SIP_SIGNALLING_PORT,
    // A scalar "start-end": mediatransportutil's PortRange parses no other form.
    rtp_port: `${SIP_RTP_PORT_RANGE.start}-${SIP_RTP_PORT_RANGE.end}`,
    ...publicAddress,
    health_port: SIP_HEALTH_PORT,
    prometheus_port: SIP_PROMETHEUS_PORT,
    // Silently drop INVITEs no trunk or rule admits, instead of answering scanners.
    hide_inbound_port: true,
    logging: { level: args.logLevel ?? 'info', json: true },
  };
  if (args.tls) {
    for (const [name, path] of Object.entries(args.tls)) {
      if (!/^\/[A-Za-z0-9._/-]+$/.test(path)) throw new Error(`tls.${name} must be an absolute path inside the container, got "${path}"`);
    }
    config.tls = { port: SIP_TLS_PORT, certs: [{ cert_file: args.tls.certFile, key_file: args.tls.keyFile }] };
  }
  return config;
}

/** The SIP service's config text (placeholders for the secrets). Throws if it would hold a key livekit/sip does not read. */
export function renderSipConfig(args: SipServiceArgs, filledBy = `boot.sh fills the placeholders into ${SIP_FILES.config} (0600), which the container mounts.`): string {
  const config = sipServiceConfig(args);
  const unknown = unknownSipKeys(config);
  // Unreachable unless sipServiceConfig grows a key livekit/sip does not have: fail here, not silently at boot.
  if (unknown.length > 0) throw new Error(`the SIP config would contain keys livekit/sip ignores: ${unknown.join(', ')}`);
  const comment = [
    ` LiveKit SIP service (${SIP_IMAGE}), rendered by voice-agent-infra (components/sip). Holds no secret:`,
    ` ${filledBy}`,
    ` Keys: ${LIVEKIT_SIP_CONFIG_SOURCE.repository} ${LIVEKIT_SIP_CONFIG_SOURCE.tag} ${LIVEKIT_SIP_CONFIG_SOURCE.file}.`,
  ].join('\n');
  return toYamlText(config, comment);
}

function sipRedisBlock(redis: SipRedisArgs): SipServiceConfig['redis'] {
  const address = redisAddress(redis);
  return {
    address,
    ...(redis.auth ? { password: SIP_CONFIG_PLACEHOLDERS.redisPassword } : {}),
    ...(redis.tls ? { tls: { enabled: true as const, server_name: redis.host } } : {}),
  };
}

/**
 * What livekit.yaml needs so LiveKit's SIP API works (without `redis` it answers "sip not
 * connected (redis required)": livekit/livekit pkg/service/errors.go): the same Redis as the SIP
 * service. For the single-node tiers this is the node's own Redis on loopback, no TLS; the
 * password (mid) reaches livekit-server through its REDIS_PASSWORD environment variable, as on
 * large. Phase 2 hands this to livekit-yaml.ts, whose redis block today always sets TLS.
 */
export function livekitRedisForSip(redis: SipRedisArgs): {
  block: { address: string; tls?: { enabled: true; server_name: string } };
  /** livekit-server reads the password from this variable (its --redis-password flag), when auth is on. */
  passwordEnv?: 'REDIS_PASSWORD';
} {
  const block = { address: redisAddress(redis), ...(redis.tls ? { tls: { enabled: true as const, server_name: redis.host } } : {}) };
  for (const key of Object.keys(block)) {
    if (!Object.hasOwn(LIVEKIT_DOCUMENTED_KEYS.redis, key)) throw new Error(`livekit.yaml redis.${key} is not a documented key`);
  }
  return { block, ...(redis.auth ? { passwordEnv: 'REDIS_PASSWORD' as const } : {}) };
}

function redisAddress(redis: SipRedisArgs): string {
  const port = redis.port ?? 6379;
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new Error(`redis.port must be a TCP port, got ${port}`);
  if (!/^[A-Za-z0-9.-]{1,253}$/.test(redis.host)) throw new Error(`redis.host must be a host name or IPv4 address, got "${redis.host}"`);
  return `${redis.host}:${port}`;
}

function assertPublicIpv4(ip: string): string {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  const octets = m ? m.slice(1).map(Number) : [];
  if (!m || octets.some((o) => o > 255)) throw new Error(`publicIp must be an IPv4 address (the node's Elastic IP) or "imds", got "${ip}"`);
  const [a, b] = octets as [number, number];
  // A private address here is the failure nat_1_to_1_ip exists to prevent.
  if (a === 10 || a === 127 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 169 && b === 254)) {
    throw new Error(`publicIp must be the node's public address, got the private address ${ip}`);
  }
  return ip;
}

/**
 * Bash lines for boot.sh (after read_secret has set LIVEKIT_API_SECRET and, with Redis AUTH,
 * REDIS_PASSWORD, and where the `imds` and `fail` functions exist): fills the placeholders of
 * the rendered template into the run copy, atomically, mode 0600, and fails if one is left.
 * Replacement strings are quoted, so `&` and `$` in a value stay literal (bash 5.2
 * patsub_replacement); read_secret already refuses quotes, backslashes and spaces, which keeps
 * the values valid inside the double-quoted YAML scalars. Paths may start with `$ROOT` or `$RUN`
 * (boot.sh's install and run directories): they are double-quoted, so those expand.
 */
export function sipConfigFillScript(files: { template: string; output: string } = { template: SIP_FILES.template, output: SIP_FILES.config }): string[] {
  const p = SIP_CONFIG_PLACEHOLDERS;
  for (const path of [files.template, files.output]) {
    if (!/^(\$ROOT|\$RUN)?[A-Za-z0-9_./-]+$/.test(path)) throw new Error(`sipConfigFillScript: "${path}" must be a plain path, optionally starting with $ROOT or $RUN`);
  }
  return [
    `# LiveKit SIP config: fill the secrets (and the public address) into the run copy the container mounts.`,
    `sip_config=$(<"${files.template}")`,
    `if [[ $sip_config == *'${p.publicIp}'* ]]; then`,
    `  NODE_PUBLIC_IP=$(imds public-ipv4)`,
    `  [[ $NODE_PUBLIC_IP =~ ^[0-9]{1,3}(\\.[0-9]{1,3}){3}$ ]] || fail "IMDS: public-ipv4 is not an IPv4 address; the SIP service needs the node's public address"`,
    `  sip_config=\${sip_config//'${p.publicIp}'/"$NODE_PUBLIC_IP"}`,
    `fi`,
    `sip_config=\${sip_config//'${p.apiSecret}'/"$LIVEKIT_API_SECRET"}`,
    `if [[ $sip_config == *'${p.redisPassword}'* ]]; then`,
    `  [[ -n \${REDIS_PASSWORD:-} ]] || fail 'SIP config: REDIS_PASSWORD was not read'`,
    `  sip_config=\${sip_config//'${p.redisPassword}'/"$REDIS_PASSWORD"}`,
    `fi`,
    `[[ $sip_config != *@@*@@* ]] || fail 'SIP config: a placeholder is left unfilled'`,
    `printf '%s\\n' "$sip_config" >"${files.output}.tmp"`,
    `chmod 600 "${files.output}.tmp"`,
    `mv -f "${files.output}.tmp" "${files.output}"`,
    'unset sip_config',
  ];
}

/** The compose service of the SIP service (phase 2 adds it to compose.ts's services on every LiveKit role). */
export interface SipComposeService {
  image: string;
  network_mode: 'host';
  restart: 'unless-stopped';
  volumes: string[];
  depends_on: string[];
  stop_signal: 'SIGTERM';
  stop_grace_period: string;
}

/**
 * Host networking (livekit/sip README: "The container must be run with host networking"; the
 * RTP range cannot go through docker's proxy). SIGTERM makes livekit/sip finish its calls and
 * exit (cmd/livekit-sip/main.go: SIGTERM/SIGQUIT drain, SIGINT ends the calls), so it gets the
 * same drain time as LiveKit.
 */
export function sipComposeService(args: { drainSeconds: number; tls: boolean; localRedis: boolean; image?: string }): SipComposeService {
  if (!Number.isInteger(args.drainSeconds) || args.drainSeconds < 1) throw new Error(`drainSeconds must be a whole number >= 1, got ${args.drainSeconds}`);
  const image = args.image ?? SIP_IMAGE;
  if (!/:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$|@sha256:[a-f0-9]{64}$/.test(image) || image.endsWith(':latest')) throw new Error(`image must be pinned by tag or digest, got "${image}"`);
  return {
    image,
    network_mode: 'host',
    restart: 'unless-stopped',
    volumes: [`${SIP_FILES.config}:${SIP_FILES.containerConfig}:ro`, ...(args.tls ? [`${SIP_FILES.tlsDir}:${SIP_FILES.containerTlsDir}:ro`] : [])],
    depends_on: [...(args.localRedis ? ['redis'] : []), 'livekit'],
    stop_signal: 'SIGTERM',
    stop_grace_period: `${args.drainSeconds}s`,
  };
}
