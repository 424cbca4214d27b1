import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseStackConfig } from '../../components/config.js';
import { buildStackReport } from '../../components/report.js';
import { CHART_MINUTES_RANGE, costCurves, logMinutesGrid, selfHostedSeries } from '../../scripts/lib/cost-chart.js';
import { COST_FORMATS, csvField, platformColumnStem } from '../../scripts/lib/cost-formats.js';
import { summarizeStack } from '../../scripts/lib/cost-summary.js';
import { listStacks, REPO_ROOT, stackValues } from '../../scripts/lib/stacks.js';

const NO_NETWORK = join(REPO_ROOT, 'tests/fixtures/no-network.ts');

/**
 * Runs `npm run cost -- ...` the way npm does (tsx), with no AWS variables in the environment and
 * the network disabled in the child (tests/fixtures/no-network.ts).
 */
function cost(...args: string[]) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_')));
  const result = spawnSync(process.execPath, ['--import', 'tsx', '--import', NO_NETWORK, 'scripts/cost.ts', ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    env,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** RFC 4180: fields split on commas, quoted fields may hold commas, CR/LF and doubled quotes. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c === '"' && field === '') {
      quoted = true;
    } else if (c === ',') {
      fields.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      fields.push(field);
      records.push(fields);
      fields = [];
      field = '';
      i++;
    } else if (c === '"' || c === '\n' || c === '\r') {
      throw new Error(`not RFC 4180 at offset ${i}: bare ${JSON.stringify(c)}`);
    } else {
      field += c;
    }
  }
  if (quoted) throw new Error('not RFC 4180: unterminated quoted field');
  if (field !== '' || fields.length > 0) throw new Error('not RFC 4180: last record not ended by CRLF');
  return records;
}

/** The item-6 JSON contract (issue "Foundation"): every key, with its type. Extra keys are allowed. */
const capacityFigures = z.object({
  erlangs: z.number(),
  sessions: z.number().int(),
  probabilityOfWait: z.number(),
  serviceLevel: z.number(),
  averageSpeedOfAnswerSeconds: z.number(),
});
const minMax = z.object({ min: z.number().int(), max: z.number().int() });
const inferenceServer = z.object({
  model: z.string(),
  image: z.string(),
  instanceType: z.string(),
  gpu: z.string(),
  gpuMemoryGiB: z.number(),
  gpus: minMax,
  gpuLoad: z.object({ busyHour: z.number(), spike: z.number() }),
  basis: z.string(),
  scaling: z.object({ metric: z.enum(['requests-per-gpu', 'gpu-utilization']), target: z.number() }),
  hostedFallback: z.string(),
});
const stackReportContract = z.object({
  stack: z.string().nullable(),
  tier: z.enum(['small', 'mid', 'large']),
  target: z.enum(['aws', 'kubernetes']),
  assumptions: z.object({
    monthlyMinutes: z.number(),
    avgCallMinutes: z.number(),
    businessDaysPerMonth: z.number(),
    busyHourShare: z.number(),
    spikeMultiplier: z.number(),
    maxWaitSeconds: z.number(),
    serviceLevel: z.number(),
  }),
  capacity: z.object({ busyHour: capacityFigures, spike: capacityFigures }),
  livekit: z.object({ instanceType: z.string(), vcpu: z.number(), memoryGiB: z.number(), nodes: minMax }),
  agents: z.object({ instanceType: z.string(), vcpu: z.number(), memoryGiB: z.number(), sessionsPerWorker: z.number(), workers: minMax }),
  redis: z.object({ mode: z.enum(['local', 'managed', 'external']), nodeType: z.string().nullable(), replicas: z.number().int() }),
  loadBalancer: z.boolean(),
  llmRateLimits: z.object({ requestsPerMinute: z.number(), tokensPerMinute: z.number() }),
  inference: z.strictObject({ llm: inferenceServer.optional(), stt: inferenceServer.optional(), tts: inferenceServer.optional() }),
  cost: z.object({
    monthlyUsd: z.number(),
    perMinuteUsd: z.number(),
    infraMonthlyUsd: z.number(),
    providersMonthlyUsd: z.number(),
    lines: z.array(z.object({ item: z.string(), quantity: z.number(), unitUsd: z.number(), monthlyUsd: z.number(), basis: z.string() })).min(1),
    managed: z.array(z.object({ platform: z.string(), perMinuteUsd: z.number(), monthlyUsd: z.number(), breakEvenMinutes: z.number().nullable() })).min(1),
    inference: z.array(
      z.object({
        modality: z.enum(['llm', 'stt', 'tts']),
        model: z.string(),
        instanceType: z.string(),
        gpus: minMax,
        localMonthlyUsd: z.number(),
        hosted: z.string(),
        hostedMonthlyUsd: z.number(),
        breakEvenMinutes: z.number().int().nullable(),
        localCostsMore: z.boolean(),
      }),
    ),
  }),
  warnings: z.array(z.string()),
});
type ContractReport = z.infer<typeof stackReportContract>;

