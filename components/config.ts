/**
 * The stack config: one zod schema, one loader, used by the Pulumi program (from Pulumi config)
 * and by the CLIs (from the stack files under stacks/). Every default carries its reasoning.
 * Pure: no Pulumi import; the program passes `pulumi.runtime.allConfig()` in.
 */
import { DEFAULT_CATALOG, LLM_MODELS, STT_PROVIDERS, TELEPHONY_PROVIDERS, TTS_PROVIDERS } from '@voice-agent-infra/common';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { inferenceSchema } from './inference/config.js';
import { checkSipCredentials, SECRET_PLACEHOLDER_VALUE, SIP_SECRET_KEY_NAMES, sipSchema, sipSecretShape } from './sip/config.js';

/**
 * The longest drain a termination lifecycle hook can hold on AWS: its heartbeat is at most 7,200 s
 * (Amazon EC2 Auto Scaling API Reference, PutLifecycleHook HeartbeatTimeout) and covers the drain,
 * the agent worker's close time (60 s, AGENT_CLOSE_SECONDS) and the hook's margin (120 s,
 * DRAIN_HOOK_MARGIN_SECONDS). A call longer than this is cut when its instance is terminated.
 */
export const AWS_MAX_DRAIN_SECONDS = 7200 - 60 - 120;

/** The Pulumi project name, and so the config namespace (`voice-agent-infra:monthlyMinutes`). */
export const CONFIG_NAMESPACE = 'voice-agent-infra';

export const TIERS = ['small', 'mid', 'large'] as const;
export type Tier = (typeof TIERS)[number];

/** A bad stack config, CLI flag or plan input: one line naming the key, the value and what is allowed. */
export class ConfigError extends Error {
  constructor(
    /** Dotted key, e.g. `traffic.busyHourShare`, or a flag, e.g. `--minutes`. */
    public readonly key: string,
    public readonly value: unknown,
    public readonly allowed: string,
  ) {
    super(`${key} = ${formatValue(value)}: ${allowed}`);
    this.name = 'ConfigError';
  }
}

function formatValue(value: unknown): string {
  if (value === undefined) return '(missing)';
  const text = typeof value === 'string' ? JSON.stringify(value) : JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

// Numbers arrive as strings from `pulumi config set` and CLI flags; accept numeric strings only.
const NUMERIC = /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i;
function numeric<T extends z.ZodType>(schema: T) {
  return z.preprocess((v) => (typeof v === 'string' && NUMERIC.test(v.trim()) ? Number(v) : v), schema);
}
const share = (what: string) =>
  numeric(z.number({ error: `must be a number, a share between 0 and 1 (${what})` }).gt(0, 'must be > 0').max(1, 'must be at most 1'));
const positive = (what: string) => numeric(z.number({ error: `must be a number (${what})` }).gt(0, `must be > 0 (${what})`));
const atLeast = (min: number, what: string) =>
  numeric(z.number({ error: `must be a number (${what})` }).min(min, `must be at least ${min} (${what})`));
const integerAtLeast = (min: number, what: string) =>
  numeric(z.number({ error: `must be a whole number (${what})` }).int(`must be a whole number (${what})`).min(min, `must be at least ${min} (${what})`));
const integerBetween = (min: number, max: number, what: string) =>
  numeric(
    z
      .number({ error: `must be a whole number (${what})` })
      .int(`must be a whole number (${what})`)
      .min(min, `must be at least ${min} (${what})`)
      .max(max, `must be at most ${max} (${what})`),
  );
// `pulumi config set --path aws.x true` may store the text "true": accept it as the boolean.
const booleanish = (what: string) =>
  z.preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v), z.boolean({ error: `must be true or false (${what})` }));
const oneOf = <T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, { error: `must be one of: ${values.join(', ')}` });

/**
 * Traffic: how the month's minutes arrive. Defaults follow telephony planning conventions
 * (reference/pricing-and-capacity.md).
 */
