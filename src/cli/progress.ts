// What a training command shows while it runs: a progress bar (cli-progress)
// with the step, the losses and it/s on a terminal, a line every few
// seconds when the output is a file or a pipe, JSON lines with --json, and
// nothing with --quiet.
import cliProgress from 'cli-progress';
import type { StepMetrics } from '../train/run';

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
