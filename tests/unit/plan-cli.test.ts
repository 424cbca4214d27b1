import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

/** Runs `npm run plan -- ...` the way a user does (through tsx), without cloud credentials. */
function plan(...args: string[]) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_')));
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/plan.ts', ...args], { encoding: 'utf8', env });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const CONTRACT_KEYS = ['stack', 'tier', 'target', 'assumptions', 'capacity', 'livekit', 'agents', 'redis', 'loadBalancer', 'llmRateLimits', 'cost', 'warnings'];

describe('npm run plan', { timeout: 60_000 }, () => {
  it('--stack mid --json prints the JSON contract', () => {
    const r = plan('--stack', 'mid', '--json');
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(Object.keys(json)).toEqual(expect.arrayContaining(CONTRACT_KEYS));
    expect(json.stack).toBe('mid');
    expect(json.tier).toBe('mid');
    expect(Object.keys(json.assumptions).sort()).toEqual(
      ['avgCallMinutes', 'businessDaysPerMonth', 'busyHourShare', 'maxWaitSeconds', 'monthlyMinutes', 'serviceLevel', 'spikeMultiplier'].sort(),
    );
    for (const load of ['busyHour', 'spike']) {
      expect(Object.keys(json.capacity[load]).sort()).toEqual(['averageSpeedOfAnswerSeconds', 'erlangs', 'probabilityOfWait', 'serviceLevel', 'sessions']);
    }
    expect(json.livekit).toMatchObject({ instanceType: expect.any(String), vcpu: 8, memoryGiB: 16, nodes: { min: 1, max: 1 } });
    expect(json.agents).toMatchObject({ instanceType: expect.any(String), sessionsPerWorker: 25, workers: { min: expect.any(Number), max: expect.any(Number) } });
    expect(json.redis).toEqual({ mode: 'local', nodeType: null, replicas: 0 });
    expect(json.loadBalancer).toBe(true);
    expect(json.llmRateLimits).toMatchObject({ requestsPerMinute: expect.any(Number), tokensPerMinute: expect.any(Number) });
    expect(Object.keys(json.cost)).toEqual(expect.arrayContaining(['monthlyUsd', 'perMinuteUsd', 'infraMonthlyUsd', 'providersMonthlyUsd', 'lines', 'managed']));
    for (const line of json.cost.lines) expect(Object.keys(line).sort()).toEqual(['basis', 'item', 'monthlyUsd', 'quantity', 'unitUsd']);
    for (const m of json.cost.managed) expect(Object.keys(m).sort()).toEqual(['breakEvenMinutes', 'monthlyUsd', 'perMinuteUsd', 'platform']);
    expect(json.cost.perMinuteUsd).toBeCloseTo(json.cost.monthlyUsd / 50_000, 12);
  });

  it('--minutes with traffic flags plans without a stack (stack null)', () => {
    const r = plan('--minutes', '50000', '--avg-call-minutes', '3', '--business-days', '20', '--busy-hour-share', '0.15', '--spike-multiplier', '2', '--max-wait-seconds', '10', '--service-level', '0.95', '--json');
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json.stack).toBeNull();
    expect(json.assumptions).toEqual({ monthlyMinutes: 50000, avgCallMinutes: 3, businessDaysPerMonth: 20, busyHourShare: 0.15, spikeMultiplier: 2, maxWaitSeconds: 10, serviceLevel: 0.95 });
    expect(json.capacity.busyHour.erlangs).toBeCloseTo((50000 * 0.15) / 20 / 60, 9);
  });

  it('flags override the stack file; --tier forces a tier', () => {
    const r = plan('--stack', 'small', '--tier', 'mid', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ stack: 'small', tier: 'mid', loadBalancer: true });
  });

  it('prints a readable plan by default', () => {
    const r = plan('--stack', 'large');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Stack large: tier large/);
    expect(r.stdout).toContain('Capacity (Erlang C)');
    expect(r.stdout).toContain('ElastiCache');
    expect(r.stdout).toMatch(/total\s+\$[\d,]+/);
    expect(r.stdout).toContain('Managed platforms at 250,000 min/month');
  });

  it.each([
    [['--minutes', '-5'], /^plan: --minutes "-5": must be > 0/],
    [['--minutes', '50000', '--tier', 'huge'], /^plan: --tier "huge": must be one of: small, mid, large/],
    [['--minutes', '50000', '--busy-hour-share', '1.5'], /^plan: --busy-hour-share "1.5": must be at most 1/],
    [['--minutes', 'many'], /^plan: --minutes "many": must be a number/],
    [['--minutes', '5000', '--bogus', '1'], /^plan: Unknown option '--bogus'/],
    [['--stack', 'nope'], /^plan: --stack "nope": no stack file/],
    [[], /^plan: --stack or --minutes is required/],
  ])('bad input %j -> exit 2, one line naming the flag, no stack trace', (args, message) => {
    const r = plan(...args);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
