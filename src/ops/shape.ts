// Shape ops. reshape shares storage; the rest are strided copies through the
// backend's gather (permute, expand, slice) and scatter (pad, concat), and
// each one's backward is another of them.
import { Tensor, shapeSize, shapeString } from '../tensor';
import { record } from '../autograd';
import { unbroadcast } from './broadcast';
import { contiguousStrides } from '../shape';

/** A dim in [-rank, rank) as a dim in [0, rank). */
export function normalizeDim(op: string, dim: number, rank: number): number {
  if (!Number.isInteger(dim) || dim < -rank || dim >= rank) {
    throw new Error(`${op}: dim ${dim} is out of range for a tensor of rank ${rank} (expected ${-rank}..${rank - 1})`);
  }
  return dim < 0 ? dim + rank : dim;
}

function gather(x: Tensor, shape: number[], strides: number[], offset: number, op: string): Tensor {
  return new Tensor(x.backend.gather(x.storageFor(op), shape, strides, offset), shape);
}

export function reshape(x: Tensor, shape: number[]): Tensor {
  const inferred = shape.indexOf(-1);
  if (shape.lastIndexOf(-1) !== inferred) {
    throw new Error(`reshape: only one dim may be -1, got ${shapeString(shape)}`);
  }
  const target = [...shape];
  if (inferred >= 0) {
    const known = shapeSize(shape.filter((_, i) => i !== inferred));
    if (known === 0 || x.size % known !== 0) {
      throw new Error(`reshape: cannot reshape ${shapeString(x.shape)} (${x.size} elements) into ${shapeString(shape)}`);
    }
    target[inferred] = x.size / known;
  }
  if (target.some((d) => !Number.isInteger(d) || d < 0) || shapeSize(target) !== x.size) {
    throw new Error(`reshape: cannot reshape ${shapeString(x.shape)} (${x.size} elements) into ${shapeString(shape)}`);
  }
  const out = x.aliasAs(target);
  return record('reshape', out, [x], (g) => [g.reshape(x.shape)]);
}

export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  if (x.rank === 0) return reshape(x, [1]);
  const start = normalizeDim('flatten', startDim, x.rank);
  const end = normalizeDim('flatten', endDim, x.rank);
  if (start > end) throw new Error(`flatten: startDim ${startDim} comes after endDim ${endDim}`);
  const merged = shapeSize(x.shape.slice(start, end + 1));
  return reshape(x, [...x.shape.slice(0, start), merged, ...x.shape.slice(end + 1)]);
}

export function permute(x: Tensor, dims: number[]): Tensor {
  if (dims.length !== x.rank) {
    throw new Error(`permute: ${dims.length} dims given for a tensor of shape ${shapeString(x.shape)}`);
  }
  const perm = dims.map((d) => normalizeDim('permute', d, x.rank));
  if (new Set(perm).size !== perm.length) throw new Error(`permute: dims [${dims}] repeat a dim`);
  if (perm.every((d, i) => d === i)) return reshape(x, x.shape);
  const strides = contiguousStrides(x.shape);
  const out = gather(x, perm.map((d) => x.shape[d]), perm.map((d) => strides[d]), 0, 'permute');
  const inverse = new Array<number>(perm.length);
  perm.forEach((d, i) => (inverse[d] = i));
  return record('permute', out, [x], (g) => [g.permute(inverse)]);
}

export function transpose(x: Tensor, dim0: number, dim1: number): Tensor {
  if (x.rank < 2) return reshape(x, x.shape); // PyTorch's t() of a vector is the vector
  const perm = x.shape.map((_, i) => i);
  const a = normalizeDim('transpose', dim0, x.rank);
  const b = normalizeDim('transpose', dim1, x.rank);
  [perm[a], perm[b]] = [perm[b], perm[a]];
  return permute(x, perm);
}

export function squeeze(x: Tensor, dim?: number): Tensor {
  if (dim === undefined) return reshape(x, x.shape.filter((d) => d !== 1));
  const d = normalizeDim('squeeze', dim, Math.max(x.rank, 1));
  if (x.rank === 0 || x.shape[d] !== 1) return reshape(x, x.shape);
  return reshape(x, x.shape.filter((_, i) => i !== d));
}

export function unsqueeze(x: Tensor, dim: number): Tensor {
  const d = normalizeDim('unsqueeze', dim, x.rank + 1);
  return reshape(x, [...x.shape.slice(0, d), 1, ...x.shape.slice(d)]);
}

