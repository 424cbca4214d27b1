/**
 * Where things live on a node, and which variables the boot script writes where. The compose
 * file, the systemd unit and the boot script are rendered from these names, so a placeholder
 * in one always has its filler in another.
 */

/** The roles a node can have; which containers run on it follows from the role alone. */
export type NodeRole =
  /** Small tier: LiveKit, Caddy, Redis, intake, dispatcher and the agent on one box. */
  | 'small'
  /** Mid tier LiveKit node: LiveKit, Redis (for the queue; agent workers elsewhere reach it), intake, dispatcher. */
  | 'livekit-mid'
  /** Large tier LiveKit node (one of an autoscaling group): LiveKit, intake, dispatcher; Redis is ElastiCache. */
  | 'livekit-large'
  /** Agent autoscaling group (mid, large): the agent worker only. */
  | 'agent';

export const NODE_ROLES: readonly NodeRole[] = ['small', 'livekit-mid', 'livekit-large', 'agent'];

/** True for the roles that run livekit-server. */
export function runsLivekit(role: NodeRole): boolean {
  return role !== 'agent';
}

/** True for the roles that run Redis on the node itself (bound to loopback, on mid also the private address). */
export function runsLocalRedis(role: NodeRole): boolean {
  return role === 'small' || role === 'livekit-mid';
}

/** True for the roles that run the agent worker (the small box, the agent groups): they get the agent's env secret. */
export function runsAgentWorker(role: NodeRole): role is 'small' | 'agent' {
  return role === 'small' || role === 'agent';
}

/**
 * True for the single node of small and mid: never replaced by a routine change, its state (Redis's
 * AOF, Caddy's certificates) on a data volume that outlives it, its agent image read from an SSM
 * parameter and rolled in place (image-watch).
 */
export function isSingleNode(role: NodeRole): role is 'small' | 'livekit-mid' {
  return role === 'small' || role === 'livekit-mid';
}

/**
 * True for the roles that run in autoscaling groups (agent, livekit-large): a termination lifecycle
 * hook holds the instance and the drain-watch container drains these services before it goes.
 */
export function drainedOnTermination(role: NodeRole): role is 'agent' | 'livekit-large' {
  return role === 'agent' || role === 'livekit-large';
}

/**
 * The compose services holding calls on an autoscaled role: the drain watcher stops them, once each.
 * With SIP, the LiveKit SIP service holds the phone leg of its calls (livekit/sip
 * cmd/livekit-sip/main.go: SIGTERM finishes the calls, SIGINT ends them).
 */
export function callHoldingServices(role: 'agent' | 'livekit-large', opts: { sip?: boolean } = {}): string[] {
  // On a LiveKit node the intake stays up while LiveKit drains: it takes the room_finished webhooks.
  if (role === 'agent') return ['agent'];
  return opts.sip ? ['livekit', 'sip'] : ['livekit'];
}

/** The termination lifecycle hook's name on every group (the AWS components create it; drain-watch completes it). */
export const DRAIN_HOOK_NAME = 'voice-agent-drain';

/** Where the single node mounts its data volume; Redis's and Caddy's data live below it. */
export const DATA_DIR = '/var/lib/voice-agent';

/** Install directory on the node. */
export const NODE_DIR = '/opt/voice-agent';

/** Files on the node. Everything outside `runDir` is rendered (no secret); `runDir` is written at boot. */
export const NODE_FILES = {
  livekitConfig: `${NODE_DIR}/livekit.yaml`,
  caddyConfig: `${NODE_DIR}/caddy.yaml`,
  compose: `${NODE_DIR}/compose.yaml`,
  bootScript: `${NODE_DIR}/boot.sh`,
  /** Mode 0700: the env files with secret values, rewritten at every start of the unit. */
  runDir: `${NODE_DIR}/run`,
  /** LIVEKIT_KEYS and, multi-node, REDIS_PASSWORD for livekit-server. */
  livekitEnv: `${NODE_DIR}/run/livekit.env`,
  /** Secret environment of the agent image's roles (agent, intake, dispatcher). */
  agentEnv: `${NODE_DIR}/run/agent.env`,
  /**
   * The agent worker's own environment (providers' API keys), converted at boot from the operator's
   * secret (agent-env.ts); roles that run the agent worker, empty without a secret.
   */
  agentProvidersEnv: `${NODE_DIR}/run/agent-providers.env`,
  /** Small: which agent worker service runs (agent-a or agent-b); boot.sh starts agent-a, image-watch alternates. */
  agentSlot: `${NODE_DIR}/run/agent-slot`,
  /** The node's own Redis on mid: its AUTH password and the private address it binds. */
  redisEnv: `${NODE_DIR}/run/redis.env`,
  sysctl: '/etc/sysctl.d/60-voice-agent-udp.conf',
  /** Single node: AGENT_IMAGE='<ref>' from the SSM parameter, compose's --env-file (no secret). */
  imageEnv: `${NODE_DIR}/run/image.env`,
  /** Single node: rolls the agent image when its SSM parameter changes (run by a systemd timer). */
  imageWatchScript: `${NODE_DIR}/image-watch.sh`,
} as const;

/** Single node: the timer and service running image-watch.sh. */
export const IMAGE_WATCH_UNIT = 'voice-agent-image-watch';

/** The systemd unit that runs docker compose (one name on every role, for operators and SSM). */
export const SYSTEMD_UNIT = 'voice-agent-docker.service';

/** Variables in each boot-written env file, per role: the contract between boot.sh and compose. */
export interface BootEnvFiles {
  /** livekit.env (LiveKit roles). */
  livekit?: readonly string[];
  /** agent.env (every role). */
  agent: readonly string[];
  /** redis.env (livekit-mid). */
  redis?: readonly string[];
}

/**
 * Which variables the boot script writes, for a role. INTAKE_TOKEN goes where the intake runs
 * (LiveKit roles); ALERT_WEBHOOK_URL when the stack has an alert webhook secret. With SIP the mid
 * node's LiveKit uses the node's Redis (AUTH) too, so it gets REDIS_PASSWORD.
 */
export function bootEnvFiles(role: NodeRole, opts: { alertWebhook: boolean; sip?: boolean }): BootEnvFiles {
  const agent = ['REDIS_URL', 'LIVEKIT_API_SECRET'];
  if (runsLivekit(role)) agent.push('INTAKE_TOKEN');
  if (opts.alertWebhook) agent.push('ALERT_WEBHOOK_URL');
  const files: { livekit?: string[]; agent: string[]; redis?: string[] } = { agent };
  const livekitRedisAuth = role === 'livekit-large' || (role === 'livekit-mid' && opts.sip === true);
  if (runsLivekit(role)) files.livekit = livekitRedisAuth ? ['LIVEKIT_KEYS', 'REDIS_PASSWORD'] : ['LIVEKIT_KEYS'];
  if (role === 'livekit-mid') files.redis = ['REDIS_PASSWORD', 'NODE_PRIVATE_IP'];
  return files;
}

/** Every variable name that may carry a secret: never rendered into compose `environment`. */
export const SECRET_ENV_NAMES: readonly string[] = [
  'LIVEKIT_KEYS',
  'REDIS_PASSWORD',
  'REDIS_URL',
  'LIVEKIT_API_SECRET',
  'INTAKE_TOKEN',
  'ALERT_WEBHOOK_URL',
];
