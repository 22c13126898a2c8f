// Charts as SVG text: loss curves and the VAE's latent map. A vega-lite spec
// is compiled to vega and rendered headless — a View with renderer 'none'
// and toSVG() — so it runs the same in Node (no canvas: vega estimates text
// widths) and in the browser. All data goes inline in the spec, and the View
// gets a loader that refuses every request, so a chart never reaches for
// the network or the disk.
import type { TopLevelSpec } from 'vega-lite';
import type { Loader } from 'vega';

export interface Series {
  name: string;
  /** (x, y) pairs in x order; points whose x or y is not finite are skipped. */
  points: Array<[number, number]>;
}

export interface LineChartOptions {
  title?: string;
  xLabel?: string;
  yLabel?: string;
  /** A log-scale y axis; points with y ≤ 0 are then left out, as a log axis cannot show them. */
  logY?: boolean;
  /** Size of the whole SVG, axes and legend included; default 640 × 360. */
  width?: number;
  height?: number;
}

export interface ScatterPoint {
  x: number;
  y: number;
  label: string;
}

export interface ScatterOptions {
  title?: string;
  xLabel?: string;
  yLabel?: string;
  width?: number;
  height?: number;
}

/** Points per line handed to vega; longer series are averaged down in buckets. */
const MAX_LINE_POINTS = 1000;
/** Dots per scatter plot; of more, a fixed random subset is drawn. */
const MAX_SCATTER_POINTS = 2500;
/** Series at most this long get a dot at each point, so sparse curves (one per epoch) stay readable. */
const MARK_POINTS_UP_TO = 60;

// vega and vega-lite are large; load them on the first chart, not when a
// training loop merely imports this file.
let libraries: Promise<[typeof import('vega-lite'), typeof import('vega')]> | undefined;
function loadLibraries() {
  libraries ??= Promise.all([import('vega-lite'), import('vega')]);
  return libraries;
}

function refuse(uri: string): Promise<never> {
  return Promise.reject(new Error(`wgrad charts load nothing; vega asked for ${JSON.stringify(uri)}`));
}

/** A vega loader that fetches nothing: every chart carries its data inline. */
const noLoading: Loader = {
  load: (uri) => refuse(uri),
  sanitize: (uri) => refuse(uri),
  http: (uri) => refuse(uri),
  file: (filename) => refuse(filename),
};

/** Compiles a vega-lite spec and renders it to SVG text without a canvas, a DOM or a network. */
async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const [vegaLite, vega] = await loadLibraries();
  // Errors only: an empty chart (no data yet) makes vega warn about infinite extents.
  const quiet = vega.logger(vega.Error);
  const compiled = vegaLite.compile(spec, { logger: quiet }).spec;
  const view = new vega.View(vega.parse(compiled), {
    renderer: 'none',
    loader: noLoading,
    logger: quiet,
    logLevel: vega.Error,
  });
  try {
    return shortenTranslations(await view.toSVG());
  } finally {
    view.finalize();
  }
}

/**
 * vega writes each dot's position as translate(x,y) at full double
 * precision; a hundredth of a pixel is plenty and halves a scatter plot's
 * size. Only transform attributes are touched: titles and labels keep their digits.
 */
function shortenTranslations(svg: string): string {
  return svg.replace(/transform="translate\(([-+0-9.e,]+)\)/g, (_, args: string) => {
    const rounded = args.split(',').map((v) => Math.round(Number(v) * 100) / 100);
    return `transform="translate(${rounded.join(',')})`;
  });
}

/**
 * Averages consecutive points in equal-count buckets so that at most `max`
 * remain. A 5000-step loss curve becomes 1000 points, each the mean of 5
 * steps: the SVG stays small, and the curve is smoothed a little, not
 * aliased as keeping every 5th point would be.
 */
