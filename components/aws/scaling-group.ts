/**
 * The launch template and autoscaling group settings the LiveKit group (large) and the agent
 * fleet (mid, large) share: IMDSv2 required, encrypted gp3 root, public IP (no NAT), group
 * metrics every minute (target tracking on in-service instances needs them), rolling instance
 * refresh on every new launch template version. Pure functions returning SDK args, so both
 * components build the same hardening and the tests read it as data.
 */
import type * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { Range } from '../plan/plan.js';
import { DRAIN_HOOK_NAME } from '../livekit/layout.js';
import { encodedUserData, IMDSV2_METADATA_OPTIONS, launchTemplateRootVolume, named, type Tags } from './common.js';

/** Group metrics collected every minute: in-service instances feed the backlog-per-instance math. */
export const GROUP_METRICS = [
  'GroupMinSize',
  'GroupMaxSize',
  'GroupDesiredCapacity',
  'GroupInServiceInstances',
  'GroupPendingInstances',
  'GroupTerminatingInstances',
  'GroupTotalInstances',
] as const;

/** Seconds a new instance needs (boot, image pull, LiveKit/worker registration) before it counts. */
export const INSTANCE_WARMUP_SECONDS = 180;

/** Seconds the termination hook waits beyond the drain: the watcher's poll, the stop and the API call. */
export const DRAIN_HOOK_MARGIN_SECONDS = 120;

/**
 * The termination lifecycle hook of a group that holds calls: scale-in, instance refresh and the
 * replacement of an unhealthy instance all wait in Terminating:Wait until the instance's drain
 * watcher completes the action, or the heartbeat (drain + margin, AWS allows 30-7200 s) runs out;
 * then CONTINUE terminates it anyway. Source: Amazon EC2 Auto Scaling API Reference, PutLifecycleHook.
 */
export function terminationHookArgs(groupName: pulumi.Input<string>, drainSeconds: number): aws.autoscaling.LifecycleHookArgs {
  const heartbeatTimeout = drainSeconds + DRAIN_HOOK_MARGIN_SECONDS;
  if (!Number.isInteger(drainSeconds) || heartbeatTimeout < 30 || heartbeatTimeout > 7200) {
    throw new Error(`drainSeconds ${drainSeconds} gives a lifecycle hook heartbeat of ${heartbeatTimeout} s; AWS allows 30-7200`);
  }
  return {
    name: DRAIN_HOOK_NAME,
    autoscalingGroupName: groupName,
    lifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
    heartbeatTimeout,
    defaultResult: 'CONTINUE',
  };
}

export interface LaunchTemplateSpec {
  name: string;
  instanceType: string;
  amiId: pulumi.Input<string>;
  instanceProfileArn: pulumi.Input<string>;
  securityGroupIds: pulumi.Input<string>[];
  /** Plain-text cloud-init (encoded here). */
  userData: pulumi.Input<string>;
  rootVolumeGiB: number;
  tags: Tags;
  component: string;
}

/** Launch template args: hardened, public IP on the primary interface, tags on instances and volumes. */
export function launchTemplateArgs(spec: LaunchTemplateSpec): aws.ec2.LaunchTemplateArgs {
  const tags = named(spec.tags, spec.name, spec.component);
  return {
    imageId: spec.amiId,
    instanceType: spec.instanceType,
    iamInstanceProfile: { arn: spec.instanceProfileArn },
    metadataOptions: { ...IMDSV2_METADATA_OPTIONS },
    blockDeviceMappings: [launchTemplateRootVolume(spec.rootVolumeGiB)],
    networkInterfaces: [{ deviceIndex: 0, associatePublicIpAddress: 'true', securityGroups: spec.securityGroupIds, deleteOnTermination: 'true' }],
    // Launch templates take user data base64-encoded; gzip keeps it far under EC2's 16 KiB.
    userData: encodedUserData(spec.userData),
    updateDefaultVersion: true,
    tagSpecifications: [
      { resourceType: 'instance', tags },
      { resourceType: 'volume', tags },
    ],
    tags,
  };
}

export interface GroupSpec {
  name: string;
  /** min/max from the plan (instances). */
  size: Range;
  subnetIds: pulumi.Input<string[]>;
  launchTemplateId: pulumi.Input<string>;
  launchTemplateVersion: pulumi.Input<string>;
  /** NLB target groups (LiveKit group); health then comes from the NLB's GET /. */
  targetGroupArns?: pulumi.Input<string>[];
  /** Seconds after launch before failed health checks count (a first boot installs Docker and pulls images). */
  healthCheckGraceSeconds: number;
  tags: Tags;
  component: string;
}

/** Autoscaling group args: plan-sized, metrics on, rolling refresh when the template changes. */
export function groupArgs(spec: GroupSpec): aws.autoscaling.GroupArgs {
  const behindLoadBalancer = (spec.targetGroupArns?.length ?? 0) > 0;
  return {
    minSize: spec.size.min,
    maxSize: spec.size.max,
    // No desiredCapacity: the scaling policies own it; a deploy must not reset a scaled-out group.
    vpcZoneIdentifiers: spec.subnetIds,
    launchTemplate: { id: spec.launchTemplateId, version: spec.launchTemplateVersion },
    ...(behindLoadBalancer ? { targetGroupArns: spec.targetGroupArns, healthCheckType: 'ELB' } : { healthCheckType: 'EC2' }),
    healthCheckGracePeriod: spec.healthCheckGraceSeconds,
    defaultInstanceWarmup: INSTANCE_WARMUP_SECONDS,
    // Every replacement (an unhealthy instance, a rebalance) launches first and terminates second,
    // through the termination hook: capacity never dips below the desired size.
    instanceMaintenancePolicy: { minHealthyPercentage: 100, maxHealthyPercentage: 200 },
    enabledMetrics: [...GROUP_METRICS],
    metricsGranularity: '1Minute',
    instanceRefresh: {
      strategy: 'Rolling',
      // Launch before terminate (100-200%): capacity never drops while calls are up.
      preferences: { minHealthyPercentage: 100, maxHealthyPercentage: 200, instanceWarmup: String(INSTANCE_WARMUP_SECONDS), skipMatching: true },
    },
    // Keep calls where they are as long as possible: terminate the newest, least-loaded instances first.
    terminationPolicies: ['OldestLaunchTemplate', 'NewestInstance'],
    tags: Object.entries(named(spec.tags, spec.name, spec.component)).map(([key, value]) => ({ key, value, propagateAtLaunch: false })),
  };
}
