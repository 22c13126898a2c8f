// What the three training pages share: the settings (data, size, learning
// rate), Start / Pause / Reset, the training loop, the live sample grid,
// loss chart and stats, checkpoint download and upload, photo drops, and
// the test hooks. A page describes its model as a ModelKind and adds its
// own panels (the VAE's latent map, the diffusion sampler) beside these.
//
// All model work goes through exclusive(): one thing at a time touches the
// model, so a click on the latent map cannot run while a training step has
// the model in training mode. The loop yields to the page between steps,
// so the tab stays responsive however slow the adapter is.
import * as wg from '../../src/index';
import { Loader, type Dataset } from '../../src/data/dataset';
import type { DecodedImage } from '../../src/data/images';
import { el } from '../common/page';
import { canvasPixels, drawImages, pixelCanvas } from './canvas';
import { DATA_LABELS, choiceOf, decodePhotos, openPageDataset, specOf, type DataChoice } from './data';
import { LossChart } from './loss-chart';
import { fetchPretrained, pretrainedFor } from '../pretrained';
import './training.css';

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

type Listener<T> = (trainer: T | null) => void;

const STEP_WINDOW = 10;

/** A macrotask: lets the page paint and handle input between training steps. */
function yieldToPage(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

function megabytes(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MB`;
}

function formatLoss(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(1) : v.toPrecision(4);
}

function positiveInt(params: URLSearchParams, name: string): number | undefined {
  const raw = params.get(name);
  if (raw === null) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`URL option ${name}=${raw}: expected a positive integer`);
  return n;
}

function base64ToBytes(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function bytesToBase64(bytes: Uint8Array): string {
  let binary = '';
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) binary += String.fromCharCode(...bytes.subarray(i, i + chunk));
  return btoa(binary);
}

export class TrainingPage<T extends TrainerLike> {
  trainer: T | null = null;
  readonly params = new URLSearchParams(location.search);
  readonly onCpu = wg.onCpuDevice();
  readonly panels: HTMLElement;

  private loader: Loader | null = null;
  private photos: DecodedImage[] = [];
  private running = false;
  /** Start pressed, the model or the data still being built */
  private starting = false;
  private loopDone: Promise<void> = Promise.resolve();
  private queue: Promise<unknown> = Promise.resolve();
  private lastMetrics: Record<string, number> | null = null;
  private stepTimes: number[] = [];
  private gridDraws = 0;
  private readonly listeners: Listener<T>[] = [];
  private readonly stopListeners: (() => void)[] = [];
  private readonly sampleEvery: number;
  /** ?steps=N: training stops by itself at step N */
  private stopAt: number | undefined;
  private readonly batchOverride: number | undefined;

  // the controls
  private readonly dataSelect: HTMLSelectElement;
  private readonly configSelect: HTMLSelectElement;
  private readonly lrInput: HTMLInputElement;
  private readonly extraSelects = new Map<string, HTMLSelectElement>();
  private readonly startButton: HTMLButtonElement;
  private readonly pauseButton: HTMLButtonElement;
  private readonly resetButton: HTMLButtonElement;
  private readonly downloadButton: HTMLButtonElement;
  private readonly status: HTMLElement;
  private readonly stats: HTMLElement;
  private readonly photoNote: HTMLElement;
  private readonly grid: HTMLCanvasElement;
  private readonly gridCaption: HTMLElement;
  private readonly chart: LossChart;

  constructor(readonly kind: ModelKind<T>, root: HTMLElement) {
    this.sampleEvery = positiveInt(this.params, 'every') ?? kind.defaultSampleEvery(this.onCpu);
    this.stopAt = positiveInt(this.params, 'steps');
    this.batchOverride = positiveInt(this.params, 'batch');

    // ---- settings
    const settings = el('section', { class: 'panel train-settings', 'aria-label': 'Training settings' });
    const row = el('div', { class: 'controls' });
    this.dataSelect = el('select', { 'data-testid': 'data' });
    for (const choice of Object.keys(DATA_LABELS) as DataChoice[]) {
      const option = el('option', { value: choice }, DATA_LABELS[choice]);
      if (choice === 'photos') option.disabled = true;
      this.dataSelect.append(option);
    }
    const initialData = this.params.get('data');
    this.dataSelect.value = initialData === 'mnist' || initialData === 'shapes' ? initialData : 'shapes';
    const photoInput = el('input', { type: 'file', accept: 'image/*', multiple: '', class: 'visually-hidden', 'data-testid': 'photo-input' });
    const photoButton = el('button', { type: 'button' }, 'Add photos…');
    photoButton.addEventListener('click', () => photoInput.click());
    photoInput.addEventListener('change', () => {
      if (photoInput.files?.length) void this.addPhotos(Array.from(photoInput.files));
      photoInput.value = '';
    });

    this.configSelect = el('select', { 'data-testid': 'config' });
    for (const name of kind.configNames) this.configSelect.append(el('option', { value: name }, name));
    const wanted = this.params.get('config');
    this.configSelect.value = wanted && kind.configNames.includes(wanted) ? wanted : this.onCpu ? 'tiny' : 'small';

    this.lrInput = el('input', { type: 'number', min: '0', step: 'any', inputmode: 'decimal', 'data-testid': 'lr' });
    this.lrInput.value = this.params.get('lr') ?? String(kind.defaultLr(this.configSelect.value));
    this.configSelect.addEventListener('change', () => {
      this.lrInput.value = String(kind.defaultLr(this.configSelect.value));
    });

    row.append(this.labelled('Data', this.dataSelect), photoButton, photoInput, this.labelled('Model size', this.configSelect), this.labelled('Learning rate', this.lrInput));
    for (const extra of kind.extraSettings?.(this.onCpu, this.params) ?? []) {
      const select = el('select', { 'data-testid': extra.name });
      for (const [value, text] of extra.choices) select.append(el('option', { value }, text));
      select.value = extra.initial;
      this.extraSelects.set(extra.name, select);
      row.append(this.labelled(extra.label, select));
    }
    // Settings take effect on a fresh model: changing one while paused starts over.
    for (const select of [this.dataSelect, this.configSelect, this.lrInput, ...this.extraSelects.values()]) {
      select.addEventListener('change', () => void this.reset());
    }

    const buttons = el('div', { class: 'controls buttons' });
    this.startButton = el('button', { type: 'button', class: 'primary', 'data-testid': 'start' }, 'Start');
    this.pauseButton = el('button', { type: 'button', 'data-testid': 'pause' }, 'Pause');
    this.resetButton = el('button', { type: 'button', 'data-testid': 'reset' }, 'Reset');
    this.downloadButton = el('button', { type: 'button', 'data-testid': 'download' }, 'Download checkpoint');
    const pretrainedButton = el('button', { type: 'button', 'data-testid': 'from-pretrained' }, 'Start from pretrained');
    pretrainedButton.title = 'Load the model wgrad ships for this data (on photos: fine-tune the shapes model) and train on from it';
    pretrainedButton.addEventListener('click', () => void this.guard(async () => {
      await this.startFromPretrained();
      await this.start();
    }));
    const loadInput = el('input', { type: 'file', accept: '.safetensors', class: 'visually-hidden', 'data-testid': 'checkpoint-input' });
    const loadButton = el('button', { type: 'button' }, 'Load checkpoint…');
    loadButton.addEventListener('click', () => loadInput.click());
    loadInput.addEventListener('change', async () => {
      const file = loadInput.files?.[0];
      loadInput.value = '';
      if (file) await this.guard(async () => this.loadCheckpoint(new Uint8Array(await file.arrayBuffer()), file.name));
    });
    this.startButton.addEventListener('click', () => void this.guard(() => this.start()));
    this.pauseButton.addEventListener('click', () => void this.pause());
    this.resetButton.addEventListener('click', () => void this.reset());
    this.downloadButton.addEventListener('click', () => void this.guard(() => this.download()));
    buttons.append(this.startButton, pretrainedButton, this.pauseButton, this.resetButton, this.downloadButton, loadButton, loadInput);

    this.photoNote = el('p', { class: 'note' }, 'Drop photos anywhere on the page to train on them (centre-cropped and resized to the model size).');
    this.status = el('p', { class: 'status', role: 'status', 'aria-live': 'polite', 'data-testid': 'status' }, 'Press Start to build the model and train it in this tab.');
    this.stats = el('p', { class: 'stats', 'data-testid': 'stats' });
    settings.append(row, buttons, this.photoNote, this.status, this.stats);

    // ---- the sample grid and the loss chart
    this.panels = el('div', { class: 'panels' });
    const samples = this.addPanel('Samples', 'samples-panel');
    this.grid = pixelCanvas('sample grid', 'grid');
    this.gridCaption = el('p', { class: 'note' }, this.everyText());
    samples.append(this.grid, this.gridCaption);
    const losses = this.addPanel('Losses', 'loss-panel');
    const box = el('div', { class: 'chart-box' });
    const chartCanvas = el('canvas', { 'data-testid': 'loss-chart', role: 'img', 'aria-label': 'loss chart' });
    box.append(chartCanvas);
    losses.append(box);
    this.chart = new LossChart(chartCanvas, kind.lossNames);

    root.append(settings, this.panels);
    this.listenForDrops();
    this.updateButtons();
    this.updateStats();
  }

  /** A panel in the page's grid of panels; pages put their own views in these. */
  addPanel(title: string, testId: string): HTMLElement {
    const panel = el('section', { class: 'panel', 'data-testid': testId });
    panel.append(el('h2', {}, title));
    this.panels.append(panel);
    return panel;
  }

  /** Called with the new trainer (or null) after a build, a checkpoint load or a reset. */
  onTrainerChange(listener: Listener<T>): void {
    this.listeners.push(listener);
  }

  /** Runs `fn` once nothing else is using the model; calls run in order. Never nest. */
  exclusive<R>(fn: () => Promise<R>): Promise<R> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Runs `fn` on the current model once nothing else uses it; resolves to
   * null, without running it, when the model is gone by then (a reset).
   */
  withModel<R>(fn: (trainer: T) => Promise<R>): Promise<R | null> {
    const trainer = this.trainer;
    if (!trainer) return Promise.resolve(null);
    return this.exclusive(async () => (this.trainer === trainer ? fn(trainer) : null));
  }

  /** Called when the training loop stops (pause, step limit, error). */
  onStop(listener: () => void): void {
    this.stopListeners.push(listener);
  }

  /** The test split of the trainer's data, at its size (photos: the same photos). */
  heldOut(): Promise<Dataset> {
    const trainer = this.requireTrainer();
    const { data, imageSize, channels, seed } = trainer.config;
    return openPageDataset({ choice: choiceOf(data), size: imageSize, channels, split: 'test', seed }, this.photos);
  }

  isRunning(): boolean {
    return this.running;
  }

  setStatus(text: string): void {
    this.status.textContent = text;
    this.status.classList.remove('error');
  }

  showError(error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    console.warn(error);
    this.status.textContent = message;
    this.status.classList.add('error');
  }

  /** Runs an action from a button, showing what goes wrong in the status line. */
  async guard(action: () => Promise<void>): Promise<void> {
    try {
      await action();
    } catch (error) {
      this.showError(error);
    }
  }

  requireTrainer(): T {
    if (!this.trainer) throw new Error('no model yet: press Start, or load a checkpoint');
    return this.trainer;
  }

  // ------------------------------------------------------------ training

  async start(): Promise<void> {
    if (this.running || this.starting) return;
    this.starting = true;
    this.updateButtons();
    try {
      if (!this.trainer) await this.build();
      if (!this.loader) this.loader = await this.loaderFor(this.requireTrainer());
    } finally {
      this.starting = false;
      this.updateButtons();
    }
    const trainer = this.requireTrainer();
    if (this.stopAt !== undefined && trainer.step >= this.stopAt) {
      this.setStatus(`Stopped at step ${trainer.step}: the step limit this page was given.`);
      return;
    }
    this.running = true;
    this.setStatus('Training…');
    this.updateButtons();
    this.loopDone = this.loop(trainer, this.loader);
  }

  /** Stops after the step in progress; resolves once it has. */
  async pause(): Promise<void> {
    this.running = false;
    await this.loopDone;
    this.updateButtons();
  }

  /** Throws the model away; the next Start builds a fresh one from the settings. */
  async reset(): Promise<void> {
    await this.pause();
    await this.exclusive(async () => {
      this.trainer?.dispose();
      this.trainer = null;
      this.loader = null;
    });
    this.lastMetrics = null;
    this.stepTimes = [];
    this.chart.clear();
    this.grid.width = 0;
    this.grid.height = 0;
    this.gridCaption.textContent = this.everyText();
    this.setStatus('Press Start to build the model and train it in this tab.');
    this.updateButtons();
    this.updateStats();
    for (const listener of this.listeners) listener(null);
  }

  private async loop(trainer: T, loader: Loader): Promise<void> {
    try {
      while (this.running) {
        if (this.stopAt !== undefined && trainer.step >= this.stopAt) {
          this.setStatus(`Stopped at step ${trainer.step}: the step limit this page was given.`);
          break;
        }
        const metrics = await this.exclusive(() => this.kind.trainStep(trainer, loader));
        const bad = this.kind.lossNames.filter((name) => !Number.isFinite(metrics[name]));
        if (bad.length) {
          this.showError(`Training diverged at step ${trainer.step} (${bad.join(', ')} not finite). Reset, perhaps with a lower learning rate.`);
          break;
        }
        this.lastMetrics = metrics;
        this.stepTimes.push(performance.now());
        if (this.stepTimes.length > STEP_WINDOW) this.stepTimes.shift();
        this.chart.add(trainer.step, metrics);
        this.updateStats();
        if (trainer.step % this.sampleEvery === 0) await this.refreshSamples();
        await yieldToPage();
      }
      if (this.running) this.running = false;
      else this.setStatus(`Paused at step ${trainer.step}.`);
    } catch (error) {
      this.running = false;
      this.showError(error);
    } finally {
      this.updateButtons();
      this.updateStats();
      for (const listener of this.stopListeners) listener();
    }
  }

  /** A fresh trainer from the settings, and its first sample grid. */
  private async build(): Promise<void> {
    const configName = this.configSelect.value;
    const choice = this.dataSelect.value as DataChoice;
    const extra = this.extraValues();
    const lr = Number(this.lrInput.value);
    if (!(lr > 0)) throw new Error(`the learning rate must be a number > 0, got '${this.lrInput.value}'`);
    this.setStatus(choice === 'mnist' ? 'Loading the digits…' : 'Preparing the data…');
    const dataset = await openPageDataset({ choice, size: this.kind.imageSize(configName, extra), split: 'train', seed: 0 }, this.photos);
    let batch = this.batchOverride ?? this.kind.defaultBatch(configName, this.onCpu);
    if (dataset.count < 2) throw new Error('training needs at least 2 images: add more photos');
    batch = Math.min(batch, dataset.count);
    this.setStatus('Building the model…');
    await this.exclusive(async () => {
      this.trainer = this.kind.create({ configName, data: specOf(choice), dataset, batch, lr, seed: 0, params: this.params, extra });
    });
    const trainer = this.trainer!;
    this.loader = new Loader(dataset, { batchSize: trainer.config.batch, seed: trainer.config.seed, flip: choice === 'photos' });
    this.chart.clear();
    for (const listener of this.listeners) listener(trainer);
    await this.refreshSamples();
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

  /** Redraws the sample grid from the run's fixed noise. */
  async refreshSamples(): Promise<void> {
    const trainer = this.trainer;
    if (!trainer) return;
    const { data, shape, columns } = await this.exclusive(() => this.kind.sampleGrid(trainer));
    drawImages(this.grid, data, shape, { columns });
    this.gridDraws++;
    this.gridCaption.textContent = `Step ${trainer.step}: ${shape[0]} samples. ${this.everyText()}`;
    this.updateStats();
  }

  // ------------------------------------------------------------ checkpoints

  async checkpointBytes(): Promise<Uint8Array> {
    const trainer = this.requireTrainer();
    return this.exclusive(() => trainer.checkpoint());
  }

  private async download(): Promise<void> {
    const bytes = await this.checkpointBytes();
    const trainer = this.requireTrainer();
    const url = URL.createObjectURL(new Blob([bytes as BlobPart], { type: 'application/octet-stream' }));
    const link = el('a', { href: url, download: `${this.kind.kind}-${trainer.config.configName}-step${trainer.step}.safetensors` });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }

  /**
   * The pretrained model for the chosen data, in place of the current one:
   * on shapes or digits the shipped checkpoint itself (training goes on
   * from it); on photos, where the kind can fine-tune, a new run on the
   * photos that starts from the shapes model's weights.
   */
  async startFromPretrained(): Promise<void> {
    const choice = this.dataSelect.value as DataChoice;
    const photos = choice === 'photos';
    const name = pretrainedFor(this.kind.kind, photos ? 'shapes' : choice);
    if (!name) throw new Error(`wgrad ships no pretrained ${this.kind.kind} for ${DATA_LABELS[choice]}`);
    this.setStatus(`Fetching the pretrained ${name}…`);
    const bytes = await fetchPretrained(name);
    if (!photos || !this.kind.fineTune) {
      await this.loadCheckpoint(bytes, `pretrained ${name}`);
      return;
    }
    await this.pause();
    const source = this.kind.fromCheckpoint(bytes, `pretrained ${name}`);
    try {
      const { imageSize, channels, batch } = source.config;
      const dataset = await openPageDataset({ choice, size: imageSize, channels, split: 'train', seed: 0 }, this.photos);
      if (dataset.count < 2) throw new Error('fine-tuning needs at least 2 photos');
      await this.exclusive(async () => {
        const tuned = this.kind.fineTune!(source, { data: specOf(choice), dataset, batch: Math.min(batch, dataset.count) });
        this.trainer?.dispose();
        this.trainer = tuned;
        this.loader = new Loader(dataset, { batchSize: tuned.config.batch, seed: tuned.config.seed, flip: true });
      });
    } finally {
      source.dispose();
    }
    this.lastMetrics = null;
    this.stepTimes = [];
    this.chart.clear();
    this.setStatus(`Fine-tuning the pretrained ${name} on ${this.photos.length} photos.`);
    for (const listener of this.listeners) listener(this.trainer);
    await this.refreshSamples();
  }

  /** Replaces the model with a checkpoint's (the CLI's or this page's), ready to sample or train on. */
  async loadCheckpoint(bytes: Uint8Array, source: string): Promise<void> {
    await this.pause();
    await this.exclusive(async () => {
      const loaded = this.kind.fromCheckpoint(bytes, source); // throws before the old model goes
      this.trainer?.dispose();
      this.trainer = loaded;
      this.loader = null;
    });
    const trainer = this.trainer!;
    const { config } = trainer;
    this.configSelect.value = config.configName;
    const choice = choiceOf(config.data);
    if (choice === 'photos') this.dataSelect.querySelector<HTMLOptionElement>('option[value=photos]')!.disabled = false;
    this.dataSelect.value = choice;
    this.lrInput.value = String(config.lr);
    for (const [name, value] of Object.entries(this.kind.extraOf?.(trainer) ?? {})) {
      const select = this.extraSelects.get(name);
      if (select) select.value = value;
    }
    this.lastMetrics = null;
    this.stepTimes = [];
    this.chart.clear();
    this.setStatus(`Loaded ${source}: ${this.kind.kind} '${config.configName}' at step ${trainer.step}, trained on ${config.data}.`);
    for (const listener of this.listeners) listener(trainer);
    await this.refreshSamples();
  }

  // ------------------------------------------------------------ photos

  private listenForDrops(): void {
    document.addEventListener('dragover', (event) => {
      if (event.dataTransfer?.types.includes('Files')) {
        event.preventDefault();
        document.body.classList.add('dropping');
      }
    });
    document.addEventListener('dragleave', (event) => {
      if (event.relatedTarget === null) document.body.classList.remove('dropping');
    });
    document.addEventListener('drop', (event) => {
      document.body.classList.remove('dropping');
      const files = Array.from(event.dataTransfer?.files ?? []);
      if (files.length === 0) return;
      event.preventDefault();
      const checkpoint = files.find((f) => f.name.endsWith('.safetensors'));
      if (checkpoint) {
        void this.guard(async () => this.loadCheckpoint(new Uint8Array(await checkpoint.arrayBuffer()), checkpoint.name));
      } else {
        void this.addPhotos(files);
      }
    });
  }

  /** Decodes photos and trains on them from now on (a fresh model). */
  async addPhotos(files: File[]): Promise<void> {
    const { images, skipped } = await decodePhotos(files.filter((f) => f.type === '' || f.type.startsWith('image/')));
    this.photos.push(...images);
    const option = this.dataSelect.querySelector<HTMLOptionElement>('option[value=photos]')!;
    option.disabled = this.photos.length === 0;
    option.textContent = `${DATA_LABELS.photos} (${this.photos.length})`;
    this.photoNote.textContent = `${this.photos.length} photo${this.photos.length === 1 ? '' : 's'} loaded` +
      (skipped.length ? `; could not read ${skipped.join(', ')}` : '') + '. Drop more to add them.';
    if (this.photos.length > 0 && this.dataSelect.value !== 'photos') {
      this.dataSelect.value = 'photos';
      await this.reset();
    }
  }

  // ------------------------------------------------------------ the view

  private everyText(): string {
    return this.sampleEvery === 1 ? 'Fixed noise, redrawn after every step.' : `Fixed noise, redrawn every ${this.sampleEvery} steps.`;
  }

  private labelled(text: string, control: HTMLElement): HTMLLabelElement {
    const label = el('label', {}, text);
    label.append(control);
    return label;
  }

  private extraValues(): Record<string, string> {
    return Object.fromEntries([...this.extraSelects].map(([name, select]) => [name, select.value]));
  }

  private updateButtons(): void {
    this.startButton.disabled = this.running || this.starting;
    this.pauseButton.disabled = !this.running;
    this.downloadButton.disabled = this.running || !this.trainer;
    this.startButton.textContent = this.trainer && this.trainer.step > 0 ? 'Resume' : 'Start';
    for (const control of [this.dataSelect, this.configSelect, this.lrInput, ...this.extraSelects.values()]) control.disabled = this.running;
  }

  private updateStats(): void {
    const memory = wg.memory();
    const parts: string[] = [`step ${this.trainer?.step ?? 0}`];
    if (this.stepTimes.length >= 2) {
      const seconds = (this.stepTimes[this.stepTimes.length - 1] - this.stepTimes[0]) / 1000;
      parts.push(`${((this.stepTimes.length - 1) / seconds).toFixed(2)} steps/s`);
    }
    if (this.lastMetrics) {
      for (const name of this.kind.lossNames) parts.push(`${name} ${formatLoss(this.lastMetrics[name])}`);
    }
    parts.push(`GPU memory in use ${megabytes(memory.bytesInUse)}`, `${memory.tensors} tensors alive`);
    this.stats.textContent = parts.join(' · ');
  }

  // ------------------------------------------------------------ tests

  /** The hooks every training page gives the tests (window.__demo). */
  hooks(): Record<string, unknown> {
    return {
      start: () => this.start(),
      pause: () => this.pause(),
      reset: () => this.reset(),
      running: () => this.running,
      steps: () => this.trainer?.step ?? 0,
      /** trains `n` more steps (past the URL's ?steps=) and resolves when they are done */
      trainMore: async (n: number) => {
        this.stopAt = (this.trainer?.step ?? 0) + n;
        await this.start();
        await this.loopDone;
      },
      losses: () => this.lastMetrics,
      chartPoints: () => this.chart.pointCounts(),
      gridPixels: () => canvasPixels(this.grid),
      gridDraws: () => this.gridDraws,
      status: () => this.status.textContent,
      loadCheckpoint: (bytes: string | number[], name = 'checkpoint.safetensors') =>
        this.loadCheckpoint(typeof bytes === 'string' ? base64ToBytes(bytes) : Uint8Array.from(bytes), name),
      checkpointBase64: async () => bytesToBase64(await this.checkpointBytes()),
    };
  }
}
