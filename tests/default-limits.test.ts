// The weakest GPU: every GPU-vs-CPU case again on a device made with
// WebGPU's default limits only (init({ limits: 'default' }), as
// WGRAD_LIMITS=default does): 128 MiB per storage binding, 16 KiB of
// workgroup memory, 256 invocations per workgroup, 8 storage buffers.
import { describe, expect, it } from 'vitest';
import * as wg from '../src/node/index';
import { describeGpuCases } from './gpu-cases';

describeGpuCases("WebGPU vs CPU reference under WebGPU's default limits", { limits: 'default' });

describe('the device under default limits', () => {
  it('has the defaults, not the adapter\'s own', () => {
    const { limits } = wg.adapterInfo();
    expect(limits.maxStorageBufferBindingSize).toBe(128 * 2 ** 20);
    expect(limits.maxBufferSize).toBe(256 * 2 ** 20);
    expect(limits.maxComputeWorkgroupStorageSize).toBe(16384);
    expect(limits.maxComputeInvocationsPerWorkgroup).toBe(256);
    expect(limits.maxStorageBuffersPerShaderStage).toBe(8);
    // and the largest storage follows them
    expect(() => wg.zeros([2 ** 25 + 1])).toThrow(/zeros: \[33554433\] is 33554433 elements \(128 MiB\), more than one storage can hold here: 33554432 elements \(128 MiB, this adapter's maxStorageBufferBindingSize\)/);
  });
});
