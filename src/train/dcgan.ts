// Training DCGAN, one step at a time. Browser-safe: the CLI's run loop
// (train/run.ts) and the browser page both drive this class, and both
// save and load the same checkpoint bytes.
//
// One step, as in the paper and PyTorch's DCGAN example:
//   D: minimise bce(D(x), 1) + bce(D(G(z)), 0)      (G(z) detached)
//   G: minimise bce(D(G(z)), 1)                     (the non-saturating loss)
// or with the hinge loss (Lim & Ye 2017; SAGAN, BigGAN):
//   D: minimise mean(relu(1 − D(x))) + mean(relu(1 + D(G(z))))
//   G: minimise −mean(D(G(z)))
// with Adam on both, betas 0.5/0.999 as the paper (0/0.999 in the default
// recipe, as SAGAN and BigGAN train): lr 2e-4 as the paper for the small
// and base sizes, 1e-3 for tiny (see DCGAN_RUNS). With emaDecay > 0 the
// samples come from an exponential moving average of the generator's
// weights and batchnorm statistics (BigGAN, StyleGAN), which smooths out
// the step-to-step wobble of the adversarial game.
import { Tensor, scope, keep, liveTensorCount } from '../tensor';
import { noGrad } from '../autograd';
import { concat } from '../ops/shape';
import { randn } from '../ops/creation';
import { bceWithLogits, hingeLoss, scaledMean } from '../ops/loss';
import { seed } from '../random';
import { Adam, emaDecayAt, emaUpdate } from '../nn/optim';
import { DCGAN_CONFIGS, Discriminator, Generator, checkDcganConfig, type DcganConfig, type DcganConfigName, type DiscriminatorNorm, type GeneratorUpsample } from '../models/dcgan';
import { MAX_FIXED_SAMPLES, loadFixedNoise, restoreTrainer, writeCheckpoint } from './checkpoint';
import { sampleWithSeed } from './fits';
import { trainableOf, type FineTuneChanges, type GenerativeModelDescription, type ModelSetup } from './model-description';
import type { Loader } from '../data/dataset';
import type { Trainable } from './run';

export interface DcganTrainConfig extends DcganConfig {
  /** the named size it came from, for the record */
  configName: string;
  /** the dataset spec (shapes, mnist, images:DIR) */
  data: string;
  batch: number;
  lr: number;
  /** the discriminator's learning rate, where it differs from the generator's (default: lr) */
  lrD?: number;
  betas: [number, number];
  seed: number;
  /** how many fixed noise vectors the sample grids show */
  samples: number;
  /** the recipe it came from (DCGAN_RECIPES), for the record */
  recipe?: string;
  /** the adversarial loss (default 'bce', the paper's) */
  loss?: DcganLoss;
  /** decay of the generator average the samples come from; 0 (the default): sample the live generator */
  emaDecay?: number;
}

export type DcganLoss = 'bce' | 'hinge';

export interface DcganRecipe {
  upsample: GeneratorUpsample;
  discriminatorNorm: DiscriminatorNorm;
  loss: DcganLoss;
  emaDecay: number;
  /** Adam's betas for both nets */
  betas: [number, number];
}

/**
 * Named recipes: 'paper' is Radford et al.'s DCGAN as published; each other
 * changes it the way its name says (docs/RECIPES.md has the ablation: every
 * recipe for the same five minutes of SwiftShader, scored). At 300–400
 * steps 'paper' drew best; once the register-block kernels made a step
 * 3× faster, 1200 steps fit the same minutes, and over those the weight
 * average ('ema') fell steadily while the live generator swung between 54
 * and 823. With the step faster again, 1400 steps fit; over those the
 * average of a generator trained against the hinge loss ('ema-hinge')
 * scored 51.2 at step 1400 where 'ema' scored 90.5 (same seed, same
 * kernels). Adam without momentum (β1 0, as SAGAN and BigGAN train
 * hinge GANs: 'ema-hinge-b0') then scored better again on all three
 * seeds tried (35.8, 54.9 and 39.6 against 51.2, 58.1 and 66.0 at step
 * 1400), so it is the default.
 */
