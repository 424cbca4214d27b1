/**
 * Cross-key checks of the `kubernetes` config section against the plan, before any object is
 * built. Pure: the zod schema checks each key alone; these checks need the target, two keys, or the
 * plan at once. Each failure is one ConfigError naming the key to change.
 */
import { ConfigError, type KubernetesProvider, type StackConfig } from '../config.js';
import { assertPinnedImage } from '../livekit/compose.js';
import type { DeploymentPlan } from '../plan/plan.js';
import type { Scheduling } from './common.js';

/** The Kubernetes part of a validated config, with the derived names the components use. */
export interface K8sPlacement {
  namespace: string;
  provider: KubernetesProvider;
  /** Signalling hostname: clients dial wss://<domain>. */
  domain: string;
  /** TURN/TLS hostname (turns:<turnDomain>:443); turn.<domain> unless configured. */
  turnDomain: string;
  /** The TLS Secret both names use; issued by cert-manager when clusterIssuer is set. */
  tls: { secretName: string; clusterIssuer: string | null };
  storageClass: string | null;
  /** The external Redis (kubernetes.redisUrl): host and port, TLS; null when Redis runs in the cluster. */
  externalRedis: { host: string; port: number } | null;
  keda: boolean;
  kedaNamespace: string;
  agentImage: string;
  agentEnvSecret: string | null;
  nodeCidrs: string[];
  operatorNamespace: string | null;
  scheduling: Scheduling;
  controlPlaneMonthlyUsd: number;
}

const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const CIDR_V4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;
const CIDR_V6 = /^[0-9a-f:]+\/(\d{1,3})$/i;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Name of the TLS Secret cert-manager writes when the stack asks it for the certificate. */
export const ISSUED_TLS_SECRET = 'voice-agent-tls';

/**
 * Checks the `kubernetes` section for a Kubernetes stack and returns the placement the components
 * build. Throws one ConfigError for the first problem, naming the key.
 */
export function validateK8sConfig(config: StackConfig, plan: Pick<DeploymentPlan, 'tier' | 'redis'>): K8sPlacement {
  const k8s = config.kubernetes;
  if (!k8s.domain) {
    throw new ConfigError('kubernetes.domain', k8s.domain, 'is required: LiveKit serves wss://<domain> and turns:<turn domain>:443 over TLS; e.g. voice.example.com');
  }
  const domain = hostname('kubernetes.domain', k8s.domain);
  const turnDomain = hostname('kubernetes.turnDomain', k8s.turnDomain ?? `turn.${domain}`);
  if (turnDomain === domain) {
    throw new ConfigError('kubernetes.turnDomain', k8s.turnDomain, 'must differ from kubernetes.domain: each name has its own load balancer on port 443');
  }

  const tls = k8s.tls;
  if (!tls || (tls.secretName === undefined) === (tls.clusterIssuer === undefined)) {
    throw new ConfigError(
      'kubernetes.tls',
      tls,
      `needs exactly one of secretName (an existing kubernetes.io/tls Secret in the namespace, for ${domain} and ${turnDomain}) or clusterIssuer (a cert-manager ClusterIssuer that issues it)`,
    );
  }
  if (tls.clusterIssuer !== undefined && !DNS_LABEL.test(tls.clusterIssuer)) {
    throw new ConfigError('kubernetes.tls.clusterIssuer', tls.clusterIssuer, 'must be the name of a cert-manager ClusterIssuer, e.g. letsencrypt-prod');
  }

  if (!k8s.agentImage) {
    throw new ConfigError('kubernetes.agentImage', k8s.agentImage, 'is required: nothing is built in the cluster; push the agent image (agent/Dockerfile) and name it, pinned, e.g. ghcr.io/acme/voice-agent:1.2.3');
  }
  try {
    assertPinnedImage('kubernetes.agentImage', k8s.agentImage);
  } catch {
    // A moving tag would run different code in old and new pods of one Deployment.
    throw new ConfigError('kubernetes.agentImage', k8s.agentImage, 'must be an image reference pinned by tag or digest (not latest), e.g. ghcr.io/acme/voice-agent:1.2.3');
  }

  if (!k8s.nodeCidrs || k8s.nodeCidrs.length === 0) {
    throw new ConfigError(
      'kubernetes.nodeCidrs',
      k8s.nodeCidrs,
      "is required: the nodes' private address ranges, e.g. [10.0.0.0/16]. LiveKit runs on the host network, so its webhooks reach the intake from node addresses, which the NetworkPolicies admit by range",
    );
  }
  for (const [i, cidr] of k8s.nodeCidrs.entries()) checkNodeCidr(`kubernetes.nodeCidrs[${i}]`, cidr);

  let externalRedis: K8sPlacement['externalRedis'] = null;
  if (plan.redis.mode === 'external') {
    if (k8s.redisUrl === undefined) throw new Error('the plan names an external Redis without kubernetes.redisUrl');
    externalRedis = redisEndpoint(k8s.redisUrl);
  }

  return {
    namespace: k8s.namespace,
    provider: k8s.provider,
    domain,
    turnDomain,
    tls: tls.secretName !== undefined ? { secretName: tls.secretName, clusterIssuer: null } : { secretName: ISSUED_TLS_SECRET, clusterIssuer: tls.clusterIssuer! },
    storageClass: k8s.storageClass ?? null,
    externalRedis,
    keda: k8s.keda,
    kedaNamespace: k8s.kedaNamespace,
    agentImage: k8s.agentImage,
    agentEnvSecret: k8s.agentEnvSecret ?? null,
    nodeCidrs: [...k8s.nodeCidrs],
    operatorNamespace: k8s.operatorNamespace ?? null,
    scheduling: { nodeSelectors: { ...k8s.nodeSelectors }, tolerations: { ...k8s.tolerations } },
    controlPlaneMonthlyUsd: k8s.controlPlaneMonthlyUsd,
  };
}

