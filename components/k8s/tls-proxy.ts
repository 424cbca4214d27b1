/**
 * TLS for signalling on Kubernetes: LiveKit serves no TLS on its HTTP port (LiveKit's docs leave
 * TLS to the ingress or load balancer), and a LoadBalancer Service cannot use a Kubernetes TLS
 * Secret on every cloud. So Caddy pods (the same pinned image as the AWS small box) hold the
 * certificate from the Secret and proxy wss://<domain> to LiveKit's ClusterIP Service, behind a
 * LoadBalancer Service on 443 with the cloud's annotations. Caddy reads the certificate at start:
 * after cert-manager renews it, restart the proxy (`kubectl rollout restart`); clients reconnect
 * their signalling, media does not pass here.
 */
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import type { KubernetesProvider } from '../config.js';
import { PINNED_IMAGES } from '../livekit/compose.js';
import { assertHostname } from '../livekit/livekit-yaml.js';
import { PUBLIC_TLS_PORT } from '../livekit/ports.js';
import type { PodLayout } from '../plan/layout.js';
import {
  CONFIG_HASH_ANNOTATION,
  configHash,
  containerResources,
  httpProbe,
  labels,
  podScheduling,
  restrictedContainer,
  restrictedPod,
  type Scheduling,
  SERVICE_NAMES,
  selectorLabels,
  type StackIdentity,
  sizeOf,
  tcpProbe,
  UIDS,
} from './common.js';
import { loadBalancerAnnotations } from './livekit.js';

/** Ports inside the proxy pod: unprivileged, so Caddy runs as nobody. */
export const TLS_PROXY_PORT = 8443;
export const TLS_PROXY_HEALTH_PORT = 8080;
/** Where the TLS Secret is mounted. */
export const TLS_PROXY_CERT_DIR = '/etc/tls';

export interface TlsProxyConfigArgs {
  /** Public signalling hostname, e.g. "voice.example.com". */
  domain: string;
  /** LiveKit inside the cluster, host:port, e.g. "livekit.voice-agent.svc.cluster.local:7880". */
  upstream: string;
}

/** Caddy's JSON config for the proxy, pure. */
export function tlsProxyConfig(args: TlsProxyConfigArgs): Record<string, unknown> {
  assertHostname('domain', args.domain);
  if (!/^[a-z0-9.-]+:\d{1,5}$/.test(args.upstream)) throw new Error(`upstream must be host:port, got "${args.upstream}"`);
  return {
    // No admin endpoint: nothing reconfigures the proxy at run time.
    admin: { disabled: true },
    logging: { logs: { default: { level: 'INFO' } } },
    // Writable scratch only (an emptyDir): no ACME, the certificate comes from the Secret.
    storage: { module: 'file_system', root: '/tmp/caddy' },
    apps: {
      tls: { certificates: { load_files: [{ certificate: `${TLS_PROXY_CERT_DIR}/tls.crt`, key: `${TLS_PROXY_CERT_DIR}/tls.key` }] } },
      http: {
        servers: {
          signal: {
            listen: [`:${TLS_PROXY_PORT}`],
            automatic_https: { disable: true },
            // HTTP/1.1 only: the signalling and agent WebSockets upgrade over HTTP/1.1.
            tls_connection_policies: [{ match: { sni: [args.domain] }, alpn: ['http/1.1'] }],
            routes: [
              {
                match: [{ host: [args.domain] }],
                // flush_interval -1: stream at once (WebSocket frames, long polls).
                handle: [{ handler: 'reverse_proxy', upstreams: [{ dial: args.upstream }], flush_interval: -1 }],
              },
            ],
          },
          health: {
            listen: [`:${TLS_PROXY_HEALTH_PORT}`],
            automatic_https: { disable: true },
            routes: [{ match: [{ path: ['/healthz'] }], handle: [{ handler: 'static_response', status_code: 200, body: 'OK' }] }],
          },
        },
      },
    },
  };
}

export interface TlsProxyArgs {
  id: StackIdentity;
  namespace: string;
  pod: PodLayout;
  config: TlsProxyConfigArgs;
  tlsSecretName: string;
  provider: KubernetesProvider;
  scheduling: Scheduling;
  image?: string;
}

