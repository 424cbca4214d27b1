/**
 * The stack's secrets: the LiveKit API key and secret, the intake's operator token and the Redis
 * AUTH token (mid: the node's Redis, which the agent fleet reaches; large: ElastiCache), generated with @pulumi/random and stored in Secrets Manager. Values
 * are Pulumi secrets (encrypted in state, "[secret]" in output); instances read them at boot with
 * their role, and user data carries only the ARNs.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import * as random from '@pulumi/random';
import { named, type Tags } from './common.js';

/** Length of the LiveKit API secret: LiveKit requires at least 32 characters; 48 alphanumerics ~ 285 bits. */
export const API_SECRET_LENGTH = 48;
/** Length of the intake token and the Redis AUTH token (ElastiCache allows 16-128 printable characters). */
export const TOKEN_LENGTH = 48;

export interface StackSecretsArgs {
  /** Secrets Manager name prefix, e.g. "voice-agent/large/" (AWS appends a random suffix). */
  namePrefix: string;
  /** Generate and store a Redis AUTH token: ElastiCache (large) or the mid LiveKit node's Redis. */
  redisAuth: boolean;
  /**
   * The SIP credentials secret's value (components/sip/node.ts sipCredentialsSecretString, a
   * Pulumi secret): stored whenever the stack answers phone calls, with no credential in it when
   * none is set, so the nodes can always name it. Absent: no SIP.
   */
  sipCredentials?: pulumi.Input<string>;
  /** Days a deleted secret can be restored; default 7 (Secrets Manager allows 0 or 7-30). */
  recoveryWindowInDays?: number;
  /** Tags on every secret. */
  tags: Tags;
}

/** Secret values and their Secrets Manager entries. */
export class StackSecrets extends pulumi.ComponentResource {
  /** LiveKit API key name: an identifier (it is the webhooks' JWT issuer and sits in livekit.yaml). */
  public readonly apiKey: pulumi.Output<string>;
  /** LiveKit API secret (Pulumi secret). */
  public readonly apiSecret: pulumi.Output<string>;
  /** Bearer token of the intake's operator endpoints (Pulumi secret). */
  public readonly intakeToken: pulumi.Output<string>;
  /** Redis AUTH token (Pulumi secret), mid and large. */
  public readonly redisAuthToken?: pulumi.Output<string>;
  /** ARN of the LiveKit API secret (SecretString: the secret itself, as the boot script reads it). */
  public readonly livekitApiSecretArn: pulumi.Output<string>;
  public readonly intakeTokenSecretArn: pulumi.Output<string>;
  public readonly redisAuthSecretArn?: pulumi.Output<string>;
  /** ARN of the SIP credentials (NAME=value lines sip-watch reads), when the stack answers phone calls. */
  public readonly sipCredentialsSecretArn?: pulumi.Output<string>;
  /** Every secret ARN of the stack: what the instance role may read, and nothing else. */
  public readonly arns: pulumi.Output<string>[];

  constructor(name: string, args: StackSecretsArgs, opts?: pulumi.ComponentResourceOptions) {
    super('voice-agent-infra:aws:StackSecrets', name, {}, opts);
    const recoveryWindowInDays = args.recoveryWindowInDays ?? 7;

    // "API" + 12 alphanumerics: LiveKit's own key format.
    const keySuffix = new random.RandomString(`${name}-api-key`, { length: 12, special: false }, { parent: this });
    const apiSecret = new random.RandomPassword(`${name}-api-secret`, { length: API_SECRET_LENGTH, special: false }, { parent: this });
    const intakeToken = new random.RandomPassword(`${name}-intake-token`, { length: TOKEN_LENGTH, special: false }, { parent: this });
    this.apiKey = pulumi.interpolate`API${keySuffix.result}`;
    this.apiSecret = pulumi.secret(apiSecret.result);
    this.intakeToken = pulumi.secret(intakeToken.result);

    // SecretString is the bare value: the boot script reads it as is (components/livekit/cloud-init.ts).
    const store = (id: string, description: string, value: pulumi.Input<string>) => {
      const secret = new aws.secretsmanager.Secret(
        `${name}-${id}`,
        { namePrefix: `${args.namePrefix}${id}-`, description, recoveryWindowInDays, tags: named(args.tags, `${name}-${id}`, 'secrets') },
        { parent: this },
      );
      new aws.secretsmanager.SecretVersion(
        `${name}-${id}`,
        { secretId: secret.id, secretString: pulumi.secret(value) },
        { parent: this },
      );
      return secret.arn;
    };

    this.livekitApiSecretArn = store('livekit-api-secret', 'LiveKit API secret (LIVEKIT_KEYS, webhook signatures, agent and dispatcher tokens)', this.apiSecret);
    this.intakeTokenSecretArn = store('intake-token', 'Bearer token of the intake operator endpoints (/v1/*)', this.intakeToken);
    if (args.redisAuth) {
      // No special characters: ElastiCache rejects some (/ " @ and spaces) and URLs would need escaping.
      const auth = new random.RandomPassword(`${name}-redis-auth`, { length: TOKEN_LENGTH, special: false }, { parent: this });
      this.redisAuthToken = pulumi.secret(auth.result);
      this.redisAuthSecretArn = store(
        'redis-auth',
        'Redis AUTH token (LiveKit, intake, dispatcher, agent workers)',
        this.redisAuthToken,
      );
    }
    if (args.sipCredentials !== undefined) {
      this.sipCredentialsSecretArn = store('sip-credentials', 'SIP trunk credentials: SIP_INBOUND_* and SIP_OUTBOUND_* lines for voice-agent sip-sync', args.sipCredentials);
    }
    this.arns = [
      this.livekitApiSecretArn,
      this.intakeTokenSecretArn,
      ...(this.redisAuthSecretArn ? [this.redisAuthSecretArn] : []),
      ...(this.sipCredentialsSecretArn ? [this.sipCredentialsSecretArn] : []),
    ];

    this.registerOutputs({
      apiKey: this.apiKey,
      apiSecret: this.apiSecret,
      intakeToken: this.intakeToken,
      livekitApiSecretArn: this.livekitApiSecretArn,
      intakeTokenSecretArn: this.intakeTokenSecretArn,
      redisAuthSecretArn: this.redisAuthSecretArn,
      sipCredentialsSecretArn: this.sipCredentialsSecretArn,
    });
  }
}
