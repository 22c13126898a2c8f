// The kernel cases of the peer benchmark: each builds the same work in
// wgrad (NCHW, its own kernels) and in tfjs-backend-webgpu (NHWC, its
// kernels, called as tfjs's own gradients call them), from the same seeded
// numbers, and can read both results back in NCHW to compare them.
import * as wg from '../../src/index';
import { Tensor } from '../../src/tensor';
import { getBackend, withBackend } from '../../src/runtime';
import { normalArray } from '../../src/random';
import type { ConvGeometry } from '../../src/backend/backend';
import type { GpuStorage, WebGpuBackend } from '../../src/backend/webgpu';
import type { Tfjs } from './tfjs';
import { tfjsSync } from './tfjs';
import { batchnormLabel, benchShapes, convLabel, convOutSize, convTOutSize, type ConvShape } from './shapes';
import type * as TF from '@tensorflow/tfjs';

/** One side of a case: run() queues one invocation and returns what it made. */
export interface Side<H> {
  run(): H | Promise<H>;
  /** resolves when the work behind `h` is done (a one-element readback) */
  sync(h: H): Promise<void>;
  free(h: H): void;
  /** the result as NCHW floats, for the agreement check */
  values(h: H): Promise<Float32Array>;
}

export interface Case {
  name: string;
  kind: 'matmul' | 'conv2d' | 'conv2d dgrad' | 'conv2d wgrad' | 'convTranspose2d' | 'batchnorm fwd+bwd' | 'training step';
  /** floating-point operations of one run (GFLOP/s), or */
  flops?: number;
  /** bytes one run must move at least (GB/s) */
  bytes?: number;
  ours: Side<unknown>;
  theirs: Side<unknown>;
  /** wgrad's CPU reference on the same inputs, NCHW; only for small cases */
  reference?: () => Promise<ArrayLike<number> & Iterable<number> & { length: number }>;
  /** results' tolerance, relative to the largest magnitude */
  tolerance: number;
  /** training steps: one more step of each side, counting wgrad's dispatches and bind groups and tfjs's kernels */
  count?: () => Promise<StepCounts>;
  dispose(): void;
}

export interface StepCounts {
  dispatches: number;
  /** bind groups created during the step (a step that replays the last one's graph creates none) */
  bindGroupsCreated: number;
  /** bind groups set: one per dispatch */
  bindGroups: number;
  peerKernels: number;
}

// ---- layout helpers (CPU, once per case)

/** [n, c, h, w] → [n, h, w, c] */
export function nchwToNhwc(a: Float32Array, n: number, c: number, h: number, w: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let i = 0; i < n; i++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let ch = 0; ch < c; ch++) {
    out[((i * h + y) * w + x) * c + ch] = a[((i * c + ch) * h + y) * w + x];
  }
  return out;
}

/** [n, h, w, c] → [n, c, h, w] */
export function nhwcToNchw(a: Float32Array, n: number, c: number, h: number, w: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let i = 0; i < n; i++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let ch = 0; ch < c; ch++) {
    out[((i * c + ch) * h + y) * w + x] = a[((i * h + y) * w + x) * c + ch];
  }
  return out;
}

/** A 4-d array's axes permuted: out[i0..i3] = a[index by `from`], i.e. out dim d is a's dim perm[d]. */
export function permute4(a: Float32Array, shape: number[], perm: number[]): Float32Array {
  const outShape = perm.map((p) => shape[p]);
  const strides = [shape[1] * shape[2] * shape[3], shape[2] * shape[3], shape[3], 1];
  const out = new Float32Array(a.length);
  let o = 0;
  const idx = [0, 0, 0, 0];
  for (idx[0] = 0; idx[0] < outShape[0]; idx[0]++) for (idx[1] = 0; idx[1] < outShape[1]; idx[1]++)
    for (idx[2] = 0; idx[2] < outShape[2]; idx[2]++) for (idx[3] = 0; idx[3] < outShape[3]; idx[3]++) {
      let src = 0;
      for (let d = 0; d < 4; d++) src += idx[d] * strides[perm[d]];
      out[o++] = a[src];
    }
  return out;
}

// ---- the two sides' plumbing

function gpu(): WebGpuBackend {
  return getBackend('webgpu') as WebGpuBackend;
}

