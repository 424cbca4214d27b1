/**
 * The stack's secrets on Kubernetes: the LiveKit API key and secret, the intake token and the
 * in-cluster Redis password from @pulumi/random (the external Redis's password from the secret
 * config), stored in Kubernetes Secrets, one per consumer, so each pod reads only what it needs.
 * Values are Pulumi secrets; pods take them through secretKeyRef, never as literal env values, and
 * no ConfigMap, annotation or output carries one.
 */
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import * as random from '@pulumi/random';
import { API_SECRET_LENGTH, TOKEN_LENGTH } from '../aws/secrets.js';

/** The Secrets the pods read, and the keys in each. */
export const SECRET_KEYS = {
  /** LiveKit: LIVEKIT_KEYS ("<key>: <secret>"), REDIS_PASSWORD when LiveKit shares Redis. */
  livekit: ['LIVEKIT_KEYS', 'REDIS_PASSWORD'],
  /** Intake and dispatcher. */
  queue: ['LIVEKIT_API_SECRET', 'REDIS_URL', 'INTAKE_TOKEN'],
  /** Agent workers. */
  agent: ['LIVEKIT_API_SECRET', 'REDIS_URL'],
  /** In-cluster Redis. */
  redis: ['REDIS_PASSWORD'],
} as const;

export type SecretConsumer = keyof typeof SECRET_KEYS;

export interface K8sSecretsArgs {
  namespace: pulumi.Input<string>;
  /** Labels on every Secret. */
  labels: Record<string, string>;
  /** Redis the queue uses: in the cluster (the stack makes its password) or external (its password given, TLS). */
  redis: { kind: 'in-cluster'; host: string; port: number } | { kind: 'external'; host: string; port: number; password?: pulumi.Input<string> };
  /** LiveKit shares the Redis (multi-node): its Secret carries REDIS_PASSWORD. */
  livekitUsesRedis: boolean;
}

/** `redis://` or `rediss://` URL with the password (for REDIS_URL, inside a Secret only). */
export function redisUrl(args: { tls: boolean; host: string; port: number; password?: string }): string {
  const auth = args.password ? `:${encodeURIComponent(args.password)}@` : '';
  return `${args.tls ? 'rediss' : 'redis'}://${auth}${args.host}:${args.port}`;
}

/** Secret values and the Kubernetes Secrets holding them. */
export class K8sSecrets extends pulumi.ComponentResource {
  /** LiveKit API key name: an identifier (the webhooks' JWT issuer; it sits in livekit.yaml). */
  public readonly apiKey: pulumi.Output<string>;
  public readonly apiSecret: pulumi.Output<string>;
  public readonly intakeToken: pulumi.Output<string>;
  /** Redis password (in-cluster: generated; external: from the secret config, or undefined). */
  public readonly redisPassword?: pulumi.Output<string>;
  /** Secret name per consumer (redis: only with Redis in the cluster). */
  public readonly names: Record<Exclude<SecretConsumer, 'redis'>, pulumi.Output<string>> & { redis?: pulumi.Output<string> };

  constructor(name: string, args: K8sSecretsArgs, opts?: pulumi.ComponentResourceOptions) {
    super('voice-agent-infra:k8s:K8sSecrets', name, {}, opts);
    const child = { parent: this };
    // "API" + 12 alphanumerics: LiveKit's own key format.
    const keySuffix = new random.RandomString(`${name}-api-key`, { length: 12, special: false }, child);
    const apiSecret = new random.RandomPassword(`${name}-api-secret`, { length: API_SECRET_LENGTH, special: false }, child);
    const intakeToken = new random.RandomPassword(`${name}-intake-token`, { length: TOKEN_LENGTH, special: false }, child);
    this.apiKey = pulumi.interpolate`API${keySuffix.result}`;
    this.apiSecret = pulumi.secret(apiSecret.result);
    this.intakeToken = pulumi.secret(intakeToken.result);

    const redis = args.redis;
    if (redis.kind === 'in-cluster') {
      const password = new random.RandomPassword(`${name}-redis-password`, { length: TOKEN_LENGTH, special: false }, child);
      this.redisPassword = pulumi.secret(password.result);
    } else if (redis.password !== undefined) {
      this.redisPassword = pulumi.secret(pulumi.output(redis.password));
    }
    const password = this.redisPassword ?? pulumi.output('');
    const url = pulumi.secret(password.apply((p) => redisUrl({ tls: redis.kind === 'external', host: redis.host, port: redis.port, password: p })));

    const secret = (consumer: SecretConsumer, data: Record<string, pulumi.Input<string>>) =>
      new k8s.core.v1.Secret(
        `${name}-${consumer}`,
        { metadata: { namespace: args.namespace, labels: args.labels }, type: 'Opaque', stringData: data },
        child,
      );
    const livekitData: Record<string, pulumi.Input<string>> = { LIVEKIT_KEYS: pulumi.interpolate`${this.apiKey}: ${this.apiSecret}` };
    if (args.livekitUsesRedis && this.redisPassword) livekitData.REDIS_PASSWORD = this.redisPassword;
    const secrets = {
      livekit: secret('livekit', livekitData),
      queue: secret('queue', { LIVEKIT_API_SECRET: this.apiSecret, REDIS_URL: url, INTAKE_TOKEN: this.intakeToken }),
      agent: secret('agent', { LIVEKIT_API_SECRET: this.apiSecret, REDIS_URL: url }),
    };
    const redisSecret = redis.kind === 'in-cluster' && this.redisPassword ? secret('redis', { REDIS_PASSWORD: this.redisPassword }) : undefined;
    this.names = {
      livekit: secrets.livekit.metadata.name,
      queue: secrets.queue.metadata.name,
      agent: secrets.agent.metadata.name,
      ...(redisSecret ? { redis: redisSecret.metadata.name } : {}),
    };
    this.registerOutputs({ apiKey: this.apiKey, names: this.names });
  }
}

/** An env entry read from a Secret key (never a literal value). */
export function secretEnv(name: string, secretName: pulumi.Input<string>, key = name) {
  return { name, valueFrom: { secretKeyRef: { name: secretName, key } } };
}
