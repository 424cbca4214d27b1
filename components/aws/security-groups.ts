/**
 * Security groups, one per role, with rules built from LiveKit's port table
 * (components/livekit/ports.ts) so the firewall and livekit.yaml cannot drift:
 * - `public` ports (media, ICE/TCP, TURN/UDP; Caddy's 443 and 80 on small): the internet;
 * - `proxied` ports (signalling 7880, TURN/TLS): the NLB's group only (Caddy reaches them on loopback);
 * - `private` ports (Prometheus): the stack's own groups only;
 * - Redis: the stack's own groups only; the intake: the NLB's operator listener only.
 * - SIP (components/sip/providers.ts sipIngressRules): signalling only from the SIP provider's
 *   ranges, RTP from its media ranges; on large the NLB's SIP listeners admit the same signalling
 *   ranges and health-check the SIP service on its private health port.
 * Agent workers take no inbound traffic at all: they dial LiveKit.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { CADDY_PORTS, LIVEKIT_PORTS, PUBLIC_TLS_PORT, REDIS_PORT, type PortProtocol, type PortSpec } from '../livekit/ports.js';
import { SIP_HEALTH_PORT } from '../sip/ports.js';
import type { SipIngressRule } from '../sip/providers.js';
import { EC2_DESCRIPTION, EC2_DESCRIPTION_MAX } from './aws-rules.js';
import { named, type Tags } from './common.js';

export type GroupRole = 'livekit' | 'agents' | 'nlb' | 'redis';

export type RuleSource = { kind: 'internet' } | { kind: 'cidr'; cidr: string } | { kind: 'group'; group: GroupRole };

/** One ingress rule, as data (tested without resources). */
export interface IngressRuleSpec {
  /** The group the rule belongs to. */
  group: GroupRole;
  /** Stable name: the port's name, for the resource name. */
  name: string;
  protocol: PortProtocol;
  fromPort: number;
  toPort: number;
  source: RuleSource;
  description: string;
}

/** What the stack runs, which decides the groups and their rules. */
export interface SecurityLayout {
  /** Who terminates TLS for signalling and TURN/TLS: Caddy on the box (small) or the NLB (mid, large). */
  tlsTerminator: 'caddy' | 'nlb';
  /** An agent fleet exists (mid, large). */
  agentFleet: boolean;
  /** Redis on the LiveKit node (small: loopback; mid: also for the agents) or ElastiCache (large). */
  redis: 'node-loopback' | 'node-shared' | 'managed';
  /** Intake HTTP port on the LiveKit nodes. */
  intakePort: number;
  /** The NLB's operator TLS listener port, or null when no operator CIDR is configured. */
  operatorListenerPort: number | null;
  /** Networks allowed to the operator listener. */
  operatorCidrs: readonly string[];
  /**
   * The LiveKit SIP service on the LiveKit nodes: its rules (sipIngressRules, from the provider's
   * ranges), and whether the provider reaches it through the NLB's SIP listeners (large). Absent: no SIP.
   */
  sip?: { rules: readonly SipIngressRule[]; loadBalancer: boolean };
}

/**
 * A rule description EC2 accepts, or a thrown error naming it: AuthorizeSecurityGroupIngress refuses
 * quotes, < and > and anything over 255 characters (InvalidParameterValue), and a shortened text
 * would hide which rule is which.
 */
export function ruleDescription(text: string): string {
  if (text.length > EC2_DESCRIPTION_MAX || !EC2_DESCRIPTION.test(text)) {
    throw new Error(`security group rule description "${text}" is not one EC2 accepts: at most ${EC2_DESCRIPTION_MAX} characters from a-zA-Z0-9, space and ._-:/()#,@[]+=&;{}!$*`);
  }
  return text;
}

/** The groups a layout needs. */
export function groupRoles(layout: SecurityLayout): GroupRole[] {
  return [
    'livekit',
    ...(layout.agentFleet ? (['agents'] as const) : []),
    ...(layout.tlsTerminator === 'nlb' ? (['nlb'] as const) : []),
    ...(layout.redis === 'managed' ? (['redis'] as const) : []),
  ];
}