async function syncTensor(t: Tensor): Promise<void> {
  await gpu().ctx.read((t.storageFor('bench') as GpuStorage).buffer, 1);
}

function oursSide(run: () => Tensor, toNchw: (a: Float32Array) => Float32Array = (a) => a): Side<Tensor> {
  return { run, sync: syncTensor, free: (t) => t.dispose(), values: async (t) => toNchw(await t.toArray()) };
}

function theirsSide(tf: Tfjs, run: () => TF.Tensor, toNchw: (a: Float32Array) => Float32Array): Side<TF.Tensor> {
  return {
    run,
    sync: (t) => tfjsSync(tf, t),
    free: (t) => t.dispose(),
    values: async (t) => toNchw((await t.data()) as Float32Array),
  };
}

function geometry(s: ConvShape): ConvGeometry {
  const out = convOutSize(s);
  return {
    batch: s.batch, inChannels: s.inC, inH: s.size, inW: s.size, outChannels: s.outC, outH: out, outW: out,
    kernelH: s.k, kernelW: s.k, strideH: s.stride, strideW: s.stride, padH: s.pad, padW: s.pad,
    dilationH: 1, dilationW: 1, groups: 1,
  };
}

/** tfjs's explicit padding for a conv with `pad` on each side. */
function tfPad(pad: number): [[number, number], [number, number], [number, number], [number, number]] {
  return [[0, 0], [pad, pad], [pad, pad], [0, 0]];
}

/** Values small enough that sums of thousands of products stay near 1. */
function data(n: number, std = 1): Float32Array {
  return normalArray(n, 0, std);
}

const SMALL = 200_000; // elements of work below which the CPU reference is cheap enough to run

// ---- the cases

function convCases(tf: Tfjs, s: ConvShape): Case[] {
  const geo = geometry(s);
  const { batch: B, inC: I, outC: O, size: H, k } = s;
  const oh = geo.outH;
  const xData = data(B * I * H * H);
  const wData = data(O * I * k * k, 1 / Math.sqrt(I * k * k));
  const dyData = data(B * O * oh * oh);
  const x = wg.tensor(xData, [B, I, H, H]);
  const w = wg.tensor(wData, [O, I, k, k]);
  const dy = wg.tensor(dyData, [B, O, oh, oh]);
  const tx = tf.tensor4d(nchwToNhwc(xData, B, I, H, H), [B, H, H, I]);
  const tw = tf.tensor4d(permute4(wData, [O, I, k, k], [2, 3, 1, 0]), [k, k, I, O]);
  const tdy = tf.tensor4d(nchwToNhwc(dyData, B, O, oh, oh), [B, oh, oh, O]);
  const flops = 2 * B * O * oh * oh * I * k * k;
  const label = convLabel(s);
  const small = flops / 2 < SMALL * 50;
  const dispose = () => [x, w, dy].forEach((t) => t.dispose());
  const disposeTf = () => [tx, tw, tdy].forEach((t) => t.dispose());
  const backend = gpu();
  const attrs = { strides: [s.stride, s.stride], pad: tfPad(s.pad), dataFormat: 'NHWC', dimRoundingMode: undefined };
  const engine = tf.engine() as unknown as { runKernel(name: string, inputs: object, attrs: object): TF.Tensor };
  const reference = async (kind: 'forward' | 'dgrad' | 'wgrad') => {
    const cpu = getBackend('cpu');
    const [cx, cw, cdy] = [cpu.fromArray(xData), cpu.fromArray(wData), cpu.fromArray(dyData)];
    const out = kind === 'forward' ? cpu.conv2d(cx, cw, geo) : kind === 'dgrad' ? cpu.conv2dInputGrad(cdy, cw, geo) : cpu.conv2dWeightGrad(cx, cdy, geo);
    return Float32Array.from(await cpu.read(out));
  };
  let users = 3;
  const release = () => {
    if (--users === 0) {
      dispose();
      disposeTf();
    }
  };
  return [
    {
      name: label, kind: 'conv2d', flops, tolerance: 1e-3,
      ours: oursSide(() => wg.F.conv2d(x, w, null, { stride: s.stride, padding: s.pad })),
      theirs: theirsSide(tf, () => tf.conv2d(tx, tw, s.stride, tfPad(s.pad)), (a) => nhwcToNchw(a, B, O, oh, oh)),
      reference: small ? () => reference('forward') : undefined,
      dispose: release,
    },
    {
      name: label, kind: 'conv2d dgrad', flops, tolerance: 1e-3,
      ours: oursSide(() => new Tensor(backend.conv2dInputGrad(dy.storageFor('bench'), w.storageFor('bench'), geo), [B, I, H, H])),
      theirs: theirsSide(tf, () => engine.runKernel('Conv2DBackpropInput', { dy: tdy, filter: tw }, { ...attrs, inputShape: [B, H, H, I] }), (a) => nhwcToNchw(a, B, I, H, H)),
      reference: small ? () => reference('dgrad') : undefined,
      dispose: release,
    },
    {
      name: label, kind: 'conv2d wgrad', flops, tolerance: 1e-3,
      ours: oursSide(() => new Tensor(backend.conv2dWeightGrad(x.storageFor('bench'), dy.storageFor('bench'), geo), [O, I, k, k])),
      theirs: theirsSide(tf, () => engine.runKernel('Conv2DBackpropFilter', { x: tx, dy: tdy }, { ...attrs, filterShape: [k, k, I, O] }), (a) => permute4(a, [k, k, I, O], [3, 2, 0, 1])),
      reference: small ? () => reference('wgrad') : undefined,
      dispose: release,
    },
  ];
}

