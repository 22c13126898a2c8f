// The CPU reference backend, checked against finite differences, known
// values and small hand-worked cases. Float64 throughout.

import { describe, expect, test } from 'vitest';
import type { Storage, UnaryOp } from '../src/backend/backend';
import { CpuBackend } from '../src/backend/cpu/index';
import { erf, erfc } from '../src/backend/cpu/special';

async function values(cpu: CpuBackend, x: Storage): Promise<number[]> {
  return Array.from(await cpu.read(x));
}

// Compare arrays elementwise: |actual - expected| <= abs + rel * |expected|.
// NaN must meet NaN; infinities must match exactly.
function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rel = 1e-14, abs = 1e-14): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (Number.isNaN(e) || !Number.isFinite(e)) {
      expect(a, `element ${i}`).toBe(e);
    } else {
      expect(Math.abs(a - e), `element ${i}: got ${a}, expected ${e}`).toBeLessThanOrEqual(abs + rel * Math.abs(e));
    }
  }
}

describe('unaryGrad against central finite differences', () => {
  // Points away from each op's kinks and outside its domain's edges.
  const anywhere = [-2.7, -1.3, -0.6, -0.15, 0.2, 0.7, 1.4, 2.9];
  const positive = [0.15, 0.5, 1.3, 2.9, 7.5];
  const cases: { op: UnaryOp; alpha?: number; beta?: number; points: number[] }[] = [
    { op: 'neg', points: anywhere },
    { op: 'exp', points: anywhere },
    { op: 'log', points: positive },
    { op: 'sqrt', points: positive },
    { op: 'abs', points: anywhere },
    { op: 'square', points: anywhere },
    { op: 'relu', points: anywhere },
    { op: 'leakyRelu', alpha: 0.1, points: anywhere },
    { op: 'tanh', points: anywhere },
    { op: 'sigmoid', points: anywhere },
    { op: 'silu', points: anywhere },
    { op: 'gelu', points: anywhere },
    { op: 'softplus', points: anywhere },
    { op: 'clamp', alpha: -1, beta: 1.5, points: anywhere },
    { op: 'clamp', alpha: -Infinity, beta: 0.5, points: anywhere },
    { op: 'addScalar', alpha: 0.7, points: anywhere },
    { op: 'mulScalar', alpha: -1.7, points: anywhere },
    { op: 'powScalar', alpha: 3, points: anywhere },
    { op: 'powScalar', alpha: 2.5, points: positive },
    { op: 'powScalar', alpha: -1.5, points: positive },
    { op: 'powScalar', alpha: 0, points: anywhere },
  ];
  const h = 1e-6;
  const rel = 1e-6;
  const abs = 1e-9;

  for (const { op, alpha = 0, beta = 0, points } of cases) {
    test(`${op}(alpha=${alpha}, beta=${beta})`, async () => {
      const cpu = new CpuBackend();
      // An upstream gradient that is not all ones, so that the product with g is checked.
      const g = points.map((_, i) => 0.8 + 0.3 * Math.cos(i));
      const grad = await values(cpu, cpu.unaryGrad(op, cpu.fromArray(points), cpu.fromArray(g), alpha, beta));
      const up = await values(cpu, cpu.unary(op, cpu.fromArray(points.map((x) => x + h)), alpha, beta));
      const down = await values(cpu, cpu.unary(op, cpu.fromArray(points.map((x) => x - h)), alpha, beta));

      let maxAbs = 0;
      let maxRel = 0;
      for (let i = 0; i < points.length; i++) {
        const numeric = ((up[i]! - down[i]!) / (2 * h)) * g[i]!;
        const error = Math.abs(grad[i]! - numeric);
        maxAbs = Math.max(maxAbs, error);
        maxRel = Math.max(maxRel, error / Math.max(Math.abs(numeric), 1e-300));
        expect(error, `${op} at x = ${points[i]}: analytic ${grad[i]}, numeric ${numeric}`).toBeLessThanOrEqual(
          abs + rel * Math.abs(numeric),
        );
      }
      console.log(`unaryGrad ${op}(alpha=${alpha}, beta=${beta}): max abs err ${maxAbs.toExponential(2)}, max rel err ${maxRel.toExponential(2)}`);
    });
  }
});

