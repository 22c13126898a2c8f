// WebGPU vs the CPU reference for every tensor op, forward and every
// gradient (compare.ts runs each case on both backends). The shapes are
// picked to break naive kernels: sizes 1, 7, 33, 65, 129 (never a multiple of
// a tile or a workgroup), batch 1, rank 0–4, broadcasting on either side and
// in the middle, negative dims, keepdim both ways, reductions over several
// dims at once. Value ranges keep every op inside its domain and away from
// its kinks (random float data never lands exactly on 0 or on a tie).

import * as wg from '../../src/index';
import type { Tensor } from '../../src/index';
import type { Case } from './types';
import { opCase, type InputSpec } from './compare';
import { denoiseStep, type DenoiseStep } from '../../src/ops/denoise';
import { scaledMean } from '../../src/ops/loss';

const F = wg.F;

const x = (shape: number[], low = -1, high = 1): InputSpec => ({ shape, low, high });
const positive = (shape: number[], low = 0.1, high = 3): InputSpec => ({ shape, low, high });
const classes = (shape: number[], count: number): InputSpec => ({ shape, low: 0, high: count, integers: true });

const unary = (name: string, shape: number[], fn: (t: Tensor) => Tensor, low = -2, high = 2): Case =>
  opCase(`${name} ${JSON.stringify(shape)}`, { inputs: [x(shape, low, high)], fn });

// ---------------------------------------------------------------- elementwise, one input
const elementwiseUnary: Case[] = [
  unary('neg', [7, 33], (t) => t.neg()),
  unary('exp', [33], (t) => t.exp()),
  unary('exp', [2, 3, 4, 5], (t) => t.exp()),
  unary('log', [7, 33], (t) => t.log(), 0.05, 5),
  unary('sqrt', [65], (t) => t.sqrt(), 0.05, 5),
  unary('abs', [7, 33], (t) => t.abs()),
  unary('square', [2, 3, 4, 5], (t) => t.square()),
  unary('relu', [129], (t) => t.relu()),
  unary('relu', [1], (t) => t.relu()),
  unary('leakyRelu(0.1)', [7, 33], (t) => t.leakyRelu(0.1)),
  unary('leakyRelu(default 0.01)', [65], (t) => t.leakyRelu()),
  unary('tanh', [65], (t) => t.tanh(), -4, 4),
  unary('sigmoid', [7, 33], (t) => t.sigmoid(), -6, 6),
  unary('sigmoid (|x| up to 40)', [129], (t) => t.sigmoid(), -40, 40),
  unary('silu', [2, 7, 33], (t) => t.silu(), -5, 5),
  unary('gelu', [129], (t) => t.gelu(), -4, 4),
  unary('softplus', [7, 33], (t) => t.softplus(), -5, 5),
  unary('softplus (|x| up to 40)', [129], (t) => t.softplus(), -40, 40),
  unary('clamp(-0.5, 0.5)', [7, 33], (t) => t.clamp(-0.5, 0.5)),
  unary('clamp(min 0.2 only)', [33], (t) => t.clamp(0.2)),
  unary('clamp(max -0.1 only)', [65], (t) => t.clamp(null, -0.1)),
  unary('pow(3)', [7, 33], (t) => t.pow(3)),
  opCase('pow(2.5) positive [65]', { inputs: [positive([65])], fn: (t) => t.pow(2.5) }),
  opCase('pow(-1.5) positive [7, 33]', { inputs: [positive([7, 33], 0.3, 3)], fn: (t) => t.pow(-1.5) }),
  unary('scalar add/sub/mul/div', [7, 33], (t) => t.add(0.75).sub(0.3).mul(2.5).div(-1.7)),
  unary('scalar ops on []', [], (t) => t.mul(3).add(1).square()),
];

// ---------------------------------------------------------------- elementwise, two inputs (broadcast)
const bin = (name: string, a: InputSpec, b: InputSpec, fn: (a: Tensor, b: Tensor) => Tensor): Case =>
  opCase(`${name} ${JSON.stringify(a.shape)} ${JSON.stringify(b.shape)}`, { inputs: [a, b], fn });

