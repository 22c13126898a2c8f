// Pooling and nearest upsampling, NCHW, with PyTorch's output sizes
// (floor mode). Max pooling remembers where each maximum was, so its
// backward routes the gradient there.
import type { PoolGeometry } from '../backend/backend';
import { Tensor, shapeString } from '../tensor';
import { record } from '../autograd';
import { pair, type Pair } from './conv';

export interface Pool2dOptions {
  stride?: Pair;
  padding?: Pair;
}

function poolGeometry(op: string, x: Tensor, kernelSize: Pair, options: Pool2dOptions): PoolGeometry {
  if (x.rank !== 4) throw new Error(`${op}: input must be 4-D (N, C, H, W), got ${shapeString(x.shape)}`);
  const [n, c, h, w] = x.shape;
  const [kh, kw] = pair(op, 'kernelSize', kernelSize, 1);
  const [sh, sw] = pair(op, 'stride', options.stride ?? kernelSize, 1);
  const [ph, pw] = pair(op, 'padding', options.padding ?? 0, 0);
  if (2 * ph > kh || 2 * pw > kw) {
    throw new Error(
      `${op}: padding ${JSON.stringify(options.padding)} must be at most half the kernel size ${JSON.stringify(kernelSize)} (input ${shapeString(x.shape)})`,
    );
  }
  const outH = Math.floor((h + 2 * ph - kh) / sh) + 1;
  const outW = Math.floor((w + 2 * pw - kw) / sw) + 1;
  if (outH < 1 || outW < 1) {
    throw new Error(
      `${op}: output size ${outH}×${outW} is below 1: input ${shapeString(x.shape)} is smaller than the kernel ${kh}×${kw} with padding ${ph}×${pw}`,
    );
  }
  return { batch: n, channels: c, inH: h, inW: w, outH, outW, kernelH: kh, kernelW: kw, strideH: sh, strideW: sw, padH: ph, padW: pw };
}

export function maxPool2d(x: Tensor, kernelSize: Pair, options: Pool2dOptions = {}): Tensor {
  const geo = poolGeometry('maxPool2d', x, kernelSize, options);
  const be = x.backend;
  const { out, argmax } = be.maxPool2d(x.storageFor('maxPool2d'), geo);
  const shape = [geo.batch, geo.channels, geo.outH, geo.outW];
  const y = new Tensor(out, shape);
  // argmax lives as long as y's graph node needs it; without a graph, free it now.
  const where = new Tensor(argmax, shape);
  const result = record('maxPool2d', y, [x], (g) => [
    new Tensor(be.maxPool2dGrad(g.storageFor('maxPool2d backward'), where.storageFor('maxPool2d backward'), geo), x.shape),
  ]);
  if (!result.requiresGrad) where.dispose();
  return result;
}

export function avgPool2d(x: Tensor, kernelSize: Pair, options: Pool2dOptions = {}): Tensor {
  const geo = poolGeometry('avgPool2d', x, kernelSize, options);
  const be = x.backend;
  const y = new Tensor(be.avgPool2d(x.storageFor('avgPool2d'), geo), [geo.batch, geo.channels, geo.outH, geo.outW]);
  return record('avgPool2d', y, [x], (g) => [new Tensor(be.avgPool2dGrad(g.storageFor('avgPool2d backward'), geo), x.shape)]);
}

/** Repeats each pixel scale × scale times: [N, C, H, W] -> [N, C, H·s, W·s]. */
export function upsampleNearest(x: Tensor, scale: number): Tensor {
  if (x.rank !== 4) throw new Error(`upsampleNearest: input must be 4-D (N, C, H, W), got ${shapeString(x.shape)}`);
  if (!Number.isInteger(scale) || scale < 1) throw new Error(`upsampleNearest: scale must be a positive integer, got ${scale}`);
  const [n, c, h, w] = x.shape;
  // A broadcast read (stride 0) repeats each pixel; expand's backward sums the copies.
  return x.reshape([n, c, h, 1, w, 1]).expand([n, c, h, scale, w, scale]).reshape([n, c, h * scale, w * scale]);
}
