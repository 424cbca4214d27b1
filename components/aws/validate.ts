/**
 * Cross-key checks of the `aws` config section against the plan, before any resource is built.
 * Pure: the zod schema checks each key alone; these checks need two keys, or the tier, at once.
 * Each failure is one ConfigError naming the key to change.
 */
import { ConfigError, type StackConfig } from '../config.js';
import { type AgentEnvPlacement, checkAgentEnvConfig } from './agent-env.js';
import { assertPinnedImage } from '../livekit/compose.js';
import type { DeploymentPlan } from '../plan/plan.js';

/** Availability zones a mid or large stack spreads over: ASGs, NLBs and ElastiCache Multi-AZ need two. */
export const MIN_AVAILABILITY_ZONES = 2;

/** The AWS part of a validated config, with the derived names the components use. */
export interface AwsPlacement {
  /** Signalling hostname: clients dial wss://<domain>. */
  domain: string;
  /** TURN/TLS hostname (turns:<turnDomain>:443); turn.<domain> unless configured. */
  turnDomain: string;
  /** SIP hostname (sip.<domain>): the SIP URI's host on large and with SIP over TLS, a record on every tier. */
  sipDomain: string;
  /** Existing VPC and subnets, or null to create a VPC. */
  existing: { vpcId: string; subnets: Array<{ id: string; availabilityZone: string }> } | null;
  /** Certificate for the NLB listeners (mid, large): an ARN from config, or DNS-validated in the zone. */
  certificate: { kind: 'arn'; arn: string } | { kind: 'dns-validated'; zoneId: string } | null;
  route53ZoneId: string | null;
  operatorCidrs: string[];
  /** Prebuilt agent image (aws.agentImage), pinned; null builds the bundled one. */
  agentImage: string | null;
  /** Email for alarms (aws.alertEmail); null for none. */
  alertEmail: string | null;
  /** Pinned AMI (aws.amiId); null looks the image up (and the single node keeps the first one). */
  amiId: string | null;
  /** Caddy L4 image override (aws.caddyImage), pinned; null for the renderer's default. */
  caddyImage: string | null;
  /** Delete the ECR repository with its images on destroy (aws.ecrForceDelete). */
  ecrForceDelete: boolean;
  /** Health check grace period of the autoscaling groups, seconds (aws.healthCheckGraceSeconds). */
  healthCheckGraceSeconds: number;
  /** The single node's data volume, GiB (aws.dataVolumeGiB). */
  dataVolumeGiB: number;
  /** The agent worker's environment secret (aws.agentEnvSecretArn, aws.agentEnvKmsKeyArn) and the keys its providers need. */
  agentEnv: AgentEnvPlacement;
}

const CERTIFICATE_ARN = /^arn:aws[a-z-]*:acm:[a-z]{2}(-[a-z]+)+-\d:\d{12}:certificate\/[A-Za-z0-9-]+$/;
const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const CIDR_V4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

/**
 * Checks the `aws` section against the tier and returns the placement the components build.
 * `providerRegion` is the AWS provider's region when the program can know it before any call
 * (`aws:region`, or AWS_REGION); existing subnets must lie in it. `stack` names the stack in the
 * command a missing agent env secret's error suggests. Throws one ConfigError for the first
 * problem, naming the key.
 */