const elementwiseBinary: Case[] = [
  bin('add', x([129]), x([129]), (a, b) => a.add(b)),
  bin('add', x([7, 1]), x([1, 33]), (a, b) => a.add(b)),
  bin('add', x([]), x([3, 4]), (a, b) => a.add(b)),
  bin('add', x([2, 1, 5, 1]), x([1, 3, 1, 4]), (a, b) => a.add(b)),
  bin('sub', x([33]), x([4, 7, 33]), (a, b) => a.sub(b)),
  bin('sub', x([4, 7, 33]), x([7, 1]), (a, b) => a.sub(b)),
  bin('mul', x([]), x([3, 4]), (a, b) => a.mul(b)),
  bin('mul', x([2, 1, 5, 1]), x([1, 3, 1, 4]), (a, b) => a.mul(b)),
  bin('mul', x([1]), x([65]), (a, b) => a.mul(b)),
  bin('div', x([7, 1]), positive([1, 33], 0.5, 2), (a, b) => a.div(b)),
  bin('div', x([3, 4]), positive([], 0.5, 2), (a, b) => a.div(b)),
  bin('div', x([4, 7, 33]), positive([33], 0.5, 2), (a, b) => a.div(b)),
  bin('pow (tensor exponent)', positive([7, 33], 0.2, 3), x([7, 33], -2, 2), (a, b) => a.pow(b)),
  bin('pow (broadcast exponent)', positive([7, 33], 0.2, 3), x([1, 33], -2, 2), (a, b) => a.pow(b)),
  bin('pow (scalar-shaped base)', positive([], 0.5, 2), x([3, 4], -2, 2), (a, b) => a.pow(b)),
  // The same tensor twice: gradients from both uses must add up.
  opCase('x * x and x + x (gradient accumulation) [7, 33]', { inputs: [x([7, 33])], fn: (t) => t.mul(t).add(t.add(t)) }),
  opCase('exp(x) * x summed over dim 1 [7, 33]', { inputs: [x([7, 33])], fn: (t) => t.exp().mul(t).sum(1) }),
  // eq has no gradient: only the output is compared. Integer data so equality happens.
  // 300 dispatches forward and more backward: several flushes of the command
  // encoder and wraps of the uniform ring inside one case.
  opCase('a chain of 300 elementwise ops [33]', {
    inputs: [x([33])],
    fn: (t) => {
      let y = t;
      for (let i = 0; i < 150; i++) y = y.mul(1.001).add(t.mul(0.001));
      return y;
    },
  }),
  opCase('eq [7, 33] [1, 33]', {
    inputs: [{ shape: [7, 33], low: 0, high: 3, integers: true }, { shape: [1, 33], low: 0, high: 3, integers: true }],
    fn: (a, b) => a.eq(b),
  }),
  opCase('eq number [65]', { inputs: [{ shape: [65], low: 0, high: 3, integers: true }], fn: (a) => a.eq(1) }),
];

// ---------------------------------------------------------------- matmul, linear
const mm = (a: number[], b: number[], extra = ''): Case =>
  bin(`matmul${extra}`, x(a), x(b), (p, q) => p.matmul(q));

