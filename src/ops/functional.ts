// wg.F: the functional layer API (torch.nn.functional's names).
import { Tensor, shapeString } from '../tensor';
import { matmulRaw } from './matmul';
import { record } from '../autograd';
import { uniformArray } from '../random';
export { softmax, logSoftmax } from './softmax';
export { mseLoss, bceWithLogits, hingeLoss, gaussianKl, crossEntropy } from './loss';
export { conv2d, convTranspose2d } from './conv';
export type { Conv2dOptions, ConvTranspose2dOptions, Padding, Pair } from './conv';
export { maxPool2d, avgPool2d, upsampleNearest } from './pool';
export type { Pool2dOptions } from './pool';
export { batchNorm, groupNorm } from './norm';
export type { BatchNormOptions, GroupNormOptions } from './norm';
export type { ActivationName } from './activation';

/** x: [..., in], weight: [out, in], bias: [out] -> [..., out] = x·weightᵀ + bias. */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  const inF = x.shape[x.rank - 1];
  if (weight.rank !== 2 || weight.shape[1] !== inF) {
    throw new Error(`linear: input ${shapeString(x.shape)} does not fit weight ${shapeString(weight.shape)} ([out, in])`);
  }
  if (bias && (bias.rank !== 1 || bias.shape[0] !== weight.shape[0])) {
    throw new Error(`linear: bias ${shapeString(bias.shape)} does not fit weight ${shapeString(weight.shape)}`);
  }
  const x2 = x.rank === 1 ? x.unsqueeze(0) : x;
  // weight is read transposed in place: no copy of weightᵀ.
  let y = record('linear', matmulRaw(x2, weight, false, true), [x2, weight], (g) => [
    x2.requiresGrad ? matmulRaw(g, weight, false, false) : null,
    weight.requiresGrad ? matmulRaw(g.reshape([-1, g.shape[g.rank - 1]]), x2.reshape([-1, inF]), true, false) : null,
  ]);
  if (bias) y = y.add(bias);
  return x.rank === 1 ? y.squeeze(0) : y;
}

/** Zeroes each element with probability p and scales the rest by 1/(1-p) when training. */
export function dropout(x: Tensor, p = 0.5, training = true): Tensor {
  if (!(p >= 0 && p <= 1)) throw new Error(`dropout: p must be in [0, 1], got ${p}`);
  if (!training || p === 0) return x.mul(1);
  if (p === 1) return x.mul(0);
  const keep = uniformArray(x.size).map((u) => (u >= p ? 1 / (1 - p) : 0));
  const mask = new Tensor(x.backend.fromArray(keep), x.shape);
  return x.mul(mask);
}
