/**
 * AWS prices refreshed from the AWS Price List API by `npm run pricing:refresh` (us-east-1,
 * on-demand). Generated: do not edit by hand; re-run the refresh, review the diff, commit.
 * catalog.ts lays these entries over its static AWS entries, so the catalog stays one catalog and
 * each entry carries its own source and date. Empty until the first refresh.
 */
import type { PriceEntry } from './catalog.js';

export const REFRESHED_AWS_PRICES: Readonly<Record<string, PriceEntry>> = {};