export const DCGAN_RECIPES = {
  paper: { upsample: 'transposed', discriminatorNorm: 'batch', loss: 'bce', emaDecay: 0, betas: [0.5, 0.999] },
  ema: { upsample: 'transposed', discriminatorNorm: 'batch', loss: 'bce', emaDecay: 0.999, betas: [0.5, 0.999] },
  nearest: { upsample: 'nearest', discriminatorNorm: 'batch', loss: 'bce', emaDecay: 0, betas: [0.5, 0.999] },
  hinge: { upsample: 'transposed', discriminatorNorm: 'batch', loss: 'hinge', emaDecay: 0, betas: [0.5, 0.999] },
  'spectral-hinge': { upsample: 'transposed', discriminatorNorm: 'spectral', loss: 'hinge', emaDecay: 0, betas: [0.5, 0.999] },
  'ema-hinge': { upsample: 'transposed', discriminatorNorm: 'batch', loss: 'hinge', emaDecay: 0.999, betas: [0.5, 0.999] },
  'ema-hinge-b0': { upsample: 'transposed', discriminatorNorm: 'batch', loss: 'hinge', emaDecay: 0.999, betas: [0, 0.999] },
} as const satisfies Record<string, DcganRecipe>;

export type DcganRecipeName = keyof typeof DCGAN_RECIPES;

export const DEFAULT_DCGAN_RECIPE: DcganRecipeName = 'ema-hinge-b0';

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
 * by step 200 on shapes. Batch 8 learned visibly worse than 16. tiny's
 * 1400 steps took `npm start` 4 m 49 s to 6 m 23 s of training on
 * SwiftShader with 2 cores, as fast as the VM was (0.18–0.24 s a step;
 * 0.27 s in the slowest hour with the batches drawn, samples and
 * checkpoints); the default recipe's Fréchet distance falls to about 36
 * by then (docs/RECIPES.md).
 */
export const DCGAN_RUNS: Record<DcganConfigName, { batch: number; lr: number; steps: number }> = {
  tiny: { batch: 16, lr: 1e-3, steps: 1400 },
  small: { batch: 64, lr: 2e-4, steps: 3000 },
  base: { batch: 128, lr: 2e-4, steps: 10000 },
};

