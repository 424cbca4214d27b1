/**
 * docker compose for a node, pure: which containers run follows from the role.
 *
 * Every container uses host networking, as LiveKit's own generator does: WebRTC needs the node's
 * real ports (10,001 UDP ports cannot go through docker's proxy) and the address LiveKit
 * advertises must be the host's. Secrets never appear here: each container that needs one gets
 * an `env_file` under NODE_FILES.runDir, written at boot (see cloud-init.ts).
 */
import { DEFAULT_METRICS_NAMESPACE } from '@voice-agent-infra/common';
import { SIP_IMAGE, sipComposeService } from '../sip/sip-yaml.js';
import { assertApiKeyName } from './livekit-yaml.js';
import { callHoldingServices, DATA_DIR, DRAIN_HOOK_NAME, drainedOnTermination, isSingleNode, NODE_FILES, type NodeRole, runsLivekit, runsLocalRedis, SECRET_ENV_NAMES } from './layout.js';
import { assertPort, DEFAULT_INTAKE_PORT, LIVEKIT_HTTP_PORT, REDIS_PORT } from './ports.js';
import { toYamlText } from './yaml-text.js';

/**
 * livekit-server release the nodes run, the one place it is pinned. At least v1.12: from 1.12.0
 * TURN refuses to relay to private, loopback and link-local peers unless allowed
 * (`turn.allow_restricted_peer_cidrs`) and TURN credentials carry a TTL (`turn.ttl_seconds`,
 * default 300); 1.13.0 removed credentials without one. Source: livekit/livekit CHANGELOG.md
 * ([1.12.0] 2026-05-16, [1.13.0] 2026-06-08) and tag v1.13.5 (2026-07-31, the newest), whose
 * pkg/config/config.go holds every livekit.yaml key the renderer writes (strict config mode).
 */
export const LIVEKIT_SERVER_VERSION = 'v1.13.5';

export interface PinnedImages {
  /** livekit-server. */
  livekit: string;
  /** Caddy with the layer-4 and YAML modules (small tier only). */
  caddy: string;
  /** Redis on the node (small, livekit-mid). */
  redis: string;
  /** The LiveKit SIP service (LiveKit roles, when the stack answers phone calls). */
  sip: string;
}

/**
 * Images, pinned (never `latest`: a restart must not change what runs).
 * - livekit: see LIVEKIT_SERVER_VERSION.
 * - caddy: livekit/caddyl4 tags follow the Caddy release it is built from (livekit/deploy caddyl4,
 *   Caddy v2.10.2+ with caddy-l4 and caddy-yaml). Registry not reachable from the build machine
 *   (2026-11): confirm with `docker manifest inspect livekit/caddyl4:v2.11.4` before the first
 *   small-tier deploy, or override through `images.caddy`.
 * - redis: Docker official image, 7.4 line (noeviction and AOF everysec as issue 4 requires).
 * - sip: livekit/sip, the release whose config keys components/sip checks (SIP_IMAGE).
 */
export const PINNED_IMAGES: Readonly<PinnedImages> = {
  livekit: `livekit/livekit-server:${LIVEKIT_SERVER_VERSION}`,
  caddy: 'livekit/caddyl4:v2.11.4',
  redis: 'redis:7.4.2-alpine',
  sip: SIP_IMAGE,
};

/** Default seconds a stopping LiveKit or agent container may drain its rooms and calls. */
export const DEFAULT_DRAIN_SECONDS = 600;
/**
 * Seconds the agent worker gets beyond its drain to close (job processes, Redis, telemetry):
 * voice-agent's own deadline is drain + 30 s (agent/src/main.ts), so Docker's SIGKILL comes later.
 */
export const AGENT_CLOSE_SECONDS = 60;
/** Seconds the intake and dispatcher get to stop (stop taking work, finish the in-flight dispatch). */
export const QUEUE_STOP_GRACE_SECONDS = 30;
/** Open files per LiveKit container: sockets for every participant and track (LiveKit's unit sets 500000). */
export const LIVEKIT_NOFILE_LIMIT = 500_000;
/** Default AGENT_NAME (issue 4). */
export const DEFAULT_AGENT_NAME = 'voice-agent';

