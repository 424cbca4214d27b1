/**
 * How the plan's sessions per agent worker become the worker's own settings, so that the worker
 * takes exactly the sessions the plan counted on. Pure; shared by the deploy (components) and the
 * worker (agent/src/worker/capacity.ts).
 *
 * The worker reports load = max(CPU load, active sessions / AGENT_MAX_SESSIONS) and agents-js marks
 * it full at AGENT_LOAD_THRESHOLD (node_modules/@livekit/agents/src/worker.ts): it takes
 * ceil(threshold x AGENT_MAX_SESSIONS) sessions (fewer if its CPU gets there first). Setting
 * AGENT_MAX_SESSIONS to the planned sessions would leave 30% of the planned capacity unused.
 */

/** The load at which a worker refuses jobs: agents-js's production default (ServerOptions.loadThreshold). */
export const AGENT_LOAD_THRESHOLD = 0.7;

/** Sessions a worker takes before its session load reaches the threshold. */
export function sessionsAtThreshold(maxSessions: number, loadThreshold: number): number {
  // Small epsilon: 0.7 x 10 is 7.000000000000001 in floating point.
  return Math.max(1, Math.min(maxSessions, Math.ceil(loadThreshold * maxSessions - 1e-9)));
}

/** AGENT_MAX_SESSIONS for a worker that should take `plannedSessions` before it reports itself full. */
export function maxSessionsForPlanned(plannedSessions: number, loadThreshold: number = AGENT_LOAD_THRESHOLD): number {
  if (!Number.isInteger(plannedSessions) || plannedSessions < 1) throw new Error(`plannedSessions must be a whole number >= 1, got ${plannedSessions}`);
  if (!(loadThreshold > 0 && loadThreshold <= 1)) throw new Error(`loadThreshold must be in (0, 1], got ${loadThreshold}`);
  // The largest maximum whose threshold share still rounds up to the planned sessions.
  let max = Math.max(plannedSessions, Math.floor(plannedSessions / loadThreshold + 1e-9));
  while (max > plannedSessions && sessionsAtThreshold(max, loadThreshold) > plannedSessions) max--;
  return max;
}

/**
 * The worker's session settings from the plan's sessions per worker, as the deploy writes them
 * (AWS user data, Kubernetes env): the threshold written out, and AGENT_MAX_SESSIONS such that the
 * worker reports itself full exactly at the planned sessions.
 */
export function agentSessionEnvironment(plannedSessions: number): { AGENT_MAX_SESSIONS: string; AGENT_LOAD_THRESHOLD: string } {
  return { AGENT_MAX_SESSIONS: String(maxSessionsForPlanned(plannedSessions)), AGENT_LOAD_THRESHOLD: String(AGENT_LOAD_THRESHOLD) };
}
