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

import { needsPreActivation, type Activation, type NormGeometry } from '../backend';
import { unaryGrad } from './elementwise';

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

// Group normalisation: the statistics of sample n and group g are taken over
// the group's C/G channels and every spatial position (M = C/G·S numbers);
// then the per-channel affine, as PyTorch's F.group_norm.
//   x̂ = (x - mean[n, g]) / sqrt(var[n, g] + eps),  out = x̂ · weight[c] + bias[c]
// x: [N, C, S], weight, bias: [C] -> out: [N, C, S], mean, var: [N·G]
export function groupNorm(
  x: Float64Array, weight: Float64Array, bias: Float64Array, geo: NormGeometry, groups: number, eps: number,
): { out: Float64Array; mean: Float64Array; var: Float64Array } {
  const { batch: N, channels: C, spatial: S } = checkGeometry('groupNorm', geo);
  const G = checkGroups('groupNorm', C, groups);
  const per = (C / G) * S; // a (sample, group) row is contiguous in NCHW
  const mean = new Float64Array(N * G);
  const variance = new Float64Array(N * G);
  const out = new Float64Array(N * C * S);
  for (let r = 0; r < N * G; r++) {
    let sum = 0;
    for (let i = 0; i < per; i++) sum += x[r * per + i]!;
    const mu = sum / per;
    let squares = 0;
    for (let i = 0; i < per; i++) squares += (x[r * per + i]! - mu) ** 2;
    mean[r] = mu;
    variance[r] = squares / per;
    const invstd = 1 / Math.sqrt(variance[r]! + eps);
    for (let i = 0; i < per; i++) {
      const c = (r % G) * (C / G) + Math.floor(i / S);
      out[r * per + i] = (x[r * per + i]! - mu) * invstd * weight[c]! + bias[c]!;
    }
  }
  return { out, mean, var: variance };
}

// The chain rule through groupNorm, per row (sample, group) with gw = dy·weight[c]:
//   dx = invstd/M · (M·gw - Σ gw - x̂·Σ(gw·x̂))
// and per channel over the batch and space: dweight[c] = Σ dy·x̂, dbias[c] = Σ dy.
export function groupNormGrad(
  dy: Float64Array, x: Float64Array, mean: Float64Array, variance: Float64Array, weight: Float64Array,
  geo: NormGeometry, groups: number, eps: number,
): { dx: Float64Array; dweight: Float64Array; dbias: Float64Array } {
  const { batch: N, channels: C, spatial: S } = checkGeometry('groupNormGrad', geo);
  const G = checkGroups('groupNormGrad', C, groups);
  const per = (C / G) * S;
  const dx = new Float64Array(N * C * S);
  const dweight = new Float64Array(C);
  const dbias = new Float64Array(C);
  for (let r = 0; r < N * G; r++) {
    const invstd = 1 / Math.sqrt(variance[r]! + eps);
    const xhat = (i: number) => (x[r * per + i]! - mean[r]!) * invstd;
    const channel = (i: number) => (r % G) * (C / G) + Math.floor(i / S);
    let sumGw = 0;
    let sumGwXhat = 0;
    for (let i = 0; i < per; i++) {
      const c = channel(i);
      const g = dy[r * per + i]!;
      sumGw += g * weight[c]!;
      sumGwXhat += g * weight[c]! * xhat(i);
      dweight[c] += g * xhat(i);
      dbias[c] += g;
    }
    for (let i = 0; i < per; i++) {
      const gw = dy[r * per + i]! * weight[channel(i)]!;
      dx[r * per + i] = (invstd / per) * (per * gw - sumGw - xhat(i) * sumGwXhat);
    }
  }
  return { dx, dweight, dbias };
}

// The backward of a layer's epilogue y = f(z), z = C + bias: f'(z)·dy, with
// f' read from the output y, or taken at z itself where the layer kept it
// (pre: silu, a negative leakyRelu slope), and the bias's gradient, that
// summed per channel. y, dy, pre: [N, C, S] -> grad: [N, C, S], dbias: [C]
export function epilogueGrad(
  y: Float64Array,
  dy: Float64Array,
  geo: NormGeometry,
  activation: Activation | null,
  pre: Float64Array | null = null,
): { grad: Float64Array; dbias: Float64Array } {
  const { batch: N, channels: C, spatial: S } = checkGeometry('epilogueGrad', geo);
  checkLength('epilogueGrad', 'y', y, N * C * S);
  checkLength('epilogueGrad', 'dy', dy, N * C * S);
  if (pre) checkLength('epilogueGrad', 'pre', pre, N * C * S);
  if (activation && needsPreActivation(activation) !== (pre !== null)) {
    throw new Error(`cpu epilogueGrad: ${activation.op} (slope ${activation.alpha}) ${pre ? 'takes no' : 'needs the'} pre-activation`);
  }
  const grad = pre
    ? unaryGrad(activation!.op, pre, dy, activation!.alpha, 0)
    : dy.map((g, i) => {
      const v = y[i]!;
      switch (activation?.op) {
        case 'relu': return (v > 0 ? 1 : 0) * g;
        case 'leakyRelu': return (v > 0 ? 1 : activation.alpha) * g;
        case 'tanh': return (1 - v * v) * g;
        case 'sigmoid': return v * (1 - v) * g;
        default: return g;
      }
    });
  const dbias = new Float64Array(C);
  for (let i = 0; i < grad.length; i++) dbias[Math.floor(i / S) % C] += grad[i]!;
  return { grad, dbias };
}

function checkGroups(op: string, channels: number, groups: number): number {
  if (!Number.isInteger(groups) || groups < 1 || channels % groups !== 0) {
    throw new Error(`cpu ${op}: groups must be a whole number ≥ 1 dividing the ${channels} channels, got ${groups}`);
  }
  return groups;
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
