/**
 * Phone calls on Kubernetes (issue 9, deliverable 5): the LiveKit SIP service in LiveKit's pods, and
 * `voice-agent sip-sync` as a Job that keeps LiveKit's trunks and dispatch rule in step with the stack.
 *
 * Where the SIP service runs: a second container in LiveKit's pod, not a workload of its own.
 * - It follows LiveKit one for one. On large LiveKit is scaled by an HPA; a Deployment of SIP pods
 *   with a required affinity to LiveKit's pods has a fixed replica count (pods beyond the LiveKit
 *   count sit Pending, and too few leave LiveKit nodes without SIP); a DaemonSet restricted by
 *   LiveKit's node selector needs a pool that holds LiveKit and nothing else, which small (one shared
 *   pool) and a stack without `kubernetes.nodeSelectors.livekit` do not have.
 * - Its room joins go to ws://127.0.0.1:7880 (as on AWS): in LiveKit's pod, LiveKit is always there.
 * - Host ports cannot surge: a separate SIP pod's rolling update could only start its new pod once
 *   the old one has drained on that node. In LiveKit's pod the rollout is LiveKit's (a new pod on a
 *   free node first, the old one drains).
 * - They drain together: one SIGTERM, one grace period (the longest call and the empty room), one
 *   PodDisruptionBudget. The price: a change to the SIP service (its image, its config) rolls LiveKit's
 *   pods too. With phone calls nearly every room holds a SIP participant, so draining one is
 *   draining the other anyway.
 *
 * Its config is rendered by renderSipConfig (components/sip) with placeholders into a ConfigMap; an
 * init container of the same image fills the LiveKit API secret and the Redis password from a
 * Secret into an in-memory volume (0600), which the SIP container reads as /sip/config.yaml (the
 * image's entrypoint). livekit/sip reads no Redis password from its environment (pkg/config/config.go),
 * so the filled file is the only way; no ConfigMap holds a secret. The public address is found
 * with STUN (`use_external_ip: true`): which node a pod lands on is not known in advance.
 *
 * sip-sync: a Job, awaited by `pulumi up` (pulumi-kubernetes waits for a Job to succeed), so the
 * trunks exist when `pulumi up` finishes. Its declaration ConfigMap and its credentials Secret are
 * immutable and autonamed: pulumi-kubernetes replaces a ConfigMap or Secret whose data changed
 * (provider/pkg/provider/diff.go forceNewProperties, always for `immutable: true`), the new name
 * changes the Job's pod template, and a Job's `spec.template` is replaced, not updated
 * (forceNew "batch"/"Job"): any change to the declaration, the credentials, the image or the
 * LiveKit/Redis secrets runs sip-sync again, and nothing else does.
 */
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import type { SipDeclaration } from '@voice-agent-infra/common';
import { ConfigError, type StackConfig } from '../config.js';
import { type ContainerSize, QUEUE_CONTAINER } from '../plan/layout.js';
import { SIP_CREDENTIAL_VARIABLES, sipCredentialsSecretString } from '../sip/node.js';
import { SIP_HEALTH_PORT, SIP_PROMETHEUS_PORT, SIP_SIGNALLING_PORT } from '../sip/ports.js';
import { sipIngressRules } from '../sip/providers.js';
import { renderSipConfig, SIP_FILES, SIP_IMAGE, sipConfigFillScript, type SipRedisArgs } from '../sip/sip-yaml.js';
import {
  configHash,
  containerResources,
  labels,
  podScheduling,
  restrictedContainer,
  restrictedPod,
  type Scheduling,
  type StackIdentity,
  tcpProbe,
  UIDS,
} from './common.js';
import { secretEnv } from './secrets.js';

/** Where the template is mounted in the init container, and the in-memory volume both containers share. */
export const SIP_K8S_PATHS = {
  templateDir: '/etc/livekit-sip-template',
  template: '/etc/livekit-sip-template/config.yaml',
  /** The image's working directory and entrypoint config (`livekit-sip --config=/sip/config.yaml`). */
  runDir: '/sip',
  config: SIP_FILES.containerConfig,
} as const;

