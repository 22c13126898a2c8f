// The layers of wg.nn, each a thin Module over wg.F, with PyTorch's
// constructor arguments, attribute names (so state-dict keys match) and
// default initialization: weights kaiming-uniform with a = √5, biases
// uniform in ±1/√fan_in.
import { Tensor, assignComputed, shapeString } from '../tensor';
import { zeros, ones, randn, rangeOn } from '../ops/creation';
import * as F from '../ops/functional';
import { batchNormTrain } from '../ops/norm';
import { activationOptions, applyActivation } from '../ops/activation';
import type { Activation as KernelActivation } from '../backend/backend';
import { Module } from './module';
import * as init from './init';
import { checkIndices } from '../ops/index-check';

function parameter(shape: number[]): Tensor {
  return zeros(shape, { requiresGrad: true });
}

/** PyTorch's reset_parameters for Linear and the convs. */
function defaultInit(weight: Tensor, bias: Tensor | null): void {
  init.kaimingUniform(weight, { a: Math.sqrt(5) });
  if (bias) {
    const bound = 1 / Math.sqrt(init.fans(weight).fanIn);
    init.uniform(bias, -bound, bound);
  }
}

/** A conv layer's weight and bias, checked and initialized; `layout` orders the weight's channel dims. */
function convParameters(
  layer: string,
  inChannels: number,
  outChannels: number,
  kernelSize: F.Pair,
  groups: number,
  bias: boolean,
  layout: 'out-in' | 'in-out',
): { weight: Tensor; bias: Tensor | null } {
  if (inChannels % groups !== 0 || outChannels % groups !== 0) {
    throw new Error(`${layer}: in_channels ${inChannels} and out_channels ${outChannels} must be divisible by groups=${groups}`);
  }
  const [kh, kw] = typeof kernelSize === 'number' ? [kernelSize, kernelSize] : kernelSize;
  const weight = parameter(
    layout === 'out-in' ? [outChannels, inChannels / groups, kh, kw] : [inChannels, outChannels / groups, kh, kw],
  );
  const b = bias ? parameter([outChannels]) : null;
  defaultInit(weight, b); // fan_in from weight dim 1 either way, as PyTorch
  return { weight, bias: b };
}

/**
 * Spectral normalization (Miyato et al. 2018, "Spectral Normalization for
 * Generative Adversarial Networks"), as torch.nn.utils.spectral_norm: the
 * layer uses weight_orig / σ, σ the largest singular value of weight_orig
 * viewed as a matrix [out, rest], estimated by power iteration with the
 * vectors weight_u [out] and weight_v [rest] (buffers, so a checkpoint
 * keeps the estimate). In training mode each forward first refines u and v
 * (no gradient flows through them); the gradient reaches weight_orig
 * through the division and through σ = uᵀ·W·v. A discriminator with every
 * layer so normalized is 1-Lipschitz per layer, which keeps its gradients
 * to the generator informative when it wins.
 */
export interface SpectralNormOptions {
  /** power-iteration rounds per training forward (default 1, as PyTorch) */
  nPowerIterations?: number;
  /** floor of the norms divided by (default 1e-12) */
  eps?: number;
}

interface SpectralState {
  nPowerIterations: number;
  eps: number;
}

function normalized(x: Tensor, eps: number): Tensor {
  return x.div(x.square().sum().sqrt().clamp(eps, null));
}

/** The weight a spectrally normalized layer computes with: weight_orig / σ (see spectralNorm). */
function spectralWeight(layer: Module & { weight_orig: Tensor; weight_u: Tensor; weight_v: Tensor }, state: SpectralState): Tensor {
  const w = layer.weight_orig;
  const rows = w.shape[0];
  const matrix = w.reshape([rows, w.size / rows]);
  if (layer.training) {
    for (let i = 0; i < state.nPowerIterations; i++) {
      assignComputed(layer.weight_v, () => normalized(layer.weight_u.reshape([1, rows]).matmul(matrix).reshape([w.size / rows]), state.eps));
      assignComputed(layer.weight_u, () => normalized(matrix.matmul(layer.weight_v.reshape([w.size / rows, 1])).reshape([rows]), state.eps));
    }
  }
  const sigma = layer.weight_u.reshape([1, rows]).matmul(matrix).matmul(layer.weight_v.reshape([w.size / rows, 1])).reshape([]);
  return w.div(sigma);
}

