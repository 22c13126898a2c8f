// 2-D convolution, NCHW, and its two gradients, straight from the formula
// (see ConvGeometry in ../backend):
//
//   y[n, o, i, j] = Σ_{c, a, b} x[n, g·Cg + c, i·sH - pH + a·dH, j·sW - pW + b·dW] · w[o, c, a, b]
//
// with g = o's group, Cg = channels per group, and x read as 0 outside the
// image. Write h = i·sH - pH + a·dH and v = j·sW - pW + b·dW for the input
// row and column that one term reads.
//
// How the three relate. y is a sum of products x·w, so it is linear in x
// and linear in w. Each term x[n, k, h, v] · w[o, c, a, b] (k = g·Cg + c)
// feeds exactly one y[n, o, i, j], and the chain rule sends dy[n, o, i, j]
// back along that same term: to x weighted by w, to w weighted by x. So
// the gradients are the forward's loops again with the roles swapped:
//
//   conv2d            y[n, o, i, j]  += x[n, k, h, v]  · w[o, c, a, b]
//   conv2dInputGrad   dx[n, k, h, v] += dy[n, o, i, j] · w[o, c, a, b]
//   conv2dWeightGrad  dw[o, c, a, b] += dy[n, o, i, j] · x[n, k, h, v]
//
// A term whose (h, v) falls in the padding read a constant 0, so it sends
// nothing back to x (there is no x there) and adds 0 to dw.
//
// Why a transposed conv's forward is conv2dInputGrad. For a fixed w, conv2d
// is a linear map A from x to y, i.e. a (huge, sparse) matrix, and
// conv2dInputGrad is dx = Aᵀ·dy, the adjoint: ⟨A x, y⟩ = ⟨x, Aᵀ y⟩. With
// stride s, A reads the input s pixels apart and shrinks it; Aᵀ does the
// reverse, spreading each of its input pixels over a kernel-sized patch of
// a bigger output, s pixels apart, and summing where patches overlap. That
// is exactly what a "transposed convolution" (a.k.a. fractionally strided
// conv, the upsampling layer of decoders and GANs) is defined to be, which
// is where the name comes from: its matrix is the transpose of a conv's.
// So a ConvTranspose2d layer calls conv2dInputGrad for its forward, with
// its input in the place of dy ([N, O, OH, OW]) and its output in the place
// of dx ([N, C, H, W]); its weight is stored [O, C/G, KH, KW], which is
// PyTorch's [in_channels, out_channels/groups, kH, kW] for ConvTranspose2d.
// Its backward is then the adjoint of the adjoint, conv2d, for its input,
// and conv2dWeightGrad (its output's gradient as x, its input as dy) for
// its weight.

import type { ConvGeometry } from '../backend';

// y[n, o, i, j] = Σ_{c, a, b} x[n, g·Cg + c, h, v] · w[o, c, a, b], 0 where (h, v) is padding
// x: [N, C, H, W], w: [O, C/G, KH, KW] -> y: [N, O, OH, OW]
export function conv2d(x: Float64Array, w: Float64Array, geo: ConvGeometry): Float64Array {
  checkGeometry('conv2d', geo);
  const { batch: N, inChannels: C, inH: H, inW: W, outChannels: O, outH: OH, outW: OW } = geo;
  const { kernelH: KH, kernelW: KW, strideH, strideW, padH, padW, dilationH, dilationW, groups } = geo;
  const Cg = C / groups; // input channels per group
  const Og = O / groups; // output channels per group
  checkLength('conv2d', 'x', x, N * C * H * W);
  checkLength('conv2d', 'w', w, O * Cg * KH * KW);

  const y = new Float64Array(N * O * OH * OW);
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) {
      const g = Math.floor(o / Og);
      for (let i = 0; i < OH; i++) {
        for (let j = 0; j < OW; j++) {
          let sum = 0;
          for (let c = 0; c < Cg; c++) {
            const channel = g * Cg + c;
            for (let a = 0; a < KH; a++) {
              const h = i * strideH - padH + a * dilationH;
              if (h < 0 || h >= H) continue; // padding reads 0
              for (let b = 0; b < KW; b++) {
                const v = j * strideW - padW + b * dilationW;
                if (v < 0 || v >= W) continue;
                sum += x[((n * C + channel) * H + h) * W + v]! * w[((o * Cg + c) * KH + a) * KW + b]!;
              }
            }
          }
          y[((n * O + o) * OH + i) * OW + j] = sum;
        }
      }
    }
  }
  return y;
}

