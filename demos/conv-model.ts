// The conv explainer's numbers: the input picture as channels, the kernel
// presets, and one run of the layer (forward, backward, and the transposed
// conv) on a backend. The page runs it on WebGPU and on the CPU reference
// with the same float32 inputs and compares the two.
import * as wg from '../src/index';
import { withBackend, type BackendName } from '../src/runtime';

export interface LayerOptions {
  inChannels: number;
  outChannels: number;
  kernel: number;
  stride: number;
  padding: number;
  dilation: number;
  groups: number;
  preset: PresetName;
  /** 'sum': loss = Σy, so the upstream gradient is all ones; 'half-square': loss = ½Σy², upstream = y */
  loss: 'sum' | 'half-square';
}

/** The sizes that follow from the options, as PyTorch computes them. */
export interface LayerShapes {
  input: [number, number, number, number];
  weight: [number, number, number, number];
  output: [number, number, number, number];
  /** the transposed conv's output size without outputPadding */
  transposedNoPad: [number, number];
  /** outputPadding that brings the transposed conv back to the input size */
  outputPadding: number;
}

export function layerShapes(o: LayerOptions, size: number): LayerShapes {
  const span = o.dilation * (o.kernel - 1);
  const out = Math.floor((size + 2 * o.padding - span - 1) / o.stride) + 1;
  const back = (out - 1) * o.stride - 2 * o.padding + span + 1;
  return {
    input: [1, o.inChannels, size, size],
    weight: [o.outChannels, Math.max(1, Math.floor(o.inChannels / o.groups)), o.kernel, o.kernel],
    output: [1, o.outChannels, out, out],
    transposedNoPad: [back, back],
    outputPadding: size - back,
  };
}

// ---- kernels

export const PRESETS = ['vertical edges', 'horizontal edges', 'outline', 'blur', 'sharpen', 'identity', 'random'] as const;
export type PresetName = (typeof PRESETS)[number];

/** One k×k kernel, row-major. Sobel at 3×3, the same idea at other sizes. */
export function presetKernel(name: PresetName, k: number, rand: () => number): Float32Array {
  const w = new Float32Array(k * k);
  const c = (k - 1) / 2; // the centre, between two cells for an even k
  const centre = Math.floor(k / 2) * k + Math.floor(k / 2);
  if (name === 'vertical edges' || name === 'horizontal edges') {
    let positive = 0;
    for (let y = 0; y < k; y++) {
      for (let x = 0; x < k; x++) {
        const [across, along] = name === 'vertical edges' ? [x, y] : [y, x];
        // Sobel: a derivative across the edge, smoothed (triangle weights) along it.
        const v = (across - c) * (c + 1 - Math.abs(along - c));
        w[y * k + x] = v;
        if (v > 0) positive += v;
      }
    }
    if (positive === 0) w[centre] = 1; // 1×1: no edge to find; pass the pixel through
    else for (let i = 0; i < w.length; i++) w[i] /= positive;
  } else if (name === 'blur') {
    w.fill(1 / (k * k));
  } else if (name === 'identity') {
    w[centre] = 1;
  } else if (name === 'outline' || name === 'sharpen') {
    // outline = identity − blur (zero on flat areas); sharpen = identity + outline
    w.fill(-1 / (k * k));
    w[centre] += name === 'outline' ? 1 : 2;
  } else {
    for (let i = 0; i < w.length; i++) w[i] = gaussian(rand);
  }
  return w;
}

/** mulberry32: the page's own seeded stream, so both backends get the same random kernel. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gaussian(rand: () => number): number {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

/**
 * The weight [out, in/groups, k, k]: output channel o uses the chosen preset
 * when o = 0 and the next presets in the list after it, so several output
 * channels show several features. Each in-channel of the group gets the same
 * kernel divided by their count (an average over channels); random kernels
 * are scaled by 1/√fan-in as PyTorch's init roughly does.
 */
export function makeWeight(o: LayerOptions, shapes: LayerShapes): Float32Array {
  const [out, perGroup, k] = shapes.weight;
  const rand = seededRandom(1234);
  const w = new Float32Array(out * perGroup * k * k);
  const first = PRESETS.indexOf(o.preset);
  const cycle = PRESETS.filter((p) => p !== 'random');
  for (let oc = 0; oc < out; oc++) {
    const name: PresetName = o.preset === 'random' ? 'random' : cycle[(first + oc) % cycle.length];
    for (let ic = 0; ic < perGroup; ic++) {
      const kernel = presetKernel(name, k, rand);
      const scale = name === 'random' ? 1 / Math.sqrt(perGroup * k * k) : 1 / perGroup;
      for (let i = 0; i < k * k; i++) w[(oc * perGroup + ic) * k * k + i] = kernel[i] * scale;
    }
  }
  return w;
}

/** Which preset output channel `oc` uses (for its caption). */
export function presetOf(o: LayerOptions, oc: number): PresetName {
  if (o.preset === 'random') return 'random';
  const cycle = PRESETS.filter((p) => p !== 'random');
  return cycle[(PRESETS.indexOf(o.preset) + oc) % cycle.length];
}

// ---- one run on one backend

export interface LayerRun {
  output: Float64Array;
  inputGrad: Float64Array;
  weightGrad: Float64Array;
  /** convTranspose2d(y, w) with the outputPadding that restores the input size */
  transposed: Float64Array;
}

/**
 * Forward, the loss, backward, and the transposed conv of the output with
 * the same weight, on `backend`, from the same float32 inputs. Throws the
 * library's own error for options it refuses (groups, sizes).
 */
export async function runLayer(backend: BackendName, o: LayerOptions, shapes: LayerShapes, x: Float32Array, w: Float32Array): Promise<LayerRun> {
  const conv = { stride: o.stride, padding: o.padding, dilation: o.dilation, groups: o.groups };
  const made = withBackend(backend, () =>
    wg.scope(() => {
      const xt = wg.tensor(x, [...shapes.input], { requiresGrad: true });
      const wt = wg.tensor(w, [...shapes.weight], { requiresGrad: true });
      const y = wg.F.conv2d(xt, wt, null, conv);
      const loss = o.loss === 'sum' ? y.sum() : y.square().sum().mul(0.5);
      loss.backward();
      // A transposed conv's weight is [in, out/groups, k, k]: read from y's
      // side, the conv's weight [O, C/groups, k, k] is exactly that.
      const transposed = wg.noGrad(() => wg.F.convTranspose2d(y.detach(), wt.detach(), null, { ...conv, outputPadding: shapes.outputPadding }));
      return { y, transposed, inputGrad: xt.grad!, weightGrad: wt.grad! };
    }),
  );
  try {
    return {
      output: await made.y.toFloat64(),
      inputGrad: await made.inputGrad.toFloat64(),
      weightGrad: await made.weightGrad.toFloat64(),
      transposed: await made.transposed.toFloat64(),
    };
  } finally {
    // leaf gradients live on after the scope; the rest goes with it
    for (const t of [made.y, made.transposed, made.inputGrad, made.weightGrad]) t.dispose();
  }
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return Number.isNaN(m) ? Infinity : m;
}
