// The conv kernels at real layer shapes: forward, input gradient (dgrad)
// and weight gradient (wgrad), each validated against the CPU reference
// before it is timed.
//
//   npm run bench:conv -- [--reps 3] [--filter dcgan]
import { parseArgs } from 'node:util';
import * as wg from '../src/node/index';
import { getBackend } from '../src/runtime';
import type { Backend, ConvGeometry, Storage } from '../src/backend/backend';
import type { GpuStorage, WebGpuBackend } from '../src/backend/webgpu';
import { CONV_TILES, type ConvTileName } from '../src/backend/webgpu/conv';
import { normalArray } from '../src/random';

const { values } = parseArgs({
  options: {
    reps: { type: 'string', default: '3' },
    filter: { type: 'string', default: '' },
    tiles: { type: 'boolean', default: false }, // also sweep the tile table's configurations
  },
});
const reps = Number(values.reps);

interface Layer {
  name: string;
  geo: ConvGeometry;
}

function layer(name: string, batch: number, inC: number, outC: number, size: number, k: number, stride: number, pad: number): Layer {
  const out = Math.floor((size + 2 * pad - k) / stride) + 1;
  return {
    name,
    geo: {
      batch, inChannels: inC, inH: size, inW: size, outChannels: outC, outH: out, outW: out,
      kernelH: k, kernelW: k, strideH: stride, strideW: stride, padH: pad, padW: pad, dilationH: 1, dilationW: 1, groups: 1,
    },
  };
}

const layers: Layer[] = [
  layer('DCGAN 64x64 D layer: b16 128->256, 16x16->8x8, k4 s2 p1', 16, 128, 256, 16, 4, 2, 1),
  layer('U-Net 3x3: b8 64->64, 32x32, p1', 8, 64, 64, 32, 3, 1, 1),
].filter((l) => l.name.toLowerCase().includes(values.filter.toLowerCase()));

await wg.init({ backend: 'webgpu', seed: 0 });
const gpu = getBackend('webgpu') as WebGpuBackend;
const cpu = getBackend('cpu');

type Kernel = 'forward' | 'dgrad' | 'wgrad';
function run(be: Backend, kernel: Kernel, x: Storage, w: Storage, dy: Storage, geo: ConvGeometry): Storage {
  if (kernel === 'forward') return be.conv2d(x, w, geo);
  if (kernel === 'dgrad') return be.conv2dInputGrad(dy, w, geo);
  return be.conv2dWeightGrad(x, dy, geo);
}

console.log(`adapter: ${wg.adapterInfo().description}`);
console.log('| layer | kernel | ms (median) | GFLOP/s | max abs err | max rel err (vs largest) |');
console.log('|---|---|---|---|---|---|');
for (const { name, geo } of layers) {
  const xData = normalArray(geo.batch * geo.inChannels * geo.inH * geo.inW);
  const wData = normalArray(geo.outChannels * (geo.inChannels / geo.groups) * geo.kernelH * geo.kernelW, 0, 0.05);
  const dyData = normalArray(geo.batch * geo.outChannels * geo.outH * geo.outW);
  const flops = 2 * geo.batch * geo.outChannels * geo.outH * geo.outW * (geo.inChannels / geo.groups) * geo.kernelH * geo.kernelW;
  const g = [gpu.fromArray(xData), gpu.fromArray(wData), gpu.fromArray(dyData)];
  const c = [cpu.fromArray(xData), cpu.fromArray(wData), cpu.fromArray(dyData)];
  for (const kernel of ['forward', 'dgrad', 'wgrad'] as Kernel[]) {
    const expected = await cpu.read(run(cpu, kernel, c[0], c[1], c[2], geo));
    const outGpu = run(gpu, kernel, g[0], g[1], g[2], geo);
    const got = await gpu.read(outGpu);
    gpu.release(outGpu);
    let maxAbs = 0;
    let largest = 0;
    for (let i = 0; i < got.length; i++) {
      maxAbs = Math.max(maxAbs, Math.abs(got[i] - expected[i]));
      largest = Math.max(largest, Math.abs(expected[i]));
    }
    if (maxAbs > 1e-4 * Math.max(1, largest)) throw new Error(`${name} ${kernel}: GPU differs from the CPU reference by ${maxAbs}`);
    const times: number[] = [];
    for (let r = 0; r < reps; r++) {
      const t0 = performance.now();
      const out = run(gpu, kernel, g[0], g[1], g[2], geo);
      await gpu.ctx.read((out as GpuStorage).buffer, 1);
      times.push(performance.now() - t0);
      gpu.release(out);
    }
    times.sort((a, b) => a - b);
    const ms = times[Math.floor(times.length / 2)];
    console.log(`| ${name} | ${kernel} | ${ms.toFixed(1)} | ${(flops / ms / 1e6).toFixed(3)} | ${maxAbs.toExponential(1)} | ${(maxAbs / largest).toExponential(1)} |`);
  }
  for (const s of g) gpu.release(s);
}

// The tile sweep behind the table in src/backend/webgpu/conv.ts: the forward
// kernel at GEMM widths (output channels) 3, 17 and 64 under each tile.
if (values.tiles) {
  console.log('\n| forward conv | tile | ms (median) | GFLOP/s | max abs err |');
  console.log('|---|---|---|---|---|');
  const sweep = [
    layer('b8 64->3, 32x32, 3x3 p1 (RGB output)', 8, 64, 3, 32, 3, 1, 1),
    layer('b8 32->17, 16x16, 3x3 p1', 8, 32, 17, 16, 3, 1, 1),
    layer('b8 64->64, 16x16, 3x3 p1', 8, 64, 64, 16, 3, 1, 1),
  ];
  for (const { name, geo } of sweep) {
    const xData = normalArray(geo.batch * geo.inChannels * geo.inH * geo.inW);
    const wData = normalArray(geo.outChannels * geo.inChannels * geo.kernelH * geo.kernelW, 0, 0.05);
    const expected = await cpu.read(cpu.conv2d(cpu.fromArray(xData), cpu.fromArray(wData), geo));
    const flops = 2 * geo.batch * geo.outChannels * geo.outH * geo.outW * geo.inChannels * geo.kernelH * geo.kernelW;
    const x = gpu.fromArray(xData);
    const w = gpu.fromArray(wData);
    for (const tileName of Object.keys(CONV_TILES) as ConvTileName[]) {
      const tile = CONV_TILES[tileName];
      const first = gpu.conv('forward', x, w, geo, { tile: tileName });
      const got = await gpu.read(first);
      gpu.release(first);
      let maxAbs = 0;
      for (let i = 0; i < got.length; i++) maxAbs = Math.max(maxAbs, Math.abs(got[i] - expected[i]));
      if (maxAbs > 1e-4) throw new Error(`${name} ${tileName}: GPU differs from the CPU reference by ${maxAbs}`);
      const times: number[] = [];
      for (let r = 0; r < reps; r++) {
        const t0 = performance.now();
        const out = gpu.conv('forward', x, w, geo, { tile: tileName });
        await gpu.ctx.read((out as GpuStorage).buffer, 1);
        times.push(performance.now() - t0);
        gpu.release(out);
      }
      times.sort((a, b) => a - b);
      const ms = times[Math.floor(times.length / 2)];
      console.log(`| ${name} | ${tileName} ${tile.WG_X}x${tile.WG_Y} | ${ms.toFixed(1)} | ${(flops / ms / 1e6).toFixed(3)} | ${maxAbs.toExponential(1)} |`);
    }
    gpu.release(x);
    gpu.release(w);
  }
}
