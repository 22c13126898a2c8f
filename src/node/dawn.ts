// WebGPU in Node: Dawn, from the npm package `webgpu`, handed to wg.init()
// as its GPU provider. On Linux without a GPU driver Dawn finds no adapter;
// Debian's chromium package ships SwiftShader, a Vulkan driver on the CPU,
// and pointing VK_ICD_FILENAMES at it before asking again is enough.
import { existsSync, readdirSync } from 'node:fs';
import { NoWebGpuError, type GpuProvider } from '../backend/webgpu/device';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/** Where the Vulkan loader looks for drivers' JSON manifests on Linux (besides the user's own folders). */
const VULKAN_ICD_DIRS = ['/usr/share/vulkan/icd.d', '/usr/local/share/vulkan/icd.d', '/etc/vulkan/icd.d'];

interface DawnModule {
  create(flags: string[]): GPU;
  globals: Record<string, unknown>;
}

async function loadDawn(): Promise<DawnModule> {
  try {
    const mod = (await import('webgpu')) as Partial<DawnModule> & { default?: DawnModule };
    return typeof mod.create === 'function' ? (mod as DawnModule) : (mod.default as DawnModule);
  } catch (error) {
    throw new NoWebGpuError(
      `WebGPU unavailable: the npm package 'webgpu' (Dawn for Node) could not be loaded ` +
        `(${(error as Error).message}). Run 'npm install' in the project.`,
    );
  }
}

/** No Vulkan driver installed but SwiftShader's: then go straight to it. */
function onlySwiftShader(): boolean {
  if (process.platform !== 'linux' || process.env.VK_ICD_FILENAMES || process.env.VK_DRIVER_FILES) return false;
  if (!existsSync(SWIFTSHADER_ICD)) return false;
  return !VULKAN_ICD_DIRS.some((dir) => existsSync(dir) && readdirSync(dir).some((f) => f.endsWith('.json')));
}

/** What to do when Dawn gives no adapter, for this machine. */
function noAdapterHelp(): string {
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

/** Dawn's GPU object, with an adapter behind it: SwiftShader's when it is the only Vulkan driver, or when the drivers found give none. */
async function dawnWithAdapter(): Promise<GPU> {
  const dawn = await loadDawn();
  // Dawn's GPUBufferUsage, GPUShaderStage, ... constants, as a browser has them.
  Object.assign(globalThis, dawn.globals);
  // Rather than let the Vulkan loader find no driver first (it says so on
  // stderr, "vkCreateInstance: Found no drivers!").
  if (onlySwiftShader()) process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  const gpu = dawn.create([]);
  if (await gpu.requestAdapter()) return gpu;
  if (process.platform === 'linux' && !process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER_ICD)) {
    process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
    const retry = dawn.create([]);
    if (await retry.requestAdapter()) return retry;
  }
  throw new NoWebGpuError(`WebGPU unavailable. ${noAdapterHelp()}`);
}

/**
 * Node's GPU provider. Dawn's binding polls from setImmediate while a
 * promise of its is pending, so it says so: on a CPU adapter the backend
 * then naps before each readback (backend/webgpu/read-pacer.ts).
 */
export const dawnGpu: GpuProvider = Object.assign(dawnWithAdapter, { pollsWhileWaiting: true });