const products: Case[] = [
  mm([1, 1], [1, 1]),
  mm([1, 7], [7, 1]),
  mm([7, 33], [33, 65]),
  mm([65, 129], [129, 7]),
  mm([1, 33], [33, 129]),
  mm([2, 7, 33], [33, 5], ' (shared weight)'),
  mm([2, 3, 4], [2, 4, 5], ' (batched)'),
  mm([2, 1, 7, 8], [3, 8, 5], ' (broadcast batch)'),
  mm([33], [33, 7], ' (vector @ matrix)'),
  mm([7, 33], [33], ' (matrix @ vector)'),
  mm([65], [65], ' (vector @ vector)'),
  mm([2, 3, 7, 4], [4, 9], ' (rank 4 @ shared weight)'),
  mm([129, 65], [65, 129], ' (several tiles in m, n and k)'),
  mm([1, 7, 8], [3, 8, 5], ' (batch-1 left, batched right)'),
  mm([2, 7, 8], [1, 8, 5], ' (batched left, batch-1 right)'),
  mm([2, 1, 7, 8], [1, 3, 8, 5], ' (both batches broadcast)'),
  mm([7, 8], [2, 3, 8, 5], ' (matrix @ rank 4)'),
  mm([33], [2, 33, 7], ' (vector @ batched)'),
  mm([2, 7, 33], [33], ' (batched @ vector)'),
  mm([3, 0], [0, 4], ' (k = 0: zeros)'),
  mm([2, 65, 17], [2, 17, 70], ' (batched, past one tile)'),
  bin('matmul of transposed operands', x([33, 7]), x([5, 33]), (a, b) => a.transpose().matmul(b.transpose())),
  opCase('linear 3-D input [2, 5, 33] w [7, 33] b [7]', {
    inputs: [x([2, 5, 33]), x([7, 33]), x([7])],
    fn: (a, w, b) => F.linear(a, w, b),
  }),
  opCase('linear no bias [3, 65] w [129, 65]', { inputs: [x([3, 65]), x([129, 65])], fn: (a, w) => F.linear(a, w) }),
  opCase('linear 1-D input [33] w [5, 33] b [5]', {
    inputs: [x([33]), x([5, 33]), x([5])],
    fn: (a, w, b) => F.linear(a, w, b),
  }),
  opCase('linear 4-D input [2, 3, 1, 9] w [5, 9] b [5]', {
    inputs: [x([2, 3, 1, 9]), x([5, 9]), x([5])],
    fn: (a, w, b) => F.linear(a, w, b),
  }),
  opCase('linear batch 1 [1, 1] w [1, 1] b [1]', {
    inputs: [x([1, 1]), x([1, 1]), x([1])],
    fn: (a, w, b) => F.linear(a, w, b),
  }),
  // the bias and activation in the matmul's store (an epilogue), backward in one kernel for both
  opCase('linear + leakyRelu(0.2) [7, 33] w [65, 33] b [65]', {
    inputs: [x([7, 33]), x([65, 33]), x([65])],
    fn: (a, w, b) => F.linear(a, w, b, { activation: 'leakyRelu', negativeSlope: 0.2 }),
  }),
  opCase('linear + relu, no bias, 3-D input [2, 5, 33] w [7, 33]', {
    inputs: [x([2, 5, 33]), x([7, 33])],
    fn: (a, w) => F.linear(a, w, null, { activation: 'relu' }),
  }),
  opCase('linear + tanh 1-D input [33] w [129, 33] b [129]', {
    inputs: [x([33]), x([129, 33]), x([129])],
    fn: (a, w, b) => F.linear(a, w, b, { activation: 'tanh' }),
  }),
  opCase('linear + sigmoid [65, 9] w [5, 9] b [5] (rows past a tile)', {
    inputs: [x([65, 9], -2, 2), x([5, 9]), x([5])],
    fn: (a, w, b) => F.linear(a, w, b, { activation: 'sigmoid' }),
  }),
  opCase('linear + silu (z kept for the backward) [3, 33] w [7, 33] b [7]', {
    inputs: [x([3, 33], -2, 2), x([7, 33]), x([7])],
    fn: (a, w, b) => F.linear(a, w, b, { activation: 'silu' }),
  }),
  opCase('linear + relu, k = 0 [3, 0] w [4, 0] b [4] (the bias alone)', {
    inputs: [x([3, 0]), x([4, 0]), x([4])],
    fn: (a, w, b) => F.linear(a, w, b, { activation: 'relu' }),
  }),
];

// ---------------------------------------------------------------- shape ops
const shape1 = (name: string, shape: number[], fn: (t: Tensor) => Tensor): Case =>
  opCase(`${name} of ${JSON.stringify(shape)}`, { inputs: [x(shape)], fn });