/**
 * The agent image's roles run as services of this name; command = the role (`voice-agent <role>`).
 * The small box runs its agent worker as `agent-a` or `agent-b` (AGENT_SLOTS), everywhere else as `agent`.
 */
export type AgentImageService = 'intake' | 'dispatcher' | 'agent' | AgentSlotService | 'drain-watch';
export type ComposeServiceName = 'caddy' | 'livekit' | 'redis' | 'sip' | AgentImageService;

/** The small box's two agent worker services: one runs, the other takes over during an image roll. */
export type AgentSlotService = 'agent-a' | 'agent-b';

/**
 * The small box rolls its agent worker start-first (image-watch.sh): a worker on the new image
 * starts in the other slot beside the running one, and only once it is registered with LiveKit
 * (its health port answers 200) does the old one get its one SIGTERM and drain. Both use the host
 * network, so each slot has its own health and metrics ports, and its own hostname: the capacity
 * heartbeat's worker id is hostname + pid (agent/src/worker/index.ts), and with the host network
 * Docker gives every container the host's name (moby daemon/container_operations.go) while node
 * is pid 1 in each, so two workers would share one id and the drained one's withdrawal would
 * delete the new one's capacity. Ports: 8081/9464 are the image's defaults; 8082 and 9466 are free
 * on the box (9465 is the dispatcher's metrics port where it serves one, components/k8s).
 */
export const AGENT_SLOTS: Readonly<Record<AgentSlotService, { healthPort: number; metricsPort: number; hostname: string }>> = {
  'agent-a': { healthPort: 8081, metricsPort: 9464, hostname: 'agent-a' },
  'agent-b': { healthPort: 8082, metricsPort: 9466, hostname: 'agent-b' },
};
/** The slot the unit starts (boot.sh records it); the other one stays down until a roll. */
export const FIRST_AGENT_SLOT: AgentSlotService = 'agent-a';

/** Containers per role, in start order; the LiveKit SIP service beside LiveKit when the stack answers phone calls. */
export function servicesFor(role: NodeRole, opts: { sip?: boolean } = {}): ComposeServiceName[] {
  const sip: ComposeServiceName[] = opts.sip ? ['sip'] : [];
  switch (role) {
    case 'small':
      return ['caddy', 'livekit', 'redis', ...sip, 'intake', 'dispatcher', 'agent-a', 'agent-b'];
    case 'livekit-mid':
      return ['livekit', 'redis', ...sip, 'intake', 'dispatcher'];
    case 'livekit-large':
      return ['livekit', ...sip, 'intake', 'dispatcher', 'drain-watch'];
    case 'agent':
      if (opts.sip) throw new Error('the SIP service runs on LiveKit nodes, not on role agent');
      return ['agent', 'drain-watch'];
  }
}

/** True for the small box's agent worker services (agent-a, agent-b). */
export function isAgentSlot(name: string): name is AgentSlotService {
  return Object.hasOwn(AGENT_SLOTS, name);
}

/**
 * The agent image of a single node (small, mid): not in the user data but in an SSM parameter the
 * stack writes; boot.sh and image-watch.sh read it into NODE_FILES.imageEnv, and compose
 * interpolates AGENT_IMAGE. A new image then never changes the user data (see cloud-init.ts).
 */
export interface AgentImageParameter {
  /** SSM parameter name, e.g. "/voice-agent/mid/agent-image". */
  ssmParameter: string;
  /** Its region (the stack's). */
  region: string;
}

/** What compose writes for the agent image: the reference, or the variable the single node fills. */
export const AGENT_IMAGE_VARIABLE = '${AGENT_IMAGE:?AGENT_IMAGE is unset: boot.sh writes it from the SSM parameter}';

export interface CloudWatchLogsArgs {
  /** Log group every container writes to (created by the AWS components), e.g. "/voice-agent/mid". */
  group: string;
  /** Region of the log group, e.g. "us-east-1". */
  region: string;
}