/**
 * Applies spectral normalization to a Linear or Conv2d in place and returns
 * it: its `weight` parameter becomes `weight_orig`, with buffers `weight_u`
 * and `weight_v` (the state-dict keys of PyTorch's spectral_norm).
 */
export function spectralNorm<M extends Linear | Conv2d>(layer: M, options: SpectralNormOptions = {}): M {
  if (layer.spectral) throw new Error(`spectralNorm: this ${layer.constructor.name} is spectrally normalized already`);
  const nPowerIterations = options.nPowerIterations ?? 1;
  const eps = options.eps ?? 1e-12;
  if (!Number.isInteger(nPowerIterations) || nPowerIterations < 1) throw new Error(`spectralNorm: nPowerIterations must be an integer ≥ 1, got ${nPowerIterations}`);
  const weight = layer.weight;
  const rows = weight.shape[0];
  const rest = weight.size / rows;
  const holder = layer as unknown as Record<string, unknown>;
  delete holder.weight;
  holder.weight_orig = weight;
  // u and v start as normalized N(0, 1) draws, as PyTorch's
  layer.registerBuffer('weight_u', assignedNormal(rows, eps));
  layer.registerBuffer('weight_v', assignedNormal(rest, eps));
  layer.spectral = { nPowerIterations, eps };
  return layer;
}

function assignedNormal(n: number, eps: number): Tensor {
  const t = zeros([n]);
  assignComputed(t, () => normalized(randn([n]), eps));
  return t;
}

/** The layer's weight for this forward: its own, or the spectrally normalized one. */
function layerWeight(layer: Linear | Conv2d): Tensor {
  if (!layer.spectral) return layer.weight;
  return spectralWeight(layer as unknown as Module & { weight_orig: Tensor; weight_u: Tensor; weight_v: Tensor }, layer.spectral);
}

/**
 * A layer whose kernel can apply a following activation module as its
 * epilogue, with the bias (Linear, Conv2d, ConvTranspose2d): forward(x) is
 * run(x, {}), and in a Sequential an activation after it runs as
 * run(x, { activation }), one op. Not where the layer has an activation of
 * its own, or where forward is overridden (a subclass, summary's wrapper).
 */
abstract class EpilogueLayer extends Module {
  /** the layer's op, with `extra`'s activation in its kernel */
  protected abstract run(x: Tensor, extra: F.LayerActivationOptions): Tensor;
  /** an activation given to the layer itself */
  protected abstract readonly ownActivation: string | undefined;

  override forward(x: Tensor): Tensor {
    return this.run(x, {});
  }

  override fuseWith(next: Module): ((x: Tensor) => Tensor) | null {
    return this.ownActivation ? null : fusedWithActivation(this, EpilogueLayer.prototype.forward, next);
  }

  /** forward(x), then `activation`, with the bias in the kernel that makes the output. */
  forwardWith(x: Tensor, activation: KernelActivation | null): Tensor {
    if (this.forward !== EpilogueLayer.prototype.forward || this.ownActivation) return applyActivation(this.forward(x), activation);
    return this.run(x, activationOptions(activation));
  }
}

export class Linear extends EpilogueLayer {
  weight: Tensor;
  bias: Tensor | null;
  /** set by spectralNorm */
  spectral: SpectralState | null = null;

