// Exploring a trained VAE's latent space: a map of it (decoded images over
// a plane of latents, beside a scatter of where held-out images land) and
// walks between the latents of two images. Library functions, browser-safe:
// the CLI writes their results to files, the VAE page draws them.
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import type { Dataset } from '../data/dataset';
import { decodeLatents, encodeImages, firstExamples, vaeOf, type VaeSource } from './vae';
import { slerpRows } from '../random';
import { imageGrid, type Picture } from '../io/picture';
import { scatterSvg, type ScatterPoint } from '../io/plot';

export interface LatentMapOptions {
  /** the decoded grid is gridSize × gridSize images; default 16 */
  gridSize?: number;
  /** how many of the dataset's first images are encoded and scattered; default 1000 */
  count?: number;
  /** the grid spans ±span standard deviations of the encoded means; default 3 */
  span?: number;
}

export interface LatentMap {
  /** decoded images over the plane, gridSize per row: x grows to the right, y upwards (as in the scatter) */
  grid: Picture;
  /** the encoded means as a scatter plot coloured by label, with a legend (SVG text) */
  scatterSvg: string;
  /** 'latent': the plane is the 2-D latent itself; 'pca': the first two principal directions of the encoded means */
  axes: 'latent' | 'pca';
  /** where each encoded image lands in the plane's coordinates, with its label */
  points: ScatterPoint[];
  /** the grid's corners in the same coordinates: the first and last column's x, the bottom and top row's y */
  extent: { x: [number, number]; y: [number, number] };
  /** 'pca' only: the fraction of the means' variance along each of the two directions */
  explained?: [number, number];
  /** the plane in latent space: the point (x, y) is center + x·directions[0] + y·directions[1] (the demo page decodes clicks with it) */
  plane: { center: Float64Array; directions: [Float64Array, Float64Array] };
}

/** Mean [d] and the two leading eigenpairs of the covariance of n rows [n, d]. */
function principalPlane(rows: Float32Array, n: number, d: number): { center: Float64Array; directions: [Float64Array, Float64Array]; variances: [number, number]; total: number } {
  const center = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) center[j] += rows[i * d + j];
  for (let j = 0; j < d; j++) center[j] /= n;
  const covariance = new Matrix(d, d);
  const centred = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) centred[j] = rows[i * d + j] - center[j];
    for (let j = 0; j < d; j++) for (let k = j; k < d; k++) covariance.set(j, k, covariance.get(j, k) + centred[j] * centred[k]);
  }
  for (let j = 0; j < d; j++) {
    for (let k = j; k < d; k++) {
      const v = covariance.get(j, k) / (n - 1);
      covariance.set(j, k, v);
      covariance.set(k, j, v);
    }
  }
  const eigen = new EigenvalueDecomposition(covariance, { assumeSymmetric: true });
  const values = eigen.realEigenvalues.map((v) => Math.max(v, 0));
  const order = values.map((_, i) => i).sort((a, b) => values[b] - values[a]);
  const direction = (column: number): Float64Array => {
    const v = Float64Array.from(eigen.eigenvectorMatrix.getColumn(column));
    // An eigenvector's sign is arbitrary: make its largest entry positive, so maps are reproducible.
    let largest = 0;
    for (let j = 1; j < d; j++) if (Math.abs(v[j]) > Math.abs(v[largest])) largest = j;
    if (v[largest] < 0) for (let j = 0; j < d; j++) v[j] = -v[j];
    return v;
  };
  return {
    center,
    directions: [direction(order[0]), direction(order[1])],
    variances: [values[order[0]], values[order[1]]],
    total: values.reduce((sum, v) => sum + v, 0),
  };
}

/** n evenly spaced values from lo to hi, ends included. */
function linspace(lo: number, hi: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => (n === 1 ? (lo + hi) / 2 : lo + ((hi - lo) * i) / (n - 1)));
}

function round(v: number): string {
  return Number(v.toPrecision(3)).toString();
}

