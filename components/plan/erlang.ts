/**
 * Erlang C, computed with the stable Erlang-B recursion (no factorials, no overflow): accurate for
 * offered loads in the thousands of Erlangs. Reference: reference/pricing-and-capacity.md.
 */

/** How a group of N concurrent sessions serves an offered load. */
export interface ErlangResult {
  /** Offered load A in Erlangs (busy-hour call-minutes / 60). */
  erlangs: number;
  /** Concurrent sessions (servers) N. */
  sessions: number;
  /** Probability a call has to wait (Erlang C). */
  probabilityOfWait: number;
  /** Share of calls answered within the target wait. */
  serviceLevel: number;
  /** Average speed of answer, seconds. */
  averageSpeedOfAnswerSeconds: number;
  /** A / N. */
  occupancy: number;
}

/** Erlang B blocking probability for load A on N servers: B(0) = 1, B(k) = A B(k-1) / (k + A B(k-1)). */
export function erlangB(erlangs: number, sessions: number): number {
  assertLoad(erlangs);
  let b = 1;
  for (let k = 1; k <= sessions; k++) b = (erlangs * b) / (k + erlangs * b);
  return b;
}

/** Erlang C probability of waiting from Erlang B: C = N B / (N - A (1 - B)); defined for N > A. */
export function erlangCFromB(erlangs: number, sessions: number, blocking: number): number {
  if (!(sessions > erlangs)) throw new RangeError(`Erlang C needs sessions > load (N=${sessions}, A=${erlangs})`);
  return (sessions * blocking) / (sessions - erlangs * (1 - blocking));
}

/** Erlang C P(wait) for load A on N servers (N > A). */
export function erlangC(erlangs: number, sessions: number): number {
  return erlangCFromB(erlangs, sessions, erlangB(erlangs, sessions));
}

/** Service level, ASA and occupancy for A on N with target wait t and handling time AHT. */
export function erlangResult(
  erlangs: number,
  sessions: number,
  targetWaitSeconds: number,
  averageHandlingSeconds: number,
  probabilityOfWait = erlangC(erlangs, sessions),
): ErlangResult {
  const spare = sessions - erlangs;
  return {
    erlangs,
    sessions,
    probabilityOfWait,
    serviceLevel: 1 - probabilityOfWait * Math.exp((-spare * targetWaitSeconds) / averageHandlingSeconds),
    averageSpeedOfAnswerSeconds: (probabilityOfWait * averageHandlingSeconds) / spare,
    occupancy: erlangs / sessions,
  };
}

/**
 * The smallest N > A whose service level reaches the target. Walks N upwards carrying Erlang B
 * along (one recursion step per N), so the whole search is O(N).
 */
export function sessionsForServiceLevel(
  erlangs: number,
  targetWaitSeconds: number,
  averageHandlingSeconds: number,
  targetServiceLevel: number,
): ErlangResult {
  assertLoad(erlangs);
  if (!(targetServiceLevel > 0 && targetServiceLevel < 1)) {
    throw new RangeError(`target service level must be in (0, 1), got ${targetServiceLevel}`);
  }
  if (!(averageHandlingSeconds > 0)) throw new RangeError(`handling time must be > 0, got ${averageHandlingSeconds}`);
  if (!(targetWaitSeconds >= 0)) throw new RangeError(`target wait must be >= 0, got ${targetWaitSeconds}`);
  let sessions = Math.floor(erlangs) + 1;
  let blocking = erlangB(erlangs, sessions);
  // Service level tends to 1 as N grows, so this ends; the cap only guards against a NaN loop.
  const cap = sessions + 20 * Math.ceil(Math.sqrt(erlangs)) + 1000;
  for (; sessions <= cap; sessions++, blocking = (erlangs * blocking) / (sessions + erlangs * blocking)) {
    const probabilityOfWait = erlangCFromB(erlangs, sessions, blocking);
    const result = erlangResult(erlangs, sessions, targetWaitSeconds, averageHandlingSeconds, probabilityOfWait);
    if (result.serviceLevel >= targetServiceLevel) return result;
  }
  throw new RangeError(`no session count up to ${cap} reaches service level ${targetServiceLevel} at ${erlangs} Erlangs`);
}

function assertLoad(erlangs: number): void {
  if (!(Number.isFinite(erlangs) && erlangs > 0)) throw new RangeError(`offered load must be a finite number > 0, got ${erlangs}`);
}