function bucketMeans(points: Array<[number, number]>, max: number): Array<[number, number]> {
  if (points.length <= max) return points;
  const out: Array<[number, number]> = [];
  for (let b = 0; b < max; b++) {
    const start = Math.floor((b * points.length) / max);
    const end = Math.floor(((b + 1) * points.length) / max);
    let sx = 0;
    let sy = 0;
    for (let i = start; i < end; i++) {
      sx += points[i][0];
      sy += points[i][1];
    }
    out.push([sx / (end - start), sy / (end - start)]);
  }
  return out;
}

function unique(names: string[]): string[] {
  return [...new Set(names)];
}

function chartFrame(options: { title?: string; width?: number; height?: number }) {
  return {
    width: options.width ?? 640,
    height: options.height ?? 360,
    // The width and height are those of the whole picture, not of the plot area.
    autosize: { type: 'fit', contains: 'padding' },
    background: 'white',
    ...(options.title ? { title: options.title } : {}),
  } as const;
}

/** A line chart — one colour per series, a legend, axis titles — as SVG text. */
export async function lineChartSvg(series: Series[], options: LineChartOptions = {}): Promise<string> {
  const rows: Array<{ series: string; x: number; y: number }> = [];
  let longest = 0;
  for (const { name, points } of series) {
    const shown = points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!options.logY || y > 0));
    const kept = bucketMeans(shown, MAX_LINE_POINTS);
    longest = Math.max(longest, kept.length);
    for (const [x, y] of kept) rows.push({ series: name, x, y });
  }
  const spec: TopLevelSpec = {
    ...chartFrame(options),
    data: { values: rows },
    // aria: false drops an aria-label per point, which would be most of the SVG.
    mark: { type: 'line', strokeWidth: 1.5, point: longest <= MARK_POINTS_UP_TO, aria: false },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: options.xLabel ?? 'x', scale: { zero: false } },
      y: {
        field: 'y',
        type: 'quantitative',
        title: options.yLabel ?? 'y',
        scale: options.logY ? { type: 'log' } : { zero: false },
      },
      // A fixed domain keeps each series' colour, and its legend entry, even while it has no points.
      color: { field: 'series', type: 'nominal', scale: { domain: unique(series.map((s) => s.name)) }, legend: { title: null } },
    },
  };
  return renderSvg(spec);
}

/**
 * `count` items drawn without replacement, in their original order; the
 * same every time (a fixed seed). Random rather than every k-th item, as
 * points often arrive in a pattern (labels cycling 0..9) that a stride
 * would alias.
 */
function randomSubset<T>(items: T[], count: number): T[] {
  if (items.length <= count) return items;
  const order = Array.from(items, (_, i) => i);
  let state = 0x2545f491;
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0; // a 32-bit LCG: plenty for picking dots
    const j = i + Math.floor((state / 4294967296) * (order.length - i));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order.slice(0, count).sort((a, b) => a - b).map((i) => items[i]);
}

/**
 * A scatter plot, points coloured by label, with a legend (the VAE's latent
 * map). Points with a non-finite coordinate are skipped; of more than 2500
 * points a fixed random subset of 2500 is drawn, which keeps the picture
 * readable and the SVG under half a megabyte.
 */
export async function scatterSvg(points: ScatterPoint[], options: ScatterOptions = {}): Promise<string> {
  const finite = points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  const rows = randomSubset(finite, MAX_SCATTER_POINTS).map(({ x, y, label }) => ({ x, y, label }));
  // Labels in natural order, so digit classes read 0, 1, …, 9, 10 in the legend.
  const labels = unique(points.map((p) => p.label)).sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  const spec: TopLevelSpec = {
    ...chartFrame(options),
    data: { values: rows },
    mark: { type: 'circle', size: 14, opacity: 0.75, aria: false },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: options.xLabel ?? 'x', scale: { zero: false } },
      y: { field: 'y', type: 'quantitative', title: options.yLabel ?? 'y', scale: { zero: false } },
      color: { field: 'label', type: 'nominal', scale: { domain: labels }, legend: { title: null } },
    },
  };
  return renderSvg(spec);
}
