import { describe, expect, it } from 'vitest';
import { erlangB, erlangC, erlangResult, sessionsForServiceLevel } from '../../components/plan/erlang.js';

describe('Erlang C', () => {
  it('reproduces the published vector (A = 10, N = 14, t = 20 s, AHT = 180 s)', () => {
    const r = erlangResult(10, 14, 20, 180);
    expect(r.probabilityOfWait).toBeCloseTo(0.1741319, 7);
    expect(r.serviceLevel).toBeCloseTo(0.88835, 5);
    expect(r.averageSpeedOfAnswerSeconds).toBeCloseTo(7.836, 3);
    expect(r.occupancy).toBeCloseTo(0.714, 3);
  });

  it('agrees with the factorial formula where factorials are still exact', () => {
    const factorialC = (a: number, n: number) => {
      let sum = 0;
      let term = 1;
      for (let k = 0; k < n; k++) {
        if (k > 0) term *= a / k;
        sum += term;
      }
      const top = term * (a / n) * (n / (n - a));
      return top / (sum + top);
    };
    for (const [a, n] of [[1, 2], [2.5, 4], [7.3, 11], [20, 25]] as const) {
      expect(erlangC(a, n)).toBeCloseTo(factorialC(a, n), 10);
    }
  });

  it('stays finite for thousands of Erlangs, where factorials overflow', () => {
    const r = sessionsForServiceLevel(4000, 20, 180, 0.95);
    expect(Number.isFinite(r.probabilityOfWait)).toBe(true);
    expect(r.sessions).toBeGreaterThan(4000);
    // Square-root staffing: the safety margin grows like sqrt(A), not like A.
    expect(r.sessions).toBeLessThan(4000 + 10 * Math.sqrt(4000));
    expect(r.serviceLevel).toBeGreaterThanOrEqual(0.95);
  });

  it('service level rises with N, P(wait) falls, and N > A (property, loads up to several thousand)', () => {
    let seed = 42;
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 40; i++) {
      const load = 0.05 + random() * 5000;
      const start = Math.floor(load) + 1;
      let previous = erlangResult(load, start, 20, 180);
      for (let n = start + 1; n < start + 60; n++) {
        const r = erlangResult(load, n, 20, 180);
        expect(r.serviceLevel).toBeGreaterThanOrEqual(previous.serviceLevel - 1e-12);
        expect(r.probabilityOfWait).toBeLessThanOrEqual(previous.probabilityOfWait + 1e-12);
        expect(r.probabilityOfWait).toBeGreaterThanOrEqual(0);
        expect(r.probabilityOfWait).toBeLessThanOrEqual(1);
        previous = r;
      }
      const chosen = sessionsForServiceLevel(load, 20, 180, 0.9);
      expect(chosen.sessions).toBeGreaterThan(load);
      expect(chosen.serviceLevel).toBeGreaterThanOrEqual(0.9);
      if (chosen.sessions - 1 > load) {
        expect(erlangResult(load, chosen.sessions - 1, 20, 180).serviceLevel).toBeLessThan(0.9);
      }
    }
  });

  it('picks the smallest N reaching the target on the published case', () => {
    // N = 14 gives 88.8% within 20 s; 15 gives more: a 90% target needs 15, 85% needs 14.
    expect(sessionsForServiceLevel(10, 20, 180, 0.85).sessions).toBe(14);
    expect(sessionsForServiceLevel(10, 20, 180, 0.9).sessions).toBe(15);
  });

  it('Erlang B recursion starts at 1 and decreases with N', () => {
    expect(erlangB(5, 0)).toBe(1);
    expect(erlangB(5, 5)).toBeLessThan(erlangB(5, 4));
  });

  it('rejects N <= A and non-positive loads', () => {
    expect(() => erlangC(10, 10)).toThrow(/sessions > load/);
    expect(() => sessionsForServiceLevel(0, 20, 180, 0.9)).toThrow(/offered load/);
  });
});
