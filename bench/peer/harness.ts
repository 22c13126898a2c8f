// Measuring one case, fairly: the first run of each side timed on its own
// (it includes compiling pipelines), the two results compared (and with
// wgrad's CPU reference where the case is small), warm-up, then rounds
// that alternate ours, theirs, ours, ... so drift (clocks, other load)
// hits both. Each round queues `iters` runs and waits for the last.
import type { Case, Side, StepCounts } from './cases';

export interface CaseResult {
  name: string;
  kind: string;
  /** median ms per run, and the interquartile range */
  ms: number;
  spread: number;
  peerMs: number;
  peerSpread: number;
  firstMs: number;
  peerFirstMs: number;
  /** peer ms / our ms: above 1, wgrad is faster */
  ratio: number;
  gflops?: number;
  peerGflops?: number;
  gbps?: number;
  peerGbps?: number;
  /** max |ours − theirs| / max(1, largest |value|) */
  peerDiff: number;
  /** same against the CPU reference, when it ran */
  referenceDiff?: number;
  /** training steps: dispatches and bind groups per step (wgrad), kernels per step (tfjs) */
  counts?: StepCounts;
  /** wgrad's median ms without and with each variant that applies (tuned kernels, subgroups), timed in alternating rounds */
  variants?: Record<string, { offMs: number; onMs: number; note?: string }>;
}

/**
 * A second way of running wgrad's side, timed against the first in
 * alternating rounds: the tuned kernel configurations against the table,
 * the subgroup kernels against the workgroup-memory ones.
 */
export interface Variant {
  label: string;
  /** how the main rounds (against the peer) run: the table off, subgroups on */
  defaultOn: boolean;
  applies(c: Case): boolean;
  /** Before the variant's rounds, given one run of wgrad's side (tuning happens at its readback). */
  prepare?(runOurs: () => Promise<void>): Promise<void>;
  set(on: boolean): void;
  /** After prepare: a word on what the variant changes for this case ('= table' when the tuner kept every kernel's table choice). */
  note?(): string;
}

/** Each variant round lasts at least this long: a single run of a small kernel is timed mostly by the scheduler. */
const VARIANT_ROUND_MS = 25;

export interface MeasureOptions {
  rounds: number;
  variants?: Variant[];
  warmup: number;
  /** the least time one round should take; short runs are repeated to reach it */
  minRoundMs: number;
}

function quantile(sorted: number[], q: number): number {
  const i = (sorted.length - 1) * q;
  const lo = Math.floor(i);
  const hi = Math.ceil(i);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (i - lo);
}

function relativeDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let diff = 0;
  let largest = 1;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    largest = Math.max(largest, Math.abs(b[i]));
  }
  return Number.isNaN(diff) ? Infinity : diff / largest;
}

async function once<H>(side: Side<H>): Promise<number> {
  const t0 = performance.now();
  const h = await side.run();
  await side.sync(h);
  const ms = performance.now() - t0;
  side.free(h);
  return ms;
}

async function round<H>(side: Side<H>, iters: number): Promise<number> {
  const t0 = performance.now();
  let last: H | null = null;
  for (let i = 0; i < iters; i++) {
    const h = await side.run();
    if (last !== null) side.free(last);
    last = h;
  }
  await side.sync(last as H);
  const ms = (performance.now() - t0) / iters;
  side.free(last as H);
  return ms;
}

/**
 * Runs both sides once more and compares their results (and ours with the
 * CPU reference where the case has one). Throws naming the case when they
 * disagree; returns the differences.
 */
export async function checkCase(c: Case): Promise<{ peerDiff: number; referenceDiff?: number }> {
  const ho = await c.ours.run();
  const ht = await c.theirs.run();
  const [vo, vt] = [await c.ours.values(ho), await c.theirs.values(ht)];
  c.ours.free(ho);
  c.theirs.free(ht);
  for (const [who, v] of [['wgrad', vo], ['tfjs', vt]] as const) {
    if (![...v].every(Number.isFinite)) throw new Error(`${c.kind} ${c.name}: ${who} gave a non-finite result`);
  }
  const peerDiff = c.tolerance === Infinity ? 0 : relativeDiff(vo, vt);
  if (!(peerDiff <= c.tolerance)) {
    throw new Error(`${c.kind} ${c.name}: wgrad and tfjs disagree: max difference ${peerDiff.toExponential(2)} (relative to the largest value) > ${c.tolerance}`);
  }
  let referenceDiff: number | undefined;
  if (c.reference) {
    referenceDiff = relativeDiff(vo, await c.reference());
    if (!(referenceDiff <= c.tolerance)) {
      throw new Error(`${c.kind} ${c.name}: wgrad differs from its CPU reference by ${referenceDiff.toExponential(2)}`);
    }
  }
  return { peerDiff, referenceDiff };
}

