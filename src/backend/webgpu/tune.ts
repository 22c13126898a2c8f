// Autotuning: the kernels' configurations timed on the adapter at hand.
//
// The tables in conv.ts and index.ts (tile per GEMM shape, threads per
// batchnorm channel, thread-per-row cut-off of the reductions, matmul's
// workgroup shrink) were measured on SwiftShader. On another adapter the
// best choice can differ, so each tunable kernel call names
//   - its kernel and shape (the cache key: one GEMM shape, one channel size),
//   - its candidates, the table's choice first,
//   - how to run it once on stand-in inputs with a given choice.
// The first time a key is met in mode 'on' it is queued; at the next
// readback (the first await after the op) the tuner runs every candidate on
// the same random inputs, drops any whose output differs from the table's,
// times the rest (GPU timestamps where the device has 'timestamp-query',
// else wall clock around onSubmittedWorkDone; the median of several rounds,
// each long enough to rise above the submit's own cost) and keeps the
// fastest, but only when it beats the table's by more than the noise
// margin: a tuned choice is never a guess. Results are cached per adapter
// and wgrad version in a TuneStore (Node: a JSON file; browser: IndexedDB).
// A cache that does not parse, or names another adapter or version, is
// ignored with a warning; a cached choice that is not among a key's
// candidates today is dropped the same way.
import type { Storage } from '../backend';
import { WGRAD_VERSION } from '../../version';

/** off: the tables only; cached: tuned choices where the cache has them; on: also tune new shapes at first use. */
export type TuneMode = 'off' | 'cached' | 'on';
export const TUNE_MODES: readonly TuneMode[] = ['off', 'cached', 'on'];

/** One configuration of a kernel: the knobs its family reads (a tile name, thread counts, ...). */
export type TuneChoice = Record<string, number | string>;

/** Where tuned choices persist between runs, one text per adapter. */
export interface TuneStore {
  /** for messages: the file or database the adapter's cache is kept in */
  where(adapter: string): string;
  /** the stored text for `adapter`, or null when there is none yet */
  load(adapter: string): Promise<string | null>;
  save(adapter: string, text: string): Promise<void>;
}

/** A kernel call met with no tuned choice: enough to run it again on stand-in inputs. */
export interface TuneJob {
  /** e.g. 'conv.weightGrad' */
  kernel: string;
  /** the shape, as a readable key: 'b16 1→8 32×32 k4 s2 p1' */
  shape: string;
  /** the candidates, the table's choice first */
  candidates: TuneChoice[];
  /** the inputs `run` takes: float counts, or a count whose values must be positive (a variance) */
  inputs: Array<number | { count: number; positive: true }>;
  /** Records the kernel with `choice` on `inputs`; returns its output (the caller releases it). */
  run(inputs: Storage[], choice: TuneChoice): Storage;
}

export interface TuneResult {
  kernel: string;
  shape: string;
  table: TuneChoice;
  tableMs: number;
  choice: TuneChoice;
  ms: number;
  /** candidates timed (those whose output matched the table's) */
  timed: number;
}

/** What the tuner needs of the backend: storages, readback, and a clock. */
export interface TuneHost {
  fromArray(data: ArrayLike<number>): Storage;
  read(x: Storage): Promise<Float32Array>;
  release(x: Storage): void;
  /** Milliseconds of GPU time `record`'s dispatches take, timed as the module comment says. */
  timeDispatches(record: () => void): Promise<number>;
}

/** A candidate must beat the table's median by this fraction to replace it. */
const NOISE_MARGIN = 0.05;
/** Timed rounds per candidate; the median is kept. */
const ROUNDS = 5;
/** A round repeats the kernel until about this long, so a small kernel is not timed by the submit's cost. */
const ROUND_MS = 2;
const MAX_REPEATS = 16;

const CACHE_FORMAT = 'wgrad-tune';
const CACHE_VERSION = 1;

interface CacheFile {
  format: typeof CACHE_FORMAT;
  version: typeof CACHE_VERSION;
  wgrad: string;
  adapter: string;
  results: Record<string, TuneResult>;
}

export function tuneKey(kernel: string, shape: string): string {
  return `${kernel} ${shape}`;
}

export function sameChoice(a: TuneChoice, b: TuneChoice): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => a[key] === b[key]);
}

export function describeChoice(choice: TuneChoice): string {
  return Object.entries(choice).map(([key, value]) => `${key} ${value}`).join(', ');
}

