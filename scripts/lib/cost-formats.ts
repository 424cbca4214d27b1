/**
 * `npm run cost` output formats, as pure functions of the stack reports: table (terminals),
 * csv (RFC 4180, one row per stack), json (the plan --json contract per stack), markdown (PR
 * comments). The HTML report is in cost-html.ts. Layout of table, markdown and HTML: one column
 * per stack, one row per figure, so stacks read side by side.
 */
import { MODALITY_LABELS } from '../../components/cost/inference-cost.js';
import { MODALITIES, type Modality } from '../../components/inference/plan.js';
import type { StackReport } from '../../components/report.js';
import {
  breakEvenLabel,
  formatInteger,
  formatUsd,
  formatUsdPerMinute,
  managedFor,
  platformNames,
  redisLabel,
  savingsLabel,
  type StackSummary,
  summarizeStack,
} from './cost-summary.js';

export const COST_FORMATS = ['table', 'csv', 'json', 'markdown', 'html'] as const;
export type CostFormat = (typeof COST_FORMATS)[number];

/** A row of the side-by-side comparison: a section heading (no values) or a figure per stack. */
export type ComparisonRow = { kind: 'section'; label: string } | { kind: 'figure'; label: string; values: string[] };

/** The comparison, in display strings, one value per stack in the order given. */
export function comparisonRows(summaries: readonly StackSummary[]): ComparisonRow[] {
  const figure = (label: string, value: (s: StackSummary) => string): ComparisonRow => ({ kind: 'figure', label, values: summaries.map(value) });
  const section = (label: string): ComparisonRow => ({ kind: 'section', label });
  const platforms = platformNames(summaries);
  const perPlatform = (value: (m: NonNullable<ReturnType<typeof managedFor>>) => string) =>
    platforms.map((p) => figure(p, (s) => {
      const m = managedFor(s, p);
      return m ? value(m) : '-';
    }));
  return [
    section('Plan'),
    figure('Tier', (s) => s.tier),
    figure('Target', (s) => s.target),
    figure('Monthly minutes', (s) => formatInteger(s.monthlyMinutes)),
    figure('Busy-hour sessions', (s) => formatInteger(s.busyHourSessions)),
    figure('Spike sessions', (s) => formatInteger(s.spikeSessions)),
    figure('Agent workers (min-max)', (s) => `${s.workers.min}-${s.workers.max}${s.tier === 'small' ? ' (shared box)' : ` x ${s.agentInstanceType}`}`),
    figure('LiveKit nodes (min-max)', (s) => `${s.livekitNodes.min}-${s.livekitNodes.max} x ${s.livekitInstanceType}`),
    figure('Redis', (s) => redisLabel(s.redis)),
    section('Self-hosted cost'),
    figure('Infra $/month', (s) => formatUsd(s.infraMonthlyUsd)),
    figure('Providers $/month', (s) => formatUsd(s.providersMonthlyUsd)),
    figure('Total $/month', (s) => formatUsd(s.monthlyUsd)),
    figure('$/minute', (s) => formatUsdPerMinute(s.perMinuteUsd)),
    section('Managed platforms at the same minutes, $/month ($/minute)'),
    ...perPlatform((m) => `${formatUsd(m.monthlyUsd)} (${formatUsdPerMinute(m.perMinuteUsd)})`),
    section('Savings by self-hosting, $/month (share of the platform cost; negative: the platform is cheaper)'),
    ...perPlatform(savingsLabel),
    figure('Cheapest platform', (s) => (s.cheapestManaged ? `${s.cheapestManaged.platform} ${formatUsd(s.cheapestManaged.monthlyUsd)}` : '-')),
    figure('Savings vs cheapest', (s) => (s.cheapestManaged ? savingsLabel(s.cheapestManaged) : '-')),
    section('Break-even: monthly minutes above which self-hosting is cheaper'),
    ...perPlatform((m) => breakEvenLabel(m.breakEvenMinutes)),
    ...inferenceRows(summaries, figure, section),
  ];
}

/** The local models present in any of the stacks, in a stable order. */
export function localModalities(summaries: readonly StackSummary[]): Modality[] {
  return MODALITIES.filter((m) => summaries.some((s) => s.inference.some((c) => c.modality === m)));
}

