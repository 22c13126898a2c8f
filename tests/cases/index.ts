// PLACEHOLDER — to be replaced by the real shared GPU cases (WebGPU vs the CPU
// reference). It exists only so the browser harness (tests/browser/) can be
// run end to end. Its cases check that this runtime hands out a WebGPU adapter
// (which proves the Chromium flags in playwright.config.ts), that a compute
// dispatch round-trips, and that the page can load ../../shaders/*.wgsl.

import type { Case, CaseResult } from './types';

const shaders = import.meta.glob('../../shaders/*.wgsl', { query: '?raw', import: 'default', eager: true }) as Record<string, string>;

let device: GPUDevice | undefined;
let adapterInfo = '';

export async function setupCases(): Promise<void> {
  // The real file calls wg.init({ backend: 'webgpu', seed: 0 }) here.
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu) throw new Error('navigator.gpu is missing');
  const adapter = await gpu.requestAdapter();
  if (!adapter) throw new Error('navigator.gpu.requestAdapter() returned null');
  adapterInfo = `${adapter.info.vendor} ${adapter.info.architecture} ${adapter.info.description}`.trim();
  device = await adapter.requestDevice();
}

function result(name: string, ok: boolean, maxAbs: number, maxRel: number, message?: string): CaseResult {
  return { name, ok, maxAbs, maxRel, message };
}

export const gpuCases: Case[] = [
  {
    name: 'placeholder: adapter and device',
    async run() {
      return result(this.name, device !== undefined, 0, 0, adapterInfo);
    },
  },
  {
    name: 'placeholder: compute round trip (y = 2x + 1, n = 1000)',
    async run() {
      const dev = device!;
      const n = 1000;
      const x = Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 10);
      const module = dev.createShaderModule({
        code: `@group(0) @binding(0) var<storage, read_write> a: array<f32>;
               @compute @workgroup_size(64) fn main(@builtin(global_invocation_id) id: vec3u) {
                 if (id.x < arrayLength(&a)) { a[id.x] = 2.0 * a[id.x] + 1.0; }
               }`,
      });
      const pipeline = await dev.createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint: 'main' } });
      const buf = dev.createBuffer({ size: n * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
      const read = dev.createBuffer({ size: n * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
      dev.queue.writeBuffer(buf, 0, x);
      const enc = dev.createCommandEncoder();
      const pass = enc.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, dev.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: buf } }] }));
      pass.dispatchWorkgroups(Math.ceil(n / 64));
      pass.end();
      enc.copyBufferToBuffer(buf, 0, read, 0, n * 4);
      dev.queue.submit([enc.finish()]);
      await read.mapAsync(GPUMapMode.READ);
      const y = new Float32Array(read.getMappedRange().slice(0));
      read.unmap();
      buf.destroy();
      read.destroy();
      let maxAbs = 0;
      let maxRel = 0;
      for (let i = 0; i < n; i++) {
        const want = 2 * x[i] + 1;
        const err = Math.abs(y[i] - want);
        maxAbs = Math.max(maxAbs, err);
        maxRel = Math.max(maxRel, err / Math.max(Math.abs(want), 1e-6));
      }
      return result(this.name, maxAbs <= 1e-5, maxAbs, maxRel);
    },
  },
  {
    name: 'placeholder: shaders/*.wgsl load through import.meta.glob',
    async run() {
      const files = Object.keys(shaders);
      const ok = files.length > 0 && files.every((f) => shaders[f].length > 0);
      return result(this.name, ok, 0, 0, `${files.length} files`);
    },
  },
];
