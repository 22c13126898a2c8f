// 2-D max and average pooling, NCHW, each with its gradient (see
// PoolGeometry in ../backend). Window (i, j) of a plane covers rows
// i·sH - pH + [0, KH) and columns j·sW - pW + [0, KW); the parts of it
// outside the image are padding.
//
// Max pooling passes on one element per window, so its gradient goes to
// that element only: the forward records where the maximum was (argmax),
// and the backward sends dy there. Average pooling is linear, every
// element of a window weighing 1/(KH·KW), so its gradient spreads dy
// evenly back over the window. Windows overlap when stride < kernel, and
// then an element collects the gradient of every window it belongs to.

import type { PoolGeometry } from '../backend';

// out[n, c, i, j]    = max over the in-bounds (h, w) of window (i, j) of x[n, c, h, w]
// argmax[n, c, i, j] = h·W + w of the first such maximum, rows then columns
// Padding is never a candidate (it is not -Infinity or 0, it is absent).
// A NaN in a window wins, as in PyTorch; the first NaN is the argmax.
// The index is stored as a float: exact for planes of up to 2^24 elements
// in float32 on the GPU, 2^53 here.
// x: [N, C, H, W] -> out, argmax: [N, C, OH, OW]
export function maxPool2d(x: Float64Array, geo: PoolGeometry): { out: Float64Array; argmax: Float64Array } {
  checkGeometry('maxPool2d', geo);
  const { batch: N, channels: C, inH: H, inW: W, outH: OH, outW: OW } = geo;
  const { kernelH: KH, kernelW: KW, strideH, strideW, padH, padW } = geo;
  checkLength('maxPool2d', 'x', x, N * C * H * W);

  const out = new Float64Array(N * C * OH * OW);
  const argmax = new Float64Array(N * C * OH * OW);
  for (let plane = 0; plane < N * C; plane++) {
    const xPlane = plane * H * W;
    for (let i = 0; i < OH; i++) {
      for (let j = 0; j < OW; j++) {
        let best = -Infinity;
        let bestIndex = -1;
        for (let a = 0; a < KH; a++) {
          const h = i * strideH - padH + a;
          if (h < 0 || h >= H) continue;
          for (let b = 0; b < KW; b++) {
            const w = j * strideW - padW + b;
            if (w < 0 || w >= W) continue;
            const v = x[xPlane + h * W + w]!;
            // Strictly greater, so a tie keeps the first; a NaN takes over
            // once, and then nothing compares greater than it.
            const isNewMax = bestIndex === -1 || v > best || (Number.isNaN(v) && !Number.isNaN(best));
            if (isNewMax) {
              best = v;
              bestIndex = h * W + w;
            }
          }
        }
        if (bestIndex === -1) {
          throw new Error(`cpu maxPool2d: window (${i}, ${j}) lies wholly in the padding`);
        }
        const o = (plane * OH + i) * OW + j;
        out[o] = best;
        argmax[o] = bestIndex;
      }
    }
  }
  return { out, argmax };
}

// dx[n, c, h, w] = Σ over the windows (i, j) whose argmax is h·W + w of dy[n, c, i, j]
// dy, argmax: [N, C, OH, OW] -> dx: [N, C, H, W]
export function maxPool2dGrad(dy: Float64Array, argmax: Float64Array, geo: PoolGeometry): Float64Array {
  checkGeometry('maxPool2dGrad', geo);
  const { batch: N, channels: C, inH: H, inW: W, outH: OH, outW: OW } = geo;
  checkLength('maxPool2dGrad', 'dy', dy, N * C * OH * OW);
  checkLength('maxPool2dGrad', 'argmax', argmax, N * C * OH * OW);

  const dx = new Float64Array(N * C * H * W);
  for (let plane = 0; plane < N * C; plane++) {
    for (let i = 0; i < OH; i++) {
      for (let j = 0; j < OW; j++) {
        const o = (plane * OH + i) * OW + j;
        const index = argmax[o]!;
        if (!Number.isInteger(index) || index < 0 || index >= H * W) {
          throw new Error(`cpu maxPool2dGrad: argmax[${o}] = ${index} is not an index into a ${H}×${W} plane`);
        }
        dx[plane * H * W + index] += dy[o]!;
      }
    }
  }
  return dx;
}

