/**
 * The conversation on the framework's own fakes (no network, no keys): the router hands each
 * intent to its specialist, tools run (mocked with withMockTools), a caller who asks for a person
 * reaches escalation, and the supervisor takes over after the configured failed turns.
 */
import { voice } from '@livekit/agents';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BillingAgent, EscalationAgent, loadAgentSpec, RouterAgent, SchedulingAgent, SupportAgent } from '../src/voice/agents/index.js';
import type { RunningCall } from '../src/voice/call.js';
import type { HumanTransfer } from '../src/voice/human-handoff.js';
import { parseAgentSpec } from '../src/voice/spec.js';
import { ROLE_TOOL_NAMES } from '../src/voice/agents/index.js';
import { say, startTestCall, type Turn } from './helpers/call-harness.js';
import { demoServices, quietFrameworkLogs, ScriptedLLM, shippedSpecObject, SPEC_PATH } from './helpers/voice-fakes.js';

const { FakeLLM } = voice.testing;

beforeAll(quietFrameworkLogs);

let running: RunningCall | undefined;
afterEach(async () => {
  await running?.session.close();
  running = undefined;
});

/** The router's model: each intent becomes the matching transfer tool call. */
function routerLlm(): voice.testing.FakeLLM {
  return new FakeLLM([
    { input: 'I need to book an appointment', toolCalls: [{ name: 'transfer_to_scheduling', args: {} }] },
    { input: 'There is a charge on my bill I do not recognise', toolCalls: [{ name: 'transfer_to_billing', args: {} }] },
    { input: 'My order never arrived', toolCalls: [{ name: 'transfer_to_support', args: {} }] },
    { input: 'Could a member of staff help me instead', toolCalls: [{ name: 'escalate_to_human', args: { reason: 'wants staff' } }] },
  ]);
}

describe('router', () => {
  it('greets the caller with the configured greeting', async () => {
    running = await startTestCall({ router: routerLlm() });
    // The greeting is the first thing in the history (scripted, no LLM involved).
    await running.session.waitForIdle();
    const first = running.session.history.items.find((i) => i.type === 'message');
    expect(first && first.type === 'message' ? first.textContent : undefined).toBe('Thanks for calling. How can I help you today?');
    expect(running.session.currentAgent).toBeInstanceOf(RouterAgent);
  });

  const intents = [
    { intent: 'I need to book an appointment', name: 'scheduling', Agent: SchedulingAgent, greeting: 'Sure, I can help with your appointment.' },
    { intent: 'There is a charge on my bill I do not recognise', name: 'billing', Agent: BillingAgent, greeting: 'I can help with your bill.' },
    { intent: 'My order never arrived', name: 'support', Agent: SupportAgent, greeting: "Let's get that sorted out." },
  ] as const;

  for (const { intent, name, Agent, greeting } of intents) {
    it(`hands "${intent}" to the ${name} specialist, which greets and answers the request`, async () => {
      const specialist = new ScriptedLLM({ model: name, replies: [{ input: intent, content: `${name} here: let us sort that out` }] });
      running = await startTestCall({ router: routerLlm(), specialists: { [name]: specialist } });

      const { result, spoken } = await say(running, intent);

      result.expect.containsFunctionCall({ name: `transfer_to_${name}` });
      result.expect.containsAgentHandoff({ newAgentType: Agent });
      expect(running.session.currentAgent).toBeInstanceOf(Agent);
      // The specialist answered the request the caller made to the router (the context came along).
      expect(specialist.asked).toContain(intent);
      expect(spoken).toEqual([greeting, `${name} here: let us sort that out`]);
      expect(running.recorder.agentPath).toEqual(['router', name]);
    });
  }
});

describe('specialist tools', () => {
  it('runs a tool through its mocked implementation (withMockTools) and answers with the result', async () => {
    const scheduling = new ScriptedLLM({
      model: 'scheduling',
      replies: [
        { input: 'I need to book an appointment', content: 'Which day suits you?' },
        { input: 'Is the third of March free?', toolCalls: [{ name: 'check_availability', args: { date: '2027-03-03' } }] },
        { input: '{"date":"2027-03-03","slots":["10:00"]}', content: 'Ten o clock is free on the third.' },
      ],
    });
    running = await startTestCall({ router: routerLlm(), specialists: { scheduling } });
    await say(running, 'I need to book an appointment');

    const seen: unknown[] = [];
    const mock = voice.testing.withMockTools(SchedulingAgent, {
      check_availability: async (args: { date: string }) => {
        seen.push(args);
        return { date: args.date, slots: ['10:00'] };
      },
    });
    let turn: Turn;
    try {
      turn = await say(running, 'Is the third of March free?');
    } finally {
      mock[Symbol.dispose]();
    }
    const { result, spoken } = turn;

    result.expect.nextEvent().isFunctionCall({ name: 'check_availability', args: { date: '2027-03-03' } });
    result.expect.nextEvent().isFunctionCallOutput({ output: '{"date":"2027-03-03","slots":["10:00"]}', isError: false });
    result.expect.nextEvent().isMessage({ role: 'assistant' });
    expect(seen).toEqual([{ date: '2027-03-03' }]);
    expect(spoken).toEqual(['Ten o clock is free on the third.']);
  });
});

