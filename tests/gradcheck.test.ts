// The CPU reference's gradients against central finite differences
// (wg.gradcheck, float64), for every differentiable op: elementwise (one and
// two inputs, with broadcasting), matmul and linear, every shape op,
// reductions over one and several dims, softmax family, losses.
//
// Tolerance: eps 1e-6, atol 1e-7, rtol 1e-5. In float64 the central
// difference's truncation error is O(eps²·f''') ≈ 1e-12 and its rounding
// error ≈ 1e-16·|L|/eps ≈ 1e-10·|L| for the projected loss L (|L| < 100
// here), so a correct gradient sits far inside 1e-7 + 1e-5·|g|, and a wrong
// one (a missing factor, a wrong sign, a misrouted broadcast) far outside.
// Inputs stay away from kinks (relu/abs/clamp at their corners, max/min
// ties: random float64 data never ties) and inside each op's domain.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as wg from '../src/node/index';
import type { GradcheckResult, Tensor } from '../src/index';
import { hashName, prng, type InputSpec } from './cases/compare';
import { scaledMean } from '../src/ops/loss';

const F = wg.F;
const OPTIONS = { eps: 1e-6, atol: 1e-7, rtol: 1e-5 };

interface GradCase {
  name: string;
  inputs: InputSpec[];
  fn: (...xs: Tensor[]) => Tensor;
}

const x = (shape: number[], low = -1, high = 1): InputSpec => ({ shape, low, high });
const positive = (shape: number[], low = 0.2, high = 3): InputSpec => ({ shape, low, high });
const classes = (shape: number[], count: number): InputSpec => ({ shape, low: 0, high: count, integers: true });

const u = (name: string, fn: (t: Tensor) => Tensor, spec: InputSpec = x([3, 4], -2, 2)): GradCase => ({ name, inputs: [spec], fn });
const b = (name: string, a: InputSpec, c: InputSpec, fn: (p: Tensor, q: Tensor) => Tensor): GradCase => ({
  name,
  inputs: [a, c],
  fn,
});

