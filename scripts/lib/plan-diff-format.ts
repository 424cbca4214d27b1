/**
 * `npm run diff` output formats, pure: a PlanDiff in, text out.
 * - table: terminals;
 * - markdown: one pull-request comment (summary line per stack, a table, details per stack
 *   collapsed), under 65,000 characters, with a hidden marker line so CI updates it in place;
 * - json: the shape tools that read Infracost's diff output expect (root version, currency,
 *   projects[].pastBreakdown / breakdown / diff with decimal-string costs; infracost
 *   internal/output/output.go, version 0.2), our detail in projects[].changes.
 */
import { HOURS_PER_MONTH } from '../../components/cost/price-deployment.js';
import { formatUsd, formatUsdPerMinute } from './cost-summary.js';
import { shortType } from './offline-plan.js';
import type { InputChange, PlanDiff, ResourceChange, ResourceDiff, ResourceRef, SavedStackPlan, StackDiff } from './plan-diff.js';

export const DIFF_FORMATS = ['table', 'markdown', 'json'] as const;
export type DiffFormat = (typeof DIFF_FORMATS)[number];

/** First line of the PR comment; the preview workflow finds its earlier comment by it. */
export const DIFF_MARKER = '<!-- voice-agent-infra:plan-diff -->';
/** GitHub refuses comments over 65,536 characters; the issue asks for under 65,000. */
export const MARKDOWN_LIMIT_CHARS = 65_000;
/** Infracost's JSON output version (internal/output/output.go `outputVersion`; Load accepts 0.2 only). */
export const INFRACOST_JSON_VERSION = '0.2';

/** Where the two sides came from, and when the diff was made (the formats add no clock of their own). */
export interface DiffMeta {
  base: { label: string; commit?: string };
  head: { label: string; commit?: string };
  /** ISO 8601 time the diff was generated. */
  generatedAt: string;
}

// --------------------------------------------------------------------------------------------
// Shared wording

/** Dollars: cents under $10 (a $0.40 change is not "$0"), whole dollars above. */
function usd(amount: number): string {
  return Math.abs(amount) < 10 && amount !== 0 ? `${amount < 0 ? '-' : ''}$${Math.abs(amount).toFixed(2)}` : formatUsd(amount);
}

function signedUsd(amount: number): string {
  return amount > 0 ? `+${usd(amount)}` : usd(amount);
}

function signedPercent(percent: number): string {
  const digits = Math.abs(percent) < 10 ? 1 : 0;
  return `${percent > 0 ? '+' : ''}${percent.toFixed(digits)}%`;
}

const customOnly = (list: readonly ResourceRef[]) => list.filter((r) => r.custom);

/** Counts of cloud resources (components left out): added, removed, changed in place, replaced. */
export function resourceCounts(r: ResourceDiff): { added: number; removed: number; updated: number; replaced: number } {
  const changed = r.changed.filter((c) => c.custom && c.changes.length > 0);
  return {
    added: customOnly(r.added).length,
    removed: customOnly(r.removed).length,
    updated: changed.filter((c) => c.action === 'update').length,
    replaced: changed.filter((c) => c.action === 'replace').length,
  };
}

function resourcePhrase(s: StackDiff): string {
  if (!s.resources) return 'resources not compared (a side was planned without its resource list)';
  const n = resourceCounts(s.resources);
  const parts = [
    n.added ? `${n.added} resource${n.added === 1 ? '' : 's'} added` : '',
    n.removed ? `${n.removed} removed` : '',
    n.updated ? `${n.updated} changed` : '',
    n.replaced ? `${n.replaced} replaced` : '',
  ].filter(Boolean);
  return parts.length > 0 ? parts.join(', ') : 'no resource changes';
}

