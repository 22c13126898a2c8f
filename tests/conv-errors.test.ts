// The conv family's contract apart from the GPU-vs-CPU numbers (those are
// in tests/cases/conv.ts):
//   - bad input throws an Error that names the op, the shapes and the option
//     at fault, and a failed call leaves no tensor behind and changes nothing
//     (running buffers included);
//   - output sizes are PyTorch's, checked against sizes worked out by hand;
//   - a handful of values worked out by hand with PyTorch's semantics, on both
//     backends: a tiny conv and its gradients, a transposed conv of single
//     pixels (the kernel, scaled, at the stride positions), batchnorm's
//     running buffers (unbiased variance, momentum), pooling, groupNorm.
import { beforeAll, describe, expect, it } from 'vitest';
import * as wg from '../src/node/index';
import type { Tensor } from '../src/index';
import { withBackend, type BackendName } from '../src/runtime';

const F = wg.F;
const BACKENDS: BackendName[] = ['cpu', 'webgpu'];

beforeAll(async () => {
  await wg.init({ backend: 'webgpu', seed: 0 });
});

const shapeText = (s: number[]) => `[${s.join(', ')}]`;
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

interface Want {
  op: string;
  /** every one of these shapes must appear, as wgrad prints shapes: [2, 3, 8, 8] */
  shapes: number[][];
  /** the option (or argument) at fault */
  option: RegExp;
}

/**
 * `call` must throw an Error naming the op, the shapes and the option; and
 * must leave wg.memory().tensors where it was. The three "names" checks are
 * soft, so one run lists every message that misses something.
 */
function expectBadInput(call: () => unknown, want: Want): string {
  const before = wg.memory().tensors;
  let error: unknown;
  try {
    call();
  } catch (e) {
    error = e;
  }
  expect(error, 'throws an Error').toBeInstanceOf(Error);
  const message = (error as Error).message;
  expect.soft(message, 'names the op').toMatch(new RegExp(`\\b${escape(want.op)}\\b`));
  for (const s of want.shapes) expect.soft(message, `names the shape ${shapeText(s)}`).toContain(shapeText(s));
  expect.soft(message, 'names the option at fault').toMatch(want.option);
  expect(wg.memory().tensors, 'a failed call leaves no tensor behind').toBe(before);
  return message;
}

describe('conv2d: bad input', () => {
  it('input channels not divisible by groups', () => {
    const x = wg.zeros([2, 3, 8, 8]);
    const w = wg.zeros([4, 1, 3, 3]);
    expectBadInput(() => F.conv2d(x, w, null, { groups: 2 }), { op: 'conv2d', shapes: [[2, 3, 8, 8], [4, 1, 3, 3]], option: /groups\s*=?\s*2/ });
  });
  it('output channels not divisible by groups', () => {
    const x = wg.zeros([2, 4, 8, 8]);
    const w = wg.zeros([3, 2, 3, 3]);
    expectBadInput(() => F.conv2d(x, w, null, { groups: 2 }), { op: 'conv2d', shapes: [[2, 4, 8, 8], [3, 2, 3, 3]], option: /groups\s*=?\s*2/ });
  });
  it('weight / input channel mismatch', () => {
    const x = wg.zeros([2, 3, 8, 8]);
    const w = wg.zeros([4, 2, 3, 3]);
    expectBadInput(() => F.conv2d(x, w), { op: 'conv2d', shapes: [[2, 3, 8, 8], [4, 2, 3, 3]], option: /input channels/ });
    // and with groups: [4, 2, 3, 3] with groups 2 wants 4 input channels
    const x6 = wg.zeros([2, 6, 8, 8]);
    expectBadInput(() => F.conv2d(x6, w, null, { groups: 2 }), {
      op: 'conv2d',
      shapes: [[2, 6, 8, 8], [4, 2, 3, 3]],
      option: /groups\s*=?\s*2/,
    });
  });
  it('an output size below 1 (kernel larger than the padded input)', () => {
    const x = wg.zeros([1, 1, 2, 2]);
    const w = wg.zeros([1, 1, 3, 3]);
    expectBadInput(() => F.conv2d(x, w), { op: 'conv2d', shapes: [[1, 1, 2, 2], [1, 1, 3, 3]], option: /padding/ });
  });
  it('an output size below 1 (dilation)', () => {
    const x = wg.zeros([1, 1, 4, 4]);
    const w = wg.zeros([1, 1, 3, 3]);
    expectBadInput(() => F.conv2d(x, w, null, { dilation: 2 }), { op: 'conv2d', shapes: [[1, 1, 4, 4], [1, 1, 3, 3]], option: /dilat/ });
  });
  it("padding 'same' with stride > 1", () => {
    const x = wg.zeros([1, 1, 8, 8]);
    const w = wg.zeros([1, 1, 3, 3]);
    expectBadInput(() => F.conv2d(x, w, null, { padding: 'same', stride: 2 }), {
      op: 'conv2d',
      shapes: [[1, 1, 8, 8], [1, 1, 3, 3]],
      option: /same[\s\S]*stride|stride[\s\S]*same/,
    });
  });
  it('a non-4-D input or weight', () => {
    const x3 = wg.zeros([3, 8, 8]);
    const x4 = wg.zeros([1, 3, 8, 8]);
    const w3 = wg.zeros([4, 3, 3]);
    const w4 = wg.zeros([4, 3, 3, 3]);
    expectBadInput(() => F.conv2d(x3, w4), { op: 'conv2d', shapes: [[3, 8, 8]], option: /input.*4-D/ });
    expectBadInput(() => F.conv2d(x4, w3), { op: 'conv2d', shapes: [[4, 3, 3]], option: /weight.*4-D/ });
  });
  it('a bias of the wrong length', () => {
    const x = wg.zeros([1, 3, 8, 8]);
    const w = wg.zeros([4, 3, 3, 3]);
    const b = wg.zeros([3]);
    expectBadInput(() => F.conv2d(x, w, b), { op: 'conv2d', shapes: [[3]], option: /bias/ });
  });
});

