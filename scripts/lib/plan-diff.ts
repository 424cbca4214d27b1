/**
 * The offline plan diff, pure: two sets of saved stack plans (`npm run plan -- --stack all --json`)
 * in, a diff out: per stack (added, removed, changed, unchanged) the plan figures before -> after,
 * the resources added, removed and changed (input paths, whether the change replaces the resource
 * and what that does to live calls) and the cost lines and totals before -> after.
 */
import type { StackReport } from '../../components/report.js';
import type { PlannedResource } from './offline-plan.js';
import { type DisruptiveUpdate, LAUNCH_TEMPLATE_NON_DATA_INPUTS, type ReplaceRule, type RuleContext, rulesFor } from './plan-diff-replace.js';

/** One stack as `npm run plan -- --json` prints it: the report, and its resources unless --no-resources. */
export type SavedStackPlan = StackReport & { resources?: PlannedResource[] | null };

export type StackStatus = 'added' | 'removed' | 'changed' | 'unchanged';

/** A plan figure before -> after (display values: "2-6", "c7i.xlarge", 50000). */
export interface FieldChange {
  field: string;
  before: string | number | boolean | null;
  after: string | number | boolean | null;
}

/** One changed input, at its Pulumi property path ("rootBlockDevice.volumeSize", `tags["Name"]`). */
export interface InputChange {
  path: string;
  before: unknown;
  after: unknown;
  /** Set when the change is not in the inputs but follows from a dependency (a replaced resource's new id). */
  cause?: string;
}

export interface ResourceRef {
  type: string;
  name: string;
  parent: string | null;
  /** false for component resources (no provider, no cloud object). */
  custom: boolean;
  /** What deleting (removed) or replacing (changed) it does to live calls or data, when the table knows. */
  impact?: string | null;
}

/** A resource on both sides whose inputs differ (or that a dependency forces to change). */
export interface ResourceChange extends ResourceRef {
  /** update: in place; replace: deleted and created again (a new id). */
  action: 'update' | 'replace';
  changes: InputChange[];
  /** Changes the resource's ignoreChanges option drops: the engine keeps the old value. */
  ignored: InputChange[];
  /** Why it is replaced: "ami", "userData (userDataReplaceOnChange is true)", "replaceOnChanges option: tags". */
  replaceReasons: string[];
  /** In-place updates that still disturb what runs ("stops and starts the instance"). */
  effects: string[];
  /** What the replacement does to the running system, when known ("a single node: ... drops the calls"). */
  impact: string | null;
  /** Notes: the table does not know the type, replacement decided by an entry not re-read from source, protect, ... */
  notes: string[];
}

export interface ResourceDiff {
  added: ResourceRef[];
  removed: ResourceRef[];
  changed: ResourceChange[];
}

export interface CostLineChange {
  item: string;
  beforeMonthlyUsd: number | null;
  afterMonthlyUsd: number | null;
  deltaMonthlyUsd: number;
}

export interface Delta {
  before: number | null;
  after: number | null;
  delta: number;
  /** Percent of before; null when there is no before (or it is zero). */
  percent: number | null;
}

export interface CostDiff {
  lines: CostLineChange[];
  monthlyUsd: Delta;
  perMinuteUsd: Delta;
  infraMonthlyUsd: Delta;
  providersMonthlyUsd: Delta;
}

export interface StackDiff {
  stack: string;
  status: StackStatus;
  tier: { before: string | null; after: string | null };
  plan: FieldChange[];
  warnings: { added: string[]; removed: string[] };
  /** null when a side has no resource list (planned with --no-resources, or by a revision without the offline plan). */
  resources: ResourceDiff | null;
  cost: CostDiff;
}

export interface PlanDiff {
  stacks: StackDiff[];
}