/** The pod-template annotation carrying the SIP template's hash (LiveKit's config hash has its own). */
export const SIP_CONFIG_HASH_ANNOTATION = 'voice-agent-infra/sip-config-hash';
/** The Job's pod-template annotation carrying the declaration's hash (for people: the names already change). */
export const SIP_DECLARATION_HASH_ANNOTATION = 'voice-agent-infra/sip-declaration-hash';

/** The init container: a shell step, no long-lived process. */
export const SIP_FILL_CONTAINER: Readonly<ContainerSize> = {
  name: 'sip',
  requests: { cpu: 0.05, memoryGiB: 0.03125 },
  limits: { cpu: 0.2, memoryGiB: 0.0625 },
};

/** How long `pulumi up` waits for sip-sync (pulumi-kubernetes' default for a Job is 10 minutes). */
export const SIP_SYNC_TIMEOUT_SECONDS = 900;
/** sip-sync's own wait for LiveKit's SIP API and the lock (SIP_SYNC_WAIT_SECONDS); two tries fit in the timeout. */
export const SIP_SYNC_WAIT_SECONDS = 300;

/** The SIP host name on Kubernetes: the operator points it at the LiveKit nodes' public addresses. */
export function k8sSipDomain(domain: string): string {
  return `sip.${domain}`;
}

/**
 * What the Kubernetes target does not do yet with phone calls, as one ConfigError naming the key.
 * SIP over TLS needs a certificate for the SIP host name in the pod; `sip.tls.certificateSecretArn`
 * is an AWS Secrets Manager ARN that a pod cannot read.
 */
export function checkK8sSip(config: Pick<StackConfig, 'sip'>): void {
  if (config.sip.enabled && config.sip.tls.enabled) {
    throw new ConfigError(
      'sip.tls.enabled',
      true,
      'is not supported on target kubernetes yet (the certificate source, sip.tls.certificateSecretArn, is an AWS Secrets Manager secret): set sip.tls.enabled: false; SIP runs on UDP/TCP 5060',
    );
  }
}

/**
 * The Redis password as the SIP config can carry it (inside a double-quoted YAML scalar), or a
 * ConfigError naming the key, never the value: the generated one always fits, the external one
 * (voice-agent-infra:redisPassword) is the user's. Fails `pulumi up` before a pod does.
 */
