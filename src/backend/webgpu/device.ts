// Finding a GPU. In the browser it is navigator.gpu. In Node it is Dawn,
// from the npm package `webgpu`. On Linux without a GPU driver Dawn finds no
// adapter; Debian's chromium package ships SwiftShader, a Vulkan driver on
// the CPU, and pointing VK_ICD_FILENAMES at it before asking again is enough.

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

export interface GpuHandle {
  /** Held for the device's lifetime: in Node, Dawn's instance must outlive its device. */
  gpu: GPU;
  adapter: GPUAdapter;
  device: GPUDevice;
}

interface DawnModule {
  create(flags: string[]): GPU;
  globals: Record<string, unknown>;
}

const isNode = typeof process !== 'undefined' && !!process.versions?.node && typeof window === 'undefined';

/** Why no GPU could be had, phrased for the user; thrown by init({ backend: 'webgpu' }). */
export class NoWebGpuError extends Error {}

async function loadDawn(): Promise<DawnModule> {
  const name = 'webgpu'; // a variable, so bundlers for the browser leave it alone
  try {
    const mod = (await import(/* @vite-ignore */ name)) as Partial<DawnModule> & { default?: DawnModule };
    return typeof mod.create === 'function' ? (mod as DawnModule) : (mod.default as DawnModule);
  } catch (error) {
    throw new NoWebGpuError(
      `WebGPU unavailable: the npm package 'webgpu' (Dawn for Node) could not be loaded ` +
        `(${(error as Error).message}). Run 'npm install' in the project.`,
    );
  }
}

/** Where the Vulkan loader looks for drivers' JSON manifests on Linux (besides the user's own folders). */
const VULKAN_ICD_DIRS = ['/usr/share/vulkan/icd.d', '/usr/local/share/vulkan/icd.d', '/etc/vulkan/icd.d'];

async function nodeGpu(): Promise<GPU> {
  const dawn = await loadDawn();
  // Dawn's GPUBufferUsage, GPUShaderStage, ... constants, as a browser has them.
  Object.assign(globalThis, dawn.globals);
  const fs = await import('node:fs');
  const swiftShaderOnly = process.platform === 'linux' && !process.env.VK_ICD_FILENAMES && !process.env.VK_DRIVER_FILES &&
    fs.existsSync(SWIFTSHADER_ICD) &&
    !VULKAN_ICD_DIRS.some((dir) => fs.existsSync(dir) && fs.readdirSync(dir).some((f) => f.endsWith('.json')));
  // No Vulkan driver installed but SwiftShader's: go straight to it, rather than let the loader
  // find none first (it says so on stderr, "vkCreateInstance: Found no drivers!").
  if (swiftShaderOnly) process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  const gpu = dawn.create([]);
  if (await gpu.requestAdapter()) return gpu;
  if (process.platform === 'linux' && !process.env.VK_ICD_FILENAMES && fs.existsSync(SWIFTSHADER_ICD)) {
    process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
    return dawn.create([]);
  }
  return gpu;
}

function noAdapterHelp(): string {
  if (!isNode) {
    return 'This browser has no WebGPU (navigator.gpu is missing): use Chrome or Edge 113+, or Firefox/Safari with WebGPU enabled.';
  }
  if (process.env.VK_ICD_FILENAMES) {
    return `Dawn found no GPU adapter with VK_ICD_FILENAMES=${process.env.VK_ICD_FILENAMES}: point it at a Vulkan driver's JSON file, or unset it.`;
  }
  if (process.platform === 'linux') {
    return (
      'Dawn found no GPU adapter. Without a GPU driver it needs the Vulkan loader and SwiftShader: ' +
      'sudo apt-get install -y libvulkan1 chromium (npm run setup does this as root).'
    );
  }
  return 'Dawn found no GPU adapter: install or update the GPU driver.';
}

/** A device from the first adapter: with the adapter's own limits, or WebGPU's defaults ('default'). */
export async function requestGpu(limits: 'adapter' | 'default' = 'adapter'): Promise<GpuHandle> {
  let gpu: GPU | undefined;
  if (isNode) {
    gpu = await nodeGpu();
  } else if (typeof navigator !== 'undefined' && 'gpu' in navigator) {
    gpu = navigator.gpu;
  }
  if (!gpu) throw new NoWebGpuError(`WebGPU unavailable. ${noAdapterHelp()}`);
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new NoWebGpuError(`WebGPU unavailable. ${noAdapterHelp()}`);
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
  const device = await adapter.requestDevice({ requiredLimits });
  return { gpu, adapter, device };
}