/** The plan figures a reviewer compares, in display form. */
const PLAN_FIELDS: ReadonlyArray<[string, (r: StackReport) => string | number | boolean | null]> = [
  ['tier', (r) => r.tier],
  ['monthly minutes', (r) => r.assumptions.monthlyMinutes],
  ['busy-hour sessions', (r) => r.capacity.busyHour.sessions],
  ['spike sessions', (r) => r.capacity.spike.sessions],
  ['agent instance type', (r) => r.agents.instanceType],
  ['sessions per worker', (r) => r.agents.sessionsPerWorker],
  ['agent workers', (r) => range(r.agents.workers)],
  ['LiveKit instance type', (r) => r.livekit.instanceType],
  ['LiveKit nodes', (r) => range(r.livekit.nodes)],
  ['Redis', (r) => (r.redis.mode === 'local' ? 'local' : `managed ${r.redis.nodeType ?? '?'} +${r.redis.replicas} replica${r.redis.replicas === 1 ? '' : 's'}`)],
  ['load balancer', (r) => r.loadBalancer],
];

function range(r: { min: number; max: number }): string {
  return r.min === r.max ? `${r.min}` : `${r.min}-${r.max}`;
}

/** Diffs two sets of stack plans, stacks in head order then the removed ones; `only` limits the stacks. */
export function diffPlans(base: readonly SavedStackPlan[], head: readonly SavedStackPlan[], only?: readonly string[]): PlanDiff {
  const name = (p: SavedStackPlan) => p.stack ?? '(no stack)';
  const baseBy = new Map(base.map((p) => [name(p), p]));
  const headBy = new Map(head.map((p) => [name(p), p]));
  const names = [...headBy.keys(), ...[...baseBy.keys()].filter((n) => !headBy.has(n))].filter((n) => !only || only.includes(n));
  return { stacks: names.map((n) => diffStack(n, baseBy.get(n) ?? null, headBy.get(n) ?? null)) };
}

export function diffStack(stack: string, base: SavedStackPlan | null, head: SavedStackPlan | null): StackDiff {
  const plan = base && head ? planChanges(base, head) : [];
  const warnings = {
    added: (head?.warnings ?? []).filter((w) => !(base?.warnings ?? []).includes(w)),
    removed: (base?.warnings ?? []).filter((w) => !(head?.warnings ?? []).includes(w)),
  };
  const resources = resourceDiff(base, head);
  const cost = costDiff(base, head);
  const unchanged =
    plan.length === 0 &&
    warnings.added.length + warnings.removed.length === 0 &&
    cost.lines.every((l) => l.deltaMonthlyUsd === 0 && l.beforeMonthlyUsd !== null && l.afterMonthlyUsd !== null) &&
    cost.monthlyUsd.delta === 0 &&
    (!resources || resources.added.length + resources.removed.length + resources.changed.length === 0);
  return {
    stack,
    status: !base ? 'added' : !head ? 'removed' : unchanged ? 'unchanged' : 'changed',
    tier: { before: base?.tier ?? null, after: head?.tier ?? null },
    plan,
    warnings,
    resources,
    cost,
  };
}

function planChanges(base: StackReport, head: StackReport): FieldChange[] {
  return PLAN_FIELDS.map(([field, get]) => ({ field, before: get(base), after: get(head) })).filter((c) => c.before !== c.after);
}

function delta(before: number | null, after: number | null): Delta {
  const d = (after ?? 0) - (before ?? 0);
  return { before, after, delta: d, percent: before ? (d / before) * 100 : null };
}

export function costDiff(base: StackReport | null, head: StackReport | null): CostDiff {
  const beforeLines = new Map((base?.cost.lines ?? []).map((l) => [l.item, l.monthlyUsd]));
  const afterLines = new Map((head?.cost.lines ?? []).map((l) => [l.item, l.monthlyUsd]));
  const items = [...afterLines.keys(), ...[...beforeLines.keys()].filter((i) => !afterLines.has(i))];
  return {
    lines: items.map((item) => {
      const before = beforeLines.get(item) ?? null;
      const after = afterLines.get(item) ?? null;
      return { item, beforeMonthlyUsd: before, afterMonthlyUsd: after, deltaMonthlyUsd: (after ?? 0) - (before ?? 0) };
    }),
    monthlyUsd: delta(base?.cost.monthlyUsd ?? null, head?.cost.monthlyUsd ?? null),
    perMinuteUsd: delta(base?.cost.perMinuteUsd ?? null, head?.cost.perMinuteUsd ?? null),
    infraMonthlyUsd: delta(base?.cost.infraMonthlyUsd ?? null, head?.cost.infraMonthlyUsd ?? null),
    providersMonthlyUsd: delta(base?.cost.providersMonthlyUsd ?? null, head?.cost.providersMonthlyUsd ?? null),
  };
}

