/**
 * agent/Dockerfile, checked without a Docker daemon: a glibc Node 20 base, multi-stage with only
 * the agent package's production dependencies in the runtime, a non-root user, a HEALTHCHECK on
 * the worker's health port, `voice-agent` as ENTRYPOINT with `agent` as the default role, and every
 * file it COPYs present in the repository and let through by .dockerignore.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../src/dev/processes.js';

interface Instruction {
  keyword: string;
  args: string;
}

/** Instructions with line continuations joined and comments dropped. */
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!current && (line === '' || line.startsWith('#'))) continue;
    current += (current ? ' ' : '') + line.replace(/\\$/, '').trim();
    if (line.endsWith('\\')) continue;
    const [keyword, ...rest] = current.split(/\s+/);
    out.push({ keyword: keyword!.toUpperCase(), args: rest.join(' ') });
    current = '';
  }
  return out;
}

const dockerfile = readFileSync(join(REPO_ROOT, 'agent/Dockerfile'), 'utf8');
const instructions = parseDockerfile(dockerfile);
const args = Object.fromEntries(
  instructions.filter((i) => i.keyword === 'ARG' && i.args.includes('=')).map((i) => i.args.split('=') as [string, string]),
);
const stages: Instruction[][] = [];
for (const i of instructions) {
  if (i.keyword === 'FROM') stages.push([]);
  stages[stages.length - 1]?.push(i);
}
const runtime = stages[stages.length - 1]!;

/** Paths .dockerignore lets into the build context (it is an allowlist: `*` then `!path`). */
function allowedByDockerignore(path: string): boolean {
  const rules = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  let included = true;
  for (const rule of rules) {
    const negated = rule.startsWith('!');
    const pattern = negated ? rule.slice(1) : rule;
    const matches =
      pattern === '*' ||
      pattern === path ||
      (pattern.endsWith('/**') && (path === pattern.slice(0, -3) || path.startsWith(pattern.slice(0, -2))));
    if (matches) included = negated;
  }
  return included;
}

describe('agent/Dockerfile', () => {
  it('builds on Node 20 with glibc (a Debian slim image, never Alpine/musl)', () => {
    const froms = instructions.filter((i) => i.keyword === 'FROM').map((i) => i.args.replace(/^--platform=\S+\s+/, '').split(/\s+/)[0]!);
    expect(froms.length).toBeGreaterThanOrEqual(2); // multi-stage
    for (const from of froms) {
      const image = from.replace(/^\$\{(\w+)\}$/, (_m, name: string) => args[name] ?? from);
      expect(image).toMatch(/^node:20-(bookworm|bullseye)-slim$/);
      expect(image).not.toMatch(/alpine/);
    }
  });

  it('installs only the agent package production dependencies for the runtime, and compiles in a stage of its own', () => {
    const installs = instructions.filter((i) => i.keyword === 'RUN' && i.args.includes('npm ci'));
    expect(installs.some((i) => /--omit=dev/.test(i.args) && /-w agent/.test(i.args) && /-w common/.test(i.args))).toBe(true);
    expect(instructions.some((i) => i.keyword === 'RUN' && /tsc -b common agent/.test(i.args))).toBe(true);
    // The runtime takes node_modules from the production-dependency stage and dist from the build stage.
    const fromStage = runtime.filter((i) => i.keyword === 'COPY' && i.args.includes('--from=')).map((i) => i.args);
    expect(fromStage).toContain('--from=deps /app/node_modules node_modules');
    expect(fromStage).toContain('--from=build /app/agent/dist agent/dist');
    expect(runtime.some((i) => i.keyword === 'COPY' && /^\.\s/.test(i.args))).toBe(false); // never the whole context
  });

  it('runs as a non-root user', () => {
    const users = runtime.filter((i) => i.keyword === 'USER').map((i) => i.args);
    expect(users.length).toBeGreaterThan(0);
    expect(users[users.length - 1]).not.toMatch(/^(root|0)(:|$)/);
  });

  it('has a HEALTHCHECK on the worker health port', () => {
    const health = runtime.filter((i) => i.keyword === 'HEALTHCHECK');
    expect(health).toHaveLength(1);
    expect(health[0]!.args).toMatch(/CMD/);
    expect(health[0]!.args).toContain('AGENT_HEALTH_PORT||8081');
  });

  it('starts `voice-agent agent` by default', () => {
    expect(runtime.filter((i) => i.keyword === 'ENTRYPOINT').map((i) => JSON.parse(i.args))).toEqual([['voice-agent']]);
    expect(runtime.filter((i) => i.keyword === 'CMD').map((i) => JSON.parse(i.args))).toEqual([['agent']]);
    expect(dockerfile).toContain('/usr/local/bin/voice-agent');
  });

  it('copies only files that exist and that .dockerignore sends to the builder', () => {
    const sources = instructions
      .filter((i) => i.keyword === 'COPY' && !i.args.includes('--from='))
      .flatMap((i) => {
        const parts = i.args.split(/\s+/).filter((p) => !p.startsWith('--'));
        return parts.slice(0, -1);
      });
    expect(sources.length).toBeGreaterThan(5);
    for (const source of sources) {
      expect(existsSync(join(REPO_ROOT, source)), `${source} exists`).toBe(true);
      expect(allowedByDockerignore(source), `${source} is in the build context`).toBe(true);
    }
    // And what must never be in the context stays out.
    for (const secret of ['.env', 'node_modules', 'agent/dist', 'stacks/Pulumi.mid.yaml']) expect(allowedByDockerignore(secret)).toBe(false);
  });

  it('the bin the entrypoint runs is the committed stub', () => {
    expect(readFileSync(join(REPO_ROOT, 'agent/bin/voice-agent.js'), 'utf8')).toContain("new URL('../dist/main.js', import.meta.url)");
  });
});
