/**
 * AwsVoiceStack: the whole AWS stack of one tier, built from the plan. It decides nothing about
 * sizes: instance types, counts, ASG min/max and the ElastiCache node come from the plan; ports
 * come from LiveKit's port table; names and access from the validated `aws` config.
 *
 * - small: one instance (LiveKit, Caddy for TLS, Redis, intake, dispatcher, agent) + Elastic IP.
 * - mid: one LiveKit node (+ Redis, intake, dispatcher) + Elastic IP behind two NLBs (signalling,
 *   TURN/TLS); agent workers in an autoscaling group from busy-hour to spike size, tracking
 *   queue backlog and CPU.
 * - large: LiveKit autoscaling group (intake and dispatcher on every node) behind the NLBs,
 *   ElastiCache, agent workers scaled on backlog per instance and CPU.
 * Every tier: secrets in Secrets Manager, the agent image in ECR, logs, dashboard, alarms.
 * Phone calls (plan.sip): the LiveKit SIP service on every LiveKit node, open only to the SIP
 * provider's ranges; the stack's trunks and dispatch rule in an SSM parameter the nodes sync
 * LiveKit to (sip-watch), the credentials in Secrets Manager; on large, SIP listeners on the
 * signalling NLB; a sip.<domain> record; outputs sipUri and sipNumbers.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { DEFAULT_METRICS_NAMESPACE } from '@voice-agent-infra/common';
import type { StackConfig } from '../config.js';
import { AGENT_CLOSE_SECONDS } from '../livekit/compose.js';
import { DEFAULT_INTAKE_PORT, localIntakeWebhookUrl } from '../livekit/ports.js';
import type { DeploymentPlan } from '../plan/plan.js';
import { sipObjectNames } from '../sip/declaration.js';
import { sipDeclarationParameterName } from '../sip/node.js';
import { sipIngressRules } from '../sip/providers.js';
import { ttsVendor } from '../agent-providers.js';
import { AgentFleet } from './agent-fleet.js';
import { AgentImage } from './agent-image.js';
import { named, stackTags } from './common.js';
import { DnsRecords, type DnsTarget, TlsCertificate } from './dns.js';
import { agentInferenceEnvironment } from '../inference/agent-env.js';
import { inferenceServers } from '../inference/plan.js';
import { InferenceFleet } from './inference-fleet.js';
import { InstanceRole } from './instance-role.js';
import { awsLayout } from './layout.js';
import { LivekitCluster } from './livekit-cluster.js';
import { LivekitNode } from './livekit-node.js';
import { LoadBalancers, OPERATOR_LISTENER_PORT } from './load-balancers.js';
import { type CpuSource, Monitoring } from './monitoring.js';
import { Network } from './network.js';
import { ManagedRedis } from './redis.js';
import { StackSecrets } from './secrets.js';
import { SecurityGroups } from './security-groups.js';
import { type SipCredentialInputs, sipCredentialsSecretValue, sipDeclarationValue, stackSipUri } from './sip.js';
import { nodeUserData } from './user-data.js';
import { validateAwsConfig } from './validate.js';

/** Days the stack's container logs are kept (EMF metric lines included). */
export const LOG_RETENTION_DAYS = 30;

/** The SSM parameter holding the single node's agent image. */
export function agentImageParameterName(stack: string): string {
  return `/voice-agent/${stack}/agent-image`;
}

/**
 * The provider's region as configured, when the program can see it before any call: `aws:region`,
 * else the environment the provider reads. Used only to check config; resources read
 * aws.getRegionOutput().
 */
function providerRegionHint(): string | undefined {
  return new pulumi.Config('aws').get('region') ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
}

export interface AwsVoiceStackArgs {
  /** Stack name (pulumi.getStack()): tags, the metrics' Stack dimension, secret and log names. */
  stack: string;
  /** The validated stack config (configFromPulumi). */
  config: StackConfig;
  /** The capacity plan (planDeployment): every size comes from it. */
  plan: DeploymentPlan;
  /** Repository root: the agent image's build context. */
  repoRoot: string;
  /** The SIP credentials the stack has set (Pulumi secrets, by config key); default none. */
  sipCredentials?: SipCredentialInputs;
}

