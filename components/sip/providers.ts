/**
 * SIP trunk providers' published address ranges, dated and sourced, and the firewall rules the
 * SIP service needs per provider. Pure: config in, rules out; the AWS security groups are built
 * from `sipIngressRules` (phase 2, issue 9).
 *
 * Rules: SIP signalling (5060 UDP and TCP, 5061 TCP with TLS) only from the provider's signalling
 * ranges, never from the internet; RTP (the SIP service's media range) from the provider's media
 * ranges where they are published and checked, from the internet where they are not (RTP is
 * accepted only on the ports of calls the signalling set up; see the Telnyx entry).
 */
import type { SipProvider } from './config.js';
import { SIP_RTP_PORT_RANGE, SIP_SIGNALLING_PORT, SIP_TLS_PORT } from './ports.js';

/** One published range: the CIDR and where the provider says it is. */
export interface ProviderRange {
  cidr: string;
  /** Where it serves, in AWS-description-safe words, e.g. "North America Virginia". */
  location: string;
}

export interface ProviderRanges {
  /** Name in rule descriptions. */
  name: string;
  /** Sources of SIP signalling (INVITE, BYE, REFER responses) to the stack. */
  signalling: readonly ProviderRange[];
  /**
   * Sources of RTP to the stack, or `null` when the provider publishes none we could verify: then
   * media is admitted from the internet unless `sip.mediaCidrs` names the ranges.
   */
  media: readonly ProviderRange[] | null;
  /** Where the ranges were read, and when. */
  source: string;
  date: string;
}

/**
 * The table. Twilio publishes every range on one page; Telnyx's signalling addresses are on
 * sip.telnyx.com, its media ranges could not be confirmed complete (a third-party list names only
 * its EU and AU media blocks), so media stays open rather than silently dropping US audio.
 */
export const PROVIDER_RANGES: Readonly<Record<Exclude<SipProvider, 'generic'>, ProviderRanges>> = {
  twilio: {
    name: 'Twilio',
    // "Allow all of Twilio's IP address ranges and ports ... for SIP signaling" (every edge: a
    // number's calls can arrive from any of them when an edge fails over).
    signalling: [
      { cidr: '54.172.60.0/30', location: 'North America Virginia' },
      { cidr: '54.244.51.0/30', location: 'North America Oregon' },
      { cidr: '54.171.127.192/30', location: 'Europe Ireland' },
      { cidr: '35.156.191.128/30', location: 'Europe Frankfurt' },
      { cidr: '54.65.63.192/30', location: 'Asia Pacific Tokyo' },
      { cidr: '54.169.127.128/30', location: 'Asia Pacific Singapore' },
      { cidr: '54.252.254.64/30', location: 'Asia Pacific Sydney' },
      { cidr: '177.71.206.192/30', location: 'South America Sao Paulo' },
    ],
    // Since 2024-02-21 one global media range for every edge, Twilio ports 10000-60000.
    media: [{ cidr: '168.86.128.0/18', location: 'global media' }],
    source: 'https://www.twilio.com/docs/sip-trunking/ip-addresses (page modified 2026-03-09)',
    date: '2026-12-01',
  },
  telnyx: {
    name: 'Telnyx',
    signalling: [
      { cidr: '192.76.120.10/32', location: 'US' },
      { cidr: '64.16.250.10/32', location: 'US' },
      { cidr: '192.76.120.31/32', location: 'Canada' },
      { cidr: '64.16.250.13/32', location: 'Canada' },
      { cidr: '185.246.41.140/32', location: 'Europe' },
      { cidr: '185.246.41.141/32', location: 'Europe' },
      { cidr: '103.115.244.145/32', location: 'Australia' },
      { cidr: '103.115.244.146/32', location: 'Australia' },
    ],
    // UNVERIFIED: sip.telnyx.com lists the media ranges, but the copy we could read was partial.
    media: null,
    source: 'https://sip.telnyx.com (signalling; media ranges UNVERIFIED), cross-checked with https://developers.telnyx.com/docs/voice/sip-trunking/network-configuration/ip-whitelisting',
    date: '2026-12-01',
  },
};

export type SipRuleSource = { kind: 'cidr'; cidr: string } | { kind: 'internet' };

/** One ingress rule of the LiveKit nodes' group for the SIP service (same shape as the AWS components' rules). */
export interface SipIngressRule {
  /** Stable name for the resource name: sip-udp, sip-tcp, sip-rtp. */
  name: 'sip-udp' | 'sip-tcp' | 'sip-rtp';
  protocol: 'udp' | 'tcp';
  fromPort: number;
  toPort: number;
  source: SipRuleSource;
  /** The rule's description: only characters AWS accepts (assertAwsRuleDescription). */
  description: string;
}