const shapeOps: Case[] = [
  // reshape/view are aliases: multiply so the gradient goes through a kernel too.
  shape1('reshape [6, -1] · 2', [2, 3, 4, 5], (t) => t.reshape([6, -1]).mul(2)),
  shape1('view 33, 7 then exp', [7, 33], (t) => t.view(33, 7).exp()),
  shape1('flatten(1, 2)', [2, 3, 4, 5], (t) => t.flatten(1, 2).exp()),
  shape1('flatten()', [2, 3, 7], (t) => t.flatten().exp()),
  shape1('permute(3, 1, 0, 2)', [2, 3, 4, 5], (t) => t.permute(3, 1, 0, 2)),
  shape1('permute(-1, 0, -2, 1)', [2, 7, 3, 5], (t) => t.permute(-1, 0, -2, 1)),
  shape1('permute(1, 0)', [7, 33], (t) => t.permute(1, 0)),
  shape1('transpose(0, 2)', [2, 7, 33], (t) => t.transpose(0, 2)),
  shape1('transpose()', [7, 33], (t) => t.transpose()),
  shape1('squeeze()', [1, 7, 1, 33], (t) => t.squeeze().exp()),
  shape1('squeeze(-2)', [7, 1, 33], (t) => t.squeeze(-2).exp()),
  shape1('unsqueeze(1)', [7, 33], (t) => t.unsqueeze(1).exp()),
  shape1('unsqueeze(-1)', [33], (t) => t.unsqueeze(-1).exp()),
  shape1('expand(3, 7, 33)', [7, 1], (t) => t.expand(3, 7, 33)),
  shape1('expand(2, 7, 33)', [33], (t) => t.expand([2, 7, 33])),
  shape1('expand(4, -1)', [1, 33], (t) => t.expand(4, -1)),
  shape1('expand(2, 3, 4, 5)', [2, 1, 4, 1], (t) => t.expand(2, 3, 4, 5)),
  shape1('slice(1, 2, 30, 3)', [7, 33], (t) => t.slice(1, 2, 30, 3)),
  shape1('slice(0, -5) (negative start)', [33], (t) => t.slice(0, -5)),
  shape1('slice(-1, -40, -3, 2)', [4, 65], (t) => t.slice(-1, -40, -3, 2)),
  shape1('slice(2, 1, 4) rank 4', [2, 3, 5, 7], (t) => t.slice(2, 1, 4)),
  shape1('slice(0, 0, 1) batch 1', [7, 33], (t) => t.slice(0, 0, 1)),
  shape1('slice(0, 5, 5) to empty', [7, 33], (t) => t.slice(0, 5, 5).exp()),
  shape1('expand(3, 4)', [], (t) => t.expand(3, 4)),
  shape1('pad([1, 2, 3, 0], 0.5) last two dims', [2, 3, 7, 33], (t) => t.pad([1, 2, 3, 0], 0.5)),
  shape1('pad([2, 1]) last dim', [7, 33], (t) => t.pad([2, 1])),
  shape1('pad([0, 0, 1, 1, 2, 0]) three dims', [2, 5, 7], (t) => t.pad([0, 0, 1, 1, 2, 0], -1)),
  opCase('concat three along dim 1 [2, 3, 5] [2, 1, 5] [2, 4, 5]', {
    inputs: [x([2, 3, 5]), x([2, 1, 5]), x([2, 4, 5])],
    fn: (a, b, c) => wg.concat([a, b, c], 1),
  }),
  opCase('concat along dim -1 [7, 1] [7, 33]', { inputs: [x([7, 1]), x([7, 33])], fn: (a, b) => wg.concat([a, b], -1) }),
  opCase('concat along dim 0 [1, 33] [7, 33] [65, 33]', {
    inputs: [x([1, 33]), x([7, 33]), x([65, 33])],
    fn: (a, b, c) => wg.concat([a, b, c], 0),
  }),
  opCase('concat with an empty piece [2, 0] [2, 3]', { inputs: [x([2, 0]), x([2, 3])], fn: (a, b) => wg.concat([a, b], 1) }),
  opCase('concat, one input without grad [3, 4] [3, 4]', {
    inputs: [x([3, 4]), { ...x([3, 4]), grad: false }],
    fn: (a, b) => wg.concat([a, b], 1),
  }),
];

