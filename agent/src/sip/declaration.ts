/**
 * Reads the SIP declaration (@voice-agent-infra/common SipDeclaration) sip-sync is given, strictly:
 * a declaration that does not parse changes nothing in LiveKit.
 */
import { SIP_DECLARATION_VERSION, type SipDeclaration } from '@voice-agent-infra/common';
import { z } from 'zod';

const E164 = /^\+[1-9]\d{6,14}$/;
const name = z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/, 'must be 1-128 letters, digits, "_", "." or "-"');
const numbers = z.array(z.string().regex(E164, 'must be an E.164 number such as +15550100000'));
const encryption = z.enum(['disable', 'allow', 'require']);

const declarationSchema = z
  .strictObject({
    version: z.literal(SIP_DECLARATION_VERSION, { error: `must be ${SIP_DECLARATION_VERSION}` }),
    owner: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1-64 letters, digits, "_", "." or "-" (the stack name)'),
    inboundTrunk: z
      .strictObject({
        name,
        numbers,
        allowedAddresses: z.array(z.string().regex(/^\d{1,3}(\.\d{1,3}){3}(\/\d{1,2})?$/, 'must be an IPv4 address or CIDR')),
        auth: z.boolean(),
        mediaEncryption: encryption,
      })
      .optional(),
    dispatchRule: z
      .strictObject({
        name,
        type: z.enum(['individual', 'callee']),
        roomPrefix: z.string().regex(/^[A-Za-z0-9-]{1,32}$/, 'must be 1-32 letters, digits or "-"'),
        agentName: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/).optional(),
      })
      .optional(),
    outboundTrunk: z
      .strictObject({
        name,
        address: z.string().regex(/^[a-z0-9.-]+(:\d{1,5})?$/, 'must be a host name (optionally :port), not a SIP URI'),
        numbers: numbers.min(1, 'must name at least one number'),
        transport: z.enum(['auto', 'udp', 'tcp', 'tls']),
        auth: z.boolean(),
        mediaEncryption: encryption,
      })
      .optional(),
  })
  .superRefine((d, ctx) => {
    if ((d.inboundTrunk === undefined) !== (d.dispatchRule === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['dispatchRule'], message: 'the inbound trunk and the dispatch rule come together (the rule is scoped to the trunk)' });
    }
    if (d.inboundTrunk && d.inboundTrunk.numbers.length === 0 && d.inboundTrunk.allowedAddresses.length === 0 && !d.inboundTrunk.auth) {
      ctx.addIssue({ code: 'custom', path: ['inboundTrunk'], message: 'needs numbers, allowed addresses or auth (LiveKit refuses a trunk open to anyone)' });
    }
    const names = [d.inboundTrunk?.name, d.outboundTrunk?.name].filter(Boolean);
    if (new Set(names).size !== names.length) ctx.addIssue({ code: 'custom', path: ['outboundTrunk', 'name'], message: 'must differ from the inbound trunk name' });
  });

/** Why a declaration is unusable: where (dotted path) and what is wrong. */
export class DeclarationError extends Error {}

/** Parses declaration JSON text; throws DeclarationError with one line naming the field. */
export function parseSipDeclaration(text: string): SipDeclaration {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new DeclarationError(`is not JSON: ${(err as Error).message}`);
  }
  const result = declarationSchema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const path = issue.path.map(String).join('.') || '(declaration)';
    throw new DeclarationError(`${path}: ${issue.message}`);
  }
  return result.data satisfies SipDeclaration;
}
