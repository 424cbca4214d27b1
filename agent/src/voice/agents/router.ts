/**
 * The router: greets the caller, finds the intent and hands over to the specialist for it
 * (its hand-off tools come from the spec). It answers nothing itself.
 */
import type { llm } from '@livekit/agents';
import type { CallContext } from '../call-context.js';
import { CallAgent, type ToolCatalog } from './base.js';

/** The router has no tools of its own: only hand-offs. */
export const ROUTER_TOOLS: ToolCatalog = {};

export class RouterAgent extends CallAgent {
  constructor(call: CallContext, name = 'router', chatCtx?: llm.ChatContext) {
    super(call, name, ROUTER_TOOLS, chatCtx);
  }

  override async onEnter(): Promise<void> {
    // A fixed greeting plays from the phrase cache: no LLM and no TTS before the caller speaks.
    if (this.spec.greeting) this.speak(this.spec.greeting);
    else this.session.generateReply({ instructions: 'Greet the caller briefly and ask how you can help.' });
  }
}