export function sipRedisPassword(password: string): string {
  if (/[\s"\\]/.test(password)) {
    throw new ConfigError('redisPassword', '(secret, not shown)', 'must hold no quote, backslash or white space for the LiveKit SIP service, whose config file carries it (livekit/sip reads no Redis password from its environment)');
  }
  return password;
}

/**
 * The init container's script (bash: livekit/sip v1.11.0 build/sip/Dockerfile builds on
 * debian:trixie-slim, where bash is an essential package, and sets no USER): checks that
 * the values fit the template's double-quoted YAML, then runs the same fill step as the AWS nodes
 * (sipConfigFillScript) from the template to the in-memory volume. `imds` never runs here: the
 * template has no public-address placeholder (use_external_ip).
 */
export function sipFillScript(paths: { template: string; output: string } = { template: SIP_K8S_PATHS.template, output: SIP_K8S_PATHS.config }): string {
  return [
    'set -euo pipefail',
    "fail() { printf 'sip-config: %s\\n' \"$*\" >&2; exit 1; }",
    "imds() { fail 'no IMDS here: the SIP config on Kubernetes uses use_external_ip'; }",
    '[[ -n ${LIVEKIT_API_SECRET:-} ]] || fail "LIVEKIT_API_SECRET is empty: the SIP Secret must hold it"',
    '# The values go inside double-quoted YAML scalars: no quote, backslash or white space.',
    'for name in LIVEKIT_API_SECRET REDIS_PASSWORD; do',
    '  value=${!name:-}',
    '  if [[ $value == *[[:space:]\\"\\\\]* ]]; then fail "$name holds a quote, a backslash or white space, which the SIP config cannot carry"; fi',
    'done',
    'unset value',
    ...sipConfigFillScript(paths),
    "printf 'sip-config: %s written\\n' " + `'${paths.output}'`,
  ].join('\n');
}

/** What LiveKit's pod carries for the SIP service: init container, container, volumes and the pod-template annotation. */
export interface LivekitSidecar {
  initContainers: k8s.types.input.core.v1.Container[];
  containers: k8s.types.input.core.v1.Container[];
  volumes: k8s.types.input.core.v1.Volume[];
  annotations: Record<string, pulumi.Input<string>>;
}

export interface SipServiceArgs {
  id: StackIdentity;
  namespace: pulumi.Input<string>;
  /** The plan's SIP container (layout.pods.livekit.containers, name sip). */
  size: ContainerSize;
  /** LiveKit API key name (an identifier: it sits in the config). */
  apiKey: pulumi.Input<string>;
  /** The API secret (a Pulumi secret): into the SIP Secret only. */
  apiSecret: pulumi.Input<string>;
  /** LiveKit's Redis (the same one: psrpc between LiveKit and SIP). `auth` means `redisPassword` is set. */
  redis: Omit<SipRedisArgs, 'auth'> & { password?: pulumi.Input<string> };
  /** livekit/sip image, pinned; default SIP_IMAGE. */
  image?: string;
}

/**
 * The SIP service's ConfigMap (the rendered config, placeholders only) and Secret (API secret,
 * Redis password), and the containers LiveKit's pod runs with them (`sidecar`).
 */
export class SipService extends pulumi.ComponentResource {
  public readonly configMap: k8s.core.v1.ConfigMap;
  public readonly secret: k8s.core.v1.Secret;
  /** Hand to LivekitServer (args.sidecar). */
  public readonly sidecar: LivekitSidecar;

  constructor(name: string, args: SipServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super('voice-agent-infra:k8s:SipService', name, {}, opts);
    const child = { parent: this };
    const meta = { namespace: args.namespace, labels: labels(args.id, 'livekit') };
    const auth = args.redis.password !== undefined;
    const image = args.image ?? SIP_IMAGE;

    const configText = pulumi.output(args.apiKey).apply((apiKey) =>
      renderSipConfig(
        { apiKey, redis: { host: args.redis.host, ...(args.redis.port !== undefined ? { port: args.redis.port } : {}), tls: args.redis.tls, auth }, publicIp: 'stun' },
        `The init container fills the placeholders from the SIP Secret into ${SIP_K8S_PATHS.config} (in-memory volume, 0600).`,
      ),
    );
    this.configMap = new k8s.core.v1.ConfigMap(`${name}-config`, { metadata: meta, data: { 'config.yaml': configText } }, child);
    this.secret = new k8s.core.v1.Secret(
      `${name}-secret`,
      {
        metadata: meta,
        type: 'Opaque',
        stringData: { LIVEKIT_API_SECRET: pulumi.secret(args.apiSecret), ...(auth ? { REDIS_PASSWORD: pulumi.secret(pulumi.output(args.redis.password!).apply(sipRedisPassword)) } : {}) },
      },
      child,
    );

    const secretName = this.secret.metadata.name;
    const run = { name: 'sip-run', mountPath: SIP_K8S_PATHS.runDir };
    this.sidecar = {
      initContainers: [
        {
          name: 'sip-config',
          image,
          command: ['bash', '-c', sipFillScript()],
          env: [secretEnv('LIVEKIT_API_SECRET', secretName), ...(auth ? [secretEnv('REDIS_PASSWORD', secretName)] : [])],
          volumeMounts: [{ name: 'sip-template', mountPath: SIP_K8S_PATHS.templateDir, readOnly: true }, run],
          resources: containerResources(SIP_FILL_CONTAINER),
          securityContext: restrictedContainer(UIDS.nobody),
        },
      ],
      containers: [
        {
          name: 'sip',
          image,
          // The image's entrypoint reads /sip/config.yaml: the filled copy. Its health server listens
          // on every address (pkg/service/service.go ":%d"): the operator's firewall keeps 8086 and
          // 6790 closed from outside. With host networking the
          // container port is the node's port; the RTP range (10000-20000) is opened by the host
          // network, not listed (10,001 ports).
          ports: [
            { name: 'sip-udp', containerPort: SIP_SIGNALLING_PORT, hostPort: SIP_SIGNALLING_PORT, protocol: 'UDP' },
            { name: 'sip-tcp', containerPort: SIP_SIGNALLING_PORT, hostPort: SIP_SIGNALLING_PORT, protocol: 'TCP' },
            { name: 'sip-health', containerPort: SIP_HEALTH_PORT, hostPort: SIP_HEALTH_PORT, protocol: 'TCP' },
            { name: 'sip-metrics', containerPort: SIP_PROMETHEUS_PORT, hostPort: SIP_PROMETHEUS_PORT, protocol: 'TCP' },
          ],
          // TCP on the health port, not GET /: that answers 429 above max_cpu_utilization and 503
          // while draining, and in LiveKit's pod a failing readiness would take LiveKit itself out
          // of its Services, a failing liveness would restart the SIP service with its calls.
          readinessProbe: { tcpSocket: { port: SIP_HEALTH_PORT }, periodSeconds: 10, failureThreshold: 3, timeoutSeconds: 5 },
          livenessProbe: tcpProbe(SIP_HEALTH_PORT),
          resources: containerResources(args.size),
          // Every port is above 1024 and the filled file is this user's: no root, no capability.
          securityContext: restrictedContainer(UIDS.nobody),
          volumeMounts: [{ ...run, readOnly: true }],
        },
      ],
      volumes: [
        { name: 'sip-template', configMap: { name: this.configMap.metadata.name } },
        // Memory-backed: the filled config (secrets) never touches the node's disk.
        { name: 'sip-run', emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } },
      ],
      annotations: { [SIP_CONFIG_HASH_ANNOTATION]: configText.apply(configHash) },
    };
    this.registerOutputs({ configMap: this.configMap.metadata.name, secret: secretName });
  }
}