describe('escalation', () => {
  it('takes a caller who asks for a real person to escalation, and the supervisor records why', async () => {
    const escalation = new ScriptedLLM({
      model: 'escalation',
      replies: [{ input: 'I want to speak to a real person', content: 'Of course. What number should we call you back on?' }],
    });
    running = await startTestCall({ router: routerLlm(), specialists: { escalation } });

    const { result, spoken } = await say(running, 'I want to speak to a real person');

    result.expect.containsFunctionCall({ name: 'escalate_to_human' });
    result.expect.containsAgentHandoff({ newAgentType: EscalationAgent });
    expect(running.session.currentAgent).toBeInstanceOf(EscalationAgent);
    expect(running.call.supervisor.overrides).toMatchObject([{ reason: 'human_requested', fromAgent: 'router', toAgent: 'escalation', turn: 1 }]);
    expect(running.call.supervisor.overrides[0]!.detail).toMatch(/^caller asked for a person \(rule humanRequest\[\d+\] \/.+\/\w*\)$/);
    expect(running.call.supervisor.overrides[0]!.detail).not.toContain('real person');
    expect(spoken).toEqual(['Let me get a member of our team for you.', 'Of course. What number should we call you back on?']);
  });

  it('follows the agent when its LLM escalates a request the patterns do not catch (no override)', async () => {
    running = await startTestCall({ router: routerLlm() });

    const { result } = await say(running, 'Could a member of staff help me instead');

    result.expect.containsAgentHandoff({ newAgentType: EscalationAgent });
    expect(running.call.supervisor.overrides).toEqual([]);
  });

  it('books a callback when no transfer number is configured, and the call is recorded as escalated', async () => {
    const tickets: unknown[] = [];
    const escalation = new ScriptedLLM({
      model: 'escalation',
      replies: [
        { input: 'I want to speak to a real person', content: 'What number should we call you back on, and when?' },
        { input: '555 0100, after three', toolCalls: [{ name: 'create_callback_ticket', args: { phone: '555 0100', preferredTime: 'after 15:00', summary: 'wants a person' } }] },
        { input: '{"ticketId":"CB-1"}', content: 'Done: we will call you after three.' },
      ],
    });
    const services = demoServices({
      callbacks: {
        create: async (t) => {
          tickets.push(t);
          return { ...t, ticketId: 'CB-1', createdAt: new Date(0).toISOString() };
        },
      },
    });
    running = await startTestCall({ router: routerLlm(), specialists: { escalation }, services });
    await say(running, 'I want to speak to a real person');

    const { result } = await say(running, '555 0100, after three');

    result.expect.containsFunctionCall({ name: 'create_callback_ticket' });
    expect(tickets).toEqual([{ phone: '555 0100', preferredTime: 'after 15:00', summary: 'wants a person', callId: 'call-test-1', room: 'room-test-1' }]);
    const record = running.finish();
    expect(record.outcome).toBe('escalated');
    expect(record.handedToHuman).toBe('callback');
    expect(record.agentPath).toEqual(['router', 'escalation']);
  });

  it('transfers a phone caller to the configured number over SIP', async () => {
    const transfers: string[][] = [];
    const humanTransfer: HumanTransfer = {
      transfer: async (room, identity, to) => {
        transfers.push([room, identity, to]);
      },
    };
    running = await startTestCall({
      router: routerLlm(),
      services: demoServices({ humanTransfer, transferTo: 'tel:+15551230000' }),
      caller: { sip: true, identity: 'sip_+15550001111' },
    });

    const { result, spoken } = await say(running, 'Let me talk to an operator');

    result.expect.containsAgentHandoff({ newAgentType: EscalationAgent });
    expect(transfers).toEqual([['room-test-1', 'sip_+15550001111', 'tel:+15551230000']]);
    expect(running.call.handedToHuman?.via).toBe('sip-transfer');
    expect(spoken).toEqual(['Let me get a member of our team for you.']);
  });

  it('leaves the room once a person dialled on the outbound trunk has joined', async () => {
    const humanTransfer: HumanTransfer = { transfer: async () => ({ via: 'outbound-trunk', participantIdentity: 'human-transfer' }) };
    const call = await startTestCall({
      router: routerLlm(),
      services: demoServices({ humanTransfer, transferTo: 'tel:+15551230000' }),
      caller: { sip: true, identity: 'sip_+15550001111' },
    });
    running = call;
    const closed = new Promise<string>((resolve) => call.session.once(voice.AgentSessionEventTypes.Close, (ev) => resolve(String(ev.reason))));

    // The session closes under the harness, which waits for it to go idle.
    await expect(say(running, 'Let me talk to an operator')).rejects.toThrow(/AgentSession is closing/);

    expect(running.call.handedToHuman?.via).toBe('sip-transfer');
    await expect(closed).resolves.toBe('handed to a person');
  });
});

