import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DEFAULT_CATALOG, type PriceCatalog, type PriceEntry } from '@voice-agent-infra/common';
import { describe, expect, it, vi } from 'vitest';
import {
  awsPriceQueries,
  type GetProducts,
  type GetProductsInput,
  type GetProductsOutput,
  parsePriceList,
  priceForTarget,
  PRICE_LIST_SOURCE,
  refreshAwsPrices,
} from '../../scripts/lib/aws-pricing.js';
import { UsageError } from '../../scripts/lib/cli.js';
import { type PriceListClient, pricingRefresh, type PricingRefreshDeps } from '../../scripts/lib/pricing-refresh-command.js';
import { REPO_ROOT } from '../../scripts/lib/stacks.js';

/** Recorded-shape GetProducts responses, one per service (see the fixture's description). */
interface Fixture {
  responses: Record<string, Required<Pick<GetProductsOutput, 'FormatVersion' | 'PriceList'>>>;
}
const FIXTURE_PATH = join(REPO_ROOT, 'tests/fixtures/aws-pricing-getproducts.json');
const loadFixture = (): Fixture => JSON.parse(readFileSync(FIXTURE_PATH, 'utf8'));
const TODAY = '2026-11-25';

interface ProductDoc {
  product: { productFamily: string; attributes: Record<string, string> };
  terms: { OnDemand: Record<string, { priceDimensions: Record<string, { unit: string; pricePerUnit: { USD: string } }> }> };
}

/**
 * A stand-in for the Price List API over the fixture: applies the request's TERM_MATCH filters to
 * each product (productFamily or an attribute) and pages the matches, as the API does.
 */
function fakeGetProducts(fixture: Fixture, pageSize = 3): GetProducts & { calls: GetProductsInput[] } {
  const calls: GetProductsInput[] = [];
  const getProducts = async (input: GetProductsInput): Promise<GetProductsOutput> => {
    calls.push(input);
    const response = fixture.responses[input.ServiceCode];
    if (!response) throw Object.assign(new Error(`no recorded response for ${input.ServiceCode}`), { name: 'NotFoundException' });
    const matching = response.PriceList.filter((text) => {
      const { product } = JSON.parse(text) as ProductDoc;
      return input.Filters.every((f) => f.Type === 'TERM_MATCH' && (f.Field === 'productFamily' ? product.productFamily : product.attributes[f.Field]) === f.Value);
    });
    const start = Number(input.NextToken ?? 0);
    const next = start + pageSize;
    return { FormatVersion: response.FormatVersion, PriceList: matching.slice(start, next), ...(next < matching.length ? { NextToken: String(next) } : {}) };
  };
  return Object.assign(getProducts, { calls });
}

/** The price a reader of the fixture finds by hand for a product: the expectation, computed apart from the code under test. */
function fixturePrice(fixture: Fixture, serviceCode: string, match: (product: ProductDoc['product']) => boolean): number {
  const docs = fixture.responses[serviceCode]!.PriceList.map((t) => JSON.parse(t) as ProductDoc).filter((d) => match(d.product));
  expect(docs, `${serviceCode}: exactly one product`).toHaveLength(1);
  const dimensions = Object.values(docs[0]!.terms.OnDemand).flatMap((t) => Object.values(t.priceDimensions));
  return Number(dimensions[0]!.pricePerUnit.USD);
}

function expectedPrices(fixture: Fixture, catalog: PriceCatalog = DEFAULT_CATALOG): Record<string, number> {
  const expected: Record<string, number> = {};
  for (const key of Object.keys(catalog)) {
    const ec2 = /^aws\.ec2\.(.+)$/.exec(key)?.[1];
    if (ec2) {
      expected[key] = fixturePrice(fixture, 'AmazonEC2', (p) =>
        p.attributes.instanceType === ec2 && p.attributes.operatingSystem === 'Linux' && p.attributes.tenancy === 'Shared' && p.attributes.preInstalledSw === 'NA' && p.attributes.capacitystatus === 'Used',
      );
    }
    const node = /^aws\.elasticache\.(cache\..+)$/.exec(key)?.[1];
    if (node) {
      expected[key] = fixturePrice(fixture, 'AmazonElastiCache', (p) => p.productFamily === 'Cache Instance' && p.attributes.instanceType === node && p.attributes.cacheEngine === 'Redis');
    }
  }
  const nlb = (usagetype: string) => fixturePrice(fixture, 'AWSELB', (p) => p.productFamily === 'Load Balancer-Network' && p.attributes.usagetype === usagetype);
  expected['aws.nlb.hour'] = nlb('LoadBalancerUsage');
  expected['aws.nlb.nlcu-hour'] = nlb('LCUUsage');
  return expected;
}

