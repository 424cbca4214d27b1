/**
 * One LiveKit instance with an Elastic IP (small: the whole stack on this box; mid: LiveKit,
 * Redis, intake and dispatcher behind the NLB). The Elastic IP keeps the address ICE candidates
 * and DNS point at across instance replacements.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { CpuArchitecture } from '../plan/instances.js';
import { encryptedRootVolume, IMDSV2_METADATA_OPTIONS, named, nodeAmiId, type Tags } from './common.js';

export interface LivekitNodeArgs {
  /** Instance type from the plan (plan.livekit.instanceType), e.g. "c7i.2xlarge". */
  instanceType: string;
  /** CPU architecture of that type (plan.livekit.architecture): picks the AMI. */
  architecture: CpuArchitecture;
  /** Public subnet to launch in. */
  subnetId: pulumi.Input<string>;
  /** Security groups (the LiveKit group). */
  securityGroupIds: pulumi.Input<string>[];
  /** Instance profile name (InstanceRole). */
  instanceProfileName: pulumi.Input<string>;
  /** cloud-init user data (plain text, no secret). */
  userData: pulumi.Input<string>;
  /** Root volume, GiB of encrypted gp3 (plan.costInputs.rootVolumeGiB). */
  rootVolumeGiB: number;
  /** NLB target groups to register with (mid); none on small. */
  targetGroupArns: pulumi.Input<string>[];
  /** Tags on every resource. */
  tags: Tags;
}

/** A single LiveKit node: instance, Elastic IP, target group registrations. */
export class LivekitNode extends pulumi.ComponentResource {
  public readonly instance: aws.ec2.Instance;
  public readonly elasticIp: aws.ec2.Eip;
  /** The node's public address (ICE candidates, DNS on small). */
  public readonly publicIp: pulumi.Output<string>;
  /** Private address (the mid agents reach Redis there). */
  public readonly privateIp: pulumi.Output<string>;

  constructor(name: string, args: LivekitNodeArgs, opts?: pulumi.ComponentResourceOptions) {
    super('voice-agent-infra:aws:LivekitNode', name, {}, opts);
    this.instance = new aws.ec2.Instance(
      `${name}`,
      {
        ami: nodeAmiId(args.architecture, { parent: this }),
        instanceType: args.instanceType,
        subnetId: args.subnetId,
        vpcSecurityGroupIds: args.securityGroupIds,
        iamInstanceProfile: args.instanceProfileName,
        userData: args.userData,
        // cloud-init writes files only at first boot: a new user data needs a new instance.
        userDataReplaceOnChange: true,
        metadataOptions: { ...IMDSV2_METADATA_OPTIONS },
        rootBlockDevice: encryptedRootVolume(args.rootVolumeGiB),
        monitoring: false,
        tags: named(args.tags, name, 'livekit'),
        volumeTags: named(args.tags, name, 'livekit'),
      },
      { parent: this },
    );
    this.elasticIp = new aws.ec2.Eip(`${name}`, { domain: 'vpc', tags: named(args.tags, name, 'livekit') }, { parent: this });
    new aws.ec2.EipAssociation(`${name}`, { allocationId: this.elasticIp.allocationId, instanceId: this.instance.id }, { parent: this });
    for (const [i, targetGroupArn] of args.targetGroupArns.entries()) {
      new aws.lb.TargetGroupAttachment(`${name}-target-${i}`, { targetGroupArn, targetId: this.instance.id }, { parent: this });
    }
    this.publicIp = this.elasticIp.publicIp;
    this.privateIp = this.instance.privateIp;
    this.registerOutputs({ instanceId: this.instance.id, publicIp: this.publicIp, privateIp: this.privateIp });
  }
}
