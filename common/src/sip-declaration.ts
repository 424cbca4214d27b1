/**
 * The contract between the Pulumi program and `voice-agent sip-sync` (issue 9): the stack's SIP
 * objects in LiveKit (inbound trunk, dispatch rule, outbound trunk) as plain JSON. The program
 * writes it (components/sip/declaration.ts), the node hands it to sip-sync, which makes LiveKit
 * match it. Nothing secret: credentials reach sip-sync in its environment; the declaration says
 * only whether they are used.
 */

export const SIP_DECLARATION_VERSION = 1;

/** SRTP policy of a trunk (livekit/protocol SIPMediaEncryption DISABLE / ALLOW / REQUIRE). */
export type SipMediaEncryptionName = 'disable' | 'allow' | 'require';

export interface SipInboundTrunkDeclaration {
  /** Unique among the owner's objects: sip-sync matches by it. */
  name: string;
  /** Called numbers (E.164) the trunk takes; empty: any number the allowed addresses send. */
  numbers: string[];
  /** Source CIDRs the provider signals from (LiveKit checks them on every INVITE). */
  allowedAddresses: string[];
  /** Digest auth with SIP_INBOUND_USERNAME / SIP_INBOUND_PASSWORD from sip-sync's environment. */
  auth: boolean;
  mediaEncryption: SipMediaEncryptionName;
}

export interface SipOutboundTrunkDeclaration {
  name: string;
  /** The provider's termination host (and port), e.g. "example.pstn.twilio.com". */
  address: string;
  /** Numbers calls go out from (E.164). */
  numbers: string[];
  transport: 'auto' | 'udp' | 'tcp' | 'tls';
  /** Log in with SIP_OUTBOUND_USERNAME / SIP_OUTBOUND_PASSWORD from sip-sync's environment. */
  auth: boolean;
  mediaEncryption: SipMediaEncryptionName;
}

export interface SipDispatchRuleDeclaration {
  name: string;
  /** individual: `<roomPrefix>_<caller>_<random>`; callee: `<roomPrefix>_<called>_<random>`. */
  type: 'individual' | 'callee';
  roomPrefix: string;
  /**
   * Agent the rule's room configuration dispatches by itself. Absent in queue mode (every tier
   * today): the dispatcher dispatches when capacity allows, so the room config dispatches nothing.
   */
  agentName?: string;
}

export interface SipDeclaration {
  version: typeof SIP_DECLARATION_VERSION;
  /** The stack: objects whose metadata names this owner are sip-sync's to change; all others are left alone. */
  owner: string;
  /** Absent (with the rule) when SIP is off: sip-sync then deletes the owner's objects. */
  inboundTrunk?: SipInboundTrunkDeclaration;
  /** Scoped to the inbound trunk (trunkIds), never a wildcard. */
  dispatchRule?: SipDispatchRuleDeclaration;
  outboundTrunk?: SipOutboundTrunkDeclaration;
}

/** Marker in each owned object's metadata (JSON): {"managedBy": SIP_MANAGED_BY, "owner": <owner>}. */
export const SIP_MANAGED_BY = 'voice-agent-infra';

export function sipOwnerMetadata(owner: string): string {
  return JSON.stringify({ managedBy: SIP_MANAGED_BY, owner });
}

/** The owner an object's metadata names, or undefined for objects this package did not create. */
export function sipOwnerOf(metadata: string | undefined): string | undefined {
  if (!metadata) return undefined;
  try {
    const parsed = JSON.parse(metadata) as { managedBy?: unknown; owner?: unknown };
    return parsed.managedBy === SIP_MANAGED_BY && typeof parsed.owner === 'string' ? parsed.owner : undefined;
  } catch {
    return undefined;
  }
}
