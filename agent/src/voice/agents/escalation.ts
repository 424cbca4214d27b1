/**
 * Escalation: gets the caller to a person. With a transfer number and a phone caller it
 * transfers at once (dialling the person out on the stack's outbound trunk, or SIP REFER through
 * LiveKit: human-handoff.ts); otherwise, or when the transfer fails, it books a callback ticket
 * with the caller's number and a good time. Once a dialled person is in the room, the agent leaves.
 */
import { llm } from '@livekit/agents';
import { z } from 'zod';
import { errorMessage } from '../../log.js';
import type { CallContext } from '../call-context.js';
import { SpecialistAgent, type ToolCatalog } from './base.js';

const TRANSFER_LINE = 'Let me connect you with a member of our team now.';
const TRANSFER_FAILED_LINE = "I'm sorry, I couldn't reach anyone just now.";
const CALLBACK_INSTRUCTIONS =
  'No one can take the call right now. Offer a callback: confirm the best number to call back and a good time, ' +
  'then create the callback ticket and tell the caller when to expect the call.';

function canTransfer(call: CallContext): boolean {
  return Boolean(call.services.humanTransfer && call.services.transferTo && call.caller.sip && call.caller.identity);
}

/** Transfers the caller; true when a person joined the room and the agent must leave it. */
async function transferToHuman(call: CallContext): Promise<boolean> {
  const { humanTransfer, transferTo } = call.services;
  if (!humanTransfer || !transferTo) throw new llm.ToolError('No transfer line is set up. Offer a callback instead.');
  if (!call.caller.sip || !call.caller.identity) throw new llm.ToolError('This caller is not on a phone line. Offer a callback instead.');
  const result = await humanTransfer.transfer(call.room, call.caller.identity, transferTo);
  call.handedToHuman = { via: 'sip-transfer', atMs: Date.now() };
  return result?.via === 'outbound-trunk';
}

/** The person and the caller talk alone: the agent's session ends (the job leaves the room). */
function leaveToPerson(session: { shutdown(options?: { drain?: boolean; reason?: string }): void }, call: CallContext): void {
  call.log.info('a person joined the call; the agent leaves');
  session.shutdown({ drain: true, reason: 'handed to a person' });
}

export const ESCALATION_TOOLS: ToolCatalog = {
  transfer_to_human: (call) =>
    llm.tool({
      description: 'Transfer the phone call to a member of staff now.',
      execute: async (_args, { ctx }) => {
        try {
          if (await transferToHuman(call)) {
            leaveToPerson(ctx.session, call);
            return 'A member of staff has joined the call.';
          }
          return 'The caller is being transferred.';
        } catch (err) {
          if (err instanceof llm.ToolError) throw err;
          call.log.warn('SIP transfer failed', { error: errorMessage(err) });
          throw new llm.ToolError('The transfer did not go through. Apologise and offer a callback.');
        }
      },
    }),
  create_callback_ticket: (call) =>
    llm.tool({
      description: 'Book a callback from a member of staff. Confirm the number and time with the caller first.',
      parameters: z.object({
        phone: z.string().describe('Number to call back'),
        preferredTime: z.string().describe('When the caller can take the call'),
        summary: z.string().describe('What the caller needs, in one or two sentences'),
      }),
      execute: async (args) => {
        const ticket = await call.services.callbacks.create({ ...args, callId: call.callId, room: call.room });
        call.handedToHuman = { via: 'callback', atMs: Date.now() };
        return { ticketId: ticket.ticketId };
      },
    }),
};

export class EscalationAgent extends SpecialistAgent {
  constructor(call: CallContext, name = 'escalation', chatCtx?: llm.ChatContext) {
    super(call, name, ESCALATION_TOOLS, chatCtx);
  }

  override async onEnter(): Promise<void> {
    const spec = this.spec;
    if (canTransfer(this.call)) {
      // Deterministic: a caller who must reach a person does not depend on the LLM calling a tool.
      await this.speak(spec.greeting ?? TRANSFER_LINE).waitForPlayout();
      try {
        if (await transferToHuman(this.call)) leaveToPerson(this.session, this.call);
        return;
      } catch (err) {
        this.call.log.warn('SIP transfer failed; offering a callback', { error: errorMessage(err) });
        this.speak(TRANSFER_FAILED_LINE);
      }
    } else if (spec.greeting) {
      this.speak(spec.greeting);
    }
    this.session.generateReply({ instructions: 'onEnter' in spec && spec.onEnter ? spec.onEnter : CALLBACK_INSTRUCTIONS });
  }
}