/** Stand-in inputs: a fixed stream in [-1, 1) (or [0.5, 1.5) where positive), so tuning never draws from the user's seeded generator. */
function standInValues(spec: number | { count: number; positive: true }, salt: number): Float32Array {
  const count = typeof spec === 'number' ? spec : spec.count;
  const low = typeof spec === 'number' ? -1 : 0.5;
  const values = new Float32Array(count);
  let state = (0x9e3779b9 ^ salt) >>> 0;
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    values[i] = low + state / 2 ** 32 * (typeof spec === 'number' ? 2 : 1);
  }
  return values;
}

function largestDifference(a: Float32Array, b: Float32Array): { difference: number; scale: number } {
  let difference = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= difference)) difference = d; // NaN counts as the largest
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return { difference, scale };
}

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.floor(sorted.length / 2)];
}

export class Tuner {
  mode: TuneMode = 'off';
  /** Called after each job is tuned (the CLI's and pages' progress bars). */
  onProgress: ((done: number, total: number, result: TuneResult) => void) | null = null;
  /** Tune again in mode 'on' what the cache already has (`wgrad tune --force`). */
  retune = false;
  /** Every key asked about since the last clear (which kernels a model's step runs). */
  readonly asked = new Set<string>();
  warn: (message: string) => void = (message) => console.warn(message);
  private store: TuneStore | null = null;
  private results = new Map<string, TuneResult>();
  /** cached keys whose choice was checked against today's candidates */
  private checked = new Set<string>();
  private pending = new Map<string, TuneJob>();
  private tuning = false;
  private cancelled = false;

  /** `adapter` identifies the adapter (vendor, architecture, device, description): a cache for another is not used. */
  constructor(private host: TuneHost, readonly adapter: string) {}

  /** Sets the mode and the store, and reads the store's cache unless the mode is 'off'. */
  async configure(mode: TuneMode, store: TuneStore | null): Promise<void> {
    if (!TUNE_MODES.includes(mode)) throw new Error(`tune: mode must be one of ${TUNE_MODES.join(', ')}, got '${mode}'`);
    this.mode = mode;
    this.store = store;
    this.results.clear();
    this.checked.clear();
    this.pending.clear();
    if (mode !== 'off' && store) await this.load(store);
  }

  private async load(store: TuneStore): Promise<void> {
    let text: string | null;
    try {
      text = await store.load(this.adapter);
    } catch (error) {
      this.warn(`wgrad: could not read the tuning cache ${store.where(this.adapter)} (${(error as Error).message}); using the built-in tables`);
      return;
    }
    if (text === null) return;
    const ignore = (why: string) => this.warn(`wgrad: ignoring the tuning cache ${store.where(this.adapter)}: ${why}; using the built-in tables`);
    let file: Partial<CacheFile>;
    try {
      file = JSON.parse(text);
    } catch {
      return ignore('it is not valid JSON');
    }
    if (!file || typeof file !== 'object' || file.format !== CACHE_FORMAT || file.version !== CACHE_VERSION) {
      return ignore(`it is not a ${CACHE_FORMAT} file of version ${CACHE_VERSION}`);
    }
    if (file.adapter !== this.adapter) return ignore(`it was made on another adapter (${JSON.stringify(file.adapter)})`);
    if (file.wgrad !== WGRAD_VERSION) return ignore(`it was made by wgrad ${file.wgrad}, this is ${WGRAD_VERSION}`);
    if (!file.results || typeof file.results !== 'object') return ignore('it has no results');
    for (const [key, result] of Object.entries(file.results)) {
      const wellFormed = result && typeof result === 'object' && typeof result.kernel === 'string' && typeof result.shape === 'string' &&
        tuneKey(result.kernel, result.shape) === key && isChoice(result.choice) && isChoice(result.table) &&
        Number.isFinite(result.ms) && Number.isFinite(result.tableMs);
      if (!wellFormed) return ignore(`its entry '${key}' is malformed`);
      this.results.set(key, result);
    }
  }

  /**
   * The choice for a call of `kernel` on `shape`: the tuned one if there is
   * one, else null (the caller uses its table). In mode 'on' an unknown
   * shape is queued and tuned at the next readback. `job` is made only when
   * needed.
   */
  choose(kernel: string, shape: string, job: () => TuneJob): TuneChoice | null {
    if (this.mode === 'off' || this.tuning) return null;
    const key = tuneKey(kernel, shape);
    this.asked.add(key);
    const known = this.results.get(key);
    if (known && this.retune && this.mode === 'on' && !this.checked.has(key)) {
      if (!this.pending.has(key)) this.pending.set(key, job());
      return null;
    }
    if (known) {
      if (this.checked.has(key)) return known.choice;
      const { candidates } = job();
      if (!candidates.some((candidate) => sameChoice(candidate, known.choice))) {
        this.warn(`wgrad: the tuning cache's choice for ${key} (${describeChoice(known.choice)}) is not a candidate any more; tuning it again`);
        this.results.delete(key);
      } else if (!sameChoice(candidates[0], known.table)) {
        // Tuned against a table that is no longer the table (a newer wgrad
        // changed it): the choice only ever beat the old one, so the new
        // table runs until the shape is tuned again. Quietly: the cache is
        // an optimization, and nothing it held is wrong.
        this.results.delete(key);
      } else {
        this.checked.add(key);
        return known.choice;
      }
    }
    if (this.mode === 'on' && !this.pending.has(key)) this.pending.set(key, job());
    return null;
  }

