/**
 * The conversation as data (agent/config/agents.yaml): the router, the specialists with their
 * instructions, tools and hand-offs, the supervisor's policy and the providers. Validated once at
 * start; the first problem becomes one error naming the key, the value and what is allowed.
 * Pure apart from `readSpecFile`.
 */
import { LLM_MODELS, TELEPHONY_PROVIDERS, type LlmModel } from '@voice-agent-infra/common';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../config.js';

export const SPECIALIST_ROLES = ['scheduling', 'billing', 'support', 'escalation'] as const;
export type SpecialistRole = (typeof SPECIALIST_ROLES)[number];
export type Role = 'router' | SpecialistRole;
export const MODEL_TIERS = ['routine', 'complex'] as const;
export type ModelTier = (typeof MODEL_TIERS)[number];

/** Names of the tools each role's class implements (the registry supplies them). */
export type ToolNamesByRole = Readonly<Record<Role, readonly string[]>>;

/** A bad spec: one line naming the key; main.ts prints it and exits 2. */
export class SpecError extends ConfigError {
  constructor(
    readonly key: string,
    message: string,
  ) {
    super('AGENT_SPEC', message);
    this.name = 'SpecError';
  }
}

const agentName = z.string().regex(/^[a-z][a-z0-9_]{0,39}$/, 'must be lower-case letters, digits or "_", starting with a letter');
const text = z.string({ error: 'is required (a non-empty string)' }).trim().min(1, 'is required (a non-empty string)');
const pattern = z.string().refine((value) => {
  try {
    new RegExp(value, 'i');
    return true;
  } catch {
    return false;
  }
}, 'is not a valid regular expression');

const agentFields = {
  instructions: text,
  /** routine: the local model with a hosted fallback; complex: the stronger hosted model. */
  model: z.enum(MODEL_TIERS).default('routine'),
  /** Said (from the phrase cache when rendered) when the agent takes over. */
  greeting: text.optional(),
  handoffs: z.array(agentName).default([]),
  tools: z.array(z.string()).default([]),
};

const routerSchema = z.object(agentFields).strict();
const specialistSchema = z
  .object({
    ...agentFields,
    /** Which class implements it; defaults to the specialist's key. */
    role: z.enum(SPECIALIST_ROLES).optional(),
    /** Tells the other agents' LLM when to hand over (the transfer tool's description). */
    description: text,
    /** Extra instructions for the first reply after a hand-over. */
    onEnter: text.optional(),
  })
  .strict();

const DEFAULT_HUMAN_REQUEST = [
  '\\b(speak|talk|chat)\\s+(to|with)\\s+(a|an|some|the)?\\s*(real\\s+)?(human|person|agent|representative|operator|someone)\\b',
  '\\b(real|live|actual)\\s+(person|human|agent)\\b',
  '\\b(representative|operator)\\b',
];
const DEFAULT_FRUSTRATION = [
  '\\b(this is|that.?s|you.?re)\\s+(ridiculous|useless|pointless|a joke|terrible)\\b',
  '\\b(wast(e|ing))\\s+(of\\s+)?my\\s+time\\b',
  '\\bare you (even )?listening\\b',
  '\\bi (already|just) (told|said)\\b',
  '\\bfor the (last|third|hundredth) time\\b',
];

const supervisorSchema = z
  .object({
    /** The specialist callers are escalated to (its role must be escalation). */
    escalateTo: agentName.default('escalation'),
    maxFailedTurns: z.number().int().min(1).max(20).default(3),
    maxRepeatedTurns: z.number().int().min(1).max(20).default(2),
    humanRequest: z.array(pattern).default(DEFAULT_HUMAN_REQUEST),
    frustration: z.array(pattern).default(DEFAULT_FRUSTRATION),
  })
  .strict();

