// A convolutional variational autoencoder (Kingma & Welling, 2013). The
// encoder maps an image to a Gaussian q(z|x) = N(mean, exp(logvar)) over a
// small latent; the decoder maps a latent to per-pixel logits. Training
// minimises the negative ELBO: reconstruction + β·KL(q(z|x) ‖ N(0, I)).
//
//   Encoder, image size 32 (64 adds one more 2× stage), w = width:
//     Conv k4 s2 p1  → [n, w, 16, 16]   LeakyReLU(0.2)     (no BN on the input layer)
//     Conv k4 s2 p1  → [n, 2w, 8, 8]    BN LeakyReLU(0.2)
//     Conv k4 s2 p1  → [n, 4w, 4, 4]    BN LeakyReLU(0.2)
//     flatten → Linear → mean [n, latent]
//             → Linear → logvar [n, latent]
//   Decoder, the mirror image:
//     Linear → [n, 4w·4·4] → [n, 4w, 4, 4]  BN ReLU
//     ConvT k4 s2 p1 → [n, 2w, 8, 8]    BN ReLU
//     ConvT k4 s2 p1 → [n, w, 16, 16]   BN ReLU
//     ConvT k4 s2 p1 → [n, C, 32, 32]   logits
// Layers followed by batchnorm carry no bias; the logit layer has one (the
// background's level). Weights keep PyTorch's default initialization.
import type { Tensor } from '../tensor';
import { randn } from '../ops/creation';
import { bceWithLogits, gaussianKl, mseLoss } from '../ops/loss';
import { Module, Sequential } from '../nn/module';
import { BatchNorm2d, Conv2d, ConvTranspose2d, Flatten, LeakyReLU, Linear, ReLU, Unflatten } from '../nn/layers';

/**
 * How a reconstruction is scored, per pixel, summed over the image:
 * 'bce' — Bernoulli likelihood of the pixel's brightness (x+1)/2 given the
 *         logit (gray data; the sum is a negative log-likelihood in nats);
 * 'mse' — squared error between sigmoid(logit)·2−1 and x (colour data).
 */
export type ReconstructionLoss = 'bce' | 'mse';

export interface VaeConfig {
  /** images are imageSize × imageSize */
  imageSize: 32 | 64;
  channels: 1 | 3;
  /** size of the latent z, 2 to 128 */
  latent: number;
  /** channels of the encoder's first conv (doubling towards the latent; the decoder mirrors it) */
  width: number;
  reconstruction: ReconstructionLoss;
}

/** Named sizes: tiny for SwiftShader (CPU WebGPU), small and base for real GPUs. */
export const VAE_CONFIGS = {
  tiny: { imageSize: 32, latent: 2, width: 8 },
  small: { imageSize: 32, latent: 16, width: 32 },
  base: { imageSize: 64, latent: 64, width: 64 },
} as const satisfies Record<string, Pick<VaeConfig, 'imageSize' | 'latent' | 'width'>>;

export type VaeConfigName = keyof typeof VAE_CONFIGS;

export const MIN_LATENT = 2;
export const MAX_LATENT = 128;

/** The data decides the loss: gray images are scored as Bernoulli pixels, colour ones by squared error. */
export function reconstructionFor(channels: 1 | 3): ReconstructionLoss {
  return channels === 1 ? 'bce' : 'mse';
}

export function checkVaeConfig(config: VaeConfig): void {
  const problems: string[] = [];
  if (config.imageSize !== 32 && config.imageSize !== 64) problems.push(`imageSize must be 32 or 64, got ${config.imageSize}`);
  if (config.channels !== 1 && config.channels !== 3) problems.push(`channels must be 1 or 3, got ${config.channels}`);
  if (!Number.isInteger(config.latent) || config.latent < MIN_LATENT || config.latent > MAX_LATENT) {
    problems.push(`latent must be an integer from ${MIN_LATENT} to ${MAX_LATENT}, got ${config.latent}`);
  }
  if (!Number.isInteger(config.width) || config.width < 1) problems.push(`width must be a positive integer, got ${config.width}`);
  if (config.reconstruction !== 'bce' && config.reconstruction !== 'mse') {
    problems.push(`reconstruction must be 'bce' or 'mse', got ${JSON.stringify(config.reconstruction)}`);
  }
  if (problems.length) throw new Error(`VAE config: ${problems.join('; ')}`);
}

/** 2× stages between the image and the 4×4 map: 3 for 32×32, 4 for 64×64. */
function stages(imageSize: number): number {
  return Math.log2(imageSize / 4);
}

export class Vae extends Module {
  readonly encoder: Sequential;
  readonly toMean: Linear;
  readonly toLogvar: Linear;
  readonly decoder: Sequential;

