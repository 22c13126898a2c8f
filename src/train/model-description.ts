// What a model is to the hosts that train it: one description per model
// (DCGAN, VAE, diffusion, classifier), exported beside its trainer and
// gathered by kind in models.ts. The CLI (src/cli/) and the training pages
// (demos/) are thin hosts over it: they build, restore, step and sample
// trainers only through a description, and learn from it which metrics are
// losses and what each sample point adds. A description returns numbers,
// pictures and bytes; it never writes a file or draws on a page.
// Browser-safe, like the rest of src/train/.
import type { Dataset, Loader } from '../data/dataset';
import type { SampleExtras, StepMetrics, Trainable } from './run';

export type ModelKindName = 'dcgan' | 'vae' | 'diffusion' | 'classifier';

/** What every trainer's config holds. */
export interface TrainConfigBase {
  configName: string;
  /** the data spec: shapes, mnist, images:DIR */
  data: string;
  imageSize: number;
  channels: 1 | 3;
  batch: number;
  lr: number;
  seed: number;
}

/** What every trainer does (DcganTrainer, VaeTrainer, DiffusionTrainer, ClassifierTrainer). */
export interface ModelTrainer {
  /** steps taken so far */
  step: number;
  readonly config: TrainConfigBase;
  checkpoint(): Promise<Uint8Array>;
  dispose(): void;
}

/** A named size's defaults: the image size it is built for (where fixed), and its run's batch, learning rate and steps. */
export interface SizeDefaults {
  imageSize?: number;
  batch: number;
  lr: number;
  steps: number;
}

/** What a new run is made from: a named size and the run's choices; what is left out takes the size's default. */
export interface ModelSetup {
  configName: string;
  data: string;
  channels: 1 | 3;
  /** the image size, for models whose sizes do not fix it (diffusion) */
  imageSize?: number;
  /** classes of a class-conditional model (0: unconditional) */
  classes?: number;
  batch?: number;
  lr?: number;
  seed?: number;
  /** images in each sample grid */
  samples?: number;
}

/** How `generate` draws, where a model has a choice. */
export interface GenerateOptions {
  /** a class-conditional diffusion model's classifier-free guidance scale (default: its sampler's default) */
  guidance?: number;
}

/** What a run trains on: the batches, and held-out images for models that report held-out metrics (the VAE). */
export interface TrainingData {
  loader: Loader;
  heldOut?: Dataset;
}

/** Images [n, C, s, s] in [-1, 1], and the columns of their grid where the model has a layout (a row per class). */
export interface ImageBatch {
  data: Float32Array;
  shape: number[];
  columns?: number;
}

/** What a fine-tuning run changes of the trained model's config. */
export interface FineTuneChanges {
  data: string;
  batch?: number;
  lr?: number;
  seed?: number;
  samples?: number;
}

export interface ModelDescription<
  T extends ModelTrainer = ModelTrainer,
  C extends TrainConfigBase = T['config'],
  S extends ModelSetup = ModelSetup,
  M extends StepMetrics = StepMetrics,
> {
  readonly kind: ModelKindName;
  /** how messages name it: 'DCGAN', 'VAE', 'diffusion', 'classifier' */
  readonly title: string;
  /** the named sizes, in order, with their defaults */
  readonly sizes: Readonly<Record<string, SizeDefaults>>;
  /** the step metrics that are losses: charted, plotted, and checked for NaN/Inf */
  readonly lossNames: readonly string[];
  /** the step metrics a progress line shows */
  readonly shownMetrics: readonly string[];
  /** the metrics each sample point adds (held-out losses) */
  readonly sampleMetrics: readonly string[];
  /** those of sampleMetrics plotted beside the losses */
  readonly plotNames: readonly string[];
  /** the pictures each sample point adds, by name (a run folder keeps them as <name>/step-N.png) */
  readonly samplePictures: readonly string[];

  /** A whole training config from a named size and the run's choices; errors name the bad field. */
  configure(setup: S): C;
  /** A fresh trainer for a config, its weights and noise from config.seed. */
  create(config: C): T;
  /** A trainer in the state its checkpoint was saved in; `source` names the file in errors. */
  restore(bytes: Uint8Array, source: string): T;
  /** One training step on the loader's batch for the trainer's step. */
  trainStep(trainer: T, loader: Loader): Promise<M>;
  /** The trainer as the run loop's Trainable (train/run.ts), with what its sample points add. */
  trainable(trainer: T, data: TrainingData): Trainable<M>;
  /** The sample grid from the run's fixed noise (generative models). */
  sample?(trainer: T): Promise<ImageBatch>;
  /** n images from a checkpoint, drawn for `seed` (what `wgrad eval` scores). */
  generate?(bytes: Uint8Array, source: string, n: number, seed: number, options?: GenerateOptions): Promise<ImageBatch>;
  /** A new run from a trained model's weights with some of its config changed (fine-tuning). */
  fineTune?(source: T, changes: FineTuneChanges): T;
}

/** A model that draws images: its sample grid and `generate` are there. */
export type GenerativeModelDescription<
  T extends ModelTrainer = ModelTrainer,
  C extends TrainConfigBase = T['config'],
  S extends ModelSetup = ModelSetup,
  M extends StepMetrics = StepMetrics,
> = ModelDescription<T, C, S, M> & Required<Pick<ModelDescription<T, C, S, M>, 'sample' | 'generate'>>;

/** A description of any model, as a registry holds it (its trainer, config and setup types erased). */
export type AnyModelDescription = ModelDescription<any, any, any, any>;

/**
 * The run loop's Trainable for a trainer, from its description: its step
 * from the loader, the sample grid, its checkpoint, and what `extras` adds
 * at each sample point.
 */
export function trainableOf<T extends ModelTrainer, M extends StepMetrics>(
  model: ModelDescription<T, T['config'], ModelSetup, M>,
  trainer: T,
  loader: Loader,
  extras?: (step: number) => Promise<SampleExtras>,
): Trainable<M> {
  const sample = model.sample;
  if (!sample) throw new Error(`${model.kind}: it draws no sample grids, so it has no run loop`);
  return {
    kind: model.kind,
    config: trainer.config,
    get step() {
      return trainer.step;
    },
    lossNames: model.lossNames,
    ...(model.plotNames.length ? { plotNames: model.plotNames } : {}),
    trainStep: () => model.trainStep(trainer, loader),
    sampleImages: () => sample(trainer),
    checkpoint: () => trainer.checkpoint(),
    ...(extras ? { sampleExtras: extras } : {}),
  };
}
