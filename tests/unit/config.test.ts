import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configFromPulumi, configFromStackFile, parseStackConfig } from '../../components/config.js';
import { errorOf } from '../fixtures/config-error.js';

describe('stack config', () => {
  it('fills documented defaults from monthlyMinutes alone', () => {
    const c = parseStackConfig({ monthlyMinutes: 50000 });
    expect(c.target).toBe('aws');
    expect(c.traffic).toMatchObject({ avgCallMinutes: 4, businessDaysPerMonth: 21, busyHourShare: 0.1, spikeMultiplier: 3 });
    expect(c.capacity.sessionsPerAgentVcpu).toBe(6.25);
    expect(c.providers.llm).toBe('gpt-4o-mini');
    expect(c.usage.turnsPerMinute).toBe(6);
    expect(c.pricing).toEqual({});
  });

  it('keeps defaults of a section when only one of its keys is set', () => {
    const c = parseStackConfig({ monthlyMinutes: 1000, traffic: { spikeMultiplier: 5 } });
    expect(c.traffic.spikeMultiplier).toBe(5);
    expect(c.traffic.avgCallMinutes).toBe(4);
  });

  it('reads numbers written as strings, as `pulumi config set` stores them', () => {
    expect(parseStackConfig({ monthlyMinutes: '25000', traffic: { busyHourShare: '0.2' } }).traffic.busyHourShare).toBe(0.2);
  });

  it.each([
    [{ monthlyMinutes: -5 }, 'monthlyMinutes', /must be > 0/],
    [{}, 'monthlyMinutes', /must be a number/],
    [{ monthlyMinutes: 'lots' }, 'monthlyMinutes', /must be a number/],
    [{ monthlyMinutes: 1000, tier: 'huge' }, 'tier', /small, mid, large/],
    [{ monthlyMinutes: 1000, traffic: { busyHourShare: 1.5 } }, 'traffic.busyHourShare', /at most 1/],
    [{ monthlyMinutes: 1000, traffic: { serviceLevel: 1 } }, 'traffic.serviceLevel', /< 1/],
    [{ monthlyMinutes: 1000, providers: { tts: 'espeak' } }, 'providers.tts', /cartesia-sonic/],
    [{ monthlyMinutes: 1000, pricing: { 'aws.ec2.x1.huge': 1 } }, 'pricing.aws.ec2.x1.huge', /unknown price key/],
  ])('rejects %j naming the key', (values, key, allowed) => {
    const error = errorOf(() => parseStackConfig(values as Record<string, unknown>));
    expect(error.key).toBe(key);
    expect(error.message).toMatch(allowed);
    expect(error.message.split('\n')).toHaveLength(1);
  });

  it('rejects unknown keys by name, listing what is allowed there', () => {
    const top = errorOf(() => parseStackConfig({ monthlyMinutes: 1000, monthlyMinuets: 5 }));
    expect(top.key).toBe('monthlyMinuets');
    expect(top.message).toMatch(/unknown key; allowed here: monthlyMinutes, tier, target/);
    const nested = errorOf(() => parseStackConfig({ monthlyMinutes: 1000, traffic: { busyHour: 0.1 } }));
    expect(nested.key).toBe('traffic.busyHour');
    expect(nested.message).toMatch(/busyHourShare/);
    expect(nested.message).toContain('0.1');
  });

  it('reads Pulumi config (namespaced, objects as JSON text) and ignores other namespaces', () => {
    const c = configFromPulumi({
      'voice-agent-infra:monthlyMinutes': '120000',
      'voice-agent-infra:traffic': JSON.stringify({ avgCallMinutes: 6 }),
      'aws:region': 'eu-west-1',
    });
    expect(c.monthlyMinutes).toBe(120000);
    expect(c.traffic.avgCallMinutes).toBe(6);
  });

  it('loads every example stack with the one schema', () => {
    for (const stack of ['small', 'mid', 'large']) {
      const c = configFromStackFile(readFileSync(`stacks/Pulumi.${stack}.yaml`, 'utf8'));
      expect(c.monthlyMinutes).toBeGreaterThan(0);
    }
  });

  it('refuses secrets where plain sizing values belong', () => {
    const yaml = 'config:\n  voice-agent-infra:monthlyMinutes:\n    secure: AAABAGx\n';
    expect(() => configFromStackFile(yaml)).toThrow(/must not be a secret/);
  });
});
