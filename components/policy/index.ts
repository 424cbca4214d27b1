/**
 * The policy pack for the Pulumi CLI: `pulumi preview --policy-pack components/policy`.
 * Tests import ./policies.js instead (constructing a PolicyPack starts a gRPC server).
 */
import { PolicyPack } from '@pulumi/policy';
import { kubernetesPolicies } from './kubernetes.js';
import { policies } from './policies.js';

new PolicyPack('voice-agent-infra', { policies: [...policies, ...kubernetesPolicies] });