describe('unary values and derivatives at the kinks', () => {
  test('forward values', async () => {
    const cpu = new CpuBackend();
    const x = cpu.fromArray([-2, -0.5, 0, 0.5, 3]);
    expectClose(await values(cpu, cpu.unary('relu', x, 0, 0)), [0, 0, 0, 0.5, 3]);
    expectClose(await values(cpu, cpu.unary('leakyRelu', x, 0.1, 0)), [-0.2, -0.05, 0, 0.5, 3]);
    expectClose(await values(cpu, cpu.unary('clamp', x, -1, 1)), [-1, -0.5, 0, 0.5, 1]);
    expectClose(await values(cpu, cpu.unary('clamp', x, -Infinity, 0.25)), [-2, -0.5, 0, 0.25, 0.25]);
    expectClose(await values(cpu, cpu.unary('clamp', x, 0, Infinity)), [0, 0, 0, 0.5, 3]);
    expectClose(await values(cpu, cpu.unary('abs', x, 0, 0)), [2, 0.5, 0, 0.5, 3]);
    expectClose(await values(cpu, cpu.unary('addScalar', x, 1, 0)), [-1, 0.5, 1, 1.5, 4]);
    expectClose(await values(cpu, cpu.unary('mulScalar', x, -2, 0)), [4, 1, -0, -1, -6]);
  });

  test('sigmoid, softplus and tanh stay finite at large |x|', async () => {
    const cpu = new CpuBackend();
    const x = cpu.fromArray([-1000, 0, 1000]);
    expectClose(await values(cpu, cpu.unary('sigmoid', x, 0, 0)), [0, 0.5, 1]);
    expectClose(await values(cpu, cpu.unary('softplus', x, 0, 0)), [0, Math.LN2, 1000]);
    expectClose(await values(cpu, cpu.unary('tanh', x, 0, 0)), [-1, 0, 1]);
    expectClose(await values(cpu, cpu.unary('silu', x, 0, 0)), [-0, 0, 1000]);
  });

  test('powScalar sign rules', async () => {
    const cpu = new CpuBackend();
    const x = cpu.fromArray([-2, 0, 2, 1]);
    expectClose(await values(cpu, cpu.unary('powScalar', x, 3, 0)), [-8, 0, 8, 1]);
    expectClose(await values(cpu, cpu.unary('powScalar', x, 2, 0)), [4, 0, 4, 1]);
    expectClose(await values(cpu, cpu.unary('powScalar', x, 0.5, 0)), [NaN, 0, Math.SQRT2, 1]);
    expectClose(await values(cpu, cpu.unary('powScalar', x, 0, 0)), [1, 1, 1, 1]);
    expectClose(await values(cpu, cpu.unary('powScalar', x, -1, 0)), [-0.5, Infinity, 0.5, 1]);
    // C's pow (and so PyTorch) gives 1 ** NaN = 1, where JavaScript gives NaN
    expectClose(await values(cpu, cpu.unary('powScalar', x, NaN, 0)), [NaN, NaN, NaN, 1]);
  });

  test('derivatives at kinks follow PyTorch', async () => {
    const cpu = new CpuBackend();
    const zero = cpu.fromArray([0]);
    const g = cpu.fromArray([2]);
    expectClose(await values(cpu, cpu.unaryGrad('relu', zero, g, 0, 0)), [0]);
    expectClose(await values(cpu, cpu.unaryGrad('leakyRelu', zero, g, 0.1, 0)), [0.2]);
    expectClose(await values(cpu, cpu.unaryGrad('abs', zero, g, 0, 0)), [0]);
    expectClose(await values(cpu, cpu.unaryGrad('powScalar', zero, g, 0, 0)), [0]);
    expectClose(await values(cpu, cpu.unaryGrad('powScalar', zero, g, 2, 0)), [0]);
    // clamp passes the gradient on both edges (inclusive), none outside
    const edges = cpu.fromArray([-1.5, -1, 0, 1, 1.5]);
    const ones = cpu.full(5, 1);
    expectClose(await values(cpu, cpu.unaryGrad('clamp', edges, ones, -1, 1)), [0, 1, 1, 1, 0]);
  });
});