const trafficSchema = z
  .strictObject({
    /** A support or booking call averages 3-5 minutes; 4 is the middle. */
    avgCallMinutes: positive('average call length in minutes').default(4),
    /** ~20-22 business days a month; 21 is the middle. */
    businessDaysPerMonth: numeric(
      z.number({ error: 'must be a number of days (1-31)' }).gt(0, 'must be > 0 days').max(31, 'must be at most 31 days'),
    ).default(21),
    /** About 10% of a business day's calls fall in its busiest hour (telephony convention). */
    busyHourShare: share("share of a business day's minutes in its busiest hour").default(0.1),
    /** Campaigns and rushes: 3x the busy hour is the load the fleet scales out to. */
    spikeMultiplier: atLeast(1, 'spike load over the busy hour, 1 = no spike').default(3),
    /** A caller waits at most a few seconds for the agent: AI agents answer at once or not at all. */
    maxWaitSeconds: atLeast(0, 'seconds a caller may wait for an agent').default(5),
    /** 99% answered within maxWaitSeconds: the fleet, not the callers, absorbs the variance. */
    serviceLevel: numeric(
      z.number({ error: 'must be a number, a share between 0 and 1 exclusive' }).gt(0, 'must be > 0').lt(1, 'must be < 1 (100% needs infinite capacity)'),
    ).default(0.99),
  })
  .prefault({});

export const INSTANCE_FAMILIES = ['x86', 'graviton'] as const;
export const REDIS_ENGINES = ['redis', 'valkey'] as const;

/** Capacity: how many sessions a machine holds. */
const capacitySchema = z
  .strictObject({
    /** LiveKit's guidance: 25 concurrent voice sessions per 4 vCPU / 8 GB -> 6.25 per vCPU. */
    sessionsPerAgentVcpu: positive('concurrent agent sessions per vCPU').default(6.25),
    /** The same guidance in memory: 8 GB / 25 sessions. */
    memoryGiBPerSession: positive('GiB of memory per agent session').default(0.32),
    /**
     * LiveKit publishes no per-vCPU figure for 1:1 audio rooms; 50 participants per vCPU keeps an
     * 8 vCPU node under half load for 200 calls. A planning input: benchmark and set yours.
     */
    livekitParticipantsPerVcpu: positive('LiveKit participants per vCPU').default(50),
    /** x86 (c7i) or Graviton (c7g, ~20% cheaper; the agent image must be built for arm64). */
    instanceFamily: oneOf(INSTANCE_FAMILIES).default('x86'),
    /** Agent worker instance type; default from instanceFamily (c7i.xlarge / c7g.xlarge). */
    agentInstanceType: z.string().optional(),
    /** LiveKit node instance type (mid, large); default c7i.2xlarge / c7g.2xlarge. Small uses the agent type. */
    livekitInstanceType: z.string().optional(),
    /** vCPU kept for LiveKit, Redis and Caddy on the small tier's single box; the rest runs agents. */
    smallBoxReservedVcpu: atLeast(0.5, 'vCPU reserved for LiveKit, Redis and Caddy on the small box').default(1),
    /** ElastiCache node type for the large tier; default by spike concurrency. */
    redisNodeType: z.string().optional(),
    /** ElastiCache engine: redis (OSS) or valkey (0.8x the price, BullMQ-compatible). */
    redisEngine: oneOf(REDIS_ENGINES).default('redis'),
    /** ElastiCache replicas per primary on the large tier (1 = Multi-AZ with automatic failover). */
    redisReplicas: integerAtLeast(1, 'ElastiCache replicas, at least 1 for Multi-AZ failover').default(1),
    /**
     * Share of the month an autoscaled group runs at its spike size rather than its busy-hour
     * size: spikes are campaigns and rushes, a few hours a week. Used only to price autoscaled
     * groups at an expected average.
     */
    expectedScaleOutShare: numeric(
      z.number({ error: 'must be a number between 0 and 1' }).min(0, 'must be at least 0').max(1, 'must be at most 1'),
    ).default(0.1),
    /** Root volume per instance, GiB of gp3 (the agent image and logs fit in 30). */
    rootVolumeGiB: integerAtLeast(8, 'GiB root volume per instance').default(30),
  })
  .prefault({});