const cases: GradCase[] = [
  // ---- elementwise, one input
  u('neg', (t) => t.neg()),
  u('exp', (t) => t.exp()),
  u('log', (t) => t.log(), positive([3, 4])),
  u('sqrt', (t) => t.sqrt(), positive([3, 4])),
  u('abs', (t) => t.abs()),
  u('square', (t) => t.square(), x([2, 3, 4])),
  u('relu', (t) => t.relu()),
  u('leakyRelu(0.1)', (t) => t.leakyRelu(0.1)),
  u('tanh', (t) => t.tanh()),
  u('sigmoid', (t) => t.sigmoid(), x([3, 4], -5, 5)),
  u('silu', (t) => t.silu(), x([3, 4], -4, 4)),
  u('gelu', (t) => t.gelu(), x([3, 4], -4, 4)),
  u('softplus', (t) => t.softplus(), x([3, 4], -5, 5)),
  u('clamp(-0.5, 0.5)', (t) => t.clamp(-0.5, 0.5)),
  u('clamp(min only)', (t) => t.clamp(0.2)),
  u('clamp(max only)', (t) => t.clamp(null, -0.1)),
  u('pow(3)', (t) => t.pow(3)),
  u('pow(-1.5)', (t) => t.pow(-1.5), positive([3, 4])),
  u('scalar add/sub/mul/div', (t) => t.add(0.75).sub(0.3).mul(2.5).div(-1.7)),
  u('scalar ops on []', (t) => t.mul(3).add(1).square(), x([])),

  // ---- elementwise, two inputs, broadcast
  b('add [3,4] [3,4]', x([3, 4]), x([3, 4]), (p, q) => p.add(q)),
  b('add [3,1] [1,4]', x([3, 1]), x([1, 4]), (p, q) => p.add(q)),
  b('add [] [3,4]', x([]), x([3, 4]), (p, q) => p.add(q)),
  b('sub [4] [2,3,4]', x([4]), x([2, 3, 4]), (p, q) => p.sub(q)),
  b('mul [2,1,3,1] [1,2,1,3]', x([2, 1, 3, 1]), x([1, 2, 1, 3]), (p, q) => p.mul(q)),
  b('mul [] [3,4]', x([]), x([3, 4]), (p, q) => p.mul(q)),
  b('div [3,4] [1,4]', x([3, 4]), positive([1, 4], 0.5, 2), (p, q) => p.div(q)),
  b('div [3,1] []', x([3, 1]), positive([], 0.5, 2), (p, q) => p.div(q)),
  b('pow (tensor exponent) [3,4] [3,4]', positive([3, 4]), x([3, 4], -2, 2), (p, q) => p.pow(q)),
  b('pow (broadcast exponent) [3,4] [4]', positive([3, 4]), x([4], -2, 2), (p, q) => p.pow(q)),
  u('x * x + (x + x)', (t) => t.mul(t).add(t.add(t))),

  // ---- matmul, linear
  b('matmul [3,4] [4,5]', x([3, 4]), x([4, 5]), (p, q) => p.matmul(q)),
  b('matmul [1,1] [1,1]', x([1, 1]), x([1, 1]), (p, q) => p.matmul(q)),
  b('matmul [2,3,4] [4,5] (shared weight)', x([2, 3, 4]), x([4, 5]), (p, q) => p.matmul(q)),
  b('matmul [2,3,4] [2,4,5] (batched)', x([2, 3, 4]), x([2, 4, 5]), (p, q) => p.matmul(q)),
  b('matmul [2,1,3,4] [3,4,2] (broadcast batch)', x([2, 1, 3, 4]), x([3, 4, 2]), (p, q) => p.matmul(q)),
  b('matmul [4] [4,3] (vector @ matrix)', x([4]), x([4, 3]), (p, q) => p.matmul(q)),
  b('matmul [3,4] [4] (matrix @ vector)', x([3, 4]), x([4]), (p, q) => p.matmul(q)),
  b('matmul [5] [5] (vector @ vector)', x([5]), x([5]), (p, q) => p.matmul(q)),
  { name: 'linear [2,3,4] w [5,4] b [5]', inputs: [x([2, 3, 4]), x([5, 4]), x([5])], fn: (p, w, c) => F.linear(p, w, c) },
  { name: 'linear [4] w [3,4] no bias', inputs: [x([4]), x([3, 4])], fn: (p, w) => F.linear(p, w) },

  // ---- shape ops (each followed by something that is not linear in the
  // position, so a misrouted gradient shows)
  u('reshape', (t) => t.reshape([4, -1]).exp().mul(t.reshape([4, 6])), x([2, 3, 4])),
  u('view', (t) => t.view(12).square(), x([3, 4])),
  u('flatten(1, 2)', (t) => t.flatten(1, 2).square(), x([2, 3, 2, 2])),
  u('permute(3, 1, 0, 2)', (t) => t.permute(3, 1, 0, 2).square(), x([2, 3, 2, 2])),
  u('transpose(0, -1)', (t) => t.transpose(0, -1).matmul(t.reshape([2, 12])), x([2, 3, 4])),
  u('squeeze()', (t) => t.squeeze().square(), x([1, 3, 1, 4])),
  u('squeeze(-2)', (t) => t.squeeze(-2).square(), x([3, 1, 4])),
  u('unsqueeze(1)', (t) => t.unsqueeze(1).square(), x([3, 4])),
  u('expand(2, 3, 4)', (t) => t.expand(2, 3, 4).square(), x([3, 1])),
  u('expand(2, -1, 4)', (t) => t.expand(2, -1, 4).exp(), x([1, 3, 1])),
  u('slice(1, 1, 7, 2)', (t) => t.slice(1, 1, 7, 2).square(), x([3, 8])),
  u('slice(0, -3)', (t) => t.slice(0, -3).square(), x([7])),
  u('pad([1, 2, 0, 1], 0.5)', (t) => t.pad([1, 2, 0, 1], 0.5).square(), x([2, 2, 3])),
  {
    name: 'concat three along dim 1',
    inputs: [x([2, 3, 2]), x([2, 1, 2]), x([2, 2, 2])],
    fn: (p, q, r) => wg.concat([p, q, r], 1).square(),
  },

  // ---- reductions
  u('sum()', (t) => t.square().sum()),
  u('sum(1)', (t) => t.square().sum(1)),
  u('sum(-1, keepdim)', (t) => t.square().sum(-1, true), x([2, 3, 4])),
  u('sum([0, 2])', (t) => t.square().sum([0, 2]), x([2, 3, 2, 2])),
  u('sum([0, 2], keepdim)', (t) => t.square().sum([0, 2], true), x([2, 3, 2, 2])),
  u('mean(-2)', (t) => t.square().mean(-2), x([2, 3, 4])),
  u('mean([1, 3], keepdim)', (t) => t.square().mean([1, 3], true), x([2, 3, 2, 2])),
  u('mean()', (t) => t.square().mean()),
  u('max(1)', (t) => t.max(1)),
  u('max(-1, keepdim)', (t) => t.max(-1, true), x([2, 3, 4])),
  u('max([0, 2])', (t) => t.max([0, 2]), x([2, 3, 2, 2])),
  u('max()', (t) => t.max()),
  u('min(0)', (t) => t.min(0)),
  u('min([1, 3], keepdim)', (t) => t.min([1, 3], true), x([2, 3, 2, 2])),
  u('var(1) unbiased', (t) => t.var(1)),
  u('var(-1, keepdim) biased', (t) => t.var(-1, true, false), x([2, 3, 4])),
  u('var([0, 2]) unbiased', (t) => t.var([0, 2]), x([2, 3, 2, 2])),
  u('var() biased', (t) => t.var(null, false, false)),

  // ---- softmax family
  u('softmax dim 0', (t) => F.softmax(t, 0), x([3, 4], -3, 3)),
  u('softmax dim 1', (t) => F.softmax(t, 1), x([3, 4], -3, 3)),
  u('softmax dim -1 of rank 3', (t) => F.softmax(t, -1), x([2, 3, 4], -3, 3)),
  u('logSoftmax dim 0', (t) => F.logSoftmax(t, 0), x([3, 4], -3, 3)),
  u('logSoftmax dim -1', (t) => F.logSoftmax(t, -1), x([2, 3, 4], -3, 3)),

  // ---- losses
  b('mseLoss', x([3, 4]), x([3, 4]), (p, q) => F.mseLoss(p, q)),
  b('bceWithLogits, targets in [0, 1]', x([3, 4], -4, 4), x([3, 4], 0, 1), (p, q) => F.bceWithLogits(p, q)),
  u('bceWithLogits, number target 0', (p) => F.bceWithLogits(p, 0), x([3, 4], -4, 4)),
  u('mseLoss, number target 0.5', (p) => F.mseLoss(p, 0.5), x([3, 4])),
  u('scaledMean(-1)', (p) => scaledMean(p, -1), x([3, 4])),
  b('hingeLoss, targets of either sign', x([3, 4], -3, 3), x([3, 4], -1.5, 1.5), (p, q) => F.hingeLoss(p, q)),
  u('hingeLoss, number target -1', (p) => F.hingeLoss(p, -1), x([3, 4], -3, 3)),
  b('gaussianKl [3, 4]', x([3, 4], -2, 2), x([3, 4], -2, 2), (m, v) => F.gaussianKl(m, v)),
  b('gaussianKl [4]', x([4], -2, 2), x([4], -2, 2), (m, v) => F.gaussianKl(m, v)),
  b('crossEntropy [4, 5] classes [4]', x([4, 5], -3, 3), classes([4], 5), (p, q) => F.crossEntropy(p, q)),
  b('crossEntropy [2, 3, 2, 2] classes [2, 2, 2]', x([2, 3, 2, 2], -3, 3), classes([2, 2, 2], 3), (p, q) =>
    F.crossEntropy(p, q),
  ),
  u(
    'dropout(0.3)',
    (t) => {
      wg.seed(99); // the same mask at every evaluation
      return F.dropout(t, 0.3);
    },
    x([4, 5]),
  ),
];