function convTCase(tf: Tfjs, s: ConvShape): Case {
  // a transposed conv from s.inC to s.outC channels, s.size → out
  const { batch: B, inC: I, outC: O, size: H, k } = s;
  const out = convTOutSize(s);
  const xData = data(B * I * H * H);
  const wData = data(I * O * k * k, 1 / Math.sqrt(I * k * k));
  const x = wg.tensor(xData, [B, I, H, H]);
  const w = wg.tensor(wData, [I, O, k, k]);
  const tx = tf.tensor4d(nchwToNhwc(xData, B, I, H, H), [B, H, H, I]);
  // tfjs's conv2dTranspose filter is [kh, kw, out, in]
  const tw = tf.tensor4d(permute4(wData, [I, O, k, k], [2, 3, 1, 0]), [k, k, O, I]);
  const flops = 2 * B * I * H * H * O * k * k;
  return {
    name: convLabel(s), kind: 'convTranspose2d', flops, tolerance: 1e-3,
    ours: oursSide(() => wg.F.convTranspose2d(x, w, null, { stride: s.stride, padding: s.pad })),
    theirs: theirsSide(tf, () => tf.conv2dTranspose(tx, tw, [B, out, out, O], s.stride, tfPad(s.pad) as unknown as number), (a) => nhwcToNchw(a, B, O, out, out)),
    reference: flops / 2 < SMALL * 50
      ? async () => withBackend('cpu', () => wg.scope(() => wg.F.convTranspose2d(wg.tensor(xData, [B, I, H, H]), wg.tensor(wData, [I, O, k, k]), null, { stride: s.stride, padding: s.pad }))).toArray()
      : undefined,
    dispose() {
      [x, w].forEach((t) => t.dispose());
      [tx, tw].forEach((t) => t.dispose());
    },
  };
}

function matmulCase(tf: Tfjs, s: { name: string; batch: number; m: number; k: number; n: number }): Case {
  const { batch, m, k, n } = s;
  const aData = data(batch * m * k);
  const bData = data(batch * k * n, 1 / Math.sqrt(k));
  const shapeA = batch > 1 ? [batch, m, k] : [m, k];
  const shapeB = batch > 1 ? [batch, k, n] : [k, n];
  const a = wg.tensor(aData, shapeA);
  const b = wg.tensor(bData, shapeB);
  const ta = tf.tensor(aData, shapeA);
  const tb = tf.tensor(bData, shapeB);
  const flops = 2 * batch * m * k * n;
  return {
    name: s.name, kind: 'matmul', flops, tolerance: 1e-3,
    ours: oursSide(() => a.matmul(b)),
    theirs: theirsSide(tf, () => tf.matMul(ta, tb), (x) => x),
    reference: flops / 2 < SMALL * 50 ? async () => withBackend('cpu', () => wg.scope(() => wg.tensor(aData, shapeA).matmul(wg.tensor(bData, shapeB)))).toArray() : undefined,
    dispose() {
      [a, b].forEach((t) => t.dispose());
      [ta, tb].forEach((t) => t.dispose());
    },
  };
}

