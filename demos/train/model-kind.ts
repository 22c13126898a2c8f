// What a training page needs to know about its model: how to build,
// step, sample and restore a trainer, and the settings it takes. Each page
// entry (dcgan.ts, vae.ts, diffusion.ts) writes one ModelKind; the shared
// page (training-page.ts) never names a model. Kept apart from the page so
// the entries import the contract without the page's DOM.
import type { Dataset, Loader } from '../../src/data/dataset';

/** What every trainer's config holds (DcganTrainConfig, VaeTrainConfig, DiffusionTrainConfig). */
export interface TrainConfigBase {
  configName: string;
  data: string;
  imageSize: number;
  channels: 1 | 3;
  batch: number;
  lr: number;
  seed: number;
}

/** What every trainer does (DcganTrainer, VaeTrainer, DiffusionTrainer). */
export interface TrainerLike {
  step: number;
  readonly config: TrainConfigBase;
  checkpoint(): Promise<Uint8Array>;
  dispose(): void;
}

/** A select of the page's own among the settings (the diffusion page's image size). */
export interface ExtraSetting {
  name: string;
  label: string;
  choices: [value: string, text: string][];
  initial: string;
}

export interface TrainSetup {
  configName: string;
  /** the data spec the config records: shapes, mnist or images:photos */
  data: string;
  dataset: Dataset;
  batch: number;
  lr: number;
  seed: number;
  /** the page's URL options (?samples=4 ...), for micro configs in tests */
  params: URLSearchParams;
  /** the values of the page's extra settings, by name */
  extra: Record<string, string>;
}

export interface ModelKind<T extends TrainerLike> {
  kind: 'dcgan' | 'vae' | 'diffusion';
  configNames: readonly string[];
  lossNames: readonly string[];
  defaultLr(configName: string): number;
  defaultBatch(configName: string, onCpu: boolean): number;
  /** steps between sample grids when the URL does not say */
  defaultSampleEvery(onCpu: boolean): number;
  /** the size the data is loaded at for a config */
  imageSize(configName: string, extra: Record<string, string>): number;
  extraSettings?(onCpu: boolean, params: URLSearchParams): ExtraSetting[];
  /** the extra settings' values a trainer was built with (to show a loaded checkpoint's) */
  extraOf?(trainer: T): Record<string, string>;
  create(setup: TrainSetup): T;
  fromCheckpoint(bytes: Uint8Array, source: string): T;
  trainStep(trainer: T, loader: Loader): Promise<Record<string, number>>;
  /** the sample grid: images [n, C, s, s] in [-1, 1], from noise fixed for the run */
  sampleGrid(trainer: T): Promise<{ data: Float32Array; shape: number[]; columns?: number }>;
  /**
   * A new run on other data that starts from a trained model's weights
   * (fine-tuning on photos). Without it, "Start from pretrained" goes on
   * training the pretrained model on its own data.
   */
  fineTune?(source: T, setup: { data: string; dataset: Dataset; batch: number }): T;
}
