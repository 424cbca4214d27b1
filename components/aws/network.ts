/**
 * The network: a new VPC with one public subnet in each of two availability zones, or an existing
 * VPC and subnets from config. Public subnets only and no NAT gateway: every LiveKit node needs a
 * public IP anyway (ICE candidates carry it), and a NAT gateway per AZ would cost more than the
 * agent workers' public IPv4 addresses it would save.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { named, type Tags } from './common.js';

/** Address space of a new VPC. */
export const DEFAULT_VPC_CIDR = '10.40.0.0/16';
/** Zones a new VPC spans (the plan's two-AZ assumption: NLB addresses, cross-AZ media). */
export const NEW_VPC_AVAILABILITY_ZONES = 2;

export interface NetworkArgs {
  /** Existing VPC and its public subnets (aws.vpcId, aws.subnets); null creates a new VPC. */
  existing: { vpcId: string; subnets: ReadonlyArray<{ id: string; availabilityZone: string }> } | null;
  /** CIDR of a new VPC; default 10.40.0.0/16 (ignored with `existing`). */
  cidrBlock?: string;
  /** Zones of a new VPC; default 2 (ignored with `existing`). */
  availabilityZoneCount?: number;
  /** Tags on every resource. */
  tags: Tags;
}

/** A VPC with public subnets: new, or the one named in config. */
export class Network extends pulumi.ComponentResource {
  public readonly vpcId: pulumi.Output<string>;
  /** Public subnets, one per zone for a new VPC. */
  public readonly subnetIds: pulumi.Output<string[]>;
  /** How many subnets there are (known before deploy: resources are created per subnet). */
  public readonly subnetCount: number;
  public readonly availabilityZones: pulumi.Output<string[]>;
  /** Created resources (empty for an existing VPC). */
  public readonly vpc?: aws.ec2.Vpc;
  public readonly subnets: aws.ec2.Subnet[] = [];

  constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super('voice-agent-infra:aws:Network', name, {}, opts);

    if (args.existing) {
      this.vpcId = pulumi.output(args.existing.vpcId);
      this.subnetIds = pulumi.output(args.existing.subnets.map((s) => s.id));
      this.availabilityZones = pulumi.output(args.existing.subnets.map((s) => s.availabilityZone));
      this.subnetCount = args.existing.subnets.length;
    } else {
      const cidr = args.cidrBlock ?? DEFAULT_VPC_CIDR;
      const count = args.availabilityZoneCount ?? NEW_VPC_AVAILABILITY_ZONES;
      const cidrs = subnetCidrs(cidr, count);
      // Regular zones only (no Local or Wavelength Zones), first `count` in name order.
      const zones = aws
        .getAvailabilityZonesOutput(
          { state: 'available', filters: [{ name: 'opt-in-status', values: ['opt-in-not-required'] }] },
          { parent: this },
        )
        .apply((z) => pickZones(z.names, count));
      this.vpc = new aws.ec2.Vpc(
        `${name}-vpc`,
        { cidrBlock: cidr, enableDnsHostnames: true, enableDnsSupport: true, tags: named(args.tags, `${name}-vpc`, 'network') },
        { parent: this },
      );
      const gateway = new aws.ec2.InternetGateway(
        `${name}-igw`,
        { vpcId: this.vpc.id, tags: named(args.tags, `${name}-igw`, 'network') },
        { parent: this },
      );
      const routes = new aws.ec2.RouteTable(
        `${name}-public`,
        {
          vpcId: this.vpc.id,
          routes: [{ cidrBlock: '0.0.0.0/0', gatewayId: gateway.id }],
          tags: named(args.tags, `${name}-public`, 'network'),
        },
        { parent: this },
      );
      for (const [i, subnetCidr] of cidrs.entries()) {
        const subnet = new aws.ec2.Subnet(
          `${name}-public-${i}`,
          {
            vpcId: this.vpc.id,
            cidrBlock: subnetCidr,
            availabilityZone: zones.apply((z) => z[i]!),
            // Instances get a public IPv4 address at launch: no NAT gateway to reach the internet.
            mapPublicIpOnLaunch: true,
            tags: named(args.tags, `${name}-public-${i}`, 'network'),
          },
          { parent: this },
        );
        new aws.ec2.RouteTableAssociation(`${name}-public-${i}`, { subnetId: subnet.id, routeTableId: routes.id }, { parent: this });
        this.subnets.push(subnet);
      }
      this.vpcId = this.vpc.id;
      this.subnetIds = pulumi.all(this.subnets.map((s) => s.id));
      this.availabilityZones = zones;
      this.subnetCount = count;
    }

    this.registerOutputs({ vpcId: this.vpcId, subnetIds: this.subnetIds, availabilityZones: this.availabilityZones });
  }
}

/** The first `count` zones in name order; fails when the region offers fewer. */
export function pickZones(names: readonly string[], count: number): string[] {
  const sorted = [...names].sort();
  if (sorted.length < count) {
    throw new Error(`the region offers ${sorted.length} availability zone(s) (${sorted.join(', ')}); the network needs ${count}`);
  }
  return sorted.slice(0, count);
}

/**
 * Splits an IPv4 CIDR into `count` equal subnets, 4 bits longer (a /16 gives /20s of 4,096
 * addresses; room for 16 subnets if more zones or private subnets are added later).
 */
export function subnetCidrs(cidr: string, count: number, extraBits = 4): string[] {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  if (!match) throw new Error(`not an IPv4 CIDR: ${cidr}`);
  const octets = match.slice(1, 5).map(Number);
  const prefix = Number(match[5]);
  if (octets.some((o) => o > 255) || prefix > 32) throw new Error(`not an IPv4 CIDR: ${cidr}`);
  const newPrefix = prefix + extraBits;
  if (newPrefix > 28) throw new Error(`${cidr} is too small to split into /${newPrefix} subnets (AWS allows /16 to /28)`);
  if (count > 2 ** extraBits) throw new Error(`${cidr} splits into at most ${2 ** extraBits} subnets of /${newPrefix}; asked for ${count}`);
  const address = octets.reduce((a, o) => a * 256 + o, 0);
  const mask = prefix === 0 ? 0 : ~0 << (32 - prefix);
  const base = (address & mask) >>> 0;
  const size = 2 ** (32 - newPrefix);
  return Array.from({ length: count }, (_, i) => `${toDotted(base + i * size)}/${newPrefix}`);
}

function toDotted(address: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(address / 2 ** shift) % 256).join('.');
}
