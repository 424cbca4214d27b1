/**
 * Settings every AWS component shares: tags, the instance hardening (IMDSv2, encrypted gp3 root)
 * and the AMI. Kept in one place so the LiveKit node, the LiveKit group and the agent fleet cannot
 * drift apart, and so the policies and tests check one definition.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { gzipUserData, NODE_AMI } from '../livekit/cloud-init.js';
import type { CpuArchitecture } from '../plan/instances.js';

export type Tags = Record<string, string>;

/** Tag keys the stack puts on every taggable resource (the policies read the tier from them). */
export const TAG_KEYS = { stack: 'voice-agent-infra:stack', tier: 'voice-agent-infra:tier', component: 'voice-agent-infra:component' } as const;

/** Tags of one stack: its name, its tier, and who manages it. */
export function stackTags(stack: string, tier: string): Tags {
  return { [TAG_KEYS.stack]: stack, [TAG_KEYS.tier]: tier, ManagedBy: 'pulumi' };
}

/** The stack tags plus a Name (the EC2 console's label) and the component that made it. */
export function named(tags: Tags, name: string, component?: string): Tags {
  return { ...tags, Name: name, ...(component ? { [TAG_KEYS.component]: component } : {}) };
}

/**
 * Instance metadata: IMDSv2 only (a session token, so an SSRF in a container cannot read the
 * role's credentials with a plain GET). Hop limit 1: every container runs on the host network
 * (compose `network_mode: host`), so the drain watcher and the SDKs reach IMDS in one hop, and a
 * container on a bridge network (one hop further) gets no token at all. Tags in metadata let the
 * drain watcher read its group (aws:autoscaling:groupName).
 */
export const IMDSV2_METADATA_OPTIONS = {
  httpEndpoint: 'enabled',
  httpTokens: 'required',
  httpPutResponseHopLimit: 1,
  instanceMetadataTags: 'enabled',
} as const;

/** Ubuntu's root device name (NODE_AMI): the block device mapping must name it to resize and encrypt the root. */
export const ROOT_DEVICE_NAME = '/dev/sda1';

/**
 * The AMI of the nodes: the one pinned in config (aws.amiId), else the newest of the family the
 * user data is written for (NODE_AMI from the LiveKit renderers: Ubuntu 24.04, cloud-init and the
 * SSM agent preinstalled), for a CPU architecture. A lookup changes whenever Canonical publishes an
 * image: autoscaled groups then roll (drained); the single node ignores it (see LivekitNode).
 */
export function nodeAmiId(architecture: CpuArchitecture, amiId: string | null, opts?: pulumi.InvokeOutputOptions): pulumi.Output<string> {
  if (amiId) return pulumi.output(amiId);
  return aws.ec2
    .getAmiOutput(
      {
        owners: [...NODE_AMI.owners],
        mostRecent: true,
        filters: [
          { name: 'name', values: [NODE_AMI.nameFilter[architecture]] },
          { name: 'architecture', values: [architecture] },
          { name: 'virtualization-type', values: ['hvm'] },
        ],
      },
      opts,
    )
    .apply((ami) => ami.id);
}

/** Docker platform of the agent image for a CPU architecture. */
export function dockerPlatform(architecture: CpuArchitecture): 'linux/amd64' | 'linux/arm64' {
  return architecture === 'arm64' ? 'linux/arm64' : 'linux/amd64';
}

/** A gp3 root volume, encrypted (the account's default EBS key), deleted with the instance. */
export function encryptedRootVolume(sizeGiB: number) {
  return { volumeType: 'gp3', volumeSize: sizeGiB, encrypted: true, deleteOnTermination: true } as const;
}

/** The same root volume in a launch template's block device mapping (which takes strings for booleans). */
export function launchTemplateRootVolume(sizeGiB: number): aws.types.input.ec2.LaunchTemplateBlockDeviceMapping {
  return {
    deviceName: ROOT_DEVICE_NAME,
    ebs: { volumeType: 'gp3', volumeSize: sizeGiB, encrypted: 'true', deleteOnTermination: 'true' },
  };
}

/** Base64 of UTF-8 text. */
export function base64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

/**
 * User data as the instances are sent it: the cloud-config gzip-compressed, base64-encoded (launch
 * template `userData`, instance `userDataBase64`). EC2 counts the compressed bytes against its
 * 16 KiB; cloud-init decompresses before it reads.
 */
export function encodedUserData(text: pulumi.Input<string>): pulumi.Output<string> {
  return pulumi.output(text).apply((t) => gzipUserData(t).toString('base64'));
}