describe('convTranspose2d: bad input', () => {
  it('input channels not divisible by groups', () => {
    const x = wg.zeros([2, 3, 4, 4]);
    const w = wg.zeros([3, 2, 3, 3]);
    expectBadInput(() => F.convTranspose2d(x, w, null, { groups: 2 }), {
      op: 'convTranspose2d',
      shapes: [[2, 3, 4, 4], [3, 2, 3, 3]],
      option: /groups\s*=?\s*2/,
    });
  });
  it('weight / input channel mismatch', () => {
    const x = wg.zeros([2, 3, 4, 4]);
    const w = wg.zeros([4, 2, 3, 3]);
    expectBadInput(() => F.convTranspose2d(x, w), { op: 'convTranspose2d', shapes: [[2, 3, 4, 4], [4, 2, 3, 3]], option: /input channels/ });
  });
  it('an output size below 1', () => {
    const x = wg.zeros([1, 1, 1, 1]);
    const w = wg.zeros([1, 2, 1, 1]);
    expectBadInput(() => F.convTranspose2d(x, w, null, { padding: 1 }), {
      op: 'convTranspose2d',
      shapes: [[1, 1, 1, 1], [1, 2, 1, 1]],
      option: /padding/,
    });
  });
  it('outputPadding not smaller than stride or dilation', () => {
    const x = wg.zeros([1, 2, 4, 4]);
    const w = wg.zeros([2, 3, 3, 3]);
    expectBadInput(() => F.convTranspose2d(x, w, null, { stride: 2, outputPadding: 2 }), {
      op: 'convTranspose2d',
      shapes: [[1, 2, 4, 4], [2, 3, 3, 3]],
      option: /outputPadding/,
    });
    // only the width at fault
    expectBadInput(() => F.convTranspose2d(x, w, null, { stride: [2, 1], outputPadding: [1, 1] }), {
      op: 'convTranspose2d',
      shapes: [[1, 2, 4, 4], [2, 3, 3, 3]],
      option: /outputPadding/,
    });
  });
  it('a non-4-D input', () => {
    const x = wg.zeros([2, 4, 4]);
    const w = wg.zeros([2, 3, 3, 3]);
    expectBadInput(() => F.convTranspose2d(x, w), {
      op: 'convTranspose2d',
      shapes: [[2, 4, 4]],
      option: /input.*4-D/,
    });
  });
});

