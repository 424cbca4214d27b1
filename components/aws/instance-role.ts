/**
 * The instance role of one compute group (LiveKit nodes, or agent workers), least privilege:
 * read this stack's secrets (by ARN, nothing else), put metrics into the stack's namespace only,
 * write to the stack's log group, pull the agent image, and SSM Session Manager for operators
 * (no SSH key, no port 22).
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { named, type Tags } from './common.js';

/** AWS's managed policy for Session Manager and the SSM agent. */
export const SSM_CORE_POLICY_ARN = 'arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore';

export interface PolicyStatement {
  Sid: string;
  Effect: 'Allow';
  Action: string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string>>;
}

export interface PolicyDocument {
  Version: '2012-10-17';
  Statement: PolicyStatement[];
}

export interface InstancePolicyInputs {
  /** Secrets this group reads at boot (ARNs). */
  secretArns: readonly string[];
  /** The only CloudWatch namespace it may put metrics into. */
  metricsNamespace: string;
  /** Log group ARN (without the trailing ":*"). */
  logGroupArn: string;
  /** ECR repository of the agent image, or null for an image outside ECR. */
  ecrRepositoryArn: string | null;
  /** SSM parameters the group reads (the single node's agent image parameter); default none. */
  parameterArns?: readonly string[];
  /** The operator's agent env secret, for the groups that run the agent worker; default none. */
  agentEnv?: AgentEnvGrant;
}

/** The agent worker's environment secret (aws.agentEnvSecretArn) and the KMS key it is encrypted with, if a customer's. */
export interface AgentEnvGrant {
  secretArn: string;
  kmsKeyArn: string | null;
}

/**
 * Reading the operator's agent env secret: GetSecretValue on that ARN alone; with a customer managed
 * key, kms:Decrypt on that key only through Secrets Manager in the secret's region and only for
 * that secret (Secrets Manager's encryption context holds the secret's ARN: AWS Secrets Manager
 * User Guide, "Secret encryption and decryption", encryption context). The key's policy must also
 * let the account's IAM policies grant it (a key's default policy does).
 */
export function agentEnvStatements(grant: AgentEnvGrant): PolicyStatement[] {
  const statements: PolicyStatement[] = [{ Sid: 'ReadAgentEnvSecret', Effect: 'Allow', Action: ['secretsmanager:GetSecretValue'], Resource: grant.secretArn }];
  if (grant.kmsKeyArn) {
    const region = grant.secretArn.split(':')[3];
    statements.push({
      Sid: 'DecryptAgentEnvSecret',
      Effect: 'Allow',
      Action: ['kms:Decrypt'],
      Resource: grant.kmsKeyArn,
      Condition: { StringEquals: { 'kms:ViaService': `secretsmanager.${region}.amazonaws.com`, 'kms:EncryptionContext:SecretARN': grant.secretArn } },
    });
  }
  return statements;
}

/** The inline policy of an instance role. Pure, so the grants are tested as data. */
export function instancePolicyDocument(inputs: InstancePolicyInputs): PolicyDocument {
  const statements: PolicyStatement[] = [
    { Sid: 'ReadStackSecrets', Effect: 'Allow', Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'], Resource: [...inputs.secretArns] },
    {
      Sid: 'PutStackMetrics',
      Effect: 'Allow',
      Action: ['cloudwatch:PutMetricData'],
      // PutMetricData has no resource ARN; the namespace condition is the only way to scope it.
      Resource: '*',
      Condition: { StringEquals: { 'cloudwatch:namespace': inputs.metricsNamespace } },
    },
    {
      Sid: 'WriteStackLogs',
      Effect: 'Allow',
      Action: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
      Resource: [inputs.logGroupArn, `${inputs.logGroupArn}:*`],
    },
  ];
  if (inputs.ecrRepositoryArn) {
    // GetAuthorizationToken has no resource scope; the pull itself is limited to the one repository.
    statements.push({ Sid: 'EcrLogin', Effect: 'Allow', Action: ['ecr:GetAuthorizationToken'], Resource: '*' });
    statements.push({
      Sid: 'PullAgentImage',
      Effect: 'Allow',
      Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchCheckLayerAvailability'],
      Resource: inputs.ecrRepositoryArn,
    });
  }
  if (inputs.parameterArns && inputs.parameterArns.length > 0) {
    statements.push({ Sid: 'ReadStackParameters', Effect: 'Allow', Action: ['ssm:GetParameter'], Resource: [...inputs.parameterArns] });
  }
  if (inputs.agentEnv) statements.push(...agentEnvStatements(inputs.agentEnv));
  return { Version: '2012-10-17', Statement: statements };
}

/**
 * What an autoscaled instance's drain watcher may do: complete (or extend) the lifecycle action of
 * its own group only (these actions take the group's ARN as resource), and look up which group an
 * instance belongs to (DescribeAutoScalingInstances has no resource scope). Source: Service
 * Authorization Reference, "Actions defined by Amazon EC2 Auto Scaling".
 */
export function lifecyclePolicyDocument(groupArn: string): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      { Sid: 'CompleteOwnLifecycleActions', Effect: 'Allow', Action: ['autoscaling:CompleteLifecycleAction', 'autoscaling:RecordLifecycleActionHeartbeat'], Resource: groupArn },
      { Sid: 'FindOwnGroup', Effect: 'Allow', Action: ['autoscaling:DescribeAutoScalingInstances'], Resource: '*' },
    ],
  };
}