const keyOf = (r: { type: string; name: string; parent: string | null }) => `${r.type}\0${r.name}\0${r.parent ?? ''}`;
const refOf = (r: PlannedResource): ResourceRef => ({ type: r.type, name: r.name, parent: r.parent, custom: r.id !== null });

/** Resources by identity (type, name, parent): null when a side has no resource list. */
export function resourceDiff(base: SavedStackPlan | null, head: SavedStackPlan | null): ResourceDiff | null {
  const before = base ? base.resources : [];
  const after = head ? head.resources : [];
  if (!Array.isArray(before) || !Array.isArray(after)) return null;
  const beforeBy = new Map(before.map((r) => [keyOf(r), r]));
  const afterBy = new Map(after.map((r) => [keyOf(r), r]));
  const added = after.filter((r) => !beforeBy.has(keyOf(r))).map(refOf);
  const removed = before
    .filter((r) => !afterBy.has(keyOf(r)))
    .map((r) => {
      const impact = r.id !== null ? rulesFor(r.type)?.removalImpact : undefined;
      return impact ? { ...refOf(r), impact } : refOf(r);
    });
  const pairs = after.filter((r) => beforeBy.has(keyOf(r))).map((r) => [beforeBy.get(keyOf(r))!, r] as const);
  return { added, removed, changed: changedResources(pairs) };
}

/**
 * Each pair's changes, then the changes that follow from them until none is new: a replaced
 * resource gets a new id, so every input holding its id changes too (an instance replaced moves
 * its EIP association and target group attachments); an updated launch template gets a new
 * version, so the group launching it changes (and rolls its instances). The mocks give a replaced
 * resource the same id, so these changes are not in the inputs: they are derived here.
 */
export function changedResources(pairs: ReadonlyArray<readonly [PlannedResource, PlannedResource]>): ResourceChange[] {
  const induced = new Map<string, InputChange[]>();
  const results = new Map<string, ResourceChange>();
  const evaluate = () => {
    for (const [before, after] of pairs) {
      const change = assessChange(before, after, induced.get(keyOf(after)) ?? []);
      if (change) results.set(keyOf(after), change);
    }
  };
  evaluate();
  for (let round = 0; round < pairs.length; round++) {
    let grew = false;
    for (const [, after] of pairs) {
      const source = results.get(keyOf(after));
      if (!source || source.changes.length === 0 || after.id === null) continue;
      for (const [, dependent] of pairs) {
        if (dependent === after) continue;
        for (const change of dependencyChanges(source, after, dependent)) {
          const list = induced.get(keyOf(dependent)) ?? [];
          if (list.some((c) => c.path === change.path)) continue;
          induced.set(keyOf(dependent), [...list, change]);
          grew = true;
        }
      }
    }
    if (!grew) break;
    evaluate();
  }
  return pairs.map(([, after]) => results.get(keyOf(after))).filter((c): c is ResourceChange => c !== undefined);
}

/** Changes a dependent sees because `source` (planned as `planned`) is replaced or is a launch template updated. */
function dependencyChanges(source: ResourceChange, planned: PlannedResource, dependent: PlannedResource): InputChange[] {
  const id = planned.id!;
  const out: InputChange[] = [];
  if (source.action === 'replace') {
    for (const path of pathsHolding(dependent.inputs, id)) {
      out.push({ path, before: id, after: '(new id)', cause: `${planned.name} is replaced` });
    }
  }
  const newVersion = source.changes.some((c) => !LAUNCH_TEMPLATE_NON_DATA_INPUTS.includes(String(parsePath(c.path)[0])));
  if (planned.type === 'aws:ec2/launchTemplate:LaunchTemplate' && newVersion) {
    for (const path of pathsHolding(dependent.inputs, id)) {
      const parent = path.replace(/(\.id|\["id"\])$/, '');
      if (parent === path) continue;
      const holder = valueAt(dependent.inputs, parent) as Record<string, unknown> | undefined;
      if (holder && 'version' in holder) {
        out.push({ path: `${parent}.version`, before: holder.version, after: '(new version)', cause: `${planned.name} gets a new version` });
      }
    }
  }
  return out;
}

