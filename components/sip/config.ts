/**
 * The stack config's `sip` section: how phone calls reach the stack (issue 9). Pure: zod only, no
 * Pulumi; components/config.ts adds it to the stack schema and turns its issues into one-line
 * ConfigErrors naming the key, the value and what is allowed.
 *
 * Secrets (inbound digest auth, outbound trunk credentials) are not in this section: they are
 * top-level Pulumi secrets of their own (SIP_SECRET_KEYS), because Pulumi marks a whole top-level
 * key secret when any part of it is, which would hide the numbers and ranges from plan output and
 * from the offline plan (it reads an encrypted key as "[secret]"). The parsed config records only
 * that a secret is set, never its value; the program reads the values with `requireSecret`.
 */
import { z } from 'zod';

export const SIP_PROVIDERS = ['twilio', 'telnyx', 'generic'] as const;
export type SipProvider = (typeof SIP_PROVIDERS)[number];

/** Dispatch rule types that give every call its own room (queue mode needs one room per call). */
export const SIP_DISPATCH_TYPES = ['individual', 'callee'] as const;
export type SipDispatchType = (typeof SIP_DISPATCH_TYPES)[number];

/** Transports of a LiveKit outbound trunk (livekit/protocol SIPTransport, by name). */
export const SIP_OUTBOUND_TRANSPORTS = ['auto', 'udp', 'tcp', 'tls'] as const;

/** SRTP policy of the trunks when SIP runs over TLS (livekit/protocol SIPMediaEncryption ALLOW / REQUIRE). */
export const SIP_MEDIA_ENCRYPTION = ['allow', 'require'] as const;

/**
 * Top-level config keys holding SIP credentials, each a Pulumi secret
 * (`pulumi config set --secret voice-agent-infra:<key> <value>`).
 */
export const SIP_SECRET_KEYS = {
  /** Inbound trunk digest auth: the user name the provider authenticates with. */
  inboundUsername: 'sipAuthUsername',
  /** Inbound trunk digest auth: the password. */
  inboundPassword: 'sipAuthPassword',
  /** Outbound trunk: the user name the stack authenticates with at the provider. */
  outboundUsername: 'sipOutboundUsername',
  /** Outbound trunk: the password. */
  outboundPassword: 'sipOutboundPassword',
} as const;

export const SIP_SECRET_KEY_NAMES: ReadonlySet<string> = new Set(Object.values(SIP_SECRET_KEYS));

/** What a stack file's encrypted value (`secure: ...`) reads as before validation. */
export const SECRET_PLACEHOLDER_VALUE = '[secret]';

/** E.164: "+", a country code that does not start with 0, 7 to 15 digits in all. */
export const E164 = /^\+[1-9]\d{6,14}$/;

const IPV4_CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

/**
 * Security group rules the SIP service may take on the LiveKit nodes' group: AWS allows 60 inbound
 * rules per group (default quota) and LiveKit's own ports use about a dozen.
 */
export const SIP_RULE_BUDGET = 40;

/** Narrowest prefix a provider range may have: anything wider is not a provider's address range. */
export const WIDEST_SIP_PREFIX = 8;

/**
 * Why an IPv4 CIDR is not acceptable as a SIP source range, or undefined when it is: a canonical
 * network address (no host bits: AWS and LiveKit compare them as written) no wider than /8.
 */
export function cidrProblem(cidr: string): string | undefined {
  const match = IPV4_CIDR.exec(cidr);
  if (!match) return 'must be an IPv4 CIDR such as 203.0.113.0/24';
  const octets = match.slice(1, 5).map(Number);
  const prefix = Number(match[5]);
  if (octets.some((o) => o > 255) || prefix > 32) return 'must be an IPv4 CIDR such as 203.0.113.0/24';
  if (prefix < WIDEST_SIP_PREFIX) return `is wider than /${WIDEST_SIP_PREFIX}: SIP is opened only to a provider's own ranges, never to the internet`;
  const address = octets.reduce((acc, o) => acc * 256 + o, 0);
  const hostBits = 2 ** (32 - prefix);
  if (address % hostBits !== 0) {
    const network = address - (address % hostBits);
    const text = [24, 16, 8, 0].map((shift) => Math.floor(network / 2 ** shift) % 256).join('.');
    return `has host bits set; the network is ${text}/${prefix}`;
  }
  return undefined;
}

const e164 = z.string({ error: 'must be an E.164 number such as +15550100000' }).regex(E164, 'must be an E.164 number: "+", country code, number, 7-15 digits, no spaces (e.g. +15550100000)');

const numbers = z
  .array(e164, { error: 'must be a list of E.164 numbers, e.g. ["+15550100000"]' })
  .superRefine((list, ctx) => {
    const seen = new Set<string>();
    list.forEach((n, i) => {
      if (seen.has(n)) ctx.addIssue({ code: 'custom', path: [i], message: 'is listed twice' });
      seen.add(n);
    });
  });

