/**
 * K8sVoiceStack: the whole voice stack of one tier on any Kubernetes cluster, built from the plan
 * and its layout. It decides nothing about sizes: replicas, requests and limits, grace periods,
 * autoscaler bounds and signals, where TLS terminates and where Redis lives come from the plan;
 * ports from LiveKit's port table; names and access from the validated `kubernetes` config.
 *
 * - namespace (one per stack), a default-deny ingress NetworkPolicy, and per component the
 *   policies that open exactly what it serves;
 * - secrets from @pulumi/random in Kubernetes Secrets (K8sSecrets);
 * - LiveKit on the host network, one pod per node, TURN/TLS load balancer (LivekitServer);
 * - TLS proxy and the signalling load balancer (TlsProxy); cert-manager Certificate on request;
 * - Redis in the cluster (InClusterRedis) or the external one;
 * - intake and dispatcher (QueueServices); agent workers with KEDA or an HPA (AgentWorkers);
 * - the local models' GPU servers, one Deployment and Service each (InferenceServer);
 * - with phone calls (plan.sip), the LiveKit SIP service in LiveKit's pods (SipService) and the
 *   sip-sync Job that keeps the trunks and dispatch rule (SipSync).
 */
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import type { SipCredentialInputs } from '../aws/sip.js';
import type { StackConfig } from '../config.js';
import { LIVEKIT_HTTP_PORT, REDIS_PORT } from '../livekit/ports.js';
import type { DeploymentPlan } from '../plan/plan.js';
import { agentInferenceEnvironment } from '../inference/agent-env.js';
import { inferenceServers } from '../inference/plan.js';
import { ttsVendor } from '../agent-providers.js';
import { sipSettings } from '../sip/config.js';
import { sipDeclaration, sipObjectNames, sipUri } from '../sip/declaration.js';
import { AgentWorkers } from './agent-workers.js';
import { inferenceHost, InferenceServer } from './inference-server.js';
import { type Component, labels, SERVICE_NAMES, serviceHost, sizeOf, type StackIdentity } from './common.js';
import { LIVEKIT_TLS_MOUNT, LivekitServer } from './livekit.js';
import { intakeWebhookUrl, QueueServices, queueStatsUrl } from './queue-services.js';
import { InClusterRedis } from './redis.js';
import { K8sSecrets } from './secrets.js';
import { checkK8sSip, k8sSipDomain, SipService, sipFirewallLines, SipSync } from './sip.js';
import { TlsProxy } from './tls-proxy.js';
import { validateK8sConfig } from './validate.js';

export interface K8sVoiceStackArgs {
  /** Stack name (pulumi.getStack()): labels and the agents' STACK_NAME. */
  stack: string;
  /** The validated stack config (configFromPulumi). */
  config: StackConfig;
  /** The capacity plan (planDeployment) with its Kubernetes layout: every size comes from it. */
  plan: DeploymentPlan;
  /** Password of the external Redis (secret config voice-agent-infra:redisPassword), if any. */
  redisPassword?: pulumi.Input<string>;
  /** The SIP credentials set in the stack config (sipCredentialsFromConfig), as Pulumi secrets. */
  sipCredentials?: SipCredentialInputs;
}

/** The Kubernetes voice stack of one tier. */
export class K8sVoiceStack extends pulumi.ComponentResource {
  /** wss://<domain>: what clients dial. */
  public readonly livekitUrl: pulumi.Output<string>;
  /** Where LiveKit posts its webhooks: the intake's Service inside the cluster. */
  public readonly webhookUrl: pulumi.Output<string>;
  /** LiveKit API key name (an identifier) and secret (a Pulumi secret). */
  public readonly apiKey: pulumi.Output<string>;
  public readonly apiSecret: pulumi.Output<string>;
  /** DNS records to create: each name to its load balancer's address. */
  public readonly dnsRecords: pulumi.Output<string[]>;
  public readonly agentImage: pulumi.Output<string>;
  public readonly namespace: pulumi.Output<string>;
  /** Names of the stack's Secrets (never values). */
  public readonly secretNames: pulumi.Output<Record<string, string>>;
  /** With phone calls: the SIP URI the provider's trunk points at (sip.<domain>, pointed at the LiveKit nodes). */
  public readonly sipUri?: pulumi.Output<string>;
  /** With phone calls: the numbers the inbound trunk takes (empty: any the provider sends). */
  public readonly sipNumbers?: pulumi.Output<string[]>;
  /** With phone calls: the rules the operator adds to the LiveKit nodes' firewall. */
  public readonly sipFirewall?: pulumi.Output<string[]>;

