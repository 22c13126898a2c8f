// The CPU reference's convolution, pooling and batchnorm, checked against
// small hand-worked cases and central finite differences. Float64 throughout.

import { describe, expect, test } from 'vitest';
import type { Activation, ConvGeometry, NormGeometry, PoolGeometry, Storage } from '../src/backend/backend';
import { CpuBackend } from '../src/backend/cpu/index';

async function values(cpu: CpuBackend, x: Storage): Promise<number[]> {
  return Array.from(await cpu.read(x));
}

// Compare arrays elementwise: |actual - expected| <= abs + rel * |expected|.
function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rel = 1e-14, abs = 1e-14): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    expect(Math.abs(a - e), `element ${i}: got ${a}, expected ${e}`).toBeLessThanOrEqual(abs + rel * Math.abs(e));
  }
}

// mulberry32: small and seeded, so every run checks the same numbers.
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomArray(random: () => number, size: number, low = -1, high = 1): number[] {
  return Array.from({ length: size }, () => low + random() * (high - low));
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i]! * b[i]!;
  return sum;
}

// Central differences of a scalar function f at `point`, one coordinate at a time.
function numericGradient(f: (point: number[]) => number, point: number[], h: number): number[] {
  const grad: number[] = [];
  for (let i = 0; i < point.length; i++) {
    const up = point.slice();
    const down = point.slice();
    up[i] += h;
    down[i] -= h;
    grad.push((f(up) - f(down)) / (2 * h));
  }
  return grad;
}

// Check an analytic gradient against a numeric one, elementwise within
// abs + rel·|numeric|, and return the worst abs and rel errors for the table.
function compareGradient(
  label: string,
  analytic: ArrayLike<number>,
  numeric: ArrayLike<number>,
  rel: number,
  abs: number,
): { maxAbs: number; maxRel: number } {
  expect(analytic.length, `${label}: length`).toBe(numeric.length);
  let maxAbs = 0;
  let maxRel = 0;
  for (let i = 0; i < numeric.length; i++) {
    const a = analytic[i]!;
    const n = numeric[i]!;
    const error = Math.abs(a - n);
    maxAbs = Math.max(maxAbs, error);
    if (error > 0) maxRel = Math.max(maxRel, error / Math.max(Math.abs(n), Math.abs(a)));
    expect(error, `${label}[${i}]: analytic ${a}, numeric ${n}`).toBeLessThanOrEqual(abs + rel * Math.abs(n));
  }
  return { maxAbs, maxRel };
}

function report(op: string, name: string, errors: Record<string, { maxAbs: number; maxRel: number }>): void {
  const parts = Object.entries(errors).map(
    ([what, e]) => `${what}: max abs err ${e.maxAbs.toExponential(2)}, max rel err ${e.maxRel.toExponential(2)}`,
  );
  console.log(`${op} ${name}: ${parts.join('; ')}`);
}

// ---- convolution

interface ConvSpec {
  batch: number;
  inChannels: number;
  inH: number;
  inW: number;
  outChannels: number;
  kernel: [number, number];
  stride?: [number, number];
  /** top, left */
  pad?: [number, number];
  /** bottom, right (default: the same as top, left) */
  padEnd?: [number, number];
  dilation?: [number, number];
  groups?: number;
}

// The geometry with outH/outW computed the way a conv layer does:
// floor((in + padStart + padEnd - dilation·(kernel - 1) - 1) / stride) + 1.
function convGeometry(spec: ConvSpec): ConvGeometry {
  const [kernelH, kernelW] = spec.kernel;
  const [strideH, strideW] = spec.stride ?? [1, 1];
  const [padH, padW] = spec.pad ?? [0, 0];
  const [padBottom, padRight] = spec.padEnd ?? [padH, padW];
  const [dilationH, dilationW] = spec.dilation ?? [1, 1];
  const outH = Math.floor((spec.inH + padH + padBottom - dilationH * (kernelH - 1) - 1) / strideH) + 1;
  const outW = Math.floor((spec.inW + padW + padRight - dilationW * (kernelW - 1) - 1) / strideW) + 1;
  return {
    batch: spec.batch,
    inChannels: spec.inChannels,
    inH: spec.inH,
    inW: spec.inW,
    outChannels: spec.outChannels,
    outH,
    outW,
    kernelH,
    kernelW,
    strideH,
    strideW,
    padH,
    padW,
    dilationH,
    dilationW,
    groups: spec.groups ?? 1,
  };
}

