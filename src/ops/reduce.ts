// Reductions over any set of dims. The backend reduces rows of a
// [kept, reduced] matrix; when the reduced dims are not already the
// innermost, a gather first moves them there.
import type { ReduceOp } from '../backend/backend';
import { Tensor, shapeSize } from '../tensor';
import { record, noGrad } from '../autograd';
import { normalizeDim } from './shape';
import { contiguousStrides } from '../shape';

type Dims = number | number[] | null | undefined;

function normalizeDims(op: string, dims: Dims, rank: number): number[] {
  if (dims === null || dims === undefined) return [...Array(rank).keys()];
  const list = (typeof dims === 'number' ? [dims] : dims).map((d) => normalizeDim(op, d, Math.max(rank, 1)));
  if (new Set(list).size !== list.length) throw new Error(`${op}: dims [${list}] repeat a dim`);
  return rank === 0 ? [] : list.sort((a, b) => a - b);
}

function reducedShape(shape: number[], dims: number[], keepdim: boolean): number[] {
  return keepdim ? shape.map((s, d) => (dims.includes(d) ? 1 : s)) : shape.filter((_, d) => !dims.includes(d));
}

/** The backend call: op over `dims` of x, no autograd. */
function reduceRaw(op: ReduceOp, x: Tensor, dims: number[], keepdim: boolean): Tensor {
  const kept = x.shape.map((_, d) => d).filter((d) => !dims.includes(d));
  const order = [...kept, ...dims];
  const rows = shapeSize(kept.map((d) => x.shape[d]));
  const cols = shapeSize(dims.map((d) => x.shape[d]));
  let source = x.storageFor(op);
  let moved = null;
  if (order.some((d, i) => d !== i)) {
    const strides = contiguousStrides(x.shape);
    moved = x.backend.gather(source, order.map((d) => x.shape[d]), order.map((d) => strides[d]), 0);
    source = moved;
  }
  const out = x.backend.reduce(op, source, rows, cols);
  if (moved) x.backend.release(moved);
  return new Tensor(out, reducedShape(x.shape, dims, keepdim));
}

export function sum(x: Tensor, dim: Dims, keepdim = false): Tensor {
  const dims = normalizeDims('sum', dim, x.rank);
  const out = reduceRaw('sum', x, dims, keepdim);
  return record('sum', out, [x], (g) => [g.reshape(reducedShape(x.shape, dims, true)).expand(x.shape)]);
}

export function mean(x: Tensor, dim: Dims, keepdim = false): Tensor {
  const dims = normalizeDims('mean', dim, x.rank);
  const count = shapeSize(dims.map((d) => x.shape[d]));
  return sum(x, dims, keepdim).mul(1 / count);
}

/** Variance over dims; unbiased (divide by n - 1) by default, as torch.var. */
export function variance(x: Tensor, dim: Dims, keepdim = false, unbiased = true): Tensor {
  const dims = normalizeDims('var', dim, x.rank);
  const count = shapeSize(dims.map((d) => x.shape[d]));
  const centered = x.sub(mean(x, dims, true));
  return sum(centered.square(), dims, keepdim).mul(1 / Math.max(count - (unbiased ? 1 : 0), 0));
}

// max/min: the gradient goes to the elements equal to the result, shared
// evenly among ties (as torch.amax/amin).
function extremum(op: 'max' | 'min', x: Tensor, dim: Dims, keepdim: boolean): Tensor {
  const dims = normalizeDims(op, dim, x.rank);
  if (dims.some((d) => x.shape[d] === 0)) {
    throw new Error(`${op}: cannot reduce over an empty dim of a tensor of shape [${x.shape}]`);
  }
  const out = reduceRaw(op, x, dims, keepdim);
  return record(op, out, [x], (g) =>
    noGrad(() => {
      const kept = reducedShape(x.shape, dims, true);
      const hits = x.eq(out.reshape(kept));
      const share = hits.div(hits.sum(dims, true));
      return [share.mul(g.reshape(kept))];
    }),
  );
}

export const max = (x: Tensor, dim: Dims, keepdim = false) => extremum('max', x, dim, keepdim);
export const min = (x: Tensor, dim: Dims, keepdim = false) => extremum('min', x, dim, keepdim);
