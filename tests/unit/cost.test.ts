import { DEFAULT_CATALOG, priceUsage, withPriceOverrides } from '@voice-agent-infra/common';
import { describe, expect, it } from 'vitest';
import { parseStackConfig } from '../../components/config.js';
import { HOURS_PER_MONTH, audioGb, breakEvenMinutes, expectedAverage, priceDeployment } from '../../components/cost/price-deployment.js';
import { planDeployment } from '../../components/plan/plan.js';
import { buildStackReport } from '../../components/report.js';

const planFor = (values: Record<string, unknown>) => planDeployment(parseStackConfig(values));
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

describe('priceDeployment', () => {
  for (const minutes of [8_000, 15_000, 50_000, 250_000]) {
    it(`lines sum to the totals and perMinuteUsd = monthlyUsd / minutes (${minutes} min)`, () => {
      const cost = priceDeployment(planFor({ monthlyMinutes: minutes }), DEFAULT_CATALOG);
      expect(sum(cost.lines.map((l) => l.monthlyUsd))).toBeCloseTo(cost.monthlyUsd, 9);
      expect(sum(cost.lines.filter((l) => l.category === 'infra').map((l) => l.monthlyUsd))).toBeCloseTo(cost.infraMonthlyUsd, 9);
      expect(cost.infraMonthlyUsd + cost.providersMonthlyUsd).toBeCloseTo(cost.monthlyUsd, 9);
      expect(cost.perMinuteUsd).toBeCloseTo(cost.monthlyUsd / minutes, 12);
      for (const l of cost.lines) {
        if (!l.item.startsWith('Data transfer')) expect(l.monthlyUsd).toBeCloseTo(l.quantity * l.unitUsd, 9);
      }
    });
  }

  it('every catalog entry used has a source and a date', () => {
    for (const minutes of [15_000, 50_000, 250_000]) {
      const cost = priceDeployment(planFor({ monthlyMinutes: minutes, capacity: { redisEngine: 'valkey' } }), DEFAULT_CATALOG);
      const keys = new Set([...cost.lines.map((l) => l.priceKey), ...cost.pricesUsed.map((p) => p.key)]);
      for (const key of keys) {
        const entry = DEFAULT_CATALOG[key];
        expect(entry, key).toBeDefined();
        expect(entry!.source.length, key).toBeGreaterThan(5);
        expect(entry!.date, key).toMatch(/^\d{4}-\d{2}/);
      }
    }
  });

  it('a price override changes exactly the lines that use it', () => {
    const base = priceDeployment(planFor({ monthlyMinutes: 50_000 }), DEFAULT_CATALOG);
    const overridden = priceDeployment(planFor({ monthlyMinutes: 50_000, pricing: { 'aws.ec2.c7i.xlarge': 0.5 } }), DEFAULT_CATALOG);
    expect(overridden.lines).toHaveLength(base.lines.length);
    const changed = overridden.lines.filter((l, i) => l.monthlyUsd !== base.lines[i]!.monthlyUsd).map((l) => l.priceKey);
    expect(changed).toEqual(['aws.ec2.c7i.xlarge']);
    expect(overridden.pricesUsed.find((p) => p.key === 'aws.ec2.c7i.xlarge')).toMatchObject({ value: 0.5, source: 'stack config override' });
    const delta = overridden.monthlyUsd - base.monthlyUsd;
    expect(delta).toBeCloseTo((0.5 - 0.1785) * HOURS_PER_MONTH, 6); // one c7i.xlarge agent worker
  });

  it('small prices one instance all month; large prices autoscaled groups at the expected average', () => {
    const small = priceDeployment(planFor({ monthlyMinutes: 15_000 }), DEFAULT_CATALOG);
    const ec2 = small.lines.filter((l) => l.priceKey.startsWith('aws.ec2.'));
    expect(ec2).toHaveLength(1);
    expect(ec2[0]!.quantity).toBe(730);
    expect(small.lines.some((l) => l.priceKey.startsWith('aws.nlb'))).toBe(false);

    const plan = planFor({ monthlyMinutes: 600_000, capacity: { expectedScaleOutShare: 0.25 } });
    expect(plan.agents.workers.max).toBeGreaterThan(plan.agents.workers.min);
    const cost = priceDeployment(plan, DEFAULT_CATALOG);
    const workers = cost.lines.find((l) => l.item.includes('agent workers'))!;
    expect(workers.quantity).toBeCloseTo(expectedAverage(plan.agents.workers, 0.25) * 730, 9);
    const redis = cost.lines.find((l) => l.item.startsWith('ElastiCache'))!;
    expect(redis.quantity).toBe(2 * 730);
  });

  it('provider lines are the shared usage pricing times the calls in the month', () => {
    const plan = planFor({ monthlyMinutes: 40_000, traffic: { avgCallMinutes: 5 } });
    const cost = priceDeployment(plan, DEFAULT_CATALOG);
    const perCall = priceUsage(plan.usagePerCall, plan.providers, DEFAULT_CATALOG);
    const providers = cost.lines.filter((l) => l.category === 'providers');
    expect(providers.map((l) => l.item)).toEqual(perCall.map((l) => l.item));
    expect(cost.providersMonthlyUsd).toBeCloseTo(sum(perCall.map((l) => l.usd)) * 8_000, 6);
    // STT: every call-minute is streamed at the catalog price.
    expect(providers.find((l) => l.item.startsWith('STT'))!.monthlyUsd).toBeCloseTo(40_000 * 0.0077, 9);
  });

  it('data transfer: the free allowance first, then the tiered price', () => {
    expect(audioGb(1000, 80)).toBeCloseTo((1000 * 60 * 80_000) / 8 / 1e9, 12);
    const under = priceDeployment(planFor({ monthlyMinutes: 50_000 }), DEFAULT_CATALOG);
    expect(under.lines.find((l) => l.item.startsWith('Data transfer out'))!.monthlyUsd).toBe(0);
    const over = priceDeployment(planFor({ monthlyMinutes: 1_000_000 }), DEFAULT_CATALOG);
    const gb = audioGb(1_000_000, 90) - 100;
    expect(over.lines.find((l) => l.item.startsWith('Data transfer out'))!.monthlyUsd).toBeCloseTo(gb * 0.09, 6);
  });

  it('managed platforms: same minutes, Vapi adds the same providers, break-even solves the cost lines', () => {
    const plan = planFor({ monthlyMinutes: 50_000 });
    const cost = priceDeployment(plan, DEFAULT_CATALOG);
    const names = cost.managed.map((m) => m.platform);
    expect(names).toEqual(expect.arrayContaining(['Vapi', 'Retell', 'Bland', 'Managed, all-in (article, low)', 'Managed, all-in (article, high)']));
    const providersPerMinute = cost.providersMonthlyUsd / 50_000;
    const vapi = cost.managed.find((m) => m.platform === 'Vapi')!;
    const extraLines = Math.max(0, plan.capacity.spike.sessions - 10) * 10;
    expect(vapi.monthlyUsd).toBeCloseTo(50_000 * (0.05 + providersPerMinute) + extraLines, 6);
    for (const m of cost.managed) {
      expect(m.perMinuteUsd).toBeCloseTo(m.monthlyUsd / 50_000, 12);
    }
    const article = cost.managed.find((m) => m.platform === 'Managed, all-in (article, low)')!;
    expect(article.monthlyUsd).toBeCloseTo(0.23 * 50_000, 9);
  });

  it('break-even: 0 when always cheaper, null when never, else the first minute where self-hosting wins', () => {
    const linear = (selfFixed: number, selfRate: number, fixed: number, rate: number) => (m: number) => fixed + rate * m - (selfFixed + selfRate * m);
    expect(breakEvenMinutes(linear(100, 0.05, 0, 0.15))).toBe(1000);
    expect(breakEvenMinutes(linear(100, 0.2, 0, 0.15))).toBeNull();
    expect(breakEvenMinutes(linear(100, 0.05, 500, 0.15))).toBe(0);
  });

  it('break-even holds against platforms whose fees change with volume (Bland plans, Vapi lines)', () => {
    for (const stack of [{ monthlyMinutes: 15_000 }, { monthlyMinutes: 250_000, traffic: { spikeMultiplier: 4 } }]) {
      const plan = planFor(stack);
      const cost = priceDeployment(plan, DEFAULT_CATALOG);
      const selfAt = (m: number) => cost.infraMonthlyUsd + (cost.providersMonthlyUsd / plan.assumptions.monthlyMinutes) * m;
      for (const name of ['Bland', 'Vapi']) {
        const breakEven = cost.managed.find((m) => m.platform === name)!.breakEvenMinutes;
        expect(breakEven, name).not.toBeNull();
        expect(breakEven!, name).toBeGreaterThan(0);
        // Re-price the platform by planning the same stack at the break-even volume and one minute below.
        const platformAt = (m: number) =>
          priceDeployment(planFor({ ...stack, monthlyMinutes: m, tier: plan.tier }), DEFAULT_CATALOG).managed.find((x) => x.platform === name)!.monthlyUsd;
        expect(selfAt(breakEven!)).toBeLessThanOrEqual(platformAt(breakEven!) + 1e-6);
        expect(selfAt(breakEven! - 1)).toBeGreaterThan(platformAt(breakEven! - 1));
      }
    }
  });

  it('overrides are validated against the catalog', () => {
    expect(() => withPriceOverrides(DEFAULT_CATALOG, { 'nope.key': 1 })).toThrow(/unknown price key "nope.key"/);
  });
});

describe('stack report', () => {
  it('warns under 10,000 minutes that a managed platform may be cheaper, with the break-even', () => {
    const { report } = buildStackReport(null, parseStackConfig({ monthlyMinutes: 5_000 }));
    expect(report.warnings.join('\n')).toMatch(/under 10,000 minutes a month a managed platform may be cheaper: .* break-even at [\d,]+ minutes\/month/);
    const { report: big } = buildStackReport(null, parseStackConfig({ monthlyMinutes: 50_000 }));
    expect(big.warnings.join('\n')).not.toMatch(/managed platform may be cheaper/);
  });
});
