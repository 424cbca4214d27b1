/**
 * The role registry: which class plays each role, and the tools each offers (the spec is checked
 * against them at start).
 */
import type { llm } from '@livekit/agents';
import type { CallContext } from '../call-context.js';
import { readSpecFile, roleOf, type AgentSpec, type Role, type ToolNamesByRole } from '../spec.js';
import type { CallAgent, ToolCatalog } from './base.js';
import { BILLING_TOOLS, BillingAgent } from './billing.js';
import { ESCALATION_TOOLS, EscalationAgent } from './escalation.js';
import { ROUTER_TOOLS, RouterAgent } from './router.js';
import { SCHEDULING_TOOLS, SchedulingAgent } from './scheduling.js';
import { SUPPORT_TOOLS, SupportAgent } from './support.js';

export { BillingAgent, EscalationAgent, RouterAgent, SchedulingAgent, SupportAgent };
export { CallAgent, SpecialistAgent, ESCALATE_TOOL, handoffContext } from './base.js';

type AgentClass = new (call: CallContext, name: string, chatCtx?: llm.ChatContext) => CallAgent;

export const ROLE_CLASSES: Readonly<Record<Role, AgentClass>> = {
  router: RouterAgent,
  scheduling: SchedulingAgent,
  billing: BillingAgent,
  support: SupportAgent,
  escalation: EscalationAgent,
};

const CATALOGS: Readonly<Record<Role, ToolCatalog>> = {
  router: ROUTER_TOOLS,
  scheduling: SCHEDULING_TOOLS,
  billing: BILLING_TOOLS,
  support: SUPPORT_TOOLS,
  escalation: ESCALATION_TOOLS,
};

export const ROLE_TOOL_NAMES: ToolNamesByRole = Object.fromEntries(
  Object.entries(CATALOGS).map(([role, catalog]) => [role, Object.keys(catalog).sort()]),
) as unknown as ToolNamesByRole;

/** Reads and validates the spec against the tools the classes implement. */
export function loadAgentSpec(path: string): AgentSpec {
  return readSpecFile(path, ROLE_TOOL_NAMES);
}

/** The agent for a spec name (the router is "router"). */
export function createAgent(call: CallContext, name: string, chatCtx?: llm.ChatContext): CallAgent {
  const Class = ROLE_CLASSES[roleOf(call.spec, name)];
  return new Class(call, name, chatCtx);
}