// ---------------------------------------------------------------- reductions
const reductions: Case[] = [
  shape1('sum()', [7, 33], (t) => t.sum()),
  shape1('sum(1)', [7, 33], (t) => t.sum(1)),
  shape1('sum(0)', [129], (t) => t.sum(0)),
  shape1('sum(-1, keepdim)', [4, 7, 33], (t) => t.sum(-1, true)),
  shape1('sum([0, 2])', [2, 3, 4, 5], (t) => t.sum([0, 2])),
  shape1('sum([0, 2], keepdim)', [2, 3, 4, 5], (t) => t.sum([0, 2], true)),
  shape1('sum([-1, 1])', [2, 3, 4, 5], (t) => t.sum([-1, 1])),
  shape1('sum() of 1 element', [1, 1], (t) => t.sum()),
  shape1('sum() of a scalar', [], (t) => t.sum()),
  shape1('sum(null, keepdim)', [2, 3, 4, 5], (t) => t.sum(null, true)),
  shape1('sum(0) over an empty dim', [0, 3], (t) => t.sum(0)),
  shape1('sum(-1), rows longer than a workgroup', [2, 600], (t) => t.sum(-1)),
  shape1('sum(-1), rows past 1024 (a workgroup per row)', [3, 3000], (t) => t.sum(-1)),
  shape1('sum(1), many short rows (a thread per row)', [300, 40], (t) => t.sum(1)),
  shape1('max(-1), rows past 1024 (a workgroup per row)', [2, 1500], (t) => t.max(-1)),
  shape1('sum(1), more rows than one grid dim holds (65535)', [66000, 2], (t) => t.sum(1)),
  shape1('max() of 2000 elements', [2000], (t) => t.max()),
  shape1('mean(-2)', [4, 7, 33], (t) => t.mean(-2)),
  shape1('mean([1, 3], keepdim)', [2, 3, 4, 5], (t) => t.mean([1, 3], true)),
  shape1('mean()', [65, 7], (t) => t.mean()),
  shape1('max(1)', [7, 33], (t) => t.max(1)),
  shape1('max(-1, keepdim)', [3, 129], (t) => t.max(-1, true)),
  shape1('max([0, 2])', [2, 3, 4, 5], (t) => t.max([0, 2])),
  shape1('max()', [65], (t) => t.max()),
  shape1('min(0)', [33, 7], (t) => t.min(0)),
  shape1('min([1, 3], keepdim)', [2, 3, 4, 5], (t) => t.min([1, 3], true)),
  shape1('min()', [7, 33], (t) => t.min()),
  shape1('var(1) unbiased', [7, 33], (t) => t.var(1)),
  shape1('var(-1, keepdim, biased)', [3, 129], (t) => t.var(-1, true, false)),
  shape1('var([0, 2]) unbiased', [2, 3, 4, 5], (t) => t.var([0, 2])),
  shape1('var() biased', [7, 33], (t) => t.var(null, false, false)),
];

// ---------------------------------------------------------------- softmax family
const sm = (name: string, shape: number[], fn: (t: Tensor) => Tensor, low = -3, high = 3): Case =>
  opCase(`${name} of ${JSON.stringify(shape)}`, { inputs: [x(shape, low, high)], fn });

