// wg.nn: modules and layers, their initializers, and the optimizers.
export { Module, Sequential } from './module';
export type { StateDict, LoadOptions } from './module';
export {
  Linear, Conv2d, ConvTranspose2d, BatchNorm2d, GroupNorm, ReLU, LeakyReLU, Tanh, Sigmoid, SiLU,
  Flatten, Unflatten, Dropout, Upsample, Embedding, spectralNorm,
} from './layers';
export type { SpectralNormOptions } from './layers';
export * as init from './init';