export function expand(x: Tensor, shape: number[]): Tensor {
  if (shape.length < x.rank) {
    throw new Error(`expand: cannot expand ${shapeString(x.shape)} to fewer dims ${shapeString(shape)}`);
  }
  const lead = shape.length - x.rank;
  const strides = contiguousStrides(x.shape);
  const target: number[] = [];
  const readStrides: number[] = [];
  for (let d = 0; d < shape.length; d++) {
    const own = d >= lead ? x.shape[d - lead] : 1;
    const want = shape[d] === -1 && d >= lead ? own : shape[d];
    if (own !== want && own !== 1) {
      throw new Error(`expand: cannot expand ${shapeString(x.shape)} to ${shapeString(shape)} (dim ${d}: ${own} vs ${want})`);
    }
    target.push(want);
    readStrides.push(d >= lead && own === want ? strides[d - lead] : 0);
  }
  if (target.join() === x.shape.join()) return reshape(x, x.shape);
  const out = gather(x, target, readStrides, 0, 'expand');
  return record('expand', out, [x], (g) => [unbroadcast(g, x.shape)]);
}

/** Elements start, start + step, ... < end along `dim`, like x[..., start:end:step]. */
export function slice(x: Tensor, dim: number, start = 0, end?: number, step = 1): Tensor {
  const d = normalizeDim('slice', dim, x.rank);
  const size = x.shape[d];
  if (!Number.isInteger(step) || step < 1) throw new Error(`slice: step must be a positive integer, got ${step}`);
  const clampIndex = (i: number) => Math.min(Math.max(i < 0 ? i + size : i, 0), size);
  const from = clampIndex(start);
  const to = Math.max(from, clampIndex(end ?? size));
  const count = Math.ceil((to - from) / step);
  const shape = [...x.shape];
  shape[d] = count;
  const strides = contiguousStrides(x.shape);
  const offset = from * strides[d];
  const readStrides = [...strides];
  readStrides[d] = strides[d] * step;
  const out = gather(x, shape, readStrides, offset, 'slice');
  return record('slice', out, [x], (g) => {
    const dx = new Tensor(x.backend.full(x.size, 0), x.shape);
    x.backend.scatter(g.storageFor('slice backward'), shape, dx.storageFor('slice backward'), readStrides, offset);
    return [dx];
  });
}

/**
 * Pads with `value`. padding lists (before, after) pairs from the last dim
 * backwards, as torch.nn.functional.pad: [left, right, top, bottom, ...].
 */
export function pad(x: Tensor, padding: number[], value = 0): Tensor {
  if (padding.length % 2 !== 0 || padding.length / 2 > x.rank) {
    throw new Error(`pad: padding [${padding}] must hold (before, after) pairs for at most ${x.rank} dims`);
  }
  if (padding.some((p) => !Number.isInteger(p) || p < 0)) {
    throw new Error(`pad: padding [${padding}] must be non-negative integers`);
  }
  const shape = [...x.shape];
  let offset = 0;
  const before = new Array<number>(x.rank).fill(0);
  for (let i = 0; i < padding.length / 2; i++) {
    const d = x.rank - 1 - i;
    before[d] = padding[2 * i];
    shape[d] += padding[2 * i] + padding[2 * i + 1];
  }
  const outStrides = contiguousStrides(shape);
  for (let d = 0; d < x.rank; d++) offset += before[d] * outStrides[d];
  const out = new Tensor(x.backend.full(shapeSize(shape), value), shape);
  x.backend.scatter(x.storageFor('pad'), x.shape, out.storageFor('pad'), outStrides, offset);
  return record('pad', out, [x], (g) => [gather(g, x.shape, outStrides, offset, 'pad backward')]);
}

export function concat(tensors: Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new Error('concat: needs at least one tensor');
  const first = tensors[0];
  const d = normalizeDim('concat', dim, first.rank);
  for (const t of tensors) {
    const same = t.rank === first.rank && t.shape.every((s, i) => i === d || s === first.shape[i]);
    if (!same) {
      throw new Error(
        `concat: shapes ${tensors.map((u) => shapeString(u.shape)).join(', ')} differ outside dim ${dim}`,
      );
    }
    if (t.backend !== first.backend) throw new Error('concat: tensors are on different backends');
  }
  const shape = [...first.shape];
  shape[d] = tensors.reduce((n, t) => n + t.shape[d], 0);
  const strides = contiguousStrides(shape);
  const backend = first.backend;
  const out = new Tensor(backend.full(shapeSize(shape), 0), shape);
  const offsets: number[] = [];
  let at = 0;
  for (const t of tensors) {
    offsets.push(at * strides[d]);
    backend.scatter(t.storageFor('concat'), t.shape, out.storageFor('concat'), strides, at * strides[d]);
    at += t.shape[d];
  }
  return record('concat', out, tensors, (g) =>
    tensors.map((t, i) => (t.requiresGrad ? gather(g, t.shape, strides, offsets[i], 'concat backward') : null)),
  );
}