describe('erf and gelu', () => {
  test('erf at known values', () => {
    const known: [number, number][] = [
      [0, 0],
      [0.1, 0.1124629160182849],
      [0.5, 0.5204998778130465],
      [1, 0.8427007929497149],
      [1.9, 0.9927904292352575],
      [2, 0.9953222650189527],
      [2.1, 0.997020533343667],
      [3, 0.9999779095030014],
      [4, 0.9999999845827421],
      [-1, -0.8427007929497149],
      [Infinity, 1],
      [-Infinity, -1],
    ];
    let maxAbs = 0;
    for (const [x, expected] of known) {
      const error = Math.abs(erf(x) - expected);
      maxAbs = Math.max(maxAbs, error);
      expect(error, `erf(${x}) = ${erf(x)}, expected ${expected}`).toBeLessThanOrEqual(1e-15);
    }
    console.log(`erf: max abs err ${maxAbs.toExponential(2)} over ${known.length} known values`);
  });

  test('erfc keeps relative precision in the tail', () => {
    const known: [number, number][] = [
      [-1, 1.8427007929497148],
      [2.5, 0.0004069520174449589],
      [5, 1.537459794428035e-12],
      [10, 2.088487583762545e-45],
    ];
    for (const [x, expected] of known) {
      expect(Math.abs(erfc(x) - expected) / expected, `erfc(${x}) = ${erfc(x)}`).toBeLessThanOrEqual(1e-14);
    }
  });

  test('gelu at known values', async () => {
    const cpu = new CpuBackend();
    const x = cpu.fromArray([0, 0.5, 1, -1, 2, -10]);
    const expected = [0, 0.34573123063700656, 0.8413447460685429, -0.15865525393145705, 1.9544997361036416, -7.619853024160526e-23];
    expectClose(await values(cpu, cpu.unary('gelu', x, 0, 0)), expected, 1e-14, 0);
  });
});

describe('binary with broadcasting', () => {
  test('[2,3] with [1,3]', async () => {
    const cpu = new CpuBackend();
    const a = cpu.fromArray([1, 2, 3, 4, 5, 6]);
    const b = cpu.fromArray([10, 20, 30]);
    expectClose(await values(cpu, cpu.binary('add', a, [2, 3], b, [1, 3], [2, 3])), [11, 22, 33, 14, 25, 36]);
    expectClose(await values(cpu, cpu.binary('sub', b, [1, 3], a, [2, 3], [2, 3])), [9, 18, 27, 6, 15, 24]);
  });

  test('[2,1] with [1,3]', async () => {
    const cpu = new CpuBackend();
    const a = cpu.fromArray([1, 2]);
    const b = cpu.fromArray([10, 20, 30]);
    expectClose(await values(cpu, cpu.binary('mul', a, [2, 1], b, [1, 3], [2, 3])), [10, 20, 30, 20, 40, 60]);
    expectClose(await values(cpu, cpu.binary('div', a, [2, 1], b, [1, 3], [2, 3])), [0.1, 0.05, 1 / 30, 0.2, 0.1, 2 / 30]);
  });

  test('rank 4: [2,1,3,1] with [1,2,1,2]', async () => {
    const cpu = new CpuBackend();
    const aData = [1, 2, 3, 4, 5, 6];
    const bData = [0.5, 0.25, -1, -2];
    const out = await values(
      cpu,
      cpu.binary('sub', cpu.fromArray(aData), [2, 1, 3, 1], cpu.fromArray(bData), [1, 2, 1, 2], [2, 2, 3, 2]),
    );
    // out[i, j, k, l] = a[i, 0, k, 0] - b[0, j, 0, l], written out index by index
    const expected: number[] = [];
    for (let i = 0; i < 2; i++) {
      for (let j = 0; j < 2; j++) {
        for (let k = 0; k < 3; k++) {
          for (let l = 0; l < 2; l++) {
            expected.push(aData[i * 3 + k]! - bData[j * 2 + l]!);
          }
        }
      }
    }
    expectClose(out, expected);
  });

  test('rank 0 and empty shapes', async () => {
    const cpu = new CpuBackend();
    expectClose(await values(cpu, cpu.binary('mul', cpu.fromArray([3]), [], cpu.fromArray([4]), [], [])), [12]);
    const empty = cpu.fromArray([]);
    expectClose(await values(cpu, cpu.binary('add', empty, [2, 0], cpu.fromArray([1]), [1, 1], [2, 0])), []);
  });

  test('pow follows the sign rules of powScalar', async () => {
    const cpu = new CpuBackend();
    const a = cpu.fromArray([-2, -2, 0, 2, -8, 1, -3]);
    const b = cpu.fromArray([3, 0.5, 0, -1, 1 / 3, NaN, 2]);
    expectClose(await values(cpu, cpu.binary('pow', a, [7], b, [7], [7])), [-8, NaN, 1, 0.5, NaN, 1, 9]);
  });

  test('eq gives 1 or 0', async () => {
    const cpu = new CpuBackend();
    const a = cpu.fromArray([1, 2, 3, NaN, -0]);
    const b = cpu.fromArray([1, 0, 3, NaN, 0]);
    expectClose(await values(cpu, cpu.binary('eq', a, [5], b, [5], [5])), [1, 0, 1, 0, 1]);
    const row = cpu.fromArray([1, 2, 3]);
    const column = cpu.fromArray([2, 3]);
    expectClose(await values(cpu, cpu.binary('eq', column, [2, 1], row, [1, 3], [2, 3])), [0, 1, 0, 0, 0, 1]);
  });

  test('shapes that do not broadcast are refused', () => {
    const cpu = new CpuBackend();
    const a = cpu.fromArray([1, 2, 3, 4, 5, 6]);
    const b = cpu.fromArray([1, 2]);
    expect(() => cpu.binary('add', a, [2, 3], b, [1, 2], [2, 3])).toThrow(/does not broadcast/);
    expect(() => cpu.binary('add', a, [2, 3], b, [2], [2, 3])).toThrow(/rank/);
  });
});

