// Which backend runs the ops. wg.init() picks one; tensors remember theirs,
// so an op runs where its inputs live. The CPU reference is always there,
// for gradcheck and for tests that compare the two. The host says where
// WebGPU comes from and what its settings are, through InitOptions: this
// file reads no environment (Node's host does, in src/node/init.ts).
import type { Backend } from './backend/backend';
import { CpuBackend } from './backend/cpu';
import { WebGpuBackend } from './backend/webgpu';
import { NoWebGpuError, browserGpu, softwareAdapter, type GpuProvider } from './backend/webgpu/device';
import { TUNE_MODES, type TuneMode, type TuneStore } from './backend/webgpu/tune';
import { browserTuneStore } from './backend/webgpu/tune-store';
import { liveTensorCount } from './tensor';
import { seed as seedRandom } from './random';

export type BackendName = 'cpu' | 'webgpu';

export interface InitOptions {
  backend?: 'auto' | BackendName;
  seed?: number;
  /**
   * 'adapter' (the default): ask the adapter for its own buffer and
   * workgroup limits. 'default': take WebGPU's default limits only, as the
   * weakest adapter would give (in Node, WGRAD_LIMITS=default does the
   * same), to check that everything runs within them.
   */
  limits?: GpuLimits;
  /**
   * Where WebGPU comes from. A browser's navigator.gpu when none was ever
   * given; in Node, wgrad's Node entry passes Dawn. Once given, later
   * init() calls without one keep it.
   */
  gpu?: GpuProvider;
  /**
   * Kernel autotuning (src/backend/webgpu/tune.ts). 'cached' (the default):
   * the choices a tuning run cached for this adapter, else the built-in
   * tables; 'on': also tune each new shape at its first use (a few
   * seconds per shape on a slow adapter, once); 'off': the tables only.
   * In Node, WGRAD_TUNE sets it.
   */
  tune?: TuneMode;
  /** Where tuned choices are kept: in a browser IndexedDB by default; Node's entry gives a file under ~/.cache/wgrad. */
  tuneStore?: TuneStore | null;
}

export type GpuLimits = 'adapter' | 'default';
export type { GpuProvider };

export interface AdapterInfo {
  backend: BackendName;
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  limits: Record<string, number>;
}

const cpu = new CpuBackend();
let gpu: WebGpuBackend | null = null;
/** Where a new device comes from: the last provider init() was given. */
let provider: GpuProvider = browserGpu;
/** The provider `gpu` came from. */
let gpuFrom: GpuProvider | null = null;
let current: Backend = cpu;
let warnedFallback = false;

export async function init(options: InitOptions = {}): Promise<BackendName> {
  const want = options.backend ?? 'auto';
  if (!['auto', 'cpu', 'webgpu'].includes(want)) {
    throw new Error(`init: backend must be 'auto', 'webgpu' or 'cpu', got '${String(want)}'`);
  }
  const limits = options.limits ?? 'adapter';
  if (limits !== 'adapter' && limits !== 'default') throw new Error(`init: limits must be 'adapter' or 'default', got '${String(limits)}'`);
  if (options.gpu !== undefined && typeof options.gpu !== 'function') {
    throw new Error(`init: gpu must be a function giving a GPU object (a GpuProvider), got ${typeof options.gpu}`);
  }
  if (options.gpu) provider = options.gpu;
  const tune = options.tune ?? 'cached';
  if (!TUNE_MODES.includes(tune)) throw new Error(`init: tune must be ${TUNE_MODES.map((m) => `'${m}'`).join(', ')}, got '${String(tune)}'`);
  if (options.seed !== undefined) seedRandom(options.seed);
  if (want === 'cpu') {
    current = cpu;
    return 'cpu';
  }
  try {
    if (!gpu || gpuFrom !== provider || gpu.ctx.lostOrFailed() || gpu.limits !== limits) {
      gpu = await WebGpuBackend.create(limits, provider);
      gpuFrom = provider;
    }
    await gpu.tuner.configure(tune, options.tuneStore !== undefined ? options.tuneStore : browserTuneStore());
    current = gpu;
    return 'webgpu';
  } catch (error) {
    if (want === 'webgpu' || !(error instanceof NoWebGpuError)) throw error;
    if (!warnedFallback) {
      console.warn(`wgrad: ${(error as Error).message}\nwgrad: falling back to the CPU backend (slow).`);
      warnedFallback = true;
    }
    current = cpu;
    return 'cpu';
  }
}

export function currentBackend(): Backend {
  return current;
}

export function backendName(): BackendName {
  return current.name;
}

export function getBackend(name: BackendName): Backend {
  if (name === 'cpu') return cpu;
  if (!gpu) throw new Error("getBackend: WebGPU is not initialized; call await wg.init({ backend: 'webgpu' }) first");
  return gpu;
}

/** Runs fn with `name` as the backend new tensors are made on, then restores the previous one. */
export function withBackend<T>(name: BackendName, fn: () => T): T {
  const before = current;
  current = getBackend(name);
  try {
    return fn();
  } finally {
    current = before;
  }
}

export function adapterInfo(): AdapterInfo {
  if (current.name === 'cpu' || !gpu) {
    return { backend: 'cpu', vendor: 'wgrad', architecture: 'cpu', device: 'CPU reference (float64)', description: 'no GPU', limits: {} };
  }
  const info = gpu.ctx.adapterInfo;
  const limits: Record<string, number> = {};
  const device = gpu.ctx.device;
  for (const key of [
    'maxBufferSize',
    'maxStorageBufferBindingSize',
    'maxComputeWorkgroupStorageSize',
    'maxComputeInvocationsPerWorkgroup',
    'maxComputeWorkgroupSizeX',
    'maxComputeWorkgroupsPerDimension',
    'maxStorageBuffersPerShaderStage',
  ] as const) {
    limits[key] = device.limits[key];
  }
  return {
    backend: 'webgpu',
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    limits,
  };
}

/**
 * True when the work runs on a CPU: the cpu backend, or a WebGPU adapter
 * that is a software rasterizer (SwiftShader, llvmpipe/lavapipe, WARP).
 * Commands use it to pick configs sized for it.
 */
export function onCpuDevice(): boolean {
  const info = adapterInfo();
  if (info.backend === 'cpu') return true;
  return softwareAdapter(info);
}

export interface MemoryInfo {
  tensors: number;
  bytesInUse: number;
  bytesPooled: number;
  peakBytes: number;
  /** webgpu: bind groups created so far (cached by buffers: a repeated step adds none) */
  bindGroups?: number;
  /** webgpu: GPU buffers created so far (pooled, upload and readback staging): a step that replays the last one's adds none */
  buffersCreated?: number;
}

export function memory(): MemoryInfo {
  return { tensors: liveTensorCount(), ...current.memory() };
}