/** Which providers serve the calls: priced from the catalog, used by the agent at run time. */
const providersSchema = z
  .strictObject({
    stt: oneOf(STT_PROVIDERS).default('deepgram-nova-3'),
    /** The model for routine turns (a local OpenAI-compatible model: `local`). */
    llm: oneOf(LLM_MODELS).default('gpt-4o-mini'),
    /** The stronger model for complex intents (the article: GPT-4o only for complex intents). */
    complexLlm: oneOf(LLM_MODELS).default('gpt-4o'),
    tts: oneOf(TTS_PROVIDERS).default('cartesia-sonic'),
    telephony: oneOf(TELEPHONY_PROVIDERS).default('twilio'),
  })
  .prefault({});

/**
 * Usage per call-minute, to turn minutes into provider units. Calibrated so a 4-5 minute call with
 * a 1,300-token system prompt sends ~13-16k input and ~450 output tokens a minute
 * (reference/pricing-and-capacity.md).
 */
const usageSchema = z
  .strictObject({
    /** Conversational turns per minute (~6). Each turn is one LLM request. */
    turnsPerMinute: positive('LLM turns per call-minute').default(6),
    /** System prompt and tool definitions, re-sent every turn. */
    systemPromptTokens: atLeast(0, 'tokens').default(1300),
    /** Caller tokens added to the history per turn. */
    userTokensPerTurn: atLeast(0, 'tokens').default(25),
    /** Agent reply tokens per turn (LLM output, added to the history). */
    agentTokensPerTurn: atLeast(0, 'tokens').default(75),
    /** Share of turns on the complex model (the rest on the routine model). */
    complexTurnShare: numeric(
      z.number({ error: 'must be a number between 0 and 1' }).min(0, 'must be at least 0').max(1, 'must be at most 1'),
    ).default(0.2),
    /** Share of a call the agent speaks (40-50%). */
    agentTalkShare: share('share of call time the agent speaks').default(0.45),
    /** Speaking rate, words per minute of agent speech. */
    wordsPerMinute: positive('words per minute').default(150),
    /** Characters per word, spaces included (~5.5-6). */
    charactersPerWord: positive('characters per word').default(5.7),
    /** Share of agent speech served from the pre-cached phrases (counted only with phraseCacheDeployed). */
    ttsCacheHitRatio: numeric(
      z.number({ error: 'must be a number between 0 and 1' }).min(0, 'must be at least 0').max(1, 'must be at most 1'),
    ).default(0.15),
    /**
     * The agent image the stack runs carries a rendered phrase cache (aws.agentImage or
     * kubernetes.agentImage built with one: README, "The phrase cache"). Nothing in the deploy
     * renders it (the bundled image's cache directory is empty), so until then the plan counts no
     * cache hits and says so.
     */
    phraseCacheDeployed: z
      .preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v), z.boolean({ error: 'must be true or false (the agent image carries a rendered phrase cache)' }))
      .default(false),
    /** Telephony audio leaving AWS per call (G.711 with RTP overhead, one direction): ~90 kbps. */
    telephonyAudioKbps: positive('kbps').default(90),
    /** WebRTC audio on the wire per direction between agent and LiveKit (Opus): ~55 kbps. */
    webrtcAudioKbps: positive('kbps').default(55),
  })
  .prefault({});

const priceKeys = Object.keys(DEFAULT_CATALOG);
const pricingSchema = z
  .record(z.string(), numeric(z.number({ error: 'must be a price in USD (a number)' }).min(0, 'must be at least 0')))
  .superRefine((overrides, ctx) => {
    for (const key of Object.keys(overrides)) {
      if (!(key in DEFAULT_CATALOG)) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `unknown price key; allowed: catalog keys such as ${priceKeys.slice(0, 3).join(', ')} (see components/cost/README or \`npm run cost -- --format json\`)`,
        });
      }
    }
  })
  .default({});