/** A full training config from a named size and the run's options. */
export function dcganTrainConfig(
  name: string,
  options: {
    channels: 1 | 3; data: string; batch?: number; lr?: number; lrD?: number; seed?: number; samples?: number;
    recipe?: string; upsample?: GeneratorUpsample; discriminatorNorm?: DiscriminatorNorm; loss?: DcganLoss; emaDecay?: number;
    betas?: [number, number];
    /** override the named size's widths (PyTorch's DCGAN example calls them nz, ngf and ndf) */
    latent?: number; generatorWidth?: number; discriminatorWidth?: number;
  },
): DcganTrainConfig {
  const sizes = DCGAN_CONFIGS[name as DcganConfigName];
  if (!sizes) throw new Error(`dcgan: unknown config '${name}'; valid: ${Object.keys(DCGAN_CONFIGS).join(', ')}`);
  const recipeName = options.recipe ?? DEFAULT_DCGAN_RECIPE;
  const recipe: DcganRecipe | undefined = DCGAN_RECIPES[recipeName as DcganRecipeName];
  if (!recipe) throw new Error(`dcgan: unknown recipe '${recipeName}'; valid: ${Object.keys(DCGAN_RECIPES).join(', ')}`);
  const config: DcganTrainConfig = {
    ...sizes,
    latent: options.latent ?? sizes.latent,
    generatorWidth: options.generatorWidth ?? sizes.generatorWidth,
    discriminatorWidth: options.discriminatorWidth ?? sizes.discriminatorWidth,
    upsample: options.upsample ?? recipe.upsample,
    discriminatorNorm: options.discriminatorNorm ?? recipe.discriminatorNorm,
    loss: options.loss ?? recipe.loss,
    emaDecay: options.emaDecay ?? recipe.emaDecay,
    recipe: recipeName,
    channels: options.channels,
    configName: name,
    data: options.data,
    batch: options.batch ?? DCGAN_RUNS[name as DcganConfigName].batch,
    lr: options.lr ?? DCGAN_RUNS[name as DcganConfigName].lr,
    ...(options.lrD === undefined ? {} : { lrD: options.lrD }),
    betas: options.betas ?? [...recipe.betas],
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
  if (config.lrD !== undefined && !(config.lrD > 0)) throw new Error(`dcgan: lrD must be > 0, got ${config.lrD}`);
  if (!Number.isInteger(config.samples) || config.samples < 1 || config.samples > MAX_FIXED_SAMPLES) {
    throw new Error(`dcgan: samples must be an integer from 1 to ${MAX_FIXED_SAMPLES}, got ${config.samples}`);
  }
  if (config.loss !== undefined && config.loss !== 'bce' && config.loss !== 'hinge') throw new Error(`dcgan: loss must be 'bce' or 'hinge', got ${JSON.stringify(config.loss)}`);
  if (!Array.isArray(config.betas) || config.betas.length !== 2 || !config.betas.every((b) => b >= 0 && b < 1)) {
    throw new Error(`dcgan: betas must be two numbers in [0, 1), got ${JSON.stringify(config.betas)}`);
  }
  const decay = config.emaDecay ?? 0;
  if (!(decay >= 0 && decay < 1)) throw new Error(`dcgan: emaDecay must be in [0, 1), got ${config.emaDecay}`);
}

/** D's loss on real and fake logits [n], and G's on the logits of its fakes. */
export function discriminatorLoss(loss: DcganLoss, realLogits: Tensor, fakeLogits: Tensor): Tensor {
  if (loss === 'hinge') return hingeLoss(realLogits, 1).add(hingeLoss(fakeLogits, -1));
  return bceWithLogits(realLogits, 1).add(bceWithLogits(fakeLogits, 0));
}

export function generatorLoss(loss: DcganLoss, fakeLogits: Tensor): Tensor {
  if (loss === 'hinge') return scaledMean(fakeLogits, -1);
  return bceWithLogits(fakeLogits, 1);
}

export class DcganTrainer {
  readonly generator: Generator;
  readonly discriminator: Discriminator;
  readonly optG: Adam;
  readonly optD: Adam;
  /** the weight average samples come from (emaDecay > 0), else null */
  readonly emaGenerator: Generator | null;
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
    this.optG = new Adam(this.generator.parameters(), { lr: config.lr, betas: config.betas });
    this.optD = new Adam(this.discriminator.parameters(), { lr: config.lrD ?? config.lr, betas: config.betas });
    this.emaGenerator = null;
    if ((config.emaDecay ?? 0) > 0) {
      this.emaGenerator = new Generator(config);
      this.emaGenerator.loadStateDict(this.generator.stateDict());
      for (const p of this.emaGenerator.parameters()) p.requiresGrad = false;
    }
  }

  /**
   * The (average, live) tensors the EMA moves, as two groups: the weights in
   * the optimizer's order (one run of its pack, so one dispatch moves them
   * all), then the batchnorm statistics; not the batch counters.
   */
  private emaGroups(ema: Generator): Array<[Tensor[], Tensor[]]> {
    const averaged = ema.stateDict();
    const group = (named: [string, Tensor][]): [Tensor[], Tensor[]] => [named.map(([key]) => averaged[key]), named.map(([, t]) => t)];
    const statistics = this.generator.namedBuffers().filter(([key]) => !key.endsWith('num_batches_tracked'));
    return [group(this.generator.namedParameters()), group(statistics)];
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
    const loss = this.config.loss ?? 'bce';
    const stats = scope(() => {
      const fake = G.forward(randn([batch, latent]));

      const realLogits = D.forward(real);
      const fakeLogits = D.forward(fake.detach());
      const lossD = discriminatorLoss(loss, realLogits, fakeLogits);
      this.optD.zeroGrad();
      lossD.backward();
      this.optD.step();

      // The G step needs the gradient through D, not D's own weight gradients:
      // D's parameters stop asking for them meanwhile, which skips D's
      // weight-gradient convs and their accumulation in this backward pass.
      const dParams = D.parameters();
      for (const p of dParams) p.requiresGrad = false;
      let lossG: Tensor;
      try {
        lossG = generatorLoss(loss, D.forward(fake));
        this.optG.zeroGrad();
        lossG.backward();
        this.optG.step();
      } finally {
        for (const p of dParams) p.requiresGrad = true;
      }
      if (this.emaGenerator) {
        const decay = emaDecayAt(this.config.emaDecay ?? 0, this.step + 1);
        for (const [averages, sources] of this.emaGroups(this.emaGenerator)) noGrad(() => emaUpdate(averages, sources, decay));
      }

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

  /**
   * Starts from another run's weights (fine-tuning): its generator,
   * discriminator and, where both have one, its weight average; this
   * trainer's optimizers and step stay fresh. The nets must have the same
   * shapes (loadStateDict refuses any other, naming the key).
   */
  loadWeightsFrom(source: DcganTrainer): void {
    this.generator.loadStateDict(source.generator.stateDict());
    this.discriminator.loadStateDict(source.discriminator.stateDict());
    this.emaGenerator?.loadStateDict(source.sampler.stateDict());
  }

  /** The generator that draws the samples: the weight average where there is one. */
  get sampler(): Generator {
    return this.emaGenerator ?? this.generator;
  }

  /** The sampler's images (eval mode: running batchnorm statistics) for `noise`, default the fixed noise. */
  async sample(noise: Tensor = this.fixedNoise): Promise<{ data: Float32Array; shape: number[] }> {
    const generator = this.sampler;
    generator.eval();
    try {
      const images = noGrad(() => scope(() => generator.forward(noise)));
      const data = await images.toArray();
      const shape = images.shape;
      images.dispose();
      return { data, shape };
    } finally {
      generator.train();
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
        ...(this.emaGenerator ? { ema: this.emaGenerator.stateDict() } : {}),
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
      load: (trainer, { generator, discriminator, optG, optD, noise, ema }) => {
        if (trainer.emaGenerator && !ema) throw new Error(`it lacks ema (emaDecay is ${trainer.config.emaDecay})`);
        trainer.generator.loadStateDict(generator);
        if (trainer.emaGenerator) trainer.emaGenerator.loadStateDict(ema);
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
    this.emaGenerator?.dispose();
    this.discriminator.dispose();
    this.fixedNoise.dispose();
  }
}

/** The trainer and a loader as the run loop's `Trainable` (train/run.ts): step n trains on the loader's batch n. */
export function dcganTrainable(trainer: DcganTrainer, loader: Loader): Trainable<DcganStepMetrics> {
  return DCGAN_MODEL.trainable(trainer, { loader });
}

/** A new DCGAN run: a named size, the data, and the recipe's choices (each left out takes the recipe's). */
export interface DcganSetup extends ModelSetup {
  lrD?: number;
  recipe?: string;
  upsample?: GeneratorUpsample;
  discriminatorNorm?: DiscriminatorNorm;
  loss?: DcganLoss;
  emaDecay?: number;
  betas?: [number, number];
  /** the named size's widths, overridden (nz, ngf and ndf in PyTorch's DCGAN example) */
  latent?: number;
  generatorWidth?: number;
  discriminatorWidth?: number;
}

/** `changes` without the fields it leaves out, so they do not override the config's. */
function givenChanges(changes: FineTuneChanges): Partial<DcganTrainConfig> {
  return Object.fromEntries(Object.entries(changes).filter(([, value]) => value !== undefined));
}

/** DCGAN as the CLI and the page see it (train/model-description.ts). */
export const DCGAN_MODEL: GenerativeModelDescription<DcganTrainer, DcganTrainConfig, DcganSetup, DcganStepMetrics> = {
  kind: 'dcgan',
  title: 'DCGAN',
  sizes: Object.fromEntries(
    (Object.keys(DCGAN_RUNS) as DcganConfigName[]).map((name) => [name, { imageSize: DCGAN_CONFIGS[name].imageSize, ...DCGAN_RUNS[name] }]),
  ),
  lossNames: ['lossD', 'lossG'],
  shownMetrics: ['lossD', 'lossG', 'dReal', 'dFake'],
  sampleMetrics: [],
  plotNames: [],
  samplePictures: [],
  configure: (setup) => dcganTrainConfig(setup.configName, setup),
  create: (config) => new DcganTrainer(config),
  restore: (bytes, source) => DcganTrainer.fromCheckpoint(bytes, source),
  trainStep: (trainer, loader) => loader.withTensors(trainer.step, (images) => trainer.trainStep(images)),
  trainable: (trainer, { loader }) => trainableOf(DCGAN_MODEL, trainer, loader),
  sample: (trainer) => trainer.sample(),
  generate: (bytes, source, n, seed) => sampleWithSeed(() => DcganTrainer.fromCheckpoint(bytes, source), n, seed),
  fineTune: (source, changes) => {
    const tuned = new DcganTrainer({ ...source.config, ...givenChanges(changes) });
    try {
      tuned.loadWeightsFrom(source);
    } catch (error) {
      tuned.dispose();
      throw error;
    }
    return tuned;
  },
};
