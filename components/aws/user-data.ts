/**
 * Adapter from the stack's outputs (ARNs, endpoints, the image reference) to the LiveKit
 * renderers' cloud-init (components/livekit/cloud-init.ts), which takes plain values. The user
 * data is rendered once every input is known; it holds ARNs and names, never a secret value (the
 * renderer's SecretArn check refuses anything that is not an ARN).
 */
import * as pulumi from '@pulumi/pulumi';
import { type CloudInitArgs, renderCloudInit } from '../livekit/cloud-init.js';
import type { NodeRole } from '../livekit/layout.js';
import { secretArn } from '../livekit/secret-arn.js';

export interface NodeUserDataArgs {
  /** What the node runs. */
  role: NodeRole;
  /** Stack name: the Stack dimension of the metrics (STACK_NAME). */
  stack: string;
  /** Region of the log group. */
  region: string;
  /** Signalling name (Caddy's certificate on small). */
  domain: string;
  /** TURN/TLS name (livekit.yaml turn.domain). */
  turnDomain: string;
  /** The agent image, pinned (repo:tag@digest or a configured reference). */
  agentImage: pulumi.Input<string>;
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
  /** Concurrent sessions an agent worker takes (plan.agents.sessionsPerWorker): AGENT_MAX_SESSIONS. */
  agentMaxSessions: number;
  /** CloudWatch namespace of the EMF metrics. */
  metricsNamespace: string;
  /** Log group the containers write to (EMF lines become metrics there). */
  logGroupName: pulumi.Input<string>;
  /** Seconds a stopping container may drain; default the renderer's. */
  drainSeconds?: number;
  /** ACME contact on small (the alert email); optional. */
  acmeEmail?: string;
}

/** The node's `#cloud-config` user data (plain text; launch templates need base64 of it). */
export function nodeUserData(args: NodeUserDataArgs): pulumi.Output<string> {
  return pulumi
    .all([
      args.agentImage,
      args.apiKey,
      args.livekitApiSecretArn,
      args.intakeTokenArn,
      args.redisAuthTokenArn ?? '',
      args.redis ? args.redis.host : '',
      args.logGroupName,
    ])
    .apply(([agentImage, apiKey, livekitApiSecretArn, intakeTokenArn, redisAuthTokenArn, redisHost, logGroupName]) =>
      renderCloudInit(cloudInitArgs(args, { agentImage, apiKey, livekitApiSecretArn, intakeTokenArn, redisAuthTokenArn, redisHost, logGroupName })),
    );
}

interface Resolved {
  agentImage: string;
  apiKey: string;
  livekitApiSecretArn: string;
  intakeTokenArn: string;
  redisAuthTokenArn: string;
  redisHost: string;
  logGroupName: string;
}

/** The renderer's arguments for a role, from resolved values. Exported for tests. */
export function cloudInitArgs(args: NodeUserDataArgs, v: Resolved): CloudInitArgs {
  const common = {
    agentImage: v.agentImage,
    livekitApiKey: v.apiKey,
    livekitApiSecretArn: secretArn(v.livekitApiSecretArn),
    intakePort: args.intakePort,
    metricsNamespace: args.metricsNamespace,
    // The plan sizes the worker (the small box keeps vCPU for LiveKit): the worker must not re-derive it.
    extraEnvironment: { STACK_NAME: args.stack, AGENT_MAX_SESSIONS: String(args.agentMaxSessions) },
    cloudWatchLogs: { group: v.logGroupName, region: args.region },
    ...(args.drainSeconds !== undefined ? { drainSeconds: args.drainSeconds } : {}),
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
  switch (args.role) {
    case 'small':
      return {
        ...common,
        role: 'small',
        domain: args.domain,
        livekit,
        intakeTokenArn: secretArn(v.intakeTokenArn),
        ...(args.acmeEmail ? { acmeEmail: args.acmeEmail } : {}),
      };
    case 'livekit-mid':
      return { ...common, role: 'livekit-mid', livekit, intakeTokenArn: secretArn(v.intakeTokenArn), redisAuthTokenArn: redisAuth() };
    case 'livekit-large':
      return { ...common, role: 'livekit-large', livekit, intakeTokenArn: secretArn(v.intakeTokenArn), redis: externalRedis() };
    case 'agent':
      if (!args.livekitUrl) throw new Error('role agent needs livekitUrl');
      return { ...common, role: 'agent', livekitUrl: args.livekitUrl, redis: externalRedis() };
  }
}