describe('pooling and upsampling: bad input', () => {
  it('an output size below 1', () => {
    const x = wg.zeros([1, 1, 2, 2]);
    expectBadInput(() => F.maxPool2d(x, 3), { op: 'maxPool2d', shapes: [[1, 1, 2, 2]], option: /kernel/ });
    expectBadInput(() => F.avgPool2d(x, [1, 3]), { op: 'avgPool2d', shapes: [[1, 1, 2, 2]], option: /kernel/ });
  });
  it('padding more than half the kernel', () => {
    const x = wg.zeros([1, 1, 8, 8]);
    expectBadInput(() => F.maxPool2d(x, 2, { padding: 2 }), { op: 'maxPool2d', shapes: [[1, 1, 8, 8]], option: /padding/ });
  });
  it('a non-4-D input', () => {
    const x = wg.zeros([3, 8, 8]);
    expectBadInput(() => F.maxPool2d(x, 2), { op: 'maxPool2d', shapes: [[3, 8, 8]], option: /4-D/ });
    expectBadInput(() => F.avgPool2d(x, 2), { op: 'avgPool2d', shapes: [[3, 8, 8]], option: /4-D/ });
    expectBadInput(() => F.upsampleNearest(x, 2), { op: 'upsampleNearest', shapes: [[3, 8, 8]], option: /4-D/ });
  });
});

describe('batchNorm and groupNorm: bad input', () => {
  it('running buffers of the wrong length, and nothing changes', async () => {
    const x = wg.tensor(Array.from({ length: 4 * 3 * 5 * 5 }, (_, i) => Math.sin(i)), [4, 3, 5, 5], { requiresGrad: true });
    const w = wg.ones([3], { requiresGrad: true });
    const b = wg.zeros([3], { requiresGrad: true });
    const rm = wg.tensor([0.1, 0.2, 0.3], [3]);
    const rv = wg.tensor([1.5, 2.5, 3.5], [3]);
    const shortMean = wg.tensor([0.5, 0.5], [2]);
    const longVar = wg.tensor([1, 1, 1, 1], [4]);
    for (const training of [true, false]) {
      expectBadInput(() => F.batchNorm(x, shortMean, rv, w, b, { training }), {
        op: 'batchNorm',
        shapes: [[4, 3, 5, 5], [2]],
        option: /runningMean/,
      });
      expectBadInput(() => F.batchNorm(x, rm, longVar, w, b, { training }), {
        op: 'batchNorm',
        shapes: [[4, 3, 5, 5], [4]],
        option: /runningVar/,
      });
    }
    // the buffers given, right and wrong, are as they were
    expect(Array.from(await rm.toArray())).toEqual(Array.from(Float32Array.from([0.1, 0.2, 0.3])));
    expect(Array.from(await rv.toArray())).toEqual(Array.from(Float32Array.from([1.5, 2.5, 3.5])));
    expect(Array.from(await shortMean.toArray())).toEqual([0.5, 0.5]);
    expect(Array.from(await longVar.toArray())).toEqual([1, 1, 1, 1]);
    // and nothing was recorded for backward
    expect(x.grad).toBeNull();
    expect(w.grad).toBeNull();
  });
  it('weight or bias of the wrong length', async () => {
    const x = wg.zeros([2, 3, 4, 4]);
    const rm = wg.zeros([3]);
    const rv = wg.ones([3]);
    const w5 = wg.ones([5]);
    const b1 = wg.ones([1]);
    expectBadInput(() => F.batchNorm(x, rm, rv, w5, null, { training: true }), {
      op: 'batchNorm',
      shapes: [[2, 3, 4, 4], [5]],
      option: /weight/,
    });
    expectBadInput(() => F.batchNorm(x, rm, rv, null, b1, { training: true }), {
      op: 'batchNorm',
      shapes: [[2, 3, 4, 4], [1]],
      option: /bias/,
    });
    expect(Array.from(await rm.toArray())).toEqual([0, 0, 0]);
    expect(Array.from(await rv.toArray())).toEqual([1, 1, 1]);
  });
  it('training with one value per channel', async () => {
    const x = wg.zeros([1, 3, 1, 1]);
    const rm = wg.zeros([3]);
    const rv = wg.ones([3]);
    expectBadInput(() => F.batchNorm(x, rm, rv, null, null, { training: true }), { op: 'batchNorm', shapes: [[1, 3, 1, 1]], option: /training|value per channel/ });
    expect(Array.from(await rm.toArray())).toEqual([0, 0, 0]);
    expect(Array.from(await rv.toArray())).toEqual([1, 1, 1]);
  });
  it('an input with fewer than 2 dims', () => {
    const x = wg.zeros([5]);
    const rm = wg.zeros([5]);
    const rv = wg.ones([5]);
    expectBadInput(() => F.batchNorm(x, rm, rv, null, null, { training: true }), {
      op: 'batchNorm',
      shapes: [[5]],
      option: /input/,
    });
  });
  it('groupNorm: channels not divisible by groups, weight of the wrong length', () => {
    const x = wg.zeros([2, 6, 4, 4]);
    expectBadInput(() => F.groupNorm(x, 4), { op: 'groupNorm', shapes: [[2, 6, 4, 4]], option: /groups\s*=?\s*4/ });
    const w3 = wg.ones([3]);
    expectBadInput(() => F.groupNorm(x, 3, w3), { op: 'groupNorm', shapes: [[2, 6, 4, 4], [3]], option: /weight/ });
  });
});