/** The SIP credentials by variable (SIP_INBOUND_USERNAME, ...), checked as on AWS (sipCredentialsSecretString): a bad value fails naming its key. */
export function sipCredentialsSecretData(values: Readonly<Partial<Record<keyof typeof SIP_CREDENTIAL_VARIABLES, string>>>): Record<string, string> {
  const data: Record<string, string> = {};
  for (const line of sipCredentialsSecretString(values).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.indexOf('=');
    data[line.slice(0, at)] = line.slice(at + 1);
  }
  return data;
}

/** The variables sip-sync reads the credentials from, for what the declaration asks. */
export function sipCredentialEnvNames(declaration: SipDeclaration): string[] {
  return [
    ...(declaration.inboundTrunk?.auth ? ['SIP_INBOUND_USERNAME', 'SIP_INBOUND_PASSWORD'] : []),
    ...(declaration.outboundTrunk?.auth ? ['SIP_OUTBOUND_USERNAME', 'SIP_OUTBOUND_PASSWORD'] : []),
  ];
}

export interface SipSyncArgs {
  id: StackIdentity;
  namespace: pulumi.Input<string>;
  /** The agent image (pinned): `voice-agent sip-sync`. */
  image: string;
  /** The stack's trunks and dispatch rule (components/sip/declaration.ts). */
  declaration: SipDeclaration;
  /** The SIP credentials set in the stack config, as Pulumi secrets, by config key. */
  credentials: Partial<Record<keyof typeof SIP_CREDENTIAL_VARIABLES, pulumi.Input<string>>>;
  /** LiveKit's API inside the cluster, e.g. http://livekit.voice-agent.svc.cluster.local:7880. */
  livekitUrl: string;
  apiKey: pulumi.Input<string>;
  /** Secret with LIVEKIT_API_SECRET and REDIS_URL (the queue's: sip-sync takes its lock in the queue's Redis). */
  queueSecretName: pulumi.Input<string>;
  scheduling: Scheduling;
}

/** sip-sync: the declaration ConfigMap, the credentials Secret (both immutable), the Job. */
export class SipSync extends pulumi.ComponentResource {
  public readonly job: k8s.batch.v1.Job;

