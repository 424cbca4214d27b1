/**
 * The price catalog: every price the cost engine (Pulumi side) and the agent's cost per call use.
 * One table, shared by both packages, each entry with its unit, source and date so finance can
 * audit it and `npm run pricing:refresh` can replace the AWS entries with live ones.
 *
 * Prices are USD, AWS entries are us-east-1 Linux on-demand. Users override any entry by key in
 * the stack config (`pricing: { "aws.ec2.c7i.xlarge": 0.17 }`).
 */

import { REFRESHED_AWS_PRICES } from './aws-prices.js';

export type PriceUnit =
  | 'usd-per-hour'
  | 'usd-per-gb-month'
  | 'usd-per-gb'
  | 'usd-per-minute'
  | 'usd-per-million-tokens'
  | 'usd-per-million-characters'
  | 'usd-per-month'
  | 'usd-per-item-month'
  | 'gb-per-month'
  /** A multiplier applied to another price. */
  | 'factor'
  /** A count of included items (e.g. concurrent lines in a plan). */
  | 'count';

export interface PriceEntry {
  /** Price in USD per `unit` (for `gb-per-month` a free allowance in GB, for `factor` and `count` a plain number). */
  value: number;
  unit: PriceUnit;
  /** Where the figure comes from. */
  source: string;
  /** When it was read (YYYY-MM or YYYY-MM-DD). */
  date: string;
  /** Anything a reader must know to use it right. */
  note?: string;
}

export type PriceCatalog = Readonly<Record<string, PriceEntry>>;

const AWS_TABLE = 'AWS public on-demand price tables, us-east-1 (project reference pricing-and-capacity.md)';
const AWS_LINEAR = 'derived: on-demand EC2 prices are linear in size within a family (from the xlarge price)';
const AWS_CW = 'AWS CloudWatch / Secrets Manager / ECR public pricing pages, us-east-1';
const REF_DATE = '2026-11';

function ec2(value: number, source = AWS_TABLE): PriceEntry {
  return { value, unit: 'usd-per-hour', source, date: REF_DATE };
}

/**
 * Karpenter's generated on-demand price table (aws/karpenter-provider-aws
 * pkg/providers/pricing/zz_generated.pricing_aws.go, us-east-1), the generation of 2026-07-20 named
 * in the project reference self-hosted-inference.md; the GPU prices equal those of the stored
 * commit 031e72b6099630e960dacb88b48a7e9bb780945f (generated 2026-01-19).
 */
const KARPENTER_PRICING = 'aws/karpenter-provider-aws pkg/providers/pricing/zz_generated.pricing_aws.go (us-east-1, generated 2026-07-20)';

function gpu(value: number): PriceEntry {
  return { value, unit: 'usd-per-hour', source: KARPENTER_PRICING, date: '2026-07-20' };
}

