/**
 * Agent workers (mid, large): an autoscaling group running the voice-agent image, sized min/max
 * by the plan (busy hour to spike). It scales with two target-tracking policies: queue backlog per in-service
 * instance (metric math over the waiting-calls metric the dispatcher publishes) and CPU. Target
 * tracking scales out when any policy asks and in only when all agree, so the CPU policy holds
 * the fleet while calls are active and the queue is empty.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { CLOUDWATCH_STACK_DIMENSION, METRICS } from '@voice-agent-infra/common';
import type { CpuArchitecture } from '../plan/instances.js';
import type { Range } from '../plan/plan.js';
import { nodeAmiId, type Tags } from './common.js';
import { lifecyclePolicyDocument } from './instance-role.js';
import { groupArgs, INSTANCE_WARMUP_SECONDS, launchTemplateArgs, terminationHookArgs } from './scaling-group.js';


/**
 * Metric math of the backlog policy: waiting calls (the stack's custom metric) over in-service
 * instances (AWS/AutoScaling, needs group metrics). Exactly one query returns data.
 */
export function backlogMetrics(args: { namespace: string; stack: string; groupName: pulumi.Input<string> }) {
  return [
    {
      id: 'waiting',
      label: 'calls waiting for an agent',
      metricStat: {
        metric: {
          namespace: args.namespace,
          metricName: METRICS.queueWaitingCalls.cloudWatch,
          dimensions: [{ name: CLOUDWATCH_STACK_DIMENSION, value: args.stack }],
        },
        stat: 'Average',
      },
      returnData: false,
    },
    {
      id: 'instances',
      label: 'in-service agent instances',
      metricStat: {
        metric: { namespace: 'AWS/AutoScaling', metricName: 'GroupInServiceInstances', dimensions: [{ name: 'AutoScalingGroupName', value: args.groupName }] },
        stat: 'Average',
      },
      returnData: false,
    },
    { id: 'backlog', label: 'waiting calls per in-service instance', expression: 'waiting / instances', returnData: true },
  ];
}

export interface AgentFleetArgs {
  /** Instance type chosen by the plan (plan.agents.instanceType), e.g. "c7i.xlarge". */
  instanceType: string;
  /** Its CPU architecture (plan.agents.architecture): picks the AMI. */
  architecture: CpuArchitecture;
  /** Workers at the busy hour and at the spike (plan.agents.workers). */
  workers: Range;
  /** Public subnets across zones. */
  subnetIds: pulumi.Input<string[]>;
  /** The agents' security group (no ingress). */
  securityGroupIds: pulumi.Input<string>[];
  /** Instance profile ARN (InstanceRole). */
  instanceProfileArn: pulumi.Input<string>;
  /** cloud-init user data, plain text (no secret). */
  userData: pulumi.Input<string>;
  /** Pinned AMI (aws.amiId), or null for the newest Ubuntu 24.04 (a new one rolls the group, drained). */
  amiId: string | null;
  /** Name of the instance role: it gets CompleteLifecycleAction on this group only. */
  instanceRoleName: pulumi.Input<string>;
  /** Seconds an instance may drain its calls before termination (plan.layout.drain.agentSeconds, plus the agent's close time). */
  drainSeconds: number;
  /** Seconds of health check grace after launch (aws.healthCheckGraceSeconds). */
  healthCheckGraceSeconds: number;
  /** Root volume, GiB of encrypted gp3 (plan.costInputs.rootVolumeGiB). */
  rootVolumeGiB: number;
  /** Target tracking on queue backlog and CPU between the plan's min and max. */
  scaling: {
    /** Waiting calls per in-service instance the group holds (the layout's queue-waiting signal, backlogPerWorkerTarget). */
    backlogPerInstance: number;
    /** Average CPU percent the group holds (the layout's cpu signal). */
    cpuPercent: number;
    /** CloudWatch namespace and Stack dimension of the waiting-calls metric. */
    metricsNamespace: string;
    stack: string;
  };
  /** Tags on every resource. */
  tags: Tags;
}

/** Launch template, autoscaling group and its two target-tracking policies. */
export class AgentFleet extends pulumi.ComponentResource {
  public readonly launchTemplate: aws.ec2.LaunchTemplate;
  public readonly group: aws.autoscaling.Group;
  /** Holds terminating instances until their calls have drained (the drain-watch container completes it). */
  public readonly drainHook: aws.autoscaling.LifecycleHook;
  public readonly policies: aws.autoscaling.Policy[] = [];

  constructor(name: string, args: AgentFleetArgs, opts?: pulumi.ComponentResourceOptions) {
    super('voice-agent-infra:aws:AgentFleet', name, {}, opts);
    this.launchTemplate = new aws.ec2.LaunchTemplate(
      `${name}`,
      launchTemplateArgs({
        name,
        instanceType: args.instanceType,
        amiId: nodeAmiId(args.architecture, args.amiId, { parent: this }),
        instanceProfileArn: args.instanceProfileArn,
        securityGroupIds: args.securityGroupIds,
        userData: args.userData,
        rootVolumeGiB: args.rootVolumeGiB,
        tags: args.tags,
        component: 'agent-fleet',
      }),
      { parent: this },
    );
    this.group = new aws.autoscaling.Group(
      `${name}`,
      groupArgs({
        name,
        size: args.workers,
        subnetIds: args.subnetIds,
        launchTemplateId: this.launchTemplate.id,
        launchTemplateVersion: this.launchTemplate.latestVersion.apply(String),
        healthCheckGraceSeconds: args.healthCheckGraceSeconds,
        tags: args.tags,
        component: 'agent-fleet',
      }),
      { parent: this },
    );
    this.policies.push(
      new aws.autoscaling.Policy(
        `${name}-backlog`,
        {
          autoscalingGroupName: this.group.name,
          policyType: 'TargetTrackingScaling',
          estimatedInstanceWarmup: INSTANCE_WARMUP_SECONDS,
          targetTrackingConfiguration: {
            targetValue: args.scaling.backlogPerInstance,
            customizedMetricSpecification: {
              metrics: backlogMetrics({ namespace: args.scaling.metricsNamespace, stack: args.scaling.stack, groupName: this.group.name }),
            },
          },
        },
        { parent: this },
      ),
      new aws.autoscaling.Policy(
        `${name}-cpu`,
        {
          autoscalingGroupName: this.group.name,
          policyType: 'TargetTrackingScaling',
          estimatedInstanceWarmup: INSTANCE_WARMUP_SECONDS,
          targetTrackingConfiguration: {
            targetValue: args.scaling.cpuPercent,
            predefinedMetricSpecification: { predefinedMetricType: 'ASGAverageCPUUtilization' },
          },
        },
        { parent: this },
      ),
    );
    // Scale-in, instance refresh and replacements drop no call: the hook holds the instance, its
    // drain watcher (compose service drain-watch) drains the calls and completes the action.
    this.drainHook = new aws.autoscaling.LifecycleHook(`${name}-drain`, terminationHookArgs(this.group.name, args.drainSeconds), { parent: this });
    new aws.iam.RolePolicy(
      `${name}-lifecycle`,
      { role: args.instanceRoleName, policy: this.group.arn.apply((arn) => JSON.stringify(lifecyclePolicyDocument(arn))) },
      { parent: this },
    );
    this.registerOutputs({ groupName: this.group.name, launchTemplateId: this.launchTemplate.id });
  }
}