/** Property paths of string leaves that contain `needle`. */
function pathsHolding(value: unknown, needle: string, path = ''): string[] {
  if (typeof value === 'string') return value.includes(needle) ? [path] : [];
  if (Array.isArray(value)) return value.flatMap((v, i) => pathsHolding(v, needle, `${path}[${i}]`));
  if (value && typeof value === 'object') {
    return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => pathsHolding(v, needle, joinPath(path, k)));
  }
  return [];
}

function valueAt(value: unknown, path: string): unknown {
  let node = value;
  for (const segment of parsePath(path)) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string | number, unknown>)[segment];
  }
  return node;
}

/** The change of one resource present on both sides, or null when nothing differs. */
export function assessChange(before: PlannedResource, after: PlannedResource, induced: readonly InputChange[] = []): ResourceChange | null {
  const all = [...diffInputs(before.inputs, after.inputs), ...induced];
  if (all.length === 0) return null;
  const ignore = after.options?.ignoreChanges ?? [];
  const ignored = all.filter((c) => ignore.some((p) => pathCovers(p, c.path)));
  const changes = all.filter((c) => !ignored.includes(c));
  const result: ResourceChange = {
    ...refOf(after),
    action: 'update',
    changes,
    ignored,
    replaceReasons: [],
    effects: [],
    impact: null,
    notes: [],
  };
  if (changes.length === 0) return result;
  if (after.id === null) return result; // a component: no provider, nothing to replace

  const rules = rulesFor(after.type);
  const context = (c: InputChange): RuleContext => ({ before: c.before, after: c.after, inputsBefore: before.inputs, inputsAfter: after.inputs });
  if (!rules) {
    result.notes.push(`${after.type} is not in the replace-on-change table: whether this replaces it is unknown (pulumi preview tells)`);
  } else if (rules.replaceOn === 'all') {
    const why = `the provider cannot update ${shortTypeName(after.type)}`;
    result.replaceReasons.push(...changes.map((c) => `${c.path} (${[c.cause, why].filter(Boolean).join('; ')})`));
  } else {
    for (const c of changes) {
      const rule = rules.replaceOn.find((r) => ruleCovers(r, c.path) && (!r.when || r.when(context(c))));
      if (rule) result.replaceReasons.push(reasonOf(c, rule));
    }
  }
  for (const p of after.options?.replaceOnChanges ?? []) {
    for (const c of changes) if (p === '*' || pathCovers(p, c.path)) result.replaceReasons.push(`${c.path} (replaceOnChanges option)`);
  }
  result.replaceReasons = unique(result.replaceReasons);

  if (result.replaceReasons.length > 0) {
    result.action = 'replace';
    result.impact = rules?.replacementImpact ?? null;
    if (rules && !rules.read) result.notes.push(`decided by a table entry not re-read from the provider's source (${rules.source})`);
    if (after.options?.deleteBeforeReplace) result.notes.push('deleteBeforeReplace: the old one is deleted before the new one exists');
    if (after.options?.retainOnDelete) result.notes.push('retainOnDelete: the old one is left running in AWS, unmanaged');
    if (after.options?.protect) result.notes.push('protect: `pulumi up` will refuse to delete it');
  } else if (rules?.disruptiveUpdates) {
    result.effects = unique(
      rules.disruptiveUpdates.flatMap((u: DisruptiveUpdate) =>
        changes.some((c) => u.paths.some((p) => ruleCovers({ path: p }, c.path)) && (!u.when || u.when(context(c)))) ? [u.effect] : [],
      ),
    );
  }
  return result;
}

