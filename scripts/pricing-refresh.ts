/**
 * `npm run pricing:refresh [-- --dry-run] [--json]`
 *
 * Refreshes the AWS entries of the shared price catalog (EC2 instance types, ElastiCache node types,
 * NLB hour and NLCU) from the AWS Price List API and writes them to common/src/aws-prices.ts, which
 * common/src/catalog.ts lays over its static entries; then rebuilds common/dist. Needs credentials
 * allowed `pricing:GetProducts`; without them, one line and exit 2, the catalog unchanged.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { DEFAULT_CATALOG } from '@voice-agent-infra/common';
import { PRICE_LIST_ENDPOINT_REGION } from './lib/aws-pricing.js';
import { runCli } from './lib/cli.js';
import { type PriceListClient, pricingRefresh } from './lib/pricing-refresh-command.js';
import { REPO_ROOT } from './lib/stacks.js';

const MODULE_PATH = 'common/src/aws-prices.ts';

async function awsPriceListClient(): Promise<PriceListClient> {
  // The SDK warns (several lines on stderr) that it will need Node 22 from 2027; this CLI runs on
  // the project's Node 20 and prints one line per outcome. Set the variable to "false" to see it.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const { GetProductsCommand, PricingClient } = await import('@aws-sdk/client-pricing');
  const client = new PricingClient({ region: PRICE_LIST_ENDPOINT_REGION });
  return {
    checkCredentials: async () => {
      await client.config.credentials();
    },
    getProducts: (input) => client.send(new GetProductsCommand(input)),
    close: () => client.destroy(),
  };
}

function rebuildCommon(): void {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  try {
    // tsc reports on stdout: send it to stderr, stdout carries the data.
    execFileSync(process.execPath, [tsc, '-b', join(REPO_ROOT, 'common')], { stdio: ['ignore', 2, 2] });
  } catch {
    throw new Error(`wrote ${MODULE_PATH} but rebuilding common failed; run \`npx tsc -b common\``);
  }
}

await runCli('pricing:refresh', async () => {
  await pricingRefresh(process.argv.slice(2), {
    client: awsPriceListClient,
    catalog: DEFAULT_CATALOG,
    modulePath: MODULE_PATH,
    writeModule: (text) => writeFileSync(join(REPO_ROOT, MODULE_PATH), text),
    rebuild: rebuildCommon,
    today: () => new Date().toISOString().slice(0, 10),
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  });
});
