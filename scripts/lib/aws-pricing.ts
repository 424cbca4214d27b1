/**
 * AWS prices from the AWS Price List API (GetProducts), pure: which queries price which catalog
 * entries, how a response is read, and the generated module the refresh writes
 * (common/src/aws-prices.ts, laid over the static AWS entries by common/src/catalog.ts).
 * The network call is injected (`GetProducts`), so all of this runs on recorded responses.
 *
 * Reading a response (reference/pricing-and-capacity.md): each PriceList entry is a JSON string,
 * `{product: {sku, productFamily, attributes}, terms: {OnDemand: {<term>: {priceDimensions:
 * {<rate>: {unit, pricePerUnit: {USD}}}}}, Reserved: ...}}`; only OnDemand terms are read.
 */
import type { PriceCatalog, PriceEntry } from '@voice-agent-infra/common';

/** The Price List API is served from us-east-1 (and two other regions); the catalog prices us-east-1. */
export const PRICE_LIST_ENDPOINT_REGION = 'us-east-1';
export const CATALOG_REGION_CODE = 'us-east-1';
export const PRICE_LIST_SOURCE = 'AWS Price List API GetProducts';

/** What the API is asked; the same shape as @aws-sdk/client-pricing's GetProductsCommandInput. */
export interface GetProductsInput {
  ServiceCode: string;
  Filters: Array<{ Type: 'TERM_MATCH'; Field: string; Value: string }>;
  FormatVersion: 'aws_v1';
  MaxResults?: number;
  NextToken?: string;
}

/** What the API answers (the fields read here). */
export interface GetProductsOutput {
  FormatVersion?: string;
  PriceList?: string[];
  NextToken?: string;
}

export type GetProducts = (input: GetProductsInput) => Promise<GetProductsOutput>;

/** A catalog entry a query prices, and how its product is told apart from the others returned. */
export interface PriceTarget {
  key: string;
  /** The product's `usagetype` (a region prefix such as "USE2-" is allowed). */
  usagetype: string;
  /** The on-demand price dimension's unit ("Hrs", "LCU-Hrs"). */
  unit: string;
}

export interface PriceQuery {
  serviceCode: string;
  /** TERM_MATCH filters, attribute -> value. */
  filters: Record<string, string>;
  targets: PriceTarget[];
}

/**
 * The queries that refresh the AWS entries of a catalog: one per EC2 instance type present as
 * `aws.ec2.<type>` (Linux, shared tenancy, no pre-installed software, capacity used: the plain
 * on-demand price), one per ElastiCache node type present as `aws.elasticache.<type>` (Redis OSS
 * engine: the catalog's Valkey entry is a factor over it), one for the NLB hour and NLCU-hour.
 */
export function awsPriceQueries(catalog: PriceCatalog): PriceQuery[] {
  const region = { regionCode: CATALOG_REGION_CODE };
  const queries: PriceQuery[] = [];
  for (const key of Object.keys(catalog).sort()) {
    const ec2 = /^aws\.ec2\.(.+)$/.exec(key)?.[1];
    if (ec2) {
      queries.push({
        serviceCode: 'AmazonEC2',
        filters: { ...region, instanceType: ec2, operatingSystem: 'Linux', tenancy: 'Shared', preInstalledSw: 'NA', capacitystatus: 'Used' },
        targets: [{ key, usagetype: `BoxUsage:${ec2}`, unit: 'Hrs' }],
      });
    }
    const node = /^aws\.elasticache\.(cache\..+)$/.exec(key)?.[1];
    if (node) {
      queries.push({
        serviceCode: 'AmazonElastiCache',
        filters: { ...region, productFamily: 'Cache Instance', instanceType: node, cacheEngine: 'Redis' },
        targets: [{ key, usagetype: `NodeUsage:${node}`, unit: 'Hrs' }],
      });
    }
  }
  const nlbTargets = [
    { key: 'aws.nlb.hour', usagetype: 'LoadBalancerUsage', unit: 'Hrs' },
    { key: 'aws.nlb.nlcu-hour', usagetype: 'LCUUsage', unit: 'LCU-Hrs' },
  ].filter((t) => t.key in catalog);
  if (nlbTargets.length > 0) {
    queries.push({ serviceCode: 'AWSELB', filters: { ...region, productFamily: 'Load Balancer-Network' }, targets: nlbTargets });
  }
  return queries;
}

