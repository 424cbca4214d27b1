/**
 * InferenceFleet: one local model's GPU servers on AWS, built from the plan (plan.inference.<m>).
 * - An autoscaling group of one-GPU instances (busy-hour to spike size), the GPU AMI from AWS's
 *   public SSM parameter unless pinned (inference.amiId), each running the model server in docker
 *   compose (components/inference/cloud-init.ts). A new AMI or user data reaches the group only
 *   through its rolling instance refresh (launch first, 100% healthy), each old instance held by
 *   the termination hook until its server has drained: lifecycle-safe like the other groups.
 * - An internal Network Load Balancer in front, TCP on the server port, health from the server's
 *   GET /health; reachable from the agent workers' security group only (the instances admit the
 *   load balancer's group only). The agents get its DNS name (LOCAL_LLM_URL ...).
 * - Target tracking on the server's queue (vLLM: running + waiting requests per instance) or on
 *   GPU utilisation, from the metrics each instance publishes.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { GPU_AMI, INFERENCE_METRICS, MODEL_LOAD_SECONDS, renderInferenceCloudInit, scalingMetricName } from '../inference/cloud-init.js';
import type { InferenceServerPlan } from '../inference/plan.js';
import { named, type Tags } from './common.js';
import { EC2_ASSUME_ROLE_POLICY, lifecyclePolicyDocument, type PolicyDocument, SSM_CORE_POLICY_ARN } from './instance-role.js';
import { groupArgs, launchTemplateArgs, terminationHookArgs } from './scaling-group.js';
import { ruleDescription } from './security-groups.js';

/** Component tag of the inference groups (the policies require a termination hook on them). */
export const INFERENCE_COMPONENT = 'inference';
/** Seconds of health check grace of a GPU instance: a first boot pulls the server image (~10 GB) and loads the model. */
export const INFERENCE_HEALTH_GRACE_SECONDS = MODEL_LOAD_SECONDS + 300;

/**
 * The GPU AMI: pinned (inference.amiId), else the public SSM parameter's current value. A lookup
 * changes when AWS publishes a new DLAMI; the group then rolls through its instance refresh, drained.
 */
export function gpuAmiId(amiId: string | null, opts?: pulumi.InvokeOutputOptions): pulumi.Output<string> {
  if (amiId) return pulumi.output(amiId);
  return aws.ssm.getParameterOutput({ name: GPU_AMI.ssmParameter }, opts).apply((p) => p.value);
}

/**
 * The inline policy of an inference instance: metrics into the stack's namespace only, its
 * container logs into the stack's log group. No secret, no registry (the images are public).
 * Completing its own group's lifecycle action is a separate policy (lifecyclePolicyDocument).
 */
export function inferencePolicyDocument(inputs: { metricsNamespace: string; logGroupArn: string }): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'PutStackMetrics',
        Effect: 'Allow',
        Action: ['cloudwatch:PutMetricData'],
        Resource: '*',
        Condition: { StringEquals: { 'cloudwatch:namespace': inputs.metricsNamespace } },
      },
      {
        Sid: 'WriteStackLogs',
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
        Resource: [inputs.logGroupArn, `${inputs.logGroupArn}:*`],
      },
    ],
  };
}

/** The scaling policy's metric: the one the instances publish, averaged over the group's instances. */
export function inferenceScalingMetric(server: InferenceServerPlan, args: { namespace: string; stack: string }) {
  return {
    namespace: args.namespace,
    metricName: scalingMetricName(server.modality),
    statistic: 'Average',
    metricDimensions: [
      { name: 'Stack', value: args.stack },
      { name: 'Modality', value: server.modality },
    ],
  };
}

export interface InferenceFleetArgs {
  /** The server to run (plan.inference.llm, .stt or .tts): instance type, GPUs min/max, image, port, scaling. */
  server: InferenceServerPlan;
  /** Stack name: the metrics' Stack dimension. */
  stack: string;
  vpcId: pulumi.Input<string>;
  /** Subnets across zones (public, as every group of the stack: image and weight downloads without a NAT). */
  subnetIds: pulumi.Input<string[]>;
  /** The security group of the machines that run the agent (the only ones that reach the server). */
  clientSecurityGroupId: pulumi.Input<string>;
  /** Pinned GPU AMI (inference.amiId), or null for the public SSM parameter. */
  amiId: string | null;
  /** The provider's region (aws.getRegionOutput()). */
  region: pulumi.Input<string>;
  /** CloudWatch namespace of the stack's metrics. */
  metricsNamespace: string;
  /** The stack's log group. */
  logGroupName: pulumi.Input<string>;
  logGroupArn: pulumi.Input<string>;
  /** Seconds of health check grace after launch; at least INFERENCE_HEALTH_GRACE_SECONDS. */
  healthCheckGraceSeconds: number;
  tags: Tags;
}

