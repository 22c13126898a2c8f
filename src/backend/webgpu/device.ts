// Finding a GPU. The host hands one in: a page has navigator.gpu, and
// Node's host (src/node/dawn.ts) passes Dawn to wg.init() as its GPU
// provider. This file knows no host; it asks the provider for the GPU
// object, then for an adapter and a device.

/**
 * Where WebGPU comes from: a function giving the host's GPU object
 * (navigator.gpu in a browser, Dawn's in Node). It throws a NoWebGpuError,
 * saying why in words a user can act on, when the host has none.
 */
export interface GpuProvider {
  (): Promise<GPU>;
  /**
   * The host learns that GPU work has finished by polling on its main
   * thread while a promise of the GPU's is pending (Dawn's Node binding):
   * on a CPU adapter a readback then naps first, so the polling does not
   * take the cores the work runs on (read-pacer.ts).
   */
  pollsWhileWaiting?: boolean;
}

export interface GpuHandle {
  /** Held for the device's lifetime: in Node, Dawn's instance must outlive its device. */
  gpu: GPU;
  adapter: GPUAdapter;
  device: GPUDevice;
}

/** Why no GPU could be had, phrased for the user; thrown by init({ backend: 'webgpu' }), caught by 'auto'. */
export class NoWebGpuError extends Error {}

/** The browser's GPU: the provider init() uses when it is given none. */
export const browserGpu: GpuProvider = async () => {
  const gpu = typeof navigator !== 'undefined' ? (navigator as Navigator & { gpu?: GPU }).gpu : undefined;
  if (!gpu) {
    throw new NoWebGpuError(
      'WebGPU unavailable: navigator.gpu is missing. In a browser, use Chrome or Edge 113+, or Firefox/Safari with WebGPU enabled; ' +
        "in Node, import wgrad's Node entry (what `import 'wgrad'` resolves to there), which hands Dawn to init().",
    );
  }
  return gpu;
};

/**
 * Whether an adapter is a CPU implementation of WebGPU (SwiftShader,
 * llvmpipe/lavapipe, WARP): its kernels and the configs sized for it differ.
 */
export function softwareAdapter(info: { vendor: string; architecture: string; device: string; description: string }): boolean {
  return /swiftshader|llvmpipe|lavapipe|warp|software/i.test(`${info.vendor} ${info.architecture} ${info.device} ${info.description}`);
}

const OPTIONAL_FEATURES: GPUFeatureName[] = ['timestamp-query', 'subgroups' as GPUFeatureName];

/** A device from the provider's first adapter: with the adapter's own limits, or WebGPU's defaults ('default'). */
export async function requestGpu(limits: 'adapter' | 'default' = 'adapter', provider: GpuProvider = browserGpu): Promise<GpuHandle> {
  const gpu = await provider();
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) {
    throw new NoWebGpuError('WebGPU unavailable: the GPU gave no adapter (the driver or the browser may have blocked it; in Chrome, chrome://gpu says why).');
  }
  // Ask for the adapter's own limits on the sizes we care about, not the defaults.
  const wanted: (keyof GPUSupportedLimits)[] = [
    'maxStorageBufferBindingSize',
    'maxBufferSize',
    'maxComputeWorkgroupStorageSize',
    'maxComputeInvocationsPerWorkgroup',
    'maxComputeWorkgroupSizeX',
    'maxComputeWorkgroupSizeY',
    'maxStorageBuffersPerShaderStage',
  ];
  const requiredLimits: Record<string, number> = {};
  if (limits === 'adapter') for (const key of wanted) requiredLimits[key] = adapter.limits[key] as number;
  // Features the kernels use where present: GPU timestamps for the tuner's
  // clock, subgroup operations for the reductions, softmax and batchnorm.
  // With 'default' limits none are asked for, as the weakest adapter would
  // have none (so that run also tests the paths without them).
  const requiredFeatures = limits === 'adapter' ? OPTIONAL_FEATURES.filter((f) => adapter.features.has(f)) : [];
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
  return { gpu, adapter, device };
}