const softmaxes: Case[] = [
  sm('softmax dim 0', [7, 33], (t) => F.softmax(t, 0)),
  sm('softmax dim 1', [7, 33], (t) => F.softmax(t, 1)),
  sm('softmax dim -1 (row of 129)', [3, 129], (t) => F.softmax(t, -1)),
  sm('softmax dim 1 of rank 3', [2, 7, 5], (t) => F.softmax(t, 1)),
  sm('softmax dim 0 of rank 4', [3, 2, 4, 5], (t) => F.softmax(t, 0)),
  sm('softmax of a vector', [65], (t) => F.softmax(t, 0)),
  sm('softmax, rows longer than a workgroup', [2, 700], (t) => F.softmax(t, -1)),
  sm('logSoftmax, rows longer than a workgroup', [2, 700], (t) => F.logSoftmax(t, -1)),
  sm('softmax, logits up to ±50', [4, 33], (t) => F.softmax(t, -1), -50, 50),
  sm('logSoftmax dim 0', [7, 33], (t) => F.logSoftmax(t, 0)),
  sm('logSoftmax dim 1', [7, 33], (t) => F.logSoftmax(t, 1)),
  sm('logSoftmax dim -1 (row of 129)', [3, 129], (t) => F.logSoftmax(t, -1)),
  sm('logSoftmax, logits up to ±50', [4, 33], (t) => F.logSoftmax(t, -1), -50, 50),
];

// ---------------------------------------------------------------- a diffusion sampler's update (no gradient)
const still = (shape: number[], low = -1, high = 1): InputSpec => ({ shape, low, high, grad: false });
const update = (name: string, inputs: InputSpec[], step: DenoiseStep, withNoise: boolean): Case =>
  opCase(`denoiseStep ${name}`, {
    inputs,
    fn: (xt, eps, noise) => {
      const { prev, x0 } = denoiseStep(xt, eps, withNoise ? noise : null, step);
      return wg.concat([prev, x0]);
    },
  });
const sampler: Case[] = [
  update('[2, 3, 7, 5] with noise (x̂_0 clipped in places)', [still([2, 3, 7, 5], -2, 2), still([2, 3, 7, 5]), still([2, 3, 7, 5])],
    { guidance: null, noiseLevel: 0.6, signalInverse: 1.25, x0Coef: 0.3, xtCoef: 0.7, noiseCoef: 0.2 }, true),
  update('[3, 1, 8, 8] guided (ε̂ [6, 1, 8, 8]), no noise', [still([3, 1, 8, 8], -2, 2), still([6, 1, 8, 8]), still([3, 1, 8, 8])],
    { guidance: 3, noiseLevel: 0.9, signalInverse: 2.3, x0Coef: 0.5, xtCoef: 0.45, noiseCoef: 0 }, false),
  update('[1, 129] guided with noise', [still([1, 129], -2, 2), still([2, 129]), still([1, 129])],
    { guidance: 0.5, noiseLevel: 0.1, signalInverse: 1.01, x0Coef: 0.9, xtCoef: 0.05, noiseCoef: 0.3 }, true),
];

