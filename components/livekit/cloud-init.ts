/**
 * cloud-init user data for a node, pure: `#cloud-config` text that installs Docker, writes the
 * rendered files, and starts one systemd unit running docker compose.
 *
 * Target: Ubuntu Server 24.04 LTS (NODE_AMI). Docker and the compose plugin come from Ubuntu's own
 * archive (`docker.io`, `docker-compose-v2`), the AWS CLI from its snap (AWS publishes it there;
 * 24.04 has no apt package), the SSM agent ships in Canonical's AMIs. One AMI family on every role
 * and both CPU architectures (c7i and c7g).
 *
 * Secrets: user data is clear text, so it carries Secrets Manager ARNs only (the args cannot hold
 * anything else: SecretArn). The unit's ExecStartPre runs boot.sh, which reads each secret with
 * the instance role and writes env files (mode 0600, directory 0700) that compose hands to the
 * containers; LiveKit takes its secrets from LIVEKIT_KEYS and REDIS_PASSWORD (see
 * livekit-yaml.ts). Reading at every start, not once, picks up a rotated secret on restart.
 */
import { gzipSync } from 'node:zlib';
import { renderSipWatchService, SIP_NODE_FILES, SIP_WATCH_TIMER, SIP_WATCH_UNIT, sipTlsBootLines, sipWatchBody } from '../sip/node.js';
import { renderSipConfig, SIP_FILES, sipConfigFillScript, type SipServiceArgs } from '../sip/sip-yaml.js';
import { AGENT_ENV_CONVERTER, type AgentEnvArgs, ENV_NAME, isReservedAgentEnvName, RESERVED_AGENT_ENV_PREFIXES, reservedAgentEnvNames } from './agent-env.js';
import { caddyConfig, renderCaddyConfig } from './caddy.js';
import {
  AGENT_CLOSE_SECONDS,
  AGENT_SLOTS,
  composeFile,
  FIRST_AGENT_SLOT,
  isAgentSlot,
  type AgentImageParameter,
  type ComposeArgs,
  DEFAULT_DRAIN_SECONDS,
  assertParameterName,
  assertRegion,
  LIVEKIT_NOFILE_LIMIT,
  renderCompose,
  servicesFor,
} from './compose.js';
import { bootEnvFiles, DATA_DIR, IMAGE_WATCH_UNIT, isSingleNode, NODE_DIR, NODE_FILES, type NodeRole, runsAgentWorker, runsLivekit, SYSTEMD_UNIT } from './layout.js';
import { assertHostname, type LivekitConfigArgs, renderLivekitConfig } from './livekit-yaml.js';
import { assertPort, DEFAULT_INTAKE_PORT, localIntakeWebhookUrl, REDIS_PORT } from './ports.js';
import { assertSecretArn, regionOfSecretArn, type SecretArn } from './secret-arn.js';
import { toYamlText } from './yaml-text.js';

/** The AMI family the user data is written for: the AWS components look the image up with this. */
export const NODE_AMI = {
  family: 'ubuntu-24.04',
  description: 'Ubuntu Server 24.04 LTS (Noble Numbat), HVM, gp3 root volume',
  /** Canonical's AWS account: `aws.ec2.getAmi({ owners, filters: [{ name: 'name', values: [nameFilter[arch]] }], mostRecent: true })`. */
  owners: ['099720109477'],
  nameFilter: {
    x86_64: 'ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*',
    arm64: 'ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-arm64-server-*',
  },
  loginUser: 'ubuntu',
} as const;

/**
 * EC2's limit on user data, before base64 (AWS EC2 User Guide, "Instance user data"). The nodes
 * send it gzip-compressed (cloud-init decompresses gzip user data before reading it), so the limit
 * counts the compressed bytes, and leaves room for more services (LiveKit SIP).
 */
export const USER_DATA_MAX_BYTES = 16_384;

/**
 * Kernel settings for WebRTC on every role (agents carry media too). LiveKit's deployment guide:
 * raise the UDP receive buffer limit to at least 5,000,000 bytes; the send side likewise.
 */
export const UDP_BUFFER_SYSCTL: Readonly<Record<string, number>> = {
  'net.core.rmem_max': 5_000_000,
  'net.core.wmem_max': 5_000_000,
};

/** Packages from Ubuntu 24.04's archive. */
export const NODE_PACKAGES: readonly string[] = ['docker.io', 'docker-compose-v2'];

/** Redis outside the node's own: ElastiCache (large) or the mid LiveKit node's Redis (mid agents). */
export interface ExternalRedisArgs {
  /** Host name or IP, e.g. the ElastiCache primary endpoint, or the mid LiveKit node's private IP. */
  host: string;
  /** TCP port; default 6379. */
  port?: number;
  /** TLS in transit (rediss://): true for ElastiCache, false for the mid LiveKit node's Redis. */
  tls: boolean;
  /** Secrets Manager ARN of the Redis AUTH token (SecretString is the token itself). */
  authTokenArn: SecretArn;
}

/** LiveKit server settings, from the plan and config (apiKey, webhook and Redis are filled in here). */
export type LivekitServerArgs = Omit<LivekitConfigArgs, 'apiKey' | 'webhookUrls' | 'redis'>;

interface NodeArgsBase extends Omit<ComposeArgs, 'role'> {
  /** Secrets Manager ARN of the LiveKit API secret (SecretString is the secret itself). */
  livekitApiSecretArn: SecretArn;
  /** Secrets Manager ARN of ALERT_WEBHOOK_URL (such URLs carry credentials); default none. */
  alertWebhookUrlArn?: SecretArn;
  /**
   * The agent worker's own environment (providers' API keys) from the operator's secret, on the
   * roles that run the agent worker (small, agent): boot.sh converts it into agent-providers.env
   * (agent-env.ts). Without it the file is empty and the worker exits naming the first missing key.
   */
  agentEnv?: AgentEnvArgs;
}