export interface ComposeArgs {
  /** What this node runs (see NodeRole and servicesFor). */
  role: NodeRole;
  /**
   * The voice-agent image, pinned by tag or digest (never `latest`), e.g.
   * "123456789012.dkr.ecr.us-east-1.amazonaws.com/voice-agent:1.4.0"; on a single node (small,
   * livekit-mid) the SSM parameter holding it.
   */
  agentImage: string | AgentImageParameter;
  /** LIVEKIT_API_KEY for the agent image: the API key name (an identifier, not a secret). */
  livekitApiKey: string;
  /** LIVEKIT_URL for the agent image, e.g. "wss://voice.example.com"; default on LiveKit nodes http://127.0.0.1:7880; required on role agent. */
  livekitUrl?: string;
  /** AGENT_NAME workers register under and the dispatcher dispatches to; default "voice-agent". */
  agentName?: string;
  /** INTAKE_PORT, TCP (LiveKit roles); default 8080. */
  intakePort?: number;
  /** FLEET_CAPACITY, concurrent sessions the dispatcher admits (plan capacity); default unset: the sum of live worker heartbeats. */
  fleetCapacitySessions?: number;
  /** CALL_MAX_ATTEMPTS before a call is dead-lettered; default unset (the agent's 3). */
  callMaxAttempts?: number;
  /** CALL_MAX_WAIT_SECONDS a call may wait before it is dead-lettered; default unset (the agent's 120). */
  callMaxWaitSeconds?: number;
  /** METRICS_NAMESPACE for CloudWatch EMF lines; default "VoiceAgent". */
  metricsNamespace?: string;
  /** Extra non-secret environment for the agent image, e.g. { STACK_NAME: "mid" }; secret variable names are refused. */
  extraEnvironment?: Readonly<Record<string, string>>;
  /** Seconds a stopping LiveKit or agent container may drain (SIGTERM, then SIGKILL); default 600. */
  drainSeconds?: number;
  /** maxmemory of the node's own Redis (small, livekit-mid), MiB; default unlimited. With noeviction a full Redis refuses writes instead of evicting calls. */
  redisMaxMemoryMiB?: number;
  /** Send container logs to CloudWatch Logs (the agent's EMF metric lines only become metrics there); default local json-file logs, rotated. */
  cloudWatchLogs?: CloudWatchLogsArgs;
  /** Image overrides, each pinned; default PINNED_IMAGES. */
  images?: Partial<PinnedImages>;
  /**
   * Run the LiveKit SIP service beside LiveKit (LiveKit roles): host networking, the filled config
   * from the run directory, SIGTERM and the drain time (components/sip sipComposeService); `tls`
   * mounts the certificate boot.sh writes. Default: no SIP service.
   */
  sip?: { tls: boolean };
}

export interface ComposeService {
  image: string;
  command?: string[];
  network_mode: 'host';
  restart: 'unless-stopped';
  env_file?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ulimits?: { nofile: { soft: number; hard: number } };
  depends_on?: ComposeServiceName[];
  /** The small box's agent slots: a hostname of their own (see AGENT_SLOTS). */
  hostname?: string;
  /** drain-watch only: root, for the Docker socket (the image's own user is not in the docker group). */
  user?: string;
  /** The SIP service: SIGTERM finishes its calls (the default signal, written out because it matters). */
  stop_signal?: 'SIGTERM';
  stop_grace_period?: string;
  healthcheck?: { disable: true };
  logging: { driver: string; options: Record<string, string> };
}

export interface ComposeFile {
  name: string;
  services: Partial<Record<ComposeServiceName, ComposeService>>;
  volumes?: Record<string, Record<string, never>>;
}

/** Redis flags every node-local Redis gets: durable queue (AOF, fsync every second) and no eviction (BullMQ). */
export const REDIS_DURABILITY_FLAGS: readonly string[] = [
  '--appendonly',
  'yes',
  '--appendfsync',
  'everysec',
  '--maxmemory-policy',
  'noeviction',
];

