// The training loop of a page: steps the model until Pause, the step limit
// (?steps=N, or the tests' trainMore), a loss that is not finite, or an
// error. Each step holds the model lock (model-slot.ts) only while it
// runs, and the loop yields to the page between steps, so the tab stays
// responsive however slow the adapter is and a click on a page's own panel
// gets its turn. What a step shows is the page's (the events below).
import type { Loader } from '../../src/data/dataset';
import type { ModelKind, TrainerLike } from './model-kind';
import type { ModelSlot } from './model-slot';

export interface LoopEvents<T> {
  /** after each step with finite losses; the loop waits for it (it may draw the sample grid) */
  stepped(trainer: T, metrics: Record<string, number>): Promise<void>;
  status(text: string): void;
  error(error: unknown): void;
  /** once the loop has ended, whatever the reason */
  stopped(): void;
}

/** A macrotask: lets the page paint and handle input between training steps. */
function yieldToPage(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

export class TrainingLoop<T extends TrainerLike> {
  private running = false;
  private done: Promise<void> = Promise.resolve();

  /** `stopAt`: the step training stops at by itself, if any */
  constructor(
    private readonly kind: ModelKind<T>,
    private readonly slot: ModelSlot<T>,
    private readonly events: LoopEvents<T>,
    public stopAt: number | undefined,
  ) {}

  isRunning(): boolean {
    return this.running;
  }

  /** Whether `trainer` is at the step limit; says so in the status line when it is. */
  atLimit(trainer: T): boolean {
    if (this.stopAt === undefined || trainer.step < this.stopAt) return false;
    this.events.status(`Stopped at step ${trainer.step}: the step limit this page was given.`);
    return true;
  }

  /** Starts training `trainer` on `loader`; finished() resolves when it stops. */
  run(trainer: T, loader: Loader): void {
    this.running = true;
    this.done = this.steps(trainer, loader);
  }

  /** Stops after the step in progress; resolves once it has. */
  async pause(): Promise<void> {
    this.running = false;
    await this.done;
  }

  /** Resolves when the loop started last has stopped. */
  finished(): Promise<void> {
    return this.done;
  }

  private async steps(trainer: T, loader: Loader): Promise<void> {
    try {
      while (this.running) {
        if (this.atLimit(trainer)) break;
        const metrics = await this.slot.exclusive(() => this.kind.model.trainStep(trainer, loader));
        const bad = this.kind.model.lossNames.filter((name) => !Number.isFinite(metrics[name]));
        if (bad.length) {
          this.events.error(`Training diverged at step ${trainer.step} (${bad.join(', ')} not finite). Reset, perhaps with a lower learning rate.`);
          break;
        }
        await this.events.stepped(trainer, metrics);
        await yieldToPage();
      }
      if (this.running) this.running = false;
      else this.events.status(`Paused at step ${trainer.step}.`);
    } catch (error) {
      this.running = false;
      this.events.error(error);
    } finally {
      this.events.stopped();
    }
  }
}
