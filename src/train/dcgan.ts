// Training DCGAN, one step at a time. Browser-safe: the CLI's run loop
// (train/run.ts) and the browser page both drive this class, and both
// save and load the same checkpoint bytes.
//
// One step, as in the paper and PyTorch's DCGAN example:
//   D: minimise bce(D(x), 1) + bce(D(G(z)), 0)      (G(z) detached)
//   G: minimise bce(D(G(z)), 1)                     (the non-saturating loss)
// with Adam(betas 0.5/0.999) on both: lr 2e-4 as the paper for the small
// and base sizes, 1e-3 for tiny (see DCGAN_RUNS).
import { Tensor, scope, keep, liveTensorCount } from '../tensor';
import { noGrad } from '../autograd';
import { concat } from '../ops/shape';
import { full, randn } from '../ops/creation';
import { bceWithLogits } from '../ops/loss';
import { seed } from '../random';
import { Adam } from '../nn/optim';
import { DCGAN_CONFIGS, Discriminator, Generator, checkDcganConfig, type DcganConfig, type DcganConfigName } from '../models/dcgan';
import { loadFixedNoise, restoreTrainer, writeCheckpoint } from './checkpoint';
import type { Loader } from '../data/dataset';
import type { Trainable } from './run';

export interface DcganTrainConfig extends DcganConfig {
  /** the named size it came from, for the record */
  configName: string;
  /** the dataset spec (shapes, mnist, images:DIR) */
  data: string;
  batch: number;
  lr: number;
  betas: [number, number];
  seed: number;
  /** how many fixed noise vectors the sample grids show */
  samples: number;
}

export type DcganStepMetrics = {
  step: number;
  lossD: number;
  lossG: number;
  /** mean D(x) = sigmoid(logit) on the real batch: 1 means "sure it is real" */
  dReal: number;
  /** mean D(G(z)) on the fakes of the D step */
  dFake: number;
  ms: number;
  imagesPerSecond: number;
  tensors: number;
};

/**
 * Each named size's default batch, learning rate and length of run: tiny
 * takes minutes on SwiftShader (2 CPU cores), the others are for real
 * GPUs. Adam moves every weight by about lr a step, so a pixel of a
 * narrow net moves less per step than one of a wide net: at the paper's
 * 2e-4 a width-8 generator was still gray after 300 steps on MNIST while
 * the discriminator won; tiny at 1e-3 draws white discs and grids on black
 * by step 200 on shapes. Batch 8 learned visibly worse than 16.
 */
export const DCGAN_RUNS: Record<DcganConfigName, { batch: number; lr: number; steps: number }> = {
  tiny: { batch: 16, lr: 1e-3, steps: 200 },
  small: { batch: 64, lr: 2e-4, steps: 3000 },
  base: { batch: 128, lr: 2e-4, steps: 10000 },
};

/** A full training config from a named size and the run's options. */
export function dcganTrainConfig(
  name: string,
  options: { channels: 1 | 3; data: string; batch?: number; lr?: number; seed?: number; samples?: number },
): DcganTrainConfig {
  const sizes = DCGAN_CONFIGS[name as DcganConfigName];
  if (!sizes) throw new Error(`dcgan: unknown config '${name}'; valid: ${Object.keys(DCGAN_CONFIGS).join(', ')}`);
  const config: DcganTrainConfig = {
    ...sizes,
    channels: options.channels,
    configName: name,
    data: options.data,
    batch: options.batch ?? DCGAN_RUNS[name as DcganConfigName].batch,
    lr: options.lr ?? DCGAN_RUNS[name as DcganConfigName].lr,
    betas: [0.5, 0.999],
    seed: options.seed ?? 0,
    samples: options.samples ?? 64,
  };
  checkTrainConfig(config);
  return config;
}

function checkTrainConfig(config: DcganTrainConfig): void {
  checkDcganConfig(config);
  if (!Number.isInteger(config.batch) || config.batch < 2) throw new Error(`dcgan: batch must be an integer ≥ 2 (batchnorm needs it), got ${config.batch}`);
  if (!(config.lr > 0)) throw new Error(`dcgan: lr must be > 0, got ${config.lr}`);
  if (!Number.isInteger(config.samples) || config.samples < 1) throw new Error(`dcgan: samples must be a positive integer, got ${config.samples}`);
}

export class DcganTrainer {
  readonly generator: Generator;
  readonly discriminator: Discriminator;
  readonly optG: Adam;
  readonly optD: Adam;
  /** the noise behind every sample grid, fixed for the whole run */
  readonly fixedNoise: Tensor;
  /** steps taken so far */
  step = 0;

  /** Builds both nets from `config.seed`: the same seed gives the same weights and fixed noise. */
  constructor(readonly config: DcganTrainConfig) {
    checkTrainConfig(config);
    seed(config.seed);
    this.generator = new Generator(config);
    this.discriminator = new Discriminator(config);
    this.fixedNoise = keep(randn([config.samples, config.latent]));
    const adam = { lr: config.lr, betas: config.betas };
    this.optG = new Adam(this.generator.parameters(), adam);
    this.optD = new Adam(this.discriminator.parameters(), adam);
  }