function reasonOf(change: InputChange, rule: ReplaceRule): string {
  const parts = [change.cause, rule.condition].filter(Boolean);
  return parts.length > 0 ? `${change.path} (${parts.join('; ')})` : change.path;
}

function shortTypeName(type: string): string {
  return type.split(':').at(-1) ?? type;
}

function unique<T>(items: readonly T[]): T[] {
  return [...new Set(items)];
}

// ---------------------------------------------------------------------------------------------
// Input paths, in Pulumi's property path syntax (the syntax of ignoreChanges and replaceOnChanges):
// `a.b[0].c`, `tags["voice-agent-infra:tier"]` for keys that are not identifiers, `[*]` for any index.

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function joinPath(path: string, key: string): string {
  if (IDENTIFIER.test(key)) return path ? `${path}.${key}` : key;
  return `${path}[${JSON.stringify(key)}]`;
}

/** Path segments: property names as strings, list indices as numbers, `[*]` as '*'. */
export function parsePath(path: string): Array<string | number> {
  const segments: Array<string | number> = [];
  const re = /([A-Za-z_$][A-Za-z0-9_$]*|\*)|\[(\d+|\*|"(?:[^"\\]|\\.)*")\]|\./g;
  for (const m of path.matchAll(re)) {
    if (m[1] !== undefined) segments.push(m[1]);
    else if (m[2] !== undefined) segments.push(m[2] === '*' ? '*' : m[2].startsWith('"') ? (JSON.parse(m[2]) as string) : Number(m[2]));
  }
  return segments;
}

/** An ignoreChanges / replaceOnChanges path covers a changed path when it is that path or above it; `*` matches any segment. */
export function pathCovers(option: string, changed: string): boolean {
  const o = parsePath(option);
  const c = parsePath(changed);
  if (o.length > c.length) return false;
  return o.every((seg, i) => seg === '*' || seg === c[i]);
}

/** A table rule names properties only: it covers a changed path whose property names (indices dropped) start with it. */
function ruleCovers(rule: { path: string }, changed: string): boolean {
  const names = parsePath(changed).filter((s): s is string => typeof s === 'string');
  const ruleNames = rule.path.split('.');
  return ruleNames.length <= names.length && ruleNames.every((n, i) => n === names[i]);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * The changed leaves between two input trees. Objects are compared key by key; lists of the same
 * length element by element, lists of different lengths of primitives as one value (a set of
 * subnets, of security groups), of objects element by element up to the longer length.
 */
export function diffInputs(before: unknown, after: unknown, path = ''): InputChange[] {
  if (deepEqual(before, after)) return [];
  if (isObject(before) || isObject(after)) {
    if ((before !== undefined && !isObject(before)) || (after !== undefined && !isObject(after))) return [{ path, before, after }];
    const b = (before ?? {}) as Record<string, unknown>;
    const a = (after ?? {}) as Record<string, unknown>;
    const keys = [...new Set([...Object.keys(b), ...Object.keys(a)])].sort();
    return keys.flatMap((k) => diffInputs(b[k], a[k], joinPath(path, k)));
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    const primitives = [...before, ...after].every((v) => v === null || typeof v !== 'object');
    if (before.length !== after.length && primitives) return [{ path, before, after }];
    const n = Math.max(before.length, after.length);
    return Array.from({ length: n }, (_, i) => diffInputs(before[i], after[i], `${path}[${i}]`)).flat();
  }
  return [{ path, before, after }];
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) return a.length === (b as unknown[]).length && a.every((v, i) => deepEqual(v, (b as unknown[])[i]));
  const ka = Object.keys(a as object);
  const kb = Object.keys(b as object);
  return ka.length === kb.length && ka.every((k) => deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** Stacks whose monthly cost grew by more than `percent` (added stacks have no baseline and never count). */
export function stacksOverIncrease(diff: PlanDiff, percent: number): StackDiff[] {
  return diff.stacks.filter((s) => s.status === 'changed' && s.cost.monthlyUsd.percent !== null && s.cost.monthlyUsd.percent > percent);
}
