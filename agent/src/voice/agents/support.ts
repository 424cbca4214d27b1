/** Support: order status, help articles and support tickets. */
import { llm } from '@livekit/agents';
import { z } from 'zod';
import type { CallContext } from '../call-context.js';
import { runBackendTool, SpecialistAgent, type ToolCatalog } from './base.js';

export const SUPPORT_TOOLS: ToolCatalog = {
  lookup_order: (call, agent) =>
    llm.tool({
      description: 'Status and delivery estimate of an order.',
      parameters: z.object({ orderId: z.string().describe('Order number') }),
      execute: async (args) => runBackendTool(call, agent, 'lookup_order', args),
    }),
  search_help: (call, agent) =>
    llm.tool({
      description: 'Search the help centre for steps that fix a problem.',
      parameters: z.object({ query: z.string().describe('The problem in a few words') }),
      execute: async (args) => runBackendTool(call, agent, 'search_help', args),
    }),
  create_support_ticket: (call, agent) =>
    llm.tool({
      description: 'Open a ticket when the problem cannot be fixed on the call.',
      parameters: z.object({
        summary: z.string().describe('The problem and what was tried'),
        severity: z.enum(['low', 'normal', 'high']).describe('How badly the caller is affected'),
      }),
      execute: async (args) => runBackendTool(call, agent, 'create_support_ticket', args),
    }),
};

export class SupportAgent extends SpecialistAgent {
  constructor(call: CallContext, name = 'support', chatCtx?: llm.ChatContext) {
    super(call, name, SUPPORT_TOOLS, chatCtx);
  }
}
