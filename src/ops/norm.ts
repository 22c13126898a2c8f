// Batch and group normalization, as PyTorch's F.batch_norm and F.group_norm,
// and batchnorm with an activation after it in one kernel each way.
import { Tensor, shapeString } from '../tensor';
import { isGradEnabled, record } from '../autograd';
import type { Activation, Storage } from '../backend/backend';
import { activationOption, applyActivation, type ActivationName } from './activation';
import { fullOn } from './creation';

function checkPerChannel(op: string, name: string, t: Tensor | null | undefined, channels: number, x: Tensor): void {
  if (t && (t.rank !== 1 || t.shape[0] !== channels)) {
    throw new Error(`${op}: ${name} ${shapeString(t.shape)} must have one value per channel: [${channels}] for input ${shapeString(x.shape)}`);
  }
}

/** A [1, C, 1, ...] view of a per-channel vector, to broadcast against x. */
function perChannel(v: Tensor, rank: number): Tensor {
  return v.reshape([1, -1, ...new Array<number>(rank - 2).fill(1)]);
}

function constantLike(x: Tensor, size: number, value: number): Tensor {
  return fullOn(x.backend, [size], value);
}

export interface BatchNormOptions {
  training?: boolean;
  momentum?: number;
  eps?: number;
  /** an activation applied to the output in the same kernel (backward too): out = f(batchNorm(x)) */
  activation?: ActivationName;
  /** leakyRelu's slope below 0 (default 0.01, as nn.LeakyReLU) */
  negativeSlope?: number;
}

/**
 * x: [N, C, ...]. Training: normalize with the batch's statistics (one fused
 * kernel each way) and update runningMean/runningVar in place with the
 * unbiased variance, new = (1 - momentum)·old + momentum·batch. Eval:
 * normalize with the running statistics, in one kernel where no gradient
 * will be taken.
 */
export function batchNorm(
  x: Tensor,
  runningMean: Tensor | null,
  runningVar: Tensor | null,
  weight?: Tensor | null,
  bias?: Tensor | null,
  options: BatchNormOptions = {},
): Tensor {
  const op = 'batchNorm';
  const { training = false, momentum = 0.1, eps = 1e-5 } = options;
  const activation = activationOption(op, options);
  if (x.rank < 2) throw new Error(`${op}: input must have at least 2 dims (N, C, ...), got ${shapeString(x.shape)}`);
  const channels = x.shape[1];
  checkPerChannel(op, 'runningMean', runningMean, channels, x);
  checkPerChannel(op, 'runningVar', runningVar, channels, x);
  checkPerChannel(op, 'weight', weight, channels, x);
  checkPerChannel(op, 'bias', bias, channels, x);
  if (!(eps > 0)) throw new Error(`${op}: eps must be positive, got ${eps}`);

  if (!training) {
    if (!runningMean || !runningVar) throw new Error(`${op}: eval mode needs runningMean and runningVar`);
    const inputs = [x, runningMean, runningVar, weight, bias];
    const graph = isGradEnabled() && inputs.some((t) => t?.requiresGrad);
    if (!graph && inputs.every((t) => !t || t.backend === x.backend)) {
      // no gradient to take (sampling, evaluation): one kernel
      const geo = { batch: x.shape[0], channels, spatial: x.size / Math.max(1, x.shape[0] * channels) };
      const affine = affineOf(x, weight, bias);
      const out = x.backend.batchNormEval(
        x.storageFor(op), runningMean.storageFor(op), runningVar.storageFor(op),
        affine[0]?.storageFor(op) ?? null, affine[1]?.storageFor(op) ?? null, geo, eps, activation,
      );
      for (const t of affine) if (t !== weight && t !== bias) t.dispose();
      return new Tensor(out, x.shape);
    }
    let y = x.sub(perChannel(runningMean, x.rank)).div(perChannel(runningVar, x.rank).add(eps).sqrt());
    if (weight) y = y.mul(perChannel(weight, x.rank));
    if (bias) y = y.add(perChannel(bias, x.rank));
    return applyActivation(y, activation);
  }

  const { out, mean, variance } = batchNormTrain(x, weight, bias, eps, activation);
  const count = x.size / channels;
  // In place, one dispatch each; the running variance is unbiased: var · n / (n - 1).
  if (runningMean) runningMean.backend.emaStep(runningMean.storageFor(op), mean.storageFor(op), 1 - momentum);
  if (runningVar) runningVar.backend.emaStep(runningVar.storageFor(op), variance.storageFor(op), 1 - momentum, count / (count - 1));
  mean.dispose();
  variance.dispose();
  return out;
}

/**
 * Training-mode batchnorm with the batch's own statistics, one fused kernel
 * each way, and with `activation` the output is f(batchnorm(x)) in the same
 * kernels. Returns the output (with autograd) and the per-channel mean and
 * biased variance (no autograd), for the caller's running estimates.
 */