describe('gather and scatter', () => {
  test('gather as a transpose', async () => {
    const cpu = new CpuBackend();
    const x = cpu.fromArray([0, 1, 2, 3, 4, 5]); // [2, 3]
    expectClose(await values(cpu, cpu.gather(x, [3, 2], [1, 3], 0)), [0, 3, 1, 4, 2, 5]);
  });

  test('gather as an expand (stride 0)', async () => {
    const cpu = new CpuBackend();
    const x = cpu.fromArray([1, 2, 3]);
    expectClose(await values(cpu, cpu.gather(x, [2, 3], [0, 1], 0)), [1, 2, 3, 1, 2, 3]);
    expectClose(await values(cpu, cpu.gather(x, [3, 2], [1, 0], 0)), [1, 1, 2, 2, 3, 3]);
  });

  test('gather as a slice with an offset and a step', async () => {
    const cpu = new CpuBackend();
    const x = cpu.fromArray(Array.from({ length: 20 }, (_, i) => i)); // [4, 5]
    // x[1:3, 1::2]: starts at row 1, column 1; rows 5 apart, columns 2 apart
    expectClose(await values(cpu, cpu.gather(x, [2, 2], [5, 2], 6)), [6, 8, 11, 13]);
  });

  test('gather of rank 0, of an empty shape, and out of range', async () => {
    const cpu = new CpuBackend();
    const x = cpu.fromArray([5, 6, 7, 8, 9]);
    expectClose(await values(cpu, cpu.gather(x, [], [], 3)), [8]);
    expectClose(await values(cpu, cpu.gather(x, [2, 0, 3], [3, 1, 1], 0)), []);
    expect(() => cpu.gather(x, [2, 3], [3, 1], 0)).toThrow(/reads x\[5\]/);
  });

  test('scatter into a padded buffer', async () => {
    const cpu = new CpuBackend();
    const dst = cpu.full(20, 0); // [4, 5]
    const x = cpu.fromArray([1, 2, 3, 4, 5, 6]); // [2, 3], lands at rows 1..2, columns 1..3
    cpu.scatter(x, [2, 3], dst, [5, 1], 6);
    // prettier-ignore
    expectClose(await values(cpu, dst), [
      0, 0, 0, 0, 0,
      0, 1, 2, 3, 0,
      0, 4, 5, 6, 0,
      0, 0, 0, 0, 0,
    ]);
  });

  test('scatter undoes gather for a strided slice; empty scatter writes nothing', async () => {
    const cpu = new CpuBackend();
    const dst = cpu.full(12, -1); // [3, 4]
    const x = cpu.fromArray([7, 8, 9]);
    cpu.scatter(x, [3], dst, [4], 2); // column 2
    expectClose(await values(cpu, cpu.gather(dst, [3], [4], 2)), [7, 8, 9]);
    cpu.scatter(cpu.fromArray([]), [0, 4], dst, [4, 1], 0);
    expectClose(await values(cpu, dst), [-1, -1, 7, -1, -1, -1, 8, -1, -1, -1, 9, -1]);
  });

  test('scatter refuses two writes to one place and writes out of range', () => {
    const cpu = new CpuBackend();
    const dst = cpu.full(4, 0);
    expect(() => cpu.scatter(cpu.fromArray([1, 2]), [2], dst, [0], 0)).toThrow(/two elements/);
    expect(() => cpu.scatter(cpu.fromArray([1, 2]), [2], dst, [1], 3)).toThrow(/writes dst\[4\]/);
  });
});

