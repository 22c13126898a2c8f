// WebGPU vs the CPU reference for the conv family: conv2d, convTranspose2d,
// maxPool2d, avgPool2d, upsampleNearest, batchNorm (with its running
// buffers) and groupNorm — forward and every gradient (compare.ts runs each
// case on both backends and pushes one random upstream gradient through).
//
// The shapes follow the issue's list: 1×1, 3×3, 4×4 and 7×7 kernels; stride
// 1, 2, 3; padding 0, 1, [h, w], 'same', 'valid', 'full'; dilation 2;
// groups 2 and depthwise; outputPadding; batch 1; odd spatial sizes that are
// never a multiple of a tile; channel counts 1, 3, 17, 64. A few shapes are
// picked for the kernels' own edges: wgrad's split-K (batch × output pixels ≥
// 512, a ragged last chunk), the three tile widths of src/backend/webgpu/
// conv.ts (n ≤ 8, ≤ 32, > 32), input pixels no window reaches (their
// gradient must be 0), a 1×1 output.
//
// Sizes are small on purpose: SwiftShader runs well under 1 GFLOP/s.
// Inputs are in [-1, 1); weights in ±1/sqrt(fan_in), so outputs stay O(1)
// and the default tolerances (atol 1e-4, rtol 1e-3) hold everywhere: the
// longest float32 sum here is wgrad's 1150 terms (1×1 64→3 on 2×23×25),
// whose error measured ~1e-5, so no case scales atol.

import * as wg from '../../src/index';
import type { Tensor } from '../../src/index';
import type { ActivationName } from '../../src/ops/activation';
import type { Case } from './types';
import { opCase, type InputSpec } from './compare';

const F = wg.F;

type Pair = number | [number, number];
const hw = (p: Pair): [number, number] => (typeof p === 'number' ? [p, p] : p);

const x = (shape: number[], low = -1, high = 1): InputSpec => ({ shape, low, high });
/** Weights in ±1/sqrt(fan_in), as a default PyTorch init would give. */
const weight = (shape: number[], fanIn: number): InputSpec => {
  const s = 1 / Math.sqrt(fanIn);
  return { shape, low: -s, high: s };
};
const bias = (channels: number): InputSpec => x([channels], -0.5, 0.5);

/** Option objects as compact text for case names: {"stride":2,"padding":[3,1]} → s2 p[3,1]. */
function optText(o: Record<string, unknown>): string {
  const short: Record<string, string> = { stride: 's', padding: 'p', dilation: 'd', groups: 'g', outputPadding: 'op' };
  return Object.entries(o)
    .map(([k, v]) => `${short[k] ?? k}${typeof v === 'string' ? `'${v}'` : JSON.stringify(v)}`)
    .join(' ');
}

// ---------------------------------------------------------------- conv2d
interface ConvSpec {
  n: number;
  cin: number;
  cout: number;
  h: number;
  w: number;
  k: Pair;
  opts?: { stride?: Pair; padding?: Pair | 'same' | 'valid' | 'full'; dilation?: Pair; groups?: number; activation?: ActivationName; negativeSlope?: number };
  bias?: boolean;
  note?: string;
}

function conv2dOut(s: ConvSpec): [number, number] {
  const [kh, kw] = hw(s.k);
  const [sh, sw] = hw(s.opts?.stride ?? 1);
  const [dh, dw] = hw(s.opts?.dilation ?? 1);
  const p = s.opts?.padding ?? 0;
  const span = [dh * (kh - 1), dw * (kw - 1)];
  const total =
    p === 'valid' ? [0, 0] : p === 'same' ? span : p === 'full' ? [2 * span[0], 2 * span[1]] : hw(p).map((v) => 2 * v);
  return [Math.floor((s.h + total[0] - span[0] - 1) / sh) + 1, Math.floor((s.w + total[1] - span[1] - 1) / sw) + 1];
}