/** Every ingress rule of a layout. Pure: the port table in, rules out. */
export function ingressRules(layout: SecurityLayout): IngressRuleSpec[] {
  const rules: IngressRuleSpec[] = [];
  const internal: RuleSource[] = [{ kind: 'group', group: 'livekit' }, ...(layout.agentFleet ? [{ kind: 'group', group: 'agents' } as const] : [])];
  const add = (group: GroupRole, port: Pick<PortSpec, 'name' | 'protocol' | 'fromPort' | 'toPort' | 'reachedBy'>, source: RuleSource) =>
    rules.push({ group, name: port.name, protocol: port.protocol, fromPort: port.fromPort, toPort: port.toPort, source, description: ruleDescription(port.reachedBy) });

  for (const port of LIVEKIT_PORTS) {
    if (port.access === 'public') add('livekit', port, { kind: 'internet' });
    else if (port.access === 'proxied') {
      // Behind Caddy the proxied ports are reached on loopback: no rule at all.
      if (layout.tlsTerminator === 'nlb') add('livekit', port, { kind: 'group', group: 'nlb' });
    } else {
      for (const source of internal) add('livekit', port, source);
    }
  }
  if (layout.tlsTerminator === 'caddy') {
    for (const port of CADDY_PORTS) add('livekit', port, { kind: 'internet' });
  } else {
    add('nlb', { name: 'tls', protocol: 'tcp', fromPort: PUBLIC_TLS_PORT, toPort: PUBLIC_TLS_PORT, reachedBy: 'clients and agents: wss signalling and TURN/TLS' }, { kind: 'internet' });
  }
  if (layout.operatorListenerPort !== null && layout.tlsTerminator === 'nlb') {
    const operator = { name: 'operator', protocol: 'tcp' as const, fromPort: layout.operatorListenerPort, toPort: layout.operatorListenerPort };
    for (const cidr of layout.operatorCidrs) add('nlb', { ...operator, reachedBy: 'operators: intake /v1 endpoints over TLS' }, { kind: 'cidr', cidr });
    add(
      'livekit',
      { name: 'intake', protocol: 'tcp', fromPort: layout.intakePort, toPort: layout.intakePort, reachedBy: 'the operator listener of the NLB: intake /v1 endpoints' },
      { kind: 'group', group: 'nlb' },
    );
  }
  const redisPort = { name: 'redis', protocol: 'tcp' as const, fromPort: REDIS_PORT, toPort: REDIS_PORT };
  if (layout.redis === 'node-shared' && layout.agentFleet) {
    add('livekit', { ...redisPort, reachedBy: 'agent workers: the queue in the Redis of the LiveKit node' }, { kind: 'group', group: 'agents' });
  }
  if (layout.redis === 'managed') {
    for (const source of internal) add('redis', { ...redisPort, reachedBy: 'the queue and LiveKit: ElastiCache over TLS with AUTH' }, source);
  }
  if (layout.sip) {
    if (layout.sip.loadBalancer && layout.tlsTerminator !== 'nlb') throw new Error('SIP through the load balancer needs the NLB layout');
    for (const rule of layout.sip.rules) {
      const source: RuleSource = rule.source.kind === 'internet' ? { kind: 'internet' } : { kind: 'cidr', cidr: rule.source.cidr };
      // Named by the range, so a provider's list reordered or grown changes only the rules it must.
      const name = `${rule.name}-${rule.source.kind === 'cidr' ? rule.source.cidr.replace(/[./]/g, '-') : 'internet'}`;
      const port = { name, protocol: rule.protocol, fromPort: rule.fromPort, toPort: rule.toPort, reachedBy: rule.description };
      // In-dialog requests and RTP go to the node's own address (Contact and SDP carry it), so the nodes always admit them.
      add('livekit', port, source);
      // The NLB's listeners carry the INVITEs only (signalling): never RTP.
      if (layout.sip.loadBalancer && rule.name !== 'sip-rtp') add('nlb', port, source);
    }
    if (layout.sip.loadBalancer) {
      add(
        'livekit',
        { name: 'sip-health', protocol: 'tcp', fromPort: SIP_HEALTH_PORT, toPort: SIP_HEALTH_PORT, reachedBy: 'the SIP listeners of the NLB: health check of the SIP service, GET /' },
        { kind: 'group', group: 'nlb' },
      );
    }
  }
  return rules;
}

