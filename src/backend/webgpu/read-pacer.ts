// Waiting for a readback without taking the cores the work runs on.
//
// Dawn's Node binding learns that submitted work has finished by polling:
// while one of its promises (a mapAsync) is pending, it calls itself again
// with setImmediate, so Node's main thread spins for as long as the GPU
// works. On a real GPU that costs an idle core. On a CPU adapter
// (SwiftShader) the "GPU" is the machine's own cores, and on a 2-core
// machine the spinning thread takes about a third of them from the kernels:
// the tiny DCGAN's training step took 360–370 ms spinning, 250–280 ms with
// a fixed 200 ms sleep before the readback's mapAsync (docs/TUNING.md).
//
// So a readback first naps (setTimeout, which leaves the event loop
// blocked in the OS) for most of the time the same work took last time,
// and only then starts the mapAsync and its polling. "The same work" is
// keyed by how many commands and workgroups were recorded since the last
// readback settled: a training loop submits the same ones every step, a
// matmul of another size has another key (no nap until it is known), and
// a run of back-to-back reads (a checkpoint's tensors) has none pending,
// so it never naps.

/** The share of the learned wait spent asleep; the rest is polled, so a step that got faster is seen. */
const NAP_SHARE = 0.85;
/** Naps shorter than this are not worth a timer (its slack is about a millisecond). */
const MIN_NAP_MS = 4;
/** Resolved within this long of the nap's end: the work was probably done before it. */
const PROMPT_MS = 1;
/** ... and then the wait learned shrinks by this much, until polling is needed again. */
const SHRINK = 0.9;
/** Keys remembered; past this the table starts over (a loop has a handful). */
const MAX_KEYS = 256;

export interface PacerClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const realClock: PacerClock = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export class ReadPacer {
  /** Milliseconds from submit to the readback resolving, per amount of work pending. */
  private readonly learned = new Map<string, number>();

  constructor(private readonly clock: PacerClock = realClock) {}

  /** Naps for most of `work`'s learned wait, then runs `map` (the readback's mapAsync) and learns how long it all took. */
  async wait<T>(work: string, map: () => Promise<T>): Promise<T> {
    const started = this.clock.now();
    const nap = NAP_SHARE * (this.learned.get(work) ?? 0);
    const napped = nap >= MIN_NAP_MS;
    if (napped) await this.clock.sleep(nap);
    const polled = this.clock.now();
    const result = await map();
    const done = this.clock.now();
    const took = done - started;
    if (this.learned.size >= MAX_KEYS && !this.learned.has(work)) this.learned.clear();
    this.learned.set(work, napped && done - polled < PROMPT_MS ? SHRINK * took : took);
    return result;
  }

  /** The wait learned for `work`, in ms (0 when none): for tests. */
  expected(work: string): number {
    return this.learned.get(work) ?? 0;
  }
}