/**
 * The LiveKit SIP service on a LiveKit node (components/sip): its config (Redis and the public
 * address follow from the role: the node's own Redis and its Elastic IP on a single node,
 * ElastiCache and the IMDS public address on large), and sip-watch, which syncs LiveKit's trunks
 * and dispatch rule to the stack's declaration.
 */
export interface SipNodeArgs {
  /** SIP over TLS on 5061 (and SRTP): boot.sh writes the certificate from certificateSecretArn. */
  tls: boolean;
  /** Secrets Manager ARN of the certificate, SecretString {"certificate": "<PEM chain>", "privateKey": "<PEM key>"}; required with tls. */
  certificateSecretArn?: SecretArn;
  /** The SSM parameter holding the stack's SIP declaration, and its region. */
  declarationParameter: { name: string; region: string };
  /** Secrets Manager ARN of the SIP credentials (components/sip sipCredentialsSecretString). */
  credentialsSecretArn: SecretArn;
}

interface LivekitNodeArgsBase extends NodeArgsBase {
  /** livekit.yaml settings: TURN domain, room timeouts, log level. */
  livekit: LivekitServerArgs;
  /** Secrets Manager ARN of INTAKE_TOKEN, the bearer token of the intake's POST /v1/calls. */
  intakeTokenArn: SecretArn;
  /** Answer phone calls: the LiveKit SIP service and sip-watch on this node; default none. */
  sip?: SipNodeArgs;
}

/**
 * The single node (small, mid) keeps its state on a data volume and takes its agent image from an
 * SSM parameter, so neither a new image nor a new user data ever needs a new instance.
 */
interface SingleNodeArgsBase extends LivekitNodeArgsBase {
  /** The agent image's SSM parameter (image-watch.sh rolls the node when it changes). */
  agentImage: AgentImageParameter;
  /** EBS volume id (vol-...) of the encrypted data volume attached to the node: Redis AOF, Caddy certificates. */
  dataVolumeId: string;
}

/** Small tier: everything on one box, Caddy terminates TLS, Redis on loopback without a password. */
export interface SmallNodeArgs extends SingleNodeArgsBase {
  role: 'small';
  /** Public signalling hostname, e.g. "voice.example.com": Caddy's certificate and SNI route. */
  domain: string;
  /** Contact email for the ACME CA; default none. */
  acmeEmail?: string;
}

/** Mid tier LiveKit node: Redis on the node, bound to loopback and the private address, with AUTH. */
export interface LivekitMidNodeArgs extends SingleNodeArgsBase {
  role: 'livekit-mid';
  /** Secrets Manager ARN of the node Redis's AUTH password (agent workers use the same ARN). */
  redisAuthTokenArn: SecretArn;
}

/** Large tier LiveKit node: multi-node LiveKit over ElastiCache (TLS, AUTH). */
export interface LivekitLargeNodeArgs extends LivekitNodeArgsBase {
  role: 'livekit-large';
  /** The pinned image (a new one rolls the group through an instance refresh, drained). */
  agentImage: string;
  /** The shared ElastiCache endpoint (LiveKit and the queue). */
  redis: ExternalRedisArgs;
}

/** Agent autoscaling group instance (mid, large). */
export interface AgentNodeArgs extends NodeArgsBase {
  role: 'agent';
  /** The pinned image (a new one rolls the group through an instance refresh, drained). */
  agentImage: string;
  /** The queue's Redis: the mid LiveKit node's (tls false) or ElastiCache (tls true). */
  redis: ExternalRedisArgs;
  /** LIVEKIT_URL the workers dial, e.g. "wss://voice.example.com" or "ws://10.0.1.23:7880". */
  livekitUrl: string;
}

export type CloudInitArgs = SmallNodeArgs | LivekitMidNodeArgs | LivekitLargeNodeArgs | AgentNodeArgs;

/** The `#cloud-config` object (see renderCloudInit). */
export function cloudInitConfig(args: CloudInitArgs): Record<string, unknown> {
  validateSecretArgs(args);
  const files: Array<{ path: string; permissions: string; content: string }> = [
    { path: NODE_FILES.sysctl, permissions: '0644', content: renderSysctl() },
  ];
  const sip = sipOf(args);
  if (args.role !== 'agent') files.push({ path: NODE_FILES.livekitConfig, permissions: '0644', content: renderLivekitConfig(livekitConfigArgs(args)) });
  // The SIP service's config with placeholders (no secret): boot.sh fills the run copy.
  if (sip) files.push({ path: SIP_FILES.template, permissions: '0644', content: renderSipConfig(sipServiceArgs(sip)) });
  if (args.role === 'small') {
    files.push({ path: NODE_FILES.caddyConfig, permissions: '0644', content: renderCaddyConfig(caddyArgs(args)) });
  }
  const drainSeconds = args.drainSeconds ?? DEFAULT_DRAIN_SECONDS;
  files.push(
    { path: NODE_FILES.compose, permissions: '0644', content: renderCompose(composeArgs(args)) },
    { path: NODE_FILES.bootScript, permissions: '0700', content: renderBootScript(args) },
    { path: `/etc/systemd/system/${SYSTEMD_UNIT}`, permissions: '0644', content: renderSystemdUnit(args.role, drainSeconds, servicesFor(args.role, { sip: sip !== undefined })) },
  );
  if (sip) {
    files.push(
      { path: SIP_NODE_FILES.watchScript, permissions: '0700', content: renderSipWatchScript(sip) },
      { path: `/etc/systemd/system/${SIP_WATCH_UNIT}.service`, permissions: '0644', content: renderSipWatchService({ systemdUnit: SYSTEMD_UNIT }) },
      { path: `/etc/systemd/system/${SIP_WATCH_UNIT}.timer`, permissions: '0644', content: SIP_WATCH_TIMER },
    );
  }
  if (isSingleNode(args.role)) {
    files.push(
      { path: NODE_FILES.imageWatchScript, permissions: '0700', content: renderImageWatchScript(args as SmallNodeArgs | LivekitMidNodeArgs) },
      { path: `/etc/systemd/system/${IMAGE_WATCH_UNIT}.service`, permissions: '0644', content: renderImageWatchService(drainSeconds) },
      { path: `/etc/systemd/system/${IMAGE_WATCH_UNIT}.timer`, permissions: '0644', content: IMAGE_WATCH_TIMER },
    );
  }
  return {
    package_update: true,
    // Patches arrive with a newer AMI (instance refresh), not as a slower, different first boot.
    package_upgrade: false,
    packages: [...NODE_PACKAGES],
    snap: { commands: [['snap', 'install', 'aws-cli', '--classic']] },
    write_files: files.map((file) => ({ ...file, owner: 'root:root' })),
    runcmd: [
      ['sysctl', '-p', NODE_FILES.sysctl],
      ['systemctl', 'daemon-reload'],
      ['systemctl', 'enable', '--now', SYSTEMD_UNIT],
      ...(isSingleNode(args.role) ? [['systemctl', 'enable', '--now', `${IMAGE_WATCH_UNIT}.timer`]] : []),
      ...(sip ? [['systemctl', 'enable', '--now', `${SIP_WATCH_UNIT}.timer`]] : []),
    ],
  };
}