describe("output sizes are PyTorch's", () => {
  const sizeOf = (make: () => Tensor): number[] => {
    const before = wg.memory().tensors;
    const shape = wg.scope(() => [...make().shape]);
    expect(wg.memory().tensors).toBe(before);
    return shape;
  };
  const conv = (x: number[], w: number[], o: Parameters<typeof F.conv2d>[3] = {}) =>
    sizeOf(() => F.conv2d(wg.zeros(x), wg.zeros(w), null, o));
  const tconv = (x: number[], w: number[], o: Parameters<typeof F.convTranspose2d>[3] = {}) =>
    sizeOf(() => F.convTranspose2d(wg.zeros(x), wg.zeros(w), null, o));

  it('conv2d', () => {
    expect(conv([1, 3, 32, 32], [8, 3, 4, 4], { stride: 2, padding: 1 })).toEqual([1, 8, 16, 16]); // DCGAN
    expect(conv([1, 1, 9, 7], [2, 1, 3, 3], { padding: 'same', dilation: 2 })).toEqual([1, 2, 9, 7]);
    expect(conv([1, 1, 7, 9], [2, 1, 4, 4], { padding: 'same' })).toEqual([1, 2, 7, 9]);
    expect(conv([1, 1, 5, 6], [2, 1, 3, 3], { padding: 'valid' })).toEqual([1, 2, 3, 4]);
    expect(conv([1, 1, 5, 6], [2, 1, 3, 3], { padding: 'full' })).toEqual([1, 2, 7, 8]);
    // floor((13 + 6 - 7) / 3) + 1 = 5, floor((10 + 2 - 7) / 3) + 1 = 2
    expect(conv([2, 3, 13, 10], [8, 3, 7, 7], { stride: 3, padding: [3, 1] })).toEqual([2, 8, 5, 2]);
    // dilated extent 5: floor((14 + 4 - 5) / 3) + 1 = 5, floor((13 + 4 - 5) / 3) + 1 = 5
    expect(conv([2, 3, 14, 13], [5, 3, 3, 3], { stride: 3, dilation: 2, padding: 2 })).toEqual([2, 5, 5, 5]);
    expect(conv([1, 4, 7, 7], [6, 2, 3, 3], { groups: 2 })).toEqual([1, 6, 5, 5]);
    expect(conv([1, 3, 7, 7], [5, 3, 7, 7])).toEqual([1, 5, 1, 1]);
  });
  it('convTranspose2d', () => {
    expect(tconv([1, 8, 4, 4], [8, 3, 4, 4], { stride: 2, padding: 1 })).toEqual([1, 3, 8, 8]); // DCGAN
    expect(tconv([1, 2, 5, 5], [2, 3, 3, 3], { stride: 2, padding: 1, outputPadding: 1 })).toEqual([1, 3, 10, 10]);
    expect(tconv([1, 8, 1, 1], [8, 4, 4, 4])).toEqual([1, 4, 4, 4]);
    // (6 - 1) - 2 + 2·2 + 1 = 8, (7 - 1) - 2 + 4 + 1 = 9
    expect(tconv([1, 3, 6, 7], [3, 4, 3, 3], { dilation: 2, padding: 1 })).toEqual([1, 4, 8, 9]);
    // (4 - 1)·3 + 3 + 2 = 14, (5 - 1)·3 + 3 + 2 = 17
    expect(tconv([1, 4, 4, 5], [4, 3, 3, 3], { stride: 3, outputPadding: 2 })).toEqual([1, 3, 14, 17]);
    expect(tconv([1, 4, 5, 6], [4, 3, 3, 3], { stride: 2, padding: 1, groups: 2 })).toEqual([1, 6, 9, 11]);
  });
  it('pooling and upsampling', () => {
    expect(sizeOf(() => F.maxPool2d(wg.zeros([1, 1, 7, 7]), 3, { stride: 2, padding: 1 }))).toEqual([1, 1, 4, 4]);
    expect(sizeOf(() => F.avgPool2d(wg.zeros([1, 1, 7, 7]), 3, { stride: 2, padding: 1 }))).toEqual([1, 1, 4, 4]);
    expect(sizeOf(() => F.maxPool2d(wg.zeros([1, 1, 7, 9]), [3, 2]))).toEqual([1, 1, 2, 4]);
    expect(sizeOf(() => F.maxPool2d(wg.zeros([1, 1, 7, 9]), 2))).toEqual([1, 1, 3, 4]);
    expect(sizeOf(() => F.upsampleNearest(wg.zeros([1, 2, 3, 5]), 3))).toEqual([1, 2, 9, 15]);
  });
});

