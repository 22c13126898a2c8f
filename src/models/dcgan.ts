// DCGAN (Radford, Metz & Chintala, 2015): a generator of transposed convs
// and a discriminator of strided convs, both with batchnorm, the layout the
// paper settled on for stable GAN training.
//
//   Generator, image size 32 (64 adds one more 2× stage at the front):
//     z [n, latent] → [n, latent, 1, 1]
//     ConvT k4 s1 p0 → [n, 4w, 4, 4]   BN ReLU
//     ConvT k4 s2 p1 → [n, 2w, 8, 8]   BN ReLU
//     ConvT k4 s2 p1 → [n, w, 16, 16]  BN ReLU
//     ConvT k4 s2 p1 → [n, C, 32, 32]  Tanh        (images in [-1, 1])
//   Discriminator, the mirror image:
//     Conv k4 s2 p1  → [n, w, 16, 16]  LeakyReLU(0.2)   (no BN on the input layer)
//     Conv k4 s2 p1  → [n, 2w, 8, 8]   BN LeakyReLU(0.2)
//     Conv k4 s2 p1  → [n, 4w, 4, 4]   BN LeakyReLU(0.2)
//     Conv k4 s1 p0  → [n, 1, 1, 1]    → logits [n]
// Convs followed by batchnorm carry no bias (batchnorm's shift replaces it).
// Weights start from N(0, 0.02), batchnorm scales from N(1, 0.02).
//
// upsample 'nearest' (Odena, Dumoulin & Olah, 2016, "Deconvolution and
// Checkerboard Artifacts") replaces each stride-2 transposed conv of the
// generator by a nearest-neighbour 2× upsampling and a 3×3 conv (padding
// 1): a k4 s2 transposed conv gives the even and odd output pixels
// different sets of taps, which paints a checkerboard until training
// evens it out; after a nearest upsampling every output pixel sees the
// same 3×3 taps. It costs 9/4 the multiply-adds of the transposed conv.
// discriminatorNorm 'spectral' (Miyato et al. 2018) divides each of the
// discriminator's conv weights by its largest singular value instead of
// batch-normalizing: no batch statistics mix the real and fake batches,
// and a discriminator that wins still passes the generator gradients.
// discriminatorNorm 'layer' normalizes each image's features on its own
// (GroupNorm with one group: LayerNorm over C, H, W with a per-channel
// scale and shift, as WGAN-GP's critic does): batchnorm run on a batch of
// fakes alone subtracts the batch's mean feature, so a flaw every fake
// shares is invisible to the layers after it; per image, it is not.
// 'none' has no normalization in the discriminator at all.
import type { Tensor } from '../tensor';
import { Module, Sequential } from '../nn/module';
import { BatchNorm2d, Conv2d, ConvTranspose2d, GroupNorm, LeakyReLU, ReLU, Tanh, Upsample, spectralNorm } from '../nn/layers';
import * as init from '../nn/init';

export interface DcganConfig {
  /** images are imageSize × imageSize */
  imageSize: 32 | 64;
  channels: 1 | 3;
  /** length of the noise vector z */
  latent: number;
  /** channels of the generator's last hidden layer (doubling towards z) */
  generatorWidth: number;
  /** channels of the discriminator's first layer (doubling towards the logit) */
  discriminatorWidth: number;
  /** how the generator doubles its map: the paper's k4 s2 transposed conv, or nearest upsampling + 3×3 conv (default 'transposed') */
  upsample?: GeneratorUpsample;
  /** the discriminator's normalization: the paper's batchnorm, spectral norm on every conv, per-image layer norm, or none (default 'batch') */
  discriminatorNorm?: DiscriminatorNorm;
}

export type GeneratorUpsample = 'transposed' | 'nearest';
export const DISCRIMINATOR_NORMS = ['batch', 'spectral', 'layer', 'none'] as const;
export type DiscriminatorNorm = (typeof DISCRIMINATOR_NORMS)[number];

/**
 * Named sizes: tiny for SwiftShader (CPU WebGPU), small and base for real
 * GPUs. tiny's generator is twice as wide as its discriminator: the output
 * layer's fan-in (width × 4 taps per pixel) sets how far one Adam step can
 * move a pixel, and at width 8 the generator could not even darken the
 * background within a few hundred steps while the discriminator won.
 */
export const DCGAN_CONFIGS = {
  tiny: { imageSize: 32, latent: 16, generatorWidth: 16, discriminatorWidth: 8 },
  small: { imageSize: 32, latent: 64, generatorWidth: 32, discriminatorWidth: 32 },
  base: { imageSize: 64, latent: 100, generatorWidth: 64, discriminatorWidth: 64 },
} as const satisfies Record<string, Omit<DcganConfig, 'channels'>>;

export type DcganConfigName = keyof typeof DCGAN_CONFIGS;

