/** Scheduling: availability, booking and cancelling appointments. */
import { llm } from '@livekit/agents';
import { z } from 'zod';
import type { CallContext } from '../call-context.js';
import { runBackendTool, SpecialistAgent, type ToolCatalog } from './base.js';

export const SCHEDULING_TOOLS: ToolCatalog = {
  check_availability: (call, agent) =>
    llm.tool({
      description: 'Free appointment slots on a day.',
      parameters: z.object({
        date: z.string().describe('The day, as YYYY-MM-DD'),
        service: z.string().optional().describe('What the appointment is for, if the caller said'),
      }),
      execute: async (args) => runBackendTool(call, agent, 'check_availability', args),
    }),
  book_appointment: (call, agent) =>
    llm.tool({
      description: 'Book a slot the caller chose. Confirm day, time and name with the caller first.',
      parameters: z.object({
        date: z.string().describe('YYYY-MM-DD'),
        time: z.string().describe('HH:MM, 24-hour'),
        name: z.string().describe('Name the booking is under'),
      }),
      execute: async (args) => runBackendTool(call, agent, 'book_appointment', args),
    }),
  cancel_appointment: (call, agent) =>
    llm.tool({
      description: 'Cancel a booking by its reference.',
      parameters: z.object({ bookingId: z.string().describe('Booking reference, e.g. BK-1001') }),
      execute: async (args) => runBackendTool(call, agent, 'cancel_appointment', args),
    }),
};

export class SchedulingAgent extends SpecialistAgent {
  constructor(call: CallContext, name = 'scheduling', chatCtx?: llm.ChatContext) {
    super(call, name, SCHEDULING_TOOLS, chatCtx);
  }
}