function convSizes(geo: ConvGeometry): { x: number; w: number; y: number } {
  return {
    x: geo.batch * geo.inChannels * geo.inH * geo.inW,
    w: geo.outChannels * (geo.inChannels / geo.groups) * geo.kernelH * geo.kernelW,
    y: geo.batch * geo.outChannels * geo.outH * geo.outW,
  };
}

describe('conv2d on hand-worked cases', () => {
  test('1×1×3×3 input, one 2×2 kernel', async () => {
    const cpu = new CpuBackend();
    // x = [[1, 2, 3], [4, 5, 6], [7, 8, 9]], w = [[1, 2], [3, 4]]
    // y[i, j] = x[i, j] + 2·x[i, j+1] + 3·x[i+1, j] + 4·x[i+1, j+1]
    const geo = convGeometry({ batch: 1, inChannels: 1, inH: 3, inW: 3, outChannels: 1, kernel: [2, 2] });
    const x = cpu.fromArray([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const w = cpu.fromArray([1, 2, 3, 4]);
    expectClose(await values(cpu, cpu.conv2d(x, w, geo)), [37, 47, 67, 77]);
  });

  test('groups 2, stride 2, dilation 2, padding 1', async () => {
    const cpu = new CpuBackend();
    // Two 5×5 channels, x0[h, w] = 10h + w and x1[h, w] = 100 + 10h + w; one
    // output channel per group, so y0 sees only x0 and y1 only x1.
    // Output is 3×3: floor((5 + 2 - 2·1 - 1) / 2) + 1. Tap (a, b) of output
    // (i, j) reads row 2i - 1 + 2a, column 2j - 1 + 2b.
    const geo = convGeometry({
      batch: 1, inChannels: 2, inH: 5, inW: 5, outChannels: 2, kernel: [2, 2],
      stride: [2, 2], pad: [1, 1], dilation: [2, 2], groups: 2,
    });
    expect([geo.outH, geo.outW]).toEqual([3, 3]);
    const xData: number[] = [];
    for (let c = 0; c < 2; c++) {
      for (let h = 0; h < 5; h++) {
        for (let w = 0; w < 5; w++) xData.push(100 * c + 10 * h + w);
      }
    }
    // w0 = [[1, 0], [0, 1]]:  y0[i, j] = x0[2i-1, 2j-1] + x0[2i+1, 2j+1]
    // w1 = [[0, 2], [-1, 0]]: y1[i, j] = 2·x1[2i-1, 2j+1] - x1[2i+1, 2j-1]
    const w = cpu.fromArray([1, 0, 0, 1, 0, 2, -1, 0]);
    // prettier-ignore
    const expected = [
      // y0: e.g. (1, 1) = x0[1, 1] + x0[3, 3] = 11 + 33; (0, 2) reads x0[-1, 3] and x0[1, 5], both padding
      11, 13, 0,
      31, 44, 13,
      0, 31, 33,
      // y1: e.g. (1, 1) = 2·x1[1, 3] - x1[3, 1] = 226 - 131
      0, -111, -113,
      222, 95, -133,
      262, 266, 0,
    ];
    expectClose(await values(cpu, cpu.conv2d(cpu.fromArray(xData), w, geo)), expected);
  });

  test('stride (1, 2) and dilation (2, 1): H and W are not mixed up', async () => {
    const cpu = new CpuBackend();
    // x[h, w] = 10h + w on 4×5, w = [[1, 2], [3, 4]]; output (i, j) reads
    // rows i and i + 2, columns 2j and 2j + 1:
    // y[i, j] = x[i, 2j] + 2·x[i, 2j+1] + 3·x[i+2, 2j] + 4·x[i+2, 2j+1] = 100i + 20j + 146
    const geo = convGeometry({
      batch: 1, inChannels: 1, inH: 4, inW: 5, outChannels: 1, kernel: [2, 2], stride: [1, 2], dilation: [2, 1],
    });
    expect([geo.outH, geo.outW]).toEqual([2, 2]);
    const xData = Array.from({ length: 20 }, (_, k) => 10 * Math.floor(k / 5) + (k % 5));
    const y = cpu.conv2d(cpu.fromArray(xData), cpu.fromArray([1, 2, 3, 4]), geo);
    expectClose(await values(cpu, y), [146, 166, 246, 266]);
  });

  test('padH 1, padW 0', async () => {
    const cpu = new CpuBackend();
    // a 1×1 kernel of 2 over [[1, 2], [3, 4]], with a zero row above and below
    const geo = convGeometry({ batch: 1, inChannels: 1, inH: 2, inW: 2, outChannels: 1, kernel: [1, 1], pad: [1, 0] });
    const y = cpu.conv2d(cpu.fromArray([1, 2, 3, 4]), cpu.fromArray([2]), geo);
    expectClose(await values(cpu, y), [0, 0, 2, 4, 6, 8, 0, 0]);
  });

  test('conv2dInputGrad of a one-hot dy stamps the kernel (a transposed conv)', async () => {
    const cpu = new CpuBackend();
    // A 2×2 output from a 5×5 input, 3×3 kernel, stride 2, no padding:
    // dy = 1 at output (1, 0) puts a copy of w at rows 2..4, columns 0..2.
    const geo = convGeometry({ batch: 1, inChannels: 1, inH: 5, inW: 5, outChannels: 1, kernel: [3, 3], stride: [2, 2] });
    const dy = cpu.fromArray([0, 0, 1, 0]);
    const w = cpu.fromArray([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // prettier-ignore
    expectClose(await values(cpu, cpu.conv2dInputGrad(dy, w, geo)), [
      0, 0, 0, 0, 0,
      0, 0, 0, 0, 0,
      1, 2, 3, 0, 0,
      4, 5, 6, 0, 0,
      7, 8, 9, 0, 0,
    ]);
    // and overlapping stamps add: dy = 1 at (0, 0) and (0, 1) share column 2
    const both = await values(cpu, cpu.conv2dInputGrad(cpu.fromArray([1, 1, 0, 0]), w, geo));
    expectClose(both.slice(0, 5), [1, 2, 3 + 1, 2, 3]);
  });

  test('groups that do not divide the channels and storages of the wrong size are refused', () => {
    const cpu = new CpuBackend();
    const bad = convGeometry({ batch: 1, inChannels: 3, inH: 3, inW: 3, outChannels: 2, kernel: [1, 1], groups: 2 });
    expect(() => cpu.conv2d(cpu.full(27, 0), cpu.full(2, 0), bad)).toThrow(/groups = 2 must divide/);
    const geo = convGeometry({ batch: 1, inChannels: 1, inH: 3, inW: 3, outChannels: 1, kernel: [2, 2] });
    expect(() => cpu.conv2d(cpu.full(8, 0), cpu.full(4, 0), geo)).toThrow(/x has 8 elements, the geometry needs 9/);
  });
});

describe('conv2d gradients against central finite differences', () => {
  // Each case: L(x, w) = Σ p · conv2d(x, w) with a fixed random p, so
  // ∂L/∂x = conv2dInputGrad(p, w) and ∂L/∂w = conv2dWeightGrad(x, p).
  const cases: { name: string; spec: ConvSpec }[] = [
    { name: '1×1 kernel', spec: { batch: 1, inChannels: 3, inH: 5, inW: 5, outChannels: 2, kernel: [1, 1] } },
    { name: '1×1 kernel, stride 3', spec: { batch: 2, inChannels: 2, inH: 7, inW: 5, outChannels: 3, kernel: [1, 1], stride: [3, 3] } },
    { name: '3×3 s1 p1, batch 2', spec: { batch: 2, inChannels: 2, inH: 5, inW: 7, outChannels: 3, kernel: [3, 3], pad: [1, 1] } },
    { name: '3×3 s3 p0, unused edge', spec: { batch: 1, inChannels: 2, inH: 10, inW: 11, outChannels: 2, kernel: [3, 3], stride: [3, 3] } },
    { name: '4×4 s2 p1, odd size', spec: { batch: 1, inChannels: 2, inH: 9, inW: 9, outChannels: 2, kernel: [4, 4], stride: [2, 2], pad: [1, 1] } },
    { name: "4×4 s1 'same' (pad 1 top/left, 2 bottom/right)", spec: { batch: 1, inChannels: 2, inH: 6, inW: 5, outChannels: 2, kernel: [4, 4], pad: [1, 1], padEnd: [2, 2] } },
    { name: '7×7 s1 p3', spec: { batch: 1, inChannels: 2, inH: 9, inW: 9, outChannels: 2, kernel: [7, 7], pad: [3, 3] } },
    { name: '7×7 s2 p3, batch 2', spec: { batch: 2, inChannels: 1, inH: 11, inW: 9, outChannels: 2, kernel: [7, 7], stride: [2, 2], pad: [3, 3] } },
    { name: '3×3 dilation 2 p2', spec: { batch: 1, inChannels: 2, inH: 7, inW: 9, outChannels: 2, kernel: [3, 3], pad: [2, 2], dilation: [2, 2] } },
    { name: '3×3 dilation 2, stride 2, p1', spec: { batch: 2, inChannels: 2, inH: 9, inW: 8, outChannels: 3, kernel: [3, 3], stride: [2, 2], pad: [1, 1], dilation: [2, 2] } },
    { name: 'groups 2, 3×3 s2 p1', spec: { batch: 2, inChannels: 4, inH: 7, inW: 7, outChannels: 6, kernel: [3, 3], stride: [2, 2], pad: [1, 1], groups: 2 } },
    { name: 'depthwise (groups = C), 3×3 p1', spec: { batch: 2, inChannels: 3, inH: 5, inW: 5, outChannels: 3, kernel: [3, 3], pad: [1, 1], groups: 3 } },
    { name: 'depthwise ×2 (O = 2C), 3×3 s2 p1', spec: { batch: 1, inChannels: 3, inH: 7, inW: 6, outChannels: 6, kernel: [3, 3], stride: [2, 2], pad: [1, 1], groups: 3 } },
    { name: '3×5 kernel, stride (1, 2), padH 2 ≠ padW 0', spec: { batch: 1, inChannels: 2, inH: 6, inW: 11, outChannels: 2, kernel: [3, 5], stride: [1, 2], pad: [2, 0] } },
    { name: '2×3 kernel, stride (3, 1), dilation (1, 2), padH 0 ≠ padW 3', spec: { batch: 2, inChannels: 2, inH: 8, inW: 7, outChannels: 2, kernel: [2, 3], stride: [3, 1], pad: [0, 3], dilation: [1, 2] } },
  ];
  const h = 1e-3; // L is linear in each of x and w, so the difference is exact but for rounding
  const rel = 1e-6;
  const abs = 1e-9;

  for (const { name, spec } of cases) {
    test(name, async () => {
      const cpu = new CpuBackend();
      const geo = convGeometry(spec);
      const sizes = convSizes(geo);
      const random = prng(sizes.x * 7919 + sizes.w * 31 + sizes.y);
      const xData = randomArray(random, sizes.x);
      const wData = randomArray(random, sizes.w);
      const p = randomArray(random, sizes.y);

      const loss = (xs: number[], ws: number[]): number =>
        dot(cpu.readSync(cpu.conv2d(cpu.fromArray(xs), cpu.fromArray(ws), geo)), p);
      const dx = await values(cpu, cpu.conv2dInputGrad(cpu.fromArray(p), cpu.fromArray(wData), geo));
      const dw = await values(cpu, cpu.conv2dWeightGrad(cpu.fromArray(xData), cpu.fromArray(p), geo));
      const numericDx = numericGradient((xs) => loss(xs, wData), xData, h);
      const numericDw = numericGradient((ws) => loss(xData, ws), wData, h);

      const errors = {
        dx: compareGradient('dx', dx, numericDx, rel, abs),
        dw: compareGradient('dw', dw, numericDw, rel, abs),
      };
      report('conv2d', `${name} [out ${geo.outH}×${geo.outW}]`, errors);
    });
  }
});

describe('conv2dInputGrad is the adjoint of conv2d', () => {
  test('⟨conv2d(x, w), y⟩ = ⟨x, conv2dInputGrad(y, w)⟩, stride 2, uneven output', async () => {
    const cpu = new CpuBackend();
    // 10×7 input, 3×3 kernel, stride 2, padding (0, 1): out 4×4. Along H
    // the stride does not divide evenly: input row 9 is read by no window,
    // and inputs of 9 or 10 rows give the same 4 output rows (the choice a
    // transposed conv's output_padding makes).
    const geo = convGeometry({
      batch: 2, inChannels: 3, inH: 10, inW: 7, outChannels: 2, kernel: [3, 3], stride: [2, 2], pad: [0, 1],
    });
    expect([geo.outH, geo.outW]).toEqual([4, 4]);
    const sizes = convSizes(geo);
    const random = prng(20240601);
    const x = randomArray(random, sizes.x);
    const w = cpu.fromArray(randomArray(random, sizes.w));
    const y = randomArray(random, sizes.y);
    const left = dot(await values(cpu, cpu.conv2d(cpu.fromArray(x), w, geo)), y);
    const right = dot(x, await values(cpu, cpu.conv2dInputGrad(cpu.fromArray(y), w, geo)));
    const relError = Math.abs(left - right) / Math.abs(left);
    console.log(`conv2d adjoint: ⟨Ax, y⟩ = ${left}, ⟨x, Aᵀy⟩ = ${right}, rel err ${relError.toExponential(2)}`);
    expect(relError).toBeLessThan(1e-13);
  });
});

// ---- pooling

interface PoolSpec {
  batch: number;
  channels: number;
  inH: number;
  inW: number;
  kernel: [number, number];
  stride: [number, number];
  pad?: [number, number];
}

// outH/outW as PyTorch computes them with ceil_mode=False:
// floor((in + 2·pad - kernel) / stride) + 1.
function poolGeometry(spec: PoolSpec): PoolGeometry {
  const [kernelH, kernelW] = spec.kernel;
  const [strideH, strideW] = spec.stride;
  const [padH, padW] = spec.pad ?? [0, 0];
  return {
    batch: spec.batch,
    channels: spec.channels,
    inH: spec.inH,
    inW: spec.inW,
    outH: Math.floor((spec.inH + 2 * padH - kernelH) / strideH) + 1,
    outW: Math.floor((spec.inW + 2 * padW - kernelW) / strideW) + 1,
    kernelH,
    kernelW,
    strideH,
    strideW,
    padH,
    padW,
  };
}

describe('pooling on hand-worked cases', () => {
  test('max pool, overlapping 2×2 windows at stride 1, and its gradient', async () => {
    const cpu = new CpuBackend();
    // x = [[1, 5, 2], [3, 4, 9], [8, 0, 6]]
    const geo = poolGeometry({ batch: 1, channels: 1, inH: 3, inW: 3, kernel: [2, 2], stride: [1, 1] });
    const { out, argmax } = cpu.maxPool2d(cpu.fromArray([1, 5, 2, 3, 4, 9, 8, 0, 6]), geo);
    expectClose(await values(cpu, out), [5, 9, 8, 9]);
    expectClose(await values(cpu, argmax), [1, 5, 6, 5]);
    // the 9 at index 5 wins two windows, so it collects both their gradients
    const dx = cpu.maxPool2dGrad(cpu.fromArray([1, 2, 3, 4]), argmax, geo);
    expectClose(await values(cpu, dx), [0, 1, 0, 0, 0, 2 + 4, 3, 0, 0]);
  });

  test('max pool with padding: padding is never the max, even over negatives', async () => {
    const cpu = new CpuBackend();
    // x = [[-1, -2], [-3, -4]], 2×2 windows, stride 1, pad 1: a 3×3 output
    // whose corner windows hold one element each (and three of padding).
    const geo = poolGeometry({ batch: 1, channels: 1, inH: 2, inW: 2, kernel: [2, 2], stride: [1, 1], pad: [1, 1] });
    const { out, argmax } = cpu.maxPool2d(cpu.fromArray([-1, -2, -3, -4]), geo);
    expectClose(await values(cpu, out), [-1, -1, -2, -1, -1, -2, -3, -3, -4]);
    expectClose(await values(cpu, argmax), [0, 0, 1, 0, 0, 1, 2, 2, 3]);
  });

  test('max pool: ties go to the first in window order; argmax is within the plane', async () => {
    const cpu = new CpuBackend();
    // two planes (batch 1, channels 2) of 2×4, 2×2 windows at stride 2
    const geo = poolGeometry({ batch: 1, channels: 2, inH: 2, inW: 4, kernel: [2, 2], stride: [2, 2] });
    // prettier-ignore
    const x = cpu.fromArray([
      7, 7, 1, 2,
      7, 7, 3, 3,
      0, 1, 5, 4,
      1, 0, 5, 5,
    ]);
    const { out, argmax } = cpu.maxPool2d(x, geo);
    expectClose(await values(cpu, out), [7, 3, 1, 5]);
    // plane 0: the tie of 7s goes to (0, 0), of 3s to (1, 2); plane 1: 1 at (0, 1) before (1, 0)
    expectClose(await values(cpu, argmax), [0, 6, 1, 2]);
  });

  test('max pool propagates NaN, and refuses a window wholly in the padding', async () => {
    const cpu = new CpuBackend();
    const geo = poolGeometry({ batch: 1, channels: 1, inH: 2, inW: 2, kernel: [2, 2], stride: [2, 2] });
    const { out, argmax } = cpu.maxPool2d(cpu.fromArray([1, NaN, 3, NaN]), geo);
    expect((await values(cpu, out))[0]).toBeNaN();
    expectClose(await values(cpu, argmax), [1]);
    const allPadding = { ...geo, padH: 2, outH: 2 };
    expect(() => cpu.maxPool2d(cpu.fromArray([1, 2, 3, 4]), allPadding)).toThrow(/wholly in the padding/);
  });

  test('average pool, overlapping windows, and padding counted in the divisor', async () => {
    const cpu = new CpuBackend();
    const overlap = poolGeometry({ batch: 1, channels: 1, inH: 3, inW: 3, kernel: [2, 2], stride: [1, 1] });
    const x = cpu.fromArray([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expectClose(await values(cpu, cpu.avgPool2d(x, overlap)), [3, 4, 6, 7]);
    // its gradient: each element gets 1/4 of the dy of every window holding it
    // prettier-ignore
    expectClose(await values(cpu, cpu.avgPool2dGrad(cpu.fromArray([1, 1, 1, 1]), overlap)), [
      0.25, 0.5, 0.25,
      0.5, 1, 0.5,
      0.25, 0.5, 0.25,
    ]);

    // x = [[1, 2], [3, 4]], 2×2 windows at stride 2, pad 1: each window
    // holds one element and three of padding, and still divides by 4
    const padded = poolGeometry({ batch: 1, channels: 1, inH: 2, inW: 2, kernel: [2, 2], stride: [2, 2], pad: [1, 1] });
    expectClose(await values(cpu, cpu.avgPool2d(cpu.fromArray([1, 2, 3, 4]), padded)), [0.25, 0.5, 0.75, 1]);
    expectClose(await values(cpu, cpu.avgPool2dGrad(cpu.fromArray([4, 8, 12, 16]), padded)), [1, 2, 3, 4]);
  });
});

describe('pooling gradients against central finite differences', () => {
  const cases: { name: string; spec: PoolSpec }[] = [
    { name: '2×2 s2', spec: { batch: 2, channels: 2, inH: 6, inW: 6, kernel: [2, 2], stride: [2, 2] } },
    { name: '3×3 s1 p1 (overlap, padding)', spec: { batch: 1, channels: 2, inH: 5, inW: 6, kernel: [3, 3], stride: [1, 1], pad: [1, 1] } },
    { name: '3×3 s2 p1, odd size', spec: { batch: 2, channels: 1, inH: 7, inW: 9, kernel: [3, 3], stride: [2, 2], pad: [1, 1] } },
    { name: '2×3 kernel, stride (1, 2), padH 0 ≠ padW 1', spec: { batch: 1, channels: 3, inH: 5, inW: 7, kernel: [2, 3], stride: [1, 2], pad: [0, 1] } },
    { name: '3×3 s2, unused edge', spec: { batch: 1, channels: 2, inH: 8, inW: 8, kernel: [3, 3], stride: [2, 2] } },
  ];
  // Both are piecewise linear in x, so the differences are exact but for
  // rounding; max pool's step stays small next to the gaps between random
  // values, so that no window's argmax changes.
  const maxH = 1e-6;
  const avgH = 1e-3;
  const rel = 1e-6;
  const abs = 1e-9;

  for (const { name, spec } of cases) {
    test(name, async () => {
      const cpu = new CpuBackend();
      const geo = poolGeometry(spec);
      const inSize = geo.batch * geo.channels * geo.inH * geo.inW;
      const outSize = geo.batch * geo.channels * geo.outH * geo.outW;
      const random = prng(inSize * 131 + outSize);
      // distinct values (random float64s never tie), so the max is unique
      const xData = randomArray(random, inSize);
      const p = randomArray(random, outSize);

      const { argmax } = cpu.maxPool2d(cpu.fromArray(xData), geo);
      const maxDx = await values(cpu, cpu.maxPool2dGrad(cpu.fromArray(p), argmax, geo));
      const maxLoss = (xs: number[]): number => dot(cpu.readSync(cpu.maxPool2d(cpu.fromArray(xs), geo).out), p);

      const avgDx = await values(cpu, cpu.avgPool2dGrad(cpu.fromArray(p), geo));
      const avgLoss = (xs: number[]): number => dot(cpu.readSync(cpu.avgPool2d(cpu.fromArray(xs), geo)), p);

      const errors = {
        'max dx': compareGradient('max dx', maxDx, numericGradient(maxLoss, xData, maxH), rel, abs),
        'avg dx': compareGradient('avg dx', avgDx, numericGradient(avgLoss, xData, avgH), rel, abs),
      };
      report('pool', `${name} [out ${geo.outH}×${geo.outW}]`, errors);
    });
  }
});

// ---- batchnorm

describe('batchNorm', () => {
  test('with weight 1 and bias 0, each channel comes out with mean 0 and biased var 1', async () => {
    const cpu = new CpuBackend();
    const geo: NormGeometry = { batch: 3, channels: 2, spatial: 5 };
    const random = prng(7);
    // channel 0 far from 0 (where E[x²] - mean² would cancel), channel 1 wider
    const xData: number[] = [];
    for (let n = 0; n < 3; n++) {
      xData.push(...randomArray(random, 5, 995, 1005), ...randomArray(random, 5, -3, 1));
    }
    const eps = 1e-5;
    const { out, mean, var: variance } = cpu.batchNorm(cpu.fromArray(xData), cpu.full(2, 1), cpu.full(2, 0), geo, eps);
    const y = await values(cpu, out);
    const means = await values(cpu, mean);
    const variances = await values(cpu, variance);

    for (let c = 0; c < 2; c++) {
      const channel = [0, 1, 2].flatMap((n) => xData.slice((n * 2 + c) * 5, (n * 2 + c) * 5 + 5));
      const outChannel = [0, 1, 2].flatMap((n) => y.slice((n * 2 + c) * 5, (n * 2 + c) * 5 + 5));
      const expectedMean = channel.reduce((s, v) => s + v, 0) / 15;
      const expectedVar = channel.reduce((s, v) => s + (v - expectedMean) ** 2, 0) / 15;
      expectClose([means[c]!], [expectedMean], 1e-14, 0);
      expectClose([variances[c]!], [expectedVar], 1e-12, 0);

      const outMean = outChannel.reduce((s, v) => s + v, 0) / 15;
      const outVar = outChannel.reduce((s, v) => s + (v - outMean) ** 2, 0) / 15;
      console.log(`batchNorm channel ${c}: var ${expectedVar.toExponential(2)}, out mean ${outMean.toExponential(2)}, out var ${outVar}`);
      expect(Math.abs(outMean)).toBeLessThan(1e-12);
      // exactly var / (var + eps): eps is what keeps it from being 1
      expectClose([outVar], [expectedVar / (expectedVar + eps)], 1e-12, 0);
      expect(Math.abs(outVar - 1)).toBeLessThan(1e-4);
    }
  });

  test('weight and bias scale and shift', async () => {
    const cpu = new CpuBackend();
    // one channel of [1, 3]: mean 2, var 1, so x̂ = [-1, 1] (eps = 0)
    const geo: NormGeometry = { batch: 2, channels: 1, spatial: 1 };
    const { out } = cpu.batchNorm(cpu.fromArray([1, 3]), cpu.fromArray([3]), cpu.fromArray([0.5]), geo, 0);
    expectClose(await values(cpu, out), [-2.5, 3.5]);
  });

  const cases: { name: string; geo: NormGeometry; activation?: Activation }[] = [
    { name: 'N=2 C=3 S=4', geo: { batch: 2, channels: 3, spatial: 4 } },
    { name: 'N=5 C=2 S=1 (statistics over the batch only)', geo: { batch: 5, channels: 2, spatial: 1 } },
    { name: 'N=1 C=2 S=9 (statistics over space only)', geo: { batch: 1, channels: 2, spatial: 9 } },
    // an activation after it (what a fused kernel does): its derivative at the recomputed input
    { name: 'N=2 C=3 S=4, then tanh', geo: { batch: 2, channels: 3, spatial: 4 }, activation: { op: 'tanh', alpha: 0 } },
    { name: 'N=2 C=3 S=4, then silu', geo: { batch: 2, channels: 3, spatial: 4 }, activation: { op: 'silu', alpha: 0 } },
    { name: 'N=3 C=2 S=5, then leakyRelu 0.2', geo: { batch: 3, channels: 2, spatial: 5 }, activation: { op: 'leakyRelu', alpha: 0.2 } },
  ];
  const h = 1e-5;
  const rel = 1e-6;
  const abs = 1e-8;
  const eps = 1e-5;

  for (const { name, geo, activation = null } of cases) {
    test(`batchNormGrad against central finite differences, ${name}`, async () => {
      const cpu = new CpuBackend();
      const size = geo.batch * geo.channels * geo.spatial;
      const random = prng(size * 17 + geo.channels);
      const xData = randomArray(random, size, -2, 3);
      const weightData = randomArray(random, geo.channels, 0.5, 2);
      const biasData = randomArray(random, geo.channels);
      const p = randomArray(random, size);

      const loss = (xs: number[], ws: number[], bs: number[]): number =>
        dot(cpu.readSync(cpu.batchNorm(cpu.fromArray(xs), cpu.fromArray(ws), cpu.fromArray(bs), geo, eps, activation).out), p);

      const x = cpu.fromArray(xData);
      const weight = cpu.fromArray(weightData);
      const bias = cpu.fromArray(biasData);
      const { mean, var: variance } = cpu.batchNorm(x, weight, bias, geo, eps, activation);
      const grads = cpu.batchNormGrad(cpu.fromArray(p), x, mean, variance, weight, geo, eps, activation, bias);
      const dx = await values(cpu, grads.dx);

      const errors = {
        dx: compareGradient('dx', dx, numericGradient((xs) => loss(xs, weightData, biasData), xData, h), rel, abs),
        dweight: compareGradient(
          'dweight',
          await values(cpu, grads.dweight),
          numericGradient((ws) => loss(xData, ws, biasData), weightData, h),
          rel,
          abs,
        ),
        dbias: compareGradient(
          'dbias',
          await values(cpu, grads.dbias),
          numericGradient((bs) => loss(xData, weightData, bs), biasData, h),
          rel,
          abs,
        ),
      };
      report('batchNorm', name, errors);

      // dx sums to 0 over each channel: shifting a channel changes nothing
      for (let c = 0; c < geo.channels; c++) {
        let sum = 0;
        for (let n = 0; n < geo.batch; n++) {
          for (let s = 0; s < geo.spatial; s++) sum += dx[(n * geo.channels + c) * geo.spatial + s]!;
        }
        expect(Math.abs(sum)).toBeLessThan(1e-12);
      }
    });
  }
});

// ---- groupnorm

describe('groupNorm', () => {
  const cases: { name: string; geo: NormGeometry; groups: number; activation?: Activation }[] = [
    { name: 'N=2 C=6 S=4, 3 groups', geo: { batch: 2, channels: 6, spatial: 4 }, groups: 3 },
    { name: 'N=2 C=4 S=3, 1 group (layer norm over C and space)', geo: { batch: 2, channels: 4, spatial: 3 }, groups: 1 },
    { name: 'N=1 C=3 S=5, a group per channel (instance norm)', geo: { batch: 1, channels: 3, spatial: 5 }, groups: 3 },
    { name: 'N=2 C=4 S=3, 2 groups, then silu', geo: { batch: 2, channels: 4, spatial: 3 }, groups: 2, activation: { op: 'silu', alpha: 0 } },
    { name: 'N=2 C=4 S=3, 2 groups, then leakyRelu 0.2', geo: { batch: 2, channels: 4, spatial: 3 }, groups: 2, activation: { op: 'leakyRelu', alpha: 0.2 } },
  ];
  const h = 1e-5;
  const rel = 1e-6;
  const abs = 1e-8;
  const eps = 1e-5;

  for (const { name, geo, groups, activation = null } of cases) {
    test(`groupNormGrad against central finite differences, ${name}`, async () => {
      const cpu = new CpuBackend();
      const size = geo.batch * geo.channels * geo.spatial;
      const random = prng(size * 31 + groups);
      const xData = randomArray(random, size, -2, 3);
      const weightData = randomArray(random, geo.channels, 0.5, 2);
      const biasData = randomArray(random, geo.channels);
      const p = randomArray(random, size);
      const loss = (xs: number[], ws: number[], bs: number[]): number =>
        dot(cpu.readSync(cpu.groupNorm(cpu.fromArray(xs), cpu.fromArray(ws), cpu.fromArray(bs), geo, groups, eps, activation).out), p);
      const [x, weight, bias] = [cpu.fromArray(xData), cpu.fromArray(weightData), cpu.fromArray(biasData)];
      const { mean, var: variance } = cpu.groupNorm(x, weight, bias, geo, groups, eps);
      const grads = cpu.groupNormGrad(cpu.fromArray(p), x, mean, variance, weight, bias, geo, groups, eps, activation);
      const errors = {
        dx: compareGradient('dx', await values(cpu, grads.dx), numericGradient((xs) => loss(xs, weightData, biasData), xData, h), rel, abs),
        dweight: compareGradient('dweight', await values(cpu, grads.dweight), numericGradient((ws) => loss(xData, ws, biasData), weightData, h), rel, abs),
        dbias: compareGradient('dbias', await values(cpu, grads.dbias), numericGradient((bs) => loss(xData, weightData, bs), biasData, h), rel, abs),
      };
      report('groupNorm', name, errors);
      // the statistics are per sample and group: each group of the output has mean 0 and variance 1 before the affine
      const plain = cpu.readSync(cpu.groupNorm(x, null, null, geo, groups, eps).out);
      const per = (geo.channels / groups) * geo.spatial;
      for (let r = 0; r < geo.batch * groups; r++) {
        const row = Array.from(plain.slice(r * per, (r + 1) * per));
        const m = row.reduce((a, b) => a + b, 0) / per;
        expect(Math.abs(m)).toBeLessThan(1e-12);
        expect(Math.abs(row.reduce((a, b) => a + (b - m) ** 2, 0) / per - 1)).toBeLessThan(1e-3);
      }
    });
  }
});
