/**
 * `npm run cost [-- --stacks small,mid --format table|csv|json|markdown|html --out FILE --local llm,stt,tts]`
 *
 * Every stack under stacks/ (or the ones named) side by side: plan, self-hosted cost, the managed
 * platforms at the same minutes, savings and break-even. `--local` adds, next to each stack, the
 * same stack with the named models served locally (scripts/lib/cost-local.ts): GPUs priced as
 * infrastructure, the break-even per model against the hosted provider it replaces. Offline: no network, no credentials; the
 * prices come from the shared catalog (refreshed by `npm run pricing:refresh`) and each stack's
 * `pricing` overrides. Data to stdout (or --out FILE), progress to stderr.
 * Exit 0; 2 with one line on a bad flag or a bad stack config; 1 on a failure of the world.
 */
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_CATALOG } from '@voice-agent-infra/common';
import { ConfigError, parseStackConfig, type StackConfig } from '../components/config.js';
import type { DeploymentCost } from '../components/cost/price-deployment.js';
import { buildStackReport, type StackReport } from '../components/report.js';
import { runCli, usageFromParseArgs, UsageError } from './lib/cli.js';
import { CHART_MINUTES_RANGE, costChartSpec, costCurves, logMinutesGrid } from './lib/cost-chart.js';
import { COST_FORMATS, type CostFormat, formatCsv, formatJson, formatMarkdown, formatTable } from './lib/cost-formats.js';
import { formatHtml } from './lib/cost-html.js';
import { localVariantName, localVariantValues, parseLocalFlag } from './lib/cost-local.js';
import { formatInteger } from './lib/cost-summary.js';
import type { Modality } from '../components/inference/plan.js';
import { renderVegaLiteToSvg } from './lib/render-chart.js';
import { listStacks, STACKS_DIR, stackFile, stackValues } from './lib/stacks.js';

const NAME = 'cost';
const USAGE = `usage: npm run cost -- [--stacks a,b] [--format ${COST_FORMATS.join('|')}] [--out FILE] [--stacks-dir DIR] [--local llm,stt,tts]`;

interface CostOptions {
  stacks: string[] | null;
  format: CostFormat;
  out: string | null;
  stacksDir: string;
  /** Models to show served locally, next to each stack as configured; empty: none. */
  local: Modality[];
}

interface LoadedStack {
  name: string;
  config: StackConfig;
  report: StackReport;
  cost: DeploymentCost;
}

function parseOptions(argv: string[]): CostOptions | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        stacks: { type: 'string' },
        format: { type: 'string', short: 'f' },
        out: { type: 'string', short: 'o' },
        'stacks-dir': { type: 'string' },
        local: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw usageFromParseArgs(error, 'npm run cost --');
  }
  if (values.help) return 'help';
  const format = values.format ?? 'table';
  if (!(COST_FORMATS as readonly string[]).includes(format)) {
    throw new UsageError(`--format ${JSON.stringify(format)}: unknown format; allowed: ${COST_FORMATS.join(', ')}`);
  }
  let stacks: string[] | null = null;
  if (values.stacks !== undefined) {
    stacks = [...new Set(values.stacks.split(',').map((s) => s.trim()).filter(Boolean))];
    if (stacks.length === 0) throw new UsageError(`--stacks ${JSON.stringify(values.stacks)}: name at least one stack, e.g. --stacks small,mid`);
  }
  if (values.out !== undefined && values.out.trim() === '') throw new UsageError('--out "": name a file, e.g. --out reports/cost.html');
  const stacksDir = values['stacks-dir'] === undefined ? STACKS_DIR : resolve(values['stacks-dir']);
  if (!existsSync(stacksDir) || !statSync(stacksDir).isDirectory()) {
    throw new UsageError(`--stacks-dir ${JSON.stringify(values['stacks-dir'])}: no such directory`);
  }
  const local = values.local === undefined ? [] : parseLocalFlag(values.local);
  return { stacks, format: format as CostFormat, out: values.out ?? null, stacksDir, local };
}

/** A path for messages: relative to the working directory when inside it. */
function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

