// The interface both backends implement. A backend knows nothing of shapes
// beyond what each call passes in, nothing of autograd, and nothing of
// Tensor: it turns flat row-major storages into new flat storages.
//
// Conventions for every call:
// - a Storage holds `size` numbers, row-major, contiguous;
// - calls that make a result return a fresh Storage owned by the caller,
//   who gives it back with release();
// - `scatter` is the one call that writes into an existing storage.

/** Elementwise ops of one input. `alpha`/`beta` are the op's scalars. */
export type UnaryOp =
  | 'neg' | 'exp' | 'log' | 'sqrt' | 'abs' | 'square'
  | 'relu' | 'leakyRelu'          // alpha: negative slope
  | 'tanh' | 'sigmoid' | 'silu' | 'gelu' | 'softplus'
  | 'clamp'                       // alpha: min, beta: max (±Infinity when absent)
  | 'addScalar'                   // x + alpha
  | 'mulScalar'                   // x * alpha
  | 'powScalar';                  // x ** alpha

/** Elementwise ops of two inputs, broadcast NumPy-style. 'eq' gives 1 or 0. */
export type BinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'eq';

export type ReduceOp = 'sum' | 'max' | 'min';

export interface Storage {
  readonly backend: Backend;
  /** number of elements */
  readonly size: number;
}

export interface MatmulArgs {
  /** number of independent products */
  batch: number;
  m: number;
  n: number;
  k: number;
  /** a is stored [batch?, k, m] instead of [batch?, m, k] */
  transA: boolean;
  /** b is stored [batch?, n, k] instead of [batch?, k, n] */
  transB: boolean;
  /** elements between consecutive batch entries of a (0: a is shared) */
  aBatchStride: number;
  bBatchStride: number;
}

export interface BackendMemory {
  bytesInUse: number;
  bytesPooled: number;
  peakBytes: number;
}

export interface Backend {
  readonly name: 'cpu' | 'webgpu';

  /** A storage holding a copy of `data`. */
  fromArray(data: ArrayLike<number>): Storage;
  /** A storage of `size` elements, all `value`. */
  full(size: number, value: number): Storage;
  /** The storage's contents (float32 on the GPU, float64 on the CPU). */
  read(x: Storage): Promise<Float32Array | Float64Array>;
  release(x: Storage): void;
  memory(): BackendMemory;

  // out[i] = f(x[i])                                   x: [n]
  unary(op: UnaryOp, x: Storage, alpha: number, beta: number): Storage;
  // dx[i] = f'(x[i]) * g[i]                             x, g: [n]
  unaryGrad(op: UnaryOp, x: Storage, g: Storage, alpha: number, beta: number): Storage;
  // out[idx] = f(a[idx broadcast], b[idx broadcast])
  // aShape, bShape and outShape have the same rank; a dim of a or b is
  // either outShape's or 1 (broadcast).
  binary(op: BinaryOp, a: Storage, aShape: number[], b: Storage, bShape: number[], outShape: number[]): Storage;

  // out[i0..ir] = x[offset + Σ i_d * strides[d]], out contiguous over `shape`.
  // Serves permute, expand (stride 0) and slice (offset, strides × step).
  gather(x: Storage, shape: number[], strides: number[], offset: number): Storage;
  // dst[offset + Σ i_d * strides[d]] = x[i0..ir], x contiguous over `shape`.
  // Writes in place into dst (no two indices may map to one place).
  // Serves pad, concat and the backward of slice.
  scatter(x: Storage, shape: number[], dst: Storage, strides: number[], offset: number): void;

  // out[r] = op over c of x[r, c]                       x: [rows, cols] -> out: [rows]
  reduce(op: ReduceOp, x: Storage, rows: number, cols: number): Storage;
  // out[b] = A[b] @ B[b]                                -> out: [batch, m, n]
  matmul(a: Storage, b: Storage, args: MatmulArgs): Storage;
  // softmax (or log-softmax) of each row               x: [rows, cols] -> out: [rows, cols]
  softmax(x: Storage, rows: number, cols: number, log: boolean): Storage;
}
