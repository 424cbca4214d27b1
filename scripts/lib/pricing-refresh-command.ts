/**
 * `npm run pricing:refresh [-- --dry-run] [--json]`, with its effects injected: the Price List
 * client (a factory, so tests hand in a fake over a recorded response), the file write, the rebuild
 * of the common package and the clock. scripts/pricing-refresh.ts wires the real ones.
 *
 * Atomic: every AWS entry of the catalog is refreshed or nothing is written.
 */
import { parseArgs } from 'node:util';
import type { PriceCatalog } from '@voice-agent-infra/common';
import { usageFromParseArgs, UsageError } from './cli.js';
import { type GetProducts, priceChanges, PriceListFormatError, refreshAwsPrices, renderAwsPricesModule } from './aws-pricing.js';

export const USAGE = 'usage: npm run pricing:refresh -- [--dry-run] [--json]';

/** The Price List API as the command needs it. */
export interface PriceListClient {
  /** Resolves credentials through the SDK's provider chain; throws when none are found. */
  checkCredentials(): Promise<void>;
  getProducts: GetProducts;
  close(): void;
}

export interface PricingRefreshDeps {
  /** Called once the flags are good (so --help and bad flags never load the SDK). */
  client: () => PriceListClient | Promise<PriceListClient>;
  catalog: PriceCatalog;
  /** Path shown to the user for the generated module (e.g. common/src/aws-prices.ts). */
  modulePath: string;
  writeModule: (text: string) => void;
  /** Rebuilds common/dist so the CLIs and the program read the new prices. */
  rebuild: () => void;
  /** Today, YYYY-MM-DD (UTC). */
  today: () => string;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

/** No credentials found by the SDK's provider chain: the user's to fix (exit 2). */
export function missingCredentials(error: unknown): UsageError {
  const reason = (error instanceof Error ? error.message : String(error)).split('\n')[0];
  return new UsageError(
    `no AWS credentials (${reason}): set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, for an identity allowed pricing:GetProducts; the catalog is unchanged`,
  );
}

/** AWS answered that the credentials are bad or lack the permission: also the user's to fix. */
const REJECTED_CREDENTIALS = new Set([
  'AccessDeniedException',
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'InvalidSignatureException',
  'ExpiredTokenException',
  'ExpiredToken',
]);

export async function pricingRefresh(argv: string[], deps: PricingRefreshDeps): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { 'dry-run': { type: 'boolean' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw usageFromParseArgs(error, 'npm run pricing:refresh --');
  }
  if (values.help) {
    deps.stdout(`${USAGE}\n`);
    return;
  }

  const client = await deps.client();
  try {
    try {
      await client.checkCredentials();
    } catch (error) {
      throw missingCredentials(error);
    }
    const date = deps.today();
    let result;
    try {
      result = await refreshAwsPrices(client.getProducts, deps.catalog, date, (query, index, total) =>
        deps.stderr(`pricing:refresh: ${index + 1}/${total} ${query.serviceCode} ${query.targets.map((t) => t.key).join(', ')}\n`),
      );
    } catch (error) {
      const name = (error as { name?: string } | null)?.name ?? '';
      if (REJECTED_CREDENTIALS.has(name)) {
        throw new UsageError(`AWS rejected the request (${name}: ${(error as Error).message.split('\n')[0]}); the identity needs pricing:GetProducts; the catalog is unchanged`);
      }
      if (error instanceof PriceListFormatError) throw new Error(`${error.message}; the catalog is unchanged`);
      throw error;
    }
    if (result.missing.length > 0) {
      throw new Error(`the Price List returned no on-demand us-east-1 price for ${result.missing.join(', ')}; the catalog is unchanged`);
    }

    const changes = priceChanges(deps.catalog, result.entries);
    if (values.json) {
      deps.stdout(`${JSON.stringify({ date, entries: result.entries }, null, 2)}\n`);
    } else {
      deps.stdout(changesTable(changes));
    }
    if (values['dry-run']) {
      deps.stderr(`pricing:refresh: dry run: ${changes.length} prices read, ${deps.modulePath} not written\n`);
      return;
    }
    deps.writeModule(renderAwsPricesModule(result.entries));
    deps.rebuild();
    const changed = changes.filter((c) => c.previousUsd !== c.refreshedUsd).length;
    deps.stderr(`pricing:refresh: wrote ${changes.length} prices (${changed} changed) dated ${date} to ${deps.modulePath}; review with git diff ${deps.modulePath} and commit\n`);
  } finally {
    client.close();
  }
}

/** key, previous value (its date), refreshed value, change in percent: what finance reviews. */
export function changesTable(changes: ReturnType<typeof priceChanges>): string {
  const rows = [
    ['catalog key', 'previous $', 'previous date', 'refreshed $', 'change'],
    ...changes.map((c) => [
      c.key,
      String(c.previousUsd),
      c.previousDate,
      String(c.refreshedUsd),
      c.previousUsd === c.refreshedUsd ? '-' : c.previousUsd === 0 ? 'new' : `${(((c.refreshedUsd - c.previousUsd) / c.previousUsd) * 100).toFixed(1)}%`,
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return `${rows.map((r) => r.map((cell, i) => (i === 0 || i === 2 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ').trimEnd()).join('\n')}\n`;
}