/** The EC2 trust policy: only EC2 instances assume the role. */
export const EC2_ASSUME_ROLE_POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});

/**
 * The ECR repository ARN of an image reference (`<account>.dkr.ecr.<region>.amazonaws.com/<repo>[:tag|@digest]`),
 * or null for a registry outside ECR (nothing to grant).
 */
export function ecrRepositoryArnOfImage(image: string, partition = 'aws'): string | null {
  const match = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/([^:@]+)/.exec(image);
  if (!match) return null;
  return `arn:${partition}:ecr:${match[2]}:${match[1]}:repository/${match[3]}`;
}

export interface InstanceRoleArgs {
  /** Secrets this group reads at boot (ARNs from StackSecrets). */
  secretArns: pulumi.Input<string>[];
  /** CloudWatch namespace of the stack's metrics (DEFAULT_METRICS_NAMESPACE). */
  metricsNamespace: string;
  /** The stack's log group ARN. */
  logGroupArn: pulumi.Input<string>;
  /** ECR repository ARN of the agent image, or null when the image is outside ECR. */
  ecrRepositoryArn: pulumi.Input<string | null>;
  /** SSM parameters the group reads (the single node's agent image); default none. */
  parameterArns?: pulumi.Input<string>[];
  /** The operator's agent env secret: the groups that run the agent worker; default none. */
  agentEnv?: AgentEnvGrant;
  /** Tags on the role. */
  tags: Tags;
}

/** An IAM role, its inline least-privilege policy, SSM core, and the instance profile. */
export class InstanceRole extends pulumi.ComponentResource {
  public readonly role: aws.iam.Role;
  public readonly instanceProfile: aws.iam.InstanceProfile;

  constructor(name: string, args: InstanceRoleArgs, opts?: pulumi.ComponentResourceOptions) {
    super('voice-agent-infra:aws:InstanceRole', name, {}, opts);
    this.role = new aws.iam.Role(
      `${name}`,
      { assumeRolePolicy: EC2_ASSUME_ROLE_POLICY, description: 'Voice agent instances: stack secrets, metrics, logs, image pull, SSM', tags: named(args.tags, name, 'iam') },
      { parent: this },
    );
    new aws.iam.RolePolicy(
      `${name}-policy`,
      {
        role: this.role.id,
        policy: pulumi
          .all([pulumi.all(args.secretArns), args.logGroupArn, args.ecrRepositoryArn, pulumi.all(args.parameterArns ?? [])])
          .apply(([secretArns, logGroupArn, ecrRepositoryArn, parameterArns]) =>
            JSON.stringify(
              instancePolicyDocument({ secretArns, metricsNamespace: args.metricsNamespace, logGroupArn, ecrRepositoryArn, parameterArns, ...(args.agentEnv ? { agentEnv: args.agentEnv } : {}) }),
            ),
          ),
      },
      { parent: this },
    );
    new aws.iam.RolePolicyAttachment(`${name}-ssm`, { role: this.role.name, policyArn: SSM_CORE_POLICY_ARN }, { parent: this });
    this.instanceProfile = new aws.iam.InstanceProfile(`${name}`, { role: this.role.name, tags: named(args.tags, name, 'iam') }, { parent: this });
    this.registerOutputs({ roleArn: this.role.arn, instanceProfileArn: this.instanceProfile.arn });
  }
}
