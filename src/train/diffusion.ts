// Training the diffusion model, one step at a time. Browser-safe: the CLI's
// run loop (train/run.ts) and a browser page both drive this class, and
// both save and load the same checkpoint bytes.
//
// One step (Ho et al. 2020, algorithm 1): for each image a timestep t
// uniform over [0, T) and noise ε, both from the seeded global stream (so a
// checkpoint's stream state makes a resumed run exact); x_t from the closed
// form; an Adam step on ‖ε − ε̂(x_t, t, y)‖². Class-conditional nets see
// "no label" for a tenth of the images (label dropout), so the same net
// samples unconditionally and supports classifier-free guidance. After
// each step the EMA copy moves towards the weights; samples come from it.
import { Tensor, scope, liveTensorCount } from '../tensor';
import { noGrad } from '../autograd';
import { randn, tensor } from '../ops/creation';
import { seed, uniformArray } from '../random';
import { Adam, emaDecayAt, emaUpdate } from '../nn/optim';
import { UNET_CONFIGS, UNet, checkUnetConfig, type UnetConfig, type UnetConfigName } from '../models/unet';
import {
  DEFAULT_GUIDANCE, NoiseSchedule, SCHEDULE_KINDS, diffusionLoss, sampleDdim, type Denoiser, type SampleResult, type ScheduleKind,
} from '../models/diffusion';
import { MAX_FIXED_SAMPLES, readCheckpoint, restoreTrainer, writeCheckpoint } from './checkpoint';
import { trainableOf, type GenerateOptions, type GenerativeModelDescription, type ModelSetup } from './model-description';
import type { Loader } from '../data/dataset';
import type { Trainable } from './run';

export interface DiffusionTrainConfig extends UnetConfig {
  /** the named size it came from, for the record */
  configName: string;
  /** the dataset spec (shapes, mnist, images:DIR) */
  data: string;
  schedule: ScheduleKind;
  /** T, the diffusion steps */
  timesteps: number;
  batch: number;
  lr: number;
  seed: number;
  /** the EMA's decay per step (after a warm-up, see emaDecayAt) */
  emaDecay: number;
  /** the fraction of training labels replaced by "no label" (class-conditional nets) */
  labelDropout: number;
  /** images in each sample grid; a multiple of classes when class-conditional (a row per class) */
  samples: number;
  /** DDIM steps (η = 0) behind each sample grid */
  sampleSteps: number;
}

export type DiffusionStepMetrics = {
  step: number;
  /** the ε-prediction MSE of this step's batch */
  loss: number;
  ms: number;
  imagesPerSecond: number;
  tensors: number;
};

/**
 * Each named size's defaults: tiny trains on SwiftShader (2 CPU cores) in
 * minutes per hundred steps; small and base are for real GPUs.
 */
export const DIFFUSION_RUNS: Record<UnetConfigName, {
  timesteps: number; batch: number; lr: number; emaDecay: number;
  /** grid samples per class (class-conditional) or in all (unconditional), and their DDIM steps */
  gridPerClass: number; gridSamples: number; sampleSteps: number;
}> = {
  // a grid of 10 × 10 samples would cost more than a hundred training steps on SwiftShader
  tiny: { timesteps: 200, batch: 32, lr: 1e-3, emaDecay: 0.99, gridPerClass: 2, gridSamples: 16, sampleSteps: 10 },
  small: { timesteps: 1000, batch: 64, lr: 2e-4, emaDecay: 0.999, gridPerClass: 10, gridSamples: 64, sampleSteps: 50 },
  base: { timesteps: 1000, batch: 128, lr: 2e-4, emaDecay: 0.999, gridPerClass: 10, gridSamples: 64, sampleSteps: 50 },
};

/** The default run length of `wgrad train diffusion`. */
export const DIFFUSION_DEFAULT_STEPS = 1000;

/** A full training config from a named size and the run's options. */
export function diffusionTrainConfig(
  name: string,
  options: {
    channels: 1 | 3; imageSize: number; classes: number; data: string;
    schedule?: ScheduleKind; timesteps?: number; batch?: number; lr?: number; seed?: number;
    emaDecay?: number; samples?: number; sampleSteps?: number;
  },
): DiffusionTrainConfig {
  const sizes = UNET_CONFIGS[name as UnetConfigName];
  if (!sizes) throw new Error(`diffusion: unknown config '${name}'; valid: ${Object.keys(UNET_CONFIGS).join(', ')}`);
  const run = DIFFUSION_RUNS[name as UnetConfigName];
  const timesteps = options.timesteps ?? run.timesteps;
  const config: DiffusionTrainConfig = {
    ...sizes,
    channelMults: [...sizes.channelMults],
    imageSize: options.imageSize,
    channels: options.channels,
    classes: options.classes,
    configName: name,
    data: options.data,
    schedule: options.schedule ?? 'cosine',
    timesteps,
    batch: options.batch ?? run.batch,
    lr: options.lr ?? run.lr,
    seed: options.seed ?? 0,
    emaDecay: options.emaDecay ?? run.emaDecay,
    labelDropout: options.classes > 0 ? 0.1 : 0,
    samples: options.samples ?? (options.classes > 0 ? options.classes * run.gridPerClass : run.gridSamples),
    sampleSteps: options.sampleSteps ?? Math.min(run.sampleSteps, timesteps),
  };
  checkTrainConfig(config);
  return config;
}