  constructor(readonly inFeatures: number, readonly outFeatures: number, options: { bias?: boolean } = {}) {
    super();
    this.weight = parameter([outFeatures, inFeatures]);
    this.bias = options.bias === false ? null : parameter([outFeatures]);
    defaultInit(this.weight, this.bias);
  }

  protected readonly ownActivation = undefined;

  protected run(x: Tensor, extra: F.LayerActivationOptions): Tensor {
    return F.linear(x, layerWeight(this), this.bias, extra);
  }
}

export interface Conv2dLayerOptions extends F.Conv2dOptions {
  bias?: boolean;
}

export class Conv2d extends EpilogueLayer {
  weight: Tensor;
  bias: Tensor | null;
  /** set by spectralNorm */
  spectral: SpectralState | null = null;
  readonly options: F.Conv2dOptions;

  constructor(inChannels: number, outChannels: number, kernelSize: F.Pair, options: Conv2dLayerOptions = {}) {
    super();
    const { bias = true, ...conv } = options;
    this.options = conv;
    ({ weight: this.weight, bias: this.bias } = convParameters('Conv2d', inChannels, outChannels, kernelSize, conv.groups ?? 1, bias, 'out-in'));
  }

  protected get ownActivation(): string | undefined {
    return this.options.activation;
  }

  protected run(x: Tensor, extra: F.LayerActivationOptions): Tensor {
    return F.conv2d(x, layerWeight(this), this.bias, { ...this.options, ...extra });
  }
}

export interface ConvTranspose2dLayerOptions extends F.ConvTranspose2dOptions {
  bias?: boolean;
}

export class ConvTranspose2d extends EpilogueLayer {
  weight: Tensor;
  bias: Tensor | null;
  readonly options: F.ConvTranspose2dOptions;

  constructor(inChannels: number, outChannels: number, kernelSize: F.Pair, options: ConvTranspose2dLayerOptions = {}) {
    super();
    const { bias = true, ...conv } = options;
    this.options = conv;
    ({ weight: this.weight, bias: this.bias } = convParameters('ConvTranspose2d', inChannels, outChannels, kernelSize, conv.groups ?? 1, bias, 'in-out'));
  }

  protected get ownActivation(): string | undefined {
    return this.options.activation;
  }

  protected run(x: Tensor, extra: F.LayerActivationOptions): Tensor {
    return F.convTranspose2d(x, this.weight, this.bias, { ...this.options, ...extra });
  }
}

export interface BatchNormLayerOptions {
  eps?: number;
  /** null: a cumulative average over all batches seen, as PyTorch's momentum=None */
  momentum?: number | null;
  affine?: boolean;
  trackRunningStats?: boolean;
}

export class BatchNorm2d extends Module {
  weight: Tensor | null;
  bias: Tensor | null;
  // absent (no buffers, batch statistics in eval too) with trackRunningStats: false
  declare running_mean?: Tensor;
  declare running_var?: Tensor;
  declare num_batches_tracked?: Tensor;
  readonly eps: number;
  readonly momentum: number | null;

  constructor(readonly numFeatures: number, options: BatchNormLayerOptions = {}) {
    super();
    const { eps = 1e-5, momentum = 0.1, affine = true, trackRunningStats = true } = options;
    this.eps = eps;
    this.momentum = momentum;
    this.weight = affine ? ones([numFeatures], { requiresGrad: true }) : null;
    this.bias = affine ? zeros([numFeatures], { requiresGrad: true }) : null;
    if (trackRunningStats) {
      this.registerBuffer('running_mean', zeros([numFeatures]));
      this.registerBuffer('running_var', ones([numFeatures]));
      this.registerBuffer('num_batches_tracked', zeros([]));
    }
  }

  override forward(x: Tensor): Tensor {
    return this.normalize(x, null);
  }

  override fuseWith(next: Module): ((x: Tensor) => Tensor) | null {
    return fusedWithActivation(this, BatchNorm2d.prototype.forward, next);
  }

