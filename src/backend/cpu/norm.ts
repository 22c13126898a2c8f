// Batch normalisation in training mode, forward and backward (see
// NormGeometry in ../backend). Each channel c is normalised with the
// statistics of its own M = N·S numbers, taken over the batch and the
// spatial positions:
//
//   mean[c] = Σ_{n, s} x[n, c, s] / M
//   var[c]  = Σ_{n, s} (x[n, c, s] - mean[c])² / M          (biased)
//   x̂       = (x - mean[c]) / sqrt(var[c] + eps)
//   out     = x̂ · weight[c] + bias[c]
//
// The backward is not just dy·weight·invstd: mean and var are functions of
// every x in the channel, so moving one x moves all of that channel's
// outputs. Carrying dy through mean and var as well (see batchNormGrad)
// leaves a dx that sums to 0 over the channel and (exactly when eps = 0)
// is orthogonal to x̂ there: shifting or scaling a channel's x changes
// nothing after normalisation, so those directions get no gradient.

import type { NormGeometry } from '../backend';

// x: [N, C, S], weight, bias: [C] -> out: [N, C, S], mean, var: [C]
export function batchNorm(
  x: Float64Array,
  weight: Float64Array,
  bias: Float64Array,
  geo: NormGeometry,
  eps: number,
): { out: Float64Array; mean: Float64Array; var: Float64Array } {
  const { batch: N, channels: C, spatial: S } = checkGeometry('batchNorm', geo);
  checkLength('batchNorm', 'x', x, N * C * S);
  checkLength('batchNorm', 'weight', weight, C);
  checkLength('batchNorm', 'bias', bias, C);
  const M = N * S;

  const mean = new Float64Array(C);
  const variance = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    let sum = 0;
    for (let n = 0; n < N; n++) {
      for (let s = 0; s < S; s++) {
        sum += x[(n * C + c) * S + s]!;
      }
    }
    const mu = sum / M;

    // A second pass over (x - mean)², rather than E[x²] - mean², which
    // cancels badly when the mean is large next to the spread.
    let squares = 0;
    for (let n = 0; n < N; n++) {
      for (let s = 0; s < S; s++) {
        const d = x[(n * C + c) * S + s]! - mu;
        squares += d * d;
      }
    }
    mean[c] = mu;
    variance[c] = squares / M;
  }
  return { out: normalized(x, mean, variance, weight, bias, geo, eps), mean, var: variance };
}

// With x̂ = (x - mean)·invstd, invstd = 1/sqrt(var + eps), M = N·S, per channel c:
//   dbias[c]   = Σ_{n, s} dy
//   dweight[c] = Σ_{n, s} dy · x̂
//   dx         = weight[c]·invstd/M · (M·dy - Σ dy - x̂·Σ(dy·x̂))
// The last line is the chain rule through x̂ = (x - mean)·invstd with mean
// and var depending on x: ∂mean/∂x = 1/M gives the -Σdy term, and
// ∂var/∂x = 2(x - mean)/M gives the -x̂·Σ(dy·x̂) term.
// dy, x: [N, C, S], mean, variance, weight: [C] -> dx: [N, C, S], dweight, dbias: [C]
export function batchNormGrad(
  dy: Float64Array,
  x: Float64Array,
  mean: Float64Array,
  variance: Float64Array,
  weight: Float64Array,
  geo: NormGeometry,
  eps: number,
): { dx: Float64Array; dweight: Float64Array; dbias: Float64Array } {
  const { batch: N, channels: C, spatial: S } = checkGeometry('batchNormGrad', geo);
  checkLength('batchNormGrad', 'dy', dy, N * C * S);
  checkLength('batchNormGrad', 'x', x, N * C * S);
  checkLength('batchNormGrad', 'mean', mean, C);
  checkLength('batchNormGrad', 'variance', variance, C);
  checkLength('batchNormGrad', 'weight', weight, C);
  const M = N * S;

  const dx = new Float64Array(N * C * S);
  const dweight = new Float64Array(C);
  const dbias = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    const invstd = 1 / Math.sqrt(variance[c]! + eps);

    let sumDy = 0;
    let sumDyXhat = 0;
    for (let n = 0; n < N; n++) {
      for (let s = 0; s < S; s++) {
        const i = (n * C + c) * S + s;
        const xhat = (x[i]! - mean[c]!) * invstd;
        sumDy += dy[i]!;
        sumDyXhat += dy[i]! * xhat;
      }
    }

    const scale = (weight[c]! * invstd) / M;
    for (let n = 0; n < N; n++) {
      for (let s = 0; s < S; s++) {
        const i = (n * C + c) * S + s;
        const xhat = (x[i]! - mean[c]!) * invstd;
        dx[i] = scale * (M * dy[i]! - sumDy - xhat * sumDyXhat);
      }
    }
    dweight[c] = sumDyXhat;
    dbias[c] = sumDy;
  }
  return { dx, dweight, dbias };
}

// The forward's output before any activation, from given statistics:
// (x - mean[c]) / sqrt(var[c] + eps) · weight[c] + bias[c].
export function normalized(
  x: Float64Array,
  mean: Float64Array,
  variance: Float64Array,
  weight: Float64Array,
  bias: Float64Array,
  geo: NormGeometry,
  eps: number,
): Float64Array {
  const { batch: N, channels: C, spatial: S } = checkGeometry('batchNorm', geo);
  const z = new Float64Array(N * C * S);
  for (let c = 0; c < C; c++) {
    const invstd = 1 / Math.sqrt(variance[c]! + eps);
    for (let n = 0; n < N; n++) {
      for (let s = 0; s < S; s++) {
        const i = (n * C + c) * S + s;
        z[i] = (x[i]! - mean[c]!) * invstd * weight[c]! + bias[c]!;
      }
    }
  }
  return z;
}

// Whole-number sizes, and at least one number per channel to take
// statistics of (M = 0 would make mean 0/0).
function checkGeometry(op: string, geo: NormGeometry): NormGeometry {
  for (const [name, value] of Object.entries(geo)) {
    if (!Number.isInteger(value) || value < 0) {
      throw new Error(`cpu ${op}: ${name} must be a whole number >= 0, got ${value}`);
    }
  }
  if (geo.channels > 0 && geo.batch * geo.spatial === 0) {
    throw new Error(`cpu ${op}: batch·spatial = 0 leaves no numbers to take statistics of`);
  }
  return geo;
}

function checkLength(op: string, name: string, data: Float64Array, needed: number): void {
  if (data.length !== needed) {
    throw new Error(`cpu ${op}: ${name} has ${data.length} elements, the geometry needs ${needed}`);
  }
}
