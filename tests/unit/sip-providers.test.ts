import { describe, expect, it } from 'vitest';
import { parseStackConfig } from '../../components/config.js';
import { cidrProblem, SIP_RULE_BUDGET } from '../../components/sip/config.js';
import { assertAwsRuleDescription, PROVIDER_RANGES, sipIngressRules, type SipIngressRule } from '../../components/sip/providers.js';
import { errorOf } from '../fixtures/config-error.js';

const SIGNALLING_PORTS = [5060, 5061];
const touchesSignalling = (r: SipIngressRule) => SIGNALLING_PORTS.some((p) => r.fromPort <= p && p <= r.toPort);
const openToInternet = (r: SipIngressRule) => r.source.kind === 'internet' || r.source.cidr === '0.0.0.0/0';
const cidrOf = (r: SipIngressRule) => (r.source.kind === 'cidr' ? r.source.cidr : 'internet');

describe('provider range table', () => {
  it.each(Object.entries(PROVIDER_RANGES))('%s: canonical CIDRs, a source and a date', (_name, ranges) => {
    for (const range of [...ranges.signalling, ...(ranges.media ?? [])]) expect(cidrProblem(range.cidr), range.cidr).toBeUndefined();
    expect(ranges.source).toMatch(/^https:\/\//);
    expect(ranges.date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });
});

describe('SIP firewall rules', () => {
  it('Twilio: 5060 UDP and TCP from each of its 8 signalling ranges, RTP from its global media range only', () => {
    const rules = sipIngressRules({ provider: 'twilio', tls: false });
    const signalling = rules.filter(touchesSignalling);
    expect(signalling).toHaveLength(16);
    for (const cidr of PROVIDER_RANGES.twilio.signalling.map((r) => r.cidr)) {
      expect(signalling.filter((r) => cidrOf(r) === cidr).map((r) => `${r.protocol} ${r.fromPort}-${r.toPort}`).sort()).toEqual(['tcp 5060-5060', 'udp 5060-5060']);
    }
    const media = rules.filter((r) => r.name === 'sip-rtp');
    expect(media).toEqual([expect.objectContaining({ protocol: 'udp', fromPort: 10_000, toPort: 20_000, source: { kind: 'cidr', cidr: '168.86.128.0/18' } })]);
  });

  it('opens 5061 over TCP to the same ranges when SIP runs over TLS, and nothing more', () => {
    const plain = sipIngressRules({ provider: 'twilio', tls: false });
    const tls = sipIngressRules({ provider: 'twilio', tls: true });
    expect(tls).toHaveLength(plain.length);
    expect(tls.filter((r) => r.protocol === 'tcp').every((r) => r.fromPort === 5060 && r.toPort === 5061)).toBe(true);
    expect(tls.filter((r) => r.protocol === 'udp' && touchesSignalling(r)).every((r) => r.toPort === 5060)).toBe(true);
  });

  it('Telnyx: signalling from its /32 edge addresses; media from any address, because its media ranges are unverified', () => {
    const rules = sipIngressRules({ provider: 'telnyx', tls: false });
    expect(rules.filter(touchesSignalling).map(cidrOf)).toContain('192.76.120.10/32');
    const media = rules.filter((r) => r.name === 'sip-rtp');
    expect(media).toHaveLength(1);
    expect(media[0]!.source).toEqual({ kind: 'internet' });
    expect(media[0]!.description).toMatch(/not verified.*sip\.mediaCidrs/);
  });

  it('sip.mediaCidrs narrows media for any provider', () => {
    const rules = sipIngressRules({ provider: 'telnyx', tls: false, mediaCidrs: ['185.246.41.128/25', '103.115.244.128/25'] });
    expect(rules.filter((r) => r.name === 'sip-rtp').map(cidrOf)).toEqual(['185.246.41.128/25', '103.115.244.128/25']);
  });

  it('generic: signalling from sip.allowedCidrs only', () => {
    const rules = sipIngressRules({ provider: 'generic', tls: false, allowedCidrs: ['203.0.113.0/24'] });
    expect(rules.filter(touchesSignalling).map(cidrOf)).toEqual(['203.0.113.0/24', '203.0.113.0/24']);
    expect(() => sipIngressRules({ provider: 'generic', tls: false, allowedCidrs: [] })).toThrow(/allowedCidrs/);
  });

  it.each([
    ['twilio', { provider: 'twilio' as const, tls: true }],
    ['telnyx', { provider: 'telnyx' as const, tls: true }],
    ['generic', { provider: 'generic' as const, tls: true, allowedCidrs: ['203.0.113.0/24', '198.51.100.16/28'] }],
  ])('%s: never opens 5060/5061 to the internet, descriptions AWS accepts, within the rule budget', (_name, args) => {
    const rules = sipIngressRules(args);
    expect(rules.filter(touchesSignalling).filter(openToInternet)).toEqual([]);
    for (const rule of rules) expect(() => assertAwsRuleDescription(rule.description)).not.toThrow();
    expect(rules.length).toBeLessThanOrEqual(SIP_RULE_BUDGET);
  });

  it('refuses descriptions AWS refuses', () => {
    expect(() => assertAwsRuleDescription("Twilio's range")).toThrow(/characters "'"/);
    expect(() => assertAwsRuleDescription('SIP <5060>')).toThrow(/"<>"/);
    expect(() => assertAwsRuleDescription('x'.repeat(256))).toThrow(/over 255/);
    expect(() => assertAwsRuleDescription('SIP signalling UDP from Twilio 54.172.60.0/30 (North America Virginia)')).not.toThrow();
  });

  it('the config refuses more ranges than the security group can hold', () => {
    const allowedCidrs = Array.from({ length: 20 }, (_, i) => `203.0.${i}.0/24`);
    const error = errorOf(() => parseStackConfig({ monthlyMinutes: 1000, sip: { provider: 'generic', allowedCidrs } }));
    expect(error.key).toBe('sip.allowedCidrs');
    expect(error.message).toMatch(/need 41 security group rules.*at most 40/);
  });
});
