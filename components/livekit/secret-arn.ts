/**
 * Secrets cross into user data only as Secrets Manager ARNs: user data is stored and shown in clear
 * text (EC2 console, DescribeInstanceAttribute, Pulumi state), so the renderers take no secret
 * values at all. The type below only admits ARN-shaped strings, and the renderers check the shape
 * again at run time, so a secret cast to `SecretArn` still fails loudly instead of leaking.
 */

/** A Secrets Manager secret ARN, e.g. "arn:aws:secretsmanager:us-east-1:123456789012:secret:lk-api-AbCdEf". */
export type SecretArn = `arn:${string}:secretsmanager:${string}:${string}:secret:${string}`;

// Partition, region, 12-digit account, secret name (letters, digits and /_+=.@-).
const SECRET_ARN = /^arn:(aws|aws-[a-z]+(?:-[a-z]+)*):secretsmanager:([a-z]{2}(?:-[a-z]+)+-\d):(\d{12}):secret:([A-Za-z0-9/_+=.@-]+)$/;

export function isSecretArn(value: string): value is SecretArn {
  return SECRET_ARN.test(value);
}

/** Narrows a string (e.g. a resolved `secret.arn` output) to a SecretArn; throws if it is not one. */
export function secretArn(value: string): SecretArn {
  assertSecretArn('secret ARN', value);
  return value;
}

/** The region an ARN lives in: the boot script reads each secret from its own region. */
export function regionOfSecretArn(arn: SecretArn): string {
  const match = SECRET_ARN.exec(arn);
  if (!match) throw new Error(secretArnError('arn', arn));
  return match[2]!;
}

/** Run-time check of a field typed SecretArn (the type can be cast away; this cannot). */
export function assertSecretArn(field: string, value: string): asserts value is SecretArn {
  if (!isSecretArn(value)) throw new Error(secretArnError(field, value));
}

// The value itself is never echoed: whatever was passed may be the secret.
function secretArnError(field: string, value: string): string {
  return `${field} must be a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>); got a ${value.length}-character string that is not one (secret values never go into user data)`;
}