/**
 * AWS placement and access: used by the AWS components. Everything optional; the defaults build a
 * new VPC and a stack without TLS names (mid and large then need `domain` or a certificate).
 */
const awsSchema = z
  .strictObject({
    /**
     * Refused: the stack runs in the AWS provider's region (`aws:region`, read with
     * aws.getRegionOutput()); a second region key would drift from it.
     */
    region: z
      .undefined({ error: 'is not a voice-agent-infra key: the stack runs in the AWS provider region; set it with `pulumi config set aws:region <region>`' })
      .optional(),
    /** Existing VPC id; with subnetIds, no VPC is created. */
    vpcId: z.string().optional(),
    /**
     * Existing public subnets in that VPC, with their AZs (so the AZ spread is checked before any
     * AWS call): two AZs or more for mid and large.
     */
    subnets: z.array(z.strictObject({ id: z.string(), availabilityZone: z.string() })).optional(),
    /** Public hostname of LiveKit signalling (wss://domain), e.g. livekit.example.com. */
    domain: z.string().optional(),
    /** TURN/TLS hostname (default turn.<domain>). */
    turnDomain: z.string().optional(),
    /** Existing ACM certificate ARN for the NLB TLS listeners. */
    certificateArn: z.string().optional(),
    /** Route 53 hosted zone id for DNS-validated certificates and records. */
    route53ZoneId: z.string().optional(),
    /** Email subscribed to the alarms topic. */
    alertEmail: z.email({ error: 'must be an email address' }).optional(),
    /** Prebuilt agent image (skips the ECR build), e.g. 123.dkr.ecr.us-east-1.amazonaws.com/voice-agent:1.2.3. */
    agentImage: z.string().optional(),
    /** CIDRs allowed to reach the operator endpoints (intake /v1/*, SSH is never opened). */
    operatorCidrs: z.array(z.string()).default([]),
    /**
     * AMI of every instance (Ubuntu 24.04, the family the user data is written for), e.g.
     * ami-0123456789abcdef0. Unset: the newest Canonical image at the first deploy, which the
     * single node then keeps (a new lookup never replaces it; see README, "Rolling the AMI").
     */
    amiId: z.string().regex(/^ami-[0-9a-f]{8}([0-9a-f]{9})?$/, 'must be an AMI id such as ami-0123456789abcdef0').optional(),
    /**
     * Caddy with the layer-4 and YAML modules (small tier's TLS), pinned by tag or digest. The
     * default is components/livekit/compose.ts PINNED_IMAGES.caddy; check it resolves before the
     * first deploy (`docker manifest inspect <image>`).
     */
    caddyImage: z.string().optional(),
    /** `pulumi destroy` deletes the ECR repository even with images in it; default false (destroy then stops at the repository). */
    ecrForceDelete: booleanish('true deletes the agent image repository with its images on destroy').default(false),
    /**
     * Seconds a new autoscaled instance may take to boot (packages, image pull, registration)
     * before failed health checks count; default 600 (a first boot installs Docker and pulls images).
     */
    healthCheckGraceSeconds: integerBetween(0, 7200, 'seconds of health check grace after launch').default(600),
    /**
     * Seconds a LiveKit node or agent worker may drain its calls before it is stopped anyway
     * (instance termination, image roll). Default and maximum AWS_MAX_DRAIN_SECONDS: as close to
     * the longest call (the dispatcher's 7,200 s) as one termination lifecycle hook can wait.
     */
    drainSeconds: integerBetween(30, AWS_MAX_DRAIN_SECONDS, 'seconds a node may drain its calls').default(AWS_MAX_DRAIN_SECONDS),
    /** Encrypted gp3 volume of the single node (small, mid) for Redis's AOF and Caddy's certificates, GiB; default 10. */
    dataVolumeGiB: integerBetween(1, 16_384, 'GiB of the data volume').default(10),
    /**
     * Full ARN of a Secrets Manager secret you own whose SecretString is a JSON object of the agent
     * worker's environment (its providers' API keys); required on AWS (components/aws/agent-env.ts).
     */
    agentEnvSecretArn: z.string({ error: 'must be a Secrets Manager secret ARN' }).optional(),
    /** The customer managed KMS key that secret is encrypted with, if not aws/secretsmanager: the workers get kms:Decrypt on it through Secrets Manager. */
    agentEnvKmsKeyArn: z.string({ error: 'must be a KMS key ARN' }).optional(),
  })
  .prefault({});