/**
 * User data for a node: `#cloud-config` YAML with no secret in it. Throws when even compressed
 * (gzipUserData, what the nodes are sent) it exceeds EC2's 16 KiB limit.
 */
export function renderCloudInit(args: CloudInitArgs): string {
  const comment = [
    ` voice-agent-infra node, role ${args.role}, for ${NODE_AMI.description}.`,
    ' No secret in this file: boot.sh reads them from Secrets Manager with the instance role.',
  ].join('\n');
  const text = `#cloud-config\n${toYamlText(cloudInitConfig(args), comment)}`;
  const bytes = gzipUserData(text).length;
  if (bytes > USER_DATA_MAX_BYTES) {
    throw new Error(`user data for role ${args.role} is ${bytes} bytes gzip-compressed, over EC2's ${USER_DATA_MAX_BYTES}-byte limit`);
  }
  return text;
}

/**
 * The user data as the instances receive it: gzip-compressed (cloud-init detects gzip and
 * decompresses; cloud-init docs, "User data formats"). Deterministic: no file name, mtime 0.
 */
export function gzipUserData(text: string): Buffer {
  return gzipSync(Buffer.from(text, 'utf8'), { level: 9 });
}

/** The docker compose command line of the node (the single node interpolates AGENT_IMAGE from its env file). */
export function composeCommand(role: NodeRole): string {
  return `/usr/bin/docker compose --file ${NODE_FILES.compose}${isSingleNode(role) ? ` --env-file ${NODE_FILES.imageEnv}` : ''}`;
}