/** The command's effects, recorded; the client is a fake over the fixture. */
function harness(getProducts: GetProducts, options: { credentials?: Error } = {}) {
  const written: string[] = [];
  const out: string[] = [];
  const err: string[] = [];
  const client: PriceListClient = {
    checkCredentials: vi.fn(async () => {
      if (options.credentials) throw options.credentials;
    }),
    getProducts: vi.fn(getProducts),
    close: vi.fn(),
  };
  const deps: PricingRefreshDeps = {
    client: () => client,
    catalog: DEFAULT_CATALOG,
    modulePath: 'common/src/aws-prices.ts',
    writeModule: (text) => written.push(text),
    rebuild: vi.fn(),
    today: () => TODAY,
    stdout: (text) => out.push(text),
    stderr: (text) => err.push(text),
  };
  return { deps, client, written, out, err };
}

function credentialsProviderError(): Error {
  // The shape @smithy/property-provider throws when no provider in the chain has credentials.
  return Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError', tryNextLink: false });
}

describe('reading GetProducts responses', () => {
  it('parses each PriceList JSON string into product attributes and its on-demand USD prices, ignoring reserved terms', () => {
    const fixture = loadFixture();
    const products = parsePriceList(fixture.responses.AmazonEC2!);
    expect(products).toHaveLength(fixture.responses.AmazonEC2!.PriceList.length);
    const c7i = products.find((p) => p.attributes.usagetype === 'BoxUsage:c7i.xlarge' && p.attributes.operatingSystem === 'Linux' && p.attributes.preInstalledSw === 'NA')!;
    expect(c7i.serviceCode).toBe('AmazonEC2');
    expect(c7i.productFamily).toBe('Compute Instance');
    expect(c7i.onDemand).toEqual([{ unit: 'Hrs', usd: 0.1785, description: expect.stringContaining('c7i.xlarge'), effectiveDate: expect.any(String) }]);
  });

  it('asks for the catalog AWS entries with the documented filters', () => {
    const queries = awsPriceQueries(DEFAULT_CATALOG);
    const ec2 = queries.find((q) => q.targets[0]!.key === 'aws.ec2.c7i.xlarge')!;
    expect(ec2).toMatchObject({
      serviceCode: 'AmazonEC2',
      filters: { regionCode: 'us-east-1', instanceType: 'c7i.xlarge', operatingSystem: 'Linux', tenancy: 'Shared', preInstalledSw: 'NA', capacitystatus: 'Used' },
    });
    expect(queries.find((q) => q.serviceCode === 'AWSELB')).toMatchObject({ filters: { productFamily: 'Load Balancer-Network' } });
    expect(queries.find((q) => q.targets[0]!.key === 'aws.elasticache.cache.t4g.small')).toMatchObject({
      serviceCode: 'AmazonElastiCache',
      filters: { productFamily: 'Cache Instance', instanceType: 'cache.t4g.small', cacheEngine: 'Redis' },
    });
    // The Valkey factor is not a node type: nothing to ask the API for.
    expect(queries.flatMap((q) => q.targets.map((t) => t.key))).not.toContain('aws.elasticache.valkey-discount');
  });

  it('refuses to pick between different prices for one entry', () => {
    // Without the engine filter, Redis, Valkey and Memcached nodes share a usagetype at different prices.
    const products = parsePriceList(loadFixture().responses.AmazonElastiCache!);
    expect(() => priceForTarget(products, { key: 'aws.elasticache.cache.t4g.small', usagetype: 'NodeUsage:cache.t4g.small', unit: 'Hrs' })).toThrow(
      /aws\.elasticache\.cache\.t4g\.small: the Price List returned 2 different on-demand prices/,
    );
  });
});