  /** forward(x), then `activation` in the same kernels (training) or after them (eval). */
  forwardWith(x: Tensor, activation: KernelActivation | null): Tensor {
    // an overridden forward (a subclass, summary's wrapper) must see its call
    if (this.forward !== BatchNorm2d.prototype.forward) return applyActivation(this.forward(x), activation);
    return this.normalize(x, activation);
  }

  private normalize(x: Tensor, activation: KernelActivation | null): Tensor {
    if (x.rank !== 4 || x.shape[1] !== this.numFeatures) {
      throw new Error(`BatchNorm2d(${this.numFeatures}): expected input [N, ${this.numFeatures}, H, W], got ${shapeString(x.shape)}`);
    }
    const rm = this.running_mean;
    const rv = this.running_var;
    const tracked = this.num_batches_tracked;
    if (!this.training && rm && rv) {
      return applyActivation(F.batchNorm(x, rm, rv, this.weight, this.bias, { training: false, eps: this.eps }), activation);
    }
    const { out, mean, variance } = batchNormTrain(x, this.weight, this.bias, this.eps, activation);
    if (!this.training || !rm || !rv || !tracked) {
      mean.dispose();
      variance.dispose();
      return out;
    }
    const count = x.size / this.numFeatures;
    if (this.momentum !== null) {
      // One dispatch, in place: running ← (1 − momentum)·running + momentum·batch
      // statistic, the variance unbiased by n/(n − 1) on the way, and the batch counted.
      const where = 'BatchNorm2d';
      rm.backend.runningStatsStep(
        rm.storageFor(where), rv.storageFor(where), tracked.storageFor(where), mean.storageFor(where), variance.storageFor(where),
        this.momentum, count / (count - 1),
      );
    } else {
      assignComputed(tracked, () => tracked.add(1));
      // The cumulative average: the blend factor 1/batches is kept on the device.
      const factor = () => tracked.pow(-1);
      assignComputed(rm, () => rm.add(mean.sub(rm).mul(factor())));
      assignComputed(rv, () => rv.add(variance.mul(count / (count - 1)).sub(rv).mul(factor())));
    }
    mean.dispose();
    variance.dispose();
    return out;
  }
}

export class GroupNorm extends Module {
  weight: Tensor | null;
  bias: Tensor | null;

  constructor(readonly numGroups: number, readonly numChannels: number, options: { eps?: number; affine?: boolean } = {}) {
    super();
    if (numChannels % numGroups !== 0) {
      throw new Error(`GroupNorm: num_channels ${numChannels} must be divisible by num_groups ${numGroups}`);
    }
    this.eps = options.eps ?? 1e-5;
    const affine = options.affine ?? true;
    this.weight = affine ? ones([numChannels], { requiresGrad: true }) : null;
    this.bias = affine ? zeros([numChannels], { requiresGrad: true }) : null;
  }

  readonly eps: number;

  override forward(x: Tensor): Tensor {
    return this.normalize(x, null);
  }

  override fuseWith(next: Module): ((x: Tensor) => Tensor) | null {
    return fusedWithActivation(this, GroupNorm.prototype.forward, next);
  }

  /** forward(x), then `activation`, in the same kernels. */
  forwardWith(x: Tensor, activation: KernelActivation | null): Tensor {
    // an overridden forward (a subclass, summary's wrapper) must see its call
    if (this.forward !== GroupNorm.prototype.forward) return applyActivation(this.forward(x), activation);
    return this.normalize(x, activation);
  }

  private normalize(x: Tensor, activation: KernelActivation | null): Tensor {
    return F.groupNorm(x, this.numGroups, this.weight, this.bias, { eps: this.eps, ...activationOptions(activation) });
  }
}

/**
 * For a layer's fuseWith (a conv, a normalization): an activation module
 * right after it (ReLU, LeakyReLU, Tanh, Sigmoid, SiLU) runs in the
 * layer's own kernels, forward and backward; Sequential asks, and calls
 * what this returns in place of both forwards. Not where either forward is
 * overridden (a subclass, or a wrapper such as summary's), which must see
 * its call.
 */
