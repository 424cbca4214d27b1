/**
 * `npm run diff` formats and flags, pure: the PR comment (summary lines, marker, size limit), the
 * Infracost-shaped JSON, the terminal table; flag errors; saved-plan checks; the npm ci decision.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configFromStackFile } from '../../components/config.js';
import { buildStackReport } from '../../components/report.js';
import { UsageError } from '../../scripts/lib/cli.js';
import type { PlannedResource } from '../../scripts/lib/offline-plan.js';
import { diffPlans, type SavedStackPlan } from '../../scripts/lib/plan-diff.js';
import { parseDiffArgs } from '../../scripts/lib/plan-diff-args.js';
import { dependencyPlan, parseSavedPlans, withRepoPlaceholder } from '../../scripts/lib/plan-diff-checkout.js';
import {
  DIFF_MARKER,
  type DiffMeta,
  displayValue,
  formatDiffJson,
  formatDiffMarkdown,
  formatDiffTable,
  INFRACOST_JSON_VERSION,
  lineChanges,
  MARKDOWN_LIMIT_CHARS,
  summaryLine,
} from '../../scripts/lib/plan-diff-format.js';
import { stackFile } from '../../scripts/lib/stacks.js';

const meta: DiffMeta = { base: { label: 'origin/main', commit: '0123456789abcdef0123456789abcdef01234567' }, head: { label: 'working tree' }, generatedAt: '2026-12-01T10:00:00.000Z' };

function report(stack: string, monthlyMinutes?: number): SavedStackPlan {
  const config = configFromStackFile(readFileSync(stackFile(stack), 'utf8'), stack);
  return buildStackReport(stack, monthlyMinutes ? { ...config, monthlyMinutes } : config).report;
}

function node(ami: string, extra: Record<string, unknown> = {}): PlannedResource {
  return { type: 'aws:ec2/instance:Instance', name: 'voice-livekit', parent: 'voice-livekit', id: 'i-0123456789abcdef0', inputs: { ami, instanceType: 'c7i.2xlarge', ...extra } };
}

const small = report('small');
const mid = { ...report('mid'), resources: [node('ami-0aaaaaaaaaaaaaaaa')] };
const grown = { ...report('mid', 90_000), resources: [node('ami-0bbbbbbbbbbbbbbbb'), { ...node('x'), type: 'aws:ec2/eip:Eip', name: 'voice-extra', id: 'eipalloc-1', inputs: { domain: 'vpc' } }] };
const base = [small, mid];
const head = [small, grown, { ...small, stack: 'extra' }];
const diff = diffPlans(base, head);

describe('summary lines', () => {
  it('say per stack what the monthly estimate does and what happens to resources', () => {
    const delta = grown.cost.monthlyUsd - mid.cost.monthlyUsd;
    const percent = Math.round((delta / mid.cost.monthlyUsd) * 100);
    const [s, m, e] = diff.stacks;
    expect(summaryLine(s!)).toBe(`small: no change ($${Math.round(small.cost.monthlyUsd).toLocaleString('en-US')}/month)`);
    expect(summaryLine(m!)).toBe(
      `mid: monthly estimate up $${Math.round(delta).toLocaleString('en-US')} (+${percent}%) to $${Math.round(grown.cost.monthlyUsd).toLocaleString('en-US')}; 1 resource added, 1 replaced`,
    );
    expect(summaryLine(e!)).toMatch(/^extra: new stack, \$[\d,]+\/month; resources not compared/);
  });
});

describe('markdown (the PR comment)', () => {
  const text = formatDiffMarkdown(diff, meta);

  it('starts with the marker, has a line per stack, the replacement alert, a table and collapsed details', () => {
    expect(text.split('\n')[0]).toBe(DIFF_MARKER);
    expect(text).toContain('- **small**: no change');
    expect(text).toMatch(/- \*\*mid\*\*: monthly estimate up \$[\d,]+ \(\+\d+%\)/);
    expect(text).toMatch(/⚠️ \*\*mid\*\*: aws:ec2:Instance voice-livekit is replaced \(ami\): a single node: replacing it drops the calls it carries/);
    expect(text).toContain('| stack | tier | before $/month |');
    expect(text).toContain('<details><summary>mid: monthly estimate up');
    expect(text).toContain('-/+ aws:ec2:Instance voice-livekit: replaced (ami)');
    expect(text).toContain('ami: "ami-0aaaaaaaaaaaaaaaa" → "ami-0bbbbbbbbbbbbbbbb"');
    expect(text).toMatch(/Monthly cost change for mid: \+\$[\d,]+ \(\$[\d,]+ → \$[\d,]+\), \+\d+%/);
    expect(text).not.toContain('<details><summary>small'); // unchanged stacks get no details
  });

  it('stays under 65,000 characters: details shortened, then left out, with a note', () => {
    // A resource with thousands of changed tags: far more than one comment holds.
    const tags = (v: string) => Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`key-${i}`, `${v}-${i}`]));
    const big = (stack: string, v: string) => ({ ...report('mid'), stack, resources: [node('ami-0aaaaaaaaaaaaaaaa', { tags: tags(v) })] });
    const huge = diffPlans([big('a', 'x'), big('b', 'x')], [big('a', 'y'), big('b', 'y')]);
    const out = formatDiffMarkdown(huge, meta);
    expect(out.length).toBeLessThan(MARKDOWN_LIMIT_CHARS);
    expect(out.startsWith(DIFF_MARKER)).toBe(true);
    expect(out).toMatch(/Truncated to stay under 65,000 characters: input changes of \*\*a\*\*, \*\*b\*\* left out/);
    expect(out.split('<details>').length).toBe(out.split('</details>').length); // no block cut in half
    const tiny = formatDiffMarkdown(huge, meta, 3000);
    expect(tiny.length).toBeLessThanOrEqual(3000);
    expect(tiny).toMatch(/details of \*\*a\*\*, \*\*b\*\* left out|Truncated/);
  });

  it('never prints a long value whole, and shows the lines that changed in user data (base64 decoded)', () => {
    expect(displayValue('x'.repeat(5000))).toBe('<5,000 characters>');
    const b64 = (t: string) => Buffer.from(t).toString('base64');
    const lines = lineChanges(b64('#cloud-config\npackages:\n  - docker.io\nb: 2\n'), b64('#cloud-config\npackages:\n  - docker.io\nb: 3\n'));
    expect(lines).toEqual(['- b: 2', '+ b: 3']);
  });
});

describe('json (Infracost diff shape)', () => {
  const json = JSON.parse(formatDiffJson(diff, meta, base, head)) as Record<string, unknown> & {
    projects: Array<Record<string, unknown> & { pastBreakdown: { totalMonthlyCost: string } | null; breakdown: { totalMonthlyCost: string; resources: unknown[] }; diff: { totalMonthlyCost: string }; changes: Record<string, unknown> }>;
  };
  const decimal = /^-?\d+(\.\d+)?$/;

  it('has the root and project fields Infracost readers expect, costs as decimal strings', () => {
    // infracost internal/output/output.go (Root, Project, Breakdown) and combined.go Load: version must be 0.2.
    expect(json.version).toBe(INFRACOST_JSON_VERSION);
    expect(json.currency).toBe('USD');
    for (const key of ['totalHourlyCost', 'totalMonthlyCost', 'pastTotalHourlyCost', 'pastTotalMonthlyCost', 'diffTotalHourlyCost', 'diffTotalMonthlyCost']) {
      expect(json[key], key).toMatch(decimal);
    }
    expect(new Date(json.timeGenerated as string).toISOString()).toBe(meta.generatedAt);
    expect(json.projects.map((p) => p.name)).toEqual(['small', 'mid', 'extra']);
    for (const p of json.projects) {
      expect(p.breakdown.totalMonthlyCost).toMatch(decimal);
      expect(p.diff.totalMonthlyCost).toMatch(decimal);
      expect(Object.keys(p.changes)).toEqual(expect.arrayContaining(['plan', 'resources', 'cost']));
      expect(Object.keys(p.changes.resources as object)).toEqual(expect.arrayContaining(['added', 'removed', 'changed']));
      expect(Array.isArray((p.changes.cost as { lines: unknown[] }).lines)).toBe(true);
    }
  });

  it('diff totals are the difference of the two plans, to the cent; an added stack has no past breakdown', () => {
    const cents = (usd: number) => Math.round(usd * 100);
    const [s, m, e] = json.projects;
    expect(s!.diff.totalMonthlyCost).toBe('0.00');
    expect(m!.pastBreakdown!.totalMonthlyCost).toBe((cents(mid.cost.monthlyUsd) / 100).toFixed(2));
    expect(m!.diff.totalMonthlyCost).toBe(((cents(grown.cost.monthlyUsd) - cents(mid.cost.monthlyUsd)) / 100).toFixed(2));
    expect(e!.pastBreakdown).toBeNull();
    expect(json.diffTotalMonthlyCost).toBe(((cents(small.cost.monthlyUsd) * 2 + cents(grown.cost.monthlyUsd) - cents(small.cost.monthlyUsd) - cents(mid.cost.monthlyUsd)) / 100).toFixed(2));
    // Each cost line is a breakdown resource with one cost component (price and quantity as decimals, never 1e-7).
    const component = (m!.breakdown.resources[0] as { costComponents: Array<{ price: string; monthlyQuantity: string }> }).costComponents[0]!;
    expect(component.price).toMatch(decimal);
    expect(component.monthlyQuantity).toMatch(decimal);
  });
});

describe('table (terminals)', () => {
  it('shows each changed stack with its plan, resources and cost lines', () => {
    const text = formatDiffTable(diff, meta);
    expect(text).toContain('Plan diff: origin/main -> working tree');
    expect(text).toContain('== mid (changed)');
    expect(text).toContain('  ! aws:ec2:Instance voice-livekit is replaced (ami)');
    expect(text).toMatch(/monthly minutes\s+50000\s+90000/);
    expect(text).toContain('+ aws:ec2:Eip voice-extra');
  });
});

describe('flags', () => {
  const error = (...argv: string[]) => {
    try {
      parseDiffArgs(argv);
    } catch (e) {
      expect(e).toBeInstanceOf(UsageError);
      return (e as Error).message;
    }
    throw new Error('expected a UsageError');
  };

  it('reads every flag', () => {
    expect(parseDiffArgs(['--base', 'origin/main', '--head', 'HEAD', '--stacks', 'mid,large', '--format', 'json', '--out', 'd.json', '--fail-on-increase-percent', '5', '--save-plans', 'plans'])).toEqual({
      base: 'origin/main',
      head: 'HEAD',
      stacks: ['mid', 'large'],
      format: 'json',
      out: 'd.json',
      failOnIncreasePercent: 5,
      savePlans: 'plans',
      help: false,
    });
    expect(parseDiffArgs(['--base-plan', 'a.json', '--head-plan', 'b.json'])).toMatchObject({ basePlan: 'a.json', headPlan: 'b.json', stacks: 'all', format: 'table' });
  });

  it('refuses bad ones with one line naming the flag, the value and what is allowed', () => {
    expect(error()).toMatch(/^--base <git-ref> \(or --base-plan FILE --head-plan FILE\) is required/);
    expect(error('--base', 'main', '--format', 'yaml')).toBe('--format "yaml": one of table, markdown, json');
    expect(error('--base', 'main', '--fail-on-increase-percent', '-5')).toBe('--fail-on-increase-percent "-5": a number of percent, 0 or more');
    expect(error('--base', 'main', '--fail-on-increase-percent', 'ten')).toMatch(/^--fail-on-increase-percent "ten"/);
    expect(error('--base', 'main', '--stacks', 'mid,,x')).toMatch(/^--stacks "mid,,x": "all" or stack names/);
    expect(error('--base', 'main', '--base-plan', 'a.json')).toMatch(/use one pair or the other/);
    expect(error('--base-plan', 'a.json')).toBe('--head-plan is required with --base-plan');
    expect(error('--head', 'HEAD')).toMatch(/^--base <git-ref>/);
    expect(error('--base', 'main', '--colour')).toMatch(/Unknown option '--colour'/);
    for (const message of [error('--base', 'main', '--format', 'yaml'), error('--bogus')]) expect(message).not.toContain('\n');
  });
});

describe('saved plans and checkouts', () => {
  it('accepts what npm run plan -- --json prints (one stack or a list), refuses anything else by name', () => {
    expect(parseSavedPlans(JSON.stringify(small), 'f.json')).toHaveLength(1);
    expect(parseSavedPlans(JSON.stringify([small, mid]), 'f.json')).toHaveLength(2);
    const problem = (text: string) => {
      try {
        parseSavedPlans(text, '--base-plan f.json');
      } catch (e) {
        return (e as Error).message;
      }
      return 'accepted';
    };
    expect(problem('{')).toMatch(/^--base-plan f\.json: not JSON/);
    expect(problem(JSON.stringify({ ...small, stack: null }))).toMatch(/no "stack" name/);
    expect(problem(JSON.stringify([small, { tier: 'mid' }]))).toMatch(/element 1: no "stack"/);
    expect(problem(JSON.stringify({ ...small, resources: {} }))).toMatch(/"resources" is not a list/);
  });

  it('reuses the dependencies when the lock files are equal, runs npm ci when they differ, refuses without one', () => {
    expect(dependencyPlan('{"lockfileVersion":3}', '{"lockfileVersion":3}')).toEqual({ kind: 'reuse' });
    expect(dependencyPlan('{"lockfileVersion":3,"a":1}', '{"lockfileVersion":3}')).toMatchObject({ kind: 'install', reason: expect.stringMatching(/differs/) });
    expect(dependencyPlan(null, '{}')).toMatchObject({ kind: 'impossible' });
    expect(dependencyPlan('{}', null)).toMatchObject({ kind: 'install' });
  });

  it("puts <repo> for the checkout's directory in every plan string", () => {
    expect(withRepoPlaceholder({ a: ['/tmp/x/base/agent/Dockerfile', 'other'], b: { c: '/tmp/x/base' } }, '/tmp')).toEqual({ a: ['<repo>/x/base/agent/Dockerfile', 'other'], b: { c: '<repo>/x/base' } });
  });
});