function checkTrainConfig(config: DiffusionTrainConfig): void {
  checkUnetConfig(config);
  const problems: string[] = [];
  if (!SCHEDULE_KINDS.includes(config.schedule)) problems.push(`schedule must be one of ${SCHEDULE_KINDS.join(', ')}, got '${config.schedule}'`);
  if (!Number.isInteger(config.timesteps) || config.timesteps < 2) problems.push(`timesteps must be an integer ≥ 2, got ${config.timesteps}`);
  if (!Number.isInteger(config.batch) || config.batch < 1) problems.push(`batch must be a positive integer, got ${config.batch}`);
  if (!(config.lr > 0)) problems.push(`lr must be > 0, got ${config.lr}`);
  if (!(config.emaDecay >= 0 && config.emaDecay < 1)) problems.push(`emaDecay must be in [0, 1), got ${config.emaDecay}`);
  if (!(config.labelDropout >= 0 && config.labelDropout < 1)) problems.push(`labelDropout must be in [0, 1), got ${config.labelDropout}`);
  if (!Number.isInteger(config.samples) || config.samples < 1 || config.samples > MAX_FIXED_SAMPLES) {
    problems.push(`samples must be an integer from 1 to ${MAX_FIXED_SAMPLES}, got ${config.samples}`);
  }
  if (config.classes > 0 && config.samples % config.classes !== 0) problems.push(`samples (${config.samples}) must be a multiple of classes (${config.classes}): a row per class`);
  if (!Number.isInteger(config.sampleSteps) || config.sampleSteps < 1 || config.sampleSteps > config.timesteps) {
    problems.push(`sampleSteps must be an integer from 1 to timesteps (${config.timesteps}), got ${config.sampleSteps}`);
  }
  if (problems.length) throw new Error(`diffusion: ${problems.join('; ')}`);
}

/** Labels for `n` samples in class order, a row of n / classes per class; null for an unconditional net. */
export function classRows(classes: number, n: number): number[] | null {
  if (classes === 0) return null;
  const perClass = Math.ceil(n / classes);
  return Array.from({ length: n }, (_, i) => Math.floor(i / perClass));
}

/** Columns of a grid of n samples: a row per class when class-conditional, else about square. */
export function gridColumns(classes: number, n: number): number {
  return classes > 0 ? Math.ceil(n / classes) : Math.ceil(Math.sqrt(n));
}

export class DiffusionTrainer {
  readonly model: UNet;
  /** the exponential moving average of the model's weights: what samples come from */
  readonly ema: UNet;
  readonly opt: Adam;
  readonly schedule: NoiseSchedule;
  /** steps taken so far */
  step = 0;
  private readonly pairs: [Tensor, Tensor][];

  /** Builds the net from `config.seed`: the same seed gives the same weights. */
  constructor(readonly config: DiffusionTrainConfig) {
    checkTrainConfig(config);
    seed(config.seed);
    this.schedule = new NoiseSchedule(config.schedule, config.timesteps);
    this.model = new UNet(config);
    this.ema = new UNet(config);
    this.ema.loadStateDict(this.model.stateDict());
    for (const p of this.ema.parameters()) p.requiresGrad = false;
    const live = this.model.parameters();
    const averaged = this.ema.parameters();
    this.pairs = live.map((p, i) => [p, averaged[i]]);
    this.opt = new Adam(live, { lr: config.lr });
  }

  /** The EMA net and the schedule, for the samplers. */
  get denoiser(): Denoiser {
    return { net: this.ema, schedule: this.schedule };
  }