function hostname(key: string, value: string): string {
  const name = value.trim().toLowerCase().replace(/\.$/, '');
  if (!HOSTNAME.test(name)) throw new ConfigError(key, value, 'must be a DNS hostname, e.g. voice.example.com (no scheme, no port)');
  return name;
}

/** The external Redis: rediss:// (TLS: the queue's traffic leaves the cluster), host:port, and no credentials in stack config. */
export function redisEndpoint(url: string): { host: string; port: number } {
  const key = 'kubernetes.redisUrl';
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(key, url, 'must be a URL such as rediss://queue.abc123.use1.cache.amazonaws.com:6379');
  }
  if (parsed.username !== '' || parsed.password !== '') {
    // Never echo the value: it carries a credential.
    throw new ConfigError(key, '[credentials]', 'must not carry credentials (stack config is plain text): set the password with `pulumi config set --secret voice-agent-infra:redisPassword <password>`');
  }
  if (parsed.protocol !== 'rediss:') {
    throw new ConfigError(key, url, 'must use rediss:// (TLS): the queue and its password cross the network to the external Redis');
  }
  if ((parsed.pathname !== '' && parsed.pathname !== '/') || parsed.search !== '') {
    throw new ConfigError(key, url, 'must be rediss://host:port only (the queue uses database 0)');
  }
  const port = parsed.port === '' ? 6379 : Number(parsed.port);
  return { host: parsed.hostname, port };
}

function checkNodeCidr(key: string, cidr: string): void {
  const v4 = CIDR_V4.exec(cidr);
  if (v4) {
    const bits = Number(v4[5]);
    if (v4.slice(1, 5).map(Number).some((o) => o > 255) || bits > 32) throw new ConfigError(key, cidr, 'must be an IPv4 or IPv6 CIDR such as 10.0.0.0/16');
    if (bits === 0) throw new ConfigError(key, cidr, "must not be the whole internet: name the nodes' private ranges");
    return;
  }
  const v6 = CIDR_V6.exec(cidr);
  if (!v6 || !cidr.includes(':') || Number(v6[1]) > 128) throw new ConfigError(key, cidr, 'must be an IPv4 or IPv6 CIDR such as 10.0.0.0/16');
  if (Number(v6[1]) === 0) throw new ConfigError(key, cidr, "must not be the whole internet: name the nodes' private ranges");
}
