// Tensor: a shape, a handle on backend storage, and what autograd needs
// (requiresGrad, grad, the node that made it). The maths lives in ops/;
// the methods here only forward to it, so `x.add(y)` and `add(x, y)` are one.
import type { Backend, Storage } from './backend/backend';
import type { BackwardOptions, GradNode } from './autograd';
import * as elementwise from './ops/elementwise';
import * as shapeOps from './ops/shape';
import * as reduce from './ops/reduce';
import { matmul } from './ops/matmul';
import { runBackward, noGrad } from './autograd';
import { leftScopes, madeInScope, scope } from './scope';
import { shapeSize, shapeString } from './shape';
import { settleIndexChecks } from './ops/index-check';

export { shapeSize, shapeString };
// Scopes live beside autograd (src/scope.ts); ops and layers import them from here too.
export { scope, keep } from './scope';

/** Storage shared by tensors that view the same numbers (reshape, detach). */
class SharedStorage {
  refs = 1;
  constructor(readonly storage: Storage) {}
}

let liveTensors = 0;
let nextId = 1;

/** The largest shape made while largestTensorIn runs, null when not watching. */
let largestMade: number[] | null = null;

export function liveTensorCount(): number {
  return liveTensors;
}

export class Tensor {
  readonly id = nextId++;
  readonly shape: number[];
  requiresGrad: boolean;
  grad: Tensor | null = null;
  /** How this tensor was made, for backward(); null for leaves. */
  node: GradNode | null = null;
  private shared: SharedStorage | null;

  /** Wraps `storage`, taking ownership of it. Ops call this; users call wg.tensor(). */
  constructor(storage: Storage, shape: readonly number[], requiresGrad = false) {
    if (storage.size !== shapeSize(shape)) {
      throw new Error(`Tensor: storage of ${storage.size} elements cannot have shape ${shapeString(shape)}`);
    }
    this.shared = new SharedStorage(storage);
    this.shape = [...shape];
    this.requiresGrad = requiresGrad;
    liveTensors++;
    madeInScope(this);
    if (largestMade !== null && storage.size > shapeSize(largestMade)) largestMade = [...shape];
  }

  get size(): number {
    return shapeSize(this.shape);
  }

  get rank(): number {
    return this.shape.length;
  }

  get disposed(): boolean {
    return this.shared === null;
  }

  /** The storage, or a clear error naming `op` if this tensor was disposed. */
  storageFor(op: string): Storage {
    if (this.shared === null) {
      throw new Error(`${op}: tensor #${this.id} of shape ${shapeString(this.shape)} was disposed and cannot be used`);
    }
    return this.shared.storage;
  }

  get backend(): Backend {
    return this.storageFor('backend').backend;
  }

  /** A new tensor on the same storage with another shape of the same size (no copy). */
  aliasAs(shape: readonly number[]): Tensor {
    const storage = this.storageFor('alias');
    if (shapeSize(shape) !== storage.size) {
      throw new Error(`alias: cannot view ${shapeString(this.shape)} as ${shapeString(shape)}`);
    }
    const t = Object.create(Tensor.prototype) as Tensor;
    Object.assign(t, {
      id: nextId++,
      shape: [...shape],
      requiresGrad: false,
      grad: null,
      node: null,
      shared: this.shared,
    });
    this.shared!.refs++;
    liveTensors++;
    madeInScope(t);
    return t;
  }

  /** Frees the storage (once no other view holds it). Disposing twice is harmless. */
  dispose(): void {
    if (this.shared === null) return;
    const shared = this.shared;
    this.shared = null;
    this.node = null;
    liveTensors--;
    if (--shared.refs === 0) shared.storage.backend.release(shared.storage);
    leftScopes(this);
  }

  /** Replaces this tensor's contents with `src`'s, in place (optimizer steps, running stats). */
  assign(src: Tensor): this {
    if (src.size !== this.size) {
      throw new Error(`assign: source of shape ${shapeString(src.shape)} does not fit ${shapeString(this.shape)}`);
    }
    const storage = src.storageFor('assign');
    this.storageFor('assign');
    if (storage.backend !== this.backend) throw new Error('assign: tensors are on different backends');
    const old = this.shared!;
    src.shared!.refs++;
    this.shared = src.shared;
    if (--old.refs === 0) old.storage.backend.release(old.storage);
    return this;
  }

  /** The contents as a Float32Array, row-major. */
  async toArray(): Promise<Float32Array> {
    await settleIndexChecks();
    const data = await this.backend.read(this.storageFor('toArray'));
    return data instanceof Float32Array ? data : Float32Array.from(data);
  }

  /** The contents at the backend's precision (float64 on the CPU reference). */
  async toFloat64(): Promise<Float64Array> {
    await settleIndexChecks();
    const data = await this.backend.read(this.storageFor('toFloat64'));
    return data instanceof Float64Array ? data : Float64Array.from(data);
  }

  async item(): Promise<number> {
    if (this.size !== 1) {
      throw new Error(`item: tensor of shape ${shapeString(this.shape)} has ${this.size} elements, not one`);
    }
    return (await this.toFloat64())[0];
  }