/** The catalog as shipped. */
export const DEFAULT_CATALOG: PriceCatalog = {
  // EC2, Linux on-demand.
  'aws.ec2.c7i.large': ec2(0.08925, AWS_LINEAR),
  'aws.ec2.c7i.xlarge': ec2(0.1785),
  'aws.ec2.c7i.2xlarge': ec2(0.357),
  'aws.ec2.c7i.4xlarge': ec2(0.714, AWS_LINEAR),
  'aws.ec2.c6i.xlarge': ec2(0.17),
  'aws.ec2.c6i.2xlarge': ec2(0.34),
  'aws.ec2.c6a.xlarge': ec2(0.153),
  'aws.ec2.c7g.large': ec2(0.0725, AWS_LINEAR),
  'aws.ec2.c7g.xlarge': ec2(0.145),
  'aws.ec2.c7g.2xlarge': ec2(0.29),
  'aws.ec2.c7g.4xlarge': ec2(0.58, AWS_LINEAR),
  'aws.ec2.m7i.xlarge': ec2(0.2016),
  'aws.ec2.m7g.xlarge': ec2(0.1632),
  'aws.ec2.t3.xlarge': ec2(0.1664),
  'aws.ec2.t3.small': ec2(0.0208, 'AWS EC2 on-demand pricing page, us-east-1 Linux (t3.small)'),
  // GPU instances for self-hosted inference (one NVIDIA GPU each), Linux on-demand.
  'aws.ec2.g4dn.xlarge': gpu(0.526),
  'aws.ec2.g5.xlarge': gpu(1.006),
  'aws.ec2.g5.2xlarge': gpu(1.212),
  'aws.ec2.g6.xlarge': gpu(0.8048),
  'aws.ec2.g6.2xlarge': gpu(0.9776),
  'aws.ec2.g6e.xlarge': gpu(1.861),
  'aws.ec2.g6e.2xlarge': gpu(2.24208),
  // Network Load Balancer.
  'aws.nlb.hour': { value: 0.0225, unit: 'usd-per-hour', source: AWS_TABLE, date: REF_DATE },
  'aws.nlb.nlcu-hour': {
    value: 0.006,
    unit: 'usd-per-hour',
    source: AWS_TABLE,
    date: REF_DATE,
    note: '1 NLCU = 800 new TCP conn/s, 100k active, 1 GB/h; TLS: 50 new conn/s or 3k active',
  },
  // ElastiCache, Redis OSS engine (Valkey is 0.8x).
  'aws.elasticache.cache.t4g.small': ec2(0.032),
  'aws.elasticache.cache.t4g.medium': ec2(0.065),
  'aws.elasticache.cache.m7g.large': ec2(0.158),
  'aws.elasticache.valkey-discount': {
    value: 0.8,
    unit: 'factor',
    source: AWS_TABLE,
    date: REF_DATE,
    note: 'Valkey node-hours cost 0.8x Redis OSS',
  },
  // Storage, addresses, data transfer.
  'aws.ebs.gp3.gb-month': { value: 0.08, unit: 'usd-per-gb-month', source: AWS_TABLE, date: REF_DATE },
  'aws.ipv4.hour': {
    value: 0.005,
    unit: 'usd-per-hour',
    source: AWS_TABLE,
    date: REF_DATE,
    note: 'every public IPv4 address, in use or not, since 2024-02',
  },
  'aws.data-transfer-out.free-gb': {
    value: 100,
    unit: 'gb-per-month',
    source: AWS_TABLE,
    date: REF_DATE,
    note: 'free allowance per account per month, across services',
  },
  'aws.data-transfer-out.gb': {
    value: 0.09,
    unit: 'usd-per-gb',
    source: AWS_TABLE,
    date: REF_DATE,
    note: 'first 10 TB after the free allowance; $0.085 next 40 TB, $0.07 next 100 TB',
  },
  'aws.data-transfer-out.next-40tb.gb': { value: 0.085, unit: 'usd-per-gb', source: AWS_TABLE, date: REF_DATE },
  'aws.data-transfer-out.next-100tb.gb': { value: 0.07, unit: 'usd-per-gb', source: AWS_TABLE, date: REF_DATE },
  'aws.data-transfer.cross-az.gb': {
    value: 0.01,
    unit: 'usd-per-gb',
    source: AWS_TABLE,
    date: REF_DATE,
    note: 'each way',
  },
  // Monitoring, secrets, registry.
  'aws.cloudwatch.metric-month': { value: 0.3, unit: 'usd-per-item-month', source: AWS_CW, date: REF_DATE },
  'aws.cloudwatch.logs-ingest-gb': { value: 0.5, unit: 'usd-per-gb', source: AWS_CW, date: REF_DATE, note: 'standard log class' },
  'aws.cloudwatch.alarm-month': { value: 0.1, unit: 'usd-per-item-month', source: AWS_CW, date: REF_DATE },
  'aws.cloudwatch.dashboard-month': { value: 3, unit: 'usd-per-item-month', source: AWS_CW, date: REF_DATE },
  'aws.secretsmanager.secret-month': { value: 0.4, unit: 'usd-per-item-month', source: AWS_CW, date: REF_DATE },
  'aws.ecr.gb-month': { value: 0.1, unit: 'usd-per-gb-month', source: AWS_CW, date: REF_DATE },

  // Speech to text.
  'stt.deepgram-nova-3.minute': {
    value: 0.0077,
    unit: 'usd-per-minute',
    source: 'Deepgram pricing, pay-as-you-go streaming (sources disagree: 0.0048-0.0077; the higher is kept)',
    date: REF_DATE,
  },
  'stt.local.minute': {
    value: 0,
    unit: 'usd-per-minute',
    source: 'self-hosted OpenAI-compatible Whisper server (inference.stt): no per-minute fee; its GPU instances are priced as infrastructure',
    date: REF_DATE,
  },
  // LLMs, per 1M tokens.
  'llm.gpt-4o.input': tokens(2.5, 'OpenAI API pricing'),
  'llm.gpt-4o.output': tokens(10, 'OpenAI API pricing'),
  'llm.gpt-4o-mini.input': tokens(0.15, 'OpenAI API pricing'),
  'llm.gpt-4o-mini.output': tokens(0.6, 'OpenAI API pricing'),
  'llm.gpt-4.1.input': tokens(2, 'OpenAI API pricing'),
  'llm.gpt-4.1.output': tokens(8, 'OpenAI API pricing'),
  'llm.gpt-4.1-mini.input': tokens(0.4, 'OpenAI API pricing'),
  'llm.gpt-4.1-mini.output': tokens(1.6, 'OpenAI API pricing'),
  'llm.claude-haiku-4.5.input': tokens(1, 'Anthropic API pricing'),
  'llm.claude-haiku-4.5.output': tokens(5, 'Anthropic API pricing'),
  'llm.claude-sonnet-4.5.input': tokens(3, 'Anthropic API pricing'),
  'llm.claude-sonnet-4.5.output': tokens(15, 'Anthropic API pricing'),
  'llm.local.input': tokens(0, 'self-hosted OpenAI-compatible model: no per-token fee (its GPU is priced separately)'),
  'llm.local.output': tokens(0, 'self-hosted OpenAI-compatible model: no per-token fee (its GPU is priced separately)'),
  // Text to speech, per 1M characters.
  'tts.cartesia-sonic.characters': {
    value: 38,
    unit: 'usd-per-million-characters',
    source: 'Cartesia pricing: ~1 credit per character, ~$37-39 per 1M characters on paid plans',
    date: REF_DATE,
  },
  'tts.elevenlabs-flash.characters': {
    value: 50,
    unit: 'usd-per-million-characters',
    source: 'ElevenLabs API pricing: Flash/Turbo ~$0.05 per 1K characters',
    date: REF_DATE,
  },
  'tts.elevenlabs-multilingual.characters': {
    value: 100,
    unit: 'usd-per-million-characters',
    source: 'ElevenLabs API pricing: Multilingual ~$0.10 per 1K characters',
    date: REF_DATE,
  },
  'tts.local.characters': {
    value: 0,
    unit: 'usd-per-million-characters',
    source: 'self-hosted OpenAI-compatible Kokoro server (inference.tts): no per-character fee; its GPU instances are priced as infrastructure',
    date: REF_DATE,
  },
  // Telephony, inbound per minute.
  'telephony.twilio.minute': {
    value: 0.0085,
    unit: 'usd-per-minute',
    source: 'Twilio Programmable Voice inbound pricing (US)',
    date: REF_DATE,
  },
  'telephony.sip-trunk.minute': {
    value: 0.003,
    unit: 'usd-per-minute',
    source: 'SIP trunking inbound, typical US providers ($0.001-0.005/min; midpoint)',
    date: REF_DATE,
  },

  // Managed voice-AI platforms, for the comparison.
  'managed.vapi.platform-minute': {
    value: 0.05,
    unit: 'usd-per-minute',
    source: 'Vapi pricing: platform fee, providers billed at cost on top',
    date: REF_DATE,
  },
  'managed.vapi.included-lines': {
    value: 10,
    unit: 'count',
    source: 'Vapi pricing: 10 concurrent calls included',
    date: REF_DATE,
  },
  'managed.vapi.extra-line-month': {
    value: 10,
    unit: 'usd-per-item-month',
    source: 'Vapi pricing: +$10/month per concurrent line over the included ones',
    date: REF_DATE,
  },
  'managed.retell.voice-infra-minute': {
    value: 0.055,
    unit: 'usd-per-minute',
    source: 'Retell pricing: voice infrastructure $0.055/min, plus LLM, voice and telephony',
    date: REF_DATE,
  },
  'managed.bland.free-minute': {
    value: 0.14,
    unit: 'usd-per-minute',
    source: 'Bland pricing: free plan',
    date: REF_DATE,
  },
  'managed.bland.build-minute': { value: 0.12, unit: 'usd-per-minute', source: 'Bland pricing: Build plan', date: REF_DATE },
  'managed.bland.build-month': { value: 299, unit: 'usd-per-month', source: 'Bland pricing: Build plan', date: REF_DATE },
  'managed.bland.scale-minute': { value: 0.11, unit: 'usd-per-minute', source: 'Bland pricing: Scale plan', date: REF_DATE },
  'managed.bland.scale-month': { value: 499, unit: 'usd-per-month', source: 'Bland pricing: Scale plan', date: REF_DATE },
  'managed.livekit-cloud.agent-minute': {
    value: 0.01,
    unit: 'usd-per-minute',
    source: 'LiveKit Cloud pricing: agent session minutes (connection and bandwidth fees not included)',
    date: REF_DATE,
  },
  'managed.article.all-in-low-minute': {
    value: 0.23,
    unit: 'usd-per-minute',
    source: 'Hestur, "How to Scale a Voice AI Agent": managed platforms $0.23-0.33/min all-in (low end)',
    date: REF_DATE,
  },
  'managed.article.all-in-high-minute': {
    value: 0.33,
    unit: 'usd-per-minute',
    source: 'Hestur, "How to Scale a Voice AI Agent": managed platforms $0.23-0.33/min all-in (high end)',
    date: REF_DATE,
  },

  // AWS entries refreshed from the AWS Price List API (`npm run pricing:refresh` writes aws-prices.ts)
  // replace the static ones above, each with its own source and date.
  ...REFRESHED_AWS_PRICES,
};

function tokens(value: number, source: string): PriceEntry {
  return { value, unit: 'usd-per-million-tokens', source, date: REF_DATE };
}

/** Thrown for a price key that is not in the catalog. */
export class UnknownPriceError extends Error {
  constructor(public readonly key: string) {
    super(`unknown price key "${key}"`);
    this.name = 'UnknownPriceError';
  }
}

/** The value of one entry; throws UnknownPriceError for a key the catalog lacks. */
export function price(catalog: PriceCatalog, key: string): number {
  const entry = catalog[key];
  if (!entry) throw new UnknownPriceError(key);
  return entry.value;
}

/** A copy of the catalog with some values replaced (source and date say they were overridden). */
export function withPriceOverrides(
  catalog: PriceCatalog,
  overrides: Readonly<Record<string, number>>,
  source = 'stack config override',
): PriceCatalog {
  const result: Record<string, PriceEntry> = { ...catalog };
  for (const [key, value] of Object.entries(overrides)) {
    const entry = catalog[key];
    if (!entry) throw new UnknownPriceError(key);
    result[key] = { ...entry, value, source, date: 'stack config' };
  }
  return result;
}