/** Hosted models run on the OpenAI plugin; the catalog prices them (a new one needs a catalog entry). */
const OPENAI_MODELS = LLM_MODELS.filter((m) => m.startsWith('gpt-'));
const hostedModel = z.string().refine((m) => OPENAI_MODELS.includes(m as (typeof LLM_MODELS)[number]), {
  message: `must be an OpenAI model the price catalog knows: ${OPENAI_MODELS.join(', ')} (the local model is providers.llm.local)`,
}).transform((m) => m as LlmModel);

const providersSchema = z
  .object({
    stt: z
      .object({
        provider: z.literal('deepgram').default('deepgram'),
        model: z.string().min(1).default('nova-3'),
        language: z.string().min(1).default('en-US'),
        /** Second STT, used when Deepgram fails (needs OPENAI_API_KEY). */
        fallback: z.enum(['openai']).optional(),
      })
      .strict()
      .prefault({}),
    llm: z
      .object({
        routine: hostedModel.default('gpt-4o-mini'),
        complex: hostedModel.default('gpt-4o'),
        local: z
          .object({
            /** Model name the local server serves (LOCAL_LLM_MODEL overrides). */
            model: z.string().min(1).default('llama3.1:8b'),
            /** First-token deadline before the hosted fallback answers. */
            timeoutSeconds: z.number().positive().max(30).default(2.5),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    tts: z
      .object({
        provider: z.enum(['cartesia', 'elevenlabs']).default('cartesia'),
        model: z.string().min(1).optional(),
        voice: z.string().min(1).optional(),
        /** Second TTS provider, used when the first fails (needs its API key). */
        fallback: z.enum(['cartesia', 'elevenlabs']).optional(),
        fallbackVoice: z.string().min(1).optional(),
      })
      .strict()
      .prefault({}),
    /** vad: Silero end of speech; stt: the STT's endpointing. (No turn-detector model: see README.) */
    turnDetection: z.enum(['vad', 'stt']).default('vad'),
    telephony: z.enum(TELEPHONY_PROVIDERS).default('sip-trunk'),
  })
  .strict();

const specSchema = z
  .object({
    version: z.literal(1),
    /** Label for cost and outcome by use case (the dispatch metadata may override it per call). */
    useCase: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/).default('general'),
    router: routerSchema,
    specialists: z.record(agentName, specialistSchema),
    supervisor: supervisorSchema.prefault({}),
    escalation: z
      .object({
        /** E.164 number or sip: URI for the SIP transfer (ESCALATION_TRANSFER_TO overrides). */
        transferTo: z.string().min(1).optional(),
        ringingTimeoutSeconds: z.number().int().min(5).max(120).default(30),
        /**
         * Name of the stack's outbound SIP trunk (sip.outbound; sip-sync names it
         * voice-agent-<stack>-outbound): the transfer dials the person out on it into the
         * caller's room. Unset: a cold transfer by SIP REFER to the caller's provider.
         */
        outboundTrunk: z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/, 'must be the outbound trunk name, e.g. voice-agent-mid-outbound').optional(),
      })
      .strict()
      .prefault({}),
    providers: providersSchema.prefault({}),
  })
  .strict();

export type AgentSpec = z.output<typeof specSchema>;
export type RouterSpec = z.output<typeof routerSchema>;
export type SpecialistSpec = z.output<typeof specialistSchema> & { role: SpecialistRole };
export type ProvidersSpec = z.output<typeof providersSchema>;

function keyOf(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, part) => (typeof part === 'number' ? `${acc}[${part}]` : acc ? `${acc}.${String(part)}` : String(part)), '');
}

function fail(source: string, key: string, message: string): never {
  throw new SpecError(key, `${source}: ${key} ${message}`);
}

/** The agent a name stands for; the router is "router". */
export function agentSpecOf(spec: AgentSpec, name: string): RouterSpec | SpecialistSpec {
  if (name === 'router') return spec.router;
  const s = spec.specialists[name];
  if (!s) throw new Error(`no agent named ${name} in the spec`);
  return s as SpecialistSpec;
}

export function roleOf(spec: AgentSpec, name: string): Role {
  return name === 'router' ? 'router' : (agentSpecOf(spec, name) as SpecialistSpec).role;
}