export function checkDcganConfig(config: DcganConfig): void {
  const problems: string[] = [];
  if (config.imageSize !== 32 && config.imageSize !== 64) problems.push(`imageSize must be 32 or 64, got ${config.imageSize}`);
  if (config.channels !== 1 && config.channels !== 3) problems.push(`channels must be 1 or 3, got ${config.channels}`);
  for (const key of ['latent', 'generatorWidth', 'discriminatorWidth'] as const) {
    if (!Number.isInteger(config[key]) || config[key] < 1) problems.push(`${key} must be a positive integer, got ${config[key]}`);
  }
  if (config.upsample !== undefined && config.upsample !== 'transposed' && config.upsample !== 'nearest') {
    problems.push(`upsample must be 'transposed' or 'nearest', got ${JSON.stringify(config.upsample)}`);
  }
  if (config.discriminatorNorm !== undefined && !DISCRIMINATOR_NORMS.includes(config.discriminatorNorm)) {
    problems.push(`discriminatorNorm must be one of ${DISCRIMINATOR_NORMS.join(', ')}, got ${JSON.stringify(config.discriminatorNorm)}`);
  }
  if (problems.length) throw new Error(`DCGAN config: ${problems.join('; ')}`);
}

/** 2× stages between the 4×4 map and the image: 3 for 32×32, 4 for 64×64. */
function upStages(imageSize: number): number {
  return Math.log2(imageSize / 4);
}

function initDcganWeights(net: Module): void {
  for (const [, m] of net.namedModules()) {
    if (m instanceof Conv2d || m instanceof ConvTranspose2d) init.normal(m.weight, 0, 0.02);
    if (m instanceof BatchNorm2d && m.weight && m.bias) {
      init.normal(m.weight, 1, 0.02);
      init.zeros(m.bias);
    }
  }
}

export class Generator extends Module {
  readonly net: Sequential;

  constructor(readonly config: DcganConfig) {
    super();
    checkDcganConfig(config);
    const stages = upStages(config.imageSize);
    let width = config.generatorWidth * 2 ** (stages - 1);
    const layers: Module[] = [
      new ConvTranspose2d(config.latent, width, 4, { stride: 1, padding: 0, bias: false }),
      new BatchNorm2d(width),
      new ReLU(),
    ];
    // one 2× stage: [n, inC, h, w] → [n, outC, 2h, 2w]
    const double = (inC: number, outC: number): Module[] =>
      config.upsample === 'nearest'
        ? [new Upsample({ scaleFactor: 2 }), new Conv2d(inC, outC, 3, { padding: 1, bias: false })]
        : [new ConvTranspose2d(inC, outC, 4, { stride: 2, padding: 1, bias: false })];
    for (let s = 1; s < stages; s++) {
      layers.push(...double(width, width / 2), new BatchNorm2d(width / 2), new ReLU());
      width /= 2;
    }
    layers.push(...double(width, config.channels), new Tanh());
    this.net = new Sequential(...layers);
    initDcganWeights(this);
  }

  /** z: [n, latent] → images [n, channels, imageSize, imageSize] in [-1, 1] */
  override forward(z: Tensor): Tensor {
    const { latent } = this.config;
    if (z.rank !== 2 || z.shape[1] !== latent) {
      throw new Error(`Generator: expected noise [n, ${latent}], got [${z.shape.join(', ')}]`);
    }
    return this.net.forward(z.reshape([z.shape[0], latent, 1, 1]));
  }
}

export class Discriminator extends Module {
  readonly net: Sequential;

  constructor(readonly config: DcganConfig) {
    super();
    checkDcganConfig(config);
    const stages = upStages(config.imageSize);
    let width = config.discriminatorWidth;
    const layers: Module[] = [
      new Conv2d(config.channels, width, 4, { stride: 2, padding: 1, bias: false }),
      new LeakyReLU(0.2),
    ];
    const norm = config.discriminatorNorm ?? 'batch';
    const spectral = norm === 'spectral';
    // the norm after each inner conv; a conv with none keeps its bias
    const normFor = (channels: number): Module[] =>
      norm === 'batch' ? [new BatchNorm2d(channels)] : norm === 'layer' ? [new GroupNorm(1, channels)] : [];
    for (let s = 1; s < stages; s++) {
      const after = normFor(width * 2);
      const conv = new Conv2d(width, width * 2, 4, { stride: 2, padding: 1, bias: after.length === 0 });
      layers.push(conv, ...after, new LeakyReLU(0.2));
      width *= 2;
    }
    layers.push(new Conv2d(width, 1, 4, { stride: 1, padding: 0, bias: false }));
    this.net = new Sequential(...layers);
    initDcganWeights(this);
    for (const m of this.net.children()) if (m instanceof Conv2d && m.bias) init.zeros(m.bias);
    if (spectral) for (const m of this.net.children()) if (m instanceof Conv2d) spectralNorm(m);
  }

  /** images [n, channels, imageSize, imageSize] → logits [n] (real > 0 > fake) */
  override forward(x: Tensor): Tensor {
    const { channels, imageSize } = this.config;
    if (x.rank !== 4 || x.shape[1] !== channels || x.shape[2] !== imageSize || x.shape[3] !== imageSize) {
      throw new Error(`Discriminator: expected images [n, ${channels}, ${imageSize}, ${imageSize}], got [${x.shape.join(', ')}]`);
    }
    return this.net.forward(x).reshape([x.shape[0]]);
  }
}
