/**
 * Internet-facing Network Load Balancers (mid, large), one per role of the plan: `signalling`
 * (TLS 443 -> LiveKit 7880) and `turn-tls` (TLS 443 -> LiveKit's TURN tls_port). Two because
 * LiveKit always advertises turns:<turn domain>:443 and one NLB listener cannot split 443 by name.
 * The NLB terminates TLS (ACM certificate), so livekit.yaml sets turn.external_tls. Health: GET /
 * on 7880 (200 "OK" when the node's stats are fresh). An optional operator listener (TLS, from the
 * operator CIDRs only, through the NLB's security group) reaches the intake's /v1 endpoints.
 *
 * SIP (large): listeners on the signalling NLB pass SIP through to the LiveKit SIP service on the
 * nodes, TCP_UDP 5060 and with TLS TCP 5061 (the SIP service terminates TLS with its own
 * certificate). Only the INVITE transaction crosses the NLB: the SIP service answers with the
 * node's own public address in Contact and SDP (nat_1_to_1_ip), so in-dialog requests and RTP go
 * to the node directly. Client addresses are preserved (always for UDP and TCP_UDP, set for TCP),
 * so the nodes' rules and the inbound trunk's allowed addresses see the provider's ranges. An NLB
 * hashes a UDP flow on its 5-tuple and keeps it while packets flow (120 s idle), and a provider
 * sends every INVITE from the same address and port: its calls stick to one node until that node
 * fails its health check (GET / on the SIP health port: 429 under load, 503 draining) or leaves.
 * So the deregistration delay is short and ends the flow (connection termination): a draining
 * node gets no new INVITE once its delay is over, and its calls in progress never used the NLB.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { LIVEKIT_HTTP_PORT, LIVEKIT_PORTS, PUBLIC_TLS_PORT } from '../livekit/ports.js';
import { SIP_HEALTH_PORT, SIP_SIGNALLING_PORT, SIP_TLS_PORT } from '../sip/ports.js';
import type { DeploymentPlan } from '../plan/plan.js';
import { named, type Tags } from './common.js';

export type LoadBalancerRole = DeploymentPlan['loadBalancerRoles'][number];

/** The NLB's TLS listener port for operators (intake /v1 endpoints). */
export const OPERATOR_LISTENER_PORT = 8443;
/** TLS 1.3 with a TLS 1.2 fallback: what LiveKit's SDKs and TURN clients negotiate. */
export const TLS_POLICY = 'ELBSecurityPolicy-TLS13-1-2-2021-06';
/** Seconds a deregistering target keeps its connections: long enough for a WebSocket to reconnect elsewhere. */
export const DEREGISTRATION_DELAY_SECONDS = 30;

/** One TLS listener and the target port behind it. */
export interface ListenerSpec {
  /** NLB this listener belongs to. */
  loadBalancer: LoadBalancerRole;
  /** Short name for resource names. */
  name: 'signalling' | 'turn-tls' | 'operator';
  listenerPort: number;
  targetPort: number;
}

/** Health check of every target group: LiveKit's own readiness on 7880, whatever the target port. */
export const HEALTH_CHECK = {
  protocol: 'HTTP',
  port: String(LIVEKIT_HTTP_PORT),
  path: '/',
  matcher: '200',
  healthyThreshold: 2,
  unhealthyThreshold: 2,
  interval: 10,
  timeout: 5,
} as const;

/** One SIP pass-through listener on the signalling NLB (large) and the protocol of its target group. */
export interface SipListenerSpec {
  name: 'sip' | 'sip-tls';
  /** NLB listener and target group protocol: a TCP_UDP listener forwards to a TCP_UDP target group only (CreateTargetGroup). */
  protocol: 'TCP_UDP' | 'TCP';
  /** Listener port = target port (5060, 5061). */
  port: number;
}

/** SIP listeners: UDP and TCP 5060 on one TCP_UDP listener; TLS 5061 passed through as TCP. */
export function sipListenerSpecs(tls: boolean): SipListenerSpec[] {
  return [{ name: 'sip', protocol: 'TCP_UDP', port: SIP_SIGNALLING_PORT }, ...(tls ? [{ name: 'sip-tls' as const, protocol: 'TCP' as const, port: SIP_TLS_PORT }] : [])];
}

/** Health check of the SIP target groups: the SIP service's own health (200 OK; 429 under load, 503 stopping). */
export const SIP_HEALTH_CHECK = { ...HEALTH_CHECK, port: String(SIP_HEALTH_PORT) } as const;

/**
 * The listeners of the plan's NLB roles; targets from LiveKit's port table (the `proxied` ports).
 * The operator listener sits on the signalling NLB and forwards to the intake.
 */
export function listenerSpecs(roles: readonly LoadBalancerRole[], operator: { intakePort: number } | null): ListenerSpec[] {
  const proxied = (name: string) => {
    const port = LIVEKIT_PORTS.find((p) => p.name === name && p.access === 'proxied');
    if (!port || port.publicPort !== PUBLIC_TLS_PORT) throw new Error(`LIVEKIT_PORTS has no proxied port ${name} on ${PUBLIC_TLS_PORT}`);
    return port.fromPort;
  };
  const specs: ListenerSpec[] = [];
  for (const role of roles) {
    specs.push({ loadBalancer: role, name: role, listenerPort: PUBLIC_TLS_PORT, targetPort: proxied(role === 'signalling' ? 'signal' : 'turn-tls') });
  }
  if (operator && roles.includes('signalling')) {
    specs.push({ loadBalancer: 'signalling', name: 'operator', listenerPort: OPERATOR_LISTENER_PORT, targetPort: operator.intakePort });
  }
  return specs;
}