const cidrList = z.array(z.string({ error: 'must be an IPv4 CIDR such as 203.0.113.0/24' }), { error: 'must be a list of IPv4 CIDRs' }).superRefine((list, ctx) => {
  list.forEach((cidr, i) => {
    const problem = cidrProblem(cidr);
    if (problem) ctx.addIssue({ code: 'custom', path: [i], message: problem });
  });
});

// A host name, optionally with a port: what LiveKit's outbound trunk `address` takes (not a SIP URI).
const HOST_AND_PORT = /^(?=.{1,253}(:\d{1,5})?$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*(:\d{1,5})?$/;

const outboundSchema = z.strictObject({
  /** The provider's termination host, e.g. "example.pstn.twilio.com" (a host name, not a sip: URI). */
  address: z
    .string({ error: 'must be the provider termination host, e.g. example.pstn.twilio.com' })
    .regex(HOST_AND_PORT, 'must be a lower-case host name (optionally :port) such as example.pstn.twilio.com: no "sip:", no ";transport=", no user@'),
  /** Numbers the stack may call from (caller ID on transfers), E.164. */
  numbers: numbers.refine((list) => list.length > 0, 'must name at least one E.164 number the stack calls from'),
  /** SIP transport to the provider; default auto (LiveKit picks). */
  transport: z.enum(SIP_OUTBOUND_TRANSPORTS, { error: `must be one of: ${SIP_OUTBOUND_TRANSPORTS.join(', ')}` }).default('auto'),
});

const tlsSchema = z
  .strictObject({
    /** SIP over TLS on 5061 and SRTP media; default off (UDP/TCP 5060, RTP). */
    enabled: z.boolean({ error: 'must be true or false' }).default(false),
    /**
     * Where the SIP service's certificate comes from: a Secrets Manager secret (its ARN) whose
     * SecretString is JSON {"certificate": "<PEM chain>", "privateKey": "<PEM key>"} for the SIP
     * host name. ACM certificates cannot be exported to an instance, so ACM cannot serve here.
     */
    certificateSecretArn: z
      .string()
      .regex(/^arn:aws[a-z-]*:secretsmanager:[a-z]{2}(-[a-z]+)+-\d:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/, 'must be a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>)')
      .optional(),
    /** SRTP on the trunks: allow (offer, accept plain) or require; default require. */
    mediaEncryption: z.enum(SIP_MEDIA_ENCRYPTION, { error: `must be one of: ${SIP_MEDIA_ENCRYPTION.join(', ')}` }).default('require'),
  })
  .superRefine((tls, ctx) => {
    if (tls.enabled && tls.certificateSecretArn === undefined) {
      ctx.addIssue({ code: 'custom', path: ['certificateSecretArn'], message: 'tls.enabled needs the certificate for TLS on 5061 (livekit/sip refuses a tls block without certs)' });
    }
  })
  .prefault({});

const dispatchSchema = z
  .strictObject({
    /**
     * individual (default): one room per caller and call, `<roomPrefix>_<caller>_<random>`;
     * callee: one room per call, `<roomPrefix>_<called number>_<random>`. (direct, one room for
     * every caller, cannot work with queue mode, which handles one call per room.)
     */
    type: z.enum(SIP_DISPATCH_TYPES, { error: `must be one of: ${SIP_DISPATCH_TYPES.join(', ')} (direct puts every caller in one room; queue mode needs one room per call)` }).default('individual'),
    /** Room name prefix; LiveKit adds "_" after it. */
    roomPrefix: z.string({ error: 'must be a room name prefix' }).regex(/^[A-Za-z0-9-]{1,32}$/, 'must be 1-32 letters, digits or "-" (LiveKit adds "_" and the number)').default('call'),
  })
  .prefault({});

/** The `sip` section as written in the stack config. */
export const sipSchema = z
  .strictObject({
    /** Answer phone calls (the LiveKit SIP service, trunks and dispatch rule); default true. */
    enabled: z.boolean({ error: 'must be true or false' }).default(true),
    /** Whose SIP trunk sends the calls: its published address ranges become the allowed sources. */
    provider: z.enum(SIP_PROVIDERS, { error: `must be one of: ${SIP_PROVIDERS.join(', ')}` }).default('twilio'),
    /** generic only: the provider's signalling source ranges (IPv4 CIDRs), required for generic. */
    allowedCidrs: cidrList.optional(),
    /**
     * RTP source ranges, overriding the provider's published media ranges; default: twilio's
     * published media range, the internet for telnyx (media ranges unverified) and generic.
     */
    mediaCidrs: cidrList.optional(),
    /** The numbers callers dial (E.164), routed to this stack by the inbound trunk; default any number the provider sends. */
    numbers: numbers.default([]),
    tls: tlsSchema,
    /** The outbound trunk the escalation transfer dials out on; default none (transfers use SIP REFER). */
    outbound: outboundSchema.optional(),
    dispatch: dispatchSchema,
  })
  .superRefine((sip, ctx) => {
    if (sip.provider === 'generic' && (sip.allowedCidrs === undefined || sip.allowedCidrs.length === 0)) {
      ctx.addIssue({ code: 'custom', path: ['allowedCidrs'], message: "provider generic needs the provider's signalling source ranges (IPv4 CIDRs); 5060 is never opened to the internet" });
    }
    // Two rules per signalling range (UDP, TCP) and one per media range (telnyx/twilio tables: 17 each).
    const rules = 2 * (sip.allowedCidrs?.length ?? 8) + (sip.mediaCidrs?.length ?? 1);
    if (rules > SIP_RULE_BUDGET) {
      ctx.addIssue({
        code: 'custom',
        path: [sip.mediaCidrs !== undefined && sip.mediaCidrs.length > 0 ? 'mediaCidrs' : 'allowedCidrs'],
        message: `need ${rules} security group rules (2 per signalling range, 1 per media range); at most ${SIP_RULE_BUDGET} fit beside LiveKit's own (AWS allows 60 inbound rules per group): merge ranges`,
      });
    }
    if (sip.provider !== 'generic' && sip.allowedCidrs !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['allowedCidrs'], message: `applies to provider generic only; ${sip.provider}'s signalling ranges come from its published list (components/sip/providers.ts)` });
    }
  })
  .prefault({});

