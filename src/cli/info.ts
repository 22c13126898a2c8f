// `wgrad info`: which backend and adapter wgrad got, the device limits that
// matter to it, and one matmul on the GPU checked against the CPU reference,
// with its speed.
import * as wg from '../node/index';
import { getBackend, withBackend } from '../runtime';
import { matmulRaw } from '../ops/matmul';
import { Tensor } from '../tensor';
import type { WebGpuBackend } from '../backend/webgpu';

function formatBytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(n % 2 ** 30 ? 1 : 0)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(0)} MiB`;
  if (n >= 2 ** 10) return `${(n / 2 ** 10).toFixed(0)} KiB`;
  return `${n} B`;
}

/** Median seconds of `fn` over `reps` runs after one warm-up; fn must end with its work finished. */
async function timeIt(fn: () => Promise<void>, reps: number): Promise<number> {
  await fn();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    times.push((performance.now() - t0) / 1000);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

export async function info(options: { size: number; backend: 'auto' | 'webgpu' | 'cpu' }): Promise<boolean> {
  const name = await wg.init({ backend: options.backend, seed: 0 });
  const adapter = wg.adapterInfo();
  const line = (label: string, text: string) => console.log(`${label.padEnd(10)}${text}`);
  console.log(`wgrad — ${name === 'webgpu' ? 'WebGPU' : 'CPU reference'} backend`);
  line('adapter', `${adapter.vendor} ${adapter.architecture} (${adapter.description || adapter.device})`);
  for (const [key, value] of Object.entries(adapter.limits)) {
    line('', `${key.padEnd(36)}${key.endsWith('Size') ? formatBytes(value) : value}`);
  }
  if (name === 'webgpu') {
    const gpu = getBackend('webgpu') as WebGpuBackend;
    const features = ['timestamp-query', 'subgroups'].filter((f) => gpu.ctx.device.features.has(f as GPUFeatureName));
    line('features', `${features.join(', ') || 'none of timestamp-query, subgroups'}${gpu.subgroups ? ' (subgroup kernels in use)' : ''}`);
    const tuned = gpu.tuner.known.length;
    line('tuning', `${gpu.tuner.mode}: ${tuned ? `${tuned} kernel shapes tuned for this adapter` : 'no tuned shapes yet (`wgrad tune` makes them)'}`);
  }

  const n = options.size;
  const a = wg.randn([n, n]);
  const b = wg.randn([n, n]);
  const [av, bv] = [await a.toArray(), await b.toArray()];

  // The reference: the same numbers, multiplied in float64 by the CPU backend.
  const expected = await withBackend('cpu', () => {
    const cpu = getBackend('cpu');
    return matmulRaw(new Tensor(cpu.fromArray(av), [n, n]), new Tensor(cpu.fromArray(bv), [n, n]), false, false);
  }).toFloat64();
  const product = a.matmul(b);
  const got = await product.toArray();
  let maxAbs = 0;
  let maxRef = 0;
  for (let i = 0; i < got.length; i++) {
    maxAbs = Math.max(maxAbs, Math.abs(got[i] - expected[i]));
    maxRef = Math.max(maxRef, Math.abs(expected[i]));
  }
  // float32 sums of n rounded terms drift like sqrt(n) · 2^-24 · max value; allow ~16x that.
  const tolerance = 1e-6 * Math.sqrt(n) * maxRef;
  const ok = maxAbs <= tolerance;
  line('matmul', `${n}×${n} @ ${n}×${n}: max |${name} - cpu reference| = ${maxAbs.toExponential(2)} ` +
    `(largest value ${maxRef.toFixed(1)}, tolerance ${tolerance.toExponential(1)}) ${ok ? 'ok' : 'MISMATCH'}`);

  const seconds = await timeIt(async () => {
    const c = a.matmul(b);
    await c.slice(0, 0, 1).slice(1, 0, 1).toArray(); // a one-number readback waits for the product
    c.dispose();
  }, 5);
  line('', `${(seconds * 1000).toFixed(1)} ms → ${((2 * n ** 3) / seconds / 1e9).toFixed(2)} GFLOP/s (median of 5)`);
  return ok;
}
