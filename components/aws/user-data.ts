/**
 * Adapter from the stack's outputs (ARNs, endpoints, the image reference) to the LiveKit
 * renderers' cloud-init (components/livekit/cloud-init.ts), which takes plain values. The user
 * data is rendered once every input is known; it holds ARNs and names, never a secret value (the
 * renderer's SecretArn check refuses anything that is not an ARN).
 */
import * as pulumi from '@pulumi/pulumi';
import { agentSessionEnvironment } from '@voice-agent-infra/common';
import { type CloudInitArgs, renderCloudInit } from '../livekit/cloud-init.js';
import { isSingleNode, type NodeRole } from '../livekit/layout.js';
import { secretArn } from '../livekit/secret-arn.js';

export interface NodeUserDataArgs {
  /** What the node runs. */
  role: NodeRole;
  /** Stack name: the Stack dimension of the metrics (STACK_NAME). */
  stack: string;
  /** The provider's region (aws.getRegionOutput()): the log group's, the image parameter's. */
  region: pulumi.Input<string>;
  /** Signalling name (Caddy's certificate on small). */
  domain: string;
  /** TURN/TLS name (livekit.yaml turn.domain). */
  turnDomain: string;
  /**
   * The agent image: pinned (repo:tag@digest or a configured reference) on autoscaled roles; on
   * the single node the SSM parameter holding it (the image never enters its user data).
   */
  agentImage: pulumi.Input<string> | { ssmParameter: string };
  /** LiveKit API key name (an identifier). */
  apiKey: pulumi.Input<string>;
  livekitApiSecretArn: pulumi.Input<string>;
  /** Intake operator token ARN (LiveKit roles). */
  intakeTokenArn: pulumi.Input<string>;
  /** Redis AUTH token ARN (mid, large). */
  redisAuthTokenArn?: pulumi.Input<string>;
  /** Redis the node uses when it is not its own: ElastiCache (tls) or the mid LiveKit node (plain, private IP). */
  redis?: { host: pulumi.Input<string>; tls: boolean };
  /** LIVEKIT_URL for agent workers (wss://domain). */
  livekitUrl?: string;
  /** Intake port on LiveKit nodes. */
  intakePort: number;
  /** Concurrent sessions an agent worker takes (plan.agents.sessionsPerWorker): AGENT_MAX_SESSIONS is set so the worker takes exactly these (maxSessionsForPlanned). */
  agentMaxSessions: number;
  /** The stack's outbound trunk (sip.outbound), by name: the escalation transfer dials out on it; none by default. */
  escalationOutboundTrunk?: string;
  /** CloudWatch namespace of the EMF metrics. */
  metricsNamespace: string;
  /** Log group the containers write to (EMF lines become metrics there). */
  logGroupName: pulumi.Input<string>;
  /** Seconds a stopping container may drain (plan.layout.drain). */
  drainSeconds?: number;
  /** ACME contact on small (the alert email); optional. */
  acmeEmail?: string;
  /** Caddy L4 image override (aws.caddyImage); default the renderer's pin. */
  caddyImage?: string;
  /** Single node: its Elastic IP (livekit.yaml rtc.node_ip) and its data volume. */
  singleNode?: { publicIp: pulumi.Input<string>; dataVolumeId: pulumi.Input<string> };
  /**
   * The operator's agent env secret (aws.agentEnvSecretArn) and the keys the providers need: the
   * roles that run the agent worker (small, agent) read it at boot; the others ignore it.
   */
  agentEnv?: { secretArn: string; expectedKeys: readonly string[] };
  /** TTS vendor of the configured providers (TTS_PROVIDER for the worker, so it uses the key the stack asks for); default the image's spec. */
  ttsProvider?: 'cartesia' | 'elevenlabs';
  /** LiveKit roles of a stack that answers phone calls: the SIP service and sip-watch (components/sip). */
  sip?: {
    /** SIP over TLS (plan.sip.tls). */
    tls: boolean;
    /** The certificate secret's ARN (sip.tls.certificateSecretArn), with tls. */
    certificateSecretArn?: string;
    /** The SSM parameter name of the SIP declaration (in the stack's region). */
    declarationParameter: string;
    /** ARN of the SIP credentials secret (StackSecrets). */
    credentialsSecretArn: pulumi.Input<string>;
  };
  /** The local models the agent uses (LOCAL_LLM_URL, ...: components/inference/agent-env.ts); none by default. */
  inferenceEnvironment?: pulumi.Input<Record<string, string>>;
}

/** The node's `#cloud-config` user data (plain text; the components send it gzip-compressed). */
export function nodeUserData(args: NodeUserDataArgs): pulumi.Output<string> {
  const image = typeof args.agentImage === 'object' && 'ssmParameter' in args.agentImage ? '' : (args.agentImage as pulumi.Input<string>);
  return pulumi
    .all({
      agentImage: image,
      apiKey: args.apiKey,
      livekitApiSecretArn: args.livekitApiSecretArn,
      intakeTokenArn: args.intakeTokenArn,
      redisAuthTokenArn: args.redisAuthTokenArn ?? '',
      redisHost: args.redis ? args.redis.host : '',
      logGroupName: args.logGroupName,
      region: args.region,
      publicIp: args.singleNode?.publicIp ?? '',
      dataVolumeId: args.singleNode?.dataVolumeId ?? '',
      sipCredentialsSecretArn: args.sip?.credentialsSecretArn ?? '',
      inferenceEnvironment: args.inferenceEnvironment ?? {},
    })
    .apply((resolved) => renderCloudInit(cloudInitArgs(args, resolved as unknown as Resolved)));
}

