/**
 * `npm run cost -- --format html`: one self-contained HTML file (inline CSS, the chart as inline
 * SVG, no script, no external resource) with the side-by-side comparison, the chart, each stack's
 * cost lines and managed platforms, its warnings, and every price used with its source and date.
 * Pure: the chart arrives already rendered.
 */
import type { DeploymentCost } from '../../components/cost/price-deployment.js';
import type { StackReport } from '../../components/report.js';
import { comparisonRows } from './cost-formats.js';
import {
  breakEvenLabel,
  formatUsd,
  formatUsdPerMinute,
  savingsLabel,
  summarizeStack,
} from './cost-summary.js';

export type PriceUsed = DeploymentCost['pricesUsed'][number];

export interface HtmlReportInput {
  stacks: ReadonlyArray<{ report: StackReport; pricesUsed: readonly PriceUsed[] }>;
  /** The chart, rendered to an `<svg>` element. */
  chartSvg: string;
  /** What the chart shows and what it leaves out (e.g. minutes where a tier does not fit). */
  chartNotes: readonly string[];
}

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

const CSS = `
body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2rem auto; max-width: 80rem; padding: 0 1rem; color: #1b1f24; line-height: 1.4; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.25rem; margin-top: 2.5rem; border-bottom: 1px solid #d0d7de; padding-bottom: .3rem; } h3 { font-size: 1.05rem; margin-top: 1.5rem; }
table { border-collapse: collapse; margin: .5rem 0 1rem; font-size: .9rem; }
th, td { border: 1px solid #d0d7de; padding: .25rem .6rem; vertical-align: top; }
thead th { background: #f6f8fa; }
tbody th[scope="row"] { text-align: left; font-weight: 600; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.section th { background: #eef2f6; text-align: left; }
tr.total td { font-weight: 600; }
td.basis, td.source { color: #57606a; font-size: .82rem; }
figure { margin: 1rem 0; } figure svg { max-width: 100%; height: auto; }
figcaption, p.note { color: #57606a; font-size: .85rem; }
ul.warnings li { color: #9a6700; }
code { font-size: .85em; }
`;

function table(head: readonly string[], rows: readonly string[], numericColumns: readonly number[] = []): string {
  const th = head.map((h, i) => `<th${numericColumns.includes(i) ? ' class="num"' : ''}>${escapeHtml(h)}</th>`).join('');
  return `<table>\n<thead><tr>${th}</tr></thead>\n<tbody>\n${rows.join('\n')}\n</tbody>\n</table>`;
}

function td(text: string, cls?: string): string {
  return `<td${cls ? ` class="${cls}"` : ''}>${escapeHtml(text)}</td>`;
}

/** Quantities: whole numbers above 1,000, else up to 4 significant digits. */
function formatQuantity(n: number): string {
  if (Math.abs(n) >= 1000) return Math.round(n).toLocaleString('en-US');
  return Number(n.toPrecision(4)).toLocaleString('en-US', { maximumFractionDigits: 6 });
}

function formatUnitUsd(usd: number): string {
  return `$${Number(usd.toPrecision(4)).toLocaleString('en-US', { maximumFractionDigits: 8 })}`;
}