  constructor(name: string, args: K8sVoiceStackArgs, opts?: pulumi.ComponentResourceOptions) {
    super('voice-agent-infra:k8s:K8sVoiceStack', name, {}, opts);
    const { plan, stack } = args;
    const layout = plan.layout;
    const pods = layout.pods;
    if (!pods || !pods.livekit || !pods.agent || !pods.queue || !pods.tlsProxy) {
      throw new Error('K8sVoiceStack needs a plan made for target kubernetes (plan.layout.pods)');
    }
    const placement = validateK8sConfig(args.config, plan);
    checkK8sSip(args.config);
    const id: StackIdentity = { stack, tier: plan.tier };
    const ns = placement.namespace;
    const child = { parent: this };

    const namespace = new k8s.core.v1.Namespace(
      `${name}-namespace`,
      {
        metadata: {
          name: ns,
          labels: {
            ...labels(id, 'livekit'),
            // LiveKit needs the host network (WebRTC media on the node's ports), which the baseline
            // and restricted Pod Security levels forbid; every other pod is restricted by its own spec
            // (the k8s-no-privileged-containers policy holds them to it).
            'pod-security.kubernetes.io/enforce': 'privileged',
          },
        },
      },
      child,
    );
    const inNs = { parent: this, dependsOn: [namespace] };
    const nsName = namespace.metadata.name;

    // Nothing reaches a pod of the stack unless a component's policy says so.
    new k8s.networking.v1.NetworkPolicy(
      `${name}-default-deny`,
      { metadata: { namespace: nsName, labels: labels(id, 'queue') }, spec: { podSelector: {}, policyTypes: ['Ingress'] } },
      inNs,
    );

    if (placement.tls.clusterIssuer) {
      new k8s.apiextensions.CustomResource(
        `${name}-certificate`,
        {
          apiVersion: 'cert-manager.io/v1',
          kind: 'Certificate',
          metadata: { namespace: nsName, labels: labels(id, 'tls-proxy') },
          spec: {
            secretName: placement.tls.secretName,
            dnsNames: [placement.domain, placement.turnDomain],
            issuerRef: { name: placement.tls.clusterIssuer, kind: 'ClusterIssuer', group: 'cert-manager.io' },
            privateKey: { rotationPolicy: 'Always' },
          },
        },
        inNs,
      );
    }

    const livekitHost = serviceHost(SERVICE_NAMES.livekit, ns);
    const redisEndpoint = placement.externalRedis ?? { host: serviceHost(SERVICE_NAMES.redis, ns), port: REDIS_PORT };
    const secrets = new K8sSecrets(
      `${name}-secrets`,
      {
        namespace: nsName,
        labels: labels(id, 'queue'),
        redis: placement.externalRedis
          ? { kind: 'external', ...placement.externalRedis, ...(args.redisPassword !== undefined ? { password: args.redisPassword } : {}) }
          : { kind: 'in-cluster', ...redisEndpoint },
        livekitUsesRedis: layout.redis.livekitUsesIt,
      },
      inNs,
    );
    if (placement.externalRedis && args.redisPassword === undefined) {
      pulumi.log.warn('kubernetes.redisUrl is set without a password: set one with `pulumi config set --secret voice-agent-infra:redisPassword <password>` unless your Redis needs none', this);
    }

    const sip = plan.sip.enabled
      ? new SipService(
          `${name}-sip`,
          {
            id,
            namespace: nsName,
            size: sizeOf(pods.livekit.containers, 'sip'),
            apiKey: secrets.apiKey,
            apiSecret: secrets.apiSecret,
            redis: { host: redisEndpoint.host, port: redisEndpoint.port, tls: layout.redis.tls, ...(secrets.redisPassword !== undefined ? { password: secrets.redisPassword } : {}) },
          },
          inNs,
        )
      : undefined;

    const livekitAutoscaling = layout.autoscaling.find((a) => a.role === 'livekit');
    const livekit = new LivekitServer(
      `${name}-livekit`,
      {
        id,
        namespace: nsName,
        pod: pods.livekit,
        ...(livekitAutoscaling ? { autoscaling: livekitAutoscaling } : {}),
        apiKey: secrets.apiKey,
        config: {
          turnDomain: placement.turnDomain,
          webhookUrls: [intakeWebhookUrl(ns)],
          ...(layout.redis.livekitUsesIt ? { redis: { address: `${redisEndpoint.host}:${redisEndpoint.port}`, tls: layout.redis.tls } } : {}),
          ...(layout.tls.turn === 'livekit' ? { turnTls: { certFile: `${LIVEKIT_TLS_MOUNT}/tls.crt`, keyFile: `${LIVEKIT_TLS_MOUNT}/tls.key` } } : {}),
          secretsFrom: 'its environment, filled from a Kubernetes Secret',
        },
        secretName: secrets.names.livekit,
        redisPassword: layout.redis.livekitUsesIt && secrets.redisPassword !== undefined,
        tlsSecretName: placement.tls.secretName,
        provider: placement.provider,
        scheduling: placement.scheduling,
        ...(sip ? { sidecar: sip.sidecar } : {}),
      },
      inNs,
    );

    const proxy = new TlsProxy(
      `${name}-tls-proxy`,
      {
        id,
        namespace: ns,
        pod: pods.tlsProxy,
        config: { domain: placement.domain, upstream: `${livekitHost}:${LIVEKIT_HTTP_PORT}` },
        tlsSecretName: placement.tls.secretName,
        provider: placement.provider,
        scheduling: placement.scheduling,
      },
      inNs,
    );

    let redis: InClusterRedis | undefined;
    if (layout.redis.placement === 'in-cluster') {
      if (!pods.redis || !secrets.names.redis) throw new Error('the layout puts Redis in the cluster but sizes no Redis pod');
      const clients: Component[] = ['queue', 'agent', ...(plan.sip.enabled ? (['sip-sync'] as const) : [])];
      redis = new InClusterRedis(
        `${name}-redis`,
        {
          id,
          namespace: nsName,
          pod: pods.redis,
          secretName: secrets.names.redis,
          storageClass: placement.storageClass,
          clients,
          // Host-network LiveKit connects from its node's address when it shares Redis.
          nodeCidrs: layout.redis.livekitUsesIt ? placement.nodeCidrs : [],
          scheduling: placement.scheduling,
        },
        inNs,
      );
    }

    new QueueServices(
      `${name}-queue`,
      {
        id,
        namespace: ns,
        pod: pods.queue,
        image: placement.agentImage,
        apiKey: secrets.apiKey,
        secretName: secrets.names.queue,
        livekitUrl: `http://${livekitHost}:${LIVEKIT_HTTP_PORT}`,
        nodeCidrs: placement.nodeCidrs,
        kedaNamespace: placement.keda ? placement.kedaNamespace : null,
        operatorNamespace: placement.operatorNamespace,
        scheduling: placement.scheduling,
      },
      inNs,
    );

    // Local models (providers ... local): a GPU server per model the agent workers reach by Service name.
    const hosts: Record<string, string> = {};
    for (const server of inferenceServers(plan.inference)) {
      new InferenceServer(
        `${name}-inference-${server.modality}`,
        { id, namespace: ns, server, prometheusUrl: args.config.inference.prometheusUrl ?? null, operatorNamespace: placement.operatorNamespace },
        inNs,
      );
      hosts[server.modality] = inferenceHost(server, ns);
    }
    const inferenceEnvironment = Object.keys(hosts).length > 0 ? agentInferenceEnvironment(plan.inference, hosts, args.config.inference.tts.voice) : undefined;

    const agentAutoscaling = layout.autoscaling.find((a) => a.role === 'agent');
    new AgentWorkers(
      `${name}-agents`,
      {
        id,
        namespace: ns,
        pod: pods.agent,
        ...(agentAutoscaling ? { autoscaling: agentAutoscaling } : {}),
        keda: placement.keda,
        queueStatsUrl: queueStatsUrl(ns),
        image: placement.agentImage,
        sessionsPerWorker: plan.agents.sessionsPerWorker,
        ttsProvider: ttsVendor(args.config),
        // The escalation transfer dials out on the stack's outbound trunk, when it has one.
        ...(plan.sip.enabled && args.config.sip.outbound ? { escalationOutboundTrunk: sipObjectNames(args.stack).outbound } : {}),
        drainSeconds: layout.drain.agentSeconds,
        livekitUrl: `ws://${livekitHost}:${LIVEKIT_HTTP_PORT}`,
        apiKey: secrets.apiKey,
        secretName: secrets.names.agent,
        envSecret: placement.agentEnvSecret,
        operatorNamespace: placement.operatorNamespace,
        scheduling: placement.scheduling,
        ...(inferenceEnvironment ? { inferenceEnvironment } : {}),
      },
      inNs,
    );

    if (plan.sip.enabled) {
      // After LiveKit (awaited: ready) and Redis: sip-sync waits for LiveKit's SIP API, and `pulumi up` waits for sip-sync.
      new SipSync(
        `${name}-sip-sync`,
        {
          id,
          namespace: nsName,
          image: placement.agentImage,
          declaration: sipDeclaration({ stack, sip: sipSettings(args.config) }),
          credentials: args.sipCredentials ?? {},
          livekitUrl: `http://${livekitHost}:${LIVEKIT_HTTP_PORT}`,
          apiKey: secrets.apiKey,
          queueSecretName: secrets.names.queue,
          scheduling: placement.scheduling,
        },
        { parent: this, dependsOn: [namespace, livekit, ...(redis ? [redis] : [])] },
      );
    }

    const address = (service: k8s.core.v1.Service) =>
      service.status.apply((s) => {
        const ingress = s?.loadBalancer?.ingress?.[0];
        return ingress?.hostname ?? ingress?.ip ?? '(load balancer address pending)';
      });
    this.livekitUrl = pulumi.output(`wss://${placement.domain}`);
    this.webhookUrl = pulumi.output(intakeWebhookUrl(ns));
    this.apiKey = secrets.apiKey;
    this.apiSecret = secrets.apiSecret;
    const sipDomain = k8sSipDomain(placement.domain);
    this.dnsRecords = pulumi
      .all([address(proxy.service), address(livekit.turnService)])
      .apply(([signalling, turn]) => [
        `${placement.domain} -> ${signalling}`,
        `${placement.turnDomain} -> ${turn}`,
        ...(plan.sip.enabled ? [`${sipDomain} -> the public IPv4 address of each node running a LiveKit pod (A records; README "Receiving calls on Kubernetes")`] : []),
      ]);
    if (plan.sip.enabled) {
      this.sipUri = pulumi.output(sipUri(sipDomain, plan.sip.tls));
      this.sipNumbers = pulumi.output([...plan.sip.numbers]);
      this.sipFirewall = pulumi.output(sipFirewallLines(args.config.sip));
    }
    this.agentImage = pulumi.output(placement.agentImage);
    this.namespace = nsName;
    this.secretNames = pulumi.all(secrets.names).apply((names) => ({ ...names }) as Record<string, string>);
    this.registerOutputs({ livekitUrl: this.livekitUrl, webhookUrl: this.webhookUrl, dnsRecords: this.dnsRecords, namespace: this.namespace });
  }
}