/** "mid: monthly estimate up $412 (+19%) to $2,538; 3 resources added, 1 replaced". */
export function summaryLine(s: StackDiff): string {
  const m = s.cost.monthlyUsd;
  if (s.status === 'added') return `${s.stack}: new stack, ${usd(m.after ?? 0)}/month; ${resourcePhrase(s)}`;
  if (s.status === 'removed') return `${s.stack}: stack removed (was ${usd(m.before ?? 0)}/month); ${resourcePhrase(s)}`;
  if (s.status === 'unchanged') return `${s.stack}: no change (${usd(m.after ?? 0)}/month)`;
  const cents = Math.round((m.after ?? 0) * 100) - Math.round((m.before ?? 0) * 100);
  const cost =
    cents === 0
      ? `monthly estimate unchanged at ${usd(m.after ?? 0)}`
      : `monthly estimate ${cents > 0 ? 'up' : 'down'} ${usd(Math.abs(m.delta))}${m.percent === null ? '' : ` (${signedPercent(m.percent)})`} to ${usd(m.after ?? 0)}`;
  return `${s.stack}: ${cost}; ${resourcePhrase(s)}`;
}

/** What a reviewer must not miss: replacements and removals that drop calls or lose data, disruptive updates. */
export function alerts(s: StackDiff): string[] {
  if (!s.resources) return [];
  const out: string[] = [];
  for (const c of s.resources.changed) {
    const id = `${shortType(c.type)} ${c.name}`;
    if (c.action === 'replace') out.push(`${id} is replaced (${c.replaceReasons.join(', ')})${c.impact ? `: ${c.impact}` : ''}`);
    else if (c.effects.length > 0) out.push(`${id}: ${c.effects.join('; ')} (${c.changes.map((x) => x.path).join(', ')})`);
  }
  for (const r of s.resources.removed) if (r.impact) out.push(`${shortType(r.type)} ${r.name} is removed: ${r.impact}`);
  return out;
}

// --------------------------------------------------------------------------------------------
// Values

const MAX_VALUE_CHARS = 100;

/** A value as the diff shows it: JSON-ish, long text summarized (the user data is kilobytes). */
export function displayValue(value: unknown): string {
  if (value === undefined) return '(unset)';
  if (typeof value === 'string') {
    if (value.includes('\n') || value.length > MAX_VALUE_CHARS) return `<${value.length.toLocaleString('en-US')} characters>`;
    return JSON.stringify(value);
  }
  const text = JSON.stringify(value) ?? String(value);
  return text.length > MAX_VALUE_CHARS ? `${text.slice(0, MAX_VALUE_CHARS - 1)}…` : text;
}