describe('refreshing the catalog from a recorded response', () => {
  it('fills every AWS catalog key with the fixture price, the API as source and today as date', async () => {
    const fixture = loadFixture();
    // One product per page: the NLB query (two products) must follow NextToken.
    const getProducts = fakeGetProducts(fixture, 1);
    const { entries, missing } = await refreshAwsPrices(getProducts, DEFAULT_CATALOG, TODAY);
    expect(missing).toEqual([]);
    const expected = expectedPrices(fixture);
    expect(Object.keys(entries).sort()).toEqual(Object.keys(expected).sort());
    expect(Object.keys(entries)).toEqual(expect.arrayContaining(['aws.ec2.c7i.xlarge', 'aws.ec2.c7g.2xlarge', 'aws.elasticache.cache.m7g.large', 'aws.nlb.hour', 'aws.nlb.nlcu-hour']));
    for (const [key, entry] of Object.entries(entries)) {
      expect(entry.value, key).toBe(expected[key]);
      expect(entry.unit, key).toBe(DEFAULT_CATALOG[key]!.unit);
      expect(entry.note, key).toBe(DEFAULT_CATALOG[key]!.note);
      expect(entry.source.startsWith(PRICE_LIST_SOURCE), key).toBe(true);
      expect(entry.date, key).toBe(TODAY);
    }
    expect(entries['aws.ec2.c7i.xlarge']!.source).toMatch(/^AWS Price List API GetProducts \(AmazonEC2 BoxUsage:c7i\.xlarge, sku \w+, us-east-1 on-demand, published 2026-11-20\)$/);
    expect(getProducts.calls.filter((c) => c.ServiceCode === 'AWSELB').map((c) => c.NextToken)).toEqual([undefined, '1']);
  });

  it('carries a changed recorded price into its entry', async () => {
    const fixture = loadFixture();
    const ec2 = fixture.responses.AmazonEC2!;
    ec2.PriceList = ec2.PriceList.map((text) => (text.includes('"usagetype":"BoxUsage:c7i.xlarge"') && text.includes('"operatingSystem":"Linux"') && text.includes('"preInstalledSw":"NA"') ? text.replace('"USD":"0.1785000000"', '"USD":"0.1999000000"') : text));
    const { entries } = await refreshAwsPrices(fakeGetProducts(fixture), DEFAULT_CATALOG, TODAY);
    expect(entries['aws.ec2.c7i.xlarge']!.value).toBe(0.1999);
    expect(entries['aws.ec2.c7i.2xlarge']!.value).toBe(0.357);
  });
});