export interface SipFirewallArgs {
  provider: SipProvider;
  /** generic: the provider's signalling ranges (required there). */
  allowedCidrs?: readonly string[];
  /** RTP sources overriding the provider's published media ranges. */
  mediaCidrs?: readonly string[];
  /** SIP over TLS: also 5061/tcp from the signalling ranges. */
  tls: boolean;
}

/** The signalling source ranges of a provider (what the inbound trunk's allowedAddresses holds too). */
export function signallingRanges(provider: SipProvider, allowedCidrs: readonly string[] = []): ProviderRange[] {
  if (provider === 'generic') {
    if (allowedCidrs.length === 0) throw new Error('sip.allowedCidrs must name the generic provider signalling ranges');
    return allowedCidrs.map((cidr) => ({ cidr, location: 'sip.allowedCidrs' }));
  }
  return [...PROVIDER_RANGES[provider].signalling];
}

/** RTP sources: sip.mediaCidrs, else the provider's published media ranges, else the internet (null). */
export function mediaRanges(provider: SipProvider, mediaCidrs?: readonly string[]): ProviderRange[] | null {
  if (mediaCidrs !== undefined && mediaCidrs.length > 0) return mediaCidrs.map((cidr) => ({ cidr, location: 'sip.mediaCidrs' }));
  if (provider === 'generic') return null;
  const media = PROVIDER_RANGES[provider].media;
  return media === null ? null : [...media];
}

function providerName(provider: SipProvider): string {
  return provider === 'generic' ? 'the SIP provider' : PROVIDER_RANGES[provider].name;
}

/** Every ingress rule the SIP service needs. Pure. Throws if a signalling rule would be open to the internet. */
export function sipIngressRules(args: SipFirewallArgs): SipIngressRule[] {
  const rules: SipIngressRule[] = [];
  const who = providerName(args.provider);
  // TCP 5060 and 5061 are adjacent: one rule per range covers both when TLS is on.
  const tcpTo = args.tls ? SIP_TLS_PORT : SIP_SIGNALLING_PORT;
  for (const range of signallingRanges(args.provider, args.allowedCidrs)) {
    rules.push({
      name: 'sip-udp',
      protocol: 'udp',
      fromPort: SIP_SIGNALLING_PORT,
      toPort: SIP_SIGNALLING_PORT,
      source: { kind: 'cidr', cidr: range.cidr },
      description: `SIP signalling UDP from ${who} ${range.cidr} (${range.location})`,
    });
    rules.push({
      name: 'sip-tcp',
      protocol: 'tcp',
      fromPort: SIP_SIGNALLING_PORT,
      toPort: tcpTo,
      source: { kind: 'cidr', cidr: range.cidr },
      description: `SIP signalling ${args.tls ? 'TCP and TLS' : 'TCP'} from ${who} ${range.cidr} (${range.location})`,
    });
  }
  const media = mediaRanges(args.provider, args.mediaCidrs);
  const rtp = { name: 'sip-rtp' as const, protocol: 'udp' as const, fromPort: SIP_RTP_PORT_RANGE.start, toPort: SIP_RTP_PORT_RANGE.end };
  if (media === null) {
    rules.push({ ...rtp, source: { kind: 'internet' }, description: `SIP RTP media from ${who}: media ranges not published or not verified, so any address (set sip.mediaCidrs to narrow)` });
  } else {
    for (const range of media) rules.push({ ...rtp, source: { kind: 'cidr', cidr: range.cidr }, description: `SIP RTP media from ${who} ${range.cidr} (${range.location})` });
  }
  for (const rule of rules) {
    assertAwsRuleDescription(rule.description);
    const signalling = rule.fromPort <= SIP_TLS_PORT && rule.toPort >= SIP_SIGNALLING_PORT;
    if (signalling && (rule.source.kind === 'internet' || rule.source.cidr.endsWith('/0'))) {
      throw new Error(`SIP signalling (${rule.protocol} ${rule.fromPort}-${rule.toPort}) must never be open to the internet`);
    }
  }
  return rules;
}

/**
 * AWS security group rule descriptions: at most 255 characters of a-z A-Z 0-9, space and
 * . _ - : / ( ) # , @ [ ] + = & ; { } ! $ * (EC2 API reference, IpRange Description;
 * ../shared/reference/aws-constraints.md).
 */
const AWS_RULE_DESCRIPTION = /^[a-zA-Z0-9 ._\-:/()#,@[\]+=&;{}!$*]{0,255}$/;

export function assertAwsRuleDescription(text: string): void {
  if (!AWS_RULE_DESCRIPTION.test(text)) {
    const bad = [...text].filter((c) => !AWS_RULE_DESCRIPTION.test(c));
    throw new Error(`security group rule description is not accepted by AWS (${text.length > 255 ? 'over 255 characters' : `characters ${JSON.stringify(bad.join(''))}`}): ${text.slice(0, 60)}`);
  }
}