const STACKS = listStacks();
/** Half a cent, plus the float error of a value that rounds exactly on the half (e.g. $5,012.345). */
const HALF_CENT = 0.005 + 1e-9;
const outputs = new Map<string, ReturnType<typeof cost>>();
let reports: ContractReport[] = [];

beforeAll(() => {
  for (const format of COST_FORMATS) outputs.set(format, cost('--format', format));
  outputs.set('default', cost());
  reports = z.object({ stacks: z.array(stackReportContract) }).parse(JSON.parse(outputs.get('json')!.stdout)).stacks;
}, 120_000);

describe('npm run cost on the committed stacks', () => {
  it('has the three example stacks to compare', () => {
    expect(STACKS).toEqual(expect.arrayContaining(['small', 'mid', 'large']));
  });

  it.each([...COST_FORMATS, 'default'])('--format %s runs offline without credentials and exits 0', (format) => {
    const r = outputs.get(format)!;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.length).toBeGreaterThan(100);
    expect(r.stderr).not.toMatch(/error|network access/i);
  });

  it('defaults to the aligned table, every stack side by side', () => {
    const table = outputs.get('default')!.stdout;
    expect(table).toBe(outputs.get('table')!.stdout);
    const header = table.split('\n')[0]!;
    expect(header.trim().split(/\s+/)).toEqual(STACKS);
    for (const label of ['Tier', 'Busy-hour sessions', 'Spike sessions', 'Agent workers (min-max)', 'LiveKit nodes (min-max)', 'Redis', 'Infra $/month', 'Providers $/month', 'Total $/month', '$/minute', 'Savings vs cheapest']) {
      expect(table).toMatch(new RegExp(`^  ${label.replace(/[$()]/g, '\\$&')}\\s`, 'm'));
    }
    // Aligned: every figure row is as long as the header (values right-aligned under the stack names).
    const figureRows = table.split('\n').filter((l) => l.startsWith('  ') && !l.startsWith('  ['));
    for (const row of figureRows) expect(row.length, row).toBe(header.length);
  });

  it('--format json prints {stacks: [...]}, each exactly the buildStackReport report of its stack file', () => {
    expect(reports.map((r) => r.stack)).toEqual(STACKS);
    const printed = JSON.parse(outputs.get('json')!.stdout).stacks;
    for (const [i, name] of STACKS.entries()) {
      const { report } = buildStackReport(name, parseStackConfig(stackValues(name)));
      expect(printed[i], name).toEqual(JSON.parse(JSON.stringify(report)));
    }
  });

  it('the JSON holds every key of the contract with its type, per stack', () => {
    for (const r of reports) {
      // Parsed by the contract schema in beforeAll; the figures also agree with each other.
      expect(r.cost.infraMonthlyUsd + r.cost.providersMonthlyUsd).toBeCloseTo(r.cost.monthlyUsd, 6);
      expect(r.cost.perMinuteUsd).toBeCloseTo(r.cost.monthlyUsd / r.assumptions.monthlyMinutes, 12);
      expect(r.capacity.spike.sessions).toBeGreaterThanOrEqual(r.capacity.busyHour.sessions);
    }
  });

  it('the CSV parses back as RFC 4180, one row per stack, and its totals equal the JSON', () => {
    const csv = outputs.get('csv')!.stdout;
    const [header, ...rows] = parseCsv(csv);
    expect(rows.map((r) => r[0])).toEqual(STACKS);
    for (const row of rows) expect(row).toHaveLength(header!.length);
    const column = (row: string[], name: string) => {
      const index = header!.indexOf(name);
      expect(index, `column ${name}`).toBeGreaterThanOrEqual(0);
      return row[index]!;
    };
    for (const [i, report] of reports.entries()) {
      const row = rows[i]!;
      expect(column(row, 'tier')).toBe(report.tier);
      expect(Number(column(row, 'monthlyMinutes'))).toBe(report.assumptions.monthlyMinutes);
      expect(Number(column(row, 'busyHourSessions'))).toBe(report.capacity.busyHour.sessions);
      expect(Number(column(row, 'spikeSessions'))).toBe(report.capacity.spike.sessions);
      expect(Number(column(row, 'workersMin'))).toBe(report.agents.workers.min);
      expect(Number(column(row, 'workersMax'))).toBe(report.agents.workers.max);
      expect(Number(column(row, 'livekitNodesMax'))).toBe(report.livekit.nodes.max);
      expect(column(row, 'redisMode')).toBe(report.redis.mode);
      // Dollars are printed to the cent, $/minute to 6 decimals.
      for (const key of ['monthlyUsd', 'infraMonthlyUsd', 'providersMonthlyUsd'] as const) {
        expect(Math.abs(Number(column(row, key)) - report.cost[key]), key).toBeLessThanOrEqual(HALF_CENT);
      }
      // Half a unit of the 6th decimal, plus the float error of a value that rounds exactly on the half.
      expect(Math.abs(Number(column(row, 'perMinuteUsd')) - report.cost.perMinuteUsd)).toBeLessThanOrEqual(5e-7 + 1e-12);
      for (const m of report.cost.managed) {
        const stem = platformColumnStem(m.platform);
        expect(Math.abs(Number(column(row, `${stem}MonthlyUsd`)) - m.monthlyUsd), m.platform).toBeLessThanOrEqual(HALF_CENT);
        expect(Math.abs(Number(column(row, `${stem}SavingsMonthlyUsd`)) - (m.monthlyUsd - report.cost.monthlyUsd))).toBeLessThanOrEqual(HALF_CENT);
        expect(column(row, `${stem}BreakEvenMinutes`)).toBe(m.breakEvenMinutes === null ? '' : String(m.breakEvenMinutes));
      }
      // Warnings hold commas and semicolons: they come back whole through the quoting.
      expect(column(row, 'warnings')).toBe(report.warnings.join(' | '));
    }
    expect(reports.some((r) => r.warnings.some((w) => w.includes(',')))).toBe(true);
  });

  it('--format markdown is a GitHub table with a column per stack', () => {
    const lines = outputs.get('markdown')!.stdout.split('\n');
    const tableLines = lines.slice(0, lines.findIndex((l) => !l.startsWith('|')));
    expect(tableLines[0]).toBe(`| | ${STACKS.join(' | ')} |`);
    expect(tableLines[1]).toBe(`| --- | ${STACKS.map(() => '---:').join(' | ')} |`);
    const cells = (line: string) => line.replace(/\\\|/g, '').split('|').length;
    for (const line of tableLines) expect(cells(line), line).toBe(STACKS.length + 3);
    expect(tableLines.some((l) => /^\| Total \$\/month \| \$[\d,]+ \|/.test(l))).toBe(true);
  });

  it('--format html is one offline file: the chart inline as SVG with a mark per series, no external resource', () => {
    const html = outputs.get('html')!.stdout;
    expect(html).toMatch(/^<!DOCTYPE html>/);
    expect(html.match(/<svg\b/g)).toHaveLength(1);
    expect(html).not.toMatch(/<script\b/i);
    expect(html).not.toMatch(/<link\b/i);
    expect(html).not.toMatch(/@import|url\(/i);
    expect(html).not.toMatch(/\b(src|href)\s*=\s*["']?(https?:)?\/\//i);
    // The only URLs are XML namespace names, which are never fetched.
    const urls = [...html.matchAll(/https?:\/\/[^\s"'<>)]+/g)].map((m) => m[0]);
    expect(new Set(urls)).toEqual(new Set(['http://www.w3.org/2000/svg', 'http://www.w3.org/1999/xlink']));

    const svg = html.slice(html.indexOf('<svg'), html.indexOf('</svg>') + 6);
    const platforms = reports[0]!.cost.managed.map((m) => m.platform);
    const tiers = [...new Set(reports.map((r) => r.tier))];
    // One line mark per series per stack panel (self-hosted tier + each platform), each named in the legend.
    expect(svg.match(/aria-roledescription="line mark"/g)?.length).toBe(reports.length * (1 + platforms.length));
    for (const series of [...tiers.map(selfHostedSeries), ...platforms]) {
      expect(svg, series).toContain(`>${series.replace(/&/g, '&amp;')}</text>`);
    }
    // One diamond per stack as configured.
    expect(svg.match(/aria-roledescription="point"/g)).toHaveLength(reports.length);
  });

  it('the HTML carries the comparison, the cost lines, the prices used with source and date, and the warnings', () => {
    const html = outputs.get('html')!.stdout;
    const text = html.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>');
    for (const name of STACKS) {
      const { report, cost: deployment } = buildStackReport(name, parseStackConfig(stackValues(name)));
      expect(html).toContain(`id="stack-${name}"`);
      for (const line of report.cost.lines) expect(text, line.item).toContain(line.item);
      for (const price of deployment.pricesUsed) {
        expect(text, price.key).toContain(`<td>${price.key}</td>`);
        expect(text, price.key).toContain(price.source);
        expect(text, price.key).toContain(`<td>${price.date}</td>`);
      }
      for (const warning of report.warnings) expect(text).toContain(warning);
    }
    expect(text).toContain('Savings vs cheapest');
  });

  it('--stacks picks and orders the stacks; --out writes the file and leaves stdout empty', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cost-out-'));
    try {
      const out = join(dir, 'nested', 'cost.json');
      const r = cost('--stacks', 'large,small', '--format', 'json', '--out', out);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/wrote the json report for large, small to /);
      expect(JSON.parse(readFileSync(out, 'utf8')).stacks.map((s: { stack: string }) => s.stack)).toEqual(['large', 'small']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--local llm shows each stack with its hosted models and with the local LLM: totals, GPUs and the break-even', () => {
    const r = cost('--stacks', 'large', '--local', 'llm', '--format', 'json');
    expect(r.code, r.stderr).toBe(0);
    const [hosted, local] = z.object({ stacks: z.array(stackReportContract) }).parse(JSON.parse(r.stdout)).stacks;
    expect([hosted!.stack, local!.stack]).toEqual(['large', 'large+local-llm']);
    // The hosted stack runs no GPU; the local one prices its GPUs as infrastructure, never at $0.
    expect(hosted!.inference).toEqual({});
    expect(hosted!.cost.inference).toEqual([]);
    const gpuLines = local!.cost.lines.filter((l) => /GPU \(local LLM/.test(l.item));
    expect(gpuLines).toHaveLength(1);
    expect(gpuLines[0]!.monthlyUsd).toBeGreaterThan(0);
    expect(local!.cost.infraMonthlyUsd).toBeGreaterThan(hosted!.cost.infraMonthlyUsd + gpuLines[0]!.monthlyUsd - 1e-6);
    // Its tokens cost nothing per token: the providers fall by what gpt-4o-mini billed for them.
    const [llm] = local!.cost.inference;
    expect(llm).toMatchObject({ modality: 'llm', hosted: 'gpt-4o-mini', instanceType: 'g6.xlarge', gpus: local!.inference.llm!.gpus });
    expect(hosted!.cost.providersMonthlyUsd - local!.cost.providersMonthlyUsd).toBeCloseTo(llm!.hostedMonthlyUsd, 6);
    // The table shows both totals side by side, and the break-even of the local LLM.
    const table = cost('--stacks', 'large', '--local', 'llm');
    expect(table.code, table.stderr).toBe(0);
    const row = (label: string) => table.stdout.split('\n').find((l) => l.trimStart().startsWith(label))!;
    expect(table.stdout.split('\n')[0]!.trim().split(/\s+/)).toEqual(['large', 'large+local-llm']);
    expect(row('Total $/month')).toContain(`$${Math.round(hosted!.cost.monthlyUsd).toLocaleString('en-US')}`);
    expect(row('Total $/month')).toContain(`$${Math.round(local!.cost.monthlyUsd).toLocaleString('en-US')}`);
    expect(row('Local LLM cheaper from (break-even)')).toMatch(llm!.breakEvenMinutes === null ? /never$/ : new RegExp(`${llm!.breakEvenMinutes.toLocaleString('en-US')} min$`));
    // Local costs more at this volume: the report says so.
    if (llm!.localCostsMore) expect(local!.warnings.some((w) => w.startsWith('the local LLM'))).toBe(true);
  });

  it.each([
    [['--local', 'gpu'], /^cost: --local "gpu": unknown model "gpu"; allowed: llm, stt, tts \(comma-separated\)$/],
    [['--local', ','], /^cost: --local ",": name at least one model to run locally/],
    [['--bogus'], /^cost: Unknown option '--bogus'/],
    [['--format', 'xml'], /^cost: --format "xml": unknown format; allowed: table, csv, json, markdown, html$/],
    [['--format'], /^cost: Option '-f, --format <value>' argument missing/],
    [['--stacks', 'small,nope'], /^cost: --stacks "nope": no stack file/],
    [['--stacks', ','], /^cost: --stacks ",": name at least one stack/],
    [['--stacks-dir', '/nonexistent/stacks'], /^cost: --stacks-dir "\/nonexistent\/stacks": no such directory$/],
    [['small'], /^cost: Unexpected argument 'small'/],
  ])('bad flags %j -> exit 2, one line naming the flag, no stack trace', (args, message) => {
    const r = cost(...args);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trimEnd()).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it.each([
    ['busyHourShare above 1', 'busyHourShare: 0.12', 'busyHourShare: 1.5', /^cost: \S*Pulumi\.bad\.yaml: traffic\.busyHourShare = 1\.5: must be at most 1$/],
    ['non-number minutes', 'voice-agent-infra:monthlyMinutes: 15000', 'voice-agent-infra:monthlyMinutes: lots', /^cost: \S*Pulumi\.bad\.yaml: monthlyMinutes = "lots": must be a number/],
    ['unknown key', '  voice-agent-infra:providers:', '  voice-agent-infra:colour: blue\n  voice-agent-infra:providers:', /^cost: \S*Pulumi\.bad\.yaml: colour = "blue": unknown key/],
  ])('a stack file with a %s -> exit 2 naming the file and the key', (_label, from, to, message) => {
    const dir = mkdtempSync(join(tmpdir(), 'cost-stacks-'));
    try {
      const small = readFileSync(join(REPO_ROOT, 'stacks/Pulumi.small.yaml'), 'utf8');
      expect(small).toContain(from);
      writeFileSync(join(dir, 'Pulumi.small.yaml'), small);
      writeFileSync(join(dir, 'Pulumi.bad.yaml'), small.replace(from, to));
      const r = cost('--stacks-dir', dir);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trimEnd()).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('cost report building blocks', () => {
  it('the offline guard the CLI runs under does refuse the network', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--import', NO_NETWORK, '--input-type=module', '-e', "await fetch('https://example.com')"], { encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('network access in an offline test: fetch');
  });

  it('csvField quotes commas, quotes and line breaks (RFC 4180) and nothing else', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\r\nlines')).toBe('"two\r\nlines"');
    expect(parseCsv(`${['plain', 'a,b', 'say "hi"', 'two\r\nlines'].map(csvField).join(',')}\r\n`)).toEqual([['plain', 'a,b', 'say "hi"', 'two\r\nlines']]);
  });

  it('savings are the platform cost less the self-hosted cost; the cheapest platform is the lowest', () => {
    const { report } = buildStackReport('mid', parseStackConfig(stackValues('mid')));
    const summary = summarizeStack(report);
    for (const m of summary.managed) {
      const platform = report.cost.managed.find((p) => p.platform === m.platform)!;
      expect(m.savingsMonthlyUsd).toBeCloseTo(platform.monthlyUsd - report.cost.monthlyUsd, 9);
      expect(m.savingsShare).toBeCloseTo(m.savingsMonthlyUsd / platform.monthlyUsd, 12);
    }
    expect(summary.cheapestManaged!.monthlyUsd).toBe(Math.min(...report.cost.managed.map((m) => m.monthlyUsd)));
  });

  it('the chart grid is log-spaced from 5,000 to 500,000 minutes', () => {
    const grid = logMinutesGrid(CHART_MINUTES_RANGE.fromMinutes, CHART_MINUTES_RANGE.toMinutes, CHART_MINUTES_RANGE.pointsPerDecade);
    expect(grid[0]).toBe(5_000);
    expect(grid.at(-1)).toBe(500_000);
    expect(grid.length).toBe(2 * CHART_MINUTES_RANGE.pointsPerDecade + 1);
    for (let i = 1; i < grid.length; i++) expect(grid[i]! / grid[i - 1]!).toBeCloseTo(10 ** (1 / CHART_MINUTES_RANGE.pointsPerDecade), 2);
  });

  it('the chart holds each stack at its tier, skips the minutes that tier cannot carry, and draws the platforms across the range', () => {
    const grid = logMinutesGrid(5_000, 500_000, 8);
    const stacks = STACKS.map((name) => {
      const config = parseStackConfig(stackValues(name));
      const { report } = buildStackReport(name, config);
      return { stack: name, config, tier: report.tier, monthlyMinutes: report.assumptions.monthlyMinutes, monthlyUsd: report.cost.monthlyUsd };
    });
    const curves = costCurves(stacks, grid);
    const small = curves.points.filter((p) => p.stack === 'small' && p.kind === 'self-hosted');
    const skippedSmall = curves.skipped.find((s) => s.stack === 'small')!;
    // The small box cannot carry hundreds of thousands of minutes: its curve stops, without gaps.
    expect(skippedSmall.minutes).toContain(500_000);
    expect(small.length + skippedSmall.minutes.length).toBe(grid.length);
    expect(Math.max(...small.map((p) => p.monthlyMinutes))).toBeLessThan(Math.min(...skippedSmall.minutes));
    // Large fits everywhere; every platform spans the whole range in every panel.
    expect(curves.skipped.find((s) => s.stack === 'large')).toBeUndefined();
    for (const name of STACKS) {
      const managed = curves.points.filter((p) => p.stack === name && p.kind === 'managed');
      const platforms = new Set(managed.map((p) => p.series));
      expect(managed.length).toBe(platforms.size * grid.length);
    }
    // The curve passes through the stack as configured when its minutes are on the grid.
    const smallConfig = stacks.find((s) => s.stack === 'small')!.config;
    const onGrid = buildStackReport('small', { ...smallConfig, monthlyMinutes: small[0]!.monthlyMinutes, tier: 'small' }).report;
    expect(small[0]!.monthlyUsd).toBeCloseTo(onGrid.cost.monthlyUsd, 9);
  });
});