export const KUBERNETES_PROVIDERS = ['aws', 'gcp', 'generic'] as const;
export type KubernetesProvider = (typeof KUBERNETES_PROVIDERS)[number];
/** Roles that take node selectors and tolerations: LiveKit, agent workers, and the rest (intake, dispatcher, Redis, TLS proxy). */
export const KUBERNETES_ROLES = ['livekit', 'agents', 'services'] as const;

// Booleans may arrive as "true"/"false" text from `pulumi config set`.
const flag = (what: string) =>
  z.preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v), z.boolean({ error: `must be true or false (${what})` }));
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const dnsLabel = (what: string) =>
  z.string({ error: `must be a Kubernetes name (${what})` }).regex(DNS_LABEL, `must be a lower-case DNS label: letters, digits and "-", at most 63 (${what})`);
const perRole = <T extends z.ZodType>(schema: T) =>
  z.strictObject({ livekit: schema.optional(), agents: schema.optional(), services: schema.optional() }).prefault({});
const tolerationSchema = z.strictObject({
  key: z.string().optional(),
  operator: oneOf(['Exists', 'Equal'] as const).optional(),
  value: z.string().optional(),
  effect: oneOf(['NoSchedule', 'PreferNoSchedule', 'NoExecute'] as const).optional(),
  tolerationSeconds: integerAtLeast(0, 'seconds').optional(),
});

/**
 * Kubernetes placement and access: used by the Kubernetes components (target: kubernetes). What is
 * required there (domain, tls, agentImage, nodeCidrs) is checked by validateK8sConfig with the plan.
 */
const kubernetesSchema = z
  .strictObject({
    /** Namespace the stack creates and runs in (one per stack). */
    namespace: dnsLabel('the namespace the stack creates').default('voice-agent'),
    /** Load balancer annotations for this cloud: aws (NLB), gcp (GKE L4), generic (none). */
    provider: oneOf(KUBERNETES_PROVIDERS).default('generic'),
    /** Public hostname of LiveKit signalling (wss://domain). */
    domain: z.string().optional(),
    /** TURN/TLS hostname (default turn.<domain>). */
    turnDomain: z.string().optional(),
    /** TLS for both names: an existing kubernetes.io/tls Secret in the namespace, or a cert-manager ClusterIssuer that issues one. */
    tls: z.strictObject({ secretName: dnsLabel('a TLS Secret').optional(), clusterIssuer: z.string().optional() }).optional(),
    /** StorageClass of the in-cluster Redis volume; default the cluster's default class. */
    storageClass: z.string().optional(),
    /** External Redis, rediss://host:port (TLS; the password comes from the secret config key redisPassword). Needed on large unless inClusterRedis. */
    redisUrl: z.string().optional(),
    /** Run Redis in the cluster on the large tier too (a StatefulSet), by choice. */
    inClusterRedis: flag('Redis in the cluster on the large tier').default(false),
    /** KEDA is installed: agent workers scale on the queue (ScaledObject); false falls back to an HPA on CPU. */
    keda: flag('KEDA is installed').default(false),
    /** Namespace KEDA's operator runs in (its metrics-api scaler polls the intake). */
    kedaNamespace: dnsLabel('the namespace KEDA runs in').default('keda'),
    /** The agent image, pinned by tag or digest: nothing is built in the cluster. */
    agentImage: z.string().optional(),
    /** Existing Secret (in the namespace) with the providers' API keys for the agent workers (envFrom). */
    agentEnvSecret: dnsLabel('a Secret with provider API keys').optional(),
    /** Node instance types the pods are sized for and priced at; default the plan's (capacity.*InstanceType). */
    nodeInstanceTypes: perRole(z.string()),
    /** The control plane's monthly fee: 0 for an existing cluster, e.g. 73 for EKS ($0.10/h). */
    controlPlaneMonthlyUsd: atLeast(0, 'USD a month for the control plane').default(0),
    /** Node selectors per role, e.g. { livekit: { "voice-agent/role": "livekit" } }. */
    nodeSelectors: perRole(z.record(z.string(), z.string())),
    /** Tolerations per role. */
    tolerations: perRole(z.array(tolerationSchema)),
    /**
     * The nodes' private address ranges. LiveKit runs on the host network, so its webhooks reach
     * the intake from a node address, which no pod selector matches: the NetworkPolicies admit these.
     */
    nodeCidrs: z.array(z.string()).optional(),
    /** Namespace of operators' tools and Prometheus, admitted to the intake's /v1 and /metrics. */
    operatorNamespace: dnsLabel('the operators\' namespace').optional(),
  })
  .prefault({});