/** Builds the compose file object for a node. Throws on an argument that would not run. */
export function composeFile(args: ComposeArgs): ComposeFile {
  const images = { ...PINNED_IMAGES, ...args.images };
  for (const [name, image] of Object.entries(images)) assertPinnedImage(`images.${name}`, image);
  const agentImage = agentImageOf(args);
  const drainSeconds = args.drainSeconds ?? DEFAULT_DRAIN_SECONDS;
  assertWhole('drainSeconds', drainSeconds, 1);
  if (args.redisMaxMemoryMiB !== undefined) {
    assertWhole('redisMaxMemoryMiB', args.redisMaxMemoryMiB, 64);
    if (!runsLocalRedis(args.role)) throw new Error(`redisMaxMemoryMiB applies to the node's own Redis (small, livekit-mid), not to role ${args.role}`);
  }
  const logging = loggingFor(args.cloudWatchLogs);
  const environment = agentEnvironment(args);
  const names = servicesFor(args.role, { sip: args.sip !== undefined });
  const hasRedis = names.includes('redis');
  const hasLivekit = names.includes('livekit');
  // The single node keeps Redis's AOF and Caddy's certificates on its data volume (DATA_DIR),
  // which a replacement instance reattaches; elsewhere a named volume on the root disk.
  const dataVolume = (name: 'redis' | 'caddy') => (isSingleNode(args.role) ? `${DATA_DIR}/${name}:/data` : `${name}-data:/data`);

  const services: Partial<Record<ComposeServiceName, ComposeService>> = {};
  const volumes: Record<string, Record<string, never>> = {};
  for (const name of names) {
    switch (name) {
      case 'caddy':
        services.caddy = {
          image: images.caddy,
          command: ['run', '--config', '/etc/caddy.yaml', '--adapter', 'yaml'],
          network_mode: 'host',
          restart: 'unless-stopped',
          volumes: [`${NODE_FILES.caddyConfig}:/etc/caddy.yaml:ro`, dataVolume('caddy')],
          logging,
        };
        if (!isSingleNode(args.role)) volumes['caddy-data'] = {};
        break;
      case 'livekit':
        services.livekit = {
          image: images.livekit,
          command: ['--config', '/etc/livekit.yaml'],
          network_mode: 'host',
          restart: 'unless-stopped',
          env_file: [NODE_FILES.livekitEnv],
          volumes: [`${NODE_FILES.livekitConfig}:/etc/livekit.yaml:ro`],
          // The limit that matters is the container's: it does not inherit the systemd unit's.
          ulimits: { nofile: { soft: LIVEKIT_NOFILE_LIMIT, hard: LIVEKIT_NOFILE_LIMIT } },
          // With SIP, LiveKit uses the node's Redis from its start (the SIP API's bus).
          ...(args.sip && hasRedis ? { depends_on: ['redis' as const] } : {}),
          // On SIGTERM LiveKit drains: keeps its rooms, refuses new ones.
          stop_grace_period: `${drainSeconds}s`,
          logging,
        };
        break;
      case 'sip': {
        const sip = sipComposeService({ drainSeconds, tls: args.sip!.tls, localRedis: hasRedis, image: images.sip });
        services.sip = { ...sip, depends_on: sip.depends_on as ComposeServiceName[], logging };
        break;
      }
      case 'redis':
        services.redis = { ...redisService(args, images.redis, logging), volumes: [dataVolume('redis')] };
        if (!isSingleNode(args.role)) volumes['redis-data'] = {};
        break;
      case 'drain-watch':
        services['drain-watch'] = drainWatchService(args, agentImage, drainSeconds, logging);
        break;
      case 'intake':
      case 'dispatcher':
      case 'agent':
      case 'agent-a':
      case 'agent-b': {
        const dependsOn: ComposeServiceName[] = [];
        if (hasRedis) dependsOn.push('redis');
        if (hasLivekit) dependsOn.push('livekit');
        // The image's HEALTHCHECK probes the agent worker's health port: the intake points it at
        // its own /healthz; the dispatcher serves no HTTP here, so its check is off.
        const worker = name === 'agent' || isAgentSlot(name);
        const slot = isAgentSlot(name) ? AGENT_SLOTS[name] : undefined;
        const health =
          name === 'intake'
            ? { environment: { ...environment, HEALTHCHECK_URL: `http://127.0.0.1:${environment.INTAKE_PORT ?? DEFAULT_INTAKE_PORT}/healthz` } }
            : name === 'dispatcher'
              ? { environment: { ...environment }, healthcheck: { disable: true as const } }
              : // The worker's own drain deadline matches the one Docker and the lifecycle hook allow.
                {
                  environment: {
                    ...environment,
                    AGENT_DRAIN_TIMEOUT_SECONDS: String(drainSeconds),
                    ...(slot ? { AGENT_HEALTH_PORT: String(slot.healthPort), AGENT_METRICS_PORT: String(slot.metricsPort) } : {}),
                  },
                };
        services[name] = {
          image: agentImage,
          // Each slot runs the agent role.
          command: [worker ? 'agent' : name],
          ...(slot ? { hostname: slot.hostname } : {}),
          network_mode: 'host',
          restart: 'unless-stopped',
          // The worker also gets the operator's variables (providers' API keys); intake and dispatcher do not.
          env_file: worker ? [NODE_FILES.agentEnv, NODE_FILES.agentProvidersEnv] : [NODE_FILES.agentEnv],
          ...health,
          ...(dependsOn.length > 0 ? { depends_on: dependsOn } : {}),
          // The agent worker drains active calls; the queue roles only finish one dispatch.
          stop_grace_period: `${worker ? drainSeconds + AGENT_CLOSE_SECONDS : QUEUE_STOP_GRACE_SECONDS}s`,
          logging,
        };
        break;
      }
    }
  }
  return { name: COMPOSE_PROJECT, services, ...(Object.keys(volumes).length > 0 ? { volumes } : {}) };
}

