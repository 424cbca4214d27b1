/**
 * The HTML report's chart: monthly cost against monthly minutes, as data (pure re-plans of each
 * stack's config across a range of minutes) and as a Vega-Lite spec (pure). Rendering to SVG is in
 * render-chart.ts.
 *
 * One panel per stack, because the managed platforms that pass providers through at cost (Vapi,
 * Retell, LiveKit Cloud) are priced with that stack's own STT/LLM/TTS/telephony choices: a curve
 * for "Vapi" only means something next to the stack whose providers it carries. In each panel:
 * - the self-hosted curve with the stack's tier forced (config `tier`), drawn only where the load
 *   fits that tier (planning throws ConfigError elsewhere: the point is skipped);
 * - each managed platform at the same minutes (planned with the tier left to the minutes, so the
 *   curve spans the whole range; a platform's price does not depend on our tier);
 * - a dot at the stack's own minutes and cost as configured.
 */
import { DEFAULT_CATALOG, type PriceCatalog } from '@voice-agent-infra/common';
import type { TopLevelSpec } from 'vega-lite';
import { ConfigError, type StackConfig, type Tier, TIERS } from '../../components/config.js';
import { priceDeployment } from '../../components/cost/price-deployment.js';
import { planDeployment } from '../../components/plan/plan.js';

export type CurveKind = 'self-hosted' | 'managed' | 'as configured';

export interface CostCurvePoint {
  /** Panel title (one per stack). */
  panel: string;
  stack: string;
  /** Legend entry: "self-hosted, mid tier" or the platform name. */
  series: string;
  kind: CurveKind;
  monthlyMinutes: number;
  monthlyUsd: number;
}

export interface ChartStack {
  stack: string;
  /** The stack's validated config; its `tier` is replaced by `tier` below for the self-hosted curve. */
  config: StackConfig;
  /** The tier the stack plans to as configured (the curve holds it across the range). */
  tier: Tier;
  /** The stack as configured: its minutes and monthly cost (the dot). */
  monthlyMinutes: number;
  monthlyUsd: number;
}

export interface CostCurves {
  points: CostCurvePoint[];
  /** Per stack, the minutes of the range where its tier does not fit (self-hosted point skipped). */
  skipped: Array<{ stack: string; tier: Tier; minutes: number[] }>;
}

/** Default range of the chart: 5,000 to 500,000 minutes a month, log-spaced. */
export const CHART_MINUTES_RANGE = { fromMinutes: 5_000, toMinutes: 500_000, pointsPerDecade: 16 } as const;

/** Log-spaced whole minutes from..to inclusive, pointsPerDecade per factor of ten. */
export function logMinutesGrid(fromMinutes: number, toMinutes: number, pointsPerDecade: number): number[] {
  if (!(fromMinutes > 0 && toMinutes > fromMinutes && pointsPerDecade >= 1)) {
    throw new RangeError(`bad minutes grid: ${fromMinutes}..${toMinutes}, ${pointsPerDecade} per decade`);
  }
  const steps = Math.round(Math.log10(toMinutes / fromMinutes) * pointsPerDecade);
  const grid = Array.from({ length: steps + 1 }, (_, i) => Math.round(fromMinutes * 10 ** ((i * Math.log10(toMinutes / fromMinutes)) / steps)));
  return [...new Set(grid)];
}

export function selfHostedSeries(tier: Tier): string {
  return `self-hosted, ${tier} tier`;
}

export function panelTitle(stack: ChartStack): string {
  const p = stack.config.providers;
  return `${stack.stack} stack (${stack.tier} tier), providers: ${p.stt}, ${p.llm} + ${p.complexLlm}, ${p.tts}, ${p.telephony}`;
}

/** Re-plans and re-prices every stack at every minutes of the grid. */
export function costCurves(stacks: readonly ChartStack[], grid: readonly number[], catalog: PriceCatalog = DEFAULT_CATALOG): CostCurves {
  const points: CostCurvePoint[] = [];
  const skipped: CostCurves['skipped'] = [];
  for (const chartStack of stacks) {
    const panel = panelTitle(chartStack);
    const base = { panel, stack: chartStack.stack };
    const skippedMinutes: number[] = [];
    for (const monthlyMinutes of grid) {
      const selfCost = costOrNull({ ...chartStack.config, monthlyMinutes, tier: chartStack.tier }, catalog);
      if (selfCost) {
        points.push({ ...base, series: selfHostedSeries(chartStack.tier), kind: 'self-hosted', monthlyMinutes, monthlyUsd: selfCost.monthlyUsd });
      } else {
        skippedMinutes.push(monthlyMinutes);
      }
      // A platform's price depends on neither our tier nor our target: planned as AWS, so a Kubernetes
      // stack's own constraints (e.g. large needs kubernetes.redisUrl) do not cut the platform curves.
      const managedCost = costOrNull({ ...chartStack.config, target: 'aws', monthlyMinutes, tier: undefined }, catalog);
      for (const m of managedCost?.managed ?? []) {
        points.push({ ...base, series: m.platform, kind: 'managed', monthlyMinutes, monthlyUsd: m.monthlyUsd });
      }
    }
    points.push({ ...base, series: 'this stack as configured', kind: 'as configured', monthlyMinutes: chartStack.monthlyMinutes, monthlyUsd: chartStack.monthlyUsd });
    if (skippedMinutes.length > 0) skipped.push({ stack: chartStack.stack, tier: chartStack.tier, minutes: skippedMinutes });
  }
  return { points, skipped };
}

