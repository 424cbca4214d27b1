/**
 * Configuration of the `agent` role (the LiveKit agent worker), parsed once at start from the
 * environment and the agent spec. Errors are one line naming the variable or spec key (never a
 * secret's value). The job processes parse the same environment again (they inherit it).
 */
import { DEFAULT_CATALOG, withPriceOverrides, type PriceCatalog } from '@voice-agent-infra/common';
import { fileURLToPath } from 'node:url';
import { ConfigError, type Env, optional, withDefault } from '../config.js';
import { loadAgentSpec } from '../voice/agents/index.js';
import { usableCpus } from './cpu.js';
import { defaultMaxSessions } from './help.js';
import { transferUri } from '../voice/human-handoff.js';
import { resolveProviderSettings, type ProviderSettings } from '../voice/providers.js';
import type { AgentSpec } from '../voice/spec.js';

/** Bundled spec and phrase cache, next to the package (agent/config, agent/phrase-cache). */
export const DEFAULT_SPEC_PATH = fileURLToPath(new URL('../../config/agents.yaml', import.meta.url));
export const DEFAULT_PHRASE_CACHE_DIR = fileURLToPath(new URL('../../phrase-cache', import.meta.url));


export interface AgentWorkerConfig {
  livekit: { url: string; apiKey: string; apiSecret: string };
  /** Explicit dispatch: the dispatcher's CreateDispatch names this agent. */
  agentName: string;
  specPath: string;
  spec: AgentSpec;
  providers: ProviderSettings;
  /** Sessions this worker offers the queue (capacity heartbeat). */
  maxSessions: number;
  /** Load (0-1, the busier of CPU and sessions / maxSessions) at which LiveKit stops sending this worker jobs. */
  loadThreshold: number;
  /** Worker health port (GET / and /worker), the image's HEALTHCHECK. */
  healthPort: number;
  /** /metrics port (call metrics). */
  metricsPort: number;
  host: string;
  /** How long SIGTERM waits for active calls before closing. */
  drainTimeoutSeconds: number;
  /** Warm job processes kept ready. */
  idleProcesses: number;
  /** Heartbeats and the call-record stream; without it the worker runs outside queue mode. */
  redis?: { url: string; prefix: string };
  callRecordsMaxLength: number;
  /** One CloudWatch EMF line per call on stdout. */
  emf: boolean;
  metrics: { namespace: string; stack: string };
  /** The shared price catalog, with the stack's overrides (PRICE_OVERRIDES) when given. */
  catalog: PriceCatalog;
  phraseCacheDir: string;
  toolsBackend?: { url: string; token?: string };
  /** tel:/sip: URI the escalation specialist transfers to. */
  transferTo?: string;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
}

function value(env: Env, name: string): string | undefined {
  const v = env[name]?.trim();
  return v ? v : undefined;
}

function required(env: Env, name: string, allowed: string): string {
  const v = value(env, name);
  if (v === undefined) throw new ConfigError(name, `${name} is required: set it to ${allowed}`);
  return v;
}

function wholeNumber(env: Env, name: string, fallback: number, min: number, max: number): number {
  const v = value(env, name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < min || n > max) throw new ConfigError(name, `${name}=${JSON.stringify(v)} is invalid: must be a whole number from ${min} to ${max}`);
  return n;
}

function url(env: Env, name: string, schemes: readonly string[], allowed: string, secret = false): string | undefined {
  const v = value(env, name);
  if (v === undefined) return undefined;
  if (!URL.canParse(v) || !schemes.includes(new URL(v).protocol)) {
    throw new ConfigError(name, `${name}${secret ? '' : `=${JSON.stringify(v)}`} is invalid: must be ${allowed}`);
  }
  return v;
}

