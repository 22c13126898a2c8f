// What the three training pages share, wired together: the settings and
// buttons (controls.ts), the training loop (loop.ts), the sample grid and
// loss chart (charts.ts), the stats line (stats.ts), checkpoint download,
// upload and the pretrained models (checkpoint-io.ts) and dropped files
// (drop.ts), all around one model and its lock (model-slot.ts). A page
// gives its model's description (src/train/model-description.ts), with
// what is the page's own, as a ModelKind (model-kind.ts) and adds its own
// panels (the VAE's latent map, the diffusion sampler) through addPanel,
// withModel and the listeners; the tests drive it through hooks().
import * as wg from '../../src/index';
import { Loader, type Dataset } from '../../src/data/dataset';
import type { DecodedImage } from '../../src/data/images';
import { CheckpointIO, base64ToBytes, bytesToBase64 } from './checkpoint-io';
import { TrainingCharts } from './charts';
import { TrainingControls, type ControlActions } from './controls';
import { choiceOf, decodePhotos, openPageDataset, specOf } from './data';
import { listenForDrops } from './drop';
import { TrainingLoop } from './loop';
import { createTrainer, defaultBatch, imageSizeOf, type ModelKind, type TrainerLike } from './model-kind';
import { ModelSlot } from './model-slot';
import { TrainingStats } from './stats';
import './training.css';

type Listener<T> = (trainer: T | null) => void;

function positiveInt(params: URLSearchParams, name: string): number | undefined {
  const raw = params.get(name);
  if (raw === null) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`URL option ${name}=${raw}: expected a positive integer`);
  return n;
}

export class TrainingPage<T extends TrainerLike> {
  readonly params = new URLSearchParams(location.search);
  readonly onCpu = wg.onCpuDevice();

  private readonly slot = new ModelSlot<T>();
  private readonly photos: DecodedImage[] = [];
  /** Start pressed, the model or the data still being built */
  private starting = false;
  private readonly listeners: Listener<T>[] = [];
  private readonly stopListeners: (() => void)[] = [];
  private readonly sampleEvery: number;
  private readonly batchOverride: number | undefined;
  private readonly controls: TrainingControls;
  private readonly charts: TrainingCharts;
  private readonly stats: TrainingStats;
  private readonly loop: TrainingLoop<T>;
  private readonly checkpoints: CheckpointIO<T>;

  constructor(readonly kind: ModelKind<T>, root: HTMLElement) {
    this.sampleEvery = positiveInt(this.params, 'every') ?? kind.defaultSampleEvery(this.onCpu);
    const stopAt = positiveInt(this.params, 'steps'); // ?steps=N: training stops by itself at step N
    this.batchOverride = positiveInt(this.params, 'batch');

    const actions: ControlActions = {
      start: () => void this.guard(() => this.start()),
      fromPretrained: () => void this.guard(async () => {
        await this.checkpoints.fromPretrained();
        await this.start();
      }),
      pause: () => void this.pause(),
      reset: () => void this.reset(),
      download: () => void this.guard(() => this.checkpoints.download()),
      loadCheckpoint: (file) => void this.guard(() => this.checkpoints.loadFile(file)),
      addPhotos: (files) => void this.addPhotos(files),
    };
    this.controls = new TrainingControls(kind, this.onCpu, this.params, actions);
    this.charts = new TrainingCharts(kind.model.lossNames, this.sampleEvery);
    this.stats = new TrainingStats(kind.model.lossNames);
    this.loop = new TrainingLoop(kind, this.slot, {
      stepped: (trainer, metrics) => this.stepped(trainer, metrics),
      status: (text) => this.controls.setStatus(text),
      error: (error) => this.controls.showError(error),
      stopped: () => {
        this.showState();
        this.showStats();
        for (const listener of this.stopListeners) listener();
      },
    }, stopAt);
    this.checkpoints = new CheckpointIO({
      kind, slot: this.slot, controls: this.controls, photos: this.photos,
      pause: () => this.pause(),
      adopt: (status) => this.adopt(status),
    });

    root.append(this.controls.section, this.charts.panels);
    listenForDrops(actions);
    this.showState();
    this.showStats();
  }

  // ------------------------------------------------------------ for the pages

  get trainer(): T | null {
    return this.slot.trainer;
  }

  /** A panel in the page's grid of panels; pages put their own views in these. */
  addPanel(title: string, testId: string): HTMLElement {
    return this.charts.addPanel(title, testId);
  }

  /** Called with the new trainer (or null) after a build, a checkpoint load or a reset. */
  onTrainerChange(listener: Listener<T>): void {
    this.listeners.push(listener);
  }

  /** Called when the training loop stops (pause, step limit, error). */
  onStop(listener: () => void): void {
    this.stopListeners.push(listener);
  }

  /** Runs `fn` on the current model between training steps; null when the model is gone by then. */
  withModel<R>(fn: (trainer: T) => Promise<R>): Promise<R | null> {
    return this.slot.withModel(fn);
  }

  /** The test split of the trainer's data, at its size (photos: the same photos). */
  heldOut(): Promise<Dataset> {
    const { data, imageSize, channels, seed } = this.requireTrainer().config;
    return openPageDataset({ choice: choiceOf(data), size: imageSize, channels, split: 'test', seed }, this.photos);
  }

  isRunning(): boolean {
    return this.loop.isRunning();
  }

  requireTrainer(): T {
    return this.slot.require();
  }

  /** Runs an action from a button, showing what goes wrong in the status line. */
  async guard(action: () => Promise<void>): Promise<void> {
    try {
      await action();
    } catch (error) {
      this.controls.showError(error);
    }
  }

  // ------------------------------------------------------------ training

