/**
 * Renders a Vega-Lite spec to an SVG string in Node: vega-lite compiles it to a Vega spec, a
 * headless Vega view (renderer "none") draws it to SVG. Offline by construction: the data is inline
 * and the loader refuses every URI, so a spec that would fetch anything fails here instead of
 * hanging on the network. Text is measured by Vega's built-in estimate (no canvas, no font files).
 */
import { loader, parse, View, Warn } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** A loader that refuses to load anything: the chart must not touch the network or the disk. */
function offlineLoader() {
  const refuse = async (uri: string): Promise<never> => {
    throw new Error(`the chart tried to load ${JSON.stringify(uri)}; charts render offline from inline data`);
  };
  const base = loader();
  base.load = refuse;
  base.http = refuse;
  base.file = refuse;
  base.sanitize = refuse;
  return base;
}

export async function renderVegaLiteToSvg(spec: TopLevelSpec): Promise<string> {
  const vegaSpec = compile(spec).spec;
  const view = new View(parse(vegaSpec), { renderer: 'none', loader: offlineLoader(), logLevel: Warn });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