// ---------------------------------------------------------------- losses, dropout
const losses: Case[] = [
  opCase('mseLoss [7, 33]', { inputs: [x([7, 33]), x([7, 33])], fn: (p, t) => F.mseLoss(p, t) }),
  opCase('bceWithLogits [7, 33], targets in [0, 1]', {
    inputs: [x([7, 33], -4, 4), x([7, 33], 0, 1)],
    fn: (l, t) => F.bceWithLogits(l, t),
  }),
  opCase('bceWithLogits [129], logits up to ±30, target without grad', {
    inputs: [x([129], -30, 30), { shape: [129], low: 0, high: 1, grad: false }],
    fn: (l, t) => F.bceWithLogits(l, t),
  }),
  opCase('bceWithLogits [1]', { inputs: [x([1], -4, 4), x([1], 0, 1)], fn: (l, t) => F.bceWithLogits(l, t) }),
  opCase('bceWithLogits [3, 1000] (many elements a thread), logits up to ±100, 0/1 targets', {
    inputs: [x([3, 1000], -100, 100), { shape: [3, 1000], low: 0, high: 2, integers: true, grad: false }],
    fn: (l, t) => F.bceWithLogits(l, t),
  }),
  opCase('bceWithLogits [65], number target 1 (one value for all)', { inputs: [x([65], -6, 6)], fn: (l) => F.bceWithLogits(l, 1) }),
  opCase('mseLoss [129], number target -0.25', { inputs: [x([129])], fn: (p) => F.mseLoss(p, -0.25) }),
  opCase('mseLoss [3, 1000] (many elements a thread), target without grad', {
    inputs: [x([3, 1000], -3, 3), { shape: [3, 1000], low: -1, high: 1, grad: false }],
    fn: (p, t) => F.mseLoss(p, t),
  }),
  opCase('hingeLoss [7, 33], ±1 targets (both sides of the hinge)', {
    inputs: [x([7, 33], -3, 3), classes([7, 33], 2)],
    fn: (l, c) => F.hingeLoss(l, c.mul(2).sub(1)),
  }),
  opCase('hingeLoss [129], number target 1 (a discriminator on real images)', { inputs: [x([129], -3, 3)], fn: (l) => F.hingeLoss(l, 1) }),
  opCase('hingeLoss [1], number target -1', { inputs: [x([1], -3, 3)], fn: (l) => F.hingeLoss(l, -1) }),
  opCase('hingeLoss [2, 600], target needing a gradient (composed)', {
    inputs: [x([2, 600], -3, 3), x([2, 600])],
    fn: (l, t) => F.hingeLoss(l, t),
  }),
  opCase('scaledMean(−1) [129] (a hinge GAN generator\'s loss)', { inputs: [x([129], -3, 3)], fn: (l) => scaledMean(l, -1) }),
  opCase('scaledMean(2.5) [3, 1000] (many elements a thread)', { inputs: [x([3, 1000], -3, 3)], fn: (l) => scaledMean(l, 2.5) }),
  opCase('gaussianKl [7, 33] (a VAE latent of 33)', { inputs: [x([7, 33], -2, 2), x([7, 33], -3, 2)], fn: (m, v) => F.gaussianKl(m, v) }),
  opCase('gaussianKl [2, 3, 129], logvar without grad', {
    inputs: [x([2, 3, 129], -2, 2), { shape: [2, 3, 129], low: -3, high: 2, grad: false }],
    fn: (m, v) => F.gaussianKl(m, v),
  }),
  opCase('gaussianKl [5] (one row)', { inputs: [x([5], -2, 2), x([5], -3, 2)], fn: (m, v) => F.gaussianKl(m, v) }),
  opCase('crossEntropy [7, 5] classes [7]', {
    inputs: [x([7, 5], -3, 3), classes([7], 5)],
    fn: (l, c) => F.crossEntropy(l, c),
  }),
  opCase('crossEntropy [1, 129] classes [1]', {
    inputs: [x([1, 129], -3, 3), classes([1], 129)],
    fn: (l, c) => F.crossEntropy(l, c),
  }),
  opCase('crossEntropy [2, 5, 3, 4] classes [2, 3, 4] (spatial)', {
    inputs: [x([2, 5, 3, 4], -3, 3), classes([2, 3, 4], 5)],
    fn: (l, c) => F.crossEntropy(l, c),
  }),
  // dropout draws its mask from wg's seeded stream: seed it the same on both sides.
  opCase('dropout(p = 0.3) [7, 33]', {
    inputs: [x([7, 33])],
    fn: (t) => {
      wg.seed(1234);
      return F.dropout(t, 0.3);
    },
  }),
  opCase('dropout eval mode [33]', { inputs: [x([33])], fn: (t) => F.dropout(t, 0.5, false) }),
  // A tiny MLP end to end: linear → gelu → linear → crossEntropy.
  opCase('MLP: linear-gelu-linear-crossEntropy [5, 33]', {
    inputs: [x([5, 33]), x([16, 33], -0.3, 0.3), x([16]), x([7, 16], -0.3, 0.3), x([7]), classes([5], 7)],
    fn: (inp, w1, b1, w2, b2, c) => F.crossEntropy(F.linear(F.linear(inp, w1, b1).gelu(), w2, b2), c),
  }),
];

export const opCases: Case[] = [
  ...elementwiseUnary,
  ...elementwiseBinary,
  ...products,
  ...shapeOps,
  ...reductions,
  ...softmaxes,
  ...sampler,
  ...losses,
];