  async start(): Promise<void> {
    if (this.loop.isRunning() || this.starting) return;
    this.starting = true;
    this.showState();
    try {
      if (!this.slot.trainer) await this.build();
      if (!this.slot.loader) this.slot.loader = await this.loaderFor(this.slot.require());
    } finally {
      this.starting = false;
      this.showState();
    }
    const trainer = this.slot.require();
    if (this.loop.atLimit(trainer)) return;
    this.loop.run(trainer, this.slot.loader);
    this.controls.setStatus('Training…');
    this.showState();
  }

  /** Stops after the step in progress; resolves once it has. */
  async pause(): Promise<void> {
    await this.loop.pause();
    this.showState();
  }

  /** Throws the model away; the next Start builds a fresh one from the settings. */
  async reset(): Promise<void> {
    await this.pause();
    await this.slot.replace(() => null);
    this.stats.clear();
    this.charts.clearLosses();
    this.charts.clearSamples();
    this.controls.setStatus('Press Start to build the model and train it in this tab.');
    this.showState();
    this.showStats();
    for (const listener of this.listeners) listener(null);
  }

  /** A fresh trainer from the settings, and its first sample grid. */
  private async build(): Promise<void> {
    const { configName, choice, lr, extra } = this.controls.chosen();
    this.controls.setStatus(choice === 'mnist' ? 'Loading the digits…' : 'Preparing the data…');
    const dataset = await openPageDataset({ choice, size: imageSizeOf(this.kind, configName, extra), split: 'train', seed: 0 }, this.photos);
    let batch = this.batchOverride ?? defaultBatch(this.kind, configName, this.onCpu);
    if (dataset.count < 2) throw new Error('training needs at least 2 images: add more photos');
    batch = Math.min(batch, dataset.count);
    this.controls.setStatus('Building the model…');
    await this.slot.replace(
      () => createTrainer(this.kind, { configName, data: specOf(choice), dataset, batch, lr, seed: 0, params: this.params, extra, onCpu: this.onCpu }),
      (trainer) => new Loader(dataset, { batchSize: trainer.config.batch, seed: trainer.config.seed, flip: choice === 'photos' }),
    );
    await this.adopt();
  }

  /** The loader a trainer's config calls for: the same batches the CLI's run gives at each step. */
  private async loaderFor(trainer: T): Promise<Loader> {
    const { data, imageSize, channels, seed, batch } = trainer.config;
    const choice = choiceOf(data);
    if (choice === 'photos' && this.photos.length === 0) {
      throw new Error('this model trained on photos: add photos (or drop them here) to go on training it');
    }
    const dataset = await openPageDataset({ choice, size: imageSize, channels, split: 'train', seed }, this.photos);
    return new Loader(dataset, { batchSize: Math.min(batch, dataset.count), seed, flip: choice === 'photos' });
  }

  /** Shows the model just put in the slot: no losses yet, `status`, the listeners told, its first sample grid. */
  private async adopt(status?: string): Promise<void> {
    this.stats.clear();
    this.charts.clearLosses();
    if (status !== undefined) this.controls.setStatus(status);
    const trainer = this.slot.trainer;
    for (const listener of this.listeners) listener(trainer);
    await this.refreshSamples();
  }

  /** What the page shows of a step: the losses, the stats, and a sample grid when one is due. */
  private async stepped(trainer: T, metrics: Record<string, number>): Promise<void> {
    this.stats.record(metrics);
    this.charts.addLosses(trainer.step, metrics);
    this.showStats();
    if (trainer.step % this.sampleEvery === 0) await this.refreshSamples();
  }

  /** Redraws the sample grid from the run's fixed noise. */
  private async refreshSamples(): Promise<void> {
    const trainer = this.slot.trainer;
    if (!trainer) return;
    const grid = await this.slot.exclusive(() => this.kind.model.sample(trainer));
    this.charts.showSamples(trainer.step, grid);
    this.showStats();
  }

  /** Decodes photos and trains on them from now on (a fresh model). */
  private async addPhotos(files: File[]): Promise<void> {
    const { images, skipped } = await decodePhotos(files.filter((f) => f.type === '' || f.type.startsWith('image/')));
    this.photos.push(...images);
    if (this.controls.showPhotos(this.photos.length, skipped)) await this.reset();
  }

  private showState(): void {
    this.controls.showState(this.loop.isRunning(), this.starting, this.slot.trainer?.step ?? null);
  }

  private showStats(): void {
    this.controls.showStats(this.stats.line(this.slot.trainer?.step ?? 0));
  }

  // ------------------------------------------------------------ tests

  /** The hooks every training page gives the tests (window.__demo). */
  hooks(): Record<string, unknown> {
    return {
      start: () => this.start(),
      pause: () => this.pause(),
      reset: () => this.reset(),
      running: () => this.loop.isRunning(),
      steps: () => this.slot.trainer?.step ?? 0,
      /** trains `n` more steps (past the URL's ?steps=) and resolves when they are done */
      trainMore: async (n: number) => {
        this.loop.stopAt = (this.slot.trainer?.step ?? 0) + n;
        await this.start();
        await this.loop.finished();
      },
      losses: () => this.stats.last,
      chartPoints: () => this.charts.pointCounts(),
      gridPixels: () => this.charts.gridPixels(),
      gridDraws: () => this.charts.gridDraws,
      status: () => this.controls.statusText(),
      loadCheckpoint: (bytes: string | number[], name = 'checkpoint.safetensors') =>
        this.checkpoints.load(typeof bytes === 'string' ? base64ToBytes(bytes) : Uint8Array.from(bytes), name),
      checkpointBase64: async () => bytesToBase64(await this.checkpoints.bytes()),
    };
  }
}
