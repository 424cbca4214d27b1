import { describe, expect, it } from 'vitest';
import { ConfigError, parseStackConfig } from '../../components/config.js';
import { busyHourErlangs, expectedUsagePerCall, planDeployment, tierForMinutes } from '../../components/plan/plan.js';

const plan = (values: Record<string, unknown>) => planDeployment(parseStackConfig(values));

describe('planDeployment', () => {
  it.each([
    [24_999, 'small'],
    [25_000, 'mid'],
    [100_000, 'mid'],
    [100_001, 'large'],
  ])('tier edge: %i minutes -> %s', (minutes, tier) => {
    expect(tierForMinutes(minutes)).toBe(tier);
    expect(plan({ monthlyMinutes: minutes }).tier).toBe(tier);
  });

  it('computes the busy-hour load as minutes x share / days / 60', () => {
    const config = parseStackConfig({ monthlyMinutes: 50_000, traffic: { busyHourShare: 0.1, businessDaysPerMonth: 20 } });
    expect(busyHourErlangs(config.traffic, config.monthlyMinutes)).toBeCloseTo((50_000 * 0.1) / 20 / 60, 12);
    const p = planDeployment(config);
    expect(p.capacity.busyHour.erlangs).toBeCloseTo(50_000 * 0.1 / 20 / 60, 12);
    expect(p.capacity.spike.erlangs).toBeCloseTo(p.capacity.busyHour.erlangs * config.traffic.spikeMultiplier, 12);
  });

  it('sizes sessions by Erlang C at the busy hour and the spike, meeting the service level', () => {
    const p = plan({ monthlyMinutes: 250_000 });
    for (const load of [p.capacity.busyHour, p.capacity.spike]) {
      expect(load.sessions).toBeGreaterThan(load.erlangs);
      expect(load.serviceLevel).toBeGreaterThanOrEqual(0.99);
    }
    expect(p.capacity.spike.sessions).toBeGreaterThan(p.capacity.busyHour.sessions);
  });

  it('sizes agent workers from sessions per worker: min at the busy hour, max at the spike', () => {
    const p = plan({ monthlyMinutes: 600_000, traffic: { spikeMultiplier: 3 } });
    expect(p.agents.sessionsPerWorker).toBe(25); // 4 vCPU x 6.25, LiveKit's 25 per 4 vCPU / 8 GB
    expect(p.agents.workers.min).toBe(Math.max(2, Math.ceil(p.capacity.busyHour.sessions / 25)));
    expect(p.agents.workers.max).toBe(Math.ceil(p.capacity.spike.sessions / 25));
  });

  it('lowers sessions per worker when memory, not CPU, is the limit', () => {
    const p = plan({ monthlyMinutes: 50_000, capacity: { memoryGiBPerSession: 0.5 } });
    expect(p.agents.sessionsPerWorker).toBe(16); // 8 GiB / 0.5
  });

  it('small: one box runs LiveKit, Redis and the agent; no load balancer, local Redis', () => {
    const p = plan({ monthlyMinutes: 15_000 });
    expect(p.agents.colocatedWithLivekit).toBe(true);
    expect(p.agents.workers).toEqual({ min: 1, max: 1 });
    expect(p.livekit.nodes).toEqual({ min: 1, max: 1 });
    expect(p.loadBalancer).toBe(false);
    expect(p.redis.mode).toBe('local');
    // 4 vCPU less 1 reserved, x 6.25 = 18 sessions.
    expect(p.agents.sessionsPerWorker).toBe(18);
  });

  it('small that does not fit: promoted to mid with a warning, or an error when small was asked for', () => {
    const promoted = plan({ monthlyMinutes: 20_000, traffic: { spikeMultiplier: 12 } });
    expect(promoted.tier).toBe('mid');
    expect(promoted.warnings.join()).toMatch(/planned as mid, not small: the spike needs \d+ concurrent sessions/);
    expect(() => plan({ monthlyMinutes: 20_000, tier: 'small', traffic: { spikeMultiplier: 12 } })).toThrow(ConfigError);
    expect(() => plan({ monthlyMinutes: 20_000, tier: 'small', traffic: { spikeMultiplier: 12 } })).toThrow(/^tier = "small": does not fit/);
  });

  it('mid: one LiveKit node with an NLB, local Redis; large: two or more nodes, managed Redis with a replica', () => {
    const mid = plan({ monthlyMinutes: 50_000 });
    expect(mid.livekit.nodes).toEqual({ min: 1, max: 1 });
    expect(mid.loadBalancer).toBe(true);
    expect(mid.loadBalancerRoles).toEqual(['signalling', 'turn-tls']);
    expect(mid.redis.mode).toBe('local');
    const large = plan({ monthlyMinutes: 250_000 });
    expect(large.livekit.nodes.min).toBeGreaterThanOrEqual(2);
    expect(large.capacity.spike.sessions).toBeLessThanOrEqual(100);
    expect(large.redis).toEqual({ mode: 'managed', nodeType: 'cache.t4g.small', replicas: 1, engine: 'redis' });
    const busier = plan({ monthlyMinutes: 250_000, traffic: { spikeMultiplier: 4 }, capacity: { redisEngine: 'valkey' } });
    expect(busier.capacity.spike.sessions).toBeGreaterThan(100);
    expect(busier.redis).toMatchObject({ nodeType: 'cache.t4g.medium', engine: 'valkey' });
  });

  it('large LiveKit nodes follow participants: two per call', () => {
    const p = plan({ monthlyMinutes: 6_000_000 });
    expect(p.capacity.spike.sessions).toBeGreaterThan(1000);
    const perNode = Math.floor((8 * 50) / 2);
    expect(p.livekit.callsPerNode).toBe(perNode);
    expect(p.livekit.nodes.max).toBe(Math.ceil(p.capacity.spike.sessions / perNode));
    expect(p.redis.nodeType).toBe('cache.m7g.large');
  });

  it('mid that needs more than one LiveKit node is promoted to large', () => {
    const p = plan({ monthlyMinutes: 90_000, traffic: { spikeMultiplier: 40 } });
    expect(p.tier).toBe('large');
    expect(p.warnings.join()).toMatch(/planned as large, not mid/);
  });

  it('graviton picks c7g instances', () => {
    const p = plan({ monthlyMinutes: 50_000, capacity: { instanceFamily: 'graviton' } });
    expect(p.agents.instanceType).toBe('c7g.xlarge');
    expect(p.livekit.instanceType).toBe('c7g.2xlarge');
    expect(p.agents.architecture).toBe('arm64');
  });

  it('rejects an unknown or too small instance type naming the key', () => {
    expect(() => plan({ monthlyMinutes: 50_000, capacity: { agentInstanceType: 'z9.mega' } })).toThrow(/^capacity.agentInstanceType = "z9.mega": unknown instance type/);
    expect(() => plan({ monthlyMinutes: 50_000, capacity: { livekitInstanceType: 'q1' } })).toThrow(/^capacity.livekitInstanceType/);
    expect(() => plan({ monthlyMinutes: 50_000, capacity: { agentInstanceType: 't3.small' } })).toThrow(
      /^capacity.agentInstanceType = "t3.small": too small for an agent worker \(2 vCPU \/ 2 GiB\); needs at least 2 vCPU \/ 4 GiB/,
    );
  });

  it('LLM input grows with the history re-sent every turn', () => {
    const config = parseStackConfig({
      monthlyMinutes: 10_000,
      traffic: { avgCallMinutes: 2 },
      usage: { turnsPerMinute: 2, systemPromptTokens: 1000, userTokensPerTurn: 10, agentTokensPerTurn: 40, complexTurnShare: 0 },
    });
    // 4 turns: each sends system + user + the previous turns (50 tokens each): 1010, 1060, 1110, 1160.
    const usage = expectedUsagePerCall(config);
    expect(usage.llm).toEqual([{ model: 'gpt-4o-mini', inputTokens: 1010 + 1060 + 1110 + 1160, outputTokens: 160 }]);
  });

  it('a long call costs more input tokens per minute than a short one', () => {
    const perMinute = (avgCallMinutes: number) => {
      const config = parseStackConfig({ monthlyMinutes: 10_000, traffic: { avgCallMinutes } });
      return expectedUsagePerCall(config).llm.reduce((a, m) => a + m.inputTokens, 0) / avgCallMinutes;
    };
    expect(perMinute(8)).toBeGreaterThan(perMinute(2) * 1.5);
  });

  it('default usage lands in the reference range: ~12-16k input and 300-750 output tokens a minute', () => {
    const config = parseStackConfig({ monthlyMinutes: 10_000, traffic: { avgCallMinutes: 4.5 } });
    const usage = expectedUsagePerCall(config);
    const input = usage.llm.reduce((a, m) => a + m.inputTokens, 0) / 4.5;
    const output = usage.llm.reduce((a, m) => a + m.outputTokens, 0) / 4.5;
    expect(input).toBeGreaterThan(12_000);
    expect(input).toBeLessThan(16_500);
    expect(output).toBeGreaterThanOrEqual(300);
    expect(output).toBeLessThanOrEqual(750);
  });

  it('TTS characters exclude the cached share when the image carries a phrase cache', () => {
    const usage = expectedUsagePerCall(parseStackConfig({ monthlyMinutes: 10_000, usage: { ttsCacheHitRatio: 0.25, phraseCacheDeployed: true } }));
    const spoken = 4 * 0.45 * 150 * 5.7;
    expect(usage.ttsCharacters).toBeCloseTo(spoken * 0.75, 9);
    expect(usage.cachedTtsCharacters).toBeCloseTo(spoken * 0.25, 9);
  });

  it('counts no phrase-cache hits until the deploy carries a cache, and says so', () => {
    const config = { monthlyMinutes: 10_000, usage: { ttsCacheHitRatio: 0.25 } };
    const usage = expectedUsagePerCall(parseStackConfig(config));
    expect(usage.ttsCharacters).toBeCloseTo(4 * 0.45 * 150 * 5.7, 9);
    expect(usage.cachedTtsCharacters).toBe(0);
    expect(plan(config).warnings.find((w) => w.includes('phrase-cache'))).toMatch(/counts no phrase-cache hits \(usage\.ttsCacheHitRatio 0\.25 is not applied\).*usage\.phraseCacheDeployed: true/);
    // Declared deployed: counted, and no warning.
    expect(plan({ ...config, usage: { ...config.usage, phraseCacheDeployed: 'true' } }).warnings.some((w) => w.includes('phrase-cache'))).toBe(false);
  });

  it('LLM rate limits at spike concurrency, with a warning at 100 concurrent calls', () => {
    const p = plan({ monthlyMinutes: 250_000, traffic: { spikeMultiplier: 4 } });
    expect(p.llmRateLimits.requestsPerMinute).toBe(Math.ceil(p.capacity.spike.sessions * 6));
    expect(p.llmRateLimits.tokensPerMinute).toBeGreaterThan(p.llmRateLimits.requestsPerMinute * 1300);
    expect(p.capacity.spike.sessions).toBeGreaterThanOrEqual(100);
    expect(p.warnings.join()).toMatch(/LLM rate limits at the spike/);
    expect(plan({ monthlyMinutes: 15_000 }).warnings.join()).not.toMatch(/LLM rate limits/);
  });
});
