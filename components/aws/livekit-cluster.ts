/**
 * LiveKit nodes of the large tier: an autoscaling group of public-IP instances (ICE candidates
 * carry each node's own address) registered with the NLB target groups, sized min/max by the
 * plan, scaled on CPU (LiveKit's Helm chart uses 60%). Each node also runs the intake and the
 * dispatcher (role livekit-large), so webhooks stay on loopback; Redis is ElastiCache.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { CpuArchitecture } from '../plan/instances.js';
import type { Range } from '../plan/plan.js';
import { nodeAmiId, type Tags } from './common.js';
import { lifecyclePolicyDocument } from './instance-role.js';
import { groupArgs, INSTANCE_WARMUP_SECONDS, launchTemplateArgs, terminationHookArgs } from './scaling-group.js';


export interface LivekitClusterArgs {
  /** Instance type from the plan (plan.livekit.instanceType). */
  instanceType: string;
  /** Its CPU architecture (plan.livekit.architecture). */
  architecture: CpuArchitecture;
  /** Nodes at the busy hour and at the spike (plan.livekit.nodes). */
  nodes: Range;
  /** Public subnets across zones. */
  subnetIds: pulumi.Input<string[]>;
  /** The LiveKit security group. */
  securityGroupIds: pulumi.Input<string>[];
  /** Instance profile ARN (InstanceRole). */
  instanceProfileArn: pulumi.Input<string>;
  /** cloud-init user data, plain text (no secret). */
  userData: pulumi.Input<string>;
  /** Pinned AMI (aws.amiId), or null for the newest Ubuntu 24.04 (a new one rolls the group, drained). */
  amiId: string | null;
  /** Name of the instance role: it gets CompleteLifecycleAction on this group only. */
  instanceRoleName: pulumi.Input<string>;
  /** Seconds an instance may drain its calls before termination (plan.layout.drain.livekitSeconds). */
  drainSeconds: number;
  /** Seconds of health check grace after launch (aws.healthCheckGraceSeconds). */
  healthCheckGraceSeconds: number;
  /** Root volume, GiB of encrypted gp3. */
  rootVolumeGiB: number;
  /** NLB target groups (signalling, TURN/TLS, operator). */
  targetGroupArns: pulumi.Input<string>[];
  /** Average CPU percent the group holds (the layout's LiveKit cpu signal). */
  cpuPercent: number;
  /** Tags on every resource. */
  tags: Tags;
}

/** Launch template, autoscaling group behind the NLBs, CPU target tracking. */
export class LivekitCluster extends pulumi.ComponentResource {
  public readonly launchTemplate: aws.ec2.LaunchTemplate;
  public readonly group: aws.autoscaling.Group;
  /** Holds terminating instances until their calls have drained (the drain-watch container completes it). */
  public readonly drainHook: aws.autoscaling.LifecycleHook;
  public readonly cpuPolicy: aws.autoscaling.Policy;

  constructor(name: string, args: LivekitClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super('voice-agent-infra:aws:LivekitCluster', name, {}, opts);
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
        component: 'livekit',
      }),
      { parent: this },
    );
    this.group = new aws.autoscaling.Group(
      `${name}`,
      groupArgs({
        name,
        size: args.nodes,
        subnetIds: args.subnetIds,
        launchTemplateId: this.launchTemplate.id,
        launchTemplateVersion: this.launchTemplate.latestVersion.apply(String),
        healthCheckGraceSeconds: args.healthCheckGraceSeconds,
        targetGroupArns: args.targetGroupArns,
        tags: args.tags,
        component: 'livekit',
      }),
      { parent: this },
    );
    this.cpuPolicy = new aws.autoscaling.Policy(
      `${name}-cpu`,
      {
        autoscalingGroupName: this.group.name,
        policyType: 'TargetTrackingScaling',
        estimatedInstanceWarmup: INSTANCE_WARMUP_SECONDS,
        targetTrackingConfiguration: {
          targetValue: args.cpuPercent,
          predefinedMetricSpecification: { predefinedMetricType: 'ASGAverageCPUUtilization' },
        },
      },
      { parent: this },
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