function fusedWithActivation(
  layer: { forward: Module['forward']; forwardWith(x: Tensor, activation: KernelActivation | null): Tensor },
  own: Module['forward'],
  next: Module,
): ((x: Tensor) => Tensor) | null {
  if (!(next instanceof Activation) || !next.fusable || next.forward !== Activation.prototype.forward || layer.forward !== own) return null;
  const activation = next.fusable;
  return (x) => layer.forwardWith(x, activation);
}

/** A module for an elementwise function of one tensor. */
class Activation extends Module {
  /**
   * @param fusable the function as a kernel's activation, where a batchnorm
   *   before it may apply it in its own kernels (BatchNorm2d.fuseWith)
   */
  constructor(private readonly fn: (x: Tensor) => Tensor, readonly fusable: KernelActivation | null = null) {
    super();
  }

  override forward(x: Tensor): Tensor {
    return this.fn(x);
  }
}

export class ReLU extends Activation {
  constructor() {
    super((x) => x.relu(), { op: 'relu', alpha: 0 });
  }
}

export class LeakyReLU extends Activation {
  constructor(readonly negativeSlope = 0.01) {
    super((x) => x.leakyRelu(negativeSlope), { op: 'leakyRelu', alpha: negativeSlope });
  }
}

export class Tanh extends Activation {
  constructor() {
    super((x) => x.tanh(), { op: 'tanh', alpha: 0 });
  }
}

export class Sigmoid extends Activation {
  constructor() {
    super((x) => x.sigmoid(), { op: 'sigmoid', alpha: 0 });
  }
}

export class SiLU extends Activation {
  constructor() {
    super((x) => x.silu(), { op: 'silu', alpha: 0 });
  }
}

export class Flatten extends Activation {
  constructor(readonly startDim = 1, readonly endDim = -1) {
    super((x) => x.flatten(startDim, endDim));
  }
}

export class Unflatten extends Activation {
  constructor(readonly dim: number, readonly sizes: number[]) {
    super((x) => {
      const d = dim < 0 ? dim + x.rank : dim;
      return x.reshape([...x.shape.slice(0, d), ...sizes, ...x.shape.slice(d + 1)]);
    });
  }
}

export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
    if (!(p >= 0 && p <= 1)) throw new Error(`Dropout: p must be in [0, 1], got ${p}`);
  }

  override forward(x: Tensor): Tensor {
    return F.dropout(x, this.p, this.training);
  }
}

export class Upsample extends Module {
  readonly scaleFactor: number;

  constructor(options: { scaleFactor: number; mode?: 'nearest' }) {
    super();
    if ((options.mode ?? 'nearest') !== 'nearest') throw new Error(`Upsample: only mode 'nearest' is supported, got '${options.mode}'`);
    this.scaleFactor = options.scaleFactor;
  }

  override forward(x: Tensor): Tensor {
    return F.upsampleNearest(x, this.scaleFactor);
  }
}

/** A lookup table: indices [...] (integer ids as floats) -> [..., embeddingDim]. */
export class Embedding extends Module {
  weight: Tensor;

  constructor(readonly numEmbeddings: number, readonly embeddingDim: number) {
    super();
    this.weight = parameter([numEmbeddings, embeddingDim]);
    init.normal(this.weight, 0, 1);
  }

  override forward(indices: Tensor): Tensor {
    // one-hot rows times the table: the gradient lands on the rows used
    const ids = rangeOn(indices.backend, this.numEmbeddings);
    const oneHot = indices.unsqueeze(-1).eq(ids);
    ids.dispose();
    checkIndices(`Embedding(${this.numEmbeddings}, ${this.embeddingDim})`, indices, oneHot, this.numEmbeddings);
    return oneHot.matmul(this.weight);
  }
}
