/**
 * The LiveKit SIP service's ports, as data: the SIP config renderer (sip-yaml.ts) and the firewall
 * rules (providers.ts) are built from these, so the two cannot drift.
 * Defaults from livekit/sip v1.11.0 pkg/config/config.go (DefaultSIPPort, DefaultSIPPortTLS,
 * DefaultRTPPortRange); health and metrics ports are off there and chosen here.
 */

/** SIP signalling over UDP and TCP (livekit/sip always binds both). */
export const SIP_SIGNALLING_PORT = 5060;
/** SIP over TLS, only when `sip.tls.enabled`. */
export const SIP_TLS_PORT = 5061;
/** RTP media, one port per call; livekit/sip's default range (10,001 ports). */
export const SIP_RTP_PORT_RANGE = { start: 10_000, end: 20_000 } as const;
/**
 * Health (`GET /`: 200 OK, 429 under load, 503) and Prometheus, private: clear of LiveKit
 * (7880, 7881, 3478, 5349, 6789, 50000-60000), the intake (8080), the agent worker's health and
 * metrics ports (8081, 9464) and Redis (6379).
 */
export const SIP_HEALTH_PORT = 8086;
export const SIP_PROMETHEUS_PORT = 6790;
