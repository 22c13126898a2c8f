// Tensor and autograd behaviour that is not one op's maths: errors on bad
// input, scopes and disposal, grad accumulation, seeds, memory over a
// training loop, and a lost device.
import { describe, it, expect, beforeAll } from 'vitest';
import * as wg from '../src/node/index';
import { withBackend } from '../src/runtime';
import { denoiseStep } from '../src/ops/denoise';

beforeAll(async () => {
  await wg.init({ backend: 'webgpu', seed: 0 });
});

describe('bad input names the op and the shapes', () => {
  it('matmul inner dims', () => {
    const a = wg.zeros([2, 3]);
    const b = wg.zeros([4, 5]);
    expect(() => a.matmul(b)).toThrow(/matmul: shapes \[2, 3\] and \[4, 5\] cannot be multiplied \(inner dims 3 and 4 differ\)/);
  });
  it('broadcasting', () => {
    expect(() => wg.zeros([2, 3]).add(wg.zeros([4]))).toThrow(/add: shapes \[2, 3\] and \[4\] cannot be broadcast/);
    expect(() => wg.zeros([2, 3]).mul(wg.zeros([2, 2]))).toThrow(/mul: shapes \[2, 3\] and \[2, 2\]/);
  });
  it('dims out of range', () => {
    const x = wg.zeros([2, 3]);
    expect(() => x.sum(2)).toThrow(/sum: dim 2 is out of range for a tensor of rank 2/);
    expect(() => x.transpose(0, -3)).toThrow(/transpose: dim -3 is out of range/);
    expect(() => wg.F.softmax(x, 5)).toThrow(/softmax: dim 5/);
  });
  it('backward on a non-scalar without a gradient', () => {
    const x = wg.ones([2, 3], { requiresGrad: true });
    expect(() => x.mul(2).backward()).toThrow(/backward: tensor of shape \[2, 3\] is not a scalar/);
  });
  it('a disposed tensor', () => {
    const x = wg.ones([2, 3]);
    x.dispose();
    expect(() => x.add(1)).toThrow(/was disposed/);
    expect(() => x.add(1)).toThrow(/\[2, 3\]/);
  });
  it('data that does not fit the shape', () => {
    expect(() => wg.tensor([1, 2, 3, 4, 5, 6], [4, 2])).toThrow(/tensor: 6 values do not fit shape \[4, 2\] \(8 elements\)/);
    expect(() => wg.tensor([[1, 2], [3]])).toThrow(/not rectangular/);
    expect(() => wg.zeros([2, -1])).toThrow(/zeros|full/);
  });
  it('losses: a target of another shape, a number target that is not finite, a KL of mismatched halves', () => {
    const x = wg.zeros([4, 3]);
    expect(() => wg.F.mseLoss(x, wg.zeros([3, 4]))).toThrow(/mseLoss: input \[4, 3\] and target \[3, 4\] must have the same shape/);
    expect(() => wg.F.hingeLoss(x, wg.zeros([4]))).toThrow(/hingeLoss: input \[4, 3\] and target \[4\]/);
    expect(() => wg.F.bceWithLogits(x, Number.NaN)).toThrow(/bceWithLogits: a number target must be finite, got NaN/);
    expect(() => wg.F.gaussianKl(x, wg.zeros([4, 2]))).toThrow(/gaussianKl: mean \[4, 3\] and logvar \[4, 2\] must have the same shape/);
    expect(() => wg.F.gaussianKl(wg.zeros([]), wg.zeros([]))).toThrow(/gaussianKl: .* of rank ≥ 1/);
  });
  it('a sampler update: ε̂ of the wrong shape, noise missing, a gradient asked for', () => {
    const xt = wg.zeros([2, 1, 4, 4]);
    const step = { guidance: null, noiseLevel: 0.5, signalInverse: 1.2, x0Coef: 0.4, xtCoef: 0.6, noiseCoef: 0.1 };
    expect(() => denoiseStep(xt, wg.zeros([2, 1, 4, 4]), null, step)).toThrow(/denoiseStep: a noise coefficient of 0.1 needs noise of 32 values, got none/);
    expect(() => denoiseStep(xt, wg.zeros([2, 1, 4, 4]), xt, { ...step, guidance: 2 })).toThrow(/denoiseStep: ε̂ \[2, 1, 4, 4\] for x_t \[2, 1, 4, 4\]; \[4, 1, 4, 4\] expected \(guided\)/);
    expect(() => denoiseStep(xt, wg.zeros([2, 1, 4, 4], { requiresGrad: true }), xt, step)).toThrow(/denoiseStep: a sampler step takes no gradient/);
  });
  it('reshape to a wrong size', () => {
    expect(() => wg.zeros([2, 3]).reshape(4, 2)).toThrow(/reshape: cannot reshape \[2, 3\] \(6 elements\) into \[4, 2\]/);
  });
  it('a failed call changes nothing', async () => {
    const x = wg.tensor([1, 2, 3], [3], { requiresGrad: true });
    const before = wg.memory().tensors;
    expect(() => x.matmul(wg.zeros([4, 4]))).toThrow();
    // the [4,4] operand is the only new tensor; x is intact
    expect(wg.memory().tensors).toBe(before + 1);
    expect(Array.from(await x.toArray())).toEqual([1, 2, 3]);
    expect(x.grad).toBeNull();
  });
  it('init with an unknown backend', async () => {
    await expect(wg.init({ backend: 'metal' as 'cpu' })).rejects.toThrow(/init: backend must be 'auto', 'webgpu' or 'cpu'/);
  });
});