export function parseAgentWorkerConfig(env: Env): AgentWorkerConfig {
  const livekit = {
    url: url(env, 'LIVEKIT_URL', ['ws:', 'wss:', 'http:', 'https:'], 'the LiveKit server URL, e.g. ws://livekit:7880') ?? required(env, 'LIVEKIT_URL', 'the LiveKit server URL, e.g. ws://livekit:7880'),
    apiKey: required(env, 'LIVEKIT_API_KEY', 'the LiveKit API key'),
    apiSecret: required(env, 'LIVEKIT_API_SECRET', 'the LiveKit API secret'),
  };
  // Shared with the queue roles, validated by the same rules, so the worker registers and heartbeats
  // where the dispatcher looks.
  const agentName = withDefault(env, 'AGENT_NAME');
  const specPath = value(env, 'AGENT_SPEC') ?? DEFAULT_SPEC_PATH;
  const spec = loadAgentSpec(specPath);
  const providers = resolveProviderSettings(spec.providers, env);

  const thresholdRaw = value(env, 'AGENT_LOAD_THRESHOLD');
  const loadThreshold = thresholdRaw === undefined ? 0.7 : Number(thresholdRaw);
  if (!(loadThreshold > 0 && loadThreshold <= 1)) {
    throw new ConfigError('AGENT_LOAD_THRESHOLD', `AGENT_LOAD_THRESHOLD=${JSON.stringify(thresholdRaw)} is invalid: must be a number above 0 and at most 1 (CPU share)`);
  }
  const redisUrl = optional(env, 'REDIS_URL');
  const prefix = withDefault(env, 'QUEUE_PREFIX');
  const backendUrl = url(env, 'TOOLS_BACKEND_URL', ['http:', 'https:'], 'the http(s) base URL of the service the tools call');
  const transfer = value(env, 'ESCALATION_TRANSFER_TO') ?? spec.escalation.transferTo;
  if (transfer !== undefined && !/^\+[1-9]\d{6,14}$/.test(transfer.replace(/[\s().-]/g, '')) && !/^(tel|sips?):\S+$/i.test(transfer)) {
    throw new ConfigError('ESCALATION_TRANSFER_TO', `ESCALATION_TRANSFER_TO=${JSON.stringify(transfer)} is invalid: must be an E.164 number (+15551230000) or a tel:/sip: URI`);
  }
  const emfRaw = value(env, 'CALL_RECORD_EMF') ?? 'on';
  if (emfRaw !== 'on' && emfRaw !== 'off') throw new ConfigError('CALL_RECORD_EMF', `CALL_RECORD_EMF=${JSON.stringify(emfRaw)} is invalid: must be on or off`);
  const level = value(env, 'LOG_LEVEL') ?? 'info';
  return {
    catalog: priceCatalog(env),
    livekit,
    agentName,
    specPath,
    spec,
    providers,
    maxSessions: wholeNumber(env, 'AGENT_MAX_SESSIONS', defaultMaxSessions(), 1, 10_000),
    loadThreshold,
    // agents-js reads port 0 as "the default" (8081), so 0 is not offered.
    healthPort: wholeNumber(env, 'AGENT_HEALTH_PORT', 8081, 1, 65_535),
    metricsPort: wholeNumber(env, 'AGENT_METRICS_PORT', 9464, 0, 65_535),
    host: value(env, 'AGENT_HOST') ?? '0.0.0.0',
    drainTimeoutSeconds: wholeNumber(env, 'AGENT_DRAIN_TIMEOUT_SECONDS', 600, 1, 86_400),
    idleProcesses: wholeNumber(env, 'AGENT_IDLE_PROCESSES', Math.max(1, Math.min(Math.ceil(usableCpus()), 4)), 1, 64),
    ...(redisUrl ? { redis: { url: redisUrl, prefix } } : {}),
    callRecordsMaxLength: wholeNumber(env, 'CALL_RECORDS_MAX_LENGTH', 100_000, 100, 100_000_000),
    emf: emfRaw === 'on',
    metrics: { namespace: withDefault(env, 'METRICS_NAMESPACE'), stack: withDefault(env, 'STACK_NAME') },
    phraseCacheDir: value(env, 'PHRASE_CACHE_DIR') ?? DEFAULT_PHRASE_CACHE_DIR,
    ...(backendUrl ? { toolsBackend: { url: backendUrl, token: value(env, 'TOOLS_BACKEND_TOKEN') } } : {}),
    ...(transfer ? { transferTo: transferUri(transfer) } : {}),
    logLevel: level === 'debug' || level === 'warn' || level === 'error' ? level : 'info',
  };
}

/** PRICE_OVERRIDES: the stack's catalog overrides as JSON ({"llm.gpt-4o.input": 2.0}), so call costs match the plan's. */
function priceCatalog(env: Env): PriceCatalog {
  const raw = value(env, 'PRICE_OVERRIDES');
  if (raw === undefined) return DEFAULT_CATALOG;
  const allowed = 'a JSON object of catalog key to USD price, e.g. {"llm.gpt-4o.input": 2.0}';
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigError('PRICE_OVERRIDES', `PRICE_OVERRIDES is invalid: must be ${allowed}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || Object.values(parsed).some((v) => typeof v !== 'number' || !(v >= 0))) {
    throw new ConfigError('PRICE_OVERRIDES', `PRICE_OVERRIDES is invalid: must be ${allowed}`);
  }
  const unknown = Object.keys(parsed).find((k) => !(k in DEFAULT_CATALOG));
  if (unknown) throw new ConfigError('PRICE_OVERRIDES', `PRICE_OVERRIDES names ${JSON.stringify(unknown)}, which is not a catalog key`);
  return withPriceOverrides(DEFAULT_CATALOG, parsed as Record<string, number>, 'PRICE_OVERRIDES');
}