/** The first run, the agreement check, then the interleaved timing. Throws if the two disagree. */
export async function measure(c: Case, o: MeasureOptions): Promise<CaseResult> {
  // First runs: each side's pipelines compile here.
  const firstMs = await once(c.ours);
  const peerFirstMs = await once(c.theirs);
  const { peerDiff, referenceDiff } = await checkCase(c);

  for (let i = 0; i < o.warmup; i++) {
    await once(c.ours);
    await once(c.theirs);
  }
  const counts = c.count ? await c.count() : undefined;
  const probe = Math.min(await once(c.ours), await once(c.theirs));
  const iters = Math.max(1, Math.min(100, Math.ceil(o.minRoundMs / Math.max(probe, 1e-3))));
  const ours: number[] = [];
  const theirs: number[] = [];
  for (let r = 0; r < o.rounds; r++) {
    ours.push(await round(c.ours, iters));
    theirs.push(await round(c.theirs, iters));
  }
  ours.sort((a, b) => a - b);
  theirs.sort((a, b) => a - b);
  const variants: Record<string, { offMs: number; onMs: number; note?: string }> = {};
  const variantIters = Math.max(iters, Math.min(100, Math.ceil(VARIANT_ROUND_MS / Math.max(probe, 1e-3))));
  for (const variant of (o.variants ?? []).filter((v) => v.applies(c))) {
    try {
      await variant.prepare?.(async () => void (await once(c.ours)));
      const [off, on]: number[][] = [[], []];
      for (let r = 0; r < Math.max(o.rounds, 5); r++) {
        variant.set(false);
        off.push(await round(c.ours, variantIters));
        variant.set(true);
        on.push(await round(c.ours, variantIters));
      }
      const note = variant.note?.();
      variants[variant.label] = { offMs: quantile(off.sort((a, b) => a - b), 0.5), onMs: quantile(on.sort((a, b) => a - b), 0.5), ...(note ? { note } : {}) };
    } finally {
      variant.set(variant.defaultOn);
    }
  }
  const ms = quantile(ours, 0.5);
  const peerMs = quantile(theirs, 0.5);
  const result: CaseResult = {
    name: c.name, kind: c.kind, ms, peerMs,
    spread: quantile(ours, 0.75) - quantile(ours, 0.25),
    peerSpread: quantile(theirs, 0.75) - quantile(theirs, 0.25),
    firstMs, peerFirstMs, ratio: peerMs / ms, peerDiff, referenceDiff, counts,
  };
  if (Object.keys(variants).length > 0) result.variants = variants;
  if (c.flops) {
    result.gflops = c.flops / ms / 1e6;
    result.peerGflops = c.flops / peerMs / 1e6;
  }
  if (c.bytes) {
    result.gbps = c.bytes / ms / 1e6;
    result.peerGbps = c.bytes / peerMs / 1e6;
  }
  return result;
}

/** One result as a console line, as soon as it is measured (Node and the --browser run print the same). */
export function resultLine(r: CaseResult): string {
  const variants = Object.entries(r.variants ?? {}).map(([label, v]) => `   ${label} ${v.onMs.toFixed(2)} ms (${(v.offMs / v.onMs).toFixed(2)}×${v.note ? `, ${v.note}` : ''})`).join('');
  return `${r.kind.padEnd(18)} ${r.name.padEnd(44)} wgrad ${r.ms.toFixed(2).padStart(9)} ms   tfjs ${r.peerMs.toFixed(2).padStart(9)} ms   ratio ${r.ratio.toFixed(2)}${variants}`;
}