  /** Gradients of this tensor into every leaf's .grad; the graph is spent unless `{ retainGraph: true }`. */
  backward(grad?: Tensor, options?: BackwardOptions): void {
    runBackward(this, grad, () => new Tensor(this.backend.full(this.size, 1), this.shape), options);
  }

  /** The same numbers, cut from the graph (shares storage). */
  detach(): Tensor {
    return this.aliasAs(this.shape);
  }

  toString(): string {
    return `Tensor(#${this.id}, shape=${shapeString(this.shape)}${this.requiresGrad ? ', requiresGrad' : ''})`;
  }

  // ---- elementwise (ops/elementwise.ts)
  add(other: Tensor | number): Tensor { return elementwise.add(this, other); }
  sub(other: Tensor | number): Tensor { return elementwise.sub(this, other); }
  mul(other: Tensor | number): Tensor { return elementwise.mul(this, other); }
  div(other: Tensor | number): Tensor { return elementwise.div(this, other); }
  pow(exponent: Tensor | number): Tensor { return elementwise.pow(this, exponent); }
  neg(): Tensor { return elementwise.neg(this); }
  exp(): Tensor { return elementwise.exp(this); }
  log(): Tensor { return elementwise.log(this); }
  sqrt(): Tensor { return elementwise.sqrt(this); }
  abs(): Tensor { return elementwise.abs(this); }
  square(): Tensor { return elementwise.square(this); }
  clamp(min?: number | null, max?: number | null): Tensor { return elementwise.clamp(this, min, max); }
  relu(): Tensor { return elementwise.relu(this); }
  leakyRelu(slope = 0.01): Tensor { return elementwise.leakyRelu(this, slope); }
  tanh(): Tensor { return elementwise.tanh(this); }
  sigmoid(): Tensor { return elementwise.sigmoid(this); }
  silu(): Tensor { return elementwise.silu(this); }
  gelu(): Tensor { return elementwise.gelu(this); }
  softplus(): Tensor { return elementwise.softplus(this); }
  eq(other: Tensor | number): Tensor { return elementwise.eq(this, other); }

  // ---- products (ops/matmul.ts)
  matmul(other: Tensor): Tensor { return matmul(this, other); }

  // ---- shapes (ops/shape.ts)
  reshape(...shape: number[] | [number[]]): Tensor { return shapeOps.reshape(this, flatArgs(shape)); }
  view(...shape: number[] | [number[]]): Tensor { return shapeOps.reshape(this, flatArgs(shape)); }
  flatten(startDim = 0, endDim = -1): Tensor { return shapeOps.flatten(this, startDim, endDim); }
  permute(...dims: number[] | [number[]]): Tensor { return shapeOps.permute(this, flatArgs(dims)); }
  transpose(dim0 = -2, dim1 = -1): Tensor { return shapeOps.transpose(this, dim0, dim1); }
  squeeze(dim?: number): Tensor { return shapeOps.squeeze(this, dim); }
  unsqueeze(dim: number): Tensor { return shapeOps.unsqueeze(this, dim); }
  expand(...shape: number[] | [number[]]): Tensor { return shapeOps.expand(this, flatArgs(shape)); }
  slice(dim: number, start?: number, end?: number, step = 1): Tensor { return shapeOps.slice(this, dim, start, end, step); }
  pad(padding: number[], value = 0): Tensor { return shapeOps.pad(this, padding, value); }

  // ---- reductions (ops/reduce.ts); dim: one dim, a list, or all when absent
  sum(dim?: number | number[] | null, keepdim = false): Tensor { return reduce.sum(this, dim, keepdim); }
  mean(dim?: number | number[] | null, keepdim = false): Tensor { return reduce.mean(this, dim, keepdim); }
  var(dim?: number | number[] | null, keepdim = false, unbiased = true): Tensor {
    return reduce.variance(this, dim, keepdim, unbiased);
  }
  max(dim?: number | number[] | null, keepdim = false): Tensor { return reduce.max(this, dim, keepdim); }
  min(dim?: number | number[] | null, keepdim = false): Tensor { return reduce.min(this, dim, keepdim); }
}

/** reshape(2, 3) and reshape([2, 3]) both give [2, 3]. */
function flatArgs(args: number[] | [number[]]): number[] {
  return Array.isArray(args[0]) ? [...(args[0] as number[])] : (args as number[]);
}

// ---- scoped helpers

/**
 * Sets `target` to what `compute` returns, without recording a graph and
 * without leaving temporaries behind: the in-place update of running
 * statistics and optimizer state.
 */
export function assignComputed(target: Tensor, compute: () => Tensor): void {
  const value = scope(() => noGrad(compute));
  target.assign(value);
  value.dispose();
}

/**
 * The shape of the largest tensor `fn` makes (views excluded: they make no
 * storage), or [] when it makes none: how a model's step is sized against
 * the backend's largest storage before a run starts.
 */
export function largestTensorIn(fn: () => void): number[] {
  const outer = largestMade;
  largestMade = [];
  try {
    fn();
    return largestMade;
  } finally {
    largestMade = outer;
  }
}