describe('supervisor', () => {
  it('escalates after the configured number of failed turns and records why', async () => {
    const raw = shippedSpecObject();
    (raw.supervisor as Record<string, unknown>).maxFailedTurns = 2;
    const spec = parseAgentSpec(raw, ROLE_TOOL_NAMES, 'test spec');
    const scheduling = new ScriptedLLM({
      model: 'scheduling',
      replies: [
        { input: 'I need to book an appointment', content: 'Which day suits you?' },
        { input: 'Is Tuesday free?', toolCalls: [{ name: 'check_availability', args: { date: '2027-03-02' } }] },
        { input: 'What about Wednesday?', toolCalls: [{ name: 'check_availability', args: { date: '2027-03-03' } }] },
        { input: 'An internal error occurred', content: 'Sorry, I cannot see the calendar right now.' },
      ],
    });
    const escalation = new ScriptedLLM({ model: 'escalation', replies: [{ input: 'What about Wednesday?', content: 'Let me take your number for a callback.' }] });
    running = await startTestCall({ router: routerLlm(), specialists: { scheduling, escalation }, spec });
    await say(running, 'I need to book an appointment');

    const mock = voice.testing.withMockTools(SchedulingAgent, {
      check_availability: async () => {
        throw new Error('calendar service timed out');
      },
    });
    let first: Turn;
    let second: Turn;
    try {
      first = await say(running, 'Is Tuesday free?');
      second = await say(running, 'What about Wednesday?');
    } finally {
      mock[Symbol.dispose]();
    }

    // One failed turn: the specialist apologises and stays.
    first.result.expect.containsFunctionCallOutput({ isError: true });
    expect(first.spoken).toEqual(['Sorry, I cannot see the calendar right now.']);
    // The second failed turn reaches the limit: the supervisor hands the call over instead of a reply.
    second.result.expect.containsFunctionCall({ name: 'escalate_to_human' });
    second.result.expect.containsAgentHandoff({ newAgentType: EscalationAgent });
    expect(running.session.currentAgent).toBeInstanceOf(EscalationAgent);

    const [override] = running.call.supervisor.overrides;
    expect(override).toMatchObject({ reason: 'failed_turns', fromAgent: 'scheduling', toAgent: 'escalation', turn: 3 });
    expect(override!.detail).toBe('2 failed turns (turns 2, 3): tool check_availability failed');
    const record = running.finish();
    expect(record.overrides).toEqual([override]);
    expect(record.outcome).toBe('escalated');
    expect(record.agentPath).toEqual(['router', 'scheduling', 'escalation']);
  });

  it('escalates a frustrated caller', async () => {
    running = await startTestCall({ router: routerLlm() });
    const { result } = await say(running, 'This is ridiculous, nobody ever answers');
    result.expect.containsAgentHandoff({ newAgentType: EscalationAgent });
    expect(running.call.supervisor.overrides.map((o) => o.reason)).toEqual(['frustration']);
    // The record names the rule, not what the caller said.
    const [override] = running.call.supervisor.overrides;
    expect(override!.detail).toMatch(/^caller sounded frustrated \(rule frustration\[\d+\] \/.+\/\w*\)$/);
    expect(override!.detail).not.toMatch(/This is ridiculous|nobody ever answers/);
  });

  it('escalates when the caller keeps repeating the same request', async () => {
    const router = new FakeLLM([{ input: 'I need the thing for my account', content: 'Could you say a little more?' }]);
    running = await startTestCall({ router });
    await say(running, 'I need the thing for my account');
    await say(running, 'I need the thing for my account');
    const third = await say(running, 'I need the thing for my account');
    third.result.expect.containsAgentHandoff({ newAgentType: EscalationAgent });
    const [override] = running.call.supervisor.overrides;
    expect(override?.reason).toBe('repeated_turns');
    expect(override?.detail).toBe('2 repeated turns: caller repeated turn 1 on turn 2; agent repeated its reply of turn 1 on turn 2');
    expect(JSON.stringify(running.call.supervisor.overrides)).not.toMatch(/thing|account/);
  });
});

describe('spec', () => {
  it('the shipped spec loads', () => {
    const spec = loadAgentSpec(SPEC_PATH);
    expect(Object.keys(spec.specialists).sort()).toEqual(['billing', 'escalation', 'scheduling', 'support']);
  });

});
