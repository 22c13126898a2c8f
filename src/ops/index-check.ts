// Checks on indices (Embedding's rows, crossEntropy's classes), which PyTorch
// refuses when out of range and a one-hot product would silently turn into
// a zero row.
//
// Both ops already compare each index with 0..n-1 (the one-hot tensor), so
// an index is valid exactly when its one-hot row holds a single 1: the sum
// of the whole one-hot tensor must equal the number of indices. Negative,
// too large, fractional and NaN indices all fail that test.
//
// Where the numbers are at hand the op throws at once: on the CPU reference,
// and for ids made by wg.tensor() from numbers (labels from a loader, a list
// of classes), which keep a copy. Ids computed on the GPU cannot be waited
// for, so the sum (one small reduction) is kept, like CUDA's device-side
// asserts: the next readback of any tensor reads every pending sum first, in
// one extra readback of a few floats, and throws naming the op, the first
// bad index and the range.
import { Tensor, keep, scope } from '../tensor';
import { noGrad } from '../autograd';
import type { CpuBackend } from '../backend/cpu';
import { shapeString } from '../shape';
import { concat } from './shape';
import { hostCopyOf } from './creation';

interface PendingCheck {
  op: string;
  ids: Tensor;
  range: number;
  /** how many of ids' one-hot rows hold their 1 (ids.size when all are valid) */
  hits: Tensor;
}

let pending: PendingCheck[] = [];

/** The error for the first invalid index of `values`, or null when all are valid. */
function indexError(op: string, values: ArrayLike<number>, shape: readonly number[], range: number): Error | null {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isInteger(v) && v >= 0 && v < range) continue;
    const bad = values.length === 1 ? '' : ` at flat position ${i} of indices ${shapeString(shape)}`;
    return new Error(`${op}: index ${v}${bad} is out of range: valid indices are the integers 0 to ${range - 1}`);
  }
  return null;
}

/**
 * Refuses indices `ids` outside the integers 0..range-1, given their one-hot
 * comparison `oneHot` (ids.unsqueeze(-1).eq(0..range-1), in any layout):
 * now on the CPU, at the next readback on WebGPU.
 */
export function checkIndices(op: string, ids: Tensor, oneHot: Tensor, range: number): void {
  const known = hostCopyOf(ids) ?? (ids.backend.name === 'cpu' ? (ids.backend as CpuBackend).readSync(ids.storageFor(op)) : null);
  if (known) {
    const error = indexError(op, known, ids.shape, range);
    if (error) throw error;
    return;
  }
  if (ids.size === 0) return;
  const hits = noGrad(() => oneHot.sum());
  pending.push({ op, ids: keep(ids.detach()), range, hits: keep(hits) });
}

/**
 * Reads the pending index checks (one readback for all) and throws for the
 * first that failed. Every readback calls this before its own.
 */
export async function settleIndexChecks(): Promise<void> {
  if (pending.length === 0) return;
  const checks = pending;
  pending = [];
  try {
    const live = checks.filter((check) => !check.hits.disposed && !check.ids.disposed);
    if (live.length === 0) return;
    const all = scope(() => noGrad(() => concat(live.map((check) => check.hits.reshape([1])))));
    const counts = await all.backend.read(all.storageFor('index check'));
    all.dispose();
    for (let i = 0; i < live.length; i++) {
      const check = live[i];
      if (counts[i] === check.ids.size) continue;
      const values = await check.ids.backend.read(check.ids.storageFor(check.op));
      throw indexError(check.op, values, check.ids.shape, check.range)
        ?? new Error(`${check.op}: ${check.ids.size - counts[i]} of the indices ${shapeString(check.ids.shape)} are out of range 0 to ${check.range - 1}`);
    }
  } finally {
    for (const check of checks) {
      check.ids.dispose();
      check.hits.dispose();
    }
  }
}
