// The WebGPU-vs-CPU-reference harness shared by vitest (Node, Dawn) and
// Playwright (Chromium). A case names some inputs (shape + value range) and a
// function of tensors; run() builds the same float32 inputs on both backends,
// runs the function on each, pushes one random upstream gradient back through
// both, and compares the output and every input's gradient element by element:
//
//   ok  ⇔  |gpu - cpu| <= atol + rtol·|cpu|   for every compared number
//
// The CPU side computes in float64 from the same float32 input values, so the
// reported error is the GPU's float32 error (plus any bug).

import * as wg from '../../src/index';
import type { Tensor } from '../../src/index';
import { withBackend, type BackendName } from '../../src/runtime';
import type { Case, CaseResult } from './types';

export interface InputSpec {
  shape: number[];
  /** values are drawn uniformly from [low, high) (default [-1, 1)) */
  low?: number;
  high?: number;
  /** requiresGrad, and the gradient is compared (default true) */
  grad?: boolean;
  /** whole numbers in [low, high) (class indices); implies no grad unless grad is set */
  integers?: boolean;
}

export interface OpSpec {
  inputs: InputSpec[];
  fn: (...xs: Tensor[]) => Tensor;
  /** defaults 1e-4 and 1e-3 */
  atol?: number;
  rtol?: number;
}

export const DEFAULT_ATOL = 1e-4;
export const DEFAULT_RTOL = 1e-3;

