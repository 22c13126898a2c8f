// wgrad's public API, and nothing else.
export { init, backendName, adapterInfo, memory, onCpuDevice } from './runtime';
export type { InitOptions, GpuLimits, GpuProvider, AdapterInfo, MemoryInfo, BackendName } from './runtime';
export { NoWebGpuError } from './backend/webgpu/device';
export { Tensor } from './tensor';
export { noGrad } from './autograd';
export { scope, keep } from './scope';
export { tensor, zeros, ones, full, randn, rand, arange } from './ops/creation';
export type { TensorOptions, NestedNumbers } from './ops/creation';
export { concat } from './ops/shape';
export { seed, getRandomState, setRandomState } from './random';
export { gradcheck } from './gradcheck';
export type { GradcheckOptions, GradcheckResult } from './gradcheck';
export * as F from './ops/functional';
export * as nn from './nn';
export * as optim from './nn/optim';
export { summary } from './nn/summary';
export type { Summary, SummaryRow } from './nn/summary';
export * as io from './io/safetensors';
