// A training run's folder, written by the run loop (src/train/run.ts)
// through the RunWriter here:
//
//   <out>/config.json               the training config
//   <out>/metrics.jsonl             one JSON line per step
//   <out>/samples/step-000100.png   sample grids (fixed noise) every sampleEvery steps
//   <out>/<name>/step-000100.png    the pictures a model adds there (the VAE's reconstructions)
//   <out>/evolution.gif             the sample grids as an animation
//   <out>/loss.svg                  the loss curves
//   <out>/checkpoint.safetensors    the latest checkpoint (replaced atomically)
//
// A new run refuses to replace another one in the same folder unless told to.
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { decodePng, encodeGif, encodePng, type Picture } from '../io/picture';
import { lineChartSvg, type Series } from '../io/plot';
import {
  checkLoopOptions, trainingLoop, type LoopOptions, type LoopResult, type RunStart, type RunWriter, type StepMetrics, type Trainable,
} from '../train/run';
import { appendOutput, makeFolder, writeFileAtomic, writeOutput } from './files';

export interface RunOptions extends LoopOptions {
  out: string;
  /** a new run (step 0) may replace a run already in `out`; otherwise that is refused */
  overwrite?: boolean;
}

export interface RunFiles {
  metrics: string;
  samples: string;
  evolution: string;
  lossPlot: string;
  checkpoint: string;
}

export interface RunResult extends LoopResult {
  files: RunFiles;
}

export function runFiles(out: string): RunFiles {
  return {
    metrics: join(out, 'metrics.jsonl'),
    samples: join(out, 'samples'),
    evolution: join(out, 'evolution.gif'),
    lossPlot: join(out, 'loss.svg'),
    checkpoint: join(out, 'checkpoint.safetensors'),
  };
}

const GRID_NAME = /^step-\d+\.png$/;

function stepName(step: number): string {
  return `step-${String(step).padStart(6, '0')}.png`;
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
  return existsSync(files.samples) && readdirSync(files.samples).some((f) => GRID_NAME.test(f));
}

/** Removes a run's files from `out` (not the folder, nor files the run did not make). */
function clearRun(out: string): void {
  const files = runFiles(out);
  for (const path of [files.checkpoint, files.metrics, files.evolution, files.lossPlot]) rmSync(path, { force: true });
  if (existsSync(files.samples)) {
    for (const f of readdirSync(files.samples)) if (GRID_NAME.test(f)) rmSync(join(files.samples, f));
  }
}

/** The RunWriter of a run folder. */
export class RunFolder implements RunWriter {
  readonly files: RunFiles;

  constructor(readonly out: string) {
    this.files = runFiles(out);
  }

  begin(config: object, step: number): RunStart {
    makeFolder(this.files.samples);
    writeOutput(join(this.out, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
    // A resumed run keeps the metrics up to its step; a fresh one starts the file anew.
    const earlier = readMetrics(this.files.metrics).filter((m) => m.step <= step);
    writeOutput(this.files.metrics, earlier.map((m) => `${JSON.stringify(m)}\n`).join(''));
    return { earlier, checkpoint: step > 0 && existsSync(this.files.checkpoint) ? this.files.checkpoint : null };
  }

  metrics(metrics: StepMetrics): void {
    appendOutput(this.files.metrics, `${JSON.stringify(metrics)}\n`);
  }

  pictures(step: number, grid: Picture, extra: Record<string, Picture>): void {
    writeOutput(join(this.files.samples, stepName(step)), encodePng(grid));
    for (const [name, picture] of Object.entries(extra)) {
      const folder = join(this.out, name);
      makeFolder(folder);
      writeOutput(join(folder, stepName(step)), encodePng(picture));
    }
  }

  checkpoint(bytes: Uint8Array): string {
    writeFileAtomic(this.files.checkpoint, bytes);
    return this.files.checkpoint;
  }

  /** The evolution GIF from every sample grid on disk (so a resumed run's GIF covers the whole run), and the loss plot. */
  async end(kind: string, plotted: readonly string[]): Promise<void> {
    const { samples, evolution, lossPlot } = this.files;
    const grids = readdirSync(samples).filter((f) => GRID_NAME.test(f)).sort();
    if (grids.length > 0) {
      const frames = grids.map((f) => decodePng(readFileSync(join(samples, f)), f));
      const size = `${frames.at(-1)!.width}x${frames.at(-1)!.height}`;
      const sameSize = frames.filter((p) => `${p.width}x${p.height}` === size);
      writeFileAtomic(evolution, encodeGif(sameSize, { delayMs: 200, lastFrameDelayMs: 2000 }));
    }
    const metrics = readMetrics(this.files.metrics);
    const series: Series[] = plotted.map((name) => ({
      name,
      points: metrics.filter((m) => m[name] !== undefined).map((m) => [m.step, m[name]] as [number, number]),
    }));
    writeFileAtomic(lossPlot, await lineChartSvg(series, { title: `${kind} training loss`, xLabel: 'step', yLabel: 'loss' }));
  }
}

/** Trains `model` to `options.steps`, keeping the run in the folder `options.out`. */
export async function runTraining<M extends StepMetrics>(model: Trainable<M>, options: RunOptions): Promise<RunResult> {
  const { out } = options;
  checkLoopOptions(model.kind, options);
  const folder = new RunFolder(out);
  if (model.step === 0 && holdsRun(out)) {
    if (!options.overwrite) {
      throw new Error(`${model.kind}: ${out} already holds a run; go on with it (--resume ${folder.files.checkpoint}), ` +
        'write the new run to another folder (--out), or replace it (--overwrite)');
    }
    clearRun(out);
  }
  const result = await trainingLoop(model, folder, options);
  return { ...result, files: folder.files };
}