/** mulberry32: a small, seeded PRNG of our own, independent of wg's stream. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a of the case name: each case gets its own, stable data. */
export function hashName(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function size(shape: readonly number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}

function fmt(x: number): string {
  return Number.isFinite(x) ? x.toExponential(2) : String(x);
}

/** Flat index → multi-index, for messages. */
function unravel(index: number, shape: readonly number[]): string {
  const at = new Array<number>(shape.length);
  let rest = index;
  for (let d = shape.length - 1; d >= 0; d--) {
    at[d] = rest % shape[d];
    rest = Math.floor(rest / shape[d]);
  }
  return `[${at.join(', ')}]`;
}

interface Side {
  outShape: number[];
  out: Float64Array;
  /** per input: its gradient, or null where it has none */
  grads: (Float64Array | null)[];
}

/** Runs the case on one backend: forward, backward with `upstream`, reads back, disposes. */
async function runOn(
  backend: BackendName,
  spec: OpSpec,
  data: Float32Array[],
  wantsGrad: boolean[],
  makeUpstream: (shape: number[]) => Float32Array,
): Promise<Side> {
  // Forward and backward in one synchronous scope: the scope disposes the
  // inputs and every intermediate, and lets the output and the gradients out
  // (leaf gradients are kept by autograd; we dispose them after reading).
  const made = withBackend(backend, () =>
    wg.scope(() => {
      const xs = spec.inputs.map((s, i) => wg.tensor(data[i], [...s.shape], { requiresGrad: wantsGrad[i] }));
      const out = spec.fn(...xs);
      let grads: (Tensor | null)[] = xs.map(() => null);
      if (out.requiresGrad) {
        const upstream = wg.tensor(makeUpstream(out.shape), [...out.shape]);
        out.backward(upstream);
        grads = xs.map((x) => x.grad);
      }
      return { out, grads };
    }),
  );
  try {
    const out = await made.out.toFloat64();
    const grads: (Float64Array | null)[] = [];
    for (const g of made.grads) grads.push(g ? await g.toFloat64() : null);
    return { outShape: [...made.out.shape], out, grads };
  } finally {
    made.out.dispose();
    for (const g of made.grads) g?.dispose();
  }
}

interface Comparison {
  maxAbs: number;
  maxRel: number;
  ok: boolean;
  /** how the worst element missed (or met) its tolerance */
  worst: string;
  /** the same, short (for a passing case's message) */
  brief: string;
  /** err / (atol + rtol·|cpu|) at the worst element: > 1 fails */
  worstRatio: number;
}

function compare(what: string, shape: number[], gpu: Float64Array, cpu: Float64Array, atol: number, rtol: number): Comparison {
  let maxAbs = 0;
  let maxRel = 0;
  let worstRatio = -1;
  let worstIndex = -1;
  let nonFinite = -1;
  for (let i = 0; i < cpu.length; i++) {
    const c = cpu[i];
    const g = gpu[i];
    if (!Number.isFinite(c) || !Number.isFinite(g)) {
      // NaN meets NaN and an infinity the same infinity (an op at its
      // domain's edge); anything else non-finite is a mismatch.
      const same = (Number.isNaN(c) && Number.isNaN(g)) || c === g;
      if (!same && nonFinite < 0) nonFinite = i;
      continue;
    }
    const err = Math.abs(g - c);
    maxAbs = Math.max(maxAbs, err);
    maxRel = Math.max(maxRel, err / Math.max(Math.abs(c), 1e-6));
    const ratio = err / (atol + rtol * Math.abs(c));
    if (ratio > worstRatio) {
      worstRatio = ratio;
      worstIndex = i;
    }
  }
  if (nonFinite >= 0) {
    return {
      maxAbs: NaN,
      maxRel: NaN,
      ok: false,
      worstRatio: Infinity,
      worst: `${what} ${JSON.stringify(shape)}: non-finite mismatch at ${unravel(nonFinite, shape)}: gpu=${gpu[nonFinite]} cpu=${cpu[nonFinite]}`,
      brief: `${what}: non-finite mismatch`,
    };
  }
  const ok = worstRatio <= 1;
  const at = worstIndex < 0 ? '-' : unravel(worstIndex, shape);
  const brief = `${what} at ${at}: ${worstRatio < 0 ? 0 : worstRatio.toFixed(3)}× tolerance`;
  const worst =
    worstIndex < 0
      ? `${what}: empty`
      : `${what} ${JSON.stringify(shape)}: worst at ${unravel(worstIndex, shape)} gpu=${gpu[worstIndex]} ` +
        `cpu=${cpu[worstIndex]} err=${fmt(Math.abs(gpu[worstIndex] - cpu[worstIndex]))} (${worstRatio.toFixed(2)}× tolerance)`;
  return { maxAbs, maxRel, ok, worst, brief, worstRatio };
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

/** A shared GPU check: `spec.fn` on WebGPU against the CPU reference, forward and backward. */
export function opCase(name: string, spec: OpSpec): Case {
  const atol = spec.atol ?? DEFAULT_ATOL;
  const rtol = spec.rtol ?? DEFAULT_RTOL;
  return {
    name,
    async run(): Promise<CaseResult> {
      const random = prng(hashName(name));
      const data = spec.inputs.map((s) => {
        const low = s.low ?? -1;
        const high = s.high ?? 1;
        const values = new Float32Array(size(s.shape));
        for (let i = 0; i < values.length; i++) {
          const u = low + random() * (high - low);
          values[i] = s.integers ? Math.min(Math.floor(u), high - 1) : u;
        }
        return values;
      });
      const wantsGrad = spec.inputs.map((s) => s.grad ?? !s.integers);
      // One upstream gradient, the same on both sides, drawn once the output shape is known.
      let upstream: Float32Array | null = null;
      const makeUpstream = (shape: number[]) => {
        if (!upstream || upstream.length !== size(shape)) {
          upstream = Float32Array.from({ length: size(shape) }, () => random() * 2 - 1);
        }
        return upstream;
      };

      const tensorsBefore = wg.memory().tensors;
      let cpu: Side;
      let gpu: Side;
      try {
        cpu = await runOn('cpu', spec, data, wantsGrad, makeUpstream);
      } catch (e) {
        return { name, ok: false, maxAbs: NaN, maxRel: NaN, message: `CPU reference threw: ${errorMessage(e)}` };
      }
      try {
        gpu = await runOn('webgpu', spec, data, wantsGrad, makeUpstream);
      } catch (e) {
        return { name, ok: false, maxAbs: NaN, maxRel: NaN, message: `WebGPU threw: ${errorMessage(e)}` };
      }
      const leaked = wg.memory().tensors - tensorsBefore;

      const problems: string[] = [];
      const results: Comparison[] = [];
      if (gpu.outShape.join() !== cpu.outShape.join()) {
        problems.push(`output shape: gpu ${JSON.stringify(gpu.outShape)} vs cpu ${JSON.stringify(cpu.outShape)}`);
      } else {
        results.push(compare('output', cpu.outShape, gpu.out, cpu.out, atol, rtol));
      }
      spec.inputs.forEach((s, i) => {
        const c = cpu.grads[i];
        const g = gpu.grads[i];
        if (!wantsGrad[i]) return;
        if (!c && !g) return; // e.g. an op with no gradient (eq)
        if (!c || !g) {
          problems.push(`grad of input ${i}: ${c ? 'missing' : 'present'} on gpu, ${c ? 'present' : 'missing'} on cpu`);
          return;
        }
        results.push(compare(`grad of input ${i}`, s.shape, g, c, atol, rtol));
      });
      if (leaked !== 0) problems.push(`${leaked} tensor(s) leaked (wg.memory().tensors before/after)`);

      const maxAbs = results.reduce((m, r) => (Number.isNaN(r.maxAbs) ? NaN : Math.max(m, r.maxAbs)), 0);
      const maxRel = results.reduce((m, r) => (Number.isNaN(r.maxRel) ? NaN : Math.max(m, r.maxRel)), 0);
      const failed = results.filter((r) => !r.ok);
      const ok = problems.length === 0 && failed.length === 0;
      let message: string;
      if (ok) {
        const worst = results.reduce((a, b) => (b.worstRatio > a.worstRatio ? b : a), results[0]);
        message = `${results.length} compared; closest: ${worst ? worst.brief : '-'}`;
      } else {
        message = [...problems, ...failed.map((r) => r.worst)].join('; ');
      }
      return { name, ok, maxAbs, maxRel, message };
    },
  };
}
