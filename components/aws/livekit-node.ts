/**
 * One LiveKit instance with an Elastic IP (small: the whole stack on this box; mid: LiveKit,
 * Redis, intake and dispatcher behind the NLB). The Elastic IP keeps the address ICE candidates
 * and DNS point at across instance replacements; an encrypted data volume keeps Redis's AOF and
 * Caddy's certificates across them.
 *
 * Routine changes never touch the running node, because nothing replaces it or restarts it:
 * - user data: an in-place change is not harmless. terraform-provider-aws
 *   internal/service/ec2/ec2_instance.go (resourceInstanceUpdate) applies a user data change with
 *   modifyInstanceAttributeWithStopStart: it stops the instance, modifies the attribute and starts
 *   it again, dropping every call; with userDataReplaceOnChange it replaces the instance instead.
 *   So the user data is ignored after creation (ignoreChanges), and what changes with deploys is
 *   not in it: the agent image lives in an SSM parameter the node watches (image-watch).
 * - AMI: a lookup finds a newer Ubuntu whenever Canonical publishes one, and `ami` forces a new
 *   instance; the first AMI is kept (ignoreChanges) until an operator rolls it on purpose
 *   (`pulumi up --replace <this instance's URN>`, README "Rolling the AMI of the single node").
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { CpuArchitecture } from '../plan/instances.js';
import { encodedUserData, encryptedRootVolume, IMDSV2_METADATA_OPTIONS, named, nodeAmiId, type Tags } from './common.js';

/** Device name the data volume is attached under (Nitro instances show it as an NVMe device named after the volume id). */
export const DATA_VOLUME_DEVICE = '/dev/sdf';

/** Inputs EC2 would act on in place (stop/modify/start) or by replacement; the single node ignores them after creation. */
export const SINGLE_NODE_IGNORED_CHANGES = ['ami', 'userData', 'userDataBase64'] as const;

export interface LivekitNodeArgs {
  /** Instance type from the plan (plan.livekit.instanceType), e.g. "c7i.2xlarge". */
  instanceType: string;
  /** CPU architecture of that type (plan.livekit.architecture): picks the AMI. */
  architecture: CpuArchitecture;
  /** Pinned AMI (aws.amiId), or null for the newest Ubuntu 24.04 at creation (then kept). */
  amiId: string | null;
  /** Public subnet to launch in. */
  subnetId: pulumi.Input<string>;
  /** That subnet's availability zone: the data volume must live in it. */
  availabilityZone: pulumi.Input<string>;
  /** Security groups (the LiveKit group). */
  securityGroupIds: pulumi.Input<string>[];
  /** Instance profile name (InstanceRole). */
  instanceProfileName: pulumi.Input<string>;
  /** cloud-init user data (plain text, no secret), from the node's public IP and data volume id. */
  userData: (node: { publicIp: pulumi.Output<string>; dataVolumeId: pulumi.Output<string> }) => pulumi.Input<string>;
  /** Root volume, GiB of encrypted gp3 (plan.costInputs.rootVolumeGiB). */
  rootVolumeGiB: number;
  /** Data volume, GiB of encrypted gp3 (plan.costInputs.dataVolumeGiB). */
  dataVolumeGiB: number;
  /** NLB target groups to register with (mid); none on small. */
  targetGroupArns: pulumi.Input<string>[];
  /** Tags on every resource. */
  tags: Tags;
}

/** A single LiveKit node: Elastic IP, data volume, instance, target group registrations. */
export class LivekitNode extends pulumi.ComponentResource {
  public readonly instance: aws.ec2.Instance;
  public readonly elasticIp: aws.ec2.Eip;
  public readonly dataVolume: aws.ebs.Volume;
  /** The node's public address (ICE candidates, DNS on small). */
  public readonly publicIp: pulumi.Output<string>;
  /** Private address (the mid agents reach Redis there). */
  public readonly privateIp: pulumi.Output<string>;

  constructor(name: string, args: LivekitNodeArgs, opts?: pulumi.ComponentResourceOptions) {
    super('voice-agent-infra:aws:LivekitNode', name, {}, opts);
    const tags = named(args.tags, name, 'livekit');
    // The address first: livekit.yaml names it (rtc.node_ip), so the node never discovers it.
    this.elasticIp = new aws.ec2.Eip(`${name}`, { domain: 'vpc', tags }, { parent: this });
    this.dataVolume = new aws.ebs.Volume(
      `${name}-data`,
      { availabilityZone: args.availabilityZone, size: args.dataVolumeGiB, type: 'gp3', encrypted: true, tags: named(args.tags, `${name}-data`, 'livekit') },
      { parent: this },
    );
    this.instance = new aws.ec2.Instance(
      `${name}`,
      {
        ami: nodeAmiId(args.architecture, args.amiId, { parent: this }),
        instanceType: args.instanceType,
        subnetId: args.subnetId,
        availabilityZone: args.availabilityZone,
        vpcSecurityGroupIds: args.securityGroupIds,
        iamInstanceProfile: args.instanceProfileName,
        userDataBase64: encodedUserData(args.userData({ publicIp: this.elasticIp.publicIp, dataVolumeId: this.dataVolume.id })),
        metadataOptions: { ...IMDSV2_METADATA_OPTIONS },
        // Tags on the root volume only: the provider's docs warn that `volumeTags` on an instance whose
        // other volume is an aws.ebs.Volume with its own tags cycles the tags on every update.
        rootBlockDevice: { ...encryptedRootVolume(args.rootVolumeGiB), tags },
        monitoring: false,
        tags,
      },
      // See the file comment: neither a new AMI nor new user data may stop or replace the node.
      { parent: this, ignoreChanges: [...SINGLE_NODE_IGNORED_CHANGES] },
    );
    new aws.ec2.VolumeAttachment(
      `${name}-data`,
      {
        deviceName: DATA_VOLUME_DEVICE,
        volumeId: this.dataVolume.id,
        instanceId: this.instance.id,
        // On a deliberate replacement, stop the old node before the volume leaves it (Redis flushes its AOF).
        stopInstanceBeforeDetaching: true,
      },
      // A volume attaches to one instance at a time: detach from the old node before attaching to the new.
      { parent: this, deleteBeforeReplace: true },
    );
    new aws.ec2.EipAssociation(`${name}`, { allocationId: this.elasticIp.allocationId, instanceId: this.instance.id }, { parent: this });
    for (const [i, targetGroupArn] of args.targetGroupArns.entries()) {
      new aws.lb.TargetGroupAttachment(`${name}-target-${i}`, { targetGroupArn, targetId: this.instance.id }, { parent: this });
    }
    this.publicIp = this.elasticIp.publicIp;
    this.privateIp = this.instance.privateIp;
    this.registerOutputs({ instanceId: this.instance.id, publicIp: this.publicIp, privateIp: this.privateIp, dataVolumeId: this.dataVolume.id });
  }
}