// dx[n, g·Cg + c, h, v] = Σ over every (o in group g, i, j, a, b) whose term reads
//                         x at (h, v):  dy[n, o, i, j] · w[o, c, a, b]
// Written as a walk over the outputs, each one handing dy·w back to the
// pixel its term read; pixels that several windows read (kernel > stride)
// collect several contributions, pixels no window reads get 0.
// dy: [N, O, OH, OW], w: [O, C/G, KH, KW] -> dx: [N, C, H, W]
export function conv2dInputGrad(dy: Float64Array, w: Float64Array, geo: ConvGeometry): Float64Array {
  checkGeometry('conv2dInputGrad', geo);
  const { batch: N, inChannels: C, inH: H, inW: W, outChannels: O, outH: OH, outW: OW } = geo;
  const { kernelH: KH, kernelW: KW, strideH, strideW, padH, padW, dilationH, dilationW, groups } = geo;
  const Cg = C / groups;
  const Og = O / groups;
  checkLength('conv2dInputGrad', 'dy', dy, N * O * OH * OW);
  checkLength('conv2dInputGrad', 'w', w, O * Cg * KH * KW);

  const dx = new Float64Array(N * C * H * W);
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) {
      const g = Math.floor(o / Og);
      for (let i = 0; i < OH; i++) {
        for (let j = 0; j < OW; j++) {
          const grad = dy[((n * O + o) * OH + i) * OW + j]!;
          for (let c = 0; c < Cg; c++) {
            const channel = g * Cg + c;
            for (let a = 0; a < KH; a++) {
              const h = i * strideH - padH + a * dilationH;
              if (h < 0 || h >= H) continue; // the term read padding: no x to send to
              for (let b = 0; b < KW; b++) {
                const v = j * strideW - padW + b * dilationW;
                if (v < 0 || v >= W) continue;
                dx[((n * C + channel) * H + h) * W + v] += grad * w[((o * Cg + c) * KH + a) * KW + b]!;
              }
            }
          }
        }
      }
    }
  }
  return dx;
}

// dw[o, c, a, b] = Σ_{n, i, j} dy[n, o, i, j] · x[n, g·Cg + c, h, v], 0 where (h, v) is padding
// Each weight is used once per output position, so its gradient sums over
// all of them (and over the batch): a correlation of x with dy.
// x: [N, C, H, W], dy: [N, O, OH, OW] -> dw: [O, C/G, KH, KW]
export function conv2dWeightGrad(x: Float64Array, dy: Float64Array, geo: ConvGeometry): Float64Array {
  checkGeometry('conv2dWeightGrad', geo);
  const { batch: N, inChannels: C, inH: H, inW: W, outChannels: O, outH: OH, outW: OW } = geo;
  const { kernelH: KH, kernelW: KW, strideH, strideW, padH, padW, dilationH, dilationW, groups } = geo;
  const Cg = C / groups;
  const Og = O / groups;
  checkLength('conv2dWeightGrad', 'x', x, N * C * H * W);
  checkLength('conv2dWeightGrad', 'dy', dy, N * O * OH * OW);

  const dw = new Float64Array(O * Cg * KH * KW);
  for (let o = 0; o < O; o++) {
    const g = Math.floor(o / Og);
    for (let c = 0; c < Cg; c++) {
      const channel = g * Cg + c;
      for (let a = 0; a < KH; a++) {
        for (let b = 0; b < KW; b++) {
          let sum = 0;
          for (let n = 0; n < N; n++) {
            for (let i = 0; i < OH; i++) {
              const h = i * strideH - padH + a * dilationH;
              if (h < 0 || h >= H) continue; // padding: x is 0 there
              for (let j = 0; j < OW; j++) {
                const v = j * strideW - padW + b * dilationW;
                if (v < 0 || v >= W) continue;
                sum += dy[((n * O + o) * OH + i) * OW + j]! * x[((n * C + channel) * H + h) * W + v]!;
              }
            }
          }
          dw[((o * Cg + c) * KH + a) * KW + b] = sum;
        }
      }
    }
  }
  return dw;
}

// Whole-number sizes, positive strides and dilations, and groups that split
// both channel counts evenly. outH/outW are the caller's: any value >= 0 is
// a valid (if perhaps unusual) bottom/right padding.
function checkGeometry(op: string, geo: ConvGeometry): void {
  for (const [name, value] of Object.entries(geo)) {
    if (!Number.isInteger(value) || value < 0) {
      throw new Error(`cpu ${op}: ${name} must be a whole number >= 0, got ${value}`);
    }
  }
  for (const name of ['strideH', 'strideW', 'dilationH', 'dilationW', 'groups'] as const) {
    if (geo[name] < 1) {
      throw new Error(`cpu ${op}: ${name} must be >= 1, got ${geo[name]}`);
    }
  }
  if (geo.inChannels % geo.groups !== 0 || geo.outChannels % geo.groups !== 0) {
    throw new Error(
      `cpu ${op}: groups = ${geo.groups} must divide inChannels = ${geo.inChannels} and outChannels = ${geo.outChannels}`,
    );
  }
}

function checkLength(op: string, name: string, data: Float64Array, needed: number): void {
  if (data.length !== needed) {
    throw new Error(`cpu ${op}: ${name} has ${data.length} elements, the geometry needs ${needed}`);
  }
}
