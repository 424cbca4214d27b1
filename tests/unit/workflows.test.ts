/**
 * The GitHub workflows parse, and everything they run exists: npm scripts, files, the diff's
 * flags (checked by the diff's own parser), the policy pack; the PR comment is found by the
 * marker the markdown format writes, with GitHub's own tools only.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseDiffArgs } from '../../scripts/lib/plan-diff-args.js';
import { DIFF_MARKER } from '../../scripts/lib/plan-diff-format.js';
import { REPO_ROOT } from '../../scripts/lib/stacks.js';

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
  if?: string;
}
interface Job {
  needs?: string | string[];
  if?: string;
  permissions?: Record<string, string>;
  strategy?: { matrix?: Record<string, unknown> };
  steps: Step[];
}
interface Workflow {
  name: string;
  on: Record<string, unknown>;
  jobs: Record<string, Job>;
}

function workflow(file: string): Workflow {
  return parseYaml(readFileSync(join(REPO_ROOT, '.github', 'workflows', file), 'utf8')) as Workflow;
}

const scripts = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
const ci = workflow('ci.yml');
const preview = workflow('preview.yml');
const allSteps = (w: Workflow) => Object.values(w.jobs).flatMap((j) => j.steps);

/** Sample values for the step variables the diff commands use (the step's env gives them from GitHub). */
const SAMPLE: Record<string, string> = { BASE_REF: 'main', LIMIT: '10' };

/** Shell words of the `npm run diff -- ...` commands in a run block, step variables made concrete. */
function diffCommands(run: string): string[][] {
  return run
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('npm run diff --'))
    .map((l) =>
      l
        .replace(/\s*>.*$/, '')
        .replace(/\$([A-Z_]+)/g, (_, name: string) => SAMPLE[name] ?? `$${name}`)
        .split(/\s+/)
        .slice(4)
        .map((w) => w.replace(/^"|"$/g, '')),
    );
}

describe('the workflows', () => {
  it('ci.yml runs bash .ci/run on push and pull request', () => {
    expect(Object.keys(ci.on).sort()).toEqual(['pull_request', 'push']);
    expect(allSteps(ci).some((s) => s.run === 'bash .ci/run')).toBe(true);
    expect(existsSync(join(REPO_ROOT, '.ci', 'run'))).toBe(true);
  });

  it('every npm script and file they run exists', () => {
    for (const step of [...allSteps(ci), ...allSteps(preview)]) {
      for (const m of (step.run ?? '').matchAll(/npm run ([\w:-]+)/g)) expect(scripts[m[1]!], `npm run ${m[1]}`).toBeDefined();
      for (const m of (step.run ?? '').matchAll(/\bbash ([\w./-]+)/g)) expect(existsSync(join(REPO_ROOT, m[1]!)), m[1]).toBe(true);
      // Variables the diff commands use come from the step's env (not from an unquoted expression).
      for (const line of (step.run ?? '').split('\n').filter((l) => l.includes('npm run diff'))) {
        for (const m of line.matchAll(/\$([A-Z_]+)/g)) expect(step.env?.[m[1]!], `${m[1]} in ${step.name}`).toBeDefined();
      }
    }
  });

  it('preview.yml diffs every pull request offline: full history, Node 20 with the npm cache, npm ci, the diff as markdown, the JSON kept', () => {
    expect(Object.keys(preview.on)).toEqual(['pull_request']);
    const steps = preview.jobs['plan-diff']!.steps;
    expect(steps.find((s) => s.uses?.startsWith('actions/checkout@'))?.with).toMatchObject({ 'fetch-depth': 0 });
    expect(steps.find((s) => s.uses?.startsWith('actions/setup-node@'))?.with).toMatchObject({ 'node-version': 20, cache: 'npm' });
    expect(steps.some((s) => /^npm ci\b/.test(s.run ?? ''))).toBe(true);

    const commands = steps.flatMap((s) => diffCommands(s.run ?? ''));
    expect(commands.length).toBeGreaterThanOrEqual(2);
    const parsed = commands.map((c) => parseDiffArgs(c)); // throws on a flag the diff does not take
    expect(parsed[0]).toMatchObject({ base: 'origin/main', format: 'markdown', out: 'diff.md' });
    expect(parsed.some((p) => p.format === 'json' && p.out === 'diff.json')).toBe(true);
    const artifact = steps.find((s) => s.uses?.startsWith('actions/upload-artifact@'))!;
    expect(String(artifact.with!.path)).toContain('diff.json');
  });

  it('one comment per pull request, found by the markdown marker and updated, with gh (no third-party action)', () => {
    const steps = preview.jobs['plan-diff']!.steps;
    for (const s of steps) if (s.uses) expect(s.uses, 'only GitHub actions in the comment job').toMatch(/^actions\//);
    const comment = steps.find((s) => (s.run ?? '').includes('gh api'))!;
    expect(comment.run).toContain(`startswith("${DIFF_MARKER}")`);
    expect(comment.run).toMatch(/--method PATCH "repos\/\$REPO\/issues\/comments\/\$id" -F body=@diff\.md/);
    expect(comment.run).toMatch(/--method POST "repos\/\$REPO\/issues\/\$PR\/comments" -F body=@diff\.md/);
    expect(comment.env?.GH_TOKEN).toBe('${{ github.token }}');
  });

  it('the credentialed pulumi preview runs only when Pulumi and AWS credentials are configured: per stack, commented, with diff and the policy pack', () => {
    const check = preview.jobs.credentials!.steps.find((s) => s.run?.includes('configured='))!;
    expect(check.run).toMatch(/PULUMI_ACCESS_TOKEN.*PULUMI_BACKEND_URL.*AWS_ROLE_TO_ASSUME/s);
    const job = preview.jobs['pulumi-preview']!;
    expect(job.needs).toBe('credentials');
    expect(job.if).toBe("needs.credentials.outputs.configured == 'true'");
    expect(job.strategy?.matrix?.stack).toBe('${{ fromJSON(needs.credentials.outputs.stacks) }}');
    expect(job.permissions).toMatchObject({ 'id-token': 'write', 'pull-requests': 'write' });
    const action = job.steps.find((s) => s.uses?.startsWith('pulumi/actions@'))!;
    expect(action.uses).toMatch(/^pulumi\/actions@v[67]/);
    expect(action.with).toMatchObject({ command: 'preview', 'comment-on-pr': true, diff: true, policyPacks: 'components/policy' });
    expect(existsSync(join(REPO_ROOT, String(action.with!.policyPacks), 'PulumiPolicy.yaml'))).toBe(true);
  });
});