/**
 * Parses and checks a spec object. `source` names it in errors (the file path).
 * Checks beyond the schema: every hand-off names a specialist, every tool exists for its role,
 * the supervisor escalates to an escalation specialist.
 */
export function parseAgentSpec(input: unknown, tools: ToolNamesByRole, source = 'agent spec'): AgentSpec {
  const parsed = specSchema.safeParse(input, { reportInput: true });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    let message = issue.message;
    const given = issue.input;
    // Name the value when it is a plain one (an object would not fit on the line).
    const shown = given !== undefined && (typeof given !== 'object' || given === null) ? ` = ${JSON.stringify(given)}` : '';
    if (issue.code === 'unrecognized_keys') message = `has unknown key(s) ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
    else if (/received undefined/.test(message)) message = 'is required';
    else if (message.startsWith('is ') || message.startsWith('must ')) message = `${shown.trimStart()}${shown ? ' ' : ''}${message}`;
    else message = `${shown.trimStart()}${shown ? ' ' : ''}is invalid: ${message}`;
    const key = keyOf(issue.path);
    fail(source, key || '(top level)', message);
  }
  const spec = parsed.data;
  const names = Object.keys(spec.specialists).sort();
  if (names.length === 0) fail(source, 'specialists', 'must name at least one specialist');

  for (const name of names) {
    const s = spec.specialists[name]!;
    if (!s.role) {
      if (!(SPECIALIST_ROLES as readonly string[]).includes(name)) {
        fail(source, `specialists.${name}.role`, `is required for a specialist not named after a role; roles are ${SPECIALIST_ROLES.join(', ')}`);
      }
      s.role = name as SpecialistRole;
    }
  }

  const check = (key: string, name: string, agent: { handoffs: string[]; tools: string[] }, role: Role) => {
    agent.handoffs.forEach((target, i) => {
      if (!spec.specialists[target]) {
        fail(source, `${key}.handoffs[${i}]`, `= ${JSON.stringify(target)} is not a specialist; specialists are ${names.join(', ')}`);
      }
      if (target === name) fail(source, `${key}.handoffs[${i}]`, `= ${JSON.stringify(target)} hands off to itself`);
    });
    const known = tools[role];
    agent.tools.forEach((tool, i) => {
      if (!known.includes(tool)) {
        const allowed = known.length ? `${role} tools are ${known.join(', ')}` : `the ${role} has no tools of its own (hand-offs are listed under handoffs)`;
        fail(source, `${key}.tools[${i}]`, `= ${JSON.stringify(tool)} is not a known tool; ${allowed}`);
      }
    });
  };
  check('router', 'router', spec.router, 'router');
  for (const name of names) check(`specialists.${name}`, name, spec.specialists[name]!, spec.specialists[name]!.role!);

  const target = spec.specialists[spec.supervisor.escalateTo];
  if (!target) fail(source, 'supervisor.escalateTo', `= ${JSON.stringify(spec.supervisor.escalateTo)} is not a specialist; specialists are ${names.join(', ')}`);
  if (target.role !== 'escalation') fail(source, 'supervisor.escalateTo', `= ${JSON.stringify(spec.supervisor.escalateTo)} must be a specialist with role escalation`);
  return spec;
}

/** Reads and validates a YAML spec file; unreadable or malformed files are SpecErrors too. */
export function readSpecFile(path: string, tools: ToolNamesByRole): AgentSpec {
  let raw: string;
  try {
    raw = readFileSync(path, 'utf8');
  } catch (err) {
    throw new SpecError('AGENT_SPEC', `AGENT_SPEC=${JSON.stringify(path)} cannot be read: ${(err as Error).message}`);
  }
  let data: unknown;
  try {
    data = parseYaml(raw);
  } catch (err) {
    throw new SpecError('AGENT_SPEC', `${path}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  return parseAgentSpec(data, tools, path);
}

/** The supervisor's patterns, compiled (case-insensitive). */
export function compilePatterns(patterns: readonly string[]): RegExp[] {
  return patterns.map((p) => new RegExp(p, 'i'));
}
