/** Billing: balances, invoices and payment links. */
import { llm } from '@livekit/agents';
import { z } from 'zod';
import type { CallContext } from '../call-context.js';
import { runBackendTool, SpecialistAgent, type ToolCatalog } from './base.js';

export const BILLING_TOOLS: ToolCatalog = {
  lookup_balance: (call, agent) =>
    llm.tool({
      description: "The account's balance and due date.",
      parameters: z.object({ accountId: z.string().describe('Account number the caller gave') }),
      execute: async (args) => runBackendTool(call, agent, 'lookup_balance', args),
    }),
  lookup_invoice: (call, agent) =>
    llm.tool({
      description: 'One invoice with its lines, to explain a charge.',
      parameters: z.object({ invoiceId: z.string().describe('Invoice number') }),
      execute: async (args) => runBackendTool(call, agent, 'lookup_invoice', args),
    }),
  send_payment_link: (call, agent) =>
    llm.tool({
      description: 'Text the caller a secure payment link. Never take card numbers on the call.',
      parameters: z.object({ accountId: z.string().describe('Account number') }),
      execute: async (args) => runBackendTool(call, agent, 'send_payment_link', args),
    }),
};

export class BillingAgent extends SpecialistAgent {
  constructor(call: CallContext, name = 'billing', chatCtx?: llm.ChatContext) {
    super(call, name, BILLING_TOOLS, chatCtx);
  }
}