describe('reduce', () => {
  test('sum, max and min over rows', async () => {
    const cpu = new CpuBackend();
    const x = cpu.fromArray([1, 5, -2, 4, 0, 3]); // [2, 3]
    expectClose(await values(cpu, cpu.reduce('sum', x, 2, 3)), [4, 7]);
    expectClose(await values(cpu, cpu.reduce('max', x, 2, 3)), [5, 4]);
    expectClose(await values(cpu, cpu.reduce('min', x, 2, 3)), [-2, 0]);
  });

  test('empty rows give the identity; no rows give nothing', async () => {
    const cpu = new CpuBackend();
    const empty = cpu.fromArray([]);
    expectClose(await values(cpu, cpu.reduce('sum', empty, 3, 0)), [0, 0, 0]);
    expectClose(await values(cpu, cpu.reduce('max', empty, 3, 0)), [-Infinity, -Infinity, -Infinity]);
    expectClose(await values(cpu, cpu.reduce('min', empty, 3, 0)), [Infinity, Infinity, Infinity]);
    expectClose(await values(cpu, cpu.reduce('sum', empty, 0, 4)), []);
  });

  test('max and min propagate NaN', async () => {
    const cpu = new CpuBackend();
    const x = cpu.fromArray([1, NaN, 3, NaN, 2, 1]);
    expectClose(await values(cpu, cpu.reduce('max', x, 2, 3)), [NaN, NaN]);
    expectClose(await values(cpu, cpu.reduce('min', x, 2, 3)), [NaN, NaN]);
  });
});

describe('matmul', () => {
  // A = [[1, 2, 3], [4, 5, 6]] (2×3), B = [[7, 8], [9, 10], [11, 12]] (3×2)
  const A = [1, 2, 3, 4, 5, 6];
  const At = [1, 4, 2, 5, 3, 6];
  const B = [7, 8, 9, 10, 11, 12];
  const Bt = [7, 9, 11, 8, 10, 12];
  const AB = [58, 64, 139, 154];
  const single = { batch: 1, m: 2, n: 2, k: 3, aBatchStride: 6, bBatchStride: 6 };

  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      test(`transA=${transA} transB=${transB}`, async () => {
        const cpu = new CpuBackend();
        const a = cpu.fromArray(transA ? At : A);
        const b = cpu.fromArray(transB ? Bt : B);
        expectClose(await values(cpu, cpu.matmul(a, b, { ...single, transA, transB })), AB);
      });
    }
  }

  test('batched a with a shared b (bBatchStride 0)', async () => {
    const cpu = new CpuBackend();
    const a = cpu.fromArray([...A, ...A.map((v) => 2 * v)]);
    const b = cpu.fromArray(B);
    const args = { batch: 2, m: 2, n: 2, k: 3, transA: false, transB: false, aBatchStride: 6, bBatchStride: 0 };
    expectClose(await values(cpu, cpu.matmul(a, b, args)), [...AB, ...AB.map((v) => 2 * v)]);
  });

  test('shared transposed a (aBatchStride 0) with a batched transposed b', async () => {
    const cpu = new CpuBackend();
    const a = cpu.fromArray(At);
    const b = cpu.fromArray([...Bt, ...Bt.map((v) => -v), ...Bt.map((v) => 0.5 * v)]);
    const args = { batch: 3, m: 2, n: 2, k: 3, transA: true, transB: true, aBatchStride: 0, bBatchStride: 6 };
    expectClose(await values(cpu, cpu.matmul(a, b, args)), [...AB, ...AB.map((v) => -v), ...AB.map((v) => 0.5 * v)]);
  });

  test('k = 0 gives zeros; a too-short operand is refused', async () => {
    const cpu = new CpuBackend();
    const empty = cpu.fromArray([]);
    const args = { batch: 1, m: 2, n: 3, k: 0, transA: false, transB: false, aBatchStride: 0, bBatchStride: 0 };
    expectClose(await values(cpu, cpu.matmul(empty, empty, args)), [0, 0, 0, 0, 0, 0]);
    const a = cpu.fromArray(A);
    const args2 = { batch: 2, m: 2, n: 2, k: 3, transA: false, transB: false, aBatchStride: 6, bBatchStride: 0 };
    expect(() => cpu.matmul(a, cpu.fromArray(B), args2)).toThrow(/a has 6 elements, needs at least 12/);
  });
});