function formatCents(usd: number): string {
  return `${usd < 0 ? '-' : ''}$${Math.abs(usd).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

function comparisonTable(reports: readonly StackReport[]): string {
  const summaries = reports.map(summarizeStack);
  const rows = comparisonRows(summaries).map((row) =>
    row.kind === 'section'
      ? `<tr class="section"><th colspan="${summaries.length + 1}">${escapeHtml(row.label)}</th></tr>`
      : `<tr><th scope="row">${escapeHtml(row.label)}</th>${row.values.map((v) => td(v, 'num')).join('')}</tr>`,
  );
  return table(['', ...summaries.map((s) => s.stack)], rows, summaries.map((_, i) => i + 1));
}

function stackSection(report: StackReport): string {
  const summary = summarizeStack(report);
  const { cost } = report;
  const lineRows = cost.lines.map(
    (l) => `<tr>${td(l.item)}${td(formatQuantity(l.quantity), 'num')}${td(formatUnitUsd(l.unitUsd), 'num')}${td(formatCents(l.monthlyUsd), 'num')}${td(l.basis, 'basis')}</tr>`,
  );
  lineRows.push(
    `<tr class="total">${td('Infrastructure')}<td></td><td></td>${td(formatCents(cost.infraMonthlyUsd), 'num')}<td></td></tr>`,
    `<tr class="total">${td('Providers')}<td></td><td></td>${td(formatCents(cost.providersMonthlyUsd), 'num')}<td></td></tr>`,
    `<tr class="total">${td('Total')}<td></td><td></td>${td(formatCents(cost.monthlyUsd), 'num')}${td(`${formatUsdPerMinute(cost.perMinuteUsd)} per minute over ${summary.monthlyMinutes.toLocaleString('en-US')} minutes`, 'basis')}</tr>`,
  );
  const managedRows = summary.managed.map(
    (m) =>
      `<tr>${td(m.platform)}${td(formatUsdPerMinute(m.perMinuteUsd), 'num')}${td(formatUsd(m.monthlyUsd), 'num')}${td(savingsLabel(m), 'num')}${td(breakEvenLabel(m.breakEvenMinutes), 'num')}</tr>`,
  );
  const warnings =
    report.warnings.length > 0
      ? `<h3>Warnings</h3>\n<ul class="warnings">\n${report.warnings.map((w) => `<li>${escapeHtml(w)}</li>`).join('\n')}\n</ul>`
      : '<h3>Warnings</h3>\n<p class="note">None.</p>';
  return [
    `<h2 id="stack-${escapeHtml(summary.stack)}">Stack ${escapeHtml(summary.stack)}: ${escapeHtml(report.tier)} tier, ${summary.monthlyMinutes.toLocaleString('en-US')} minutes a month</h2>`,
    '<h3>Cost lines</h3>',
    table(['Item', 'Quantity', 'Unit price', 'USD/month', 'Basis'], lineRows, [1, 2, 3]),
    '<h3>Managed platforms at the same minutes</h3>',
    table(['Platform', 'USD/minute', 'USD/month', 'Self-hosting saves', 'Break-even'], managedRows, [1, 2, 3, 4]),
    warnings,
  ].join('\n');
}

/** Prices used by any stack; an entry shared by several stacks (same value, source, date) is listed once. */
function pricesTable(stacks: HtmlReportInput['stacks']): string {
  const byEntry = new Map<string, { price: PriceUsed; stacks: string[] }>();
  for (const { report, pricesUsed } of stacks) {
    for (const price of pricesUsed) {
      const id = JSON.stringify([price.key, price.value, price.unit, price.source, price.date]);
      const entry = byEntry.get(id) ?? { price, stacks: [] };
      entry.stacks.push(report.stack ?? '(unnamed)');
      byEntry.set(id, entry);
    }
  }
  const rows = [...byEntry.values()]
    .sort((a, b) => a.price.key.localeCompare(b.price.key))
    .map(
      ({ price, stacks: used }) =>
        `<tr>${td(price.key)}${td(Number(price.value.toPrecision(6)).toString(), 'num')}${td(price.unit)}${td(price.source, 'source')}${td(price.date)}${td(used.join(', '))}</tr>`,
    );
  return table(['Catalog key', 'Value', 'Unit', 'Source', 'Date', 'Used by'], rows, [1]);
}

export function formatHtml(input: HtmlReportInput): string {
  const reports = input.stacks.map((s) => s.report);
  const names = reports.map((r) => r.stack ?? '(unnamed)');
  const svg = input.chartSvg.replace(/^<svg\b/, '<svg role="img" aria-label="Monthly cost against monthly minutes, per stack"');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Voice agent stacks: projected monthly cost (${escapeHtml(names.join(', '))})</title>
<style>${CSS}</style>
</head>
<body>
<h1>Voice agent stacks: projected monthly cost</h1>
<p>Self-hosted LiveKit voice agents on AWS, planned from each stack's monthly call minutes, priced from the catalog below, and set against managed voice-AI platforms at the same minutes. Stacks: ${escapeHtml(names.join(', '))}. Generated by <code>npm run cost -- --format html</code>.</p>
<h2>Comparison</h2>
${comparisonTable(reports)}
<p class="note">Savings = the platform's monthly cost minus the self-hosted monthly cost at the same minutes (negative: the platform is cheaper), with its share of the platform's cost. Break-even = the monthly minutes above which this stack, its infrastructure held as planned, costs less than the platform ("any volume": always cheaper; "never": the platform's per-minute price is at or below this stack's provider cost per minute).</p>
<h2>Cost against minutes</h2>
<figure>
${svg}
<figcaption>${input.chartNotes.map(escapeHtml).join(' ')}</figcaption>
</figure>
${input.stacks.map((s) => stackSection(s.report)).join('\n')}
<h2>Prices used</h2>
<p class="note">Every catalog entry the cost lines and the platform comparison used, with its source and the date it was read. Override any of them per stack in the stack config (<code>voice-agent-infra:pricing</code>); refresh the AWS ones with <code>npm run pricing:refresh</code>.</p>
${pricesTable(input.stacks)}
</body>
</html>
`;
}
