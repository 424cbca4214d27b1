import { DEFAULT_CATALOG } from '@voice-agent-infra/common';
import { describe, expect, it } from 'vitest';
import { parseStackConfig } from '../../components/config.js';
import { audioGb, expectedAverage, priceDeployment } from '../../components/cost/price-deployment.js';
import { planDeployment } from '../../components/plan/plan.js';
import { crossNodeSipShare } from '../../components/sip/plan.js';

const TIERS = { small: 15_000, mid: 60_000, large: 400_000 } as const;
const cost = (minutes: number, sip: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => {
  const plan = planDeployment(parseStackConfig({ monthlyMinutes: minutes, sip, ...extra }));
  return { plan, cost: priceDeployment(plan, DEFAULT_CATALOG) };
};
const SIP_LINE = 'SIP media between LiveKit nodes';
/** The SIP credentials secret (components/aws/secrets.ts): one Secrets Manager entry a month. */
const SECRET_MONTH_USD = DEFAULT_CATALOG['aws.secretsmanager.secret-month']!.value;
const secrets = (c: ReturnType<typeof cost>['cost']) => c.lines.find((l) => l.priceKey === 'aws.secretsmanager.secret-month')!.quantity;

describe('what SIP adds to the plan and its cost', () => {
  it.each(Object.entries(TIERS))('%s: the plan places SIP beside LiveKit and says how the provider reaches it', (tier, minutes) => {
    const { plan } = cost(minutes, { numbers: ['+15550100001'] });
    expect(plan.tier).toBe(tier);
    expect(plan.sip).toMatchObject({ enabled: true, placement: 'livekit-nodes', entry: tier === 'large' ? 'load-balancer' : 'node-elastic-ip', numbers: ['+15550100001'] });
  });

  it.each([['small', TIERS.small], ['mid', TIERS.mid]] as const)('%s: one LiveKit node, its Elastic IP already priced: SIP adds no line and no address, only its credentials secret', (_tier, minutes) => {
    const on = cost(minutes).cost;
    const off = cost(minutes, { enabled: false }).cost;
    expect(on.lines.map((l) => l.item)).toEqual(off.lines.map((l) => l.item));
    expect(secrets(on)).toBe(secrets(off) + 1);
    expect(on.monthlyUsd - off.monthlyUsd).toBeCloseTo(SECRET_MONTH_USD, 9);
    expect(on.lines.find((l) => l.item === SIP_LINE)).toBeUndefined();
  });

  it('large: the SIP leg to a room on another node is billed between public addresses, out and in', () => {
    const { plan, cost: on } = cost(TIERS.large);
    const off = cost(TIERS.large, { enabled: false }).cost;
    const nodes = expectedAverage(plan.livekit.nodes, plan.costInputs.expectedScaleOutShare);
    expect(nodes).toBeGreaterThan(1);
    const line = on.lines.find((l) => l.item === SIP_LINE)!;
    expect(line.priceKey).toBe('aws.data-transfer.cross-az.gb');
    expect(line.quantity).toBeCloseTo(2 * audioGb(TIERS.large, 55) * ((nodes - 1) / nodes) * 2, 9);
    expect(on.monthlyUsd - off.monthlyUsd).toBeCloseTo(line.monthlyUsd + SECRET_MONTH_USD, 9);
    // Addresses: the NLB's and the nodes', priced either way.
    const ipv4 = (c: typeof on) => c.lines.find((l) => l.priceKey === 'aws.ipv4.hour')!.quantity;
    expect(ipv4(on)).toBe(ipv4(off));
  });

  it('the RTP to the provider is the existing telephony audio line, not a second one', () => {
    const { cost: c } = cost(TIERS.large);
    expect(c.lines.filter((l) => /telephony audio/i.test(l.item))).toHaveLength(1);
  });

  it.each(['twilio', 'sip-trunk'] as const)('the %s telephony line stays the provider per-minute price', (telephony) => {
    for (const provider of ['twilio', 'telnyx'] as const) {
      const { cost: c } = cost(TIERS.mid, { provider }, { providers: { telephony } });
      const line = c.lines.find((l) => l.priceKey === `telephony.${telephony}.minute`)!;
      expect(line.unitUsd).toBe(DEFAULT_CATALOG[`telephony.${telephony}.minute`]!.value);
      expect(line.quantity).toBeCloseTo(TIERS.mid, 6);
    }
  });

  it('warns when a SIP trunk provider is priced at Twilio Programmable Voice minutes', () => {
    expect(cost(TIERS.mid, { provider: 'telnyx' }).plan.warnings).toContainEqual(expect.stringMatching(/sip\.provider is telnyx.*providers\.telephony: sip-trunk/));
    expect(cost(TIERS.mid, { provider: 'telnyx' }, { providers: { telephony: 'sip-trunk' } }).plan.warnings.filter((w) => w.includes('sip.provider'))).toEqual([]);
    expect(cost(TIERS.mid).plan.warnings.filter((w) => w.includes('sip.provider'))).toEqual([]);
  });

  it('shares calls across nodes as (n - 1) / n', () => {
    expect(crossNodeSipShare(1)).toBe(0);
    expect(crossNodeSipShare(2)).toBe(0.5);
    expect(crossNodeSipShare(4)).toBe(0.75);
  });
});