  constructor(readonly config: VaeConfig) {
    super();
    checkVaeConfig(config);
    const { channels, latent, width } = config;
    const n = stages(config.imageSize);
    const deepest = width * 2 ** (n - 1); // channels of the 4×4 map
    const flat = deepest * 4 * 4;

    const down: Module[] = [new Conv2d(channels, width, 4, { stride: 2, padding: 1 }), new LeakyReLU(0.2)];
    for (let s = 1, c = width; s < n; s++, c *= 2) {
      down.push(new Conv2d(c, c * 2, 4, { stride: 2, padding: 1, bias: false }), new BatchNorm2d(c * 2), new LeakyReLU(0.2));
    }
    down.push(new Flatten());
    this.encoder = new Sequential(...down);
    this.toMean = new Linear(flat, latent);
    this.toLogvar = new Linear(flat, latent);

    const up: Module[] = [new Linear(latent, flat, { bias: false }), new Unflatten(1, [deepest, 4, 4]), new BatchNorm2d(deepest), new ReLU()];
    for (let s = 1, c = deepest; s < n; s++, c /= 2) {
      up.push(new ConvTranspose2d(c, c / 2, 4, { stride: 2, padding: 1, bias: false }), new BatchNorm2d(c / 2), new ReLU());
    }
    up.push(new ConvTranspose2d(width, channels, 4, { stride: 2, padding: 1 }));
    this.decoder = new Sequential(...up);
  }

  private checkImages(x: Tensor, where: string): void {
    const { channels, imageSize } = this.config;
    if (x.rank !== 4 || x.shape[1] !== channels || x.shape[2] !== imageSize || x.shape[3] !== imageSize) {
      throw new Error(`${where}: expected images [n, ${channels}, ${imageSize}, ${imageSize}], got [${x.shape.join(', ')}]`);
    }
  }

  /** images [n, C, s, s] in [-1, 1] → the posterior's mean and log-variance, each [n, latent] */
  encode(x: Tensor): { mean: Tensor; logvar: Tensor } {
    this.checkImages(x, 'Vae.encode');
    const h = this.encoder.forward(x);
    return { mean: this.toMean.forward(h), logvar: this.toLogvar.forward(h) };
  }

  /** z [n, latent] → logits [n, C, s, s]; images are sigmoid(logits)·2−1 (see logitsToImages) */
  decode(z: Tensor): Tensor {
    const { latent } = this.config;
    if (z.rank !== 2 || z.shape[1] !== latent) throw new Error(`Vae.decode: expected latents [n, ${latent}], got [${z.shape.join(', ')}]`);
    return this.decoder.forward(z);
  }

  /**
   * The reconstruction's logits. Training mode samples z from q(z|x) with
   * the seeded randn; eval mode decodes the posterior mean, so it is
   * deterministic.
   */
  override forward(x: Tensor): Tensor {
    const { mean, logvar } = this.encode(x);
    return this.decode(this.training ? reparameterize(mean, logvar) : mean);
  }
}

/**
 * z = mean + exp(logvar / 2)·ε with ε ~ N(0, I): a sample of q(z|x) through
 * which gradients reach mean and logvar. ε defaults to fresh noise from the
 * seeded stream; pass it to fix the sample.
 */
export function reparameterize(mean: Tensor, logvar: Tensor, eps: Tensor = randn(mean.shape)): Tensor {
  if (eps.shape.join() !== mean.shape.join()) {
    throw new Error(`reparameterize: noise [${eps.shape.join(', ')}] must have the mean's shape [${mean.shape.join(', ')}]`);
  }
  return mean.add(logvar.mul(0.5).exp().mul(eps));
}

/** Decoder logits → images in [-1, 1]. */
export function logitsToImages(logits: Tensor): Tensor {
  return logits.sigmoid().mul(2).sub(1);
}

/**
 * The two terms of the negative ELBO, each summed over an image's pixels or
 * latent dimensions and averaged over the batch (scalars):
 *   recon = Σ_pixels loss(logits, x)                           (see ReconstructionLoss)
 *   kl    = −½ Σ_j (1 + logvar_j − mean_j² − exp(logvar_j))    = KL(q(z|x) ‖ N(0, I)) in nats
 * wg.F's losses are means over every element, hence the factor C·s·s.
 */
export function vaeLossTerms(
  logits: Tensor, x: Tensor, mean: Tensor, logvar: Tensor, reconstruction: ReconstructionLoss,
): { recon: Tensor; kl: Tensor } {
  const pixels = x.size / x.shape[0];
  const recon = reconstruction === 'bce'
    ? bceWithLogits(logits, x.add(1).mul(0.5)).mul(pixels)
    : mseLoss(logitsToImages(logits), x).mul(pixels);
  const kl = gaussianKl(mean, logvar);
  return { recon, kl };
}