/**
 * A map of the latent space. The first `count` images of `dataset` (use
 * held-out data) are encoded to their posterior means. With a 2-D latent
 * the plane is the latent itself; with a larger one it is the plane of the
 * means' first two principal directions (PCA), through their mean, the
 * other directions held at the mean. The grid decodes gridSize × gridSize
 * points spanning ±span standard deviations of the means along each axis,
 * around their mean; the scatter shows the means in the same coordinates,
 * coloured by class.
 */
export async function latentMap(source: VaeSource, dataset: Dataset, options: LatentMapOptions = {}): Promise<LatentMap> {
  const model = vaeOf(source);
  const { channels, imageSize, latent } = model.config;
  const { gridSize = 16, count = 1000, span = 3 } = options;
  if (!Number.isInteger(gridSize) || gridSize < 2) throw new Error(`latentMap: gridSize must be an integer ≥ 2, got ${gridSize}`);
  if (!Number.isInteger(count) || count < 2) throw new Error(`latentMap: count must be an integer ≥ 2, got ${count}`);
  if (!(span > 0)) throw new Error(`latentMap: span must be > 0, got ${span}`);
  if (dataset.channels !== channels || dataset.size !== imageSize) {
    throw new Error(`latentMap: data '${dataset.name}' has images [${dataset.channels}, ${dataset.size}, ${dataset.size}], the VAE takes [${channels}, ${imageSize}, ${imageSize}]`);
  }
  const examples = firstExamples(dataset, count);
  if (examples.count < 2) throw new Error(`latentMap: data '${dataset.name}' has ${examples.count} image; a map needs at least 2`);
  const n = examples.count;
  const { mean } = await encodeImages(model, examples.images, n);

  // The plane: a centre and two unit directions in latent space, and the means' coordinates in it.
  const axes: LatentMap['axes'] = latent === 2 ? 'latent' : 'pca';
  let center: Float64Array;
  let directions: [Float64Array, Float64Array];
  let explained: [number, number] | undefined;
  if (axes === 'latent') {
    center = new Float64Array(2);
    directions = [Float64Array.of(1, 0), Float64Array.of(0, 1)];
  } else {
    const plane = principalPlane(mean, n, latent);
    center = plane.center;
    directions = plane.directions;
    explained = plane.total > 0 ? [plane.variances[0] / plane.total, plane.variances[1] / plane.total] : [0, 0];
  }
  const xs = new Float64Array(n);
  const ys = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < latent; j++) {
      const v = mean[i * latent + j] - center[j];
      xs[i] += v * directions[0][j];
      ys[i] += v * directions[1][j];
    }
  }
  const spread = (values: Float64Array): [number, number] => {
    let m = 0;
    for (const v of values) m += v;
    m /= values.length;
    let s = 0;
    for (const v of values) s += (v - m) ** 2;
    s = Math.sqrt(s / (values.length - 1));
    const half = span * (s > 1e-6 ? s : 1); // collapsed means: show the prior's ±span instead of one point
    return [m - half, m + half];
  };
  const extent = { x: spread(xs), y: spread(ys) };

  // Row r holds the r-th y from the top (largest first), column c the c-th x from the left.
  const gridXs = linspace(extent.x[0], extent.x[1], gridSize);
  const gridYs = linspace(extent.y[1], extent.y[0], gridSize);
  const z = new Float32Array(gridSize * gridSize * latent);
  for (let r = 0; r < gridSize; r++) {
    for (let c = 0; c < gridSize; c++) {
      const at = (r * gridSize + c) * latent;
      for (let j = 0; j < latent; j++) z[at + j] = center[j] + gridXs[c] * directions[0][j] + gridYs[r] * directions[1][j];
    }
  }
  const decoded = await decodeLatents(model, z, gridSize * gridSize);
  const grid = imageGrid(decoded, [gridSize * gridSize, channels, imageSize, imageSize], { columns: gridSize, padding: 0 });

  const names = dataset.classNames;
  const points: ScatterPoint[] = Array.from({ length: n }, (_, i) => ({
    x: xs[i] + (axes === 'latent' ? center[0] : 0),
    y: ys[i] + (axes === 'latent' ? center[1] : 0),
    label: names.length ? (names[examples.labels[i]] ?? String(examples.labels[i])) : 'image',
  }));
  const axisName = (k: 0 | 1): string =>
    axes === 'latent' ? `z${k + 1}` : `principal direction ${k + 1} (${Math.round(100 * explained![k])}% of the variance)`;
  const range = (r: [number, number]) => `${round(r[0])} … ${round(r[1])}`;
  const svg = await scatterSvg(points, {
    title: `${dataset.name}: posterior means of ${n} images`,
    xLabel: `${axisName(0)}; the grid spans ${range(extent.x)}`,
    yLabel: `${axisName(1)}; the grid spans ${range(extent.y)}`,
    width: 560,
    height: 480,
  });
  return { grid, scatterSvg: svg, axes, points, extent, explained, plane: { center, directions } };
}