/** The cost of a config, or null when the load does not fit (ConfigError); other errors propagate. */
function costOrNull(config: StackConfig, catalog: PriceCatalog) {
  try {
    return priceDeployment(planDeployment(config), catalog);
  } catch (error) {
    if (error instanceof ConfigError) return null;
    throw error;
  }
}

/** 1-2-5 ticks covering [min, max] (log axes read best with few, round gridlines). */
export function logTicks(min: number, max: number): number[] {
  const ticks: number[] = [];
  for (let decade = 10 ** Math.floor(Math.log10(min)); decade <= max; decade *= 10) {
    for (const step of [1, 2, 5]) {
      const tick = step * decade;
      if (tick >= min && tick <= max) ticks.push(tick);
    }
  }
  return ticks;
}

/**
 * Vega-Lite spec: one row per stack panel, log x (minutes) and log y (USD/month), a thick solid line
 * per self-hosted tier, a thin dashed line per managed platform, a diamond for the stack as
 * configured. Colour, dash and width share one legend (all by series), and colours are shared
 * across panels so a platform (or a tier) has one colour throughout.
 */
export function costChartSpec(curves: CostCurves, options: { fromMinutes: number; toMinutes: number }): TopLevelSpec {
  const panels = [...new Set(curves.points.map((p) => p.panel))];
  const drawn = curves.points.filter((p) => p.kind !== 'as configured');
  const selfHosted = TIERS.map(selfHostedSeries).filter((name) => drawn.some((p) => p.series === name));
  const managed = [...new Set(drawn.filter((p) => p.kind === 'managed').map((p) => p.series))];
  const series = [...selfHosted, ...managed];
  const isSelf = (name: string) => selfHosted.includes(name);
  const usd = curves.points.map((p) => p.monthlyUsd).filter((v) => v > 0);
  const usdMin = 10 ** Math.floor(Math.log10(Math.min(...usd)));
  const usdMax = 10 ** Math.ceil(Math.log10(Math.max(...usd)));
  const x = {
    field: 'monthlyMinutes',
    type: 'quantitative' as const,
    title: 'Monthly call minutes (log scale)',
    scale: { type: 'log' as const, domain: [options.fromMinutes, options.toMinutes] },
    axis: { format: '~s', values: logTicks(options.fromMinutes, options.toMinutes) },
  };
  const y = {
    field: 'monthlyUsd',
    type: 'quantitative' as const,
    title: 'USD per month (log scale)',
    scale: { type: 'log' as const, domain: [usdMin, usdMax] },
    axis: { format: '$~s', values: logTicks(usdMin, usdMax) },
  };
  const bySeries = { field: 'series', type: 'nominal' as const, sort: series, title: 'Solid: self-hosted; dashed: managed platforms' };
  return {
    title: { text: 'Monthly cost against monthly minutes', anchor: 'start' },
    data: { values: curves.points },
    facet: {
      row: {
        field: 'panel',
        type: 'nominal',
        sort: panels,
        header: { title: null, labelAngle: 0, labelOrient: 'top', labelAnchor: 'start', labelFontWeight: 'bold', labelFontSize: 12, labelLimit: 0 },
      },
    },
    spec: {
      width: 720,
      height: 260,
      layer: [
        {
          transform: [{ filter: "datum.kind !== 'as configured'" }],
          mark: { type: 'line' },
          encoding: {
            x,
            y,
            color: { ...bySeries, legend: { orient: 'bottom', columns: 3, labelLimit: 0, titleLimit: 0, symbolType: 'stroke', symbolSize: 400 } },
            strokeDash: { ...bySeries, scale: { domain: series, range: series.map((n) => (isSelf(n) ? [1, 0] : [6, 4])) } },
            strokeWidth: { ...bySeries, scale: { domain: series, range: series.map((n) => (isSelf(n) ? 3 : 1.5)) } },
          },
        },
        {
          transform: [{ filter: "datum.kind === 'as configured'" }],
          mark: { type: 'point', filled: true, size: 90, color: 'black', shape: 'diamond' },
          encoding: { x, y },
        },
      ],
    },
    resolve: { scale: { y: 'shared' } },
    config: { font: 'Helvetica, Arial, sans-serif', view: { stroke: '#ccc' }, axis: { gridColor: '#e6e6e6' } },
  };
}
