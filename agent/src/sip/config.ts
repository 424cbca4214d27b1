/**
 * Environment of `voice-agent sip-sync`, parsed once into a typed object. Errors are one line
 * naming the variable (never a secret's value). The shared variables (LIVEKIT_*, REDIS_URL,
 * QUEUE_PREFIX) are validated by the same rules as every other role.
 */
import { readFileSync } from 'node:fs';
import type { SipDeclaration } from '@voice-agent-infra/common';
import { ConfigError, type Env, optional, withDefault } from '../config.js';
import { DeclarationError, parseSipDeclaration } from './declaration.js';
import type { SipCredential, SipCredentials } from './sync.js';

export interface SipSyncConfig {
  declaration: SipDeclaration;
  credentials: SipCredentials;
  livekit: { url: string; apiKey: string; apiSecret: string };
  redis: { url: string; prefix: string };
  /** How long to wait for LiveKit's SIP API (and for another node's sync) at boot. */
  waitSeconds: number;
}

/** Variables and their meaning, for --help. */
export const SIP_SYNC_ENV_HELP: ReadonlyArray<readonly [string, string]> = [
  ['SIP_DECLARATION', 'the declaration JSON (or SIP_DECLARATION_FILE: a path to it)'],
  ['SIP_INBOUND_USERNAME', 'inbound digest auth, when the declaration asks for it (with SIP_INBOUND_PASSWORD)'],
  ['SIP_OUTBOUND_USERNAME', 'outbound trunk login, when the declaration asks for it (with SIP_OUTBOUND_PASSWORD)'],
  ['SIP_SYNC_WAIT_SECONDS', 'default 300: wait this long for LiveKit and for another node holding the lock'],
];

function value(env: Env, name: string): string | undefined {
  const v = env[name]?.trim();
  return v ? v : undefined;
}

function need<T>(v: T | undefined, name: string, allowed: string): T {
  if (v === undefined) throw new ConfigError(name, `${name} is required: set it to ${allowed}`);
  return v;
}

function credential(env: Env, prefix: 'SIP_INBOUND' | 'SIP_OUTBOUND', wanted: boolean, what: string): SipCredential | undefined {
  const username = value(env, `${prefix}_USERNAME`);
  const password = value(env, `${prefix}_PASSWORD`);
  if (!wanted) {
    if (username !== undefined || password !== undefined) {
      throw new ConfigError(`${prefix}_USERNAME`, `${prefix}_USERNAME/${prefix}_PASSWORD are set but the declaration's ${what} does not use auth`);
    }
    return undefined;
  }
  if (username === undefined) throw new ConfigError(`${prefix}_USERNAME`, `${prefix}_USERNAME is required: the declaration's ${what} uses auth`);
  if (password === undefined) throw new ConfigError(`${prefix}_PASSWORD`, `${prefix}_PASSWORD is required: the declaration's ${what} uses auth`);
  return { username, password };
}

export function parseSipSyncConfig(env: Env, readFile: (path: string) => string = (p) => readFileSync(p, 'utf8')): SipSyncConfig {
  const inline = value(env, 'SIP_DECLARATION');
  const file = value(env, 'SIP_DECLARATION_FILE');
  if (inline !== undefined && file !== undefined) throw new ConfigError('SIP_DECLARATION', 'SIP_DECLARATION and SIP_DECLARATION_FILE are both set: set one');
  const source = inline !== undefined ? 'SIP_DECLARATION' : 'SIP_DECLARATION_FILE';
  let text = inline;
  if (text === undefined) {
    if (file === undefined) throw new ConfigError('SIP_DECLARATION', 'SIP_DECLARATION is required: set it to the declaration JSON, or SIP_DECLARATION_FILE to its path');
    try {
      text = readFile(file);
    } catch (err) {
      throw new ConfigError('SIP_DECLARATION_FILE', `SIP_DECLARATION_FILE=${JSON.stringify(file)} cannot be read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
  }
  let declaration: SipDeclaration;
  try {
    declaration = parseSipDeclaration(text);
  } catch (err) {
    if (err instanceof DeclarationError) throw new ConfigError(source, `${source} is invalid: ${err.message}`);
    throw err;
  }
  const waitRaw = value(env, 'SIP_SYNC_WAIT_SECONDS') ?? '300';
  const waitSeconds = Number(waitRaw);
  if (!/^\d+$/.test(waitRaw) || waitSeconds < 1 || waitSeconds > 3600) {
    throw new ConfigError('SIP_SYNC_WAIT_SECONDS', `SIP_SYNC_WAIT_SECONDS=${JSON.stringify(waitRaw)} is invalid: must be a whole number of seconds from 1 to 3600`);
  }
  const inbound = credential(env, 'SIP_INBOUND', declaration.inboundTrunk?.auth ?? false, 'inbound trunk');
  const outbound = credential(env, 'SIP_OUTBOUND', declaration.outboundTrunk?.auth ?? false, 'outbound trunk');
  return {
    declaration,
    credentials: { ...(inbound ? { inbound } : {}), ...(outbound ? { outbound } : {}) },
    livekit: {
      url: need(optional(env, 'LIVEKIT_URL'), 'LIVEKIT_URL', 'the http(s) base URL of the LiveKit API, e.g. http://127.0.0.1:7880'),
      apiKey: need(optional(env, 'LIVEKIT_API_KEY'), 'LIVEKIT_API_KEY', 'the LiveKit API key'),
      apiSecret: need(optional(env, 'LIVEKIT_API_SECRET'), 'LIVEKIT_API_SECRET', 'the LiveKit API secret'),
    },
    redis: {
      url: need(optional(env, 'REDIS_URL'), 'REDIS_URL', 'a redis:// or rediss:// URL (the lock that keeps two nodes from syncing at once)'),
      prefix: withDefault(env, 'QUEUE_PREFIX'),
    },
    waitSeconds,
  };
}
