// The model a training page works on, and the lock around it. All model
// work goes through exclusive(): one thing at a time touches the model, so
// a click on the latent map cannot run while a training step has the model
// in training mode, and a checkpoint replaces the model only between steps.
// The training loop, the sample grid, checkpoint I/O and the pages' own
// panels all share this one lock.
import type { Loader } from '../../src/data/dataset';
import type { TrainerLike } from './model-kind';

export class ModelSlot<T extends TrainerLike> {
  private current: T | null = null;
  /** the batches training draws from; null until Start needs them */
  loader: Loader | null = null;
  private queue: Promise<unknown> = Promise.resolve();

  get trainer(): T | null {
    return this.current;
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
    const trainer = this.current;
    if (!trainer) return Promise.resolve(null);
    return this.exclusive(async () => (this.current === trainer ? fn(trainer) : null));
  }

  require(): T {
    if (!this.current) throw new Error('no model yet: press Start, or load a checkpoint');
    return this.current;
  }

  /**
   * Puts in the model `make` builds (null: none), once nothing uses the old
   * one, which is disposed. If `make` throws, the old model stays. The
   * loader is `loaderOf`'s for the new model, or none yet.
   */
  replace(make: () => T | null, loaderOf: (trainer: T) => Loader | null = () => null): Promise<void> {
    return this.exclusive(async () => {
      const next = make();
      this.current?.dispose();
      this.current = next;
      this.loader = next ? loaderOf(next) : null;
    });
  }
}
