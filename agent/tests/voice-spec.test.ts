/**
 * A bad agents.yaml fails at start with one line naming the key, the value and what is allowed.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadAgentSpec, ROLE_TOOL_NAMES } from '../src/voice/agents/index.js';
import { parseAgentSpec, SpecError } from '../src/voice/spec.js';
import { shippedSpecObject } from './helpers/voice-fakes.js';

type Raw = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The error a changed copy of the shipped spec produces (it must be exactly one line). */
function errorFor(change: (spec: Raw) => void): string {
  const raw = shippedSpecObject() as Raw;
  change(raw);
  try {
    parseAgentSpec(raw, ROLE_TOOL_NAMES, 'agents.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(SpecError);
    const message = (err as Error).message;
    expect(message.split('\n')).toHaveLength(1);
    return message;
  }
  throw new Error('the spec was accepted');
}

describe('agent spec validation', () => {
  it('rejects a hand-off to an unknown specialist', () => {
    expect(errorFor((s) => (s.specialists.scheduling.handoffs = ['billing', 'bilingg']))).toBe(
      'agents.yaml: specialists.scheduling.handoffs[1] = "bilingg" is not a specialist; specialists are billing, escalation, scheduling, support',
    );
    expect(errorFor((s) => (s.router.handoffs = ['sales']))).toContain('router.handoffs[0] = "sales" is not a specialist');
  });

  it('rejects a specialist without instructions', () => {
    expect(errorFor((s) => delete s.specialists.support.instructions)).toBe('agents.yaml: specialists.support.instructions is required (a non-empty string)');
    expect(errorFor((s) => (s.router.instructions = '   '))).toBe('agents.yaml: router.instructions = "" is required (a non-empty string)');
  });

  it('rejects a tool the role does not implement', () => {
    expect(errorFor((s) => s.specialists.billing.tools.push('refund_everything'))).toBe(
      'agents.yaml: specialists.billing.tools[3] = "refund_everything" is not a known tool; billing tools are lookup_balance, lookup_invoice, send_payment_link',
    );
    expect(errorFor((s) => (s.router.tools = ['lookup_order']))).toContain('router.tools[0] = "lookup_order" is not a known tool; the router has no tools of its own');
  });

  it('rejects other mistakes with the key named', () => {
    expect(errorFor((s) => (s.specialists.billing.model = 'huge'))).toMatch(/^agents\.yaml: specialists\.billing\.model = "huge" is invalid: /);
    expect(errorFor((s) => (s.specialists.billing.tols = []))).toBe('agents.yaml: specialists.billing has unknown key(s) "tols"');
    expect(errorFor((s) => (s.specialists.sales = { ...s.specialists.support }))).toBe(
      'agents.yaml: specialists.sales.role is required for a specialist not named after a role; roles are scheduling, billing, support, escalation',
    );
    expect(errorFor((s) => (s.supervisor.escalateTo = 'billing'))).toBe('agents.yaml: supervisor.escalateTo = "billing" must be a specialist with role escalation');
    expect(errorFor((s) => (s.supervisor.humanRequest = ['(unclosed']))).toBe('agents.yaml: supervisor.humanRequest[0] = "(unclosed" is not a valid regular expression');
    expect(errorFor((s) => (s.providers.llm.complex = 'claude-haiku-4.5'))).toContain(
      'providers.llm.complex = "claude-haiku-4.5" must be an OpenAI model the price catalog knows: gpt-4o, gpt-4o-mini',
    );
  });

  it('turns an unreadable or malformed file into one line too', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'spec-'));
    try {
      expect(() => loadAgentSpec(join(dir, 'missing.yaml'))).toThrow(/^AGENT_SPEC=".*missing\.yaml" cannot be read/);
      await writeFile(join(dir, 'bad.yaml'), 'router: [unclosed\n');
      expect(() => loadAgentSpec(join(dir, 'bad.yaml'))).toThrow(/bad\.yaml: not valid YAML/);
      const raw = shippedSpecObject() as Raw;
      raw.specialists.scheduling.handoffs = ['nobody'];
      await writeFile(join(dir, 'agents.yaml'), stringify(raw));
      expect(() => loadAgentSpec(join(dir, 'agents.yaml'))).toThrow(`${join(dir, 'agents.yaml')}: specialists.scheduling.handoffs[0] = "nobody" is not a specialist`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