describe('autograd semantics', () => {
  it('gradients accumulate when a tensor is used twice, and across backward calls', async () => {
    const x = wg.tensor([1, 2, 3], [3], { requiresGrad: true });
    x.mul(x).sum().backward(); // d/dx Σx² = 2x
    expect(Array.from(await x.grad!.toArray())).toEqual([2, 4, 6]);
    x.add(x).sum().backward(); // + 2
    expect(Array.from(await x.grad!.toArray())).toEqual([4, 6, 8]);
  });
  it('a second backward through the same graph is refused, as PyTorch, unless the first kept it (retainGraph)', async () => {
    const x = wg.tensor([1, 2, 3], [3], { requiresGrad: true });
    const loss = x.mul(x).sum();
    loss.backward();
    expect(() => loss.backward()).toThrow(/backward: the graph through (sum|mul) .* was used by an earlier backward pass; pass \{ retainGraph: true \}/);
    const y = x.mul(x); // part of a spent graph reached from a new root is spent too
    const shared = y.sum();
    shared.backward();
    expect(() => y.mul(2).sum().backward()).toThrow(/graph through mul/);
    expect(Array.from(await x.grad!.toArray())).toEqual([4, 8, 12]); // the refused passes added nothing

    const z = wg.tensor([1, 2, 3], [3], { requiresGrad: true });
    const kept = z.mul(z).sum();
    kept.backward(undefined, { retainGraph: true });
    kept.backward();
    expect(Array.from(await z.grad!.toArray())).toEqual([4, 8, 12]);
    expect(() => kept.backward()).toThrow(/used by an earlier backward pass/);
  });
  it('broadcast gradients are summed back to each input shape', async () => {
    const a = wg.tensor([1, 2, 3], [3, 1], { requiresGrad: true });
    const b = wg.tensor([10, 20], [1, 2], { requiresGrad: true });
    a.mul(b).sum().backward();
    expect(Array.from(await a.grad!.toArray())).toEqual([30, 30, 30]);
    expect(Array.from(await b.grad!.toArray())).toEqual([6, 6]);
  });
  it('noGrad and detach record nothing', () => {
    const x = wg.ones([2], { requiresGrad: true });
    expect(wg.noGrad(() => x.mul(2)).requiresGrad).toBe(false);
    expect(x.detach().requiresGrad).toBe(false);
    expect(x.mul(2).requiresGrad).toBe(true);
  });
  it('scope disposes what it made except what it returns', () => {
    const before = wg.memory().tensors;
    const kept = wg.scope(() => {
      const a = wg.ones([4]);
      const b = a.mul(3);
      return { b, list: [b.add(1)] };
    });
    expect(wg.memory().tensors).toBe(before + 2);
    expect(kept.b.disposed).toBe(false);
    kept.b.dispose();
    kept.list[0].dispose();
    expect(wg.memory().tensors).toBe(before);
  });
  it('scope refuses an async function', () => {
    expect(() => wg.scope(() => Promise.resolve(1))).toThrow(/scope: the function must be synchronous/);
  });
});

