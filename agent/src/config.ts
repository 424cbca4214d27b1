/**
 * Environment configuration for the queue-mode roles, parsed once at start into typed objects.
 * Pure: an env record in, a config out, or a ConfigError whose message is one line naming the
 * variable (and, unless it is a secret, the bad value) and what is allowed.
 */
import { DEFAULT_METRICS_NAMESPACE } from '@voice-agent-infra/common';
import { z } from 'zod';
import { DEFAULT_QUEUE_PREFIX } from './queue/keys.js';

export type Env = Readonly<Record<string, string | undefined>>;

export class ConfigError extends Error {
  constructor(
    /** The environment variable at fault. */
    readonly variable: string,
    message: string,
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

export interface RedisConfig {
  /** redis:// or rediss:// URL (credentials allowed; never logged). */
  url: string;
  /** Key prefix for every queue key; hash-tagged so one Redis Cluster slot holds them all. */
  prefix: string;
}

export interface LiveKitCredentials {
  apiKey: string;
  apiSecret: string;
}

export interface LiveKitApiConfig extends LiveKitCredentials {
  /** http(s) base URL of the LiveKit API (ws(s) is accepted and mapped by the SDK). */
  url: string;
  /** Per-request timeout for Twirp calls, seconds. */
  requestTimeoutSeconds: number;
}

export interface CallPolicy {
  /** Dispatch attempts before a call is dead-lettered (CALL_MAX_ATTEMPTS, default 3). */
  maxAttempts: number;
  /** First retry delay; doubles per attempt (CALL_BACKOFF_MS, default 1000). */
  backoffMs: number;
  /** A call not admitted within this many seconds is dead-lettered (CALL_MAX_WAIT_SECONDS, default 120). */
  maxWaitSeconds: number;
}

export interface MetricsConfig {
  /** CloudWatch namespace (METRICS_NAMESPACE). */
  namespace: string;
  /** Value of the Stack dimension (STACK_NAME, default "default"). */
  stack: string;
  /** Seconds between CloudWatch EMF lines; 0 turns them off (METRICS_INTERVAL_SECONDS, default 60). */
  emfIntervalSeconds: number;
}

export interface IntakeConfig {
  redis: RedisConfig;
  /** Key and secret that verify LiveKit webhook signatures. */
  livekit: LiveKitCredentials;
  host: string;
  port: number;
  /** Bearer token for POST /v1/calls. */
  token: string;
  /** Fixed fleet capacity, when set; otherwise the live agent heartbeats. */
  fleetCapacity?: number;
  calls: CallPolicy;
  metrics: MetricsConfig;
}

export interface DispatcherConfig {
  redis: RedisConfig;
  livekit: LiveKitApiConfig;
  /** Agent name for explicit dispatch (AGENT_NAME, default voice-agent). */
  agentName: string;
  /** Fixed fleet capacity, when set; otherwise the live agent heartbeats. */
  fleetCapacity?: number;
  calls: CallPolicy;
  /** Safety net: an active call is released after this many seconds without room_finished. */
  maxCallSeconds: number;
  /** Calls one dispatcher process works on at once (held for admission or dispatching). */
  concurrency: number;
  /** Admission re-check interval while the fleet is full, ms (capacity frees also wake it at once). */
  admissionPollMs: number;
  /** BullMQ job lock; a dead dispatcher's calls move on after about this long, ms. */
  lockMs: number;
  /** After CreateDispatch, how long to wait for a worker to take the job (DISPATCH_CONFIRM_SECONDS, default 10). */
  confirmSeconds: number;
  /** Recovery sweep interval; 0 turns it off (RECONCILE_SECONDS, default 15). */
  reconcileSeconds: number;
  /** POST target for dead-letter alerts. */
  alertWebhookUrl?: string;
  metrics: MetricsConfig;
  /** Port for /metrics and /healthz when the dispatcher runs alone; unset: no HTTP server. */
  metricsPort?: number;
}

export interface QueueCommandConfig {
  redis: RedisConfig;
  fleetCapacity?: number;
  calls: CallPolicy;
}

interface VarSpec<T> {
  schema: z.ZodType<T>;
  /** What is allowed, completing "NAME must be ...". */
  allowed: string;
  /** Never echo the value. */
  secret?: boolean;
}

const wholeNumber = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .regex(/^\d+$/)
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

const urlWithScheme = (schemes: readonly string[]) =>
  z.string().refine((v) => {
    if (!URL.canParse(v)) return false;
    return schemes.includes(new URL(v).protocol);
  });

const VARS = {
  REDIS_URL: {
    schema: urlWithScheme(['redis:', 'rediss:']),
    allowed: 'a redis:// or rediss:// URL, e.g. redis://localhost:6379',
    secret: true, // may carry a password
  },
  QUEUE_PREFIX: {
    schema: z.string().regex(/^\{[A-Za-z0-9_.-]{1,64}\}$/),
    allowed: 'a Redis hash tag such as {voice-queue} (braces keep every key in one cluster slot)',
  },
  LIVEKIT_URL: {
    schema: urlWithScheme(['http:', 'https:', 'ws:', 'wss:']),
    allowed: 'the http(s) base URL of the LiveKit API, e.g. http://livekit:7880',
  },
  LIVEKIT_API_KEY: { schema: z.string().min(1), allowed: 'the LiveKit API key', secret: true },
  LIVEKIT_API_SECRET: { schema: z.string().min(1), allowed: 'the LiveKit API secret', secret: true },
  LIVEKIT_REQUEST_TIMEOUT_SECONDS: { schema: wholeNumber(1, 60), allowed: 'a whole number of seconds from 1 to 60' },
  AGENT_NAME: {
    schema: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/),
    allowed: 'an agent name of letters, digits, "_", "." or "-" (the name agent workers register with)',
  },
  INTAKE_HOST: { schema: z.string().min(1), allowed: 'an address to listen on, e.g. 0.0.0.0' },
  INTAKE_PORT: { schema: wholeNumber(0, 65535), allowed: 'a TCP port from 0 to 65535' },
  INTAKE_TOKEN: {
    schema: z.string().min(16),
    allowed: 'a bearer token of at least 16 characters for POST /v1/calls',
    secret: true,
  },
  FLEET_CAPACITY: {
    schema: wholeNumber(0, 1_000_000),
    allowed: 'a whole number of concurrent sessions >= 0 (unset: sum of live agent heartbeats)',
  },
  CALL_MAX_ATTEMPTS: { schema: wholeNumber(1, 100), allowed: 'a whole number of dispatch attempts from 1 to 100' },
  CALL_BACKOFF_MS: { schema: wholeNumber(1, 3_600_000), allowed: 'a whole number of milliseconds >= 1' },
  CALL_MAX_WAIT_SECONDS: { schema: wholeNumber(1, 86_400), allowed: 'a whole number of seconds from 1 to 86400' },
  CALL_MAX_DURATION_SECONDS: { schema: wholeNumber(1, 86_400), allowed: 'a whole number of seconds from 1 to 86400' },
  DISPATCH_CONCURRENCY: { schema: wholeNumber(1, 1000), allowed: 'a whole number from 1 to 1000' },
  ADMISSION_POLL_MS: { schema: wholeNumber(10, 60_000), allowed: 'a whole number of milliseconds from 10 to 60000' },
  DISPATCH_LOCK_MS: { schema: wholeNumber(1000, 600_000), allowed: 'a whole number of milliseconds from 1000 to 600000' },
  DISPATCH_CONFIRM_SECONDS: { schema: wholeNumber(1, 300), allowed: 'a whole number of seconds from 1 to 300 (wait for a worker to take a dispatch)' },
  RECONCILE_SECONDS: { schema: wholeNumber(0, 3600), allowed: 'a whole number of seconds from 0 (off) to 3600 (recovery sweep interval)' },
  ALERT_WEBHOOK_URL: { schema: urlWithScheme(['http:', 'https:']), allowed: 'an http(s) URL', secret: true },
  METRICS_NAMESPACE: {
    schema: z.string().regex(/^[A-Za-z0-9_./#:-]{1,255}$/),
    allowed: 'a CloudWatch namespace (letters, digits, . - _ / # :)',
  },
  STACK_NAME: { schema: z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/), allowed: 'a stack name of letters, digits, "_", "." or "-"' },
  METRICS_INTERVAL_SECONDS: { schema: wholeNumber(0, 3600), allowed: 'a whole number of seconds from 0 (off) to 3600' },
  METRICS_PORT: { schema: wholeNumber(0, 65535), allowed: 'a TCP port from 0 to 65535' },
} satisfies Record<string, VarSpec<unknown>>;

type VarName = keyof typeof VARS;
type VarValue<N extends VarName> = z.output<(typeof VARS)[N]['schema']>;

/** Documented defaults, in one place for --help and the README. */
export const DEFAULTS = {
  QUEUE_PREFIX: DEFAULT_QUEUE_PREFIX,
  LIVEKIT_REQUEST_TIMEOUT_SECONDS: '5',
  AGENT_NAME: 'voice-agent',
  INTAKE_HOST: '0.0.0.0',
  INTAKE_PORT: '8080',
  CALL_MAX_ATTEMPTS: '3',
  CALL_BACKOFF_MS: '1000',
  CALL_MAX_WAIT_SECONDS: '120',
  CALL_MAX_DURATION_SECONDS: '7200',
  DISPATCH_CONCURRENCY: '16',
  ADMISSION_POLL_MS: '250',
  DISPATCH_LOCK_MS: '30000',
  DISPATCH_CONFIRM_SECONDS: '10',
  RECONCILE_SECONDS: '15',
  METRICS_NAMESPACE: DEFAULT_METRICS_NAMESPACE,
  STACK_NAME: 'default',
  METRICS_INTERVAL_SECONDS: '60',
} as const satisfies Partial<Record<VarName, string>>;

function raw(env: Env, name: VarName): string | undefined {
  const value = env[name];
  // An empty value (common in compose files and Kubernetes manifests) means "not set".
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function parseVar<N extends VarName>(name: N, value: string): VarValue<N> {
  const spec: VarSpec<VarValue<N>> = VARS[name] as unknown as VarSpec<VarValue<N>>;
  const result = spec.schema.safeParse(value);
  if (!result.success) {
    const shown = spec.secret ? '' : `=${JSON.stringify(value)}`;
    throw new ConfigError(name, `${name}${shown} is invalid: must be ${spec.allowed}`);
  }
  return result.data;
}

function required<N extends VarName>(env: Env, name: N): VarValue<N> {
  const value = raw(env, name);
  if (value === undefined) {
    throw new ConfigError(name, `${name} is required: set it to ${VARS[name].allowed}`);
  }
  return parseVar(name, value);
}

/** One shared variable, validated as every role validates it (unset or empty: undefined). */
export function optional<N extends VarName>(env: Env, name: N): VarValue<N> | undefined {
  const value = raw(env, name);
  return value === undefined ? undefined : parseVar(name, value);
}

/** One shared variable with its documented default, validated as every role validates it. */
export function withDefault<N extends keyof typeof DEFAULTS>(env: Env, name: N): VarValue<N> {
  return parseVar(name, raw(env, name) ?? DEFAULTS[name]);
}

function redisConfig(env: Env): RedisConfig {
  return { url: required(env, 'REDIS_URL'), prefix: withDefault(env, 'QUEUE_PREFIX') };
}

function callPolicy(env: Env): CallPolicy {
  return {
    maxAttempts: withDefault(env, 'CALL_MAX_ATTEMPTS'),
    backoffMs: withDefault(env, 'CALL_BACKOFF_MS'),
    maxWaitSeconds: withDefault(env, 'CALL_MAX_WAIT_SECONDS'),
  };
}

function metricsConfig(env: Env): MetricsConfig {
  return {
    namespace: withDefault(env, 'METRICS_NAMESPACE'),
    stack: withDefault(env, 'STACK_NAME'),
    emfIntervalSeconds: withDefault(env, 'METRICS_INTERVAL_SECONDS'),
  };
}

export function parseIntakeConfig(env: Env): IntakeConfig {
  return {
    redis: redisConfig(env),
    livekit: { apiKey: required(env, 'LIVEKIT_API_KEY'), apiSecret: required(env, 'LIVEKIT_API_SECRET') },
    token: required(env, 'INTAKE_TOKEN'),
    host: withDefault(env, 'INTAKE_HOST'),
    port: withDefault(env, 'INTAKE_PORT'),
    fleetCapacity: optional(env, 'FLEET_CAPACITY'),
    calls: callPolicy(env),
    metrics: metricsConfig(env),
  };
}

export function parseDispatcherConfig(env: Env): DispatcherConfig {
  return {
    redis: redisConfig(env),
    livekit: {
      url: required(env, 'LIVEKIT_URL'),
      apiKey: required(env, 'LIVEKIT_API_KEY'),
      apiSecret: required(env, 'LIVEKIT_API_SECRET'),
      requestTimeoutSeconds: withDefault(env, 'LIVEKIT_REQUEST_TIMEOUT_SECONDS'),
    },
    agentName: withDefault(env, 'AGENT_NAME'),
    fleetCapacity: optional(env, 'FLEET_CAPACITY'),
    calls: callPolicy(env),
    maxCallSeconds: withDefault(env, 'CALL_MAX_DURATION_SECONDS'),
    concurrency: withDefault(env, 'DISPATCH_CONCURRENCY'),
    admissionPollMs: withDefault(env, 'ADMISSION_POLL_MS'),
    lockMs: withDefault(env, 'DISPATCH_LOCK_MS'),
    confirmSeconds: withDefault(env, 'DISPATCH_CONFIRM_SECONDS'),
    reconcileSeconds: withDefault(env, 'RECONCILE_SECONDS'),
    alertWebhookUrl: optional(env, 'ALERT_WEBHOOK_URL'),
    metrics: metricsConfig(env),
    metricsPort: optional(env, 'METRICS_PORT'),
  };
}

export interface AllConfig {
  intake: IntakeConfig;
  dispatcher: DispatcherConfig;
}

export function parseAllConfig(env: Env): AllConfig {
  // Same variable order as the separate roles, so the first missing one is reported first.
  const dispatcher = parseDispatcherConfig(env);
  const intake = parseIntakeConfig(env);
  return { intake, dispatcher };
}

export function parseQueueCommandConfig(env: Env): QueueCommandConfig {
  return { redis: redisConfig(env), fleetCapacity: optional(env, 'FLEET_CAPACITY'), calls: callPolicy(env) };
}

/** Variables and their defaults, for --help. */
export const ENV_HELP: ReadonlyArray<readonly [string, string]> = [
  ['REDIS_URL', 'required; redis:// or rediss:// URL'],
  ['LIVEKIT_URL', 'dispatcher: http(s) base of the LiveKit API'],
  ['LIVEKIT_API_KEY', 'required by intake and dispatcher'],
  ['LIVEKIT_API_SECRET', 'required by intake and dispatcher'],
  ['INTAKE_TOKEN', 'intake: bearer token for POST /v1/calls (>= 16 chars)'],
  ['AGENT_NAME', `default ${DEFAULTS.AGENT_NAME}`],
  ['INTAKE_PORT', `default ${DEFAULTS.INTAKE_PORT}`],
  ['FLEET_CAPACITY', 'default: sum of live agent capacity heartbeats'],
  ['CALL_MAX_ATTEMPTS', `default ${DEFAULTS.CALL_MAX_ATTEMPTS}`],
  ['CALL_MAX_WAIT_SECONDS', `default ${DEFAULTS.CALL_MAX_WAIT_SECONDS}`],
  ['DISPATCH_CONFIRM_SECONDS', `default ${DEFAULTS.DISPATCH_CONFIRM_SECONDS} (wait for a worker to take a dispatch)`],
  ['RECONCILE_SECONDS', `default ${DEFAULTS.RECONCILE_SECONDS} (recovery sweep; 0 off)`],
  ['ALERT_WEBHOOK_URL', 'optional; dead-letter alerts are POSTed here'],
  ['METRICS_NAMESPACE', `default ${DEFAULTS.METRICS_NAMESPACE}`],
  ['STACK_NAME', `default ${DEFAULTS.STACK_NAME} (CloudWatch Stack dimension)`],
  ['QUEUE_PREFIX', `default ${DEFAULTS.QUEUE_PREFIX}`],
];
