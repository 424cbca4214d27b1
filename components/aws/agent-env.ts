/**
 * The agent worker's provider API keys on AWS, pure: the operator keeps them in a Secrets Manager
 * secret of their own (SecretString: a JSON object of environment variables) and names it in
 * `aws.agentEnvSecretArn`; the roles that run the agent worker may read exactly that secret, and
 * boot.sh converts it into the worker's env file (components/livekit/agent-env.ts).
 *
 * Why the operator's secret and not a Pulumi secret: the keys never enter Pulumi config or state
 * (nor a preview or a plan), and rotating one is `aws secretsmanager put-secret-value` plus a
 * restart of the worker, with no deploy.
 */
import { agentProviderKeys } from '../agent-providers.js';
import { ConfigError, type StackConfig } from '../config.js';
import { isReservedAgentEnvName } from '../livekit/agent-env.js';
import { isSecretArn, regionOfSecretArn, type SecretArn } from '../livekit/secret-arn.js';

/** The agent env secret as the components use it. */
export interface AgentEnvPlacement {
  /** Full ARN of the operator's secret. */
  secretArn: SecretArn;
  /** Customer managed KMS key the secret is encrypted with (kms:Decrypt through Secrets Manager), or null for aws/secretsmanager. */
  kmsKeyArn: string | null;
  /** The variables the configured providers need: a boot warning names any the secret lacks. */
  expectedKeys: string[];
}

/** The name the README suggests for the secret. */
export function agentEnvSecretName(stack: string): string {
  return `voice-agent/${stack}/agent-env`;
}

// The 6 characters Secrets Manager appends to a secret's name: IAM matches the full ARN only.
const FULL_SECRET_ARN_SUFFIX = /-[A-Za-z0-9]{6}$/;
const KMS_KEY_ARN = /^arn:(aws|aws-[a-z]+(?:-[a-z]+)*):kms:([a-z]{2}(?:-[a-z]+)+-\d):(\d{12}):key\/(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$/;

/**
 * Checks `aws.agentEnvSecretArn` (required: without it no worker can answer a call) and
 * `aws.agentEnvKmsKeyArn`. Throws one ConfigError naming the key, with the command that creates
 * the secret for this stack's providers.
 */
export function checkAgentEnvConfig(config: StackConfig, stack = '<stack>'): AgentEnvPlacement {
  const { agentEnvSecretArn: arn, agentEnvKmsKeyArn: kmsKeyArn } = config.aws;
  const expectedKeys = agentProviderKeys(config);
  const example = `{${expectedKeys.map((k) => `"${k}":"..."`).join(',')}}`;
  const create = `aws secretsmanager create-secret --name ${agentEnvSecretName(stack)} --secret-string '${example}'`;
  if (arn === undefined || arn === '') {
    throw new ConfigError(
      'aws.agentEnvSecretArn',
      arn,
      `is required: the agent worker reads its provider API keys (${expectedKeys.join(', ')} for these providers) from a Secrets Manager secret you own; create it with \`${create}\` and set the ARN it prints`,
    );
  }
  if (!isSecretArn(arn) || !FULL_SECRET_ARN_SUFFIX.test(arn)) {
    throw new ConfigError(
      'aws.agentEnvSecretArn',
      arn,
      'must be the full ARN of a Secrets Manager secret, with the 6 characters Secrets Manager appends to its name (arn:aws:secretsmanager:<region>:<account>:secret:<name>-AbCdEf; `aws secretsmanager describe-secret --secret-id <name> --query ARN`)',
    );
  }
  if (kmsKeyArn !== undefined) {
    const match = KMS_KEY_ARN.exec(kmsKeyArn);
    if (!match) {
      throw new ConfigError('aws.agentEnvKmsKeyArn', kmsKeyArn, 'must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<key id>; an alias does not work in an IAM policy)');
    }
    if (match[2] !== regionOfSecretArn(arn)) {
      throw new ConfigError('aws.agentEnvKmsKeyArn', kmsKeyArn, `must be in the secret's region (${regionOfSecretArn(arn)}): Secrets Manager encrypts with a key of its own region`);
    }
  }
  for (const key of expectedKeys) if (isReservedAgentEnvName(key)) throw new Error(`provider key ${key} collides with a name the stack sets`);
  return { secretArn: arn, kmsKeyArn: kmsKeyArn ?? null, expectedKeys };
}