interface Resolved {
  /** The pinned image; '' on the single node (it reads the SSM parameter). */
  agentImage: string;
  apiKey: string;
  livekitApiSecretArn: string;
  intakeTokenArn: string;
  redisAuthTokenArn: string;
  redisHost: string;
  logGroupName: string;
  region: string;
  publicIp: string;
  dataVolumeId: string;
  /** '' without SIP. */
  sipCredentialsSecretArn: string;
  /** The local models' environment ({} when every model is hosted). */
  inferenceEnvironment?: Record<string, string>;
}

/** The renderer's arguments for a role, from resolved values. Exported for tests. */
export function cloudInitArgs(args: NodeUserDataArgs, v: Resolved): CloudInitArgs {
  const common = {
    livekitApiKey: v.apiKey,
    livekitApiSecretArn: secretArn(v.livekitApiSecretArn),
    intakePort: args.intakePort,
    metricsNamespace: args.metricsNamespace,
    // The plan sizes the worker (the small box keeps vCPU for LiveKit): the worker must not re-derive it.
    extraEnvironment: {
      STACK_NAME: args.stack,
      ...agentSessionEnvironment(args.agentMaxSessions),
      ...(args.ttsProvider ? { TTS_PROVIDER: args.ttsProvider } : {}),
      ...(args.escalationOutboundTrunk ? { ESCALATION_OUTBOUND_TRUNK: args.escalationOutboundTrunk } : {}),
      ...v.inferenceEnvironment,
    },
    cloudWatchLogs: { group: v.logGroupName, region: v.region },
    ...(args.drainSeconds !== undefined ? { drainSeconds: args.drainSeconds } : {}),
    ...(args.caddyImage !== undefined ? { images: { caddy: args.caddyImage } } : {}),
  };
  const livekit = { turnDomain: args.turnDomain };
  const redisAuth = () => {
    if (!v.redisAuthTokenArn) throw new Error(`role ${args.role} needs redisAuthTokenArn`);
    return secretArn(v.redisAuthTokenArn);
  };
  const externalRedis = () => {
    if (!args.redis || !v.redisHost) throw new Error(`role ${args.role} needs a redis host`);
    return { host: v.redisHost, tls: args.redis.tls, authTokenArn: redisAuth() };
  };
  const single = () => {
    if (!isSingleNode(args.role) || typeof args.agentImage !== 'object' || !('ssmParameter' in args.agentImage) || !v.publicIp || !v.dataVolumeId) {
      throw new Error(`role ${args.role} needs the image parameter, the Elastic IP and the data volume`);
    }
    return {
      agentImage: { ssmParameter: args.agentImage.ssmParameter, region: v.region },
      dataVolumeId: v.dataVolumeId,
      livekit: { ...livekit, nodeIp: v.publicIp },
    };
  };
  const sip = () => {
    if (!args.sip) return {};
    if (!v.sipCredentialsSecretArn) throw new Error(`role ${args.role} with sip needs the SIP credentials secret`);
    return {
      sip: {
        tls: args.sip.tls,
        ...(args.sip.certificateSecretArn !== undefined ? { certificateSecretArn: secretArn(args.sip.certificateSecretArn) } : {}),
        declarationParameter: { name: args.sip.declarationParameter, region: v.region },
        credentialsSecretArn: secretArn(v.sipCredentialsSecretArn),
      },
    };
  };
  // The roles that run the agent worker cannot answer a call without their providers' keys.
  const agentEnv = () => {
    if (!args.agentEnv) throw new Error(`role ${args.role} runs the agent worker and needs the agent env secret (aws.agentEnvSecretArn)`);
    return { agentEnv: { secretArn: secretArn(args.agentEnv.secretArn), expectedKeys: args.agentEnv.expectedKeys } };
  };
  const pinned = () => {
    if (!v.agentImage) throw new Error(`role ${args.role} needs a pinned agent image`);
    return { agentImage: v.agentImage };
  };
  switch (args.role) {
    case 'small':
      return {
        ...common,
        ...single(),
        role: 'small',
        ...agentEnv(),
        domain: args.domain,
        intakeTokenArn: secretArn(v.intakeTokenArn),
        ...(args.acmeEmail ? { acmeEmail: args.acmeEmail } : {}),
        ...sip(),
      };
    case 'livekit-mid':
      return { ...common, ...single(), role: 'livekit-mid', intakeTokenArn: secretArn(v.intakeTokenArn), redisAuthTokenArn: redisAuth(), ...sip() };
    case 'livekit-large':
      return { ...common, ...pinned(), role: 'livekit-large', livekit, intakeTokenArn: secretArn(v.intakeTokenArn), redis: externalRedis(), ...sip() };
    case 'agent':
      if (!args.livekitUrl) throw new Error('role agent needs livekitUrl');
      if (args.sip) throw new Error('role agent runs no SIP service');
      return { ...common, ...pinned(), ...agentEnv(), role: 'agent', livekitUrl: args.livekitUrl, redis: externalRedis() };
  }
}