/** Local models (when any stack runs one): GPUs, their cost against the hosted provider's, the break-even. */
function inferenceRows(
  summaries: readonly StackSummary[],
  figure: (label: string, value: (s: StackSummary) => string) => ComparisonRow,
  section: (label: string) => ComparisonRow,
): ComparisonRow[] {
  const modalities = localModalities(summaries);
  if (modalities.length === 0) return [];
  const of = (s: StackSummary, m: Modality) => s.inference.find((c) => c.modality === m);
  return [
    section('Local models: GPUs priced as infrastructure, against the hosted provider for the same usage'),
    ...modalities.flatMap((m) => {
      const label = MODALITY_LABELS[m];
      return [
        figure(`Local ${label} GPUs (min-max)`, (s) => {
          const c = of(s, m);
          return c ? `${c.gpus.min}-${c.gpus.max} x ${c.instanceType}` : '-';
        }),
        figure(`Local ${label} vs hosted, $/month`, (s) => {
          const c = of(s, m);
          return c ? `${formatUsd(c.localMonthlyUsd)} vs ${formatUsd(c.hostedMonthlyUsd)} ${c.hosted}` : '-';
        }),
        figure(`Local ${label} cheaper from (break-even)`, (s) => {
          const c = of(s, m);
          return c ? breakEvenLabel(c.breakEvenMinutes) : '-';
        }),
      ];
    }),
  ];
}

/** Warnings per stack, one line each, prefixed by the stack name. */
function warningLines(summaries: readonly StackSummary[]): string[] {
  return summaries.flatMap((s) => s.warnings.map((w) => `[${s.stack}] ${w}`));
}

/** Aligned text for terminals: labels left, values right-aligned under each stack's name. */
export function formatTable(reports: readonly StackReport[]): string {
  const summaries = reports.map(summarizeStack);
  const rows = comparisonRows(summaries);
  const labelOf = (r: ComparisonRow) => (r.kind === 'section' ? r.label : `  ${r.label}`);
  const labelWidth = Math.max(...rows.filter((r) => r.kind === 'figure').map((r) => labelOf(r).length));
  const widths = summaries.map((s, i) => Math.max(s.stack.length, ...rows.map((r) => (r.kind === 'figure' ? r.values[i]!.length : 0))));
  const header = ''.padEnd(labelWidth) + summaries.map((s, i) => `  ${s.stack.padStart(widths[i]!)}`).join('');
  const lines = [header];
  for (const row of rows) {
    if (row.kind === 'section') lines.push('', row.label);
    else lines.push(labelOf(row).padEnd(labelWidth) + row.values.map((v, i) => `  ${v.padStart(widths[i]!)}`).join(''));
  }
  const warnings = warningLines(summaries);
  if (warnings.length > 0) lines.push('', 'Warnings', ...warnings.map((w) => `  ${w}`));
  return `${lines.map((l) => l.trimEnd()).join('\n')}\n`;
}

/** A GitHub-flavoured markdown table (for PR comments), warnings as a list below it. */
export function formatMarkdown(reports: readonly StackReport[]): string {
  const summaries = reports.map(summarizeStack);
  const cell = (text: string) => text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
  const lines = [
    `| | ${summaries.map((s) => cell(s.stack)).join(' | ')} |`,
    `| --- | ${summaries.map(() => '---:').join(' | ')} |`,
  ];
  for (const row of comparisonRows(summaries)) {
    if (row.kind === 'section') lines.push(`| **${cell(row.label)}** | ${summaries.map(() => '').join(' | ')} |`);
    else lines.push(`| ${cell(row.label)} | ${row.values.map(cell).join(' | ')} |`);
  }
  const warnings = warningLines(summaries);
  if (warnings.length > 0) lines.push('', '**Warnings**', '', ...warnings.map((w) => `- ${cell(w)}`));
  return `${lines.join('\n')}\n`;
}

/**
 * `--format json`: `{ "stacks": [ <StackReport>, ... ] }`, each exactly the `npm run plan -- --json`
 * object (issue "Foundation", item 6). An object rather than a bare array so fields can be added
 * beside `stacks` without breaking readers.
 */
export function formatJson(reports: readonly StackReport[]): string {
  return `${JSON.stringify({ stacks: reports }, null, 2)}\n`;
}

/** CSV column name stem for a platform: "LiveKit Cloud" -> "livekitCloud", "Managed, all-in (article, low)" -> "managedAllInArticleLow". */
export function platformColumnStem(platform: string): string {
  const words = platform.toLowerCase().split(/[^a-z0-9]+/).filter(Boolean);
  return words.map((w, i) => (i === 0 ? w : w[0]!.toUpperCase() + w.slice(1))).join('');
}

/** Dollars to the cent, per-minute prices to a ten-thousandth of a cent: what a spreadsheet needs. */
const cents = (usd: number) => String(Math.round(usd * 100) / 100);
const perMinute = (usd: number) => String(Math.round(usd * 1e6) / 1e6);