// out[n, c, i, j] = (Σ over the in-bounds (h, w) of window (i, j) of x[n, c, h, w]) / (KH·KW)
// Padding counts in the divisor as zeros (PyTorch's count_include_pad=True).
// x: [N, C, H, W] -> out: [N, C, OH, OW]
export function avgPool2d(x: Float64Array, geo: PoolGeometry): Float64Array {
  checkGeometry('avgPool2d', geo);
  const { batch: N, channels: C, inH: H, inW: W, outH: OH, outW: OW } = geo;
  const { kernelH: KH, kernelW: KW, strideH, strideW, padH, padW } = geo;
  checkLength('avgPool2d', 'x', x, N * C * H * W);

  const out = new Float64Array(N * C * OH * OW);
  for (let plane = 0; plane < N * C; plane++) {
    const xPlane = plane * H * W;
    for (let i = 0; i < OH; i++) {
      for (let j = 0; j < OW; j++) {
        let sum = 0;
        for (let a = 0; a < KH; a++) {
          const h = i * strideH - padH + a;
          if (h < 0 || h >= H) continue;
          for (let b = 0; b < KW; b++) {
            const w = j * strideW - padW + b;
            if (w < 0 || w >= W) continue;
            sum += x[xPlane + h * W + w]!;
          }
        }
        out[(plane * OH + i) * OW + j] = sum / (KH * KW);
      }
    }
  }
  return out;
}

// dx[n, c, h, w] = Σ over the windows (i, j) that cover (h, w) of dy[n, c, i, j] / (KH·KW)
// dy: [N, C, OH, OW] -> dx: [N, C, H, W]
export function avgPool2dGrad(dy: Float64Array, geo: PoolGeometry): Float64Array {
  checkGeometry('avgPool2dGrad', geo);
  const { batch: N, channels: C, inH: H, inW: W, outH: OH, outW: OW } = geo;
  const { kernelH: KH, kernelW: KW, strideH, strideW, padH, padW } = geo;
  checkLength('avgPool2dGrad', 'dy', dy, N * C * OH * OW);

  const dx = new Float64Array(N * C * H * W);
  for (let plane = 0; plane < N * C; plane++) {
    const xPlane = plane * H * W;
    for (let i = 0; i < OH; i++) {
      for (let j = 0; j < OW; j++) {
        const share = dy[(plane * OH + i) * OW + j]! / (KH * KW);
        for (let a = 0; a < KH; a++) {
          const h = i * strideH - padH + a;
          if (h < 0 || h >= H) continue; // the padding's share goes nowhere
          for (let b = 0; b < KW; b++) {
            const w = j * strideW - padW + b;
            if (w < 0 || w >= W) continue;
            dx[xPlane + h * W + w] += share;
          }
        }
      }
    }
  }
  return dx;
}

function checkGeometry(op: string, geo: PoolGeometry): void {
  for (const [name, value] of Object.entries(geo)) {
    if (!Number.isInteger(value) || value < 0) {
      throw new Error(`cpu ${op}: ${name} must be a whole number >= 0, got ${value}`);
    }
  }
  for (const name of ['kernelH', 'kernelW', 'strideH', 'strideW'] as const) {
    if (geo[name] < 1) {
      throw new Error(`cpu ${op}: ${name} must be >= 1, got ${geo[name]}`);
    }
  }
}

function checkLength(op: string, name: string, data: Float64Array, needed: number): void {
  if (data.length !== needed) {
    throw new Error(`cpu ${op}: ${name} has ${data.length} elements, the geometry needs ${needed}`);
  }
}