describe('softmax', () => {
  test('rows sum to 1 and log-softmax is the log of softmax', async () => {
    const cpu = new CpuBackend();
    const x = cpu.fromArray([1, 2, 3, -1, 0.5, 4, 0, 0, 0]); // [3, 3]
    const soft = await values(cpu, cpu.softmax(x, 3, 3, false));
    const logSoft = await values(cpu, cpu.softmax(x, 3, 3, true));
    for (let r = 0; r < 3; r++) {
      expect(Math.abs(soft[r * 3]! + soft[r * 3 + 1]! + soft[r * 3 + 2]! - 1)).toBeLessThan(1e-15);
    }
    expectClose(logSoft, soft.map(Math.log));
    const e = [Math.exp(1), Math.exp(2), Math.exp(3)];
    const total = e[0]! + e[1]! + e[2]!;
    expectClose(soft.slice(0, 3), e.map((v) => v / total));
    expectClose(soft.slice(6), [1 / 3, 1 / 3, 1 / 3]);
  });

  test('large logits neither overflow nor underflow to -Infinity', async () => {
    const cpu = new CpuBackend();
    const x = cpu.fromArray([1000, 1000, 0, -1000]); // [2, 2]
    expectClose(await values(cpu, cpu.softmax(x, 2, 2, false)), [0.5, 0.5, 1, 0]);
    expectClose(await values(cpu, cpu.softmax(x, 2, 2, true)), [-Math.LN2, -Math.LN2, 0, -1000]);
  });
});

describe('storage and memory accounting', () => {
  test('bytes in use, peak, and nothing pooled', async () => {
    const cpu = new CpuBackend();
    expect(cpu.memory()).toEqual({ bytesInUse: 0, bytesPooled: 0, peakBytes: 0 });
    const a = cpu.fromArray([1, 2, 3]);
    const b = cpu.full(5, 7);
    expect(cpu.memory()).toEqual({ bytesInUse: 64, bytesPooled: 0, peakBytes: 64 });
    const c = cpu.unary('neg', a, 0, 0);
    expect(cpu.memory().bytesInUse).toBe(88);
    cpu.release(b);
    expect(cpu.memory()).toEqual({ bytesInUse: 48, bytesPooled: 0, peakBytes: 88 });
    // scatter writes in place and makes nothing
    cpu.scatter(a, [3], c, [1], 0);
    expect(cpu.memory().bytesInUse).toBe(48);
    cpu.release(a);
    cpu.release(c);
    expect(cpu.memory()).toEqual({ bytesInUse: 0, bytesPooled: 0, peakBytes: 88 });
  });

  test('releasing twice and using after release are errors', async () => {
    const cpu = new CpuBackend();
    const a = cpu.fromArray([1, 2]);
    cpu.release(a);
    expect(() => cpu.release(a)).toThrow('cpu backend: storage released twice');
    await expect(cpu.read(a)).rejects.toThrow(/used after release/);
    expect(() => cpu.unary('exp', a, 0, 0)).toThrow(/used after release/);
  });

  test('fromArray and read copy', async () => {
    const cpu = new CpuBackend();
    const source = [1, 2, 3];
    const a = cpu.fromArray(source);
    source[0] = 100;
    const first = await cpu.read(a);
    expect(first).toBeInstanceOf(Float64Array);
    first[1] = 200;
    expectClose(await values(cpu, a), [1, 2, 3]);
    expect(cpu.name).toBe('cpu');
  });

  test('a storage from another backend is refused', () => {
    const one = new CpuBackend();
    const other = new CpuBackend();
    expect(() => one.unary('neg', other.fromArray([1]), 0, 0)).toThrow(/another backend/);
  });
});