export type SipConfigInput = z.input<typeof sipSchema>;

/** A SIP credential key: set (true) or absent. The value itself never enters the parsed config. */
const secretPresence = (key: string) =>
  z
    .string({ error: `must be a Pulumi secret string (pulumi config set --secret voice-agent-infra:${key} <value>)` })
    .min(1, 'must not be empty')
    .transform(() => true as const)
    .optional();

/** The SIP credential keys of the stack schema (spread into it by components/config.ts). */
export const sipSecretShape = {
  [SIP_SECRET_KEYS.inboundUsername]: secretPresence(SIP_SECRET_KEYS.inboundUsername),
  [SIP_SECRET_KEYS.inboundPassword]: secretPresence(SIP_SECRET_KEYS.inboundPassword),
  [SIP_SECRET_KEYS.outboundUsername]: secretPresence(SIP_SECRET_KEYS.outboundUsername),
  [SIP_SECRET_KEYS.outboundPassword]: secretPresence(SIP_SECRET_KEYS.outboundPassword),
} as const;

type SecretFlags = { [K in (typeof SIP_SECRET_KEYS)[keyof typeof SIP_SECRET_KEYS]]?: true };
interface SipSection {
  sip: z.output<typeof sipSchema>;
}

/**
 * Cross-key checks of the SIP section and its credential keys, for the stack schema's superRefine:
 * credentials come in pairs, only where the provider and the trunks can use them.
 */
export function checkSipCredentials(config: SipSection & SecretFlags, ctx: z.RefinementCtx): void {
  const k = SIP_SECRET_KEYS;
  const pair = (user: string, password: string, what: string) => {
    const flags = config as unknown as Record<string, unknown>;
    const u = flags[user] === true;
    const p = flags[password] === true;
    if (u && !p) ctx.addIssue({ code: 'custom', path: [password], message: `${what} needs both ${user} and ${password}` });
    if (p && !u) ctx.addIssue({ code: 'custom', path: [user], message: `${what} needs both ${user} and ${password}` });
    return u || p;
  };
  const inbound = pair(k.inboundUsername, k.inboundPassword, 'inbound digest auth');
  const outbound = pair(k.outboundUsername, k.outboundPassword, 'the outbound trunk login');
  if (inbound && config.sip.provider === 'twilio') {
    ctx.addIssue({
      code: 'custom',
      path: [k.inboundPassword],
      message: "is not used with provider twilio: Twilio origination does not answer digest challenges; its calls are admitted by Twilio's published signalling ranges",
    });
  }
  if (outbound && config.sip.outbound === undefined) {
    ctx.addIssue({ code: 'custom', path: [k.outboundPassword], message: 'needs sip.outbound (the trunk these credentials log in to)' });
  }
}

/** The SIP part of a parsed stack config, with what its credential keys say. */
export interface SipSettings {
  config: z.output<typeof sipSchema>;
  /** Inbound digest auth credentials are set (sipAuthUsername, sipAuthPassword). */
  inboundAuth: boolean;
  /** Outbound trunk credentials are set (sipOutboundUsername, sipOutboundPassword). */
  outboundAuth: boolean;
}

export function sipSettings(config: SipSection & SecretFlags): SipSettings {
  return {
    config: config.sip,
    inboundAuth: config[SIP_SECRET_KEYS.inboundPassword] === true,
    outboundAuth: config[SIP_SECRET_KEYS.outboundPassword] === true,
  };
}