/** compose.yaml text for a node (see composeFile). */
export function renderCompose(args: ComposeArgs): string {
  const comment = [
    ` Rendered by voice-agent-infra (components/livekit), role ${args.role}. Host networking throughout.`,
    ` No secret here: env_file entries under ${NODE_FILES.runDir} are written at boot from Secrets Manager.`,
  ].join('\n');
  return toYamlText(composeFile(args), comment);
}

/** The agent image reference compose writes: pinned, or AGENT_IMAGE on a single node. */
function agentImageOf(args: ComposeArgs): string {
  if (typeof args.agentImage === 'string') {
    assertPinnedImage('agentImage', args.agentImage);
    return args.agentImage;
  }
  if (!isSingleNode(args.role)) throw new Error(`agentImage from an SSM parameter is for the single node (small, livekit-mid), not role ${args.role}`);
  assertParameterName('agentImage.ssmParameter', args.agentImage.ssmParameter);
  assertRegion('agentImage.region', args.agentImage.region);
  return AGENT_IMAGE_VARIABLE;
}

/** Throws unless `value` is a hierarchical SSM parameter name (/a/b, a-zA-Z0-9_.-/, not under /aws or /ssm). */
export function assertParameterName(name: string, value: string): void {
  if (!/^(\/[a-zA-Z0-9_.-]+)+$/.test(value) || /^\/(aws|ssm)/i.test(value) || value.length > 1011) {
    throw new Error(`${name} must be an SSM parameter name such as /voice-agent/mid/agent-image, got "${value}"`);
  }
}

/**
 * The drain watcher of an autoscaled node: polls IMDSv2 (host network) for the target lifecycle
 * state and, on Terminated, stops the call-holding services through the Docker socket (hence root)
 * and completes the lifecycle action with the instance role.
 */
function drainWatchService(args: ComposeArgs, image: string, drainSeconds: number, logging: ComposeService['logging']): ComposeService {
  if (!drainedOnTermination(args.role)) throw new Error(`drain-watch runs on autoscaled roles only, not ${args.role}`);
  const services = callHoldingServices(args.role, { sip: args.sip !== undefined });
  return {
    image,
    command: ['drain-watch'],
    network_mode: 'host',
    restart: 'unless-stopped',
    user: '0:0',
    environment: {
      DRAIN_SERVICES: services.join(','),
      // The agent gets its close time on top of the drain, as its stop_grace_period.
      DRAIN_SECONDS: String(services.includes('agent') ? drainSeconds + AGENT_CLOSE_SECONDS : drainSeconds),
      LIFECYCLE_HOOK_NAME: DRAIN_HOOK_NAME,
      COMPOSE_PROJECT: COMPOSE_PROJECT,
    },
    volumes: ['/var/run/docker.sock:/var/run/docker.sock'],
    // It has no health port of its own.
    healthcheck: { disable: true },
    logging,
  };
}

/** The compose project name (the watcher finds the services by its label). */
export const COMPOSE_PROJECT = 'voice-agent';

