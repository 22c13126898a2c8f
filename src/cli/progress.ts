// What a training command shows while it runs: a progress bar (cli-progress)
// with the step, the losses and it/s on a terminal, a line every few
// seconds when the output is a file or a pipe, JSON lines with --json, and
// nothing with --quiet.
import cliProgress from 'cli-progress';
import { TrainingDiverged, type StepMetrics, type Trainable } from '../train/run';
import type { AnyModelDescription } from '../train/model-description';
import { holdsRun, runTraining, type RunOptions, type RunResult } from '../node/run-folder';
import { resolve } from 'node:path';
import type { FlagValues, Flags } from './args';

/** The flags of every `wgrad train` command that say what to do when --out already holds a run. */
export const RUN_FOLDER_FLAGS: Flags = {
  overwrite: { type: 'boolean', help: 'replace the run already in --out (otherwise refused)' },
  'new-folder': { type: 'boolean', help: 'if --out already holds a run, write to the first free <out>-2, <out>-3, …' },
};

/** --out, or with --new-folder the first free numbered folder beside it (and says so). */
export function runFolder(out: string, values: FlagValues, resuming: boolean): string {
  if (resuming || !values['new-folder'] || !holdsRun(out)) return out;
  let k = 2;
  while (holdsRun(`${out}-${k}`)) k++;
  console.log(`wgrad: ${out} holds a run already; this one goes to ${out}-${k}`);
  return `${out}-${k}`;
}

export type ProgressMode = 'bar' | 'json' | 'quiet';

export interface Progress {
  update(metrics: StepMetrics): void;
  stop(): void;
}

function fixed(v: number | undefined, digits = 3): string {
  return v === undefined ? '-' : Number.isFinite(v) ? v.toFixed(digits) : String(v);
}