  /**
   * One Adam step on a batch of images [n, C, s, s] in [-1, 1]. labels: the
   * batch's class ids (required for a class-conditional net; ignored
   * otherwise).
   */
  async trainStep(images: Tensor, labels: ArrayLike<number> | null = null): Promise<DiffusionStepMetrics> {
    const { batch, channels, imageSize, classes, timesteps, labelDropout } = this.config;
    const expected = [batch, channels, imageSize, imageSize];
    if (images.shape.join() !== expected.join()) {
      throw new Error(`diffusion.trainStep: expected images [${expected.join(', ')}], got [${images.shape.join(', ')}]`);
    }
    if (classes > 0 && (!labels || labels.length !== batch)) {
      throw new Error(`diffusion.trainStep: a class-conditional net needs ${batch} labels, got ${labels ? labels.length : 'none'}`);
    }
    const started = performance.now();
    // The stream's draws, in this order: t, the label dropout, ε.
    const t = Array.from(uniformArray(batch), (u) => Math.min(timesteps - 1, Math.floor(u * timesteps)));
    let ids: number[] | null = null;
    if (classes > 0) {
      const drop = uniformArray(batch);
      ids = Array.from({ length: batch }, (_, i) => (drop[i] < labelDropout ? classes : labels![i]));
    }
    const updates = this.step + 1;
    const lossValue = scope(() => {
      const noise = randn(expected);
      const loss = diffusionLoss(this.model, this.schedule, images, t, noise, ids ? tensor(ids, [batch]) : null);
      this.opt.zeroGrad();
      loss.backward();
      this.opt.step();
      this.opt.zeroGrad();
      this.updateEma(emaDecayAt(this.config.emaDecay, updates));
      return loss.detach();
    });
    const loss = await lossValue.item();
    lossValue.dispose();
    this.step++;
    const ms = performance.now() - started;
    return { step: this.step, loss, ms, imagesPerSecond: (batch * 1000) / ms, tensors: liveTensorCount() };
  }

  /** ema ← decay·ema + (1 − decay)·weights, in place. */
  private updateEma(decay: number): void {
    noGrad(() => {
      emaUpdate(this.pairs.map(([, e]) => e), this.pairs.map(([p]) => p), decay);
    });
  }

  /**
   * A sample grid from the EMA weights: config.samples images by DDIM
   * (config.sampleSteps steps, η = 0) from a seed fixed for the run, so the
   * grids of a run show one set of noise maturing. Class-conditional: a
   * row per class, in class order.
   */
  async sample(): Promise<SampleResult & { columns: number }> {
    const { samples, sampleSteps, classes, seed: runSeed } = this.config;
    const result = await sampleDdim(this.denoiser, { n: samples, steps: sampleSteps, eta: 0, seed: runSeed, labels: classRows(classes, samples) });
    return { ...result, columns: gridColumns(classes, samples) };
  }

  /** The model, its EMA, the optimizer, the step and the random stream's state. */
  async checkpoint(): Promise<Uint8Array> {
    return writeCheckpoint(
      { model: this.model.stateDict(), ema: this.ema.stateDict(), opt: this.opt.stateDict() },
      { model: 'diffusion', config: this.config, step: this.step },
    );
  }

  /**
   * A trainer in the state the checkpoint was saved in, ready to go on:
   * the same next steps as the run that wrote it. `source` names the file
   * in errors.
   */
  static fromCheckpoint(bytes: Uint8Array, source: string): DiffusionTrainer {
    return restoreTrainer<DiffusionTrainConfig, DiffusionTrainer>(bytes, source, 'diffusion', {
      label: 'diffusion',
      required: ['model', 'ema', 'opt'],
      make: (config) => new DiffusionTrainer(config),
      load: (trainer, { model, ema, opt }) => {
        trainer.model.loadStateDict(model);
        trainer.ema.loadStateDict(ema);
        trainer.opt.loadStateDict(opt);
      },
    });
  }

  dispose(): void {
    this.opt.dispose();
    this.model.dispose();
    this.ema.dispose();
  }
}

/** A checkpoint's EMA net, ready to sample: what `wgrad sample diffusion` and scoring need, without the optimizer. */
export interface LoadedDenoiser extends Denoiser {
  readonly config: DiffusionTrainConfig;
  readonly step: number;
  dispose(): void;
}

export function loadDenoiser(bytes: Uint8Array, source: string): LoadedDenoiser {
  const ckpt = readCheckpoint<DiffusionTrainConfig>(bytes, source, 'diffusion');
  try {
    const config = ckpt.config;
    let net: UNet;
    let schedule: NoiseSchedule;
    try {
      checkTrainConfig(config);
      net = new UNet(config);
      schedule = new NoiseSchedule(config.schedule, config.timesteps);
    } catch (error) {
      throw new Error(`${source}: bad diffusion config in the checkpoint: ${(error as Error).message}`);
    }
    try {
      if (!ckpt.parts.ema) throw new Error('it has no ema part');
      net.loadStateDict(ckpt.parts.ema);
    } catch (error) {
      net.dispose();
      throw new Error(`${source}: ${(error as Error).message}`);
    }
    return { net, schedule, config, step: ckpt.step, dispose: () => net.dispose() };
  } finally {
    ckpt.dispose();
  }
}