function redisService(args: ComposeArgs, image: string, logging: ComposeService['logging']): ComposeService {
  const maxMemory = args.redisMaxMemoryMiB !== undefined ? ['--maxmemory', `${args.redisMaxMemoryMiB}mb`] : [];
  const base = { image, network_mode: 'host' as const, restart: 'unless-stopped' as const };
  if (args.role === 'small') {
    // Loopback only: everything that uses it is on this box, so it needs no password.
    return {
      ...base,
      command: ['redis-server', '--bind', '127.0.0.1', '--port', String(REDIS_PORT), '--protected-mode', 'yes', ...REDIS_DURABILITY_FLAGS, ...maxMemory],
      logging,
    };
  }
  // livekit-mid: agent workers on other instances reach it on the private address, so it requires
  // AUTH. The password is fed as config on stdin (`-`), never as an argument (argv is world-readable
  // in /proc) nor in a file the image's redis user cannot read. `$$` escapes compose interpolation:
  // the container's shell expands NODE_PRIVATE_IP and REDIS_PASSWORD from the env_file.
  const flags = [...REDIS_DURABILITY_FLAGS, ...maxMemory].join(' ');
  return {
    ...base,
    command: [
      'sh',
      '-c',
      [
        `exec docker-entrypoint.sh redis-server --bind 127.0.0.1 "$$NODE_PRIVATE_IP" --port ${REDIS_PORT} ${flags} - <<EOF`,
        'requirepass "$$REDIS_PASSWORD"',
        'EOF',
        '',
      ].join('\n'),
    ],
    env_file: [NODE_FILES.redisEnv],
    logging,
  };
}

