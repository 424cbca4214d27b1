/**
 * The SIP parts of the AWS stack that are not a component of their own: the SIP credentials read
 * from the stack's Pulumi secrets, the declaration parameter's value, and the SIP URI the provider's
 * trunk points at (stack output `sipUri`). Thin: the decisions are in components/sip.
 */
import * as pulumi from '@pulumi/pulumi';
import { CONFIG_NAMESPACE, type StackConfig } from '../config.js';
import { SIP_SECRET_KEYS, sipSettings } from '../sip/config.js';
import { sipDeclaration, sipUri } from '../sip/declaration.js';
import { SIP_CREDENTIAL_VARIABLES, sipCredentialsSecretString } from '../sip/node.js';
import type { SipPlan } from '../sip/plan.js';

/** The SIP credentials a stack has set, as Pulumi secrets, by config key (sipAuthUsername, ...). */
export type SipCredentialInputs = Partial<Record<keyof typeof SIP_CREDENTIAL_VARIABLES, pulumi.Input<string>>>;

/** The SIP credentials from the stack's config (`pulumi config set --secret voice-agent-infra:<key>`). */
export function sipCredentialsFromConfig(config: pulumi.Config = new pulumi.Config(CONFIG_NAMESPACE)): SipCredentialInputs {
  const credentials: SipCredentialInputs = {};
  for (const key of Object.values(SIP_SECRET_KEYS)) {
    const value = config.getSecret(key);
    if (value !== undefined) credentials[key] = value;
  }
  return credentials;
}

/** The SIP credentials secret's value: a Pulumi secret; a bad value fails the deployment naming its key, never the value. */
export function sipCredentialsSecretValue(credentials: SipCredentialInputs): pulumi.Output<string> {
  return pulumi.secret(pulumi.all(credentials).apply((values) => sipCredentialsSecretString(values as Record<string, string>)));
}

/** The declaration parameter's value: the stack's trunks and dispatch rule as JSON (no secret). */
export function sipDeclarationValue(stack: string, config: StackConfig): string {
  return JSON.stringify(sipDeclaration({ stack, sip: sipSettings(config) }));
}

/**
 * The SIP URI: the node's Elastic IP on small and mid, which needs no DNS; the SIP host name when
 * the certificate must match a name (TLS) or when the provider reaches the NLB (large).
 */
export function stackSipUri(sip: Pick<SipPlan, 'entry' | 'tls'>, sipDomain: string, nodePublicIp: pulumi.Input<string> | undefined): pulumi.Output<string> {
  if (sip.entry === 'load-balancer' || sip.tls) return pulumi.output(sipUri(sipDomain, sip.tls));
  if (nodePublicIp === undefined) throw new Error('the SIP URI of a single node needs its Elastic IP');
  return pulumi.output(nodePublicIp).apply((ip) => sipUri(ip, false));
}