function batchnormCase(tf: Tfjs, s: { name: string; shape: [number, number, number, number] }): Case {
  const [N, C, H, W] = s.shape;
  const xData = data(N * C * H * W);
  const gData = data(N * C * H * W);
  const x = wg.tensor(xData, s.shape, { requiresGrad: true });
  const g = wg.tensor(gData, s.shape);
  const weight = wg.ones([C], { requiresGrad: true });
  const bias = wg.zeros([C], { requiresGrad: true });
  const rm = wg.zeros([C]);
  const rv = wg.ones([C]);
  const tx = tf.tensor4d(nchwToNhwc(xData, N, C, H, W), [N, H, W, C]);
  const tg = tf.tensor4d(nchwToNhwc(gData, N, C, H, W), [N, H, W, C]);
  const gamma = tf.ones([C]);
  const beta = tf.zeros([C]);
  // training-mode batchnorm as tfjs's layers compute it: moments, then batchNorm
  const gradient = tf.grads((a: TF.Tensor, ga: TF.Tensor, be: TF.Tensor) => {
    const { mean, variance } = tf.moments(a, [0, 1, 2]);
    return tf.batchNorm(a, mean, variance, be as TF.Tensor1D, ga as TF.Tensor1D, 1e-5).mul(tg).sum();
  });
  const ours = (): Tensor[] =>
    wg.scope(() => {
      wg.F.batchNorm(x, rm, rv, weight, bias, { training: true }).mul(g).sum().backward();
      const grads = [x.grad!, weight.grad!, bias.grad!];
      x.grad = weight.grad = bias.grad = null;
      return grads;
    });
  const reference = async () =>
    withBackend('cpu', () => {
      const cx = wg.tensor(xData, s.shape, { requiresGrad: true });
      wg.scope(() => wg.F.batchNorm(cx, wg.zeros([C]), wg.ones([C]), wg.ones([C]), wg.zeros([C]), { training: true }).mul(wg.tensor(gData, s.shape)).sum().backward());
      return cx.grad!;
    }).toArray();
  const n = N * C * H * W;
  return {
    name: batchnormLabel(s), kind: 'batchnorm fwd+bwd',
    // x read twice (statistics, normalize), y written, then x, dy read and dx written: 6 passes
    bytes: 6 * n * 4, tolerance: 1e-3,
    ours: {
      run: ours,
      sync: (h) => syncTensor((h as Tensor[])[0]),
      free: (h) => (h as Tensor[]).forEach((t) => t.dispose()),
      values: (h) => (h as Tensor[])[0].toArray(),
    },
    theirs: {
      run: () => gradient([tx, gamma, beta]),
      sync: (h) => tfjsSync(tf, (h as TF.Tensor[])[0]),
      free: (h) => (h as TF.Tensor[]).forEach((t) => t.dispose()),
      values: async (h) => nhwcToNchw((await (h as TF.Tensor[])[0].data()) as Float32Array, N, C, H, W),
    },
    reference: n < SMALL ? reference : undefined,
    dispose() {
      [x, g, weight, bias, rm, rv].forEach((t) => t.dispose());
      [tx, tg, gamma, beta].forEach((t) => t.dispose());
    },
  };
}

/** Every kernel case, built lazily (each holds GPU memory while it runs). */
export function kernelCases(tf: Tfjs, quick: boolean): { name: string; kind: Case['kind'] | 'conv2d ×3'; build(): Case[] }[] {
  const shapes = benchShapes(quick);
  return [
    ...shapes.matmul.map((s) => ({ name: s.name, kind: 'matmul' as const, build: () => [matmulCase(tf, s)] })),
    ...shapes.conv.map((s) => ({ name: convLabel(s), kind: 'conv2d ×3' as const, build: () => convCases(tf, s) })),
    ...shapes.convT.map((s) => ({ name: convLabel(s), kind: 'convTranspose2d' as const, build: () => [convTCase(tf, s)] })),
    ...shapes.batchnorm.map((s) => ({ name: s.name, kind: 'batchnorm fwd+bwd' as const, build: () => [batchnormCase(tf, s)] })),
  ];
}