  constructor(name: string, args: SipSyncArgs, opts?: pulumi.ComponentResourceOptions) {
    super('voice-agent-infra:k8s:SipSync', name, {}, opts);
    const child = { parent: this };
    const meta = { namespace: args.namespace, labels: labels(args.id, 'sip-sync') };
    const declarationText = JSON.stringify(args.declaration);

    // Immutable: a change replaces them (new names), which changes the Job's template (see the file's comment).
    const declaration = new k8s.core.v1.ConfigMap(`${name}-declaration`, { metadata: meta, immutable: true, data: { 'sip-declaration.json': declarationText } }, child);
    const credentials = new k8s.core.v1.Secret(
      `${name}-credentials`,
      {
        metadata: meta,
        type: 'Opaque',
        immutable: true,
        stringData: pulumi.secret(pulumi.all(args.credentials).apply((values) => sipCredentialsSecretData(values as Record<string, string>))),
      },
      child,
    );

    const env = [
      { name: 'SIP_DECLARATION', valueFrom: { configMapKeyRef: { name: declaration.metadata.name, key: 'sip-declaration.json' } } },
      { name: 'LIVEKIT_URL', value: args.livekitUrl },
      { name: 'LIVEKIT_API_KEY', value: args.apiKey },
      { name: 'SIP_SYNC_WAIT_SECONDS', value: String(SIP_SYNC_WAIT_SECONDS) },
      secretEnv('LIVEKIT_API_SECRET', args.queueSecretName),
      secretEnv('REDIS_URL', args.queueSecretName),
      ...sipCredentialEnvNames(args.declaration).map((variable) => secretEnv(variable, credentials.metadata.name)),
    ];
    this.job = new k8s.batch.v1.Job(
      name,
      {
        metadata: { ...meta, annotations: { 'pulumi.com/timeoutSeconds': String(SIP_SYNC_TIMEOUT_SECONDS) } },
        spec: {
          // Each try waits up to SIP_SYNC_WAIT_SECONDS for LiveKit; a second try covers a slow start.
          backoffLimit: 1,
          activeDeadlineSeconds: SIP_SYNC_TIMEOUT_SECONDS,
          template: {
            metadata: { labels: { ...meta.labels }, annotations: { [SIP_DECLARATION_HASH_ANNOTATION]: configHash(declarationText) } },
            spec: {
              restartPolicy: 'Never',
              automountServiceAccountToken: false,
              securityContext: restrictedPod(UIDS.agentImage),
              ...podScheduling(args.scheduling, 'services'),
              containers: [
                {
                  name: 'sip-sync',
                  image: args.image,
                  args: ['sip-sync'],
                  env,
                  // The same light Node process as the intake (QUEUE_CONTAINER): a few API calls.
                  resources: containerResources({ name: 'intake', ...QUEUE_CONTAINER }),
                  securityContext: restrictedContainer(UIDS.agentImage),
                },
              ],
            },
          },
        },
      },
      child,
    );
    this.registerOutputs({ job: this.job.metadata.name });
  }
}

/**
 * The firewall rules the operator adds for the LiveKit nodes (stack output `sipFirewall`): the
 * cluster's firewall is not the stack's, as for LiveKit's media ports. The same rules the AWS
 * security groups get (sipIngressRules), one line each.
 */
export function sipFirewallLines(sip: Pick<StackConfig['sip'], 'provider' | 'allowedCidrs' | 'mediaCidrs' | 'tls'>): string[] {
  return sipIngressRules({
    provider: sip.provider,
    ...(sip.allowedCidrs ? { allowedCidrs: sip.allowedCidrs } : {}),
    ...(sip.mediaCidrs ? { mediaCidrs: sip.mediaCidrs } : {}),
    tls: sip.tls.enabled,
  }).map((rule) => {
    const ports = rule.fromPort === rule.toPort ? String(rule.fromPort) : `${rule.fromPort}-${rule.toPort}`;
    const from = rule.source.kind === 'internet' ? '0.0.0.0/0' : rule.source.cidr;
    return `${rule.protocol} ${ports} from ${from}: ${rule.description}`;
  });
}
