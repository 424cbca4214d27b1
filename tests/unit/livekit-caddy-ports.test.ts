import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CADDY_PORTS, LIVEKIT_PORTS, localIntakeWebhookUrl, renderCaddyConfig } from '../../components/livekit/index.js';
import { at } from './livekit-fixtures.js';

describe('Caddy (small tier)', () => {
  const args = { domain: 'voice.example.com', turnDomain: 'turn.voice.example.com' };

  interface Route {
    match: Array<{ tls: { sni: string[] } }>;
    handle: Array<{ handler: string; upstreams?: Array<{ dial: string[] }>; connection_policies?: unknown }>;
  }
  function routes(text: string): Route[] {
    return at(parse(text), 'apps.layer4.servers.main.routes') as Route[];
  }
  function upstreamFor(text: string, sni: string): string[] | undefined {
    const route = routes(text).find((r) => r.match[0]?.tls.sni.includes(sni));
    return route?.handle.find((h) => h.handler === 'proxy')?.upstreams?.[0]?.dial;
  }

  it('splits :443 by SNI: main domain -> LiveKit 7880, TURN domain -> TURN 5349, TLS terminated by Caddy', () => {
    const text = renderCaddyConfig(args);
    expect(at(parse(text), 'apps.layer4.servers.main.listen')).toEqual([':443']);
    expect(upstreamFor(text, 'voice.example.com')).toEqual(['localhost:7880']);
    expect(upstreamFor(text, 'turn.voice.example.com')).toEqual(['localhost:5349']);
    for (const route of routes(text)) expect(route.handle[0]?.handler).toBe('tls');
  });

  it('signalling negotiates HTTP/1.1 (WebSocket upgrade), as LiveKit’s generator sets', () => {
    const route = routes(renderCaddyConfig(args)).find((r) => r.match[0]?.tls.sni.includes('voice.example.com'));
    expect(route?.handle[0]?.connection_policies).toEqual([{ alpn: ['http/1.1'] }]);
  });

  it('obtains certificates for both names over ACME, kept on the /data volume', () => {
    const parsed = parse(renderCaddyConfig({ ...args, acmeEmail: 'ops@example.com' }));
    expect(at(parsed, 'apps.tls.certificates.automate')).toEqual(['voice.example.com', 'turn.voice.example.com']);
    expect(at(parsed, 'apps.tls.automation.policies')).toEqual([{ issuers: [{ module: 'acme', email: 'ops@example.com' }] }]);
    expect(at(parsed, 'storage.root')).toBe('/data');
  });

  it('refuses one name for both routes, and names that are not DNS names', () => {
    expect(() => renderCaddyConfig({ domain: 'voice.example.com', turnDomain: 'voice.example.com' })).toThrow(/differ/);
    expect(() => renderCaddyConfig({ ...args, domain: 'https://voice.example.com' })).toThrow(/domain/);
    expect(() => renderCaddyConfig({ ...args, acmeEmail: 'not-an-email' })).toThrow(/acmeEmail/);
  });
});

describe('port table', () => {
  it('media, ICE/TCP and TURN/UDP are public on the node; signalling and TURN/TLS behind a TLS terminator on 443; metrics private', () => {
    const byAccess = (access: string) => LIVEKIT_PORTS.filter((p) => p.access === access).map((p) => p.name);
    expect(byAccess('public')).toEqual(['rtc-tcp', 'rtc-udp', 'turn-udp']);
    expect(byAccess('proxied')).toEqual(['signal', 'turn-tls']);
    expect(byAccess('private')).toEqual(['metrics']);
    for (const port of LIVEKIT_PORTS.filter((p) => p.access === 'proxied')) expect(port.publicPort, port.name).toBe(443);
  });

  it('the UDP media range is 50000-60000 and no two entries overlap on a protocol', () => {
    const udp = LIVEKIT_PORTS.find((p) => p.name === 'rtc-udp');
    expect([udp?.fromPort, udp?.toPort]).toEqual([50000, 60000]);
    const all = [...LIVEKIT_PORTS, ...CADDY_PORTS];
    for (const a of all) {
      expect(a.fromPort <= a.toPort, a.name).toBe(true);
      for (const b of all) {
        if (a === b || a.protocol !== b.protocol) continue;
        expect(a.toPort < b.fromPort || b.toPort < a.fromPort, `${a.name} overlaps ${b.name}`).toBe(true);
      }
    }
  });

  it('Caddy opens 443 and 80 (ACME) to the internet', () => {
    expect(CADDY_PORTS.map((p) => [p.protocol, p.fromPort, p.access])).toEqual([
      ['tcp', 443, 'public'],
      ['tcp', 80, 'public'],
    ]);
  });

  it('the intake webhook URL stays on loopback', () => {
    expect(localIntakeWebhookUrl()).toBe('http://127.0.0.1:8080/webhooks/livekit');
    expect(localIntakeWebhookUrl(9090)).toBe('http://127.0.0.1:9090/webhooks/livekit');
    expect(() => localIntakeWebhookUrl(70000)).toThrow(/intakePort/);
  });
});