  /** Stops a tuning run after the shape being timed: what was tuned is kept and saved, the rest runs on the table. */
  cancel(): void {
    if (this.tuning) this.cancelled = true;
    this.pending.clear();
  }

  /** Shapes queued for tuning. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** The tuned results this tuner holds (cached or new). */
  get known(): TuneResult[] {
    return [...this.results.values()];
  }

  /** The result for a key, if there is one. */
  resultFor(key: string): TuneResult | undefined {
    return this.results.get(key);
  }

  /** Tunes every queued shape, saves the cache, and returns the new results. */
  async tunePending(): Promise<TuneResult[]> {
    if (this.tuning || this.pending.size === 0) return [];
    this.tuning = true;
    this.cancelled = false;
    const jobs = [...this.pending.values()];
    this.pending.clear();
    const fresh: TuneResult[] = [];
    try {
      for (const [index, job] of jobs.entries()) {
        if (this.cancelled) break;
        const result = await this.tune(job);
        this.results.set(tuneKey(job.kernel, job.shape), result);
        this.checked.add(tuneKey(job.kernel, job.shape));
        fresh.push(result);
        this.onProgress?.(index + 1, jobs.length, result);
      }
    } finally {
      this.tuning = false;
    }
    await this.save();
    return fresh;
  }

  private async tune(job: TuneJob): Promise<TuneResult> {
    const { host } = this;
    const inputs = job.inputs.map((spec, i) => host.fromArray(standInValues(spec, i)));
    try {
      const [table, ...others] = job.candidates;
      const reference = await this.output(job, inputs, table);
      const tableMs = await this.time(job, inputs, table);
      let best = { choice: table, ms: tableMs };
      let timed = 1;
      for (const choice of others) {
        const { difference, scale } = largestDifference(await this.output(job, inputs, choice), reference);
        if (!(difference <= 1e-3 * Math.max(1, scale))) {
          this.warn(`wgrad: tuning ${job.kernel} ${job.shape}: ${describeChoice(choice)} differs from the table's output by ${difference}; skipped`);
          continue;
        }
        const ms = await this.time(job, inputs, choice);
        timed++;
        if (ms < best.ms) best = { choice, ms };
      }
      if (best.ms > tableMs * (1 - NOISE_MARGIN)) best = { choice: table, ms: tableMs };
      return { kernel: job.kernel, shape: job.shape, table, tableMs, choice: best.choice, ms: best.ms, timed };
    } finally {
      for (const input of inputs) host.release(input);
    }
  }

  private async output(job: TuneJob, inputs: Storage[], choice: TuneChoice): Promise<Float32Array> {
    const out = job.run(inputs, choice);
    try {
      return await this.host.read(out);
    } finally {
      this.host.release(out);
    }
  }

  /** Median milliseconds of one run of `choice`. */
  private async time(job: TuneJob, inputs: Storage[], choice: TuneChoice): Promise<number> {
    const runs = (count: number) => () => {
      for (let i = 0; i < count; i++) this.host.release(job.run(inputs, choice));
    };
    const once = await this.host.timeDispatches(runs(1)); // also compiles the pipeline
    const repeats = Math.max(1, Math.min(MAX_REPEATS, Math.ceil(ROUND_MS / Math.max(once, 1e-3))));
    const rounds: number[] = [];
    for (let round = 0; round < ROUNDS; round++) rounds.push((await this.host.timeDispatches(runs(repeats))) / repeats);
    return median(rounds);
  }

  private async save(): Promise<void> {
    if (!this.store) return;
    const file: CacheFile = {
      format: CACHE_FORMAT, version: CACHE_VERSION, wgrad: WGRAD_VERSION, adapter: this.adapter,
      results: Object.fromEntries(this.results),
    };
    try {
      await this.store.save(this.adapter, `${JSON.stringify(file, null, 1)}\n`);
    } catch (error) {
      this.warn(`wgrad: could not write the tuning cache ${this.store.where(this.adapter)} (${(error as Error).message}); the choices hold for this run only`);
    }
  }
}

function isChoice(value: unknown): value is TuneChoice {
  return !!value && typeof value === 'object' && !Array.isArray(value) &&
    Object.values(value).every((v) => typeof v === 'string' || Number.isFinite(v));
}