/** Reads, validates, plans and prices one stack; a bad config is a user error naming the file and key. */
function loadStack(name: string, stacksDir: string, local: readonly Modality[] = []): LoadedStack {
  const file = displayPath(stackFile(name, stacksDir));
  try {
    const values = stackValues(name, '--stacks', stacksDir);
    const label = local.length > 0 ? localVariantName(name, local) : name;
    const config = parseStackConfig(local.length > 0 ? localVariantValues(values, local) : values);
    const { report, cost } = buildStackReport(label, config);
    return { name: label, config, report, cost };
  } catch (error) {
    if (error instanceof ConfigError) {
      const where = local.length > 0 ? `${file} (with --local ${local.join(',')})` : file;
      throw new UsageError(error.message.includes(`Pulumi.${name}.yaml`) ? error.message : `${where}: ${error.message}`);
    }
    throw error;
  }
}

async function html(stacks: readonly LoadedStack[]): Promise<string> {
  const { fromMinutes, toMinutes, pointsPerDecade } = CHART_MINUTES_RANGE;
  const grid = logMinutesGrid(fromMinutes, toMinutes, pointsPerDecade);
  process.stderr.write(`${NAME}: charting ${stacks.length} stack(s) at ${grid.length} volumes from ${formatInteger(fromMinutes)} to ${formatInteger(toMinutes)} minutes\n`);
  const curves = costCurves(
    stacks.map((s) => ({ stack: s.name, config: s.config, tier: s.report.tier, monthlyMinutes: s.report.assumptions.monthlyMinutes, monthlyUsd: s.report.cost.monthlyUsd })),
    grid,
    DEFAULT_CATALOG,
  );
  const chartSvg = await renderVegaLiteToSvg(costChartSpec(curves, { fromMinutes, toMinutes }));
  const chartNotes = [
    `Both axes are logarithmic. Each panel re-plans one stack's config at ${grid.length} volumes from ${formatInteger(fromMinutes)} to ${formatInteger(toMinutes)} minutes a month, holding its tier; the managed platforms carry that stack's providers where they pass them through at cost (Vapi, Retell, LiveKit Cloud). The diamond is the stack as configured.`,
    ...curves.skipped.map(
      (s) =>
        `The ${s.tier} tier of stack ${s.stack} does not fit ${formatInteger(Math.min(...s.minutes))} to ${formatInteger(Math.max(...s.minutes))} minutes (the plan would need a larger tier), so its self-hosted curve stops there.`,
    ),
  ];
  return formatHtml({ stacks: stacks.map((s) => ({ report: s.report, pricesUsed: s.cost.pricesUsed })), chartSvg, chartNotes });
}

async function render(format: CostFormat, stacks: readonly LoadedStack[]): Promise<string> {
  const reports = stacks.map((s) => s.report);
  switch (format) {
    case 'table':
      return formatTable(reports);
    case 'csv':
      return formatCsv(reports);
    case 'json':
      return formatJson(reports);
    case 'markdown':
      return formatMarkdown(reports);
    case 'html':
      return html(stacks);
  }
}

async function main(): Promise<void> {
  // `npm run cost | head` closes stdout early: that is the reader's choice, not a failure.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
  const options = parseOptions(process.argv.slice(2));
  if (options === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const names = options.stacks ?? listStacks(options.stacksDir);
  if (names.length === 0) throw new UsageError(`no stack files (Pulumi.<name>.yaml) in ${displayPath(options.stacksDir)}`);
  // With --local, each stack as configured and then with the named models served locally.
  const stacks = names.flatMap((name) => [loadStack(name, options.stacksDir), ...(options.local.length > 0 ? [loadStack(name, options.stacksDir, options.local)] : [])]);
  const output = await render(options.format, stacks);
  if (options.out === null) {
    process.stdout.write(output);
    return;
  }
  const out = resolve(options.out);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, output);
  process.stderr.write(`${NAME}: wrote the ${options.format} report for ${names.join(', ')} to ${displayPath(out)}\n`);
}

await runCli(NAME, main);
