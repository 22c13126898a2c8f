// The GPU-check harness (tests/cases/compare.ts) must catch what it is for:
// a wrong output, a wrong gradient, a wrong shape, a leaked tensor. Each case
// below makes the WebGPU side differ from the CPU side on purpose.
import { beforeAll, describe, expect, it } from 'vitest';
import * as wg from '../src/node/index';
import type { Tensor } from '../src/index';
import { opCase } from './cases/compare';

const onGpu = (t: Tensor) => t.backend.name === 'webgpu';

describe('compare harness', () => {
  beforeAll(async () => {
    await wg.init({ backend: 'webgpu', seed: 0 });
  });

  it('passes when both sides agree', async () => {
    const r = await opCase('agree', { inputs: [{ shape: [7, 33] }], fn: (t) => t.mul(2) }).run();
    expect(r.ok, r.message).toBe(true);
  });

  it('fails on a wrong output and names it', async () => {
    const r = await opCase('wrong output', { inputs: [{ shape: [7, 33] }], fn: (t) => (onGpu(t) ? t.mul(1.01) : t.mul(1)) }).run();
    expect(r.ok).toBe(false);
    expect(r.message).toMatch(/output \[7,33\]: worst at \[\d+, \d+\]/);
    expect(r.maxAbs).toBeGreaterThan(1e-3);
  });

  it('fails on a wrong gradient and names the input', async () => {
    // Same values on both sides; the GPU side's gradient is doubled.
    const r = await opCase('wrong grad', {
      inputs: [{ shape: [3] }, { shape: [7, 3] }],
      fn: (a, b) => (onGpu(a) ? b.add(a.mul(2).sub(a.detach())) : b.add(a)),
    }).run();
    expect(r.ok).toBe(false);
    expect(r.message).toMatch(/grad of input 0 \[3\]/);
    expect(r.message).not.toMatch(/grad of input 1/);
  });

  it('fails on a wrong shape', async () => {
    const r = await opCase('wrong shape', { inputs: [{ shape: [7, 3] }], fn: (t) => (onGpu(t) ? t.reshape([-1]) : t.mul(1)) }).run();
    expect(r.ok).toBe(false);
    expect(r.message).toMatch(/output shape/);
  });

  it('fails on a leaked tensor', async () => {
    let leaked: Tensor | null = null;
    const r = await opCase('leak', {
      inputs: [{ shape: [4] }],
      fn: (t) => {
        if (onGpu(t)) leaked = wg.keep(wg.zeros([1]));
        return t.exp();
      },
    }).run();
    (leaked as Tensor | null)?.dispose();
    expect(r.ok).toBe(false);
    expect(r.message).toMatch(/1 tensor\(s\) leaked/);
  });

  it('matches NaN with NaN, and fails NaN against a number', async () => {
    const both = await opCase('nan both', { inputs: [{ shape: [4], low: -2, high: -1, grad: false }], fn: (t) => t.sqrt() }).run();
    expect(both.ok, both.message).toBe(true);
    const one = await opCase('nan one side', {
      inputs: [{ shape: [4], low: -2, high: -1, grad: false }],
      fn: (t) => (onGpu(t) ? t.sqrt() : t.abs()),
    }).run();
    expect(one.ok).toBe(false);
    expect(one.message).toMatch(/non-finite mismatch/);
  });

  it('reports an exception from the GPU side', async () => {
    const r = await opCase('throws', {
      inputs: [{ shape: [4] }],
      fn: (t) => {
        if (onGpu(t)) throw new Error('boom');
        return t.exp();
      },
    }).run();
    expect(r.ok).toBe(false);
    expect(r.message).toMatch(/WebGPU threw: Error: boom/);
  });
});