export function validateAwsConfig(config: StackConfig, plan: Pick<DeploymentPlan, 'tier' | 'loadBalancer'>, providerRegion?: string, stack?: string): AwsPlacement {
  const aws = config.aws;
  const tier = plan.tier;

  // Every tier serves wss:// signalling and turns://: Caddy (small) or the NLB (mid, large) needs a name.
  if (!aws.domain) {
    throw new ConfigError(
      'aws.domain',
      aws.domain,
      `is required: LiveKit serves wss://<domain> and turns:<turn domain>:443 over TLS (${tier === 'small' ? 'Caddy on the box gets the certificate from ACME' : 'the NLB terminates TLS'}); e.g. voice.example.com`,
    );
  }
  const domain = hostname('aws.domain', aws.domain);
  const turnDomain = hostname('aws.turnDomain', aws.turnDomain ?? `turn.${domain}`);
  if (turnDomain === domain) {
    throw new ConfigError('aws.turnDomain', aws.turnDomain, `must differ from aws.domain: signalling and TURN/TLS both use port 443 and are split by name`);
  }
  const sipDomain = hostname('aws.domain', `sip.${domain}`);
  if (turnDomain === sipDomain) {
    throw new ConfigError('aws.turnDomain', aws.turnDomain, `must differ from ${sipDomain}: that name is the SIP service's (the SIP URI and its record)`);
  }

  let existing: AwsPlacement['existing'] = null;
  if (aws.vpcId !== undefined || aws.subnets !== undefined) {
    if (!aws.vpcId) throw new ConfigError('aws.vpcId', aws.vpcId, 'is required with aws.subnets (the VPC the subnets belong to)');
    if (!aws.subnets || aws.subnets.length === 0) {
      throw new ConfigError('aws.subnets', aws.subnets, 'is required with aws.vpcId: public subnets as [{id, availabilityZone}]');
    }
    for (const [i, subnet] of aws.subnets.entries()) {
      if (providerRegion !== undefined && !zoneInRegion(subnet.availabilityZone, providerRegion)) {
        throw new ConfigError(`aws.subnets[${i}].availabilityZone`, subnet.availabilityZone, `must be a zone of the provider region aws:region (${providerRegion}), e.g. ${providerRegion}a`);
      }
    }
    const zones = new Set(aws.subnets.map((s) => s.availabilityZone));
    if (tier !== 'small' && zones.size < MIN_AVAILABILITY_ZONES) {
      throw new ConfigError(
        'aws.subnets',
        aws.subnets,
        `the ${tier} tier needs subnets in at least ${MIN_AVAILABILITY_ZONES} availability zones (autoscaling groups, load balancers${tier === 'large' ? ' and ElastiCache Multi-AZ failover' : ''}); got ${[...zones].join(', ')}`,
      );
    }
    existing = { vpcId: aws.vpcId, subnets: aws.subnets.map((s) => ({ ...s })) };
  }

  let certificate: AwsPlacement['certificate'] = null;
  if (plan.loadBalancer) {
    if (aws.certificateArn) {
      if (!CERTIFICATE_ARN.test(aws.certificateArn)) {
        throw new ConfigError('aws.certificateArn', aws.certificateArn, 'must be an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>)');
      }
      certificate = { kind: 'arn', arn: aws.certificateArn };
    } else if (aws.route53ZoneId) {
      certificate = { kind: 'dns-validated', zoneId: aws.route53ZoneId };
    } else {
      throw new ConfigError(
        'aws.certificateArn',
        aws.certificateArn,
        `the ${tier} tier terminates TLS on the NLB: set aws.certificateArn (an ACM certificate for ${domain} and ${turnDomain}) or aws.route53ZoneId (the certificate is then issued and DNS-validated in that zone)`,
      );
    }
  }

  for (const [i, cidr] of aws.operatorCidrs.entries()) checkOperatorCidr(`aws.operatorCidrs[${i}]`, cidr);

  if (aws.agentImage !== undefined) {
    try {
      assertPinnedImage('aws.agentImage', aws.agentImage);
    } catch {
      // A moving tag would run different code on old and new instances of one group.
      throw new ConfigError('aws.agentImage', aws.agentImage, 'must be an image reference pinned by tag or digest (not latest), e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com/voice-agent:1.2.3');
    }
  }

  if (aws.caddyImage !== undefined) {
    try {
      assertPinnedImage('aws.caddyImage', aws.caddyImage);
    } catch {
      throw new ConfigError('aws.caddyImage', aws.caddyImage, 'must be an image reference pinned by tag or digest (not latest), e.g. livekit/caddyl4:v2.11.4');
    }
  }

  // No stack answers a call without its providers' keys.
  const agentEnv = checkAgentEnvConfig(config, stack);

  return {
    domain,
    turnDomain,
    sipDomain,
    existing,
    certificate,
    route53ZoneId: aws.route53ZoneId ?? null,
    operatorCidrs: [...aws.operatorCidrs],
    agentImage: aws.agentImage ?? null,
    alertEmail: aws.alertEmail ?? null,
    amiId: aws.amiId ?? null,
    caddyImage: aws.caddyImage ?? null,
    ecrForceDelete: aws.ecrForceDelete,
    healthCheckGraceSeconds: aws.healthCheckGraceSeconds,
    dataVolumeGiB: aws.dataVolumeGiB,
    agentEnv,
  };
}

/** A zone name of the region: the region's name and one letter (us-east-1a), or a Local Zone of it (us-east-1-bos-1a). */
function zoneInRegion(zone: string, region: string): boolean {
  return zone.startsWith(region) && /^[a-z]$|^-[a-z0-9-]+[a-z]$/.test(zone.slice(region.length));
}

function hostname(key: string, value: string): string {
  const name = value.trim().toLowerCase().replace(/\.$/, '');
  if (!HOSTNAME.test(name)) throw new ConfigError(key, value, 'must be a DNS hostname, e.g. voice.example.com (no scheme, no port)');
  return name;
}

/** Operator CIDRs open the operator listener: IPv4, valid, and never the whole internet. */
function checkOperatorCidr(key: string, cidr: string): void {
  const match = CIDR_V4.exec(cidr);
  const octets = match ? match.slice(1, 5).map(Number) : [];
  const bits = match ? Number(match[5]) : -1;
  if (!match || octets.some((o) => o > 255) || bits > 32) {
    throw new ConfigError(key, cidr, 'must be an IPv4 CIDR such as 203.0.113.0/24');
  }
  if (bits === 0) throw new ConfigError(key, cidr, 'must not be the whole internet: the operator endpoints take only listed networks (or use SSM port forwarding)');
}