function rate(r: CaseResult, peer: boolean): string {
  const g = peer ? r.peerGflops : r.gflops;
  if (g !== undefined) return `${g.toFixed(g < 10 ? 3 : 1)} GFLOP/s`;
  const b = peer ? r.peerGbps : r.gbps;
  return b !== undefined ? `${b.toFixed(b < 10 ? 3 : 1)} GB/s` : '';
}

/** The markdown table: one row per case. */
export function markdownTable(results: CaseResult[]): string {
  const rows = results.map((r) =>
    `| ${r.kind} | ${r.name} | ${r.ms.toFixed(2)} ± ${(r.spread / 2).toFixed(2)} | ${rate(r, false)} | ${r.peerMs.toFixed(2)} ± ${(r.peerSpread / 2).toFixed(2)} | ${rate(r, true)} | **${r.ratio.toFixed(2)}** | ${r.firstMs.toFixed(0)} / ${r.peerFirstMs.toFixed(0)} | ${r.peerDiff.toExponential(1)}${r.referenceDiff !== undefined ? ` / ${r.referenceDiff.toExponential(1)}` : ''} |`);
  return [
    '| kernel | case | wgrad ms | wgrad rate | tfjs ms | tfjs rate | ratio (tfjs / wgrad) | first run ms (wgrad / tfjs) | max diff vs tfjs / vs CPU ref |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

/**
 * Each variant side by side with wgrad's default way, per case: the table
 * against the tuned configurations, the workgroup-memory kernels against
 * the subgroup ones (both timed in alternating rounds).
 */
export function variantsTable(results: CaseResult[]): string {
  const labels = [...new Set(results.flatMap((r) => Object.keys(r.variants ?? {})))];
  if (labels.length === 0) return '';
  const names: Record<string, [string, string]> = { tuned: ['table ms', 'tuned ms'], subgroups: ['workgroup memory ms', 'subgroups ms'] };
  const head = labels.flatMap((label) => [...(names[label] ?? [`without ${label} ms`, `${label} ms`]), `${label} speed-up`]);
  const rows = results.filter((r) => r.variants).map((r) => {
    const cells = labels.flatMap((label) => {
      const v = r.variants![label];
      return v ? [v.offMs.toFixed(2), v.onMs.toFixed(2), `${(v.offMs / v.onMs).toFixed(2)}×${v.note ? ` (${v.note})` : ''}`] : ['', '', ''];
    });
    return `| ${r.kind} | ${r.name} | ${cells.join(' | ')} |`;
  });
  return [`| kernel | case | ${head.join(' | ')} |`, `|---|---|${head.map(() => '---:').join('|')}|`, ...rows].join('\n');
}

/** Dispatches per training step: wgrad's dispatches and bind groups, tfjs's kernels. */
export function countsTable(results: CaseResult[]): string {
  const counted = results.filter((r) => r.counts);
  if (counted.length === 0) return '';
  return [
    '| training step | wgrad dispatches | wgrad bind groups set / created | tfjs kernels |',
    '|---|---:|---:|---:|',
    ...counted.map((r) => `| ${r.name} | ${r.counts!.dispatches} | ${r.counts!.bindGroups} / ${r.counts!.bindGroupsCreated} | ${r.counts!.peerKernels} |`),
  ].join('\n');
}

/** Ratios by kind: the geometric mean and the worst case. */
export function summary(results: CaseResult[]): string {
  const kinds = [...new Set(results.map((r) => r.kind))];
  return kinds
    .map((kind) => {
      const ofKind = results.filter((r) => r.kind === kind);
      const rs = ofKind.map((r) => r.ratio);
      const geomean = (values: number[]) => Math.exp(values.reduce((a, r) => a + Math.log(r), 0) / values.length);
      // against tfjs with the tuned configurations, where they were timed: the peer's ms over wgrad's tuned ms
      const tuned = ofKind.filter((r) => r.variants?.tuned).map((r) => r.peerMs / r.variants!.tuned.onMs);
      const withTuned = tuned.length === rs.length ? `; tuned: geomean ${geomean(tuned).toFixed(2)}, worst ${Math.min(...tuned).toFixed(2)}` : '';
      return `${kind.padEnd(20)} ratio geomean ${geomean(rs).toFixed(2)}, worst ${Math.min(...rs).toFixed(2)} over ${rs.length} case${rs.length > 1 ? 's' : ''}${withTuned}`;
    })
    .join('\n');
}