function convCase(s: ConvSpec): Case {
  const [kh, kw] = hw(s.k);
  const groups = s.opts?.groups ?? 1;
  const cg = s.cin / groups;
  const wShape = [s.cout, cg, kh, kw];
  const xShape = [s.n, s.cin, s.h, s.w];
  const withBias = s.bias ?? true;
  const [oh, ow] = conv2dOut(s);
  const name =
    `conv2d ${kh}×${kw} ${optText(s.opts ?? {})} ${s.cin}→${s.cout} x ${JSON.stringify(xShape)} → ${oh}×${ow}` +
    `${withBias ? '' : ' no bias'}${s.note ? ` (${s.note})` : ''}`;
  const inputs = [x(xShape), weight(wShape, cg * kh * kw), ...(withBias ? [bias(s.cout)] : [])];
  return opCase(name.replace(/\s+/g, ' '), {
    inputs,
    fn: (xt: Tensor, wt: Tensor, bt?: Tensor) => F.conv2d(xt, wt, bt ?? null, s.opts ?? {}),
  });
}

const conv2dCases: Case[] = [
  convCase({ n: 2, cin: 3, cout: 17, h: 9, w: 11, k: 3, opts: { stride: 1, padding: 1 } }),
  // an activation after the layer: in the kernel with the bias (an epilogue); silu's kernel keeps z for the backward
  convCase({ n: 2, cin: 3, cout: 17, h: 9, w: 11, k: 3, opts: { padding: 1, activation: 'leakyRelu', negativeSlope: 0.2 } }),
  convCase({ n: 2, cin: 3, cout: 8, h: 16, w: 16, k: 4, opts: { stride: 2, padding: 1, activation: 'leakyRelu', negativeSlope: 0.2 }, bias: false, note: 'DCGAN first discriminator layer' }),
  convCase({ n: 2, cin: 5, cout: 6, h: 7, w: 8, k: 3, opts: { padding: 1, activation: 'relu' } }),
  convCase({ n: 2, cin: 5, cout: 6, h: 7, w: 8, k: 3, opts: { padding: 1, activation: 'sigmoid' } }),
  convCase({ n: 2, cin: 5, cout: 6, h: 7, w: 8, k: 3, opts: { padding: 1, activation: 'silu' }, note: 'silu in the kernel, z kept' }),
  convCase({ n: 2, cin: 5, cout: 6, h: 7, w: 8, k: 3, opts: { padding: 1, activation: 'leakyRelu', negativeSlope: -0.3 }, note: 'a negative slope: z kept' }),
  convCase({ n: 2, cin: 17, cout: 64, h: 16, w: 16, k: 4, opts: { stride: 2, padding: 1 }, note: 'DCGAN discriminator layer' }),
  convCase({ n: 2, cin: 3, cout: 8, h: 13, w: 10, k: 7, opts: { stride: 3, padding: [3, 1] }, note: 'asymmetric [h, w] padding' }),
  convCase({ n: 2, cin: 64, cout: 3, h: 23, w: 25, k: 1, note: 'wgrad split-K, ragged last chunk' }),
  convCase({ n: 2, cin: 64, cout: 64, h: 6, w: 7, k: 3, opts: { padding: 1 }, note: 'widest tile, 64 channels both sides' }),
  convCase({ n: 2, cin: 5, cout: 6, h: 9, w: 7, k: 3, opts: { padding: 'same', dilation: 2 } }),
  convCase({ n: 2, cin: 4, cout: 5, h: 8, w: 9, k: 3, opts: { padding: 'valid' } }),
  convCase({ n: 2, cin: 2, cout: 3, h: 5, w: 6, k: 3, opts: { padding: 'full' } }),
  convCase({ n: 2, cin: 3, cout: 4, h: 7, w: 9, k: 4, opts: { padding: 'same' }, note: 'even kernel: 1 top/left, 2 bottom/right' }),
  convCase({ n: 1, cin: 3, cout: 4, h: 6, w: 9, k: [2, 4], opts: { padding: 'same' }, note: 'even kernel, 0/1 and 1/2' }),
  convCase({ n: 2, cin: 6, cout: 4, h: 7, w: 9, k: 3, opts: { padding: 1, groups: 2 } }),
  convCase({ n: 2, cin: 4, cout: 6, h: 19, w: 17, k: 3, opts: { padding: 1, groups: 2 }, note: 'groups with wgrad split-K' }),
  convCase({ n: 2, cin: 17, cout: 17, h: 9, w: 11, k: 3, opts: { padding: 1, groups: 17 }, note: 'depthwise' }),
  convCase({ n: 1, cin: 8, cout: 16, h: 7, w: 6, k: 3, opts: { stride: 2, padding: 1, groups: 8 }, note: 'depthwise, multiplier 2' }),
  convCase({ n: 1, cin: 1, cout: 17, h: 15, w: 15, k: 3, opts: { stride: 2, padding: 1 }, note: 'batch 1, one input channel' }),
  convCase({ n: 2, cin: 3, cout: 5, h: 14, w: 13, k: 3, opts: { stride: 3, dilation: 2, padding: 2 } }),
  convCase({ n: 2, cin: 3, cout: 4, h: 10, w: 10, k: 3, opts: { stride: 3 }, note: 'last row and column reach no window' }),
  convCase({ n: 2, cin: 5, cout: 3, h: 7, w: 8, k: 1, opts: { stride: 2 }, note: 'stride > kernel: gaps in dx' }),
  convCase({ n: 2, cin: 3, cout: 2, h: 9, w: 9, k: 2, opts: { stride: 3, padding: 1 }, note: 'stride > kernel with padding' }),
  convCase({ n: 2, cin: 3, cout: 5, h: 7, w: 7, k: 7, note: '1×1 output' }),
  convCase({ n: 2, cin: 3, cout: 4, h: 8, w: 11, k: [3, 5], opts: { stride: [1, 2], padding: [1, 2], dilation: [2, 1] }, note: 'every option as [h, w]' }),
  convCase({ n: 1, cin: 17, cout: 1, h: 5, w: 5, k: 3, opts: { padding: 1 }, bias: false, note: 'one output channel' }),
  convCase({ n: 2, cin: 3, cout: 17, h: 9, w: 11, k: 3, opts: { padding: 1 }, bias: false }),
];

