import { describe, expect, it } from 'vitest';
import { AGENT_LOAD_THRESHOLD, agentSessionEnvironment, maxSessionsForPlanned, sessionsAtThreshold } from '@voice-agent-infra/common';

describe("the worker's settings from the plan's sessions per worker", () => {
  it.each([0.5, 0.6, AGENT_LOAD_THRESHOLD, 0.8, 0.9, 1])('a worker takes exactly the planned sessions before it is full (threshold %s), at the largest such maximum', (threshold) => {
    for (let planned = 1; planned <= 500; planned++) {
      const max = maxSessionsForPlanned(planned, threshold);
      expect(sessionsAtThreshold(max, threshold), `${planned} at ${threshold}`).toBe(planned);
      expect(sessionsAtThreshold(max + 1, threshold), `${planned} at ${threshold}`).toBeGreaterThan(planned);
    }
  });

  it("LiveKit's 25 sessions per 4 vCPU at the 0.7 threshold: AGENT_MAX_SESSIONS 35, not 25 (which would take 18)", () => {
    expect(agentSessionEnvironment(25)).toEqual({ AGENT_MAX_SESSIONS: '35', AGENT_LOAD_THRESHOLD: '0.7' });
    expect(sessionsAtThreshold(25, AGENT_LOAD_THRESHOLD)).toBe(18);
  });

  it('refuses a planned count or threshold that cannot be', () => {
    expect(() => maxSessionsForPlanned(0)).toThrow(/whole number >= 1/);
    expect(() => maxSessionsForPlanned(2.5)).toThrow(/whole number >= 1/);
    expect(() => maxSessionsForPlanned(10, 0)).toThrow(/loadThreshold/);
  });
});