/**
 * RFC 4180 CSV, one row per stack, a header row, CRLF line ends; fields with commas, quotes or
 * line breaks are quoted. Monthly figures in USD to the cent, $/minute to 6 decimals; per platform
 * three columns: <stem>MonthlyUsd, <stem>SavingsMonthlyUsd, <stem>BreakEvenMinutes (empty: never).
 * Warnings are joined with " | " in the last column.
 */
export function formatCsv(reports: readonly StackReport[]): string {
  const summaries = reports.map(summarizeStack);
  const platforms = platformNames(summaries);
  const columns: Array<[name: string, value: (s: StackSummary) => string | number]> = [
    ['stack', (s) => s.stack],
    ['tier', (s) => s.tier],
    ['target', (s) => s.target],
    ['monthlyMinutes', (s) => s.monthlyMinutes],
    ['busyHourSessions', (s) => s.busyHourSessions],
    ['spikeSessions', (s) => s.spikeSessions],
    ['agentInstanceType', (s) => s.agentInstanceType],
    ['workersMin', (s) => s.workers.min],
    ['workersMax', (s) => s.workers.max],
    ['livekitInstanceType', (s) => s.livekitInstanceType],
    ['livekitNodesMin', (s) => s.livekitNodes.min],
    ['livekitNodesMax', (s) => s.livekitNodes.max],
    ['redisMode', (s) => s.redis.mode],
    ['redisNodeType', (s) => s.redis.nodeType ?? ''],
    ['redisReplicas', (s) => s.redis.replicas],
    ['infraMonthlyUsd', (s) => cents(s.infraMonthlyUsd)],
    ['providersMonthlyUsd', (s) => cents(s.providersMonthlyUsd)],
    ['monthlyUsd', (s) => cents(s.monthlyUsd)],
    ['perMinuteUsd', (s) => perMinute(s.perMinuteUsd)],
    ...platforms.flatMap((p): Array<[string, (s: StackSummary) => string]> => {
      const stem = platformColumnStem(p);
      const of = (s: StackSummary, pick: (m: NonNullable<ReturnType<typeof managedFor>>) => string) => {
        const m = managedFor(s, p);
        return m ? pick(m) : '';
      };
      return [
        [`${stem}MonthlyUsd`, (s) => of(s, (m) => cents(m.monthlyUsd))],
        [`${stem}SavingsMonthlyUsd`, (s) => of(s, (m) => cents(m.savingsMonthlyUsd))],
        [`${stem}BreakEvenMinutes`, (s) => of(s, (m) => (m.breakEvenMinutes === null ? '' : String(m.breakEvenMinutes)))],
      ];
    }),
    ...localModalities(summaries).flatMap((m): Array<[string, (s: StackSummary) => string]> => {
      const of = (s: StackSummary) => s.inference.find((c) => c.modality === m);
      return [
        [`local${MODALITY_LABELS[m][0]}${MODALITY_LABELS[m].slice(1).toLowerCase()}MonthlyUsd`, (s) => (of(s) ? cents(of(s)!.localMonthlyUsd) : '')],
        [`hosted${MODALITY_LABELS[m][0]}${MODALITY_LABELS[m].slice(1).toLowerCase()}MonthlyUsd`, (s) => (of(s) ? cents(of(s)!.hostedMonthlyUsd) : '')],
        [`local${MODALITY_LABELS[m][0]}${MODALITY_LABELS[m].slice(1).toLowerCase()}BreakEvenMinutes`, (s) => (of(s)?.breakEvenMinutes != null ? String(of(s)!.breakEvenMinutes) : '')],
      ];
    }),
    ['cheapestManagedPlatform', (s) => s.cheapestManaged?.platform ?? ''],
    ['cheapestManagedMonthlyUsd', (s) => (s.cheapestManaged ? cents(s.cheapestManaged.monthlyUsd) : '')],
    ['savingsVsCheapestMonthlyUsd', (s) => (s.cheapestManaged ? cents(s.cheapestManaged.savingsMonthlyUsd) : '')],
    ['warnings', (s) => s.warnings.join(' | ')],
  ];
  const records = [columns.map(([name]) => name), ...summaries.map((s) => columns.map(([, value]) => String(value(s))))];
  return records.map((fields) => fields.map(csvField).join(',')).join('\r\n') + '\r\n';
}

/** One RFC 4180 field: quoted (inner quotes doubled) when it holds a comma, quote or line break. */
export function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
