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

/**
 * The per-element terms of the fused losses (shaders/loss.wgsl), x the
 * input and t the target:
 *   bce         softplus(x) − x·t   (binary cross-entropy on logits)
 *   mse         (x − t)²
 *   hinge       max(0, 1 − t·x)     (t = ±1)
 *   gaussianKl  ½(x² + e^t − t − 1) (x a mean, t a log-variance: KL(N(x, e^t) ‖ N(0, 1)))
 *   linear      x·t                 (a scaled mean: t = −1 is a hinge GAN's generator loss)
 */
export type LossKind = 'bce' | 'mse' | 'hinge' | 'gaussianKl' | 'linear';

/**
 * The coefficients of one diffusion sampler step (shaders/denoise.wgsl), per
 * element:
 *   ε̂    = eps, or with guidance (eps twice as long: labelled, then unlabelled) u + guidance·(c − u)
 *   x̂_0  = clamp((x_t − noiseLevel·ε̂)·signalInverse, −1, 1)
 *   prev = x0Coef·x̂_0 + xtCoef·x_t + noiseCoef·noise   (noiseCoef 0: no noise read)
 */
export interface DenoiseStep {
  guidance: number | null;
  noiseLevel: number;
  signalInverse: number;
  x0Coef: number;
  xtCoef: number;
  noiseCoef: number;
}

export interface Storage {
  readonly backend: Backend;
  /** number of elements */
  readonly size: number;
}

/**
 * Several storages' worth of zeros in one (Backend.pack): `slices[i]`,
 * `sizes[i]` long, starts at element `offsets[i]` of `whole` and shares its
 * memory, so one dispatch over `whole` reaches every slice. The memory is
 * freed when `whole` and every slice have been released.
 */
export interface Pack {
  whole: Storage;
  slices: Storage[];
  offsets: number[];
}

/** A loss's target: n values, one per input, or one number for all. */
export function checkLossTarget(n: number, target: { size: number } | number): void {
  if (typeof target !== 'number' && target.size !== n) throw new Error(`loss: a target of ${target.size} values for ${n} inputs`);
}

/** A denoiseStep's sizes: eps n values (2n with guidance), noise n when its coefficient is not 0. */
export function checkDenoise(n: number, epsSize: number, noiseSize: number | null, step: DenoiseStep): void {
  const want = step.guidance === null ? n : 2 * n;
  if (epsSize !== want) throw new Error(`denoiseStep: eps holds ${epsSize} values for ${n} pixels; ${want} expected${step.guidance === null ? '' : ' (guided: labelled, then unlabelled)'}`);
  if (step.noiseCoef !== 0 && noiseSize !== n) {
    throw new Error(`denoiseStep: a noise coefficient of ${step.noiseCoef} needs noise of ${n} values, got ${noiseSize ?? 'none'}`);
  }
}

