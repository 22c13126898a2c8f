// Elementwise ops. Each backend has one kernel per op (shaders/elementwise.wgsl,
// backend/cpu/elementwise.ts); here each op is its forward call and its
// backward rule side by side.
import type { BinaryOp, UnaryOp } from '../backend/backend';
import { Tensor } from '../tensor';
import { record } from '../autograd';
import { broadcastShapes, padShape, unbroadcast } from './broadcast';
import { checkStorageFits } from '../shape';

// ---- one input

function unary(op: UnaryOp, x: Tensor, alpha = 0, beta = 0): Tensor {
  const out = new Tensor(x.backend.unary(op, x.storageFor(op), alpha, beta), x.shape);
  return record(op, out, [x], (g) => {
    const where = `${op} backward`;
    return [new Tensor(x.backend.unaryGrad(op, x.storageFor(where), g.storageFor(where), alpha, beta), x.shape)];
  });
}

export const neg = (x: Tensor) => unary('neg', x);
export const exp = (x: Tensor) => unary('exp', x);
export const log = (x: Tensor) => unary('log', x);
export const sqrt = (x: Tensor) => unary('sqrt', x);
export const abs = (x: Tensor) => unary('abs', x);
export const square = (x: Tensor) => unary('square', x);
export const relu = (x: Tensor) => unary('relu', x);
export const leakyRelu = (x: Tensor, slope: number) => unary('leakyRelu', x, slope);
export const tanh = (x: Tensor) => unary('tanh', x);
export const sigmoid = (x: Tensor) => unary('sigmoid', x);
export const silu = (x: Tensor) => unary('silu', x);
export const gelu = (x: Tensor) => unary('gelu', x);
export const softplus = (x: Tensor) => unary('softplus', x);

const FLOAT_MAX = 3.4028234663852886e38; // float32's largest: "no bound" that the GPU can hold

export function clamp(x: Tensor, min?: number | null, max?: number | null): Tensor {
  if (min != null && max != null && min > max) {
    throw new Error(`clamp: min ${min} is greater than max ${max}`);
  }
  return unary('clamp', x, min ?? -FLOAT_MAX, max ?? FLOAT_MAX);
}

// ---- two inputs, broadcast

function binary(op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  const sa = a.storageFor(op);
  const sb = b.storageFor(op);
  if (a.backend !== b.backend) {
    throw new Error(`${op}: operands are on different backends (${a.backend.name} and ${b.backend.name})`);
  }
  const shape = broadcastShapes(op, a.shape, b.shape);
  checkStorageFits(op, shape, a.backend.largestStorage);
  const storage = a.backend.binary(op, sa, padShape(a.shape, shape.length), sb, padShape(b.shape, shape.length), shape);
  return new Tensor(storage, shape);
}

/** A number operand as a one-element tensor on x's backend (pow and eq only). */
function scalarLike(x: Tensor, v: number): Tensor {
  return new Tensor(x.backend.fromArray([v]), []);
}

export function add(a: Tensor, b: Tensor | number): Tensor {
  if (typeof b === 'number') {
    return record('add', unaryNoGrad('addScalar', a, b), [a], (g) => [g]);
  }
  return record('add', binary('add', a, b), [a, b], (g) => [unbroadcast(g, a.shape), unbroadcast(g, b.shape)]);
}

export function sub(a: Tensor, b: Tensor | number): Tensor {
  if (typeof b === 'number') return add(a, -b);
  return record('sub', binary('sub', a, b), [a, b], (g) => [unbroadcast(g, a.shape), unbroadcast(g.neg(), b.shape)]);
}

export function mul(a: Tensor, b: Tensor | number): Tensor {
  if (typeof b === 'number') {
    return record('mul', unaryNoGrad('mulScalar', a, b), [a], (g) => [g.mul(b)]);
  }
  return record('mul', binary('mul', a, b), [a, b], (g) => [
    a.requiresGrad ? unbroadcast(g.mul(b), a.shape) : null,
    b.requiresGrad ? unbroadcast(g.mul(a), b.shape) : null,
  ]);
}

export function div(a: Tensor, b: Tensor | number): Tensor {
  if (typeof b === 'number') {
    return record('div', unaryNoGrad('mulScalar', a, 1 / b), [a], (g) => [g.mul(1 / b)]);
  }
  return record('div', binary('div', a, b), [a, b], (g) => [
    a.requiresGrad ? unbroadcast(g.div(b), a.shape) : null,
    // d(a/b)/db = -a / b²
    b.requiresGrad ? unbroadcast(g.mul(a).div(b.square()).neg(), b.shape) : null,
  ]);
}

export function pow(a: Tensor, b: Tensor | number): Tensor {
  if (typeof b === 'number') return unary('powScalar', a, b);
  const out = binary('pow', a, b);
  return record('pow', out, [a, b], (g) => [
    // d(a^b)/da = b · a^(b-1)
    a.requiresGrad ? unbroadcast(g.mul(b).mul(a.pow(b.sub(1))), a.shape) : null,
    // d(a^b)/db = a^b · log a
    b.requiresGrad ? unbroadcast(g.mul(out).mul(a.log()), b.shape) : null,
  ]);
}

/** 1 where a == b, else 0; no gradient. */
export function eq(a: Tensor, b: Tensor | number): Tensor {
  if (typeof b === 'number') {
    const bt = scalarLike(a, b);
    const out = binary('eq', a, bt);
    bt.dispose();
    return out;
  }
  return binary('eq', a, b);
}

function unaryNoGrad(op: UnaryOp, x: Tensor, alpha: number): Tensor {
  return new Tensor(x.backend.unary(op, x.storageFor(op), alpha, 0), x.shape);
}