describe('npm run pricing:refresh (injected client)', () => {
  it('writes the generated module: the refreshed entries, which import back as the catalog layer', async () => {
    const h = harness(fakeGetProducts(loadFixture()));
    await pricingRefresh([], h.deps);
    expect(h.written).toHaveLength(1);
    expect(h.deps.rebuild).toHaveBeenCalledOnce();
    expect(h.client.close).toHaveBeenCalledOnce();
    expect(h.out.join('')).toMatch(/^catalog key\s+previous \$\s+previous date\s+refreshed \$\s+change\n/);
    expect(h.out.join('')).toMatch(/^aws\.ec2\.c7i\.xlarge\s+0\.1785\s+\S+\s+0\.1785\s+-$/m);
    // Every AWS entry the catalog prices from the API: 15 EC2 types, 7 GPU types, 3 ElastiCache nodes, NLB hour and NLCU.
    const refreshable = Object.keys(DEFAULT_CATALOG).filter((k) => /^aws\.(ec2|elasticache\.cache)\.|^aws\.nlb\./.test(k)).length;
    expect(refreshable).toBe(27);
    expect(h.err.join('')).toMatch(new RegExp(`wrote ${refreshable} prices \\(0 changed\\) dated 2026-11-25 to common/src/aws-prices\\.ts`));

    const dir = mkdtempSync(join(tmpdir(), 'aws-prices-'));
    try {
      const file = join(dir, 'aws-prices.ts');
      writeFileSync(file, h.written[0]!);
      const module = (await import(pathToFileURL(file).href)) as { REFRESHED_AWS_PRICES: Record<string, PriceEntry> };
      const expected = expectedPrices(loadFixture());
      expect(Object.fromEntries(Object.entries(module.REFRESHED_AWS_PRICES).map(([k, e]) => [k, e.value]))).toEqual(expected);
      expect(module.REFRESHED_AWS_PRICES['aws.nlb.nlcu-hour']).toMatchObject({ unit: 'usd-per-hour', date: TODAY, note: DEFAULT_CATALOG['aws.nlb.nlcu-hour']!.note });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--dry-run reads the prices and writes nothing; --json prints them for machines', async () => {
    const h = harness(fakeGetProducts(loadFixture()));
    await pricingRefresh(['--dry-run', '--json'], h.deps);
    expect(h.written).toEqual([]);
    expect(h.deps.rebuild).not.toHaveBeenCalled();
    const json = JSON.parse(h.out.join(''));
    expect(json.date).toBe(TODAY);
    expect(json.entries['aws.nlb.hour']).toMatchObject({ value: 0.0225, date: TODAY });
  });

  it('a price the API does not return fails the refresh, names the key and writes nothing', async () => {
    const fixture = loadFixture();
    fixture.responses.AmazonEC2!.PriceList = fixture.responses.AmazonEC2!.PriceList.filter((t) => !t.includes('"instanceType":"c6a.xlarge"'));
    const h = harness(fakeGetProducts(fixture));
    await expect(pricingRefresh([], h.deps)).rejects.toThrow(/no on-demand us-east-1 price for aws\.ec2\.c6a\.xlarge; the catalog is unchanged/);
    expect(h.written).toEqual([]);
    expect(h.client.close).toHaveBeenCalledOnce();
  });

  it('without credentials: a one-line user error, no request made, nothing written', async () => {
    const h = harness(fakeGetProducts(loadFixture()), { credentials: credentialsProviderError() });
    const error = await pricingRefresh([], h.deps).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toMatch(/^no AWS credentials \(Could not load credentials from any providers\): set AWS_PROFILE/);
    expect((error as Error).message).not.toContain('\n');
    expect(h.client.getProducts).not.toHaveBeenCalled();
    expect(h.written).toEqual([]);
  });

  it('credentials AWS rejects (no pricing:GetProducts) are the user\'s to fix too', async () => {
    const denied: GetProducts = async () => {
      throw Object.assign(new Error('User: arn:aws:iam::123456789012:user/ci is not authorized to perform: pricing:GetProducts'), { name: 'AccessDeniedException' });
    };
    const h = harness(denied);
    await expect(pricingRefresh([], h.deps)).rejects.toThrow(UsageError);
    await expect(pricingRefresh([], h.deps)).rejects.toThrow(/AccessDeniedException.*needs pricing:GetProducts/);
  });

  it('a bad flag is a one-line user error naming it, before any client is made', async () => {
    const h = harness(fakeGetProducts(loadFixture()));
    const client = vi.spyOn(h.deps, 'client');
    await expect(pricingRefresh(['--region', 'eu-west-1'], h.deps)).rejects.toThrow(/^Unknown option '--region'/);
    expect(client).not.toHaveBeenCalled();
  });
});

describe('npm run pricing:refresh (the real SDK, no credentials)', () => {
  it('prints one clear line and exits 2, leaving the catalog alone', () => {
    const home = mkdtempSync(join(tmpdir(), 'no-aws-home-'));
    const modulePath = join(REPO_ROOT, 'common/src/aws-prices.ts');
    const before = readFileSync(modulePath, 'utf8');
    try {
      const env = {
        ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_'))),
        HOME: home,
        AWS_CONFIG_FILE: join(home, 'no-config'),
        AWS_SHARED_CREDENTIALS_FILE: join(home, 'no-credentials'),
        // No instance metadata probe: the chain ends at once, and the test stays off the network.
        AWS_EC2_METADATA_DISABLED: 'true',
      };
      const r = spawnSync(process.execPath, ['--import', 'tsx', '--import', join(REPO_ROOT, 'tests/fixtures/no-network.ts'), 'scripts/pricing-refresh.ts'], {
        cwd: REPO_ROOT,
        encoding: 'utf8',
        env,
      });
      expect(r.status, r.stderr).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^pricing:refresh: no AWS credentials \(.+\): set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/);
      expect(r.stderr).not.toMatch(/\n\s+at |NodeVersionSupportWarning/);
      expect(readFileSync(modulePath, 'utf8')).toBe(before);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  }, 30_000);
});
