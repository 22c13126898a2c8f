// The run folder and the training loop around any of the models (Node).
//
//   <out>/config.json               the training config
//   <out>/metrics.jsonl             one JSON line per step
//   <out>/samples/step-000100.png   sample grids (fixed noise) every sampleEvery steps
//   <out>/evolution.gif             those grids as an animation
//   <out>/loss.svg                  the loss curves
//   <out>/checkpoint.safetensors    the latest checkpoint (replaced atomically)
//
// A model plugs in through `Trainable`; the loop owns the files, the NaN
// guard and the schedule, so the three models write the same folder.
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { encodeGif, decodePng, encodePng, imageGrid } from './picture';
import { lineChartSvg, type Series } from './plot';
import { appendOutput, makeFolder, writeFileAtomic, writeOutput } from '../node/files';

export interface StepMetrics {
  step: number;
  [name: string]: number;
}

export interface Trainable<M extends StepMetrics> {
  /** 'dcgan', 'vae', 'diffusion', 'classifier' */
  readonly kind: string;
  readonly config: object;
  /** steps taken so far */
  readonly step: number;
  /** the metrics that are losses: plotted, and checked for NaN/Inf */
  readonly lossNames: readonly string[];
  /** metrics extraOutputs adds at sample points (held-out losses): plotted too, where present */
  readonly plotNames?: readonly string[];
  trainStep(): Promise<M>;
  /** the images of a sample grid: [n, C, s, s] in [-1, 1] */
  sampleImages(): Promise<{ data: Float32Array; shape: number[] }>;
  checkpoint(): Promise<Uint8Array>;
  /** model-specific files (reconstructions, held-out loss), called after each sample grid; may add metrics */
  extraOutputs?(out: string, step: number): Promise<Record<string, number> | void>;
}

export interface RunOptions {
  out: string;
  /** train until this many steps in total have been taken */
  steps: number;
  sampleEvery: number;
  checkpointEvery: number;
  /** called after every step (progress bar, JSON lines) */
  onStep?: (metrics: StepMetrics) => void;
  /** stops the run between steps, with a checkpoint of the last step taken (SIGINT, SIGTERM) */
  signal?: AbortSignal;
  /** a new run (step 0) may replace a run already in `out`; otherwise that is refused */
  overwrite?: boolean;
}

export interface RunResult {
  steps: number;
  files: { metrics: string; samples: string; evolution: string; lossPlot: string; checkpoint: string };
  last: StepMetrics | null;
  /** why the run stopped before `steps` (the abort reason), if it did */
  stopped?: string;
}

/** Thrown when a loss turns NaN or infinite: training stops, the last good checkpoint stays. */
export class TrainingDiverged extends Error {}

export function runFiles(out: string): RunResult['files'] {
  return {
    metrics: join(out, 'metrics.jsonl'),
    samples: join(out, 'samples'),
    evolution: join(out, 'evolution.gif'),
    lossPlot: join(out, 'loss.svg'),
    checkpoint: join(out, 'checkpoint.safetensors'),
  };
}

function readMetrics(path: string): StepMetrics[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as StepMetrics);
}

/** Whether `out` already holds a run: a checkpoint, metrics or sample grids. */
export function holdsRun(out: string): boolean {
  const files = runFiles(out);
  if (existsSync(files.checkpoint) || existsSync(files.metrics)) return true;
  return existsSync(files.samples) && readdirSync(files.samples).some((f) => /^step-\d+\.png$/.test(f));
}

/** Removes a run's files from `out` (not the folder, nor files the run did not make). */
function clearRun(out: string): void {
  const files = runFiles(out);
  for (const path of [files.checkpoint, files.metrics, files.evolution, files.lossPlot]) rmSync(path, { force: true });
  if (existsSync(files.samples)) {
    for (const f of readdirSync(files.samples)) if (/^step-\d+\.png$/.test(f)) rmSync(join(files.samples, f));
  }
}

function stepName(step: number): string {
  return `step-${String(step).padStart(6, '0')}.png`;
}

