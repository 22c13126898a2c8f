// Making tensors: from data, filled, random (seeded, see random.ts), ranges.
import { Tensor, shapeSize, shapeString } from '../tensor';
import { currentBackend } from '../runtime';
import { checkStorageFits } from '../shape';
import type { Backend, Storage } from '../backend/backend';
import { normalArray, uniformArray } from '../random';

export interface TensorOptions {
  requiresGrad?: boolean;
}

export type NestedNumbers = number | NestedNumbers[];

function checkShape(op: string, shape: readonly number[]): void {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new Error(`${op}: shape ${JSON.stringify(shape)} must be a list of non-negative integers`);
  }
  checkStorageFits(op, shape, currentBackend().largestStorage);
}

/** The shape of a nested array, checking it is rectangular. */
function nestedShape(data: NestedNumbers): number[] {
  const shape: number[] = [];
  let level: NestedNumbers = data;
  while (Array.isArray(level)) {
    shape.push(level.length);
    level = level[0] as NestedNumbers;
    if (level === undefined) break;
  }
  return shape;
}

function flattenNested(data: NestedNumbers, shape: number[], depth: number, out: number[]): void {
  if (depth === shape.length) {
    if (typeof data !== 'number') throw new Error(`tensor: expected a number at depth ${depth}, got ${JSON.stringify(data)}`);
    out.push(data);
    return;
  }
  if (!Array.isArray(data) || data.length !== shape[depth]) {
    throw new Error(`tensor: nested arrays are not rectangular (expected ${shape[depth]} items at depth ${depth})`);
  }
  for (const item of data) flattenNested(item, shape, depth + 1, out);
}

export function tensor(
  data: NestedNumbers | ArrayLike<number>,
  shape?: number[] | null,
  options: TensorOptions = {},
): Tensor {
  let values: ArrayLike<number>;
  let inferred: number[];
  if (typeof data === 'number') {
    values = [data];
    inferred = [];
  } else if (ArrayBuffer.isView(data) || !Array.isArray(data)) {
    values = data as ArrayLike<number>;
    inferred = [values.length];
  } else {
    inferred = nestedShape(data);
    const flat: number[] = [];
    flattenNested(data, inferred, 0, flat);
    values = flat;
  }
  const target = shape ?? inferred;
  checkShape('tensor', target);
  if (shapeSize(target) !== values.length) {
    throw new Error(
      `tensor: ${values.length} values do not fit shape ${shapeString(target)} (${shapeSize(target)} elements)`,
    );
  }
  const storage = currentBackend().fromArray(values);
  if (values.length <= HOST_COPY_LIMIT) hostCopies.set(storage, Float64Array.from(values));
  return new Tensor(storage, target, options.requiresGrad ?? false);
}

/**
 * Small tensors made from numbers keep a copy of them (by storage, so views
 * share it), for ops that must check values they cannot wait for the GPU to
 * give back: class and row indices (ops/index-check.ts).
 */
const hostCopies = new WeakMap<Storage, Float64Array>();
const HOST_COPY_LIMIT = 4096;

/** The numbers `t` was made from by tensor(), if it is small and was not overwritten since; else null. */
export function hostCopyOf(t: Tensor): Float64Array | null {
  return hostCopies.get(t.storageFor('hostCopyOf')) ?? null;
}

function filled(op: string, shape: number[], value: number, options: TensorOptions): Tensor {
  checkShape(op, shape);
  return new Tensor(currentBackend().full(shapeSize(shape), value), shape, options.requiresGrad ?? false);
}

export const full = (shape: number[], value: number, options: TensorOptions = {}) => filled('full', shape, value, options);
export const zeros = (shape: number[], options: TensorOptions = {}) => filled('zeros', shape, 0, options);
export const ones = (shape: number[], options: TensorOptions = {}) => filled('ones', shape, 1, options);

/** Standard normal numbers from the seeded stream. */
export function randn(shape: number[], options: TensorOptions = {}): Tensor {
  checkShape('randn', shape);
  return new Tensor(currentBackend().fromArray(normalArray(shapeSize(shape))), shape, options.requiresGrad ?? false);
}

/**
 * randn's numbers written into `t` in place (the next ones of the seeded
 * stream, as randn(t.shape) would draw them): a loop that needs fresh noise
 * every step keeps one buffer (Backend.write).
 */
export function refillRandn(t: Tensor): Tensor {
  t.backend.write(t.storageFor('refillRandn'), normalArray(t.size));
  hostCopies.delete(t.storageFor('refillRandn'));
  return t;
}

/** Uniform numbers in [0, 1) from the seeded stream. */
export function rand(shape: number[], options: TensorOptions = {}): Tensor {
  checkShape('rand', shape);
  return new Tensor(currentBackend().fromArray(uniformArray(shapeSize(shape))), shape, options.requiresGrad ?? false);
}

/** `value` everywhere, on `backend` (an op's own, not the runtime's current one). */
export function fullOn(backend: Backend, shape: number[], value: number): Tensor {
  checkStorageFits('full', shape, backend.largestStorage);
  return new Tensor(backend.full(shapeSize(shape), value), shape);
}

/** 0..count-1 on `backend`: the class ids an op compares indices with. */
export function rangeOn(backend: Backend, count: number): Tensor {
  checkStorageFits('arange', [count], backend.largestStorage);
  return new Tensor(backend.fromArray(Float64Array.from({ length: count }, (_, i) => i)), [count]);
}

/** arange(n) is 0..n-1; arange(start, end, step) as torch.arange. */
export function arange(start: number, end?: number, step = 1): Tensor {
  const [from, to] = end === undefined ? [0, start] : [start, end];
  if (step === 0 || !Number.isFinite(step)) throw new Error(`arange: step must be a non-zero number, got ${step}`);
  const count = Math.max(0, Math.ceil((to - from) / step));
  checkStorageFits('arange', [count], currentBackend().largestStorage);
  const values = new Float64Array(count);
  for (let i = 0; i < count; i++) values[i] = from + i * step;
  return new Tensor(currentBackend().fromArray(values), [count]);
}