/**
 * The trainer and a loader as the run loop's `Trainable` (train/run.ts):
 * step n trains on the loader's batch n (with its labels when the net is
 * class-conditional).
 */
export function diffusionTrainable(trainer: DiffusionTrainer, loader: Loader): Trainable<DiffusionStepMetrics> {
  return DIFFUSION_MODEL.trainable(trainer, { loader });
}

/** DDIM steps and images per sampler run behind `wgrad eval` */
const EVAL_STEPS = 50;
const EVAL_CHUNK = 256;

/**
 * n images from a checkpoint's EMA weights for `wgrad eval`: DDIM (50
 * steps, η = 0); a class-conditional net gets the classes in turn, so the
 * samples are as balanced as the real test images they are scored against,
 * guided as `wgrad sample diffusion` guides them unless told.
 */
async function generateForEval(bytes: Uint8Array, source: string, n: number, seed: number, options: GenerateOptions = {}): Promise<{ data: Float32Array; shape: number[] }> {
  const denoiser = loadDenoiser(bytes, source);
  try {
    const { channels, imageSize, classes, timesteps } = denoiser.config;
    if (options.guidance !== undefined && classes === 0) {
      throw new Error(`diffusion: guidance needs a class-conditional model; ${source} is unconditional`);
    }
    const guidance = classes > 0 ? options.guidance ?? DEFAULT_GUIDANCE : 1;
    const imageLength = channels * imageSize * imageSize;
    const data = new Float32Array(n * imageLength);
    for (let start = 0; start < n; start += EVAL_CHUNK) {
      const count = Math.min(EVAL_CHUNK, n - start);
      const labels = classes > 0 ? Array.from({ length: count }, (_, i) => (start + i) % classes) : null;
      const chunk = await sampleDdim(denoiser, { n: count, steps: Math.min(EVAL_STEPS, timesteps), eta: 0, seed: seed + start, labels, guidance });
      data.set(chunk.data, start * imageLength);
    }
    return { data, shape: [n, channels, imageSize, imageSize] };
  } finally {
    denoiser.dispose();
  }
}

/** A new diffusion run: a named size, the data at its image size and classes, and the schedule's choices. */
export interface DiffusionSetup extends ModelSetup {
  imageSize: number;
  classes: number;
  schedule?: ScheduleKind;
  timesteps?: number;
  emaDecay?: number;
  sampleSteps?: number;
}

/** The diffusion model as the CLI and the page see it (train/model-description.ts). */
export const DIFFUSION_MODEL: GenerativeModelDescription<DiffusionTrainer, DiffusionTrainConfig, DiffusionSetup, DiffusionStepMetrics> = {
  kind: 'diffusion',
  title: 'diffusion',
  sizes: Object.fromEntries(
    Object.entries(DIFFUSION_RUNS).map(([name, run]) => [name, { batch: run.batch, lr: run.lr, steps: DIFFUSION_DEFAULT_STEPS }]),
  ),
  lossNames: ['loss'],
  shownMetrics: ['loss'],
  sampleMetrics: [],
  plotNames: [],
  samplePictures: [],
  configure: (setup) => diffusionTrainConfig(setup.configName, setup),
  create: (config) => new DiffusionTrainer(config),
  restore: (bytes, source) => DiffusionTrainer.fromCheckpoint(bytes, source),
  // step n trains on the loader's batch n, with its labels when the net is class-conditional
  async trainStep(trainer, loader) {
    const { batch, channels, imageSize, classes } = trainer.config;
    const { images, labels } = loader.batch(trainer.step);
    const x = tensor(images, [batch, channels, imageSize, imageSize]);
    try {
      return await trainer.trainStep(x, classes > 0 ? labels : null);
    } finally {
      x.dispose();
    }
  },
  trainable(trainer, { loader }) {
    const { channels, imageSize, batch } = trainer.config;
    if (loader.dataset.channels !== channels || loader.dataset.size !== imageSize || loader.batchSize !== batch) {
      throw new Error(
        `diffusionTrainable: the loader gives [${loader.batchSize}, ${loader.dataset.channels}, ${loader.dataset.size}, ${loader.dataset.size}] batches, ` +
          `the config takes [${batch}, ${channels}, ${imageSize}, ${imageSize}]`,
      );
    }
    return trainableOf(DIFFUSION_MODEL, trainer, loader);
  },
  sample: (trainer) => trainer.sample(),
  generate: generateForEval,
};