export async function runTraining<M extends StepMetrics>(model: Trainable<M>, options: RunOptions): Promise<RunResult> {
  const { out, steps, sampleEvery, checkpointEvery } = options;
  for (const [name, value] of Object.entries({ steps, sampleEvery, checkpointEvery })) {
    if (!Number.isInteger(value) || value < 1) throw new Error(`${model.kind}: ${name} must be a positive integer, got ${value}`);
  }
  const files = runFiles(out);
  if (model.step === 0 && holdsRun(out)) {
    if (!options.overwrite) {
      throw new Error(`${model.kind}: ${out} already holds a run; go on with it (--resume ${files.checkpoint}), ` +
        'write the new run to another folder (--out), or replace it (--overwrite)');
    }
    clearRun(out);
  }
  makeFolder(files.samples);
  writeOutput(join(out, 'config.json'), `${JSON.stringify(model.config, null, 2)}\n`);

  // A resumed run keeps the metrics up to its step; a fresh one starts the file anew.
  const earlier = readMetrics(files.metrics).filter((m) => m.step <= model.step);
  writeOutput(files.metrics, earlier.map((m) => `${JSON.stringify(m)}\n`).join(''));

  let lastCheckpoint = existsSync(files.checkpoint) && model.step > 0 ? `${files.checkpoint} (step ${model.step})` : null;
  let checkpointStep = lastCheckpoint ? model.step : -1;
  const writeSamples = async (step: number) => {
    const { data, shape } = await model.sampleImages();
    writeOutput(join(files.samples, stepName(step)), encodePng(imageGrid(data, shape)));
    const extra = await model.extraOutputs?.(out, step);
    return extra ?? {};
  };
  const saveCheckpoint = async () => {
    writeFileAtomic(files.checkpoint, await model.checkpoint());
    lastCheckpoint = `${files.checkpoint} (step ${model.step})`;
    checkpointStep = model.step;
  };

  let last: StepMetrics | null = earlier.at(-1) ?? null;
  try {
    if (model.step === 0) {
      const extra = await writeSamples(0);
      if (Object.keys(extra).length) appendOutput(files.metrics, `${JSON.stringify({ step: 0, ...extra })}\n`);
    }
    while (model.step < steps) {
      // A macrotask between steps: a step on the CPU backend never waits on
      // I/O, and without this the event loop would not deliver SIGINT/SIGTERM.
      await new Promise((resolve) => setTimeout(resolve, 0));
      if (options.signal?.aborted) {
        if (model.step > 0 && checkpointStep !== model.step) await saveCheckpoint();
        return { steps: model.step, files, last, stopped: String(options.signal.reason ?? 'aborted') };
      }
      const metrics: StepMetrics = await model.trainStep();
      const bad = model.lossNames.filter((name) => !Number.isFinite(metrics[name]));
      if (bad.length) {
        appendOutput(files.metrics, `${JSON.stringify(metrics)}\n`);
        const values = bad.map((name) => `${name} = ${metrics[name]}`).join(', ');
        throw new TrainingDiverged(
          `${model.kind}: training stopped at step ${metrics.step}: ${values}. ` +
            (lastCheckpoint ? `The last good checkpoint is ${lastCheckpoint}.` : 'No checkpoint had been written yet.'),
        );
      }
      const step = metrics.step;
      if (step % sampleEvery === 0 || step === steps) Object.assign(metrics, await writeSamples(step));
      if (step % checkpointEvery === 0 || step === steps) await saveCheckpoint();
      appendOutput(files.metrics, `${JSON.stringify(metrics)}\n`);
      last = metrics;
      options.onStep?.(metrics);
    }
  } finally {
    await writeSummaryFiles(model, files);
  }
  return { steps: model.step, files, last };
}

/** The evolution GIF from every sample grid on disk (so a resumed run's GIF covers the whole run), and the loss plot. */
async function writeSummaryFiles(model: Trainable<StepMetrics>, files: RunResult['files']): Promise<void> {
  const grids = readdirSync(files.samples).filter((f) => /^step-\d+\.png$/.test(f)).sort();
  if (grids.length > 0) {
    const frames = grids.map((f) => decodePng(readFileSync(join(files.samples, f)), f));
    const size = `${frames.at(-1)!.width}x${frames.at(-1)!.height}`;
    const sameSize = frames.filter((p) => `${p.width}x${p.height}` === size);
    writeFileAtomic(files.evolution, encodeGif(sameSize, { delayMs: 200, lastFrameDelayMs: 2000 }));
  }
  const metrics = readMetrics(files.metrics);
  const names = [...model.lossNames, ...(model.plotNames ?? [])];
  const series: Series[] = names.map((name) => ({
    name,
    points: metrics.filter((m) => m[name] !== undefined).map((m) => [m.step, m[name]] as [number, number]),
  }));
  writeFileAtomic(files.lossPlot, await lineChartSvg(series, { title: `${model.kind} training loss`, xLabel: 'step', yLabel: 'loss' }));
}
