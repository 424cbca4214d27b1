/**
 * Shared arguments for the livekit renderer tests: one realistic node per role, the way the AWS
 * components will call the renderers, plus sample secret values the renderers must never see.
 */
import { type CloudInitArgs, type NodeRole, secretArn, type SecretArn } from '../../components/livekit/index.js';

export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';
export const API_KEY = 'APIb3x9kQ2';
export const AGENT_IMAGE = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/voice-agent:1.4.0`;
export const ELASTICACHE_HOST = 'master.vai-large.abc123.use1.cache.amazonaws.com';
/** The single node's agent image parameter, and what the fake SSM holds in it. */
export const IMAGE_PARAMETER = { ssmParameter: '/voice-agent/test/agent-image', region: REGION } as const;
export const DATA_VOLUME_ID = 'vol-0123456789abcdef0';
/** The single node's Elastic IP (livekit.yaml rtc.node_ip). */
export const NODE_IP = '203.0.113.45';

export function arn(name: string, region = REGION): SecretArn {
  return secretArn(`arn:aws:secretsmanager:${region}:${ACCOUNT}:secret:voice-agent/${name}-AbCdEf`);
}

export const ARNS = {
  livekitApiSecret: arn('livekit-api-secret'),
  intakeToken: arn('intake-token'),
  // A different region on purpose: the boot script must read each secret from its own region.
  redisAuthToken: arn('redis-auth-token', 'eu-west-1'),
  alertWebhookUrl: arn('alert-webhook-url'),
  /** The operator's agent env secret (roles small and agent): a JSON object of provider keys. */
  agentEnv: arn('agent-env'),
} as const;

/** The providers' keys in the sample agent env secret: distinctive values, so a leak is unmistakable. */
export const SAMPLE_PROVIDER_KEYS = {
  OPENAI_API_KEY: 'sk-proj-OpenAiCanary3f2e1d0c9b8a',
  DEEPGRAM_API_KEY: 'DeepgramCanary7a6b5c4d3e2f1a0b',
  CARTESIA_API_KEY: 'sk_car_CartesiaCanary1b2c3d4e5f',
} as const;
/** What the configured providers need (the AWS components derive it from providers.*). */
export const EXPECTED_PROVIDER_KEYS = Object.keys(SAMPLE_PROVIDER_KEYS);

/**
 * What Secrets Manager holds in the tests. Distinctive values so a leak is unmistakable; the
 * Redis token carries characters that must be percent-encoded in REDIS_URL.
 */
export const SAMPLE_SECRETS: Record<keyof typeof ARNS, string> = {
  livekitApiSecret: 'LkSecretCanary7d1f0c9e8b7a6f5e4d3c2b1a0f9e8d7c',
  intakeToken: 'IntakeTokenCanary5a4b3c2d1e0f',
  redisAuthToken: 'RedisCanary:p@ss/w0rd+%&#!',
  alertWebhookUrl: 'https://hooks.example.com/services/T000/B000/AlertCanary9f8e7d',
  // Pretty-printed, as an operator might store it: the converter reads any JSON object.
  agentEnv: JSON.stringify({ ...SAMPLE_PROVIDER_KEYS, TTS_VOICE: 'a voice "name" with spaces' }, null, 2),
};

export const SECRET_BY_ARN: Record<string, string> = Object.fromEntries(
  (Object.keys(ARNS) as Array<keyof typeof ARNS>).map((key) => [ARNS[key], SAMPLE_SECRETS[key]]),
);

const livekit = { turnDomain: 'turn.voice.example.com' };

/** One node per role, every optional secret set (the most the boot script has to do). */
export function nodeArgs(role: NodeRole): CloudInitArgs {
  const base = {
    agentImage: AGENT_IMAGE,
    livekitApiKey: API_KEY,
    livekitApiSecretArn: ARNS.livekitApiSecret,
    alertWebhookUrlArn: ARNS.alertWebhookUrl,
  };
  switch (role) {
    case 'small':
      return {
        ...base,
        agentEnv: { secretArn: ARNS.agentEnv, expectedKeys: EXPECTED_PROVIDER_KEYS },
        role,
        agentImage: IMAGE_PARAMETER,
        dataVolumeId: DATA_VOLUME_ID,
        domain: 'voice.example.com',
        acmeEmail: 'ops@example.com',
        livekit: { ...livekit, nodeIp: NODE_IP },
        intakeTokenArn: ARNS.intakeToken,
        fleetCapacitySessions: 20,
      };
    case 'livekit-mid':
      return {
        ...base,
        role,
        agentImage: IMAGE_PARAMETER,
        dataVolumeId: DATA_VOLUME_ID,
        livekit: { ...livekit, nodeIp: NODE_IP },
        intakeTokenArn: ARNS.intakeToken,
        redisAuthTokenArn: ARNS.redisAuthToken,
        redisMaxMemoryMiB: 2048,
      };
    case 'livekit-large':
      return {
        ...base,
        role,
        livekit,
        intakeTokenArn: ARNS.intakeToken,
        redis: { host: ELASTICACHE_HOST, tls: true, authTokenArn: ARNS.redisAuthToken },
        cloudWatchLogs: { group: '/voice-agent/large', region: REGION },
      };
    case 'agent':
      return {
        ...base,
        agentEnv: { secretArn: ARNS.agentEnv, expectedKeys: EXPECTED_PROVIDER_KEYS },
        role,
        livekitUrl: 'wss://voice.example.com',
        redis: { host: ELASTICACHE_HOST, tls: true, authTokenArn: ARNS.redisAuthToken },
      };
  }
}

/** Value at a dotted path of a parsed document ("rtc.tcp_port"). */
export function at(value: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], value);
}