describe('seeds', () => {
  it('the same seed gives the same numbers on both backends', async () => {
    wg.seed(42);
    const gpu = await wg.randn([1000]).toArray();
    const gpuU = await wg.rand([10]).toArray();
    wg.seed(42);
    const cpu = await withBackend('cpu', () => wg.randn([1000])).toArray();
    const cpuU = await withBackend('cpu', () => wg.rand([10])).toArray();
    expect(Array.from(gpu)).toEqual(Array.from(cpu));
    expect(Array.from(gpuU)).toEqual(Array.from(cpuU));
    const mean = gpu.reduce((s, v) => s + v, 0) / gpu.length;
    expect(Math.abs(mean)).toBeLessThan(0.1);
  });
});

describe('memory', () => {
  it('stays flat over 100 steps of a small MLP trained by hand-written SGD', async () => {
    wg.seed(1);
    const w1 = wg.randn([16, 8]).mul(0.3);
    const b1 = wg.zeros([16]);
    const w2 = wg.randn([1, 16]).mul(0.3);
    const b2 = wg.zeros([1]);
    const params = [w1, b1, w2, b2];
    for (const p of params) p.requiresGrad = true;
    const x = wg.randn([32, 8]);
    const y = x.sum(1, true).mul(0.5).tanh();
    const step = () =>
      wg.scope(() => {
        const hidden = wg.F.linear(x, w1, b1).relu();
        const loss = wg.F.mseLoss(wg.F.linear(hidden, w2, b2), y);
        loss.backward();
        wg.noGrad(() => {
          for (const p of params) {
            p.assign(p.sub(p.grad!.mul(0.1)));
            p.grad!.dispose();
            p.grad = null;
          }
        });
        return loss.detach();
      });
    const counts: number[] = [];
    let first = 0;
    let last = 0;
    for (let i = 0; i < 100; i++) {
      const loss = step();
      if (i === 0) first = await loss.item();
      if (i === 99) last = await loss.item();
      loss.dispose();
      counts.push(wg.memory().tensors);
    }
    console.log(`mlp: loss ${first.toFixed(4)} -> ${last.toFixed(4)}, tensors ${counts[0]} .. ${counts[99]}, ${JSON.stringify(wg.memory())}`);
    expect(new Set(counts).size).toBe(1);
    expect(last).toBeLessThan(first * 0.5);
    const mem = wg.memory();
    expect(mem.bytesPooled).toBeGreaterThan(0); // freed buffers went back to the pool
  });

  for (const backend of ['webgpu', 'cpu'] as const) {
    it(`${backend}: write() refills a storage in place, after the ops recorded before it and before those after`, async () => {
      await withBackend(backend, async () => {
        const x = wg.tensor([1, 2, 3]);
        const before = x.mul(10); // recorded before the write: sees 1, 2, 3
        x.backend.write(x.storageFor('test'), new Float32Array([4, 5, 6]));
        const after = x.mul(10);
        expect(Array.from(await before.toArray())).toEqual([10, 20, 30]);
        expect(Array.from(await after.toArray())).toEqual([40, 50, 60]);
        expect(() => x.backend.write(x.storageFor('test'), new Float32Array(2))).toThrow(/write\(\) of 2 values into a storage of 3/);
        for (const t of [x, before, after]) t.dispose();
      });
    });
  }
});

describe('a lost device', () => {
  it('raises an error on the next op, never a hang', async () => {
    const x = wg.ones([4]);
    const { getBackend } = await import('../src/runtime');
    const gpu = getBackend('webgpu') as import('../src/backend/webgpu').WebGpuBackend;
    gpu.ctx.device.destroy();
    await new Promise((r) => setTimeout(r, 50));
    expect(() => x.add(1)).toThrow(/WebGPU device was lost/);
    await expect(x.toArray()).rejects.toThrow(/WebGPU device was lost/);
    // init gives a fresh device
    await wg.init({ backend: 'webgpu' });
    expect(Array.from(await wg.ones([2]).add(1).toArray())).toEqual([2, 2]);
  });
});