export const stackConfigSchema = z.strictObject({
  /** Call minutes a month: the one number everything is sized from. */
  monthlyMinutes: positive('call minutes per month'),
  /** Override of the tier chosen from monthlyMinutes. */
  tier: oneOf(TIERS).optional(),
  target: oneOf(['aws', 'kubernetes'] as const).default('aws'),
  traffic: trafficSchema,
  capacity: capacitySchema,
  providers: providersSchema,
  usage: usageSchema,
  pricing: pricingSchema,
  aws: awsSchema,
  /** Self-hosted models (providers.llm/stt/tts: local): servers, GPUs, planning inputs (components/inference/config.ts). */
  inference: inferenceSchema,
  /** Phone calls: the LiveKit SIP service, trunks and dispatch rule (components/sip/config.ts). */
  sip: sipSchema,
  ...sipSecretShape,
  kubernetes: kubernetesSchema,
}).superRefine(checkSipCredentials);

export type StackConfig = z.infer<typeof stackConfigSchema>;
/** The config as written (before defaults). */
export type StackConfigInput = z.input<typeof stackConfigSchema>;

/**
 * Secret config keys (`pulumi config set --secret voice-agent-infra:<key>`): read by the program
 * with `getSecret`, never part of the sizing config (so never printed by the plan or cost tools).
 * - redisPassword: AUTH password of the external Redis (kubernetes.redisUrl).
 */
export const SECRET_CONFIG_KEYS: readonly string[] = ['redisPassword'];

/** Validates config values (keys without the namespace) and fills the defaults. */
export function parseStackConfig(values: Record<string, unknown>): StackConfig {
  const result = stackConfigSchema.safeParse(values);
  if (result.success) return result.data;
  throw toConfigError(result.error, values);
}

function toConfigError(error: z.ZodError, values: unknown): ConfigError {
  const issue = error.issues[0]!;
  const path = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') {
    const key = [...path, issue.keys[0]!].join('.');
    const allowed = allowedKeysAt(path);
    return new ConfigError(key, valueAt(values, [...path, issue.keys[0]!]), `unknown key; allowed here: ${allowed.join(', ')}`);
  }
  const key = path.join('.') || '(config)';
  // A SIP credential's value is never echoed, whatever is wrong with it.
  const value = SIP_SECRET_KEY_NAMES.has(path[0] ?? '') && valueAt(values, path) !== undefined ? SECRET_PLACEHOLDER_VALUE : valueAt(values, path);
  return new ConfigError(key, value, value === undefined ? `is required; ${issue.message}` : issue.message);
}