/** Text inside a long string: base64 user data decoded when it decodes to text (cloud-init, a script). */
function asText(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  if (!value.includes('\n') && /^[A-Za-z0-9+/=\s]{40,}$/.test(value)) {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    if (/^(#cloud-config|#!|Content-Type: multipart)/.test(decoded)) return decoded;
  }
  return value.includes('\n') ? value : null;
}

/** Lines only one side has (multiset difference), for long text changes. */
export function lineChanges(before: unknown, after: unknown, maxEach = 6): string[] {
  const a = asText(before);
  const b = asText(after);
  if (a === null || b === null) return [];
  const count = (lines: string[]) => lines.reduce((m, l) => m.set(l, (m.get(l) ?? 0) + 1), new Map<string, number>());
  const minus = (x: Map<string, number>, y: Map<string, number>) =>
    [...x].flatMap(([l, n]) => Array<string>(Math.max(0, n - (y.get(l) ?? 0))).fill(l)).filter((l) => l.trim() !== '');
  const [ca, cb] = [count(a.split('\n')), count(b.split('\n'))];
  const removed = minus(ca, cb);
  const added = minus(cb, ca);
  const cut = (lines: string[], sign: string) => [
    ...lines.slice(0, maxEach).map((l) => `${sign} ${l.length > 160 ? `${l.slice(0, 159)}…` : l}`),
    ...(lines.length > maxEach ? [`${sign} … ${lines.length - maxEach} more`] : []),
  ];
  return [...cut(removed, '-'), ...cut(added, '+')];
}

function changeLine(c: InputChange): string {
  return `${c.path}: ${displayValue(c.before)} → ${displayValue(c.after)}${c.cause ? ` (${c.cause})` : ''}`;
}

// --------------------------------------------------------------------------------------------
// Resources, as lines (shared by table and markdown)

/** Changed resources grouped when several got exactly the same changes (a tag on every resource). */
function groupChanges(changed: readonly ResourceChange[]): ResourceChange[][] {
  const groups = new Map<string, ResourceChange[]>();
  for (const c of changed) {
    const single = c.action === 'update' && c.effects.length === 0 && c.notes.length === 0 && c.ignored.length === 0;
    const key = single ? JSON.stringify(c.changes.map((x) => [x.path, x.before, x.after])) : `${c.type}\0${c.name}\0${c.parent}`;
    groups.set(key, [...(groups.get(key) ?? []), c]);
  }
  return [...groups.values()];
}

function names(list: readonly ResourceRef[], max = 6): string {
  const shown = list.slice(0, max).map((r) => r.name);
  return list.length > max ? `${shown.join(', ')} and ${list.length - max} more` : shown.join(', ');
}

/**
 * The resource lines of one stack: `+` added, `-` removed, `~` changed in place, `-/+` replaced,
 * input changes indented below. `detail` false keeps one line per resource.
 */
export function resourceLines(r: ResourceDiff, detail: boolean): string[] {
  const lines: string[] = [];
  const label = (x: ResourceRef) => `${shortType(x.type)} ${x.name}${x.custom ? '' : ' (component)'}`;
  for (const a of r.added) lines.push(`+ ${label(a)}`);
  for (const d of r.removed) lines.push(`- ${label(d)}${d.impact ? `: ${d.impact}` : ''}`);
  for (const group of groupChanges(r.changed.filter((c) => c.changes.length > 0 || c.ignored.length > 0))) {
    const c = group[0]!;
    if (group.length > 2) {
      lines.push(`~ ${group.length} resources (${names(group)}): ${c.changes.map(changeLine).join('; ')}`);
      continue;
    }
    for (const one of group) {
      const head =
        one.action === 'replace'
          ? `-/+ ${label(one)}: replaced (${one.replaceReasons.join(', ')})${one.impact ? `: ${one.impact}` : ''}`
          : one.changes.length === 0
            ? `  ${label(one)}: no change (ignoreChanges drops ${one.ignored.map((x) => x.path).join(', ')})`
            : `~ ${label(one)}${one.effects.length > 0 ? `: ${one.effects.join('; ')}` : ''}`;
      lines.push(head);
      if (!detail) continue;
      for (const x of one.changes) {
        lines.push(`      ${changeLine(x)}`);
        for (const l of lineChanges(x.before, x.after)) lines.push(`        ${l}`);
      }
      if (one.changes.length > 0) for (const x of one.ignored) lines.push(`      ${x.path}: ignored (ignoreChanges), stays ${displayValue(x.before)}`);
      for (const n of one.notes) lines.push(`      note: ${n}`);
    }
  }
  return lines;
}

function planRows(s: StackDiff): string[][] {
  return s.plan.map((p) => [p.field, String(p.before), String(p.after)]);
}

function costRows(s: StackDiff): string[][] {
  const cell = (v: number | null) => (v === null ? '-' : usd(v));
  return s.cost.lines
    .filter((l) => l.deltaMonthlyUsd !== 0 || l.beforeMonthlyUsd === null || l.afterMonthlyUsd === null)
    .map((l) => [l.item, cell(l.beforeMonthlyUsd), cell(l.afterMonthlyUsd), signedUsd(l.deltaMonthlyUsd)]);
}

/** "Monthly cost change for mid: +$412 ($2,126 → $2,538), +19%" (Infracost's closing line, our figures). */
function totalLine(s: StackDiff): string {
  const m = s.cost.monthlyUsd;
  const percent = m.percent === null ? '' : `, ${signedPercent(m.percent)}`;
  const perMinute = s.cost.perMinuteUsd;
  const perMinuteText =
    perMinute.before !== null && perMinute.after !== null
      ? `; per minute ${formatUsdPerMinute(perMinute.before)} → ${formatUsdPerMinute(perMinute.after)} (${perMinute.delta >= 0 ? '+' : '-'}${formatUsdPerMinute(Math.abs(perMinute.delta))})`
      : '';
  return `Monthly cost change for ${s.stack}: ${signedUsd(m.delta)} (${m.before === null ? '-' : usd(m.before)} → ${m.after === null ? '-' : usd(m.after)})${percent}${perMinuteText}`;
}

// --------------------------------------------------------------------------------------------
// table

function textTable(rows: string[][], rightAligned: ReadonlySet<number> = new Set()): string[] {
  if (rows.length === 0) return [];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => r.map((cell, c) => (rightAligned.has(c) ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ').trimEnd());
}

export function formatDiffTable(diff: PlanDiff, meta: DiffMeta): string {
  const out: string[] = [`Plan diff: ${meta.base.label} -> ${meta.head.label}`, ''];
  for (const s of diff.stacks) out.push(`  ${summaryLine(s)}`);
  for (const s of diff.stacks) {
    if (s.status === 'unchanged') continue;
    out.push('', `== ${s.stack} (${s.status}${s.tier.before !== s.tier.after ? `, tier ${s.tier.before ?? '-'} -> ${s.tier.after ?? '-'}` : ''})`);
    for (const a of alerts(s)) out.push(`  ! ${a}`);
    if (s.plan.length > 0) out.push('', '  Plan', ...textTable([['', 'before', 'after'], ...planRows(s)]).map((l) => `    ${l}`));
    if (s.warnings.added.length + s.warnings.removed.length > 0) {
      out.push('', '  Warnings', ...s.warnings.added.map((w) => `    + ${w}`), ...s.warnings.removed.map((w) => `    - ${w}`));
    }
    if (s.resources) {
      const lines = resourceLines(s.resources, true);
      if (lines.length > 0) out.push('', '  Resources', ...lines.map((l) => `    ${l}`));
    }
    const rows = costRows(s);
    if (rows.length > 0) out.push('', '  Cost per month', ...textTable([['item', 'before', 'after', 'change'], ...rows], new Set([1, 2, 3])).map((l) => `    ${l}`));
    out.push('', `  ${totalLine(s)}`);
  }
  return `${out.join('\n')}\n`;
}

// --------------------------------------------------------------------------------------------
// markdown

const cell = (text: string) => text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
/** Text inside a fenced block cannot close it. */
const fenced = (text: string) => text.replace(/```/g, "'''");

function markdownTable(header: string[], rows: string[][], right: ReadonlySet<number> = new Set()): string[] {
  return [
    `| ${header.map(cell).join(' | ')} |`,
    `| ${header.map((_, i) => (right.has(i) ? '---:' : '---')).join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ];
}

function overviewRow(s: StackDiff): string[] {
  const m = s.cost.monthlyUsd;
  const tier = s.tier.before === s.tier.after ? (s.tier.after ?? '-') : `${s.tier.before ?? '-'} → ${s.tier.after ?? '-'}`;
  const change = s.status === 'added' || s.status === 'removed' ? signedUsd(m.delta) : `${signedUsd(m.delta)}${m.percent === null ? '' : ` (${signedPercent(m.percent)})`}`;
  const pm = s.cost.perMinuteUsd;
  const perMinute = [pm.before, pm.after].map((v) => (v === null ? '-' : formatUsdPerMinute(v))).join(' → ');
  const n = s.resources ? resourceCounts(s.resources) : null;
  return [
    s.stack,
    tier,
    m.before === null ? '-' : usd(m.before),
    m.after === null ? '-' : usd(m.after),
    s.status === 'unchanged' ? '-' : change,
    perMinute,
    n ? `${n.added} / ${n.removed} / ${n.updated} / ${n.replaced}` : 'not compared',
  ];
}

function detailsBlock(s: StackDiff, detail: boolean): string {
  const parts: string[] = [`<details><summary>${escapeHtml(summaryLine(s))}</summary>`, ''];
  if (s.plan.length > 0) parts.push('**Plan**', '', ...markdownTable(['', 'before', 'after'], planRows(s)), '');
  if (s.warnings.added.length + s.warnings.removed.length > 0) {
    parts.push('**Warnings**', '', ...s.warnings.added.map((w) => `- new: ${cell(w)}`), ...s.warnings.removed.map((w) => `- gone: ${cell(w)}`), '');
  }
  if (s.resources) {
    const lines = resourceLines(s.resources, detail);
    if (lines.length > 0) parts.push('**Resources**', '', '```diff', ...lines.map(fenced), '```', '');
  }
  const rows = costRows(s);
  if (rows.length > 0) parts.push('**Cost per month**', '', ...markdownTable(['item', 'before', 'after', 'change'], rows, new Set([1, 2, 3])), '');
  parts.push(totalLine(s), '', '</details>', '');
  return parts.join('\n');
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function sideLabel(side: DiffMeta['base']): string {
  return `\`${side.label}\`${side.commit ? ` (${side.commit.slice(0, 7)})` : ''}`;
}

/** One PR comment: marker, summary line per stack, alerts, a table, details per changed stack collapsed. */
export function formatDiffMarkdown(diff: PlanDiff, meta: DiffMeta, limitChars = MARKDOWN_LIMIT_CHARS): string {
  const head: string[] = [
    DIFF_MARKER,
    '### Infrastructure plan diff',
    '',
    `Offline plan (the Pulumi program under mocks, no cloud calls) of ${sideLabel(meta.base)} → ${sideLabel(meta.head)}.`,
    '',
    ...diff.stacks.map((s) => `- **${cell(s.stack)}**: ${cell(summaryLine(s).slice(s.stack.length + 2))}`),
    '',
  ];
  const warnings = diff.stacks.flatMap((s) => alerts(s).map((a) => `> ⚠️ **${cell(s.stack)}**: ${cell(a)}`));
  if (warnings.length > 0) head.push(...warnings.flatMap((w) => [w, '>']).slice(0, -1), '');
  head.push(...markdownTable(['stack', 'tier', 'before $/month', 'after $/month', 'change', '$/minute', 'resources + / - / ~ / -/+'], diff.stacks.map(overviewRow), new Set([2, 3, 4])), '');

  const footer = '<sub>`npm run diff`: replacements per the replace-on-change table in scripts/lib/plan-diff-replace.ts; `pulumi preview` has the last word.</sub>\n';
  const reserve = 600; // room for the note on what was left out, and the footer
  let text = `${head.join('\n')}\n`;
  const shortened: string[] = [];
  const omitted: string[] = [];
  for (const s of diff.stacks.filter((x) => x.status !== 'unchanged')) {
    const full = detailsBlock(s, true);
    if (text.length + full.length + reserve <= limitChars) {
      text += full;
      continue;
    }
    const compact = detailsBlock(s, false);
    if (text.length + compact.length + reserve <= limitChars) {
      text += compact;
      shortened.push(s.stack);
    } else {
      omitted.push(s.stack);
    }
  }
  if (shortened.length + omitted.length > 0) {
    const list = (l: string[]) => l.map((x) => `**${cell(x)}**`).join(', ');
    text += `_Truncated to stay under ${limitChars.toLocaleString('en-US')} characters: ${[
      shortened.length > 0 ? `input changes of ${list(shortened)} left out` : '',
      omitted.length > 0 ? `details of ${list(omitted)} left out` : '',
    ]
      .filter(Boolean)
      .join('; ')}. The JSON (\`--format json\`) has everything._\n\n`;
  }
  text += footer;
  if (text.length > limitChars) {
    const note = '\n\n_Truncated: the comment size limit was reached; the JSON (`--format json`) has everything._\n';
    text = text.slice(0, limitChars - note.length) + note;
  }
  return text;
}

// --------------------------------------------------------------------------------------------
// json (Infracost diff shape)

/** A decimal string to the cent, from dollars. */
const money = (usdAmount: number) => (Math.round(usdAmount * 100) / 100).toFixed(2);
const centsOf = (usdAmount: number | null) => Math.round((usdAmount ?? 0) * 100);
const fromCents = (cents: number) => (cents / 100).toFixed(2);
const hourly = (monthlyUsd: number) => (monthlyUsd / HOURS_PER_MONTH).toFixed(4);
/** A decimal string without exponent notation (1.5e-7 -> "0.00000015"). */
const plainDecimal = (n: number) => n.toFixed(12).replace(/\.?0+$/, '') || '0';

interface InfracostBreakdown {
  resources: unknown[];
  totalHourlyCost: string;
  totalMonthlyCost: string;
  totalMonthlyUsageCost: null;
}

/** A stack's cost as an Infracost breakdown: each cost line one resource with one cost component. */
function breakdown(plan: SavedStackPlan | null): InfracostBreakdown {
  const lines = plan?.cost.lines ?? [];
  return {
    resources: lines.map((l) => ({
      name: l.item,
      resourceType: 'voice_agent_infra_cost_line',
      metadata: { basis: l.basis },
      hourlyCost: hourly(l.monthlyUsd),
      monthlyCost: money(l.monthlyUsd),
      costComponents: [
        {
          name: l.item,
          unit: l.basis,
          hourlyQuantity: null,
          monthlyQuantity: plainDecimal(l.quantity),
          price: plainDecimal(l.unitUsd),
          hourlyCost: hourly(l.monthlyUsd),
          monthlyCost: money(l.monthlyUsd),
          priceNotFound: false,
        },
      ],
    })),
    totalHourlyCost: hourly(plan?.cost.monthlyUsd ?? 0),
    totalMonthlyCost: fromCents(centsOf(plan?.cost.monthlyUsd ?? 0)),
    totalMonthlyUsageCost: null,
  };
}

/** The `--format json` document; `base` / `head` are the saved plans the diff was made from. */
export function formatDiffJson(diff: PlanDiff, meta: DiffMeta, base: readonly SavedStackPlan[], head: readonly SavedStackPlan[]): string {
  const planOf = (list: readonly SavedStackPlan[], stack: string) => list.find((p) => (p.stack ?? '(no stack)') === stack) ?? null;
  let pastCents = 0;
  let totalCents = 0;
  const projects = diff.stacks.map((s) => {
    const past = planOf(base, s.stack);
    const now = planOf(head, s.stack);
    const [p, n] = [centsOf(past?.cost.monthlyUsd ?? null), centsOf(now?.cost.monthlyUsd ?? null)];
    pastCents += p;
    totalCents += n;
    return {
      name: s.stack,
      displayName: s.stack,
      metadata: { path: `stacks/Pulumi.${s.stack}.yaml`, type: 'voice_agent_infra_offline_plan', vcsCodeChanged: s.status !== 'unchanged' },
      pastBreakdown: past ? breakdown(past) : null,
      breakdown: breakdown(now),
      diff: {
        resources: s.cost.lines
          .filter((l) => l.deltaMonthlyUsd !== 0)
          .map((l) => ({ name: l.item, resourceType: 'voice_agent_infra_cost_line', metadata: {}, hourlyCost: hourly(l.deltaMonthlyUsd), monthlyCost: money(l.deltaMonthlyUsd) })),
        totalHourlyCost: hourly((n - p) / 100),
        totalMonthlyCost: fromCents(n - p),
        totalMonthlyUsageCost: null,
      },
      summary: { totalDetectedResources: now?.resources ? now.resources.filter((r) => r.id !== null).length : undefined },
      changes: {
        status: s.status,
        tier: s.tier,
        plan: s.plan,
        warnings: s.warnings,
        resources: s.resources ?? { added: [], removed: [], changed: [], compared: false },
        cost: s.cost,
      },
    };
  });
  const document = {
    version: INFRACOST_JSON_VERSION,
    metadata: {
      infracostCommand: 'npm run diff',
      ...(meta.base.commit ? { vcsBaseCommitSha: meta.base.commit } : {}),
      ...(meta.head.commit ? { vcsCommitSha: meta.head.commit } : {}),
      base: meta.base.label,
      head: meta.head.label,
    },
    currency: 'USD',
    projects,
    totalHourlyCost: hourly(totalCents / 100),
    totalMonthlyCost: fromCents(totalCents),
    pastTotalHourlyCost: hourly(pastCents / 100),
    pastTotalMonthlyCost: fromCents(pastCents),
    diffTotalHourlyCost: hourly((totalCents - pastCents) / 100),
    diffTotalMonthlyCost: fromCents(totalCents - pastCents),
    timeGenerated: meta.generatedAt,
    summary: { totalDetectedResources: head.reduce((a, p) => a + (p.resources ? p.resources.filter((r) => r.id !== null).length : 0), 0) },
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}