function makeInputs(c: GradCase): Tensor[] {
  const random = prng(hashName(c.name));
  return c.inputs.map((s) => {
    const low = s.low ?? -1;
    const high = s.high ?? 1;
    const n = s.shape.reduce((p, d) => p * d, 1);
    const values = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const v = low + random() * (high - low);
      values[i] = s.integers ? Math.min(Math.floor(v), high - 1) : v;
    }
    return wg.tensor(values, [...s.shape], { requiresGrad: s.grad ?? !s.integers });
  });
}

function fmt(v: number): string {
  return Number.isFinite(v) ? v.toExponential(2) : String(v);
}

describe('gradcheck: CPU reference vs central finite differences', () => {
  const rows: [string, GradcheckResult][] = [];

  beforeAll(async () => {
    await wg.init({ backend: 'cpu', seed: 0 });
  });

  afterAll(() => {
    const width = Math.max(...rows.map(([n]) => n.length), 4);
    const lines = rows.map(
      ([n, r]) => `${n.padEnd(width)}  ${r.ok ? 'ok  ' : 'FAIL'}  ${fmt(r.maxAbsError).padStart(9)}  ${fmt(r.maxRelError).padStart(9)}`,
    );
    console.log(`\ngradcheck (eps ${OPTIONS.eps}, atol ${OPTIONS.atol}, rtol ${OPTIONS.rtol})\n` +
      `${'case'.padEnd(width)}  ok    ${'maxAbs'.padStart(9)}  ${'maxRel'.padStart(9)}\n${lines.join('\n')}\n`);
  });

  // Each fused loss against its formula composed from ops (the fallback fusedLoss takes), value and every gradient.
  const composedLosses: [string, (p: Tensor, q: Tensor) => Tensor, (p: Tensor, q: Tensor) => Tensor, number[]][] = [
    ['bceWithLogits', (p, q) => F.bceWithLogits(p, q), (p, q) => p.softplus().sub(p.mul(q)).mean(), [0, 1, 0.3, 0.5, 1, 0, 1]],
    ['mseLoss', (p, q) => F.mseLoss(p, q), (p, q) => p.sub(q).square().mean(), [0.5, -1, 0.3, 2, 1, 0, -0.2]],
    ['hingeLoss (target without grad)', (p, q) => F.hingeLoss(p, q.detach()), (p, q) => p.mul(q.detach()).neg().add(1).relu().mean(), [1, -1, 1, -1, 1, -1, -1]],
    ['scaledMean', (p) => scaledMean(p, -1.5), (p) => p.mean().mul(-1.5), [0, 0, 0, 0, 0, 0, 0]],
    ['gaussianKl', (p, q) => F.gaussianKl(p, q), (p, q) => p.square().add(q.exp()).sub(q).sub(1).sum(-1).mean().mul(0.5), [0, 1, 0.3, -0.5, 1, -2, 3]],
  ];
  for (const [name, fused, composed, targets] of composedLosses) {
    it(`${name} (one kernel each way) equals its formula composed from ops, value and both gradients`, async () => {
      const run = (fn: (p: Tensor, q: Tensor) => Tensor) => wg.scope(() => {
        const logits = wg.tensor([-40, -3.5, -0.2, 0, 0.7, 5, 35], [7], { requiresGrad: true });
        const target = wg.tensor(targets, [7], { requiresGrad: true });
        const loss = fn(logits, target);
        loss.mul(1.7).backward();
        return [loss, logits.grad!, target.grad ?? wg.zeros([7])].map((t) => wg.keep(t));
      });
      const [f, c] = [run(fused), run(composed)];
      for (let i = 0; i < 3; i++) {
        const [a, b] = [await f[i].toFloat64(), await c[i].toFloat64()];
        for (let j = 0; j < a.length; j++) expect(Math.abs(a[j] - b[j]), `output ${i}, element ${j}`).toBeLessThan(1e-9 * Math.max(1, Math.abs(b[j])));
      }
      for (const t of [...f, ...c]) t.dispose();
    });
  }

  it('catches a wrong gradient (sanity check of the check)', async () => {
    // value t, gradient 2 (detach hides one t from autograd)
    const t = wg.tensor([0.3, -0.7, 1.1], [3], { requiresGrad: true });
    const r = await wg.gradcheck((a) => a.mul(2).sub(a.detach()).square(), [t], OPTIONS);
    t.dispose();
    expect(r.ok).toBe(false);
    expect(r.maxAbsError).toBeGreaterThan(0.1);
  });

  for (const c of cases) {
    it(c.name, async () => {
      const before = wg.memory().tensors;
      const inputs = makeInputs(c);
      let r: GradcheckResult;
      try {
        r = await wg.gradcheck(c.fn, inputs, OPTIONS);
      } finally {
        for (const t of inputs) t.dispose();
      }
      rows.push([c.name, r]);
      const perInput = r.inputs
        .map((i) => `input ${i.index} ${JSON.stringify(i.shape)}: ${i.ok ? 'ok' : 'FAIL'} abs ${fmt(i.maxAbsError)} rel ${fmt(i.maxRelError)}`)
        .join('; ');
      expect(r.ok, `${c.name}: maxAbs=${fmt(r.maxAbsError)} maxRel=${fmt(r.maxRelError)} (${perInput})`).toBe(true);
      expect(wg.memory().tensors, 'tensors left behind by gradcheck').toBe(before);
    });
  }
});
