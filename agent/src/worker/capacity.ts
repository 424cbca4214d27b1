/**
 * What an agent worker tells LiveKit (its load) and the dispatchers (its capacity heartbeat), so
 * that both agree. Pure.
 *
 * LiveKit routes a job to an available worker at random weighted by (1 - load) and skips a
 * worker whose status is WS_FULL; agents-js reports WS_FULL when load >= loadThreshold
 * (node_modules/@livekit/agents/src/worker.ts, every 2.5 s; livekit/livekit
 * pkg/service/agentservice.go selectWorkerWeightedByLoad). LiveKit counts no jobs of its own,
 * so the load must carry the session count:
 *
 *   load = max(CPU load, active jobs / maxSessions)
 *
 * The worker is then full at ceil(loadThreshold x maxSessions) calls (or earlier, on CPU), and
 * that is what its heartbeat offers the dispatchers. While it cannot take a new call (not
 * registered, disconnected, draining, at the threshold) it offers only the calls it holds, so
 * it adds nothing free to the fleet: the dispatchers admit calls against the sum of the offers
 * and never more, and no call is dispatched to a worker LiveKit would not pick.
 */

/** The load agents-js reports to LiveKit (0..1). */
export function workerLoad(cpuLoad: number, activeJobs: number, maxSessions: number): number {
  const sessions = maxSessions > 0 ? activeJobs / maxSessions : 1;
  return Math.min(1, Math.max(0, cpuLoad, sessions));
}

/** Calls a worker takes before its session load reaches the threshold (agents-js: full when load >= threshold). */
export function sessionsAtThreshold(maxSessions: number, loadThreshold: number): number {
  // Small epsilon: 0.7 x 10 is 7.000000000000001 in floating point.
  return Math.max(1, Math.min(maxSessions, Math.ceil(loadThreshold * maxSessions - 1e-9)));
}

export interface WorkerCapacityState {
  /** Registered with LiveKit and its connection is live. */
  connected: boolean;
  draining: boolean;
  /** The load last reported to LiveKit. */
  load: number;
  loadThreshold: number;
  activeJobs: number;
  maxSessions: number;
}

/** The sessions the capacity heartbeat offers now. */
export function offeredSessions(s: WorkerCapacityState): number {
  const held = Math.min(s.activeJobs, s.maxSessions);
  if (!s.connected || s.draining || s.load >= s.loadThreshold) return held;
  return Math.max(held, sessionsAtThreshold(s.maxSessions, s.loadThreshold));
}

/** The sessions beyond the calls it holds (0 whenever LiveKit would not send it a job). */
export function freeSessions(s: WorkerCapacityState): number {
  return offeredSessions(s) - Math.min(s.activeJobs, s.maxSessions);
}
