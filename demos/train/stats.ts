// The stats line under the buttons: the step, steps per second over the
// last few steps, the last losses, and the GPU memory wgrad holds, so a
// slow adapter or a leak shows while the page trains.
import * as wg from '../../src/index';

/** steps the rate is measured over */
const STEP_WINDOW = 10;

function megabytes(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MB`;
}

function formatLoss(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(1) : v.toPrecision(4);
}

export class TrainingStats {
  /** the last step's losses; null before the first step of a model */
  last: Record<string, number> | null = null;
  private stepTimes: number[] = [];

  constructor(private readonly lossNames: readonly string[]) {}

  /** A step just finished with these losses. */
  record(metrics: Record<string, number>): void {
    this.last = metrics;
    this.stepTimes.push(performance.now());
    if (this.stepTimes.length > STEP_WINDOW) this.stepTimes.shift();
  }

  /** A new model (or none): no losses, no rate. */
  clear(): void {
    this.last = null;
    this.stepTimes = [];
  }

  /** The line for a model at `step`. */
  line(step: number): string {
    const memory = wg.memory();
    const parts: string[] = [`step ${step}`];
    if (this.stepTimes.length >= 2) {
      const seconds = (this.stepTimes[this.stepTimes.length - 1] - this.stepTimes[0]) / 1000;
      parts.push(`${((this.stepTimes.length - 1) / seconds).toFixed(2)} steps/s`);
    }
    if (this.last) {
      for (const name of this.lossNames) parts.push(`${name} ${formatLoss(this.last[name])}`);
    }
    parts.push(`GPU memory in use ${megabytes(memory.bytesInUse)}`, `${memory.tensors} tensors alive`);
    return parts.join(' · ');
  }
}