/** The request for one query (first page). */
export function getProductsInput(query: PriceQuery, nextToken?: string): GetProductsInput {
  return {
    ServiceCode: query.serviceCode,
    Filters: Object.entries(query.filters).map(([Field, Value]) => ({ Type: 'TERM_MATCH' as const, Field, Value })),
    FormatVersion: 'aws_v1',
    MaxResults: 100,
    ...(nextToken ? { NextToken: nextToken } : {}),
  };
}

/** One product of a response with its on-demand prices. */
export interface PriceListProduct {
  sku: string;
  serviceCode: string;
  productFamily: string;
  attributes: Record<string, string>;
  onDemand: Array<{ unit: string; usd: number; description: string; effectiveDate: string }>;
  publicationDate: string;
}

/** A response that does not have the documented shape: a failure of the world, not of the user. */
export class PriceListFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PriceListFormatError';
  }
}

/** Reads every PriceList entry of a GetProducts response (JSON strings) into products. */
export function parsePriceList(response: GetProductsOutput): PriceListProduct[] {
  if (response.FormatVersion !== undefined && response.FormatVersion !== 'aws_v1') {
    throw new PriceListFormatError(`unexpected Price List FormatVersion ${JSON.stringify(response.FormatVersion)} (expected aws_v1)`);
  }
  return (response.PriceList ?? []).map((text, index) => {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      throw new PriceListFormatError(`PriceList entry ${index} is not JSON`);
    }
    const entry = doc as {
      product?: { sku?: string; productFamily?: string; attributes?: Record<string, string> };
      serviceCode?: string;
      terms?: { OnDemand?: Record<string, { effectiveDate?: string; priceDimensions?: Record<string, { unit?: string; description?: string; pricePerUnit?: { USD?: string } }> }> };
      publicationDate?: string;
    };
    if (!entry.product?.sku || !entry.product.attributes) throw new PriceListFormatError(`PriceList entry ${index} has no product.sku or product.attributes`);
    const onDemand = Object.values(entry.terms?.OnDemand ?? {}).flatMap((term) =>
      Object.values(term.priceDimensions ?? {}).map((dimension) => {
        const usd = Number(dimension.pricePerUnit?.USD);
        if (dimension.pricePerUnit?.USD === undefined || !Number.isFinite(usd)) {
          throw new PriceListFormatError(`PriceList entry ${index} (sku ${entry.product!.sku}) has an on-demand price without a USD number`);
        }
        return { unit: dimension.unit ?? '', usd, description: dimension.description ?? '', effectiveDate: term.effectiveDate ?? '' };
      }),
    );
    return {
      sku: entry.product.sku,
      serviceCode: entry.serviceCode ?? '',
      productFamily: entry.product.productFamily ?? '',
      attributes: entry.product.attributes,
      onDemand,
      publicationDate: entry.publicationDate ?? '',
    };
  });
}

/** The price found for a target, with what it came from. */
export interface FoundPrice {
  key: string;
  usd: number;
  sku: string;
  usagetype: string;
  publicationDate: string;
}

/**
 * The one on-demand price of a target among a query's products: its usagetype, its unit, a price
 * above zero. None -> undefined; several different prices -> an error naming them (a finance
 * catalog does not guess).
 */
