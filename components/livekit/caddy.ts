/**
 * Caddy on the small tier: TLS for signalling and TURN on one public port.
 *
 * The shape is LiveKit's own (livekit/deploy generate/templates/caddy.go): Caddy's JSON config
 * written as YAML for the `livekit/caddyl4` image (Caddy with the caddy-l4 and caddy-yaml modules),
 * run with `--adapter yaml`. A layer-4 server on :443 splits connections by SNI: the main domain
 * -> localhost:7880 (HTTP/1.1 ALPN, for the signalling WebSocket), the TURN domain ->
 * localhost:5349 (TURN with `external_tls`). Caddy obtains both certificates over ACME HTTP-01 on
 * :80 (its default issuers: Let's Encrypt, then ZeroSSL; with `acmeEmail`, Let's Encrypt with that
 * contact). A YAML config rather than a Caddyfile, because the image ships caddy-yaml and this is
 * the form LiveKit maintains.
 */
import { assertHostname } from './livekit-yaml.js';
import { LIVEKIT_HTTP_PORT, LIVEKIT_TURN_TLS_PORT, PUBLIC_TLS_PORT } from './ports.js';
import { toYamlText } from './yaml-text.js';

export interface CaddyConfigArgs {
  /** Public signalling hostname, e.g. "voice.example.com" (clients dial wss://<domain>). */
  domain: string;
  /** TURN/TLS hostname, e.g. "turn.voice.example.com"; must differ from domain (SNI decides the route). */
  turnDomain: string;
  /** Contact email given to the ACME CA (expiry notices); default none. Not a secret. */
  acmeEmail?: string;
}

/** Caddy JSON config (as an object) for the small tier's box. */
export function caddyConfig(args: CaddyConfigArgs): Record<string, unknown> {
  assertHostname('domain', args.domain);
  assertHostname('turnDomain', args.turnDomain);
  if (args.domain === args.turnDomain) throw new Error('turnDomain must differ from domain: Caddy routes :443 by SNI');
  if (args.acmeEmail !== undefined && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(args.acmeEmail)) {
    throw new Error(`acmeEmail must be an email address, got "${args.acmeEmail}"`);
  }
  const tls: Record<string, unknown> = { certificates: { automate: [args.domain, args.turnDomain] } };
  if (args.acmeEmail !== undefined) {
    tls.automation = { policies: [{ issuers: [{ module: 'acme', email: args.acmeEmail }] }] };
  }
  return {
    logging: { logs: { default: { level: 'INFO' } } },
    // /data is a named volume: certificates survive container restarts (ACME rate limits).
    storage: { module: 'file_system', root: '/data' },
    apps: {
      tls,
      layer4: {
        servers: {
          main: {
            listen: [`:${PUBLIC_TLS_PORT}`],
            routes: [
              {
                match: [{ tls: { sni: [args.turnDomain] } }],
                handle: [{ handler: 'tls' }, { handler: 'proxy', upstreams: [{ dial: [`localhost:${LIVEKIT_TURN_TLS_PORT}`] }] }],
              },
              {
                match: [{ tls: { sni: [args.domain] } }],
                handle: [
                  { handler: 'tls', connection_policies: [{ alpn: ['http/1.1'] }] },
                  { handler: 'proxy', upstreams: [{ dial: [`localhost:${LIVEKIT_HTTP_PORT}`] }] },
                ],
              },
            ],
          },
        },
      },
    },
  };
}

/** caddy.yaml text for the small tier (see caddyConfig). */
export function renderCaddyConfig(args: CaddyConfigArgs): string {
  return toYamlText(caddyConfig(args), ' Rendered by voice-agent-infra (components/livekit). Caddy JSON config as YAML (--adapter yaml).');
}
