// wg.F: the functional layer API (torch.nn.functional's names).
import { Tensor, shapeString } from '../tensor';
import { matmulRaw, productStorage } from './matmul';
import { activationOption, layerOutput } from './activation';
import type { LayerActivationOptions } from './conv';
import { uniformArray } from '../random';
export { softmax, logSoftmax } from './softmax';
export { mseLoss, bceWithLogits, hingeLoss, gaussianKl, crossEntropy } from './loss';
export { conv2d, convTranspose2d } from './conv';
export type { Conv2dOptions, ConvTranspose2dOptions, LayerActivationOptions, Padding, Pair } from './conv';
export { maxPool2d, avgPool2d, upsampleNearest } from './pool';
export type { Pool2dOptions } from './pool';
export { batchNorm, groupNorm } from './norm';
export type { BatchNormOptions, GroupNormOptions } from './norm';
export type { ActivationName } from './activation';

/**
 * x: [..., in], weight: [out, in], bias: [out] -> [..., out] = f(x·weightᵀ + bias):
 * the bias and an activation f in the matmul kernel's store, as a conv's
 * epilogue (LayerActivationOptions).
 */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null, options: LayerActivationOptions = {}): Tensor {
  const op = 'linear';
  const inF = x.shape[x.rank - 1];
  if (x.rank === 0 || weight.rank !== 2 || weight.shape[1] !== inF) {
    throw new Error(`${op}: input ${shapeString(x.shape)} does not fit weight ${shapeString(weight.shape)} ([out, in])`);
  }
  const outF = weight.shape[0];
  if (bias && (bias.rank !== 1 || bias.shape[0] !== outF)) {
    throw new Error(`${op}: bias ${shapeString(bias.shape)} does not fit weight ${shapeString(weight.shape)}`);
  }
  const activation = activationOption(op, options);
  const x2 = x.rank === 1 ? x.unsqueeze(0) : x;
  const rows = x2.shape.slice(0, -1).reduce((p, d) => p * d, 1);
  // weight is read transposed in place: no copy of weightᵀ.
  const y = layerOutput(
    op, [x2, weight, bias], activation, [...x2.shape.slice(0, -1), outF], x2.rank - 1,
    (epilogue) => productStorage(x2, weight, false, true, epilogue).storage,
    (g) => [
      x2.requiresGrad ? matmulRaw(g, weight, false, false) : null,
      weight.requiresGrad ? matmulRaw(g.reshape([rows, outF]), x2.reshape([rows, inF]), true, false) : null,
    ],
  );
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