export interface LoadBalancersArgs {
  /** The plan's NLB roles (plan.loadBalancerRoles). */
  roles: readonly LoadBalancerRole[];
  vpcId: pulumi.Input<string>;
  /** Public subnets (one NLB address per zone). */
  subnetIds: pulumi.Input<string[]>;
  /** The NLB security group (443 from the internet, the operator port from operator CIDRs). */
  securityGroupId: pulumi.Input<string>;
  /** ACM certificate for the signalling and TURN names. */
  certificateArn: pulumi.Input<string>;
  /** Adds the operator listener forwarding to the intake on this port; null for none. */
  operator: { intakePort: number } | null;
  /** SIP listeners on the signalling NLB (large: plan.sip.entry load-balancer), with TLS 5061 or not; null or absent for none. */
  sip?: { tls: boolean } | null;
  /** Tags on every resource. */
  tags: Tags;
}

/** NLBs, target groups and TLS listeners. */
export class LoadBalancers extends pulumi.ComponentResource {
  public readonly loadBalancers: Partial<Record<LoadBalancerRole, aws.lb.LoadBalancer>> = {};
  /** Target groups by listener name: attach LiveKit nodes to all of them. */
  public readonly targetGroups: Partial<Record<ListenerSpec['name'] | SipListenerSpec['name'], aws.lb.TargetGroup>> = {};
  /** Every target group ARN (for an autoscaling group's targetGroupArns). */
  public readonly targetGroupArns: pulumi.Output<string>[];

  constructor(name: string, args: LoadBalancersArgs, opts?: pulumi.ComponentResourceOptions) {
    super('voice-agent-infra:aws:LoadBalancers', name, {}, opts);
    for (const role of args.roles) {
      this.loadBalancers[role] = new aws.lb.LoadBalancer(
        `${name}-${role}`,
        {
          loadBalancerType: 'network',
          internal: false,
          subnets: args.subnetIds,
          securityGroups: [args.securityGroupId],
          enableCrossZoneLoadBalancing: true,
          tags: named(args.tags, `${name}-${role}`, 'load-balancers'),
        },
        { parent: this },
      );
    }
    for (const spec of listenerSpecs(args.roles, args.operator)) {
      const lb = this.loadBalancers[spec.loadBalancer]!;
      const targetGroup = new aws.lb.TargetGroup(
        `${name}-${spec.name}`,
        {
          vpcId: args.vpcId,
          targetType: 'instance',
          protocol: 'TCP',
          port: spec.targetPort,
          healthCheck: { ...HEALTH_CHECK },
          deregistrationDelay: DEREGISTRATION_DELAY_SECONDS,
          tags: named(args.tags, `${name}-${spec.name}`, 'load-balancers'),
        },
        { parent: this },
      );
      new aws.lb.Listener(
        `${name}-${spec.name}`,
        {
          loadBalancerArn: lb.arn,
          protocol: 'TLS',
          port: spec.listenerPort,
          certificateArn: args.certificateArn,
          sslPolicy: TLS_POLICY,
          defaultActions: [{ type: 'forward', targetGroupArn: targetGroup.arn }],
          tags: named(args.tags, `${name}-${spec.name}`, 'load-balancers'),
        },
        { parent: this },
      );
      this.targetGroups[spec.name] = targetGroup;
    }
    if (args.sip) {
      const signalling = this.loadBalancers.signalling;
      if (!signalling) throw new Error('SIP listeners need the signalling NLB (plan.loadBalancerRoles)');
      for (const spec of sipListenerSpecs(args.sip.tls)) {
        const targetGroup = new aws.lb.TargetGroup(
          `${name}-${spec.name}`,
          {
            vpcId: args.vpcId,
            targetType: 'instance',
            protocol: spec.protocol,
            port: spec.port,
            healthCheck: { ...SIP_HEALTH_CHECK },
            // Calls in progress do not use the NLB; a short delay only lets the INVITE transactions finish.
            deregistrationDelay: DEREGISTRATION_DELAY_SECONDS,
            // End the provider's (sticky) flow at the end of the delay, so new INVITEs go to another node.
            connectionTermination: true,
            // TCP: the nodes and the trunk check the provider's address (UDP and TCP_UDP always preserve it).
            ...(spec.protocol === 'TCP' ? { preserveClientIp: 'true' } : {}),
            tags: named(args.tags, `${name}-${spec.name}`, 'load-balancers'),
          },
          { parent: this },
        );
        new aws.lb.Listener(
          `${name}-${spec.name}`,
          {
            loadBalancerArn: signalling.arn,
            protocol: spec.protocol,
            port: spec.port,
            defaultActions: [{ type: 'forward', targetGroupArn: targetGroup.arn }],
            tags: named(args.tags, `${name}-${spec.name}`, 'load-balancers'),
          },
          { parent: this },
        );
        this.targetGroups[spec.name] = targetGroup;
      }
    }
    this.targetGroupArns = Object.values(this.targetGroups).map((tg) => tg.arn);
    this.registerOutputs({
      dnsNames: Object.fromEntries(Object.entries(this.loadBalancers).map(([role, lb]) => [role, lb.dnsName])),
      targetGroupArns: this.targetGroupArns,
    });
  }
}
