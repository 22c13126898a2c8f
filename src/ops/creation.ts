// Making tensors: from data, filled, random (seeded, see random.ts), ranges.
import { Tensor, shapeSize, shapeString } from '../tensor';
import { currentBackend } from '../runtime';
import { normalArray, uniformArray } from '../random';

export interface TensorOptions {
  requiresGrad?: boolean;
}

export type NestedNumbers = number | NestedNumbers[];

function checkShape(op: string, shape: readonly number[]): void {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new Error(`${op}: shape ${JSON.stringify(shape)} must be a list of non-negative integers`);
  }
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
  return new Tensor(currentBackend().fromArray(values), target, options.requiresGrad ?? false);
}

export function full(shape: number[], value: number, options: TensorOptions = {}): Tensor {
  checkShape('full', shape);
  return new Tensor(currentBackend().full(shapeSize(shape), value), shape, options.requiresGrad ?? false);
}

export const zeros = (shape: number[], options: TensorOptions = {}) => full(shape, 0, options);
export const ones = (shape: number[], options: TensorOptions = {}) => full(shape, 1, options);

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
  return t;
}

/** Uniform numbers in [0, 1) from the seeded stream. */
export function rand(shape: number[], options: TensorOptions = {}): Tensor {
  checkShape('rand', shape);
  return new Tensor(currentBackend().fromArray(uniformArray(shapeSize(shape))), shape, options.requiresGrad ?? false);
}

/** arange(n) is 0..n-1; arange(start, end, step) as torch.arange. */
export function arange(start: number, end?: number, step = 1): Tensor {
  const [from, to] = end === undefined ? [0, start] : [start, end];
  if (step === 0 || !Number.isFinite(step)) throw new Error(`arange: step must be a non-zero number, got ${step}`);
  const count = Math.max(0, Math.ceil((to - from) / step));
  const values = new Float64Array(count);
  for (let i = 0; i < count; i++) values[i] = from + i * step;
  return new Tensor(currentBackend().fromArray(values), [count]);
}