/** The systemd unit running docker compose for the node. */
export function renderSystemdUnit(role: NodeRole, drainSeconds: number, services: readonly string[] = servicesFor(role)): string {
  const compose = composeCommand(role);
  // The small box names what it starts: its second agent slot stays down until a roll (image-watch).
  // `down` still stops both slots: they are both in the compose file.
  const started = services.filter((name) => !isAgentSlot(name) || name === FIRST_AGENT_SLOT);
  const startList = started.length < services.length ? ` ${started.join(' ')}` : '';
  return [
    '[Unit]',
    `Description=voice-agent-infra ${role}: ${services.join(', ')} in docker compose`,
    'Requires=docker.service',
    'After=docker.service network-online.target',
    'Wants=network-online.target',
    // Keep retrying: the secrets or the registry may be unreachable for a while after boot.
    'StartLimitIntervalSec=0',
    '',
    '[Service]',
    'Type=simple',
    `WorkingDirectory=${NODE_DIR}`,
    `LimitNOFILE=${LIVEKIT_NOFILE_LIMIT}`,
    `ExecStartPre=${NODE_FILES.bootScript}`,
    `ExecStartPre=${compose} down --remove-orphans`,
    `ExecStart=${compose} up --remove-orphans${startList}`,
    `ExecStop=${compose} down`,
    'Restart=always',
    'RestartSec=10',
    'TimeoutStartSec=300',
    // compose stops each container within its stop_grace_period (the agent: drain + close); leave room for that.
    `TimeoutStopSec=${drainSeconds + AGENT_CLOSE_SECONDS + 30}`,
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

function renderSysctl(): string {
  const lines = Object.entries(UDP_BUFFER_SYSCTL).map(([key, value]) => `${key} = ${value}`);
  return ['# LiveKit: UDP socket buffers for WebRTC media (default limits drop packets under load).', ...lines, ''].join('\n');
}

function livekitConfigArgs(args: SmallNodeArgs | LivekitMidNodeArgs | LivekitLargeNodeArgs): LivekitConfigArgs {
  return {
    ...args.livekit,
    apiKey: args.livekitApiKey,
    // Every tier runs the intake on the LiveKit node: webhooks stay on loopback.
    webhookUrls: [localIntakeWebhookUrl(args.intakePort)],
    ...(args.role === 'livekit-large'
      ? { redis: { address: `${args.redis.host}:${args.redis.port ?? REDIS_PORT}` } }
      : args.sip
        ? // The SIP API needs LiveKit in Redis mode, on the node's own Redis (AUTH on mid).
          { redis: { address: `127.0.0.1:${REDIS_PORT}`, kind: 'node' as const, auth: args.role === 'livekit-mid' } }
        : {}),
  };
}

type LivekitRoleArgs = SmallNodeArgs | LivekitMidNodeArgs | LivekitLargeNodeArgs;

/** The node's SIP settings with its role, or undefined when it runs no SIP service. */
function sipOf(args: CloudInitArgs): (LivekitRoleArgs & { sip: SipNodeArgs }) | undefined {
  if (args.sip === undefined) return undefined;
  if (args.role === 'agent') throw new Error('sip applies to LiveKit roles (small, livekit-mid, livekit-large), not to role agent');
  return args as LivekitRoleArgs & { sip: SipNodeArgs };
}

/** The SIP service's config for the node: the same Redis as LiveKit, the node's public address. */
function sipServiceArgs(args: LivekitRoleArgs & { sip: SipNodeArgs }): SipServiceArgs {
  const tls = args.sip.tls ? { tls: { certFile: `${SIP_FILES.containerTlsDir}/cert.pem`, keyFile: `${SIP_FILES.containerTlsDir}/key.pem` } } : {};
  if (args.role === 'livekit-large') {
    // Autoscaled nodes learn their public address at boot (IMDS public-ipv4).
    return { apiKey: args.livekitApiKey, redis: { host: args.redis.host, port: args.redis.port ?? REDIS_PORT, tls: true, auth: true }, publicIp: 'imds', ...tls };
  }
  if (args.livekit.nodeIp === undefined) throw new Error(`role ${args.role} with sip needs livekit.nodeIp (the Elastic IP the SIP service advertises)`);
  return { apiKey: args.livekitApiKey, redis: { host: '127.0.0.1', port: REDIS_PORT, tls: false, auth: args.role === 'livekit-mid' }, publicIp: args.livekit.nodeIp, ...tls };
}

/** sip-watch.sh: syncs LiveKit's SIP objects to the stack's declaration (components/sip/node.ts). */
export function renderSipWatchScript(args: LivekitRoleArgs & { sip: SipNodeArgs }): string {
  return [
    '#!/bin/bash',
    `# voice-agent-infra SIP objects (${SIP_WATCH_UNIT}.timer), role ${args.role}.`,
    "# Runs `voice-agent sip-sync` when the stack's SIP declaration or credentials changed, and after every start.",
    '# Never `set -x`: the credentials pass through here.',
    'set -euo pipefail',
    'export LC_ALL=C PATH="$PATH:/snap/bin"',
    'umask 077',
    `ROOT="\${VOICE_AGENT_ROOT:-${NODE_DIR}}"`,
    'RUN="$ROOT/run"',
    'fail() { echo "voice-agent sip-watch: $*" >&2; exit 1; }',
    '',
    ...SHELL_IMAGE_FUNCTIONS,
    ...sipWatchBody({
      declarationParameter: args.sip.declarationParameter,
      credentialsSecretArn: args.sip.credentialsSecretArn,
      credentialsRegion: regionOfSecretArn(args.sip.credentialsSecretArn),
      agentImage: isSingleNode(args.role) ? 'image-env' : (args.agentImage as string),
      livekitApiKey: args.livekitApiKey,
      ...(args.cloudWatchLogs ? { cloudWatchLogs: args.cloudWatchLogs } : {}),
    }),
    '',
  ].join('\n');
}

function caddyArgs(args: SmallNodeArgs) {
  return { domain: args.domain, turnDomain: args.livekit.turnDomain, ...(args.acmeEmail !== undefined ? { acmeEmail: args.acmeEmail } : {}) };
}

/** The ComposeArgs keys a CloudInitArgs carries besides `role` (checked complete at compile time). */
const COMPOSE_ARG_KEYS = [
  'agentImage',
  'livekitApiKey',
  'livekitUrl',
  'agentName',
  'intakePort',
  'fleetCapacitySessions',
  'callMaxAttempts',
  'callMaxWaitSeconds',
  'metricsNamespace',
  'extraEnvironment',
  'drainSeconds',
  'redisMaxMemoryMiB',
  'cloudWatchLogs',
  'images',
  'sip',
] as const satisfies ReadonlyArray<keyof ComposeArgs>;
// Fails to compile when ComposeArgs gains a key that the list above does not pass on.
const _allComposeKeys: Exclude<keyof ComposeArgs, 'role' | (typeof COMPOSE_ARG_KEYS)[number]> extends never ? true : never = true;

function composeArgs(args: CloudInitArgs): ComposeArgs {
  const picked: Record<string, unknown> = { role: args.role };
  for (const key of COMPOSE_ARG_KEYS) if (args[key] !== undefined) picked[key] = args[key];
  return picked as unknown as ComposeArgs;
}

/**
 * boot.sh: run as the unit's ExecStartPre, as root. Reads this node's secrets from Secrets Manager
 * (instance role), derives LIVEKIT_KEYS and REDIS_URL, writes the env files compose passes to the
 * containers, and logs docker in to ECR when the agent image lives there. Holds ARNs, never values.
 * VOICE_AGENT_ROOT overrides the install directory (tests run it against stub aws/curl/docker).
 */
export function renderBootScript(args: CloudInitArgs): string {
  validateSecretArgs(args);
  const reads: string[] = [];
  const read = (name: string, arn: SecretArn) => reads.push(`read_secret ${name} ${sq(arn)} ${sq(regionOfSecretArn(arn))}`);
  read('LIVEKIT_API_SECRET', args.livekitApiSecretArn);
  if (args.role !== 'agent') read('INTAKE_TOKEN', args.intakeTokenArn);
  if (args.alertWebhookUrlArn !== undefined) read('ALERT_WEBHOOK_URL', args.alertWebhookUrlArn);
  if (args.role === 'livekit-mid') read('REDIS_PASSWORD', args.redisAuthTokenArn);
  if (args.role === 'livekit-large' || args.role === 'agent') read('REDIS_PASSWORD', args.redis.authTokenArn);

  const sip = sipOf(args);
  const derive: string[] = [];
  if (runsLivekit(args.role)) {
    // Double-quoted YAML: LiveKit parses LIVEKIT_KEYS as a YAML map, and the secret may hold YAML syntax.
    derive.push(`LIVEKIT_KEYS=${sq(`${args.livekitApiKey}: "`)}"$LIVEKIT_API_SECRET"'"'`);
  }
  derive.push(`REDIS_URL=${redisUrlExpression(args)}`);
  if (args.role === 'livekit-mid') derive.push('NODE_PRIVATE_IP=$(imds local-ipv4)');
  // The SIP service: its config filled with the secrets just read (and on large the IMDS address),
  // the TLS certificate, and a fresh sync of LiveKit's SIP objects after this start (sip-watch).
  const sipLines = sip
    ? [
        ...sipConfigFillScript({ template: SIP_FILES.template.replace(NODE_DIR, '$ROOT'), output: SIP_FILES.config.replace(NODE_DIR, '$ROOT') }),
        ...(sip.sip.tls ? sipTlsBootLines({ certificateSecretArn: sip.sip.certificateSecretArn!, region: regionOfSecretArn(sip.sip.certificateSecretArn!) }) : []),
        `rm -f "${SIP_NODE_FILES.applied.replace(NODE_DIR, '$ROOT')}"`,
      ]
    : [];

  const envFiles = bootEnvFiles(args.role, { alertWebhook: args.alertWebhookUrlArn !== undefined, sip: sip !== undefined });
  const writes: string[] = [];
  if (envFiles.livekit) writes.push(`write_env "$RUN/livekit.env" ${envFiles.livekit.join(' ')}`);
  writes.push(`write_env "$RUN/agent.env" ${envFiles.agent.join(' ')}`);
  if (envFiles.redis) writes.push(`write_env "$RUN/redis.env" ${envFiles.redis.join(' ')}`);
  // The agent worker's own environment (converted above), and on the small box the slot the unit starts.
  if (runsAgentWorker(args.role)) writes.push(`write_text "$RUN/agent-providers.env" "$AGENT_PROVIDERS_ENV"`);
  if (servicesFor(args.role).some(isAgentSlot)) writes.push(`write_text "$RUN/agent-slot" ${FIRST_AGENT_SLOT}`);

  // The image: the stack's SSM parameter on a single node (never in its user data), else pinned here.
  const image = isSingleNode(args.role)
    ? [
        `mount_data ${sq(singleNode(args).dataVolumeId)}`,
        `AGENT_IMAGE=$(read_parameter ${sq(singleNode(args).agentImage.ssmParameter)} ${sq(singleNode(args).agentImage.region)})`,
        "valid_image \"$AGENT_IMAGE\" || fail \"the agent image parameter holds no pinned image reference\"",
      ]
    : [`AGENT_IMAGE=${sq(args.agentImage as string)}`];

  return [
    '#!/bin/bash',
    `# voice-agent-infra boot step (ExecStartPre of ${SYSTEMD_UNIT}), role ${args.role}.`,
    '# Reads the secrets with the instance role and writes them to env files (0600) for docker compose.',
    '# Never `set -x`: it would print the values.',
    'set -euo pipefail',
    'export LC_ALL=C PATH="$PATH:/snap/bin"',
    'umask 077',
    `ROOT="\${VOICE_AGENT_ROOT:-${NODE_DIR}}"`,
    'RUN="$ROOT/run"',
    'mkdir -p "$RUN"',
    'chmod 700 "$RUN"',
    '',
    'fail() { echo "voice-agent boot: $*" >&2; exit 1; }',
    '',
    ...SHELL_IMAGE_FUNCTIONS,
    ...(isSingleNode(args.role) ? [...SHELL_MOUNT_DATA, ''] : []),
    '# cloud-init installs the AWS CLI snap; install it here too if that step failed (e.g. store unreachable then).',
    "command -v aws >/dev/null || snap install aws-cli --classic >&2 || fail 'no AWS CLI (snap install aws-cli --classic failed)'",
    '',
    '# IMDSv2: the launch templates require session tokens.',
    'imds() {',
    '  local token',
    "  token=$(curl -fsS -m 5 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' http://169.254.169.254/latest/api/token) || fail 'IMDS: no token'",
    '  curl -fsS -m 5 -H "X-aws-ec2-metadata-token: $token" "http://169.254.169.254/latest/meta-data/$1" || fail "IMDS: no $1"',
    '}',
    '',
    '# read_secret NAME ARN REGION: sets $NAME, retrying while the instance credentials arrive.',
    'read_secret() {',
    "  local value='' attempt",
    '  for attempt in 1 2 3 4 5; do',
    '    value=$(aws secretsmanager get-secret-value --region "$3" --secret-id "$2" --query SecretString --output text) && break',
    "    value=''",
    '    sleep $((attempt * 3))',
    '  done',
    '  [[ -n $value ]] || fail "$1: cannot read secret $2 (instance role, network?)"',
    "  # Env files quote values in '...', LIVEKIT_KEYS and redis config in \"...\": refuse what breaks them.",
    '  [[ $value =~ ^[[:graph:]]+$ && $value != *[\\\'\\"\\\\]* ]] || fail "$1: secret $2 must be printable ASCII without spaces, quotes or backslashes"',
    '  printf -v "$1" \'%s\' "$value"',
    '}',
    '',
    '# Percent-encodes a value for the userinfo part of REDIS_URL.',
    'urlencode() {',
    "  local s=$1 out='' c i",
    '  for ((i = 0; i < ${#s}; i++)); do',
    '    c=${s:i:1}',
    "    case $c in [A-Za-z0-9._~-]) out+=$c ;; *) printf -v c '%%%02X' \"'$c\"; out+=$c ;; esac",
    '  done',
    "  printf '%s' \"$out\"",
    '}',
    '',
    "# write_env FILE NAME...: NAME='value' lines (compose reads single-quoted values literally), replaced atomically.",
    'write_env() {',
    '  local file=$1 name',
    '  shift',
    '  for name in "$@"; do printf "%s=\'%s\'\\n" "$name" "${!name}"; done >"$file.tmp"',
    '  chmod 600 "$file.tmp"',
    '  mv -f "$file.tmp" "$file"',
    '}',
    '',
    ...(runsAgentWorker(args.role)
      ? [
          '# write_text FILE TEXT: TEXT and a newline (nothing when empty), mode 0600, replaced atomically.',
          'write_text() {',
          '  { [[ -z $2 ]] || printf \'%s\\n\' "$2"; } >"$1.tmp"',
          '  chmod 600 "$1.tmp"',
          '  mv -f "$1.tmp" "$1"',
          '}',
          '',
        ]
      : []),
    ...image,
    ...reads,
    ...(runsAgentWorker(args.role) ? agentEnvBootLines(args) : []),
    ...derive,
    ...sipLines,
    ...writes,
    // Written last, with the others: a failed boot leaves no half-written state behind.
    ...(isSingleNode(args.role) ? [`write_env "$RUN/image.env" AGENT_IMAGE`] : []),
    '# An image in ECR: log docker in (token valid 12 h; renewed at every start).',
    'ecr_login "$AGENT_IMAGE"',
    '',
  ].join('\n');
}

/**
 * boot.sh lines that set AGENT_PROVIDERS_ENV: the operator's secret (agentEnv) read with the
 * instance role and converted strictly (agent-env.ts), or nothing, with a warning, without one.
 * The secret goes from the AWS CLI to python3 through a pipe: never in argv or a file.
 */
function agentEnvBootLines(args: CloudInitArgs): string[] {
  if (args.agentEnv === undefined) {
    return [
      "echo 'voice-agent boot: warning: no agent env secret (aws.agentEnvSecretArn): the agent worker gets no provider API keys' >&2",
      "AGENT_PROVIDERS_ENV=''",
    ];
  }
  const { secretArn, expectedKeys = [] } = args.agentEnv;
  // Whatever the compose file sets for the agent image's services is the stack's, not the operator's.
  const compose = composeFile(composeArgs(args));
  const rendered = Object.values(compose.services).flatMap((service) => Object.keys(service?.environment ?? {}));
  return [
    "# The agent worker's own environment: the operator's JSON secret, converted strictly (components/livekit/agent-env.ts).",
    "AGENT_ENV_CONVERTER=$(cat <<'PY'",
    AGENT_ENV_CONVERTER.trimEnd(),
    'PY',
    ')',
    '# read_agent_env ARN REGION RESERVED PREFIXES EXPECTED: sets AGENT_PROVIDERS_ENV (NAME=\'value\' lines).',
    'read_agent_env() {',
    "  local json='' attempt",
    '  for attempt in 1 2 3 4 5; do',
    '    json=$(aws secretsmanager get-secret-value --region "$2" --secret-id "$1" --query SecretString --output text) && break',
    "    json=''",
    '    sleep $((attempt * 3))',
    '  done',
    '  [[ -n $json ]] || fail "agent env: cannot read secret $1 (instance role, network?)"',
    "  command -v python3 >/dev/null || fail 'agent env: no python3 to convert the secret (Ubuntu 24.04 ships it)'",
    '  AGENT_PROVIDERS_ENV=$(printf \'%s\' "$json" | python3 -c "$AGENT_ENV_CONVERTER" "$1" "$3" "$4" "$5") || exit 1',
    '}',
    `read_agent_env ${sq(secretArn)} ${sq(regionOfSecretArn(secretArn))} ${sq(reservedAgentEnvNames(rendered).join(' '))} ${sq(RESERVED_AGENT_ENV_PREFIXES.join(' '))} ${sq(expectedKeys.join(' '))}`,
  ];
}

function singleNode(args: CloudInitArgs): SmallNodeArgs | LivekitMidNodeArgs {
  if (!isSingleNode(args.role)) throw new Error(`role ${args.role} is not a single node`);
  return args as SmallNodeArgs | LivekitMidNodeArgs;
}

/**
 * Shell functions boot.sh and image-watch.sh share: read an SSM parameter (retrying while the
 * instance credentials arrive), check an image reference is pinned, log docker in to ECR.
 */
const SHELL_IMAGE_FUNCTIONS: readonly string[] = [
  '# read_parameter NAME REGION: the value of an SSM parameter.',
  'read_parameter() {',
  "  local value='' attempt",
  '  for attempt in 1 2 3 4 5; do',
  '    value=$(aws ssm get-parameter --region "$2" --name "$1" --query Parameter.Value --output text) && break',
  "    value=''",
  '    sleep $((attempt * 3))',
  '  done',
  '  [[ -n $value ]] || fail "cannot read SSM parameter $1 (instance role, network?)"',
  `  printf '%s' "$value"`,
  '}',
  '',
  '# valid_image REF: pinned by digest, or by a tag other than latest.',
  'valid_image() {',
  '  [[ $1 =~ ^[a-z0-9][a-z0-9._/:-]*(@sha256:[a-f0-9]{64})?$ && $1 != *:latest ]] || return 1',
  '  [[ $1 == *@sha256:* || ${1##*/} == *:* ]]',
  '}',
  '',
  '# ecr_login REF: docker login to the ECR registry of an image there; nothing for other registries.',
  'ecr_login() {',
  '  if [[ $1 =~ ^([0-9]{12}\\.dkr\\.ecr(-fips)?\\.([a-z0-9-]+)\\.amazonaws\\.com(\\.cn)?)/ ]]; then',
  '    aws ecr get-login-password --region "${BASH_REMATCH[3]}" | docker login --username AWS --password-stdin "${BASH_REMATCH[1]}" >/dev/null',
  '  fi',
  '}',
  '',
];

/**
 * Mounts the single node's data volume at DATA_DIR, found by its volume id (Nitro instances show
 * EBS volumes as NVMe devices named after it). A blank volume (first boot) gets a file system; one
 * that has one (a replacement instance) is mounted as it is. VOICE_AGENT_DEVICES and
 * VOICE_AGENT_DATA override the paths for tests.
 */
const SHELL_MOUNT_DATA: readonly string[] = [
  '# mount_data VOLUME_ID: the data volume (Redis AOF, Caddy certificates), attached by the stack.',
  'mount_data() {',
  `  local dev="\${VOICE_AGENT_DEVICES:-/dev/disk/by-id}/nvme-Amazon_Elastic_Block_Store_\${1//-/}" data="\${VOICE_AGENT_DATA:-${DATA_DIR}}" fstype i`,
  '  # The attachment follows the instance: wait for it (systemd restarts this unit if it never comes).',
  '  for ((i = 0; i < 48; i++)); do [[ -e $dev ]] && break; sleep 5; done',
  '  [[ -e $dev ]] || fail "data volume $1 is not attached (no $dev)"',
  '  if ! mountpoint -q "$data"; then',
  '    mkdir -p "$data"',
  '    # blkid exits 2 when it finds no file system: only then is the volume blank. Anything else stops here.',
  '    fstype=$(blkid -o value -s TYPE "$dev") || [[ $? -eq 2 ]] || fail "blkid $dev failed"',
  '    [[ -n $fstype ]] || mkfs.ext4 -q -L voice-data "$dev"',
  '    mount -o noatime "$dev" "$data"',
  '  fi',
  '  mkdir -p "$data/redis" "$data/caddy"',
  '}',
];

/** Seconds a new agent worker may take to register with LiveKit before a roll gives up on it. */
export const AGENT_ROLL_HEALTH_SECONDS = 300;
/** Seconds the recreated intake may take to answer /healthz before the dispatcher is recreated anyway. */
export const INTAKE_ROLL_HEALTH_SECONDS = 120;

/**
 * image-watch.sh (single node): run every minute by a systemd timer. When the stack has written a
 * new agent image to the SSM parameter, pull it (the running containers keep serving meanwhile),
 * then roll the services that run the image, the new image given to compose in its environment
 * (which wins over --env-file: compose-go cli/options.go WithDotEnv, types/mapping.go Merge), and
 * record it in image.env once they run:
 * - small: the agent worker start-first (AGENT_SLOTS): a worker on the new image in the other slot;
 *   once it is registered with LiveKit (its health port answers 200, agents-js worker.ts: only when
 *   connected and registered), the old one gets one SIGTERM (compose stop: its stop_grace_period,
 *   then SIGKILL) and drains in the background: it withdraws its capacity heartbeat at once and
 *   finishes its calls, while new calls go to the new worker. A new worker that never registers
 *   is removed, and the old one keeps the box (exit 1; the next run tries again).
 * - intake, then dispatcher, one at a time: compose recreates each (create, stop the old, start the
 *   new: a gap of a few seconds, during which LiveKit retries its webhooks); the dispatcher only
 *   once the new intake answers /healthz.
 */
export function renderImageWatchScript(args: SmallNodeArgs | LivekitMidNodeArgs): string {
  const services = servicesFor(args.role);
  const queueServices = services.filter((s) => s === 'intake' || s === 'dispatcher');
  const slots = services.filter(isAgentSlot);
  const intakeHealth = `http://127.0.0.1:${args.intakePort ?? DEFAULT_INTAKE_PORT}/healthz`;
  const slotCase = slots.map((slot) => {
    const other = slots.find((s) => s !== slot)!;
    return `  ${slot}) next=${other} health=http://127.0.0.1:${AGENT_SLOTS[other].healthPort}/ ;;`;
  });
  const agentRoll = slots.length
    ? [
        '',
        '# The agent worker, start-first: the new image in the other slot, registered before the old one drains.',
        `active=$(cat "$RUN/agent-slot" 2>/dev/null || echo ${FIRST_AGENT_SLOT})`,
        'case $active in',
        ...slotCase,
        '  *) fail "run/agent-slot names no agent slot: $active" ;;',
        'esac',
        `if ! compose up --detach --no-deps "$next" || ! healthy "$health" ${AGENT_ROLL_HEALTH_SECONDS}; then`,
        '  # A failed roll must not take the box\'s only worker away: remove the new one, keep the old.',
        '  compose rm --force --stop "$next" >/dev/null 2>&1 || true',
        `  fail "$next on $wanted did not register with LiveKit (GET $health) within ${AGENT_ROLL_HEALTH_SECONDS} s: removed it; $active keeps serving"`,
        'fi',
        'printf \'%s\\n\' "$next" >"$RUN/agent-slot.tmp"',
        'mv -f "$RUN/agent-slot.tmp" "$RUN/agent-slot"',
        'echo "voice-agent image-watch: $next is registered; $active drains its calls"',
        '# One SIGTERM (a second one would end its calls: agent/src/main.ts); Docker kills it after its stop_grace_period.',
        'compose stop "$active" &',
        'draining=$!',
      ]
    : [];
  const queueRoll = queueServices.flatMap((service, i) => [
    `compose up --detach --no-deps ${service}`,
    ...(service === 'intake' && i < queueServices.length - 1
      ? [`healthy ${intakeHealth} ${INTAKE_ROLL_HEALTH_SECONDS} || echo "voice-agent image-watch: warning: the new intake did not answer /healthz within ${INTAKE_ROLL_HEALTH_SECONDS} s" >&2`]
      : []),
  ]);
  return [
    '#!/bin/bash',
    `# voice-agent-infra image roll (${IMAGE_WATCH_UNIT}.timer), role ${args.role}.`,
    'set -euo pipefail',
    'export LC_ALL=C PATH="$PATH:/snap/bin"',
    'umask 077',
    `ROOT="\${VOICE_AGENT_ROOT:-${NODE_DIR}}"`,
    'RUN="$ROOT/run"',
    'fail() { echo "voice-agent image-watch: $*" >&2; exit 1; }',
    '',
    ...SHELL_IMAGE_FUNCTIONS,
    `wanted=$(read_parameter ${sq(args.agentImage.ssmParameter)} ${sq(args.agentImage.region)})`,
    'valid_image "$wanted" || fail "the agent image parameter holds no pinned image reference"',
    `current=$(sed -n "s/^AGENT_IMAGE='\\(.*\\)'$/\\1/p" "$RUN/image.env" 2>/dev/null || true)`,
    '[[ $wanted != "$current" ]] || exit 0',
    '# Pull first: the running containers keep serving while the new image downloads.',
    'ecr_login "$wanted"',
    'docker pull --quiet "$wanted" >/dev/null',
    '# compose with the new image; image.env keeps the running one until every service runs the new.',
    'compose() { AGENT_IMAGE=$wanted docker compose --file "$ROOT/compose.yaml" --env-file "$RUN/image.env" "$@"; }',
    '# healthy URL SECONDS: true once URL answers 2xx, asking every 5 s for at most SECONDS.',
    'healthy() {',
    '  local waited',
    '  for ((waited = 0; waited < $2; waited += 5)); do',
    '    curl -fsS -m 4 -o /dev/null "$1" 2>/dev/null && return 0',
    '    sleep 5',
    '  done',
    '  return 1',
    '}',
    'echo "voice-agent image-watch: rolling to $wanted"',
    ...agentRoll,
    '',
    '# intake and dispatcher, one at a time: each is a brief gap (LiveKit retries webhooks meanwhile).',
    ...queueRoll,
    'printf "AGENT_IMAGE=\'%s\'\\n" "$wanted" >"$RUN/image.env.tmp"',
    'mv -f "$RUN/image.env.tmp" "$RUN/image.env"',
    ...(slots.length
      ? [
          '# The old worker has drained (or was killed after its grace period): remove its container.',
          'wait "$draining" || echo "voice-agent image-watch: warning: stopping $active failed" >&2',
          'compose rm --force "$active" >/dev/null',
          'echo "voice-agent image-watch: $active stopped; $next serves $wanted"',
        ]
      : []),
    '',
  ].join('\n');
}

/** The oneshot service the timer runs; it may take as long as the old agent worker's drain. */
function renderImageWatchService(drainSeconds: number): string {
  return [
    '[Unit]',
    'Description=voice-agent-infra: roll the agent image when its SSM parameter changes',
    // Only while the node runs: never start the containers on its own.
    `Requisite=${SYSTEMD_UNIT}`,
    `After=${SYSTEMD_UNIT}`,
    '',
    '[Service]',
    'Type=oneshot',
    `ExecStart=${NODE_FILES.imageWatchScript}`,
    // The pull, the new worker's registration, the intake's health, and the old worker's drain.
    `TimeoutStartSec=${drainSeconds + AGENT_CLOSE_SECONDS + AGENT_ROLL_HEALTH_SECONDS + INTAKE_ROLL_HEALTH_SECONDS + 300}`,
    '',
  ].join('\n');
}

/** Every minute, from five minutes after boot (the first start reads the parameter itself). */
const IMAGE_WATCH_TIMER = [
  '[Unit]',
  'Description=voice-agent-infra: check the agent image parameter every minute',
  '',
  '[Timer]',
  'OnBootSec=5min',
  'OnUnitInactiveSec=1min',
  '',
  '[Install]',
  'WantedBy=timers.target',
  '',
].join('\n');

function redisUrlExpression(args: CloudInitArgs): string {
  switch (args.role) {
    case 'small':
      // Loopback, no password: nothing secret in this URL.
      return sq(`redis://127.0.0.1:${REDIS_PORT}`);
    case 'livekit-mid':
      return `"redis://:$(urlencode "$REDIS_PASSWORD")@127.0.0.1:${REDIS_PORT}"`;
    case 'livekit-large':
    case 'agent': {
      const { host, tls } = args.redis;
      const port = args.redis.port ?? REDIS_PORT;
      return `"${tls ? 'rediss' : 'redis'}://:$(urlencode "$REDIS_PASSWORD")@${host}:${port}"`;
    }
  }
}

/** Run-time checks of every ARN and of the Redis endpoint (types can be cast away; these cannot). */
function validateSecretArgs(args: CloudInitArgs): void {
  assertSecretArn('livekitApiSecretArn', args.livekitApiSecretArn);
  if (args.agentEnv !== undefined) {
    if (!runsAgentWorker(args.role)) throw new Error(`agentEnv applies to the roles that run the agent worker (small, agent), not to role ${args.role}`);
    assertSecretArn('agentEnv.secretArn', args.agentEnv.secretArn);
    for (const name of args.agentEnv.expectedKeys ?? []) {
      if (!ENV_NAME.test(name) || isReservedAgentEnvName(name)) throw new Error(`agentEnv.expectedKeys: "${name}" is not a variable the operator's secret may set`);
    }
  }
  if (args.alertWebhookUrlArn !== undefined) assertSecretArn('alertWebhookUrlArn', args.alertWebhookUrlArn);
  if (args.role !== 'agent') assertSecretArn('intakeTokenArn', args.intakeTokenArn);
  if (args.role === 'livekit-mid') assertSecretArn('redisAuthTokenArn', args.redisAuthTokenArn);
  if (args.role === 'livekit-large' || args.role === 'agent') {
    assertSecretArn('redis.authTokenArn', args.redis.authTokenArn);
    assertRedisHost(args.redis.host);
    assertPort('redis.port', args.redis.port ?? REDIS_PORT);
    if (args.role === 'livekit-large' && !args.redis.tls) throw new Error('redis.tls must be true on livekit-large: ElastiCache AUTH requires TLS in transit');
  }
  if (args.role === 'small') caddyConfig(caddyArgs(args));
  const sip = sipOf(args);
  if (sip) {
    assertSecretArn('sip.credentialsSecretArn', sip.sip.credentialsSecretArn);
    assertParameterName('sip.declarationParameter.name', sip.sip.declarationParameter.name);
    assertRegion('sip.declarationParameter.region', sip.sip.declarationParameter.region);
    if (sip.sip.tls) {
      if (sip.sip.certificateSecretArn === undefined) throw new Error('sip.tls needs sip.certificateSecretArn (livekit/sip refuses a tls block without certificates)');
      assertSecretArn('sip.certificateSecretArn', sip.sip.certificateSecretArn);
    }
    sipServiceArgs(sip);
  }
  if (isSingleNode(args.role) && !/^vol-[0-9a-f]{8,17}$/.test(singleNode(args).dataVolumeId)) {
    throw new Error(`dataVolumeId must be an EBS volume id such as vol-0123456789abcdef0, got "${singleNode(args).dataVolumeId}"`);
  }
}

function assertRedisHost(host: string): void {
  const ipv4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (ipv4 ? ipv4.slice(1).every((octet) => Number(octet) <= 255) : false) return;
  assertHostname('redis.host', host);
}

/** Single-quotes a value for bash (the values are validated, this keeps it safe regardless). */
function sq(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}
