// The training loop around any of the models. A model plugs in through
// `Trainable`, and what the run keeps goes to a `RunWriter`: the loop owns
// the schedule (sample grids, checkpoints), the NaN guard and stopping on a
// signal, so every model's run keeps the same record. Browser-safe: the
// writer is the host's. Node's (src/node/run-folder.ts) writes a run folder:
// metrics.jsonl, samples/step-N.png, evolution.gif, loss.svg and an atomic
// checkpoint.safetensors.
import { imageGrid, type Picture } from '../io/picture';

export interface StepMetrics {
  step: number;
  [name: string]: number;
}

/** What a model adds at a sample grid: metrics (held-out losses) and pictures by name ('reconstructions'). */
export interface SampleExtras {
  metrics?: Record<string, number>;
  pictures?: Record<string, Picture>;
}

export interface Trainable<M extends StepMetrics> {
  /** 'dcgan', 'vae', 'diffusion', 'classifier' */
  readonly kind: string;
  readonly config: object;
  /** steps taken so far */
  readonly step: number;
  /** the metrics that are losses: plotted, and checked for NaN/Inf */
  readonly lossNames: readonly string[];
  /** metrics sampleExtras adds (held-out losses): plotted too, where present */
  readonly plotNames?: readonly string[];
  trainStep(): Promise<M>;
  /** the images of a sample grid: [n, C, s, s] in [-1, 1] */
  sampleImages(): Promise<{ data: Float32Array; shape: number[] }>;
  checkpoint(): Promise<Uint8Array>;
  /** called after each sample grid: model-specific metrics and pictures */
  sampleExtras?(step: number): Promise<SampleExtras>;
}

/**
 * Where a run's record goes. Each call may return a promise, which the loop
 * awaits, so a writer may store to disk, to IndexedDB or to memory.
 */
export interface RunWriter {
  /**
   * Opens the record of a run at `step` (0: a new run): the metrics kept
   * so far, those past `step` dropped, and where the checkpoint of `step`
   * is, when there is one (null for a new run).
   */
  begin(config: object, step: number): Promise<RunStart> | RunStart;
  /** One step's metrics (a line of metrics.jsonl). */
  metrics(metrics: StepMetrics): Promise<void> | void;
  /** A sample grid at `step`, and the pictures the model added there, by name. */
  pictures(step: number, grid: Picture, extra: Record<string, Picture>): Promise<void> | void;
  /** The checkpoint of `step`; returns where it went, for messages. */
  checkpoint(bytes: Uint8Array, step: number): Promise<string> | string;
  /** After the last step, or when the run stops: the summaries (a GIF of the grids, the loss plot of `plotted`). */
  end(kind: string, plotted: readonly string[]): Promise<void> | void;
}

export interface RunStart {
  earlier: StepMetrics[];
  checkpoint: string | null;
}

export interface LoopOptions {
  /** train until this many steps in total have been taken */
  steps: number;
  sampleEvery: number;
  checkpointEvery: number;
  /** called after every step (progress bar, JSON lines) */
  onStep?: (metrics: StepMetrics) => void;
  /** stops the run between steps, with a checkpoint of the last step taken (SIGINT, SIGTERM, a Stop button) */
  signal?: AbortSignal;
}

export interface LoopResult {
  steps: number;
  last: StepMetrics | null;
  /** why the run stopped before `steps` (the abort reason), if it did */
  stopped?: string;
}

/** Thrown when a loss turns NaN or infinite: training stops, the last good checkpoint stays. */
export class TrainingDiverged extends Error {}

/** Checks the loop's counts, naming the model and the setting. */
export function checkLoopOptions(kind: string, options: LoopOptions): void {
  const { steps, sampleEvery, checkpointEvery } = options;
  for (const [name, value] of Object.entries({ steps, sampleEvery, checkpointEvery })) {
    if (!Number.isInteger(value) || value < 1) throw new Error(`${kind}: ${name} must be a positive integer, got ${value}`);
  }
}

export async function trainingLoop<M extends StepMetrics>(model: Trainable<M>, writer: RunWriter, options: LoopOptions): Promise<LoopResult> {
  checkLoopOptions(model.kind, options);
  const { steps, sampleEvery, checkpointEvery } = options;
  const { earlier, checkpoint } = await writer.begin(model.config, model.step);

  let lastCheckpoint = checkpoint === null ? null : `${checkpoint} (step ${model.step})`;
  let checkpointStep = lastCheckpoint ? model.step : -1;
  const samples = async (step: number): Promise<Record<string, number>> => {
    const { data, shape } = await model.sampleImages();
    const extras = (await model.sampleExtras?.(step)) ?? {};
    await writer.pictures(step, imageGrid(data, shape), extras.pictures ?? {});
    return extras.metrics ?? {};
  };
  const saveCheckpoint = async () => {
    const where = await writer.checkpoint(await model.checkpoint(), model.step);
    lastCheckpoint = `${where} (step ${model.step})`;
    checkpointStep = model.step;
  };

  let last: StepMetrics | null = earlier.at(-1) ?? null;
  try {
    if (model.step === 0) {
      const extra = await samples(0);
      if (Object.keys(extra).length) await writer.metrics({ step: 0, ...extra });
    }
    while (model.step < steps) {
      // A macrotask between steps: a step on the CPU backend never waits on
      // I/O, and without this the event loop would not deliver a signal
      // (SIGINT, a page's Stop button).
      await new Promise((resolve) => setTimeout(resolve, 0));
      if (options.signal?.aborted) {
        if (model.step > 0 && checkpointStep !== model.step) await saveCheckpoint();
        return { steps: model.step, last, stopped: String(options.signal.reason ?? 'aborted') };
      }
      const metrics: StepMetrics = await model.trainStep();
      const bad = model.lossNames.filter((name) => !Number.isFinite(metrics[name]));
      if (bad.length) {
        await writer.metrics(metrics);
        const values = bad.map((name) => `${name} = ${metrics[name]}`).join(', ');
        throw new TrainingDiverged(
          `${model.kind}: training stopped at step ${metrics.step}: ${values}. ` +
            (lastCheckpoint ? `The last good checkpoint is ${lastCheckpoint}.` : 'No checkpoint had been written yet.'),
        );
      }
      const step = metrics.step;
      if (step % sampleEvery === 0 || step === steps) Object.assign(metrics, await samples(step));
      if (step % checkpointEvery === 0 || step === steps) await saveCheckpoint();
      await writer.metrics(metrics);
      last = metrics;
      options.onStep?.(metrics);
    }
  } finally {
    await writer.end(model.kind, [...model.lossNames, ...(model.plotNames ?? [])]);
  }
  return { steps: model.step, last };
}