// ---------------------------------------------------------------- values by hand
type Built = Record<string, Tensor | null>;

/** Runs `build` on one backend inside a scope and reads back every tensor it returns. */
async function runOn(backend: BackendName, build: () => Built): Promise<Record<string, number[]>> {
  const made = withBackend(backend, () => wg.scope(build));
  const out: Record<string, number[]> = {};
  try {
    for (const [k, t] of Object.entries(made)) out[k] = t ? Array.from(await t.toArray()) : [];
  } finally {
    for (const t of Object.values(made)) t?.dispose();
  }
  return out;
}

function expectClose(label: string, got: number[], want: number[], tol = 1e-5): void {
  expect(got.length, `${label}: length`).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    expect(Math.abs(got[i] - want[i]), `${label}[${i}]: got ${got[i]}, want ${want[i]}`).toBeLessThanOrEqual(tol * (1 + Math.abs(want[i])));
  }
}

describe.each(BACKENDS)('values by hand (%s)', (backend) => {
  it('a tiny conv2d and its gradients', async () => {
    // x = 1..9 in 3×3, w = [[1, 2], [3, 4]], bias 0.5
    const r = await runOn(backend, () => {
      const x = wg.tensor([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 3, 3], { requiresGrad: true });
      const w = wg.tensor([1, 2, 3, 4], [1, 1, 2, 2], { requiresGrad: true });
      const b = wg.tensor([0.5], [1], { requiresGrad: true });
      const y = F.conv2d(x, w, b);
      y.sum().backward();
      const padded = F.conv2d(x, w, null, { padding: 1 });
      const strided = F.conv2d(x, w, null, { stride: 2, padding: 1 });
      return { y, dx: x.grad, dw: w.grad, db: b.grad, padded, strided };
    });
    // y[i, j] = Σ x[i + a, j + b]·w[a, b] + 0.5
    expectClose('y', r.y, [37.5, 47.5, 67.5, 77.5]);
    // dx: how many times (and with which weight) each pixel is used
    expectClose('dx', r.dx, [1, 3, 2, 4, 10, 6, 3, 7, 4]);
    // dw[a, b] = Σ of the 2×2 block of x at (a, b)
    expectClose('dw', r.dw, [12, 16, 24, 28]);
    expectClose('db', r.db, [4]);
    // padding 1: 4×4; the corners see one pixel each (x[0,0]·w[1,1], x[2,2]·w[0,0])
    expect(r.padded[0]).toBeCloseTo(4, 5);
    expect(r.padded[15]).toBeCloseTo(9, 5);
    expect(r.padded[3]).toBeCloseTo(3 * 3, 5); // x[0, 2]·w[1, 0]
    // stride 2, padding 1: windows at rows/cols -1 and 1
    expectClose('strided', r.strided, [4, 2 * 3 + 3 * 4, 4 * 2 + 7 * 4, 5 + 12 + 24 + 36]);
  });

  it('grouped and depthwise conv2d keep the groups apart', async () => {
    const r = await runOn(backend, () => {
      const x = wg.tensor([1, 2, 3, 4, 10, 20, 30, 40], [1, 2, 2, 2]);
      // groups 2, 1×1: out channel 0 = 2·x0, out channel 1 = -1·x1
      const grouped = F.conv2d(x, wg.tensor([2, -1], [2, 1, 1, 1]), null, { groups: 2 });
      // groups 1, 1×1 with [1, 1]: the channels add up
      const summed = F.conv2d(x, wg.tensor([1, 1], [1, 2, 1, 1]));
      return { grouped, summed };
    });
    expectClose('grouped', r.grouped, [2, 4, 6, 8, -10, -20, -30, -40]);
    expectClose('summed', r.summed, [11, 22, 33, 44]);
  });

  it('a transposed conv of single pixels puts the scaled kernel at the stride positions', async () => {
    const K = [1, 2, 3, 4, 5, 6, 7, 8, 9];
    const r = await runOn(backend, () => {
      const w3 = wg.tensor(K, [1, 1, 3, 3], { requiresGrad: true });
      const one = F.convTranspose2d(wg.tensor([3], [1, 1, 1, 1]), w3);
      // two pixels, stride 3, kernel 2×2: non-overlapping copies with a zero column/row between
      const w2 = wg.tensor([1, 2, 3, 4], [1, 1, 2, 2]);
      const x2 = wg.tensor([2, 0, 0, -1], [1, 1, 2, 2], { requiresGrad: true });
      const spread = F.convTranspose2d(x2, w2, null, { stride: 3 });
      spread.sum().backward();
      // padding 1 crops one pixel off each side of that 5×5
      const cropped = F.convTranspose2d(wg.tensor([2, 0, 0, -1], [1, 1, 2, 2]), w2, null, { stride: 3, padding: 1 });
      // outputPadding 1 adds a last row and column that only the bias reaches
      const padded = F.convTranspose2d(wg.tensor([1], [1, 1, 1, 1]), w3, wg.tensor([0.5], [1]), { stride: 2, outputPadding: 1 });
      // two input channels: K0 + 2·K1
      const mixed = F.convTranspose2d(wg.tensor([1, 2], [1, 2, 1, 1]), wg.tensor([1, 0, 0, 1, 0, 1, 1, 0], [2, 1, 2, 2]));
      return { one, spread, dx2: x2.grad, cropped, padded, mixed };
    });
    expectClose('one pixel', r.one, K.map((k) => 3 * k));
    // prettier-ignore
    expectClose('spread', r.spread, [
      2, 4, 0, 0, 0,
      6, 8, 0, 0, 0,
      0, 0, 0, 0, 0,
      0, 0, 0, -1, -2,
      0, 0, 0, -3, -4,
    ]);
    // d(sum)/dx = sum of the kernel at every pixel
    expectClose('dx of spread', r.dx2, [10, 10, 10, 10]);
    expectClose('cropped', r.cropped, [8, 0, 0, 0, 0, 0, 0, 0, -1]);
    // prettier-ignore
    expectClose('outputPadding', r.padded, [
      1.5, 2.5, 3.5, 0.5,
      4.5, 5.5, 6.5, 0.5,
      7.5, 8.5, 9.5, 0.5,
      0.5, 0.5, 0.5, 0.5,
    ]);
    expectClose('two channels', r.mixed, [1, 2, 2, 1]);
  });

  it('batchNorm training: batch statistics, unbiased running variance, momentum', async () => {
    const r = await runOn(backend, () => {
      const x = wg.tensor([1, 2, 3, 4], [4, 1], { requiresGrad: true });
      const w = wg.tensor([2], [1], { requiresGrad: true });
      const b = wg.tensor([1], [1], { requiresGrad: true });
      const rm = wg.zeros([1]);
      const rv = wg.ones([1]);
      const y = F.batchNorm(x, rm, rv, w, b, { training: true, momentum: 0.1 });
      // weight the four outputs 1, 0, 0, 0: dbias = 1, dweight = x̂[0]
      y.mul(wg.tensor([1, 0, 0, 0], [4, 1])).sum().backward();
      const rm1 = rm.detach().mul(1);
      const rv1 = rv.detach().mul(1);
      // a second step with the same batch, 4-D this time: [2, 1, 1, 2] holds 1, 2, 3, 4 in one channel
      F.batchNorm(wg.tensor([1, 2, 3, 4], [2, 1, 1, 2]), rm, rv, null, null, { training: true, momentum: 0.1 });
      return { y, dx: x.grad, dw: w.grad, db: b.grad, rm1, rv1, rm2: rm, rv2: rv };
    });
    const sd = Math.sqrt(1.25 + 1e-5); // biased variance of 1..4 is 1.25
    const xhat = [1, 2, 3, 4].map((v) => (v - 2.5) / sd);
    expectClose('y', r.y, xhat.map((v) => 2 * v + 1));
    expectClose('running mean', r.rm1, [0.9 * 0 + 0.1 * 2.5]);
    expectClose('running var (unbiased: 5/3)', r.rv1, [0.9 * 1 + 0.1 * (5 / 3)]);
    expectClose('running mean after 2 steps', r.rm2, [0.9 * 0.25 + 0.1 * 2.5]);
    expectClose('running var after 2 steps', r.rv2, [0.9 * (0.9 + 0.1 * (5 / 3)) + 0.1 * (5 / 3)]);
    expectClose('dbias', r.db, [1]);
    expectClose('dweight', r.dw, [xhat[0]]);
    // dx = w/σ · (g - mean(g) - x̂·mean(g·x̂)), g = [1, 0, 0, 0]
    const meanG = 0.25;
    const meanGX = xhat[0] / 4;
    expectClose('dx', r.dx, [1, 0, 0, 0].map((g, i) => (2 / sd) * (g - meanG - xhat[i] * meanGX)));
  });

  it('batchNorm eval uses the running statistics and leaves them alone', async () => {
    const r = await runOn(backend, () => {
      const rm = wg.tensor([1, -1], [2]);
      const rv = wg.tensor([4, 0.25], [2]);
      const x = wg.tensor([1, 3, -1, 0], [2, 2]); // rows are samples: channel 0 = [1, -1], channel 1 = [3, 0]
      const y = F.batchNorm(x, rm, rv, wg.tensor([2, 1], [2]), wg.tensor([0.5, 0], [2]), { training: false });
      return { y, rm, rv };
    });
    const s0 = Math.sqrt(4 + 1e-5);
    const s1 = Math.sqrt(0.25 + 1e-5);
    expectClose('y', r.y, [0.5, (3 + 1) / s1, ((-1 - 1) / s0) * 2 + 0.5, 1 / s1]);
    expectClose('rm', r.rm, [1, -1]);
    expectClose('rv', r.rv, [4, 0.25]);
  });

  it('pooling, upsampling and groupNorm', async () => {
    const r = await runOn(backend, () => {
      const x = wg.tensor(Array.from({ length: 16 }, (_, i) => i), [1, 1, 4, 4], { requiresGrad: true });
      const mx = F.maxPool2d(x, 2);
      mx.sum().backward();
      // PyTorch's count_include_pad=True: a corner window of a 3×3 kernel with padding 1 averages 4 ones over 9
      const avg = F.avgPool2d(wg.ones([1, 1, 3, 3]), 3, { stride: 1, padding: 1 });
      const up = F.upsampleNearest(wg.tensor([1, 2, 3, 4], [1, 1, 2, 2]), 2);
      const g = wg.tensor([1, 3, 5, 7], [1, 2, 1, 2]);
      return { mx, dx: x.grad, avg, up, gn1: F.groupNorm(g, 1), gn2: F.groupNorm(g, 2) };
    });
    expectClose('maxPool2d', r.mx, [5, 7, 13, 15]);
    expectClose('maxPool2d grad', r.dx, [0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1]);
    expectClose('avgPool2d', r.avg, [4, 6, 4, 6, 9, 6, 4, 6, 4].map((v) => v / 9));
    expectClose('upsampleNearest', r.up, [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
    // one group: mean 4, biased var 5; two groups: each [-1, 1] over sqrt(1 + eps)
    expectClose('groupNorm 1', r.gn1, [1, 3, 5, 7].map((v) => (v - 4) / Math.sqrt(5 + 1e-5)));
    const u = 1 / Math.sqrt(1 + 1e-5);
    expectClose('groupNorm 2', r.gn2, [-u, u, -u, u]);
  });
});
