/**
 * Where the SIP service runs and how calls reach it, per tier: part of the DeploymentPlan, so the
 * AWS components and the cost read it instead of deciding again. Pure.
 *
 * The SIP service runs beside LiveKit on every LiveKit node (host networking, ws://127.0.0.1:7880,
 * the same Redis), on large too rather than in a group of its own: it then scales, drains and is
 * replaced with the LiveKit nodes, needs no sizing input of its own, and its room joins start on
 * the local node. A group of its own would add instances and addresses for a process that uses a
 * fraction of a LiveKit node.
 * How the provider reaches it: small and mid have one LiveKit node with an Elastic IP, which is
 * the SIP address. Large's nodes come and go, so the provider signals to listeners on the
 * signalling NLB (UDP/TCP 5060, TCP 5061 passed through; client addresses preserved so the nodes'
 * rules still see the provider's ranges); media still goes to each node's own public address,
 * which the SIP service advertises (nat_1_to_1_ip).
 */
import type { Tier } from '../config.js';
import type { SipProvider } from './config.js';

export interface SipPlan {
  /** The stack answers phone calls (sip.enabled). */
  enabled: boolean;
  provider: SipProvider;
  /** Where the SIP service runs: beside LiveKit, on every LiveKit node. */
  placement: 'livekit-nodes';
  /**
   * The provider's target: the LiveKit node's Elastic IP (AWS small, mid), the signalling NLB's SIP
   * listeners (AWS large), or on Kubernetes a DNS name (sip.<domain>) the operator points at the
   * LiveKit nodes' public addresses (components/k8s/sip.ts).
   */
  entry: 'node-elastic-ip' | 'load-balancer' | 'node-dns';
  /** SIP over TLS (5061) and SRTP. */
  tls: boolean;
  /** The numbers callers dial (stack output sipNumbers). */
  numbers: string[];
  /** An outbound trunk for transfers is declared. */
  outboundTrunk: boolean;
}

export function planSip(
  sip: { enabled: boolean; provider: SipProvider; tls: { enabled: boolean }; numbers: readonly string[]; outbound?: unknown },
  tier: Tier,
  target: 'aws' | 'kubernetes' = 'aws',
): SipPlan {
  return {
    enabled: sip.enabled,
    provider: sip.provider,
    placement: 'livekit-nodes',
    entry: target === 'kubernetes' ? 'node-dns' : tier === 'large' ? 'load-balancer' : 'node-elastic-ip',
    tls: sip.tls.enabled,
    numbers: [...sip.numbers],
    outboundTrunk: sip.outbound !== undefined,
  };
}

/**
 * Share of SIP calls whose room lives on another LiveKit node than the SIP service that carries
 * the call: with n nodes and rooms placed by load, (n - 1) / n. Their media crosses between nodes
 * over public addresses (LiveKit advertises only its external address), which AWS bills.
 */
export function crossNodeSipShare(livekitNodes: number): number {
  return livekitNodes > 1 ? (livekitNodes - 1) / livekitNodes : 0;
}

/**
 * Mismatches between the SIP provider and the telephony price the plan uses (the cost prices
 * `providers.telephony` per minute, whatever carries the calls).
 */
export function sipWarnings(sip: { enabled: boolean; provider: SipProvider }, telephony: string): string[] {
  if (!sip.enabled || sip.provider === 'twilio' || telephony !== 'twilio') return [];
  return [`sip.provider is ${sip.provider} but providers.telephony prices Twilio minutes: set providers.telephony: sip-trunk for a SIP trunk's per-minute price`];
}
