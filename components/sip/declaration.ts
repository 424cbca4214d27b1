/**
 * The stack's SIP objects in LiveKit, declared from the config (pure). `voice-agent sip-sync`
 * reconciles LiveKit to this on the LiveKit node (agent/src/sip/); phase 2 delivers it there
 * through an SSM parameter the node watches. Why a boot reconcile on the node and not a Pulumi
 * dynamic provider: see components/sip/README.md.
 */
import { SIP_DECLARATION_VERSION, type SipDeclaration, type SipMediaEncryptionName } from '@voice-agent-infra/common';
import type { SipSettings } from './config.js';
import { SIP_SIGNALLING_PORT, SIP_TLS_PORT } from './ports.js';
import { signallingRanges } from './providers.js';

/** SSM Parameter Store's standard tier holds 4 KB: the declaration must fit (phase 2 stores it there). */
export const SIP_DECLARATION_MAX_BYTES = 4096;

export interface SipDeclarationArgs {
  /** Stack name: the owner mark and the object names. */
  stack: string;
  sip: SipSettings;
  /**
   * Agent the dispatch rule's room config dispatches by itself; leave unset in queue mode (every
   * tier runs the intake and dispatcher, which dispatch).
   */
  ruleAgentName?: string;
}

/** Names of the stack's objects, e.g. voice-agent-mid-inbound. */
export function sipObjectNames(stack: string): { inbound: string; outbound: string; rule: string } {
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(stack)) throw new Error(`stack must be 1-64 letters, digits, "_", "." or "-", got "${stack}"`);
  const prefix = `voice-agent-${stack}`;
  return { inbound: `${prefix}-inbound`, outbound: `${prefix}-outbound`, rule: `${prefix}-calls` };
}

export function sipDeclaration(args: SipDeclarationArgs): SipDeclaration {
  const names = sipObjectNames(args.stack);
  const { config } = args.sip;
  const declaration: SipDeclaration = { version: SIP_DECLARATION_VERSION, owner: args.stack };
  if (!config.enabled) return declaration;
  // SRTP only with TLS: keys exchanged in the clear would protect nothing.
  const mediaEncryption: SipMediaEncryptionName = config.tls.enabled ? config.tls.mediaEncryption : 'disable';
  declaration.inboundTrunk = {
    name: names.inbound,
    numbers: [...config.numbers],
    allowedAddresses: signallingRanges(config.provider, config.allowedCidrs).map((r) => r.cidr),
    auth: args.sip.inboundAuth,
    mediaEncryption,
  };
  declaration.dispatchRule = {
    name: names.rule,
    type: config.dispatch.type,
    roomPrefix: config.dispatch.roomPrefix,
    ...(args.ruleAgentName !== undefined ? { agentName: args.ruleAgentName } : {}),
  };
  if (config.outbound) {
    declaration.outboundTrunk = {
      name: names.outbound,
      address: config.outbound.address,
      numbers: [...config.outbound.numbers],
      transport: config.outbound.transport,
      auth: args.sip.outboundAuth,
      mediaEncryption,
    };
  }
  const bytes = Buffer.byteLength(JSON.stringify(declaration), 'utf8');
  if (bytes > SIP_DECLARATION_MAX_BYTES) {
    throw new Error(`the SIP declaration is ${bytes} bytes, over the ${SIP_DECLARATION_MAX_BYTES} an SSM standard parameter holds: fewer sip.numbers or sip.allowedCidrs`);
  }
  return declaration;
}

/** The SIP URI the provider's trunk points at (stack output `sipUri`): the address, port and transport. */
export function sipUri(host: string, tls: boolean): string {
  if (!/^[A-Za-z0-9.-]{1,253}$/.test(host)) throw new Error(`SIP host must be a host name or IPv4 address, got "${host}"`);
  return tls ? `sip:${host}:${SIP_TLS_PORT};transport=tls` : `sip:${host}:${SIP_SIGNALLING_PORT}`;
}