/** shown: the metrics (besides step) in the bar, e.g. ['lossD', 'lossG']. */
export function startProgress(mode: ProgressMode, label: string, firstStep: number, total: number, shown: readonly string[]): Progress {
  if (mode === 'quiet') return { update() {}, stop() {} };
  if (mode === 'json') {
    return {
      update: (metrics) => console.log(JSON.stringify(metrics)),
      stop() {},
    };
  }
  const tokens = shown.map((name) => `${name} {${name}}`).join(' ');
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} {bar} {value}/{total} | ${tokens} | {rate} it/s | eta {eta_formatted}`,
      stream: process.stdout,
      hideCursor: true,
      noTTYOutput: true, // a line every notTTYSchedule ms in logs and CI
      notTTYSchedule: 5000,
      etaBuffer: 20,
    },
    cliProgress.Presets.shades_classic,
  );
  const empty = Object.fromEntries(shown.map((name) => [name, '-']));
  bar.start(total, firstStep, { ...empty, rate: '-' });
  let lastTime = performance.now();
  let rate = 0;
  return {
    update(metrics) {
      const now = performance.now();
      const instant = 1000 / Math.max(now - lastTime, 1e-3);
      lastTime = now;
      rate = rate === 0 ? instant : 0.9 * rate + 0.1 * instant;
      const payload = Object.fromEntries(shown.map((name) => [name, fixed(metrics[name])]));
      bar.update(metrics.step, { ...payload, rate: rate.toFixed(2) });
    },
    stop() {
      bar.stop();
    },
  };
}

/** The shell's exit codes for a process stopped by a signal: 128 + its number. */
const EXIT_CODES: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

/**
 * SIGINT and SIGTERM (and the parent going away: bin/wgrad.js's IPC
 * channel closes when it is killed) ask the training loop to stop after
 * the step under way; the loop writes a checkpoint on the way out. A
 * second signal, a second or more after the first, exits at once. A
 * terminal's Ctrl-C reaches both bin/wgrad.js and this process, and the
 * parent forwards it too; the second copy arrives within the second.
 */
function stopOnSignals(): { signal: AbortSignal; release(): void } {
  const controller = new AbortController();
  let first = 0;
  const handler = (name: string) => {
    if (!controller.signal.aborted) {
      first = performance.now();
      controller.abort(name);
    } else if (performance.now() - first > 1000) {
      process.exit(EXIT_CODES[name] ?? 1);
    }
  };
  const onInt = () => handler('SIGINT');
  const onTerm = () => handler('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  process.on('disconnect', onTerm);
  return {
    signal: controller.signal,
    release() {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      process.off('disconnect', onTerm);
    },
  };
}

/** --json wins over --quiet; the bar otherwise. */
export function progressMode(values: Record<string, unknown>): ProgressMode {
  return values.json ? 'json' : values.quiet ? 'quiet' : 'bar';
}

export interface TrainCommandOptions<M extends StepMetrics> extends Pick<RunOptions, 'out' | 'steps' | 'sampleEvery' | 'checkpointEvery' | 'overwrite'> {
  mode: ProgressMode;
  /** the last step's numbers for the closing line, e.g. `lossD 0.693, lossG 0.701` */
  describeLast(last: M): string;
  /** lines between the closing line and the list of files (held-out scores) */
  extraLines?(): string[];
  /** the files to list, label first; default: the run folder's standard files, with the folders of the model's sample pictures */
  fileList?(files: RunResult['files']): [string, string][];
}

/**
 * Runs `wgrad train <model>`'s loop with progress (the bar labelled with
 * the model's kind, showing its shownMetrics), then prints what it
 * made: the closing line (steps, last losses, median ms per step, the first
 * step left out as warm-up) and the files. A diverged run prints why and
 * returns exit code 1, keeping the last good checkpoint.
 */
export async function runTrainCommand<M extends StepMetrics>(
  model: AnyModelDescription, trainable: Trainable<M>, options: TrainCommandOptions<M>,
): Promise<number> {
  const { mode, out, steps, sampleEvery, checkpointEvery, overwrite } = options;
  const progress = startProgress(mode, model.kind, trainable.step, steps, model.shownMetrics);
  const times: number[] = [];
  const stop = stopOnSignals();
  let result: RunResult;
  try {
    result = await runTraining(trainable, {
      out, steps, sampleEvery, checkpointEvery, overwrite, signal: stop.signal,
      onStep: (m) => {
        times.push(m.ms);
        progress.update(m);
      },
    });
  } catch (error) {
    progress.stop();
    if (!(error instanceof TrainingDiverged)) throw error;
    console.error(`wgrad: ${error.message}`);
    return 1;
  } finally {
    stop.release();
  }
  progress.stop();
  if (result.stopped) {
    console.error(`wgrad: stopped by ${result.stopped} at step ${result.steps}; the checkpoint ${result.files.checkpoint} holds it (go on with --resume)`);
    return EXIT_CODES[result.stopped] ?? 1;
  }
  if (mode === 'json') return 0;
  const sorted = times.slice(1).sort((a, b) => a - b);
  const median = sorted.length ? sorted[Math.floor(sorted.length / 2)] : NaN;
  console.log(`done: ${result.steps} steps` + (result.last ? `, ${options.describeLast(result.last as M)}` : '') +
    (Number.isFinite(median) ? `, median ${median.toFixed(1)} ms/step` : ''));
  for (const line of options.extraLines?.() ?? []) console.log(line);
  const f = result.files;
  const pictures: [string, string][] = model.samplePictures.map((name: string) => [name, `${resolve(out, name)}/`]);
  const rows = options.fileList?.(f) ?? [
    ['samples', `${f.samples}/`], ...pictures, ['evolution', f.evolution], ['loss plot', f.lossPlot], ['metrics', f.metrics], ['checkpoint', f.checkpoint],
  ];
  const width = Math.max(...rows.map(([label]) => label.length)) + 2;
  for (const [label, path] of rows) console.log(`${label.padEnd(width)}${path}`);
  return 0;
}