/** Secret ARNs of the stack (never values). */
export interface StackSecretArns {
  livekitApiSecret: pulumi.Output<string>;
  intakeToken: pulumi.Output<string>;
  redisAuth?: pulumi.Output<string>;
  sipCredentials?: pulumi.Output<string>;
}

/** The AWS voice stack of one tier. */
export class AwsVoiceStack extends pulumi.ComponentResource {
  /** wss://<domain>: what clients and agents dial. */
  public readonly livekitUrl: pulumi.Output<string>;
  /** Where LiveKit posts its webhooks: the intake on the same node (loopback). */
  public readonly webhookUrl: pulumi.Output<string>;
  /** The operators' intake endpoint (the NLB's operator listener), when operator CIDRs are configured. */
  public readonly operatorUrl: pulumi.Output<string | undefined>;
  public readonly dashboardUrl: pulumi.Output<string>;
  public readonly alertTopicArn: pulumi.Output<string>;
  public readonly secretArns: StackSecretArns;
  /** LiveKit API key name (an identifier) and secret (a Pulumi secret). */
  public readonly apiKey: pulumi.Output<string>;
  public readonly apiSecret: pulumi.Output<string>;
  /** DNS records of the stack: created in the zone, or to create by hand. */
  public readonly dnsRecords: pulumi.Output<string[]>;
  public readonly agentImage: pulumi.Output<string>;
  public readonly vpcId: pulumi.Output<string>;
  /** The single node's Elastic IP (small, mid). */
  public readonly livekitPublicIp?: pulumi.Output<string>;
  /** Autoscaling group names (large: LiveKit and agents; mid: agents). */
  public readonly groupNames: pulumi.Output<string>[];
  /** Where the SIP provider's trunk sends calls (sip:<host>:<port>), when the stack answers phone calls. */
  public readonly sipUri: pulumi.Output<string | undefined>;
  /** The numbers callers dial (the inbound trunk's), when the stack answers phone calls. */
  public readonly sipNumbers: pulumi.Output<string[] | undefined>;