function valueAt(values: unknown, path: readonly string[]): unknown {
  let current = values;
  for (const part of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

function allowedKeysAt(path: readonly string[]): string[] {
  let schema: z.ZodType = stackConfigSchema;
  for (const part of path) {
    const shape = objectShape(schema);
    if (!shape?.[part]) return [];
    schema = shape[part];
  }
  return Object.keys(objectShape(schema) ?? {});
}

function objectShape(schema: z.ZodType): Record<string, z.ZodType> | undefined {
  let current: z.ZodType = schema;
  // Unwrap .default() / .optional() wrappers to the object inside.
  for (let i = 0; i < 5; i++) {
    if (current instanceof z.ZodObject) return current.shape as Record<string, z.ZodType>;
    const inner = (current as unknown as { def: { innerType?: z.ZodType } }).def.innerType;
    if (!inner) return undefined;
    current = inner;
  }
  return undefined;
}

/**
 * Config values from Pulumi's flat map (`pulumi.runtime.allConfig()`): keys `<namespace>:<key>`,
 * values strings (objects as JSON text). Other namespaces (aws:region, ...) are left alone.
 */
export function configFromPulumi(all: Record<string, string>): StackConfig {
  const values: Record<string, unknown> = {};
  for (const [fullKey, raw] of Object.entries(all)) {
    const [namespace, key] = splitKey(fullKey);
    if (namespace !== CONFIG_NAMESPACE || SECRET_CONFIG_KEYS.includes(key)) continue;
    values[key] = parseScalar(raw);
  }
  return parseStackConfig(values);
}

/** Config values from a stack file's YAML text (`stacks/Pulumi.<stack>.yaml`). */
export function configFromStackFile(yamlText: string, fileName = 'stack file'): StackConfig {
  return parseStackConfig(valuesFromStackFile(yamlText, fileName));
}

/** The raw `voice-agent-infra:*` values of a stack file (before validation), keys without the namespace. */
export function valuesFromStackFile(yamlText: string, fileName = 'stack file'): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = parseYaml(yamlText);
  } catch (error) {
    throw new ConfigError(fileName, '(YAML)', `is not valid YAML: ${(error as Error).message.split('\n')[0]!.replace(/:\s*$/, '')}`);
  }
  const config = (doc as { config?: unknown } | null)?.config;
  if (config === undefined || config === null || typeof config !== 'object') {
    throw new ConfigError(`${fileName}: config`, config, 'must be a map of `voice-agent-infra:<key>` entries');
  }
  const values: Record<string, unknown> = {};
  for (const [fullKey, value] of Object.entries(config as Record<string, unknown>)) {
    const [namespace, key] = splitKey(fullKey);
    if (namespace !== CONFIG_NAMESPACE) continue;
    const secret = value !== null && typeof value === 'object' && 'secure' in value;
    if (SIP_SECRET_KEY_NAMES.has(key) || SECRET_CONFIG_KEYS.includes(key)) {
      // Credentials must be encrypted in the stack file. SIP's read offline as a placeholder (the
      // schema checks they come in pairs); the others are read by the program alone (getSecret).
      if (!secret) throw new ConfigError(key, SECRET_PLACEHOLDER_VALUE, `must be a Pulumi secret, not plain text in the stack file: pulumi config set --secret ${CONFIG_NAMESPACE}:${key} <value>`);
      if (SIP_SECRET_KEY_NAMES.has(key)) values[key] = SECRET_PLACEHOLDER_VALUE;
      continue;
    }
    if (secret) {
      throw new ConfigError(key, '[secret]', 'must not be a secret: sizing and pricing keys are plain values');
    }
    values[key] = value;
  }
  return values;
}

function splitKey(fullKey: string): [string, string] {
  const colon = fullKey.indexOf(':');
  return colon < 0 ? ['', fullKey] : [fullKey.slice(0, colon), fullKey.slice(colon + 1)];
}

function parseScalar(raw: string): unknown {
  const text = raw.trim();
  if (text.startsWith('{') || text.startsWith('[')) {
    try {
      return JSON.parse(text);
    } catch {
      return raw;
    }
  }
  return raw;
}