export function batchNormTrain(
  x: Tensor,
  weight: Tensor | null | undefined,
  bias: Tensor | null | undefined,
  eps: number,
  activation: Activation | null = null,
): { out: Tensor; mean: Tensor; variance: Tensor } {
  const op = 'batchNorm';
  const channels = x.shape[1];
  const geo = { batch: x.shape[0], channels, spatial: x.size / Math.max(1, x.shape[0] * channels) };
  if (geo.batch * geo.spatial <= 1) {
    throw new Error(`${op}: training needs more than one value per channel, got input ${shapeString(x.shape)}`);
  }
  const be = x.backend;
  const affine = affineOf(x, weight, bias);
  const [w, b] = affine;
  const stats = be.batchNorm(x.storageFor(op), w?.storageFor(op) ?? null, b?.storageFor(op) ?? null, geo, eps, activation);
  const mean = new Tensor(stats.mean, [channels]);
  const variance = new Tensor(stats.var, [channels]);
  // The backward reads mean and variance through views of its own, so the
  // caller may dispose the returned ones.
  const saved = [mean.detach(), variance.detach()];
  const out = normOutput(op, activation, x, stats.out, [weight, bias], affine, saved, (g, where) => be.batchNormGrad(
    g.storageFor(where), x.storageFor(where), saved[0].storageFor(where), saved[1].storageFor(where), w?.storageFor(where) ?? null, geo, eps,
    activation, b?.storageFor(where) ?? null,
  ));
  return { out, mean, variance };
}

/**
 * The weight and bias the kernels take: neither (they use 1 and 0, and no
 * constant tensors are made each call), or both, a constant standing in
 * for the one not given.
 */
function affineOf(x: Tensor, weight: Tensor | null | undefined, bias: Tensor | null | undefined): Tensor[] {
  const channels = x.shape[1];
  return weight || bias ? [weight ?? constantLike(x, channels, 1), bias ?? constantLike(x, channels, 0)] : [];
}

/**
 * A fused normalization's output `out` for input x, recorded with its
 * backward: `grads` gives the backend's dx, dweight and dbias for an upstream
 * gradient. `saved` (what only the backward reads) and the constants of
 * `affine` standing in for an absent weight or bias are disposed at once
 * when there is no graph.
 */
function normOutput(
  op: string,
  activation: Activation | null,
  x: Tensor,
  out: Storage,
  [weight, bias]: [Tensor | null | undefined, Tensor | null | undefined],
  affine: Tensor[],
  saved: Tensor[],
  grads: (g: Tensor, where: string) => { dx: Storage; dweight: Storage; dbias: Storage },
): Tensor {
  const be = x.backend;
  const channels = x.shape[1];
  const [w, b] = affine;
  const y = record(activation ? `${op}+${activation.op}` : op, new Tensor(out, x.shape), [x, ...affine], (g) => {
    const { dx, dweight, dbias } = grads(g, `${op} backward`);
    const dxTensor = new Tensor(dx, x.shape);
    if (w) return [dxTensor, new Tensor(dweight, [channels]), new Tensor(dbias, [channels])];
    be.release(dweight);
    be.release(dbias);
    return [dxTensor];
  });
  // Without a graph nothing will read these again.
  if (!y.requiresGrad) {
    for (const t of saved) t.dispose();
    if (w && !weight) w.dispose();
    if (b && !bias) b.dispose();
  }
  return y;
}

export interface GroupNormOptions {
  eps?: number;
  /** an activation applied to the output in the same kernel (backward too): out = f(groupNorm(x)) */
  activation?: ActivationName;
  /** leakyRelu's slope below 0 (default 0.01, as nn.LeakyReLU) */
  negativeSlope?: number;
}

/**
 * x: [N, C, ...] normalized over each group of C/groups channels and the
 * spatial dims (statistics per sample and group, biased variance), then
 * weight and bias per channel: one fused kernel forward, two backward (the
 * input's gradient per sample and group, the weight's and bias's per
 * channel), with `activation` applied inside them.
 */
export function groupNorm(x: Tensor, groups: number, weight?: Tensor | null, bias?: Tensor | null, options: GroupNormOptions = {}): Tensor {
  const op = 'groupNorm';
  const eps = options.eps ?? 1e-5;
  if (x.rank < 2) throw new Error(`${op}: input must have at least 2 dims (N, C, ...), got ${shapeString(x.shape)}`);
  const channels = x.shape[1];
  if (!Number.isInteger(groups) || groups < 1 || channels % groups !== 0) {
    throw new Error(`${op}: ${channels} channels of input ${shapeString(x.shape)} must be divisible by groups=${groups}`);
  }
  checkPerChannel(op, 'weight', weight, channels, x);
  checkPerChannel(op, 'bias', bias, channels, x);
  if (!(eps > 0)) throw new Error(`${op}: eps must be positive, got ${eps}`);
  const activation = activationOption(op, options);
  const geo = { batch: x.shape[0], channels, spatial: x.size / Math.max(1, x.shape[0] * channels) };
  const be = x.backend;
  for (const t of [weight, bias]) if (t && t.backend !== be) throw new Error(`${op}: input and weight/bias are on different backends`);
  const affine = affineOf(x, weight, bias);
  const [w, b] = affine;
  const stats = be.groupNorm(x.storageFor(op), w?.storageFor(op) ?? null, b?.storageFor(op) ?? null, geo, groups, eps, activation);
  const saved = [new Tensor(stats.mean, [geo.batch * groups]), new Tensor(stats.var, [geo.batch * groups])];
  return normOutput(op, activation, x, stats.out, [weight, bias], affine, saved, (g, where) => be.groupNormGrad(
    g.storageFor(where), x.storageFor(where), saved[0].storageFor(where), saved[1].storageFor(where),
    w?.storageFor(where) ?? null, b?.storageFor(where) ?? null, geo, groups, eps, activation,
  ));
}