export function priceForTarget(products: readonly PriceListProduct[], target: PriceTarget): FoundPrice | undefined {
  const usagetype = new RegExp(`^([A-Z0-9]+-)?${target.usagetype.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
  const found = products.flatMap((p) =>
    usagetype.test(p.attributes.usagetype ?? '')
      ? p.onDemand
          .filter((d) => d.unit === target.unit && d.usd > 0)
          .map((d) => ({ key: target.key, usd: d.usd, sku: p.sku, usagetype: p.attributes.usagetype!, publicationDate: p.publicationDate }))
      : [],
  );
  const prices = [...new Set(found.map((f) => f.usd))];
  if (prices.length > 1) {
    throw new PriceListFormatError(
      `${target.key}: the Price List returned ${prices.length} different on-demand prices (${found.map((f) => `${f.usd} sku ${f.sku}`).join(', ')}); refusing to pick one`,
    );
  }
  return found[0];
}

/** All pages of one query's products. */
export async function fetchProducts(getProducts: GetProducts, query: PriceQuery): Promise<PriceListProduct[]> {
  const products: PriceListProduct[] = [];
  let nextToken: string | undefined;
  for (let page = 0; page < 100; page++) {
    const response = await getProducts(getProductsInput(query, nextToken));
    products.push(...parsePriceList(response));
    nextToken = response.NextToken || undefined;
    if (!nextToken) return products;
  }
  throw new PriceListFormatError(`${query.serviceCode}: more than 100 pages of products for one query`);
}

export interface RefreshResult {
  /** Refreshed catalog entries, by key. */
  entries: Record<string, PriceEntry>;
  /** Catalog keys the API returned no price for. */
  missing: string[];
}

/**
 * Refreshes every AWS entry of the catalog the queries cover. Each refreshed entry keeps the
 * catalog's unit and note and takes the API's value, the source (service, usagetype, sku) and
 * `date` (YYYY-MM-DD, passed in: no clock here).
 */
export async function refreshAwsPrices(
  getProducts: GetProducts,
  catalog: PriceCatalog,
  date: string,
  onQuery: (query: PriceQuery, index: number, total: number) => void = () => {},
): Promise<RefreshResult> {
  const queries = awsPriceQueries(catalog);
  const entries: Record<string, PriceEntry> = {};
  const missing: string[] = [];
  for (const [index, query] of queries.entries()) {
    onQuery(query, index, queries.length);
    const products = await fetchProducts(getProducts, query);
    for (const target of query.targets) {
      const found = priceForTarget(products, target);
      if (!found) {
        missing.push(target.key);
        continue;
      }
      const current = catalog[target.key]!;
      entries[target.key] = {
        value: found.usd,
        unit: current.unit,
        source: `${PRICE_LIST_SOURCE} (${query.serviceCode} ${found.usagetype}, sku ${found.sku}, ${CATALOG_REGION_CODE} on-demand${found.publicationDate ? `, published ${found.publicationDate.slice(0, 10)}` : ''})`,
        date,
        ...(current.note ? { note: current.note } : {}),
      };
    }
  }
  return { entries, missing };
}

/** A change of one entry, for the summary finance reads before committing the refresh. */
export interface PriceChange {
  key: string;
  previousUsd: number;
  previousSource: string;
  previousDate: string;
  refreshedUsd: number;
}

export function priceChanges(catalog: PriceCatalog, entries: Readonly<Record<string, PriceEntry>>): PriceChange[] {
  return Object.keys(entries)
    .sort()
    .map((key) => ({
      key,
      previousUsd: catalog[key]!.value,
      previousSource: catalog[key]!.source,
      previousDate: catalog[key]!.date,
      refreshedUsd: entries[key]!.value,
    }));
}

/** The generated module common/src/aws-prices.ts: the entries as a JSON object literal, keys sorted. */
export function renderAwsPricesModule(entries: Readonly<Record<string, PriceEntry>>): string {
  const sorted = Object.fromEntries(Object.keys(entries).sort().map((key) => [key, entries[key]!]));
  return `/**
 * AWS prices refreshed from the AWS Price List API by \`npm run pricing:refresh\` (us-east-1,
 * on-demand). Generated: do not edit by hand; re-run the refresh, review the diff, commit.
 * catalog.ts lays these entries over its static AWS entries, so the catalog stays one catalog and
 * each entry carries its own source and date. Empty until the first refresh.
 */
import type { PriceEntry } from './catalog.js';

export const REFRESHED_AWS_PRICES: Readonly<Record<string, PriceEntry>> = ${JSON.stringify(sorted, null, 2)};
`;
}