export type InterpolationMode = 'linear' | 'slerp';

/** Straight lines in a 2-D latent; great circles in larger ones, where straight lines pass through low-norm regions the prior rarely visits. */
export function defaultInterpolationMode(latent: number): InterpolationMode {
  return latent > 2 ? 'slerp' : 'linear';
}

export interface Interpolation {
  /** one picture per step, from the first image's latent to the second's */
  frames: Picture[];
  /** the decoded images, [steps, C, s, s] in [-1, 1] */
  images: Float32Array;
  shape: number[];
  /** the latents walked through, [steps, latent] */
  latents: Float32Array;
}

/**
 * Encodes two images ([C, s, s] in [-1, 1]) to their posterior means and
 * decodes `steps` latents walking from one to the other, ends included:
 * along the straight line ('linear') or the great circle ('slerp', see
 * slerpRows). `scale` enlarges each frame (nearest neighbour).
 */
export async function interpolateLatents(
  source: VaeSource, imageA: Float32Array, imageB: Float32Array, steps: number,
  mode: InterpolationMode = 'linear', options: { scale?: number } = {},
): Promise<Interpolation> {
  const model = vaeOf(source);
  const { channels, imageSize, latent } = model.config;
  const perImage = channels * imageSize * imageSize;
  if (!Number.isInteger(steps) || steps < 2) throw new Error(`interpolateLatents: steps must be an integer ≥ 2, got ${steps}`);
  if (mode !== 'linear' && mode !== 'slerp') throw new Error(`interpolateLatents: mode must be 'linear' or 'slerp', got ${JSON.stringify(mode)}`);
  for (const [name, image] of [['imageA', imageA], ['imageB', imageB]] as const) {
    if (image.length !== perImage) throw new Error(`interpolateLatents: ${name} has ${image.length} values, not one image [${channels}, ${imageSize}, ${imageSize}]`);
  }
  const both = new Float32Array(2 * perImage);
  both.set(imageA, 0);
  both.set(imageB, perImage);
  const { mean } = await encodeImages(model, both, 2);
  const a = mean.subarray(0, latent);
  const b = mean.subarray(latent, 2 * latent);
  const latents = new Float32Array(steps * latent);
  for (let k = 0; k < steps; k++) {
    const t = k / (steps - 1);
    if (mode === 'slerp') latents.set(slerpRows(a, b, latent, t), k * latent);
    else for (let j = 0; j < latent; j++) latents[k * latent + j] = (1 - t) * a[j] + t * b[j];
  }
  const images = await decodeLatents(model, latents, steps);
  const scale = options.scale ?? 1;
  const frames = Array.from({ length: steps }, (_, k) =>
    imageGrid(images.subarray(k * perImage, (k + 1) * perImage), [1, channels, imageSize, imageSize], { padding: 0, scale }),
  );
  return { frames, images, shape: [steps, channels, imageSize, imageSize], latents };
}