/** One local model's GPU group, its internal load balancer, security groups, role and scaling. */
export class InferenceFleet extends pulumi.ComponentResource {
  public readonly group: aws.autoscaling.Group;
  public readonly launchTemplate: aws.ec2.LaunchTemplate;
  public readonly loadBalancer: aws.lb.LoadBalancer;
  public readonly targetGroup: aws.lb.TargetGroup;
  public readonly drainHook: aws.autoscaling.LifecycleHook;
  public readonly securityGroup: aws.ec2.SecurityGroup;
  public readonly loadBalancerSecurityGroup: aws.ec2.SecurityGroup;
  /** The load balancer's DNS name: what the agents dial. */
  public readonly host: pulumi.Output<string>;

  constructor(name: string, args: InferenceFleetArgs, opts?: pulumi.ComponentResourceOptions) {
    super('voice-agent-infra:aws:InferenceFleet', name, {}, opts);
    const { server } = args;
    const child = { parent: this };
    const tags = (suffix: string) => named(args.tags, `${name}${suffix}`, INFERENCE_COMPONENT);
    const label = `${server.modality.toUpperCase()} server`;

    // The load balancer admits the agents; the instances admit the load balancer (traffic and health checks).
    this.loadBalancerSecurityGroup = new aws.ec2.SecurityGroup(
      `${name}-lb`,
      { vpcId: args.vpcId, description: `Internal load balancer of the local ${label}: from the agent workers only`, tags: tags('-lb') },
      child,
    );
    this.securityGroup = new aws.ec2.SecurityGroup(
      `${name}`,
      { vpcId: args.vpcId, description: `Local ${label} instances: the server port from their load balancer only`, tags: tags('') },
      child,
    );
    const port = { ipProtocol: 'tcp', fromPort: server.port, toPort: server.port };
    new aws.vpc.SecurityGroupIngressRule(
      `${name}-lb-from-agents`,
      { securityGroupId: this.loadBalancerSecurityGroup.id, ...port, referencedSecurityGroupId: args.clientSecurityGroupId, description: ruleDescription(`agent workers: the local ${label} (OpenAI-compatible API)`), tags: tags('-lb-from-agents') },
      child,
    );
    new aws.vpc.SecurityGroupEgressRule(
      `${name}-lb-to-servers`,
      { securityGroupId: this.loadBalancerSecurityGroup.id, ...port, referencedSecurityGroupId: this.securityGroup.id, description: ruleDescription('requests and health checks to the servers'), tags: tags('-lb-to-servers') },
      child,
    );
    new aws.vpc.SecurityGroupIngressRule(
      `${name}-from-lb`,
      { securityGroupId: this.securityGroup.id, ...port, referencedSecurityGroupId: this.loadBalancerSecurityGroup.id, description: ruleDescription('the internal load balancer: requests and health checks'), tags: tags('-from-lb') },
      child,
    );
    new aws.vpc.SecurityGroupEgressRule(
      `${name}-egress`,
      { securityGroupId: this.securityGroup.id, ipProtocol: '-1', cidrIpv4: '0.0.0.0/0', description: ruleDescription('image and model downloads, AWS APIs') },
      child,
    );

    this.loadBalancer = new aws.lb.LoadBalancer(
      `${name}`,
      {
        loadBalancerType: 'network',
        internal: true,
        subnets: args.subnetIds,
        securityGroups: [this.loadBalancerSecurityGroup.id],
        // An agent in any zone reaches a server in any zone (a group of one GPU lives in one zone).
        enableCrossZoneLoadBalancing: true,
        tags: tags(''),
      },
      child,
    );
    this.targetGroup = new aws.lb.TargetGroup(
      `${name}`,
      {
        vpcId: args.vpcId,
        targetType: 'instance',
        protocol: 'TCP',
        port: server.port,
        // The server's own readiness: vLLM answers 503 when its engine is dead.
        healthCheck: { protocol: 'HTTP', port: String(server.port), path: server.healthPath, matcher: '200', healthyThreshold: 2, unhealthyThreshold: 2, interval: 10, timeout: 5 },
        // A deregistering server keeps its open requests this long (a turn takes seconds).
        deregistrationDelay: server.drainSeconds,
        tags: tags(''),
      },
      child,
    );
    new aws.lb.Listener(
      `${name}`,
      { loadBalancerArn: this.loadBalancer.arn, protocol: 'TCP', port: server.port, defaultActions: [{ type: 'forward', targetGroupArn: this.targetGroup.arn }], tags: tags('') },
      child,
    );

    const role = new aws.iam.Role(
      `${name}-role`,
      { assumeRolePolicy: EC2_ASSUME_ROLE_POLICY, description: 'Voice agent inference instances: metrics, logs, lifecycle, SSM', tags: tags('-role') },
      child,
    );
    new aws.iam.RolePolicy(
      `${name}-policy`,
      { role: role.id, policy: pulumi.output(args.logGroupArn).apply((logGroupArn) => JSON.stringify(inferencePolicyDocument({ metricsNamespace: args.metricsNamespace, logGroupArn }))) },
      child,
    );
    new aws.iam.RolePolicyAttachment(`${name}-ssm`, { role: role.name, policyArn: SSM_CORE_POLICY_ARN }, child);
    const profile = new aws.iam.InstanceProfile(`${name}-role`, { role: role.name, tags: tags('-role') }, child);

    const userData = pulumi
      .all([args.region, args.logGroupName])
      .apply(([region, logGroupName]) => renderInferenceCloudInit({ server, stack: args.stack, metricsNamespace: args.metricsNamespace, region, logGroupName }));
    this.launchTemplate = new aws.ec2.LaunchTemplate(
      `${name}`,
      launchTemplateArgs({
        name,
        instanceType: server.instanceType,
        amiId: gpuAmiId(args.amiId, child),
        instanceProfileArn: profile.arn,
        securityGroupIds: [this.securityGroup.id],
        userData,
        rootVolumeGiB: server.rootVolumeGiB,
        tags: args.tags,
        component: INFERENCE_COMPONENT,
      }),
      child,
    );
    const base = groupArgs({
      name,
      size: server.replicas,
      subnetIds: args.subnetIds,
      launchTemplateId: this.launchTemplate.id,
      launchTemplateVersion: this.launchTemplate.latestVersion.apply(String),
      targetGroupArns: [this.targetGroup.arn],
      healthCheckGraceSeconds: Math.max(args.healthCheckGraceSeconds, INFERENCE_HEALTH_GRACE_SECONDS),
      tags: args.tags,
      component: INFERENCE_COMPONENT,
    });
    this.group = new aws.autoscaling.Group(
      `${name}`,
      {
        ...base,
        // A GPU instance serves once its model is loaded, not after the CPU groups' warm-up.
        defaultInstanceWarmup: MODEL_LOAD_SECONDS,
        instanceRefresh: { strategy: 'Rolling', preferences: { minHealthyPercentage: 100, maxHealthyPercentage: 200, instanceWarmup: String(MODEL_LOAD_SECONDS), skipMatching: true } },
      },
      child,
    );
    new aws.autoscaling.Policy(
      `${name}-${server.scaling.metric}`,
      {
        autoscalingGroupName: this.group.name,
        policyType: 'TargetTrackingScaling',
        estimatedInstanceWarmup: MODEL_LOAD_SECONDS,
        targetTrackingConfiguration: {
          targetValue: server.scaling.target,
          customizedMetricSpecification: inferenceScalingMetric(server, { namespace: args.metricsNamespace, stack: args.stack }),
        },
      },
      child,
    );
    // Scale-in and instance refresh wait for the server's open requests (drain.sh completes the action).
    this.drainHook = new aws.autoscaling.LifecycleHook(`${name}-drain`, terminationHookArgs(this.group.name, server.drainSeconds), child);
    new aws.iam.RolePolicy(`${name}-lifecycle`, { role: role.name, policy: this.group.arn.apply((arn) => JSON.stringify(lifecyclePolicyDocument(arn))) }, child);

    this.host = this.loadBalancer.dnsName;
    this.registerOutputs({ groupName: this.group.name, host: this.host, metric: INFERENCE_METRICS });
  }
}
