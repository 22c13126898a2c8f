// One training step of a model on stand-in images, run so that its kernels
// meet the tuner (src/backend/webgpu/tune.ts) ahead of time: `wgrad tune`
// and the pages' "Tune for this GPU" both call it with tuning on. The
// pixels do not matter, only the shapes, so no dataset is opened.
import { rand } from '../ops/creation';
import { scope } from '../scope';
import type { Tensor } from '../tensor';
import { DCGAN_CONFIGS } from '../models/dcgan';
import { VAE_CONFIGS } from '../models/vae';
import { UNET_CONFIGS } from '../models/unet';
import { DcganTrainer, dcganTrainConfig } from './dcgan';
import { VaeTrainer, vaeTrainConfig } from './vae';
import { DiffusionTrainer, diffusionTrainConfig } from './diffusion';

export const TUNABLE_MODELS = ['dcgan', 'vae', 'diffusion'] as const;
export type TunableModel = (typeof TUNABLE_MODELS)[number];

export const TUNABLE_CONFIGS: Record<TunableModel, string[]> = {
  dcgan: Object.keys(DCGAN_CONFIGS),
  vae: Object.keys(VAE_CONFIGS),
  diffusion: Object.keys(UNET_CONFIGS),
};

/** Random images in [low, high) of the model's input shape, disposed after `use`. */
async function withStandIn<T>(shape: number[], [low, high]: [number, number], use: (images: Tensor) => Promise<T>): Promise<T> {
  const images = scope(() => rand(shape).mul(high - low).add(low));
  try {
    return await use(images);
  } finally {
    images.dispose();
  }
}

/**
 * One training step of `model` at `configName` as `wgrad train` runs it on
 * its default data (DCGAN on gray shapes, the VAE and the class-conditional
 * diffusion model on MNIST, `diffusionSize` square); returns the step's shape in words.
 */
export async function stepForTuning(model: TunableModel, configName: string, batch?: number, diffusionSize = 32): Promise<string> {
  if (model === 'dcgan') {
    const trainer = new DcganTrainer(dcganTrainConfig(configName, { channels: 1, data: 'shapes', batch }));
    const { batch: n, channels, imageSize } = trainer.config;
    try {
      await withStandIn([n, channels, imageSize, imageSize], [-1, 1], (images) => trainer.trainStep(images));
    } finally {
      trainer.dispose();
    }
    return `batch ${n}, ${imageSize}×${imageSize}×${channels}`;
  }
  if (model === 'vae') {
    const trainer = new VaeTrainer(vaeTrainConfig(configName, { channels: 1, data: 'mnist', batch }));
    const { batch: n, channels, imageSize } = trainer.config;
    try {
      await withStandIn([n, channels, imageSize, imageSize], [0, 1], (images) => trainer.trainStep(images));
    } finally {
      trainer.dispose();
    }
    return `batch ${n}, ${imageSize}×${imageSize}×${channels}`;
  }
  const trainer = new DiffusionTrainer(diffusionTrainConfig(configName, { channels: 1, imageSize: diffusionSize, classes: 10, data: 'mnist', batch }));
  const { batch: n, channels, imageSize } = trainer.config;
  try {
    const labels = Array.from({ length: n }, (_, i) => i % 10);
    await withStandIn([n, channels, imageSize, imageSize], [-1, 1], (images) => trainer.trainStep(images, labels));
  } finally {
    trainer.dispose();
  }
  return `batch ${n}, ${imageSize}×${imageSize}×${channels}, 10 classes`;
}
