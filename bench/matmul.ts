// Matmul on the GPU: the tiled kernel (shaders/matmul.wgsl) under a few
// tile configurations, against the naive one-thread-per-output kernel
// (shaders/matmul_naive.wgsl), checked against the CPU reference first.
//
//   npm run bench -- [--sizes 256,512,1024] [--reps 3]
import { parseArgs } from 'node:util';
import * as wg from '../src/node/index';
import { getBackend, withBackend } from '../src/runtime';
import { matmulRaw } from '../src/ops/matmul';
import type { WebGpuBackend, GpuStorage } from '../src/backend/webgpu';

interface Variant {
  name: string;
  run: (a: GpuStorage, b: GpuStorage, out: GpuStorage, n: number) => void;
}

const { values } = parseArgs({
  options: { sizes: { type: 'string', default: '256,512,1024' }, reps: { type: 'string', default: '3' } },
});
const sizes = values.sizes.split(',').map(Number);
const reps = Number(values.reps);

await wg.init({ backend: 'webgpu', seed: 0 });
const gpu = getBackend('webgpu') as WebGpuBackend;
const ctx = gpu.ctx;

function tiled(wgX: number, wgY: number, tileK: number): Variant {
  return {
    name: `tiled ${wgX}x${wgY} threads, 4x4 each, k-tile ${tileK}`,
    run: (a, b, out, n) =>
      ctx.dispatch({
        shader: 'matmul', entry: 'matmul', overrides: { WG_X: wgX, WG_Y: wgY, TILE_K: tileK },
        params: { m: n, n, k: n, a_batch_stride: 0, b_batch_stride: 0 },
        buffers: { a: a.buffer, b: b.buffer, out: out.buffer },
        groups: [Math.ceil(n / (4 * wgX)), Math.ceil(n / (4 * wgY)), 1],
      }),
  };
}

const variants: Variant[] = [
  {
    name: 'naive, one thread per output',
    run: (a, b, out, n) =>
      ctx.dispatch({
        shader: 'matmul_naive', entry: 'matmul_naive', params: { m: n, n, k: n },
        buffers: { a: a.buffer, b: b.buffer, out: out.buffer }, groups: [Math.ceil(n / 16), Math.ceil(n / 16), 1],
      }),
  },
  tiled(16, 16, 16),
  tiled(8, 8, 16),
  tiled(8, 8, 8),
  tiled(16, 16, 8),
];

console.log(`adapter: ${wg.adapterInfo().description}`);
console.log('| n | kernel | ms (median) | GFLOP/s | max abs err vs CPU reference |');
console.log('|---|---|---|---|---|');
for (const n of sizes) {
  const a = wg.randn([n, n]);
  const b = wg.randn([n, n]);
  const sa = a.storageFor('bench') as GpuStorage;
  const sb = b.storageFor('bench') as GpuStorage;
  // Validate before timing: the CPU reference multiplies the same numbers in float64.
  const [av, bv] = [await a.toArray(), await b.toArray()];
  const reference = await withBackend('cpu', () => matmulRaw(wg.tensor(av, [n, n]), wg.tensor(bv, [n, n]), false, false)).toFloat64();
  for (const v of variants) {
    const out = gpu.full(n * n, 0) as GpuStorage;
    v.run(sa, sb, out, n);
    const result = await gpu.read(out);
    let err = 0;
    for (let i = 0; i < result.length; i++) err = Math.max(err, Math.abs(result[i] - reference[i]));
    const times: number[] = [];
    for (let r = 0; r < reps; r++) {
      const t0 = performance.now();
      v.run(sa, sb, out, n);
      await ctx.read(out.buffer, 1);
      times.push(performance.now() - t0);
    }
    times.sort((x, y) => x - y);
    const ms = times[Math.floor(times.length / 2)];
    console.log(`| ${n} | ${v.name} | ${ms.toFixed(1)} | ${((2 * n ** 3) / ms / 1e6).toFixed(3)} | ${err.toExponential(1)} |`);
    gpu.release(out);
  }
  a.dispose();
  b.dispose();
}
