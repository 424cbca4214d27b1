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
 * that is what its heartbeat offers the dispatchers, decided from the load LiveKit last heard.
 * While it cannot take a new call (not registered, disconnected, draining, at the threshold) it
 * offers 0: the dispatchers admit calls against the sum of the offers and never more, so no call
 * is dispatched to a fleet LiveKit would find full.
 *
 * Why 0 and not "the calls it holds": a call's room_finished usually reaches the queue before the
 * worker's job process has exited, so an offer of its held calls would stay high for a moment
 * while the queue's active count drops, and the freed slot would be dispatched to a worker
 * LiveKit still sees as full (no job; DISPATCH_CONFIRM_SECONDS lost, then a retry). The price:
 * while one worker is full its calls still count as active, so the fleet admits that many fewer
 * elsewhere until it reports below its threshold again (within one 2.5 s status update).
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
  maxSessions: number;
}

/** The sessions the capacity heartbeat offers now. */
export function offeredSessions(s: WorkerCapacityState): number {
  if (!s.connected || s.draining || s.load >= s.loadThreshold) return 0;
  return sessionsAtThreshold(s.maxSessions, s.loadThreshold);
}