  constructor(name: string, args: AwsVoiceStackArgs, opts?: pulumi.ComponentResourceOptions) {
    super('voice-agent-infra:aws:AwsVoiceStack', name, {}, opts);
    const { plan, stack } = args;
    // One region: the AWS provider's. Its configured name (when the program can see it) checks
    // existing subnets up front; resources read the provider's own answer.
    const placement = validateAwsConfig(args.config, plan, providerRegionHint(), stack);
    const layout = awsLayout(plan.layout);
    const tags = stackTags(stack, plan.tier);
    const child = { parent: this };
    const intakePort = DEFAULT_INTAKE_PORT;
    const namespace = DEFAULT_METRICS_NAMESPACE;
    const operator = layout.tlsTerminator === 'nlb' && placement.operatorCidrs.length > 0 ? { intakePort } : null;
    const sip = plan.sip.enabled ? plan.sip : null;
    const sipConfig = args.config.sip;
    if (sip && sip.entry === 'load-balancer' && !plan.loadBalancerRoles.includes('signalling')) throw new Error('SIP through the load balancer needs the signalling NLB');

    const region = aws.getRegionOutput({}, child).region;
    const network = new Network(`${name}-network`, { existing: placement.existing, tags }, child);
    const groups = new SecurityGroups(
      `${name}-sg`,
      {
        vpcId: network.vpcId,
        layout: {
          tlsTerminator: layout.tlsTerminator,
          agentFleet: layout.agentFleet,
          redis: layout.redis,
          intakePort,
          operatorListenerPort: operator ? OPERATOR_LISTENER_PORT : null,
          operatorCidrs: placement.operatorCidrs,
          ...(sip
            ? {
                sip: {
                  rules: sipIngressRules({
                    provider: sip.provider,
                    tls: sip.tls,
                    ...(sipConfig.allowedCidrs ? { allowedCidrs: sipConfig.allowedCidrs } : {}),
                    ...(sipConfig.mediaCidrs ? { mediaCidrs: sipConfig.mediaCidrs } : {}),
                  }),
                  loadBalancer: sip.entry === 'load-balancer',
                },
              }
            : {}),
        },
        tags,
      },
      child,
    );
    // small's Redis is on loopback without AUTH; mid's is reached by the agent fleet, large's is ElastiCache.
    const secrets = new StackSecrets(
      `${name}-secrets`,
      {
        namePrefix: `voice-agent/${stack}/`,
        redisAuth: layout.redisAuth,
        ...(sip ? { sipCredentials: sipCredentialsSecretValue(args.sipCredentials ?? {}) } : {}),
        tags,
      },
      child,
    );
    const logGroup = new aws.cloudwatch.LogGroup(
      `${name}-logs`,
      { name: `/voice-agent/${stack}`, retentionInDays: LOG_RETENTION_DAYS, tags: named(tags, `${name}-logs`, 'monitoring') },
      child,
    );
    const image = new AgentImage(
      `${name}-agent-image`,
      {
        ...(placement.agentImage ? { prebuiltImage: placement.agentImage } : {}),
        architectures: [plan.agents.architecture, plan.livekit.architecture],
        contextDir: args.repoRoot,
        forceDelete: placement.ecrForceDelete,
        tags,
      },
      child,
    );
    const singleNode = layout.singleLivekitNode;
    // The single node reads its agent image here, so a new image never changes its user data.
    const imageParameter = singleNode
      ? new aws.ssm.Parameter(
          `${name}-agent-image`,
          {
            name: agentImageParameterName(stack),
            type: 'String',
            tier: 'Standard',
            // Not a secret: `insecureValue` keeps it readable in previews (which image will roll out).
            insecureValue: image.imageRef,
            description: 'Agent image the single node runs (image-watch rolls it, drained, when this changes)',
            tags: named(tags, `${name}-agent-image`, 'agent-image'),
          },
          child,
        )
      : undefined;

    // The stack's SIP trunks and dispatch rule: the LiveKit nodes sync LiveKit to this (sip-watch).
    // A parameter, not user data: a single node never applies a user data change.
    const sipParameter = sip
      ? new aws.ssm.Parameter(
          `${name}-sip-declaration`,
          {
            name: sipDeclarationParameterName(stack),
            type: 'String',
            tier: 'Standard',
            // No secret in it (credentials are in Secrets Manager): readable in previews.
            insecureValue: sipDeclarationValue(stack, args.config),
            description: 'SIP trunks and dispatch rule of the stack (sip-watch on the LiveKit nodes makes LiveKit match it)',
            tags: named(tags, `${name}-sip-declaration`, 'sip'),
          },
          child,
        )
      : undefined;
    const sipCertificateArn = sip?.tls ? sipConfig.tls.certificateSecretArn : undefined;

    const roleArgs = { metricsNamespace: namespace, logGroupArn: logGroup.arn, ecrRepositoryArn: image.repositoryArn, tags };
    const livekitParameterArns = [...(imageParameter ? [imageParameter.arn] : []), ...(sipParameter ? [sipParameter.arn] : [])];
    const livekitRole = new InstanceRole(
      `${name}-livekit-role`,
      {
        ...roleArgs,
        secretArns: [
          secrets.livekitApiSecretArn,
          secrets.intakeTokenSecretArn,
          ...(secrets.redisAuthSecretArn ? [secrets.redisAuthSecretArn] : []),
          ...(secrets.sipCredentialsSecretArn ? [secrets.sipCredentialsSecretArn] : []),
          // The SIP certificate is the user's secret (sip.tls.certificateSecretArn): the nodes read it at boot.
          ...(sipCertificateArn ? [sipCertificateArn] : []),
        ],
        ...(livekitParameterArns.length > 0 ? { parameterArns: livekitParameterArns } : {}),
        // The small box runs the agent worker: it reads the operator's agent env secret.
        ...(layout.agentFleet ? {} : { agentEnv: placement.agentEnv }),
      },
      child,
    );

    // Load balancers and their certificate (mid, large).
    let lbs: LoadBalancers | undefined;
    if (plan.loadBalancer) {
      if (!placement.certificate) throw new Error('validateAwsConfig returned no certificate for a tier with load balancers');
      const certificate = new TlsCertificate(
        `${name}-cert`,
        { domain: placement.domain, turnDomain: placement.turnDomain, source: placement.certificate, tags },
        child,
      );
      lbs = new LoadBalancers(
        `${name}-lb`,
        {
          roles: plan.loadBalancerRoles,
          vpcId: network.vpcId,
          subnetIds: network.subnetIds,
          securityGroupId: groups.nlb!.id,
          certificateArn: certificate.certificateArn,
          operator,
          sip: sip?.entry === 'load-balancer' ? { tls: sip.tls } : null,
          tags,
        },
        child,
      );
    }

    // Redis: ElastiCache on large; the LiveKit node's own otherwise.
    let redis: ManagedRedis | undefined;
    if (plan.redis.mode === 'managed') {
      redis = new ManagedRedis(
        `${name}-redis`,
        {
          nodeType: plan.redis.nodeType,
          replicas: plan.redis.replicas,
          engine: plan.redis.engine,
          subnetIds: network.subnetIds,
          securityGroupId: groups.redis!.id,
          authToken: secrets.redisAuthToken!,
          tags,
        },
        child,
      );
    }

    // Local models (providers ... local): a GPU group per model behind an internal load balancer
    // only the machines running the agent reach; the agent gets their URLs (LOCAL_LLM_URL, ...).
    const inferenceHosts: Record<string, pulumi.Output<string>> = {};
    for (const server of inferenceServers(plan.inference)) {
      const fleet = new InferenceFleet(
        `${name}-inference-${server.modality}`,
        {
          server,
          stack,
          vpcId: network.vpcId,
          subnetIds: network.subnetIds,
          clientSecurityGroupId: (groups.agents ?? groups.livekit).id,
          amiId: args.config.inference.amiId ?? null,
          region,
          metricsNamespace: namespace,
          logGroupName: logGroup.name,
          logGroupArn: logGroup.arn,
          healthCheckGraceSeconds: placement.healthCheckGraceSeconds,
          tags,
        },
        child,
      );
      inferenceHosts[server.modality] = fleet.host;
    }
    const inferenceEnvironment =
      Object.keys(inferenceHosts).length > 0 ? pulumi.all(inferenceHosts).apply((hosts) => agentInferenceEnvironment(plan.inference, hosts, args.config.inference.tts.voice)) : undefined;
    const agentInference = inferenceEnvironment ? { inferenceEnvironment } : {};

    const bootCommon = {
      stack,
      region,
      domain: placement.domain,
      turnDomain: placement.turnDomain,
      agentImage: image.imageRef,
      apiKey: secrets.apiKey,
      livekitApiSecretArn: secrets.livekitApiSecretArn,
      intakeTokenArn: secrets.intakeTokenSecretArn,
      intakePort,
      agentMaxSessions: plan.agents.sessionsPerWorker,
      // The escalation transfer dials out on the stack's outbound trunk, when it has one.
      ...(sip && sipConfig.outbound ? { escalationOutboundTrunk: sipObjectNames(stack).outbound } : {}),
      metricsNamespace: namespace,
      logGroupName: logGroup.name,
      drainSeconds: plan.layout.drain.agentSeconds,
      ...(placement.caddyImage ? { caddyImage: placement.caddyImage } : {}),
      ...(secrets.redisAuthSecretArn ? { redisAuthTokenArn: secrets.redisAuthSecretArn } : {}),
      // The agent worker's providers' keys (read by the roles that run it) and the TTS vendor they are for.
      agentEnv: { secretArn: placement.agentEnv.secretArn, expectedKeys: placement.agentEnv.expectedKeys },
      ttsProvider: ttsVendor(args.config),
    };
    // The LiveKit roles run the SIP service and sip-watch when the stack answers phone calls.
    const sipNode = sip
      ? {
          sip: {
            tls: sip.tls,
            ...(sipCertificateArn ? { certificateSecretArn: sipCertificateArn } : {}),
            declarationParameter: sipDeclarationParameterName(stack),
            credentialsSecretArn: secrets.sipCredentialsSecretArn!,
          },
        }
      : {};
    const rootVolumeGiB = plan.costInputs.rootVolumeGiB;
    const groupLifecycle = {
      amiId: placement.amiId,
      healthCheckGraceSeconds: placement.healthCheckGraceSeconds,
    };

    // LiveKit: one node (small, mid) or an autoscaling group (large).
    let node: LivekitNode | undefined;
    let cluster: LivekitCluster | undefined;
    if (!layout.singleLivekitNode) {
      if (!redis) throw new Error('a LiveKit group needs managed Redis (plan.layout.redis)');
      cluster = new LivekitCluster(
        `${name}-livekit`,
        {
          instanceType: plan.livekit.instanceType,
          architecture: plan.livekit.architecture,
          nodes: plan.livekit.nodes,
          subnetIds: network.subnetIds,
          securityGroupIds: [groups.livekit.id],
          instanceProfileArn: livekitRole.instanceProfile.arn,
          instanceRoleName: livekitRole.role.name,
          userData: nodeUserData({ ...bootCommon, ...sipNode, role: layout.livekitNodeRole, redis: { host: redis.primaryEndpoint, tls: true } }),
          rootVolumeGiB,
          ...groupLifecycle,
          // LiveKit's drain: rooms end, then the process exits (its stop_grace_period is the drain).
          drainSeconds: plan.layout.drain.livekitSeconds,
          cpuPercent: layout.livekitCpuPercent!,
          targetGroupArns: lbs?.targetGroupArns ?? [],
          tags,
        },
        child,
      );
    } else {
      node = new LivekitNode(
        `${name}-livekit`,
        {
          instanceType: plan.livekit.instanceType,
          architecture: plan.livekit.architecture,
          amiId: placement.amiId,
          subnetId: network.subnetIds.apply((ids) => ids[0]!),
          availabilityZone: network.availabilityZones.apply((zones) => zones[0]!),
          securityGroupIds: [groups.livekit.id],
          instanceProfileName: livekitRole.instanceProfile.name,
          userData: ({ publicIp, dataVolumeId }) =>
            nodeUserData({
              ...bootCommon,
              ...sipNode,
              agentImage: { ssmParameter: agentImageParameterName(stack) },
              role: layout.livekitNodeRole,
              singleNode: { publicIp, dataVolumeId },
              // Without an agent group the box runs the agent itself.
              ...(layout.agentFleet ? {} : agentInference),
              ...(placement.alertEmail ? { acmeEmail: placement.alertEmail } : {}),
            }),
          rootVolumeGiB,
          dataVolumeGiB: plan.costInputs.dataVolumeGiB,
          targetGroupArns: lbs?.targetGroupArns ?? [],
          tags,
        },
        child,
      );
    }

    // Agent workers (mid, large).
    let fleet: AgentFleet | undefined;
    const livekitUrl = `wss://${placement.domain}`;
    if (layout.agentFleet) {
      const agentsRole = new InstanceRole(
        `${name}-agents-role`,
        { ...roleArgs, secretArns: [secrets.livekitApiSecretArn, ...(secrets.redisAuthSecretArn ? [secrets.redisAuthSecretArn] : [])], agentEnv: placement.agentEnv },
        child,
      );
      const queueRedis = redis ? { host: redis.primaryEndpoint, tls: true } : { host: node!.privateIp, tls: false };
      fleet = new AgentFleet(
        `${name}-agents`,
        {
          instanceType: plan.agents.instanceType,
          architecture: plan.agents.architecture,
          workers: plan.agents.workers,
          subnetIds: network.subnetIds,
          securityGroupIds: [groups.agents!.id],
          instanceProfileArn: agentsRole.instanceProfile.arn,
          instanceRoleName: agentsRole.role.name,
          // Agents dial the public signalling name (through the NLB): the same path as any client.
          userData: nodeUserData({ ...bootCommon, role: 'agent', redis: queueRedis, livekitUrl, ...agentInference }),
          rootVolumeGiB,
          ...groupLifecycle,
          // The worker's drain plus its close time: what its container's stop_grace_period allows.
          drainSeconds: plan.layout.drain.agentSeconds + AGENT_CLOSE_SECONDS,
          // Mid and large alike: the group starts at its busy-hour size and must reach its spike
          // size, so both track queue backlog and CPU (the dispatcher publishes the backlog metric).
          scaling: {
            ...layout.agentScaling!,
            metricsNamespace: namespace,
            stack,
          },
          tags,
        },
        child,
      );
    }

    // Names: the signalling and TURN names at the NLBs (mid, large) or the Elastic IP (small).
    const target = (role: 'signalling' | 'turn-tls'): DnsTarget => {
      const lb = lbs?.loadBalancers[role];
      if (lb) return { kind: 'alias', dnsName: lb.dnsName, zoneId: lb.zoneId };
      return { kind: 'address', ip: node!.publicIp };
    };
    const dns = new DnsRecords(
      `${name}-dns`,
      {
        zoneId: placement.route53ZoneId,
        records: [
          { name: placement.domain, target: target('signalling') },
          { name: placement.turnDomain, target: target('turn-tls') },
          // The SIP host: the signalling NLB's SIP listeners (large), else the node's Elastic IP.
          ...(sip ? [{ name: placement.sipDomain, target: sip.entry === 'load-balancer' ? target('signalling') : { kind: 'address' as const, ip: node!.publicIp } }] : []),
        ],
      },
      child,
    );

    const cpuSources: Array<CpuSource<pulumi.Input<string>>> = [
      node
        ? { kind: 'instance', id: node.instance.id, label: layout.livekitCpuLabel }
        : { kind: 'group', id: cluster!.group.name, label: layout.livekitCpuLabel },
      ...(fleet ? [{ kind: 'group' as const, id: fleet.group.name, label: 'agent workers' }] : []),
    ];
    const monitoring = new Monitoring(
      `${name}-monitoring`,
      {
        stack,
        region,
        namespace,
        maxWaitSeconds: plan.assumptions.maxWaitSeconds,
        cpuSources,
        ...(placement.alertEmail ? { alertEmail: placement.alertEmail } : {}),
        tags,
      },
      child,
    );

    this.livekitUrl = pulumi.output(livekitUrl);
    this.webhookUrl = pulumi.output(localIntakeWebhookUrl(intakePort));
    this.operatorUrl = pulumi.output(operator ? `https://${placement.domain}:${OPERATOR_LISTENER_PORT}` : undefined);
    this.dashboardUrl = monitoring.dashboardUrl;
    this.alertTopicArn = monitoring.topic.arn;
    this.secretArns = {
      livekitApiSecret: secrets.livekitApiSecretArn,
      intakeToken: secrets.intakeTokenSecretArn,
      ...(secrets.redisAuthSecretArn ? { redisAuth: secrets.redisAuthSecretArn } : {}),
      ...(secrets.sipCredentialsSecretArn ? { sipCredentials: secrets.sipCredentialsSecretArn } : {}),
    };
    this.sipUri = sip ? stackSipUri(sip, placement.sipDomain, node?.publicIp) : pulumi.output(undefined);
    this.sipNumbers = pulumi.output(sip ? [...sip.numbers] : undefined);
    this.apiKey = secrets.apiKey;
    this.apiSecret = secrets.apiSecret;
    this.dnsRecords = dns.summary;
    this.agentImage = image.imageRef;
    this.vpcId = network.vpcId;
    this.livekitPublicIp = node?.publicIp;
    this.groupNames = [...(cluster ? [cluster.group.name] : []), ...(fleet ? [fleet.group.name] : [])];
    this.registerOutputs({
      livekitUrl: this.livekitUrl,
      webhookUrl: this.webhookUrl,
      dashboardUrl: this.dashboardUrl,
      secretArns: this.secretArns,
      dnsRecords: this.dnsRecords,
      sipUri: this.sipUri,
    });
  }
}
