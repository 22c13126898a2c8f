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
// matmul of another size has another key, and a run of back-to-back reads
// (a checkpoint's tensors) has none pending, so it never naps. A key is
// trusted only once its last two waits agree: different work can share a
// key (two ops of one dispatch each and as many workgroups), and a
// pipeline's first use also pays for compiling it; napping on such a key
// made the test suite's op-by-op files up to 2× slower.

/** The share of the learned wait spent asleep; the rest is polled, so a wait about as long as the last is not overslept. */
const NAP_SHARE = 0.85;
/** Naps shorter than this are not worth a timer (its slack is about a millisecond). */
const MIN_NAP_MS = 4;
/** Resolved within this long of the nap's end: the work was probably done before it. */
const PROMPT_MS = 1;
/** ... and then the wait learned shrinks by this much, until polling is needed again. */
const SHRINK = 0.9;
/** Two waits agree when neither is more than this many times the other. */
const AGREE = 1.5;
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
  /** The last two waits (ms from submit to the readback resolving) per amount of work pending, latest last. */
  private readonly waits = new Map<string, number[]>();

  constructor(private readonly clock: PacerClock = realClock) {}

  /** Naps for most of `work`'s learned wait, then runs `map` (the readback's mapAsync) and learns how long it all took. */
  async wait<T>(work: string, map: () => Promise<T>): Promise<T> {
    const started = this.clock.now();
    const nap = NAP_SHARE * this.expected(work);
    const napped = nap >= MIN_NAP_MS;
    if (napped) await this.clock.sleep(nap);
    const polled = this.clock.now();
    const result = await map();
    const done = this.clock.now();
    const took = done - started;
    if (this.waits.size >= MAX_KEYS && !this.waits.has(work)) this.waits.clear();
    const latest = napped && done - polled < PROMPT_MS ? SHRINK * took : took;
    this.waits.set(work, [...(this.waits.get(work) ?? []).slice(-1), latest]);
    return result;
  }

  /** The wait `work` is expected to take, in ms: the shorter of its last two if they agree, else 0 (not known). */
  expected(work: string): number {
    const [previous, latest] = this.waits.get(work) ?? [];
    if (previous === undefined || latest === undefined) return 0;
    const [shorter, longer] = previous < latest ? [previous, latest] : [latest, previous];
    return longer <= AGREE * shorter ? shorter : 0;
  }
}