/** The TLS proxy: ConfigMap, Deployment, the signalling LoadBalancer Service, PodDisruptionBudget, NetworkPolicy. */
export class TlsProxy extends pulumi.ComponentResource {
  public readonly deployment: k8s.apps.v1.Deployment;
  /** LoadBalancer Service: wss signalling on 443. */
  public readonly service: k8s.core.v1.Service;

  constructor(name: string, args: TlsProxyArgs, opts?: pulumi.ComponentResourceOptions) {
    super('voice-agent-infra:k8s:TlsProxy', name, {}, opts);
    const child = { parent: this };
    const meta = { namespace: args.namespace, labels: labels(args.id, 'tls-proxy') };
    const selector = selectorLabels(args.id, 'tls-proxy');
    const configText = JSON.stringify(tlsProxyConfig(args.config), null, 2);
    const configMap = new k8s.core.v1.ConfigMap(`${name}-config`, { metadata: meta, data: { 'caddy.json': configText } }, child);

    this.deployment = new k8s.apps.v1.Deployment(
      name,
      {
        metadata: { ...meta, name: 'tls-proxy' },
        spec: {
          replicas: args.pod.replicas.min,
          selector: { matchLabels: selector },
          strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
          template: {
            metadata: { labels: { ...meta.labels }, annotations: { [CONFIG_HASH_ANNOTATION]: configHash(configText) } },
            spec: {
              terminationGracePeriodSeconds: args.pod.terminationGracePeriodSeconds,
              automountServiceAccountToken: false,
              securityContext: restrictedPod(UIDS.nobody),
              ...podScheduling(args.scheduling, 'services'),
              containers: [
                {
                  name: 'tls-proxy',
                  image: args.image ?? PINNED_IMAGES.caddy,
                  command: ['caddy'],
                  args: ['run', '--config', '/etc/caddy/caddy.json'],
                  env: [
                    { name: 'XDG_DATA_HOME', value: '/tmp/caddy' },
                    { name: 'XDG_CONFIG_HOME', value: '/tmp/caddy' },
                  ],
                  ports: [
                    { name: 'https', containerPort: TLS_PROXY_PORT, protocol: 'TCP' },
                    { name: 'health', containerPort: TLS_PROXY_HEALTH_PORT, protocol: 'TCP' },
                  ],
                  readinessProbe: httpProbe('/healthz', TLS_PROXY_HEALTH_PORT, { periodSeconds: 5 }),
                  livenessProbe: tcpProbe(TLS_PROXY_PORT),
                  resources: containerResources(sizeOf(args.pod.containers, 'tls-proxy')),
                  securityContext: { ...restrictedContainer(UIDS.nobody), readOnlyRootFilesystem: true },
                  volumeMounts: [
                    { name: 'config', mountPath: '/etc/caddy', readOnly: true },
                    { name: 'tls', mountPath: TLS_PROXY_CERT_DIR, readOnly: true },
                    { name: 'scratch', mountPath: '/tmp' },
                  ],
                },
              ],
              volumes: [
                { name: 'config', configMap: { name: configMap.metadata.name } },
                { name: 'tls', secret: { secretName: args.tlsSecretName } },
                { name: 'scratch', emptyDir: {} },
              ],
            },
          },
        },
      },
      child,
    );
    this.service = new k8s.core.v1.Service(
      `${name}-lb`,
      {
        metadata: { ...meta, name: SERVICE_NAMES.signalling, annotations: loadBalancerAnnotations(args.provider) },
        spec: { type: 'LoadBalancer', selector, ports: [{ name: 'https', port: PUBLIC_TLS_PORT, targetPort: TLS_PROXY_PORT, protocol: 'TCP' }] },
      },
      child,
    );
    new k8s.policy.v1.PodDisruptionBudget(`${name}-pdb`, { metadata: meta, spec: { maxUnavailable: 1, selector: { matchLabels: selector } } }, child);
    // The public port from anywhere (it is the internet's way in); nothing else.
    new k8s.networking.v1.NetworkPolicy(
      `${name}-ingress`,
      {
        metadata: meta,
        spec: { podSelector: { matchLabels: selector }, policyTypes: ['Ingress'], ingress: [{ ports: [{ protocol: 'TCP', port: TLS_PROXY_PORT }] }] },
      },
      child,
    );
    this.registerOutputs({ service: this.service.metadata.name });
  }
}
