/**
 * The ports a node listens on, as data: livekit.yaml is rendered from this table and the AWS
 * security groups and load balancer listeners are built from it, so the two cannot drift.
 * Source: ../shared/reference/livekit.md (Ports), checked against livekit/livekit config-sample.yaml
 * and livekit/deploy `generate` (2026-11).
 */

/**
 * How a port is reached, which decides its ingress rule:
 * - `public`: the internet reaches it directly on the node (0.0.0.0/0). ICE candidates carry the
 *   node's own address, so media, ICE/TCP and TURN/UDP can never sit behind a load balancer.
 * - `proxied`: clients reach it on public port 443 through a TLS terminator: the NLB (mid, large;
 *   ingress from the NLB only) or Caddy on the same box (small; no ingress rule at all).
 * - `private`: from inside the VPC only (scrapers, agent workers, operators); never 0.0.0.0/0.
 */
export type PortAccess = 'public' | 'proxied' | 'private';

export type PortProtocol = 'tcp' | 'udp';

export interface PortSpec {
  /** Stable name, for rule descriptions and resource names. */
  name: string;
  protocol: PortProtocol;
  /** First port of the range (the port itself when it is a single port). */
  fromPort: number;
  /** Last port of the range, inclusive (equal to fromPort for a single port). */
  toPort: number;
  /** Dotted livekit.yaml keys holding the value(s): one per port, or start and end of a range. */
  configKeys: readonly string[];
  /** Port clients use on the TLS terminator for `proxied` ports (443); absent otherwise. */
  publicPort?: number;
  access: PortAccess;
  /**
   * Who reaches it and why: the security group rule's description, so only what EC2 accepts there
   * (letters, digits, space and ._-:/()#,@[]+=&;{}!$*, at most 255; no quotes, no < >).
   */
  reachedBy: string;
}

/** Signalling, API and the agents' WebSocket (TCP). */
export const LIVEKIT_HTTP_PORT = 7880;
/** ICE over TCP, on the node itself (no load balancer, no TLS). */
export const LIVEKIT_RTC_TCP_PORT = 7881;
/** WebRTC media over UDP, two ports per participant: 10,001 ports carry ~5,000 participants. */
export const LIVEKIT_RTC_UDP_PORT_RANGE = { start: 50_000, end: 60_000 } as const;
/** TURN/STUN over UDP, advertised with the node's own IP. */
export const LIVEKIT_TURN_UDP_PORT = 3478;
/** TURN/TLS behind the terminator (LiveKit's generator uses 5349 behind Caddy). */
export const LIVEKIT_TURN_TLS_PORT = 5349;
/** Prometheus /metrics. */
export const LIVEKIT_PROMETHEUS_PORT = 6789;
/** The one public TLS port: signalling (main domain) and TURN/TLS (TURN domain). */
export const PUBLIC_TLS_PORT = 443;

export const LIVEKIT_PORTS: readonly PortSpec[] = [
  {
    name: 'signal',
    protocol: 'tcp',
    fromPort: LIVEKIT_HTTP_PORT,
    toPort: LIVEKIT_HTTP_PORT,
    configKeys: ['port'],
    publicPort: PUBLIC_TLS_PORT,
    access: 'proxied',
    reachedBy: 'clients and agent workers: HTTP API, signalling and /agent WebSockets, health check GET /',
  },
  {
    name: 'rtc-tcp',
    protocol: 'tcp',
    fromPort: LIVEKIT_RTC_TCP_PORT,
    toPort: LIVEKIT_RTC_TCP_PORT,
    configKeys: ['rtc.tcp_port'],
    access: 'public',
    reachedBy: 'clients: ICE over TCP, directly on the node',
  },
  {
    name: 'rtc-udp',
    protocol: 'udp',
    fromPort: LIVEKIT_RTC_UDP_PORT_RANGE.start,
    toPort: LIVEKIT_RTC_UDP_PORT_RANGE.end,
    configKeys: ['rtc.port_range_start', 'rtc.port_range_end'],
    access: 'public',
    reachedBy: 'clients and agent workers: WebRTC media, directly on the node',
  },
  {
    name: 'turn-udp',
    protocol: 'udp',
    fromPort: LIVEKIT_TURN_UDP_PORT,
    toPort: LIVEKIT_TURN_UDP_PORT,
    configKeys: ['turn.udp_port'],
    access: 'public',
    reachedBy: 'clients: TURN/STUN over UDP, directly on the node',
  },
  {
    name: 'turn-tls',
    protocol: 'tcp',
    fromPort: LIVEKIT_TURN_TLS_PORT,
    toPort: LIVEKIT_TURN_TLS_PORT,
    configKeys: ['turn.tls_port'],
    publicPort: PUBLIC_TLS_PORT,
    access: 'proxied',
    reachedBy: 'clients: TURN/TLS on turns:[turn domain]:443, TLS terminated by the NLB or Caddy',
  },
  {
    name: 'metrics',
    protocol: 'tcp',
    fromPort: LIVEKIT_PROMETHEUS_PORT,
    toPort: LIVEKIT_PROMETHEUS_PORT,
    configKeys: ['prometheus.port'],
    access: 'private',
    reachedBy: 'Prometheus scrapers inside the VPC',
  },
];

/**
 * Caddy on the small tier's box: 443 split by SNI (signalling, TURN/TLS) and 80 for the ACME
 * HTTP-01 challenge (LiveKit's generator opens both).
 */
export const CADDY_PORTS: readonly PortSpec[] = [
  {
    name: 'https',
    protocol: 'tcp',
    fromPort: PUBLIC_TLS_PORT,
    toPort: PUBLIC_TLS_PORT,
    configKeys: [],
    access: 'public',
    reachedBy: 'clients: wss signalling and TURN/TLS, split by SNI',
  },
  {
    name: 'acme-http',
    protocol: 'tcp',
    fromPort: 80,
    toPort: 80,
    configKeys: [],
    access: 'public',
    reachedBy: 'ACME HTTP-01 challenge for the certificates of Caddy',
  },
];

/** Redis on the LiveKit node (small: loopback only; mid: also the private address, for the agent fleet). */
export const REDIS_PORT = 6379;

/** Intake HTTP server (INTAKE_PORT default of the agent image): LiveKit webhooks and operators, private. */
export const DEFAULT_INTAKE_PORT = 8080;

/** Path of the intake's LiveKit webhook endpoint (issue 4). */
export const INTAKE_WEBHOOK_PATH = '/webhooks/livekit';

/** The webhook URL when the intake runs on the same node as LiveKit (every tier does so). */
export function localIntakeWebhookUrl(intakePort: number = DEFAULT_INTAKE_PORT): string {
  assertPort('intakePort', intakePort);
  return `http://127.0.0.1:${intakePort}${INTAKE_WEBHOOK_PATH}`;
}

/** Throws unless `value` is an integer TCP/UDP port. */
export function assertPort(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1 || value > 65_535) {
    throw new Error(`${name} must be an integer port 1-65535, got ${value}`);
  }
}