function agentEnvironment(args: ComposeArgs): Record<string, string> {
  assertApiKeyName('livekitApiKey', args.livekitApiKey);
  const livekitUrl = args.livekitUrl ?? (runsLivekit(args.role) ? `http://127.0.0.1:${LIVEKIT_HTTP_PORT}` : undefined);
  if (livekitUrl === undefined) throw new Error('livekitUrl is required on role agent (e.g. wss://voice.example.com): the workers run on other instances');
  assertLivekitUrl(livekitUrl);
  const env: Record<string, string> = {
    LIVEKIT_URL: livekitUrl,
    LIVEKIT_API_KEY: args.livekitApiKey,
    AGENT_NAME: args.agentName ?? DEFAULT_AGENT_NAME,
    METRICS_NAMESPACE: args.metricsNamespace ?? DEFAULT_METRICS_NAMESPACE,
  };
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(env.AGENT_NAME!)) throw new Error(`agentName must be 1-128 letters, digits, "_" or "-", got "${env.AGENT_NAME}"`);
  if (!/^[A-Za-z0-9._/#:-]{1,255}$/.test(env.METRICS_NAMESPACE!)) throw new Error(`metricsNamespace is not a CloudWatch namespace: "${env.METRICS_NAMESPACE}"`);
  if (runsLivekit(args.role)) {
    const intakePort = args.intakePort ?? DEFAULT_INTAKE_PORT;
    assertPort('intakePort', intakePort);
    env.INTAKE_PORT = String(intakePort);
  }
  if (args.fleetCapacitySessions !== undefined) {
    assertWhole('fleetCapacitySessions', args.fleetCapacitySessions, 1);
    env.FLEET_CAPACITY = String(args.fleetCapacitySessions);
  }
  if (args.callMaxAttempts !== undefined) {
    assertWhole('callMaxAttempts', args.callMaxAttempts, 1);
    env.CALL_MAX_ATTEMPTS = String(args.callMaxAttempts);
  }
  if (args.callMaxWaitSeconds !== undefined) {
    assertWhole('callMaxWaitSeconds', args.callMaxWaitSeconds, 1);
    env.CALL_MAX_WAIT_SECONDS = String(args.callMaxWaitSeconds);
  }
  for (const [name, value] of Object.entries(args.extraEnvironment ?? {})) {
    if (!/^[A-Z_][A-Z0-9_]*$/.test(name)) throw new Error(`extraEnvironment: "${name}" is not an environment variable name`);
    if (SECRET_ENV_NAMES.includes(name)) throw new Error(`extraEnvironment: ${name} carries a secret; it is written at boot from Secrets Manager, never rendered`);
    if (Object.hasOwn(env, name)) throw new Error(`extraEnvironment: ${name} is set from its own argument`);
    env[name] = value;
  }
  // A literal `$` would be read by compose as interpolation; `$$` is compose's escape. (A function
  // replacement, because in a replacement string `$$` itself means one `$`.)
  return Object.fromEntries(Object.entries(env).map(([name, value]) => [name, value.replaceAll('$', () => '$$')]));
}

function loggingFor(cloudWatch: CloudWatchLogsArgs | undefined): ComposeService['logging'] {
  if (cloudWatch === undefined) return { driver: 'json-file', options: { 'max-size': '50m', 'max-file': '5' } };
  if (!/^[A-Za-z0-9._/#-]{1,512}$/.test(cloudWatch.group)) throw new Error(`cloudWatchLogs.group is not a log group name: "${cloudWatch.group}"`);
  assertRegion('cloudWatchLogs.region', cloudWatch.region);
  return {
    driver: 'awslogs',
    options: {
      'awslogs-region': cloudWatch.region,
      'awslogs-group': cloudWatch.group,
      // Stream per container: the name says what it is, the id keeps instances apart.
      tag: '{{.Name}}/{{.ID}}',
      // Never block a call's audio path on a CloudWatch hiccup: buffer, drop when full.
      mode: 'non-blocking',
      'max-buffer-size': '4m',
    },
  };
}

/** An image reference split into parts; `registry` is absent for Docker Hub. */
export interface ImageRef {
  registry?: string;
  repository: string;
  tag?: string;
  digest?: string;
}

/** Parses "registry/repo:tag@sha256:..." (registry, tag and digest optional). */
export function parseImageRef(ref: string): ImageRef {
  const match = /^(?:([a-z0-9.-]+(?::\d+)?)\/)?([a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*)(?::([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(?:@(sha256:[a-f0-9]{64}))?$/.exec(ref);
  if (!match) throw new Error(`"${ref}" is not an image reference`);
  let [, registry, repository] = match;
  // "livekit/livekit-server": the first part has no dot or port, so it is a Docker Hub namespace.
  if (registry !== undefined && !/[.:]/.test(registry) && registry !== 'localhost') {
    repository = `${registry}/${repository}`;
    registry = undefined;
  }
  return {
    ...(registry !== undefined ? { registry } : {}),
    repository: repository!,
    ...(match[3] !== undefined ? { tag: match[3] } : {}),
    ...(match[4] !== undefined ? { digest: match[4] } : {}),
  };
}

/** Throws unless the image is pinned: a digest, or a tag other than `latest`. */
export function assertPinnedImage(name: string, ref: string): void {
  let parsed: ImageRef;
  try {
    parsed = parseImageRef(ref);
  } catch {
    throw new Error(`${name}: "${ref}" is not an image reference`);
  }
  if (parsed.digest === undefined && (parsed.tag === undefined || parsed.tag === 'latest')) {
    throw new Error(`${name} must be pinned by tag or digest (not latest), got "${ref}"`);
  }
}

/** The ECR registry and region of an image hosted in ECR (the boot script logs docker in there), else undefined. */
export function ecrRegistryOf(ref: string): { registry: string; region: string } | undefined {
  const registry = parseImageRef(ref).registry;
  const match = registry === undefined ? null : /^\d{12}\.dkr\.ecr(?:-fips)?\.([a-z]{2}(?:-[a-z]+)+-\d)\.amazonaws\.com(?:\.cn)?$/.exec(registry);
  return match ? { registry: registry!, region: match[1]! } : undefined;
}

function assertLivekitUrl(value: string): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`livekitUrl must be a ws(s) or http(s) URL, got "${value}"`);
  }
  if (!['ws:', 'wss:', 'http:', 'https:'].includes(url.protocol)) throw new Error(`livekitUrl must be a ws(s) or http(s) URL, got "${value}"`);
  if (url.username !== '' || url.password !== '') throw new Error('livekitUrl must not carry credentials');
}

/** Throws unless `value` is an AWS region name such as us-east-1. */
export function assertRegion(name: string, value: string): void {
  if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(value)) throw new Error(`${name} must be an AWS region such as us-east-1, got "${value}"`);
}

function assertWhole(name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be a whole number >= ${min}, got ${value}`);
}