/** Where each of `sizes` starts in a pack: one after another, each at a multiple of `align` elements. */
export function packOffsets(sizes: number[], align: number): number[] {
  let next = 0;
  return sizes.map((size) => {
    const at = Math.ceil(next / align) * align;
    next = at + size;
    return at;
  });
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

/**
 * The shape of one 2-D convolution, NCHW. The output is
 *   y[n, o, i, j] = Σ_{c, a, b} x[n, g·Cg + c, i·strideH - padH + a·dilationH, j·strideW - padW + b·dilationW]
 *                              · w[o, c, a, b]
 * where g = o / (outChannels / groups) is o's group, Cg = inChannels / groups,
 * c < Cg, a < kernelH, b < kernelW, and x reads 0 outside [0, inH) × [0, inW).
 * padH/padW are the top/left padding; the bottom/right padding only shows in
 * outH/outW, which the caller computes (so 'same' may pad unevenly).
 */
export interface ConvGeometry {
  batch: number;
  inChannels: number;
  inH: number;
  inW: number;
  outChannels: number;
  outH: number;
  outW: number;
  kernelH: number;
  kernelW: number;
  strideH: number;
  strideW: number;
  padH: number;
  padW: number;
  dilationH: number;
  dilationW: number;
  groups: number;
}

/**
 * The shape of a 2-D pooling, NCHW: window (i, j) covers rows
 * i·strideH - padH + [0, kernelH) and columns j·strideW - padW + [0, kernelW).
 */
export interface PoolGeometry {
  batch: number;
  channels: number;
  inH: number;
  inW: number;
  outH: number;
  outW: number;
  kernelH: number;
  kernelW: number;
  strideH: number;
  strideW: number;
  padH: number;
  padW: number;
}

/**
 * An activation a fused kernel applies to its own result z (out = f(z));
 * its backward takes f'(z) at z recomputed, so nothing more is saved.
 * alpha: leakyRelu's negative slope.
 */
export interface Activation {
  op: 'relu' | 'leakyRelu' | 'tanh' | 'sigmoid' | 'silu';
  alpha: number;
}

/**
 * What the kernel making a layer's output applies to it before storing it:
 * a bias per output channel (null: none), then an activation (null: none).
 * The backward needs f'(z): relu, tanh, sigmoid and leakyRelu with a slope
 * ≥ 0 read it from the output; for silu (or a negative slope) the kernel
 * also stores z = C + bias into `pre` where given, a storage of the
 * output's size the caller made (needsPreActivation) when a gradient will
 * be taken, and the backward reads that.
 */
export interface Epilogue {
  bias: Storage | null;
  activation: Activation | null;
  pre: Storage | null;
}

/** Whether f'(z) needs z itself: not a function of f's output (silu, leakyRelu with a negative slope). */
export function needsPreActivation(activation: Activation): boolean {
  return activation.op === 'silu' || (activation.op === 'leakyRelu' && activation.alpha < 0);
}

/** An epilogue's pre-activation storage, where given, holds the whole output (`size` values). */
export function checkEpilogue(op: string, epilogue: Epilogue | null, size: number): void {
  const pre = epilogue?.pre;
  if (pre && pre.size !== size) throw new Error(`${op}: the epilogue's pre-activation storage holds ${pre.size} values for an output of ${size}`);
}

/** Batchnorm over x: [batch, channels, spatial] (spatial = H·W), statistics per channel. */
export interface NormGeometry {
  batch: number;
  channels: number;
  spatial: number;
}

/** Hyperparameters of one SGD step (torch.optim.SGD's). */
export interface SgdStep {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  /** the momentum buffer starts as the gradient */
  firstStep: boolean;
}

/** Hyperparameters of one Adam/AdamW step (torch.optim.Adam's and AdamW's). */
export interface AdamStep {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** AdamW: decay the weights directly instead of adding to the gradient */
  decoupled: boolean;
}

export interface BackendMemory {
  bytesInUse: number;
  bytesPooled: number;
  peakBytes: number;
  /** webgpu: bind groups created so far; a step that replays the last one's graph adds none */
  bindGroups?: number;
  /** webgpu: GPU buffers created so far (pooled storage, upload and readback staging) */
  buffersCreated?: number;
}

export interface Backend {
  readonly name: 'cpu' | 'webgpu';
  /**
   * The most elements one storage may hold here, and the limit that sets it
   * (webgpu: the adapter's buffer limits over 4 bytes a float; cpu: the
   * longest typed array). Ops refuse larger outputs before allocating.
   */
  readonly largestStorage: { elements: number; bytesPerElement: number; limit: string };

  /** A storage holding a copy of `data`. */
  fromArray(data: ArrayLike<number>): Storage;
  // a storage of `size` values for a kernel to write (contents undefined until then)
  empty(size: number): Storage;
  /** A storage of `size` elements, all `value`. */
  full(size: number, value: number): Storage;
  /**
   * Overwrites x's values with `data` (x.size of them), after everything
   * recorded before and before everything recorded after: a buffer that
   * lives across the steps of a loop gets new numbers without a new buffer.
   */
  write(x: Storage, data: Float32Array): void;
  /** The storage's contents (float32 on the GPU, float64 on the CPU). */
  read(x: Storage): Promise<Float32Array | Float64Array>;
  release(x: Storage): void;
  // a pack of zeros with a slice per size (see Pack)
  pack(sizes: number[]): Pack;
  // target ← source's values, same size; either may be a slice of a pack
  copy(target: Storage, source: Storage): void;
  // one storage spanning `storages` (sharing their memory, to be released) when they are consecutive
  // slices of one pack, laid out as pack() lays out their sizes; else null
  packedRun(storages: Storage[]): Storage | null;
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
  // out[b] = A[b] @ B[b]                                -> out: [batch, m, n]; with an epilogue, f(out + bias[col])
  matmul(a: Storage, b: Storage, args: MatmulArgs, epilogue?: Epilogue | null): Storage;
  // softmax (or log-softmax) of each row               x: [rows, cols] -> out: [rows, cols]
  softmax(x: Storage, rows: number, cols: number, log: boolean): Storage;
  // Σ_i term(x[i], target[i]) / divisor (see LossKind; n ≥ 1)   x: [n], target: [n] or one number -> out: [1]
  loss(kind: LossKind, x: Storage, target: Storage | number, divisor: number): Storage;
  // its gradient with respect to x                      x: [n], target: [n] or one number, grad: [1] -> dx: [n]
  lossGrad(kind: LossKind, x: Storage, target: Storage | number, grad: Storage, divisor: number): Storage;
  // the Gaussian KL's gradients, both in one pass       mean, logvar: [n], grad: [1] -> each [n]
  gaussianKlGrad(mean: Storage, logvar: Storage, grad: Storage, divisor: number): { mean: Storage; logvar: Storage };
  // one diffusion sampler step after the net (see DenoiseStep)   xt: [n], eps: [n] ([2n] guided), noise: [n] or null
  // -> prev, x0: [n]
  denoiseStep(xt: Storage, eps: Storage, noise: Storage | null, step: DenoiseStep): { prev: Storage; x0: Storage };

  // ---- convolution (see ConvGeometry). A transposed conv's forward is
  // conv2dInputGrad, its backward conv2d and conv2dWeightGrad.
  // x: [N, C, H, W], w: [O, C/G, KH, KW] -> y: [N, O, OH, OW]; with an epilogue, f(y + bias[o])
  conv2d(x: Storage, w: Storage, geo: ConvGeometry, epilogue?: Epilogue | null): Storage;
  // dy: [N, O, OH, OW], w: [O, C/G, KH, KW] -> dx: [N, C, H, W]; with an epilogue (a transposed
  // conv's forward), f(dx + bias[c])
  conv2dInputGrad(dy: Storage, w: Storage, geo: ConvGeometry, epilogue?: Epilogue | null): Storage;
  // The backward of an epilogue: y (what it made), dy: [N, C, S] -> grad = f'·dy, f' read from y (or
  // from pre, the z it kept, where needsPreActivation), and dbias: [C] = Σ grad over N and S;
  // activation null: grad is dy itself (a copy)
  epilogueGrad(y: Storage, dy: Storage, geo: NormGeometry, activation: Activation | null, pre?: Storage | null): { grad: Storage; dbias: Storage };
  // x: [N, C, H, W], dy: [N, O, OH, OW] -> dw: [O, C/G, KH, KW]
  conv2dWeightGrad(x: Storage, dy: Storage, geo: ConvGeometry): Storage;

  // ---- pooling (see PoolGeometry); padding is never the max, and average
  // pooling divides by kernelH·kernelW (PyTorch's count_include_pad)
  // x: [N, C, H, W] -> out: [N, C, OH, OW], argmax: [N, C, OH, OW] holding
  // the flat index h·W + w in x's plane of each window's first maximum
  maxPool2d(x: Storage, geo: PoolGeometry): { out: Storage; argmax: Storage };
  // dy: [N, C, OH, OW], argmax as above -> dx: [N, C, H, W]
  maxPool2dGrad(dy: Storage, argmax: Storage, geo: PoolGeometry): Storage;
  // x: [N, C, H, W] -> out: [N, C, OH, OW]
  avgPool2d(x: Storage, geo: PoolGeometry): Storage;
  // dy: [N, C, OH, OW] -> dx: [N, C, H, W]
  avgPool2dGrad(dy: Storage, geo: PoolGeometry): Storage;

  // ---- batchnorm in training mode (see NormGeometry)
  // x: [N, C, S], weight, bias: [C] -> out: [N, C, S] = (x - mean) / sqrt(var + eps) · weight + bias,
  // with mean, var: [C] the batch statistics (var biased: divided by N·S); weight and bias both null: 1 and 0;
  // with an activation, out = f(that)
  batchNorm(
    x: Storage, weight: Storage | null, bias: Storage | null, geo: NormGeometry, eps: number, activation?: Activation | null,
  ): { out: Storage; mean: Storage; var: Storage };
  // dy, x: [N, C, S], mean, var, weight: [C] (null: 1) -> dx: [N, C, S], dweight, dbias: [C];
  // with an activation, dy is the gradient of f's output, and bias (null: 0) recomputes its input
  batchNormGrad(
    dy: Storage, x: Storage, mean: Storage, variance: Storage, weight: Storage | null, geo: NormGeometry, eps: number,
    activation?: Activation | null, bias?: Storage | null,
  ): { dx: Storage; dweight: Storage; dbias: Storage };

  // batchnorm in eval mode: x: [N, C, S], mean, var (the running statistics), weight, bias: [C]
  // (weight and bias both null: 1 and 0) -> out: [N, C, S] = f((x - mean) / sqrt(var + eps) · weight + bias)
  batchNormEval(
    x: Storage, mean: Storage, variance: Storage, weight: Storage | null, bias: Storage | null, geo: NormGeometry, eps: number,
    activation: Activation | null,
  ): Storage;

  // ---- groupnorm (see NormGeometry): statistics per sample and group of channels/groups channels
  // x: [N, C, S], weight, bias: [C] (both null: 1 and 0) -> out: [N, C, S] = (x - mean) / sqrt(var + eps) · weight + bias,
  // with mean, var: [N·groups] (var biased); with an activation, out = f(that)
  groupNorm(
    x: Storage, weight: Storage | null, bias: Storage | null, geo: NormGeometry, groups: number, eps: number, activation?: Activation | null,
  ): { out: Storage; mean: Storage; var: Storage };
  // dy, x: [N, C, S], mean, var: [N·groups], weight, bias: [C] (null: 1, 0) -> dx: [N, C, S], dweight, dbias: [C];
  // with an activation, dy is the gradient of f's output
  groupNormGrad(
    dy: Storage, x: Storage, mean: Storage, variance: Storage, weight: Storage | null, bias: Storage | null,
    geo: NormGeometry, groups: number, eps: number, activation?: Activation | null,
  ): { dx: Storage; dweight: Storage; dbias: Storage };

  // ---- optimizer steps, in place on param and its state (all [n])
  // momentum is null when args.momentum is 0
  sgdStep(param: Storage, grad: Storage, momentum: Storage | null, args: SgdStep): void;
  // step: [1], the steps taken before this one; stepOut: [1], gets step + 1 (a different storage)
  adamStep(param: Storage, grad: Storage, m: Storage, v: Storage, step: Storage, stepOut: Storage, args: AdamStep): void;
  // adamStep over packs (one pack's whole each, all [n]): element i's parameter keeps its step count
  // at steps[segment[i]] (before) and writes it to stepsOut[segment[i]]
  adamStepPacked(param: Storage, grad: Storage, m: Storage, v: Storage, steps: Storage, stepsOut: Storage, segment: Storage, args: AdamStep): void;
  // average ← decay·average + (1 − decay)·scale·source, in place (both [n]); scale defaults to 1
  // (batchnorm's running variance takes the batch variance × n/(n − 1) in the same dispatch)
  emaStep(average: Storage, source: Storage, decay: number, scale?: number): void;
  // batchnorm's running statistics after a training batch, in place and in one call: runningMean
  // and runningVar as emaStep with decay 1 − momentum (the variance × unbias = n/(n − 1)), all [C];
  // tracked ([1], num_batches_tracked) + 1
  runningStatsStep(runningMean: Storage, runningVar: Storage, tracked: Storage, mean: Storage, variance: Storage, momentum: number, unbias: number): void;
}