// ---------------------------------------------------------------- convTranspose2d
interface TSpec {
  n: number;
  cin: number;
  cout: number;
  h: number;
  w: number;
  k: Pair;
  opts?: { stride?: Pair; padding?: Pair; outputPadding?: Pair; dilation?: Pair; groups?: number; activation?: ActivationName; negativeSlope?: number };
  bias?: boolean;
  note?: string;
}

function tconvOut(s: TSpec): [number, number] {
  const [kh, kw] = hw(s.k);
  const [sh, sw] = hw(s.opts?.stride ?? 1);
  const [ph, pw] = hw(s.opts?.padding ?? 0);
  const [dh, dw] = hw(s.opts?.dilation ?? 1);
  const [oph, opw] = hw(s.opts?.outputPadding ?? 0);
  return [(s.h - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1, (s.w - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1];
}

function tconvCase(s: TSpec): Case {
  const [kh, kw] = hw(s.k);
  const groups = s.opts?.groups ?? 1;
  const [sh, sw] = hw(s.opts?.stride ?? 1);
  const wShape = [s.cin, s.cout / groups, kh, kw];
  const xShape = [s.n, s.cin, s.h, s.w];
  const withBias = s.bias ?? true;
  const [oh, ow] = tconvOut(s);
  // Each output sums about (cin/groups)·kh·kw/(sh·sw) terms.
  const fanIn = Math.max(1, ((s.cin / groups) * kh * kw) / (sh * sw));
  const name =
    `convTranspose2d ${kh}×${kw} ${optText(s.opts ?? {})} ${s.cin}→${s.cout} x ${JSON.stringify(xShape)} → ${oh}×${ow}` +
    `${withBias ? '' : ' no bias'}${s.note ? ` (${s.note})` : ''}`;
  const inputs = [x(xShape), weight(wShape, fanIn), ...(withBias ? [bias(s.cout)] : [])];
  return opCase(name.replace(/\s+/g, ' '), {
    inputs,
    fn: (xt: Tensor, wt: Tensor, bt?: Tensor) => F.convTranspose2d(xt, wt, bt ?? null, s.opts ?? {}),
  });
}

const convTransposeCases: Case[] = [
  tconvCase({ n: 2, cin: 64, cout: 17, h: 4, w: 4, k: 4, opts: { stride: 2, padding: 1 }, note: 'DCGAN generator layer' }),
  tconvCase({ n: 2, cin: 16, cout: 1, h: 8, w: 8, k: 4, opts: { stride: 2, padding: 1, activation: 'tanh' }, bias: false, note: 'DCGAN output layer, tanh in the kernel' }),
  tconvCase({ n: 2, cin: 8, cout: 5, h: 4, w: 5, k: 3, opts: { stride: 1, padding: 1, activation: 'relu' }, note: 'stride 1, bias and relu in the kernel' }),
  tconvCase({ n: 2, cin: 8, cout: 5, h: 4, w: 5, k: 4, opts: { stride: 2, padding: 1, activation: 'silu' }, note: 'silu in the kernel, z kept' }),
  tconvCase({ n: 2, cin: 64, cout: 17, h: 1, w: 1, k: 4, note: 'DCGAN first layer: 1×1 → 4×4' }),
  tconvCase({ n: 2, cin: 3, cout: 5, h: 5, w: 5, k: 3, opts: { stride: 2, padding: 1, outputPadding: 1 } }),
  tconvCase({ n: 2, cin: 4, cout: 3, h: 4, w: 5, k: 3, opts: { stride: 3, outputPadding: 2 } }),
  tconvCase({ n: 2, cin: 3, cout: 4, h: 6, w: 7, k: 3, opts: { dilation: 2, padding: 1 } }),
  tconvCase({ n: 2, cin: 3, cout: 2, h: 5, w: 4, k: 3, opts: { dilation: 2, outputPadding: 1 }, note: 'outputPadding < dilation, stride 1' }),
  tconvCase({ n: 2, cin: 4, cout: 6, h: 5, w: 6, k: 3, opts: { stride: 2, padding: 1, groups: 2 } }),
  tconvCase({ n: 1, cin: 17, cout: 17, h: 4, w: 5, k: 3, opts: { stride: 2, padding: 1, outputPadding: 1, groups: 17 }, note: 'depthwise' }),
  tconvCase({ n: 2, cin: 17, cout: 3, h: 7, w: 9, k: 1 }),
  tconvCase({ n: 2, cin: 5, cout: 3, h: 4, w: 5, k: 1, opts: { stride: 2 }, note: 'stride > kernel: zero rows and columns' }),
  tconvCase({ n: 2, cin: 3, cout: 4, h: 6, w: 5, k: [5, 3], opts: { stride: [2, 1], padding: [2, 0] }, note: 'asymmetric [h, w]' }),
  tconvCase({ n: 1, cin: 1, cout: 3, h: 5, w: 7, k: 4, opts: { stride: 2, padding: 1 }, note: 'batch 1, one input channel' }),
  tconvCase({ n: 2, cin: 3, cout: 3, h: 3, w: 4, k: 7, opts: { stride: 3, padding: 3, outputPadding: [1, 2] } }),
  tconvCase({ n: 2, cin: 17, cout: 64, h: 3, w: 3, k: 3, opts: { stride: 2, padding: 1 }, bias: false, note: 'widest tile in wgrad' }),
];

// ---------------------------------------------------------------- pooling, upsampling
const pool = (
  op: 'maxPool2d' | 'avgPool2d',
  shape: number[],
  kernel: Pair,
  opts: { stride?: Pair; padding?: Pair } = {},
  note = '',
): Case =>
  opCase(`${op} k${JSON.stringify(kernel)} ${optText(opts)} x ${JSON.stringify(shape)}${note ? ` (${note})` : ''}`.replace(/\s+/g, ' '), {
    inputs: [x(shape)],
    fn: (t) => F[op](t, kernel, opts),
  });

const poolCases: Case[] = [
  pool('maxPool2d', [2, 3, 8, 10], 2, { stride: 2 }),
  pool('maxPool2d', [1, 17, 7, 9], 2, {}, 'odd sizes: last row and column dropped'),
  pool('maxPool2d', [2, 3, 9, 11], 3, { stride: 2, padding: 1 }, 'overlapping windows'),
  pool('maxPool2d', [2, 3, 7, 9], [3, 2], {}, 'stride = kernel'),
  pool('maxPool2d', [2, 3, 7, 9], [3, 2], { stride: 1, padding: 1 }, 'overlapping, padded'),
  pool('maxPool2d', [2, 64, 5, 5], 3, { stride: 1 }),
  pool('avgPool2d', [2, 3, 8, 10], 2, { stride: 2 }),
  pool('avgPool2d', [1, 17, 7, 9], 2, {}, 'odd sizes'),
  pool('avgPool2d', [2, 3, 9, 11], 3, { stride: 2, padding: 1 }, 'overlapping, padding counted'),
  pool('avgPool2d', [2, 3, 7, 9], [3, 2], {}),
  pool('avgPool2d', [2, 3, 7, 9], [3, 2], { stride: [2, 1], padding: [1, 1] }),
  pool('avgPool2d', [2, 64, 5, 5], 3, { stride: 1, padding: 1 }),
  opCase('upsampleNearest ×2 x [2, 3, 5, 7]', { inputs: [x([2, 3, 5, 7])], fn: (t) => F.upsampleNearest(t, 2) }),
  opCase('upsampleNearest ×3 x [1, 17, 3, 4]', { inputs: [x([1, 17, 3, 4])], fn: (t) => F.upsampleNearest(t, 3) }),
  opCase('upsampleNearest ×1 x [2, 3, 4, 5]', { inputs: [x([2, 3, 4, 5])], fn: (t) => F.upsampleNearest(t, 1).mul(2) }),
];

// ---------------------------------------------------------------- batchNorm, groupNorm
/** Fixed, distinct running statistics per channel (the same on both sides). */
const fixedMean = (c: number) => Array.from({ length: c }, (_, i) => 0.3 * Math.sin(i + 1));
const fixedVar = (c: number) => Array.from({ length: c }, (_, i) => 0.5 + 0.25 * (i % 5));

interface BnSpec {
  shape: number[];
  affine?: boolean;
  momentum?: number;
  eps?: number;
  /** start the running buffers at zeros/ones (PyTorch's init) or at fixed values */
  start?: 'init' | 'fixed';
  /** an activation in batchnorm's own kernels (F.batchNorm's activation option) */
  activation?: ActivationName;
  negativeSlope?: number;
  note?: string;
}

/**
 * Training mode: the output is y flattened, followed by the running mean and
 * the running variance after the in-place update, so one comparison covers
 * y, dx, dweight, dbias and both running buffers.
 */
function bnTrain(s: BnSpec): Case {
  const c = s.shape[1];
  const affine = s.affine ?? true;
  const momentum = s.momentum ?? 0.1;
  const start = s.start ?? 'init';
  const opts = {
    training: true, momentum, ...(s.eps !== undefined ? { eps: s.eps } : {}),
    ...(s.activation ? { activation: s.activation } : {}), ...(s.negativeSlope !== undefined ? { negativeSlope: s.negativeSlope } : {}),
  };
  const activation = s.activation ? ` then ${s.activation}${s.negativeSlope !== undefined ? ` ${s.negativeSlope}` : ''} (fused)` : '';
  const name =
    `batchNorm train x ${JSON.stringify(s.shape)} momentum ${momentum}${s.eps !== undefined ? ` eps ${s.eps}` : ''}${activation}` +
    `${affine ? '' : ' weight/bias null'} running ${start === 'init' ? 'zeros/ones' : 'fixed'} → [y, runningMean, runningVar]` +
    `${s.note ? ` (${s.note})` : ''}`;
  return opCase(name, {
    inputs: [x(s.shape), ...(affine ? [x([c], 0.5, 1.5), x([c], -0.5, 0.5)] : [])],
    fn: (xt: Tensor, w?: Tensor, b?: Tensor) => {
      const rm = start === 'init' ? wg.zeros([c]) : wg.tensor(fixedMean(c), [c]);
      const rv = start === 'init' ? wg.ones([c]) : wg.tensor(fixedVar(c), [c]);
      const y = F.batchNorm(xt, rm, rv, w ?? null, b ?? null, opts);
      return wg.concat([y.flatten(), rm, rv]);
    },
  });
}

/**
 * Eval mode from given running statistics: with gradients, the composed
 * formula; without (grads false: how a sampler runs it), one kernel, the
 * activation in it.
 */
function bnEval(shape: number[], affine: boolean, grads = true, activation?: ActivationName): Case {
  const c = shape[1];
  const how = `${grads ? '' : ', no gradient (one kernel)'}${activation ? `, then ${activation}` : ''}`;
  return opCase(`batchNorm eval x ${JSON.stringify(shape)} given running stats${affine ? '' : ', weight/bias null'}${how}`, {
    inputs: [
      { ...x(shape), grad: grads },
      { shape: [c], low: -0.5, high: 0.5, grad: false },
      { shape: [c], low: 0.3, high: 2, grad: false },
      ...(affine ? [{ ...x([c], 0.5, 1.5), grad: grads }, { ...x([c], -0.5, 0.5), grad: grads }] : []),
    ],
    fn: (xt: Tensor, rm: Tensor, rv: Tensor, w?: Tensor, b?: Tensor) =>
      F.batchNorm(xt, rm, rv, w ?? null, b ?? null, { training: false, ...(activation ? { activation } : {}) }),
  });
}

const gn = (shape: number[], groups: number, affine: boolean, activation?: ActivationName): Case => {
  const c = shape[1];
  const then = activation ? `, then ${activation} (fused)` : '';
  return opCase(`groupNorm x ${JSON.stringify(shape)} groups ${groups}${affine ? ' with weight, bias' : ' no weight/bias'}${then}`, {
    inputs: [x(shape), ...(affine ? [x([c], 0.5, 1.5), x([c], -0.5, 0.5)] : [])],
    fn: (xt: Tensor, w?: Tensor, b?: Tensor) => F.groupNorm(xt, groups, w ?? null, b ?? null, activation ? { activation } : {}),
  });
};

const normCases: Case[] = [
  bnTrain({ shape: [4, 3, 5, 7] }),
  bnTrain({ shape: [4, 3, 5, 7], affine: false }),
  bnTrain({ shape: [3, 40, 9, 9], affine: false, note: 'no weight or bias, 243 per channel' }),
  bnTrain({ shape: [1, 17, 3, 3], note: 'batch 1' }),
  bnTrain({ shape: [8, 64, 4, 4] }),
  // threads per channel follow its size (webgpu normThreads): 32 above, 64 and 256 here
  bnTrain({ shape: [4, 3, 32, 32], note: '4096 per channel' }),
  bnTrain({ shape: [4, 2, 64, 64], note: '16384 per channel' }),
  bnTrain({ shape: [16, 5], note: '2-D input' }),
  bnTrain({ shape: [2, 3, 5, 7], momentum: 0.3, eps: 1e-3, start: 'fixed' }),
  bnTrain({ shape: [2, 17, 1, 1], note: 'two values per channel' }),
  bnTrain({ shape: [4, 3, 5, 7], activation: 'relu' }),
  bnTrain({ shape: [4, 3, 5, 7], activation: 'leakyRelu', negativeSlope: 0.2 }),
  bnTrain({ shape: [4, 3, 5, 7], affine: false, activation: 'leakyRelu' }),
  bnTrain({ shape: [8, 64, 4, 4], activation: 'tanh' }),
  bnTrain({ shape: [3, 5, 6, 6], activation: 'sigmoid' }),
  bnTrain({ shape: [4, 3, 32, 32], activation: 'silu', note: '4096 per channel' }),
  bnEval([4, 3, 5, 7], true),
  bnEval([2, 17, 3, 3], false),
  bnEval([16, 5], true),
  bnEval([4, 3, 5, 7], true, false),
  bnEval([2, 17, 3, 3], false, false, 'relu'),
  bnEval([8, 16, 8, 8], true, false, 'tanh'),
  bnEval([3, 5, 2, 2], true, false, 'silu'),
  opCase('batchNorm eval x [4, 3, 5, 7] given running stats, then leakyRelu 0.2', {
    inputs: [x([4, 3, 5, 7]), { shape: [3], low: -0.5, high: 0.5, grad: false }, { shape: [3], low: 0.3, high: 2, grad: false }, x([3], 0.5, 1.5), x([3], -0.5, 0.5)],
    fn: (xt: Tensor, rm: Tensor, rv: Tensor, w: Tensor, b: Tensor) =>
      F.batchNorm(xt, rm, rv, w, b, { training: false, activation: 'leakyRelu', negativeSlope: 0.2 }),
  }),
  gn([2, 6, 5, 5], 3, true),
  gn([2, 6, 5, 5], 3, false),
  gn([1, 17, 4, 4], 17, true),
  gn([1, 17, 4, 4], 1, true),
  gn([1, 17, 4, 4], 1, false),
  gn([2, 8, 6, 6], 4, true, 'silu'),
  gn([2, 8, 6, 6], 2, false, 'silu'),
  gn([3, 6, 5], 3, true, 'relu'),
  gn([2, 64, 8, 8], 32, true, 'silu'),
];

// ---------------------------------------------------------------- layers together
const blocks: Case[] = [
  // A DCGAN discriminator block: conv(k4 s2 p1) → batchNorm(train) → leakyRelu(0.2), then maxPool.
  opCase('block: conv2d k4 s2 p1 → batchNorm train → leakyRelu → maxPool2d, x [2, 3, 12, 12]', {
    inputs: [x([2, 3, 12, 12]), weight([8, 3, 4, 4], 48), bias(8), x([8], 0.5, 1.5), x([8], -0.5, 0.5)],
    fn: (xt, w, b, g, beta) => {
      const h = F.conv2d(xt, w, b, { stride: 2, padding: 1 });
      const y = F.batchNorm(h, wg.zeros([8]), wg.ones([8]), g, beta, { training: true });
      return F.maxPool2d(y.leakyRelu(0.2), 2);
    },
  }),
  // A DCGAN generator block: convTranspose(k4 s2 p1) → batchNorm → relu → upsample → conv 'same'.
  opCase('block: convTranspose2d k4 s2 p1 → batchNorm → relu → upsampleNearest → conv2d same, x [2, 8, 3, 3]', {
    inputs: [x([2, 8, 3, 3]), weight([8, 4, 4, 4], 32), x([4], 0.5, 1.5), x([4], -0.5, 0.5), weight([2, 4, 3, 3], 36)],
    fn: (xt, wt, g, beta, w2) => {
      const h = F.convTranspose2d(xt, wt, null, { stride: 2, padding: 1 });
      const y = F.batchNorm(h, wg.zeros([4]), wg.ones([4]), g, beta, { training: true }).relu();
      return F.conv2d(F.upsampleNearest(y, 2), w2, null, { padding: 'same' });
    },
  }),
];

export const convCases: Case[] = [...conv2dCases, ...convTransposeCases, ...poolCases, ...normCases, ...blocks];