export interface SecurityGroupsArgs {
  /** VPC the groups live in. */
  vpcId: pulumi.Input<string>;
  /** The roles the stack runs (from the plan's tier). */
  layout: SecurityLayout;
  /** Tags on every group and rule. */
  tags: Tags;
}

/** One security group per role and the ingress rules of `ingressRules(layout)`. */
export class SecurityGroups extends pulumi.ComponentResource {
  public readonly livekit: aws.ec2.SecurityGroup;
  public readonly agents?: aws.ec2.SecurityGroup;
  public readonly nlb?: aws.ec2.SecurityGroup;
  public readonly redis?: aws.ec2.SecurityGroup;
  /** Ids of the groups that run stack code (LiveKit, agents): the only sources Redis admits. */
  public readonly computeGroupIds: pulumi.Output<string>[];

  constructor(name: string, args: SecurityGroupsArgs, opts?: pulumi.ComponentResourceOptions) {
    super('voice-agent-infra:aws:SecurityGroups', name, {}, opts);
    const groups = new Map<GroupRole, aws.ec2.SecurityGroup>();
    const descriptions: Record<GroupRole, string> = {
      livekit: 'LiveKit nodes: media and TURN from the internet, signalling from the TLS terminator',
      agents: 'Agent workers: no inbound traffic',
      nlb: 'Network Load Balancers: TLS 443 from the internet, operator listener from operator CIDRs',
      redis: 'ElastiCache Redis: from the stack groups only',
    };
    for (const role of groupRoles(args.layout)) {
      groups.set(
        role,
        new aws.ec2.SecurityGroup(
          `${name}-${role}`,
          { vpcId: args.vpcId, description: descriptions[role], tags: named(args.tags, `${name}-${role}`, 'security-groups') },
          { parent: this },
        ),
      );
    }
    const group = (role: GroupRole) => {
      const g = groups.get(role);
      if (!g) throw new Error(`security group ${role} is not part of this layout`);
      return g;
    };

    const counts = new Map<string, number>();
    for (const rule of ingressRules(args.layout)) {
      const base = `${name}-${rule.group}-${rule.name}`;
      const n = counts.get(base) ?? 0;
      counts.set(base, n + 1);
      new aws.vpc.SecurityGroupIngressRule(
        n === 0 ? base : `${base}-${n}`,
        {
          securityGroupId: group(rule.group).id,
          ipProtocol: rule.protocol,
          fromPort: rule.fromPort,
          toPort: rule.toPort,
          ...(rule.source.kind === 'internet'
            ? { cidrIpv4: '0.0.0.0/0' }
            : rule.source.kind === 'cidr'
              ? { cidrIpv4: rule.source.cidr }
              : { referencedSecurityGroupId: group(rule.source.group).id }),
          description: rule.description,
          tags: named(args.tags, base, 'security-groups'),
        },
        { parent: this },
      );
    }

    // Outbound: compute reaches the internet (providers, ECR, AWS APIs) and the NLB reaches the
    // LiveKit nodes only. Redis initiates nothing.
    for (const role of ['livekit', 'agents'] as const) {
      if (!groups.has(role)) continue;
      new aws.vpc.SecurityGroupEgressRule(
        `${name}-${role}-egress`,
        { securityGroupId: group(role).id, ipProtocol: '-1', cidrIpv4: '0.0.0.0/0', description: 'providers, ECR, AWS APIs, LiveKit' },
        { parent: this },
      );
    }
    if (groups.has('nlb')) {
      new aws.vpc.SecurityGroupEgressRule(
        `${name}-nlb-egress`,
        { securityGroupId: group('nlb').id, ipProtocol: '-1', referencedSecurityGroupId: group('livekit').id, description: 'targets and health checks' },
        { parent: this },
      );
    }

    this.livekit = group('livekit');
    this.agents = groups.get('agents');
    this.nlb = groups.get('nlb');
    this.redis = groups.get('redis');
    this.computeGroupIds = [this.livekit.id, ...(this.agents ? [this.agents.id] : [])];
    this.registerOutputs({
      livekitGroupId: this.livekit.id,
      agentsGroupId: this.agents?.id,
      nlbGroupId: this.nlb?.id,
      redisGroupId: this.redis?.id,
    });
  }
}
