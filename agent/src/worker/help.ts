/**
 * What `voice-agent --help` says about the agent role. Kept apart from the worker so the CLI's
 * other commands start without loading the agents framework.
 */
import { DEFAULTS } from '../config.js';
import { usableCpus } from './cpu.js';

/**
 * LiveKit's sizing: 25 concurrent voice sessions per 4 cores (reference livekit.md, "Capacity"),
 * on the CPUs this process may use: a container's cgroup CPU quota, not the host's core count.
 */
export function defaultMaxSessions(cores = usableCpus()): number {
  return Math.max(1, Math.floor((cores * 25) / 4));
}

/** The agent role's environment for `voice-agent --help`. */
export const AGENT_ENV_HELP: ReadonlyArray<readonly [string, string]> = [
  ['LIVEKIT_URL', 'required; ws(s):// or http(s):// URL of the LiveKit server'],
  ['LIVEKIT_API_KEY', 'required'],
  ['LIVEKIT_API_SECRET', 'required'],
  ['OPENAI_API_KEY', 'required (hosted LLMs)'],
  ['DEEPGRAM_API_KEY', 'required (STT)'],
  ['CARTESIA_API_KEY', 'required with the cartesia TTS (default); ELEVEN_API_KEY with elevenlabs or as fallback'],
  ['AGENT_NAME', `default ${DEFAULTS.AGENT_NAME} (explicit dispatch)`],
  ['AGENT_SPEC', 'default: the bundled agent/config/agents.yaml'],
  ['REDIS_URL', 'optional: capacity heartbeat and calls:records stream (queue mode)'],
  ['LOCAL_LLM_URL', 'optional: OpenAI-compatible local model for routine agents (LOCAL_LLM_MODEL)'],
  ['AGENT_MAX_SESSIONS', `default ${defaultMaxSessions()} here (25 per 4 usable cores, cgroup quota honoured)`],
  ['AGENT_LOAD_THRESHOLD', 'default 0.7 (of max(CPU, sessions / AGENT_MAX_SESSIONS))'],
  ['AGENT_HEALTH_PORT', 'default 8081; AGENT_METRICS_PORT default 9464'],
  ['PHRASE_CACHE_DIR', 'default agent/phrase-cache (npm run precache)'],
  ['ESCALATION_TRANSFER_TO', 'optional: number for SIP transfer to a person'],
  ['TOOLS_BACKEND_URL', 'optional: service the tools call (default: demo answers)'],
];