  /** One D step and one G step on a batch of real images [n, C, s, s] in [-1, 1]. */
  async trainStep(real: Tensor): Promise<DcganStepMetrics> {
    const { batch, latent, channels, imageSize } = this.config;
    const expected = [batch, channels, imageSize, imageSize];
    if (real.shape.join() !== expected.join()) {
      throw new Error(`dcgan.trainStep: expected real images [${expected.join(', ')}], got [${real.shape.join(', ')}]`);
    }
    const started = performance.now();
    const G = this.generator;
    const D = this.discriminator;
    const stats = scope(() => {
      const ones = full([batch], 1);
      const zeros = full([batch], 0);
      const fake = G.forward(randn([batch, latent]));

      const realLogits = D.forward(real);
      const fakeLogits = D.forward(fake.detach());
      const lossD = bceWithLogits(realLogits, ones).add(bceWithLogits(fakeLogits, zeros));
      this.optD.zeroGrad();
      lossD.backward();
      this.optD.step();

      const lossG = bceWithLogits(D.forward(fake), ones);
      this.optG.zeroGrad();
      lossG.backward();
      this.optG.step();
      this.optD.zeroGrad(); // the G step's gradients on D are not D's to use

      // one readback for the four numbers
      return noGrad(() =>
        concat([lossD, lossG, realLogits.sigmoid().mean(), fakeLogits.sigmoid().mean()].map((t) => t.reshape([1]))),
      );
    });
    const [lossD, lossG, dReal, dFake] = await stats.toArray();
    stats.dispose();
    this.step++;
    const ms = performance.now() - started;
    return { step: this.step, lossD, lossG, dReal, dFake, ms, imagesPerSecond: (batch * 1000) / ms, tensors: liveTensorCount() };
  }

  /** The generator's images (eval mode: running batchnorm statistics) for `noise`, default the fixed noise. */
  async sample(noise: Tensor = this.fixedNoise): Promise<{ data: Float32Array; shape: number[] }> {
    this.generator.eval();
    try {
      const images = noGrad(() => scope(() => this.generator.forward(noise)));
      const data = await images.toArray();
      const shape = images.shape;
      images.dispose();
      return { data, shape };
    } finally {
      this.generator.train();
    }
  }

  /** Both nets, both optimizers, the fixed noise, the step and the random stream's state. */
  async checkpoint(): Promise<Uint8Array> {
    return writeCheckpoint(
      {
        generator: this.generator.stateDict(),
        discriminator: this.discriminator.stateDict(),
        optG: this.optG.stateDict(),
        optD: this.optD.stateDict(),
        noise: { fixed: this.fixedNoise },
      },
      { model: 'dcgan', config: this.config, step: this.step },
    );
  }

  /**
   * A trainer in the state the checkpoint was saved in, ready to go on:
   * the same next steps as the run that wrote it. `source` names the file
   * in errors.
   */
  static fromCheckpoint(bytes: Uint8Array, source: string): DcganTrainer {
    return restoreTrainer<DcganTrainConfig, DcganTrainer>(bytes, source, 'dcgan', {
      label: 'DCGAN',
      required: ['generator', 'discriminator', 'optG', 'optD', 'noise'],
      make: (config) => new DcganTrainer(config),
      load: (trainer, { generator, discriminator, optG, optD, noise }) => {
        trainer.generator.loadStateDict(generator);
        trainer.discriminator.loadStateDict(discriminator);
        trainer.optG.loadStateDict(optG);
        trainer.optD.loadStateDict(optD);
        loadFixedNoise(trainer.fixedNoise, noise);
      },
    });
  }

  dispose(): void {
    this.optG.dispose();
    this.optD.dispose();
    this.generator.dispose();
    this.discriminator.dispose();
    this.fixedNoise.dispose();
  }
}

/** The trainer and a loader as the run loop's `Trainable` (train/run.ts): step n trains on the loader's batch n. */
export function dcganTrainable(trainer: DcganTrainer, loader: Loader): Trainable<DcganStepMetrics> {
  return {
    kind: 'dcgan',
    config: trainer.config,
    get step() {
      return trainer.step;
    },
    lossNames: ['lossD', 'lossG'],
    trainStep: () => loader.withTensors(trainer.step, (images) => trainer.trainStep(images)),
    sampleImages: () => trainer.sample(),
    checkpoint: () => trainer.checkpoint(),
  };
}

/**
 * Spherical interpolation between the rows of a and b (each [n, d],
 * row-major) at t ∈ [0, 1]: the path stays at the norm Gaussian noise
 * has, where a straight line would pass near the origin. Linear where two
 * rows are (nearly) parallel.
 */
export function slerpRows(a: Float32Array, b: Float32Array, d: number, t: number): Float32Array {
  if (a.length !== b.length || a.length % d !== 0) throw new Error(`slerpRows: ${a.length} and ${b.length} values are not two [n, ${d}] arrays`);
  const out = new Float32Array(a.length);
  for (let row = 0; row < a.length / d; row++) {
    let dot = 0, na = 0, nb = 0;
    for (let i = row * d; i < (row + 1) * d; i++) {
      dot += a[i] * b[i];
      na += a[i] * a[i];
      nb += b[i] * b[i];
    }
    const omega = Math.acos(Math.max(-1, Math.min(1, dot / Math.sqrt(na * nb || 1))));
    const s = Math.sin(omega);
    const [wa, wb] = s < 1e-6 ? [1 - t, t] : [Math.sin((1 - t) * omega) / s, Math.sin(t * omega) / s];
    for (let i = row * d; i < (row + 1) * d; i++) out[i] = wa * a[i] + wb * b[i];
  }
  return out;
}
