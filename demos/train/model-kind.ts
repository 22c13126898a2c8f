// What a training page adds to its model's description
// (src/train/model-description.ts, which the CLI uses too): only what is
// the page's own — the batch on a CPU adapter, how often the grid is
// redrawn, the extra settings widgets, and the setup's page parts (URL
// options for micro configs). Building, restoring, stepping and sampling
// all go through the description. Each page entry (dcgan.ts, vae.ts,
// diffusion.ts) writes one ModelKind; the shared page (training-page.ts)
// never names a model. Kept apart from the page so the entries import the
// contract without the page's DOM.
import type { Dataset } from '../../src/data/dataset';
import type { GenerativeModelDescription, ModelSetup, ModelTrainer } from '../../src/train/model-description';

export type { TrainConfigBase } from '../../src/train/model-description';

/** What every trainer does (DcganTrainer, VaeTrainer, DiffusionTrainer). */
export type TrainerLike = ModelTrainer;

/** A select of the page's own among the settings (the diffusion page's image size). */
export interface ExtraSetting {
  name: string;
  label: string;
  choices: [value: string, text: string][];
  initial: string;
}

/** What the page knows when it builds a new run. */
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
  onCpu: boolean;
}

export interface ModelKind<T extends TrainerLike> {
  /** the model's description: sizes and their defaults, create, restore, step, sample, fine-tune */
  model: GenerativeModelDescription<T, any, any, any>;
  /** the batch on a CPU adapter (SwiftShader), where smaller than the size's */
  cpuBatch?: number;
  /** steps between sample grids when the URL does not say */
  defaultSampleEvery(onCpu: boolean): number;
  /** the size the data is loaded at, where the model's sizes leave it open (default: the size's) */
  imageSize?(configName: string, extra: Record<string, string>): number;
  extraSettings?(onCpu: boolean, params: URLSearchParams): ExtraSetting[];
  /** the extra settings' values a trainer was built with (to show a loaded checkpoint's) */
  extraOf?(trainer: T): Record<string, string>;
  /** the description's setup for a new run (default: baseSetup) */
  setup?(page: TrainSetup): ModelSetup;
}

/** A number from the URL's options, if given. */
export function optionalNumber(params: URLSearchParams, name: string): number | undefined {
  const raw = params.get(name);
  return raw === null ? undefined : Number(raw);
}

/** A new run's setup as every page makes it: the chosen size, data, batch and rate, and ?samples= from the URL. */
export function baseSetup(page: TrainSetup): ModelSetup {
  const { configName, data, dataset, batch, lr, seed, params } = page;
  return { configName, data, channels: dataset.channels, batch, lr, seed, samples: optionalNumber(params, 'samples') };
}

/** The named sizes the page offers. */
export function configNames(kind: ModelKind<TrainerLike>): string[] {
  return Object.keys(kind.model.sizes);
}

export function defaultLr(kind: ModelKind<TrainerLike>, configName: string): number {
  return kind.model.sizes[configName].lr;
}

export function defaultBatch(kind: ModelKind<TrainerLike>, configName: string, onCpu: boolean): number {
  return onCpu && kind.cpuBatch !== undefined ? kind.cpuBatch : kind.model.sizes[configName].batch;
}

/** The size the data is loaded at for a config. */
export function imageSizeOf(kind: ModelKind<TrainerLike>, configName: string, extra: Record<string, string>): number {
  const size = kind.imageSize?.(configName, extra) ?? kind.model.sizes[configName].imageSize;
  if (size === undefined) throw new Error(`${kind.model.kind}: the page gives no image size for '${configName}'`);
  return size;
}

/** A fresh trainer from the page's settings, through the description. */
export function createTrainer<T extends TrainerLike>(kind: ModelKind<T>, page: TrainSetup): T {
  const setup = kind.setup ? kind.setup(page) : baseSetup(page);
  return kind.model.create(kind.model.configure(setup));
}
