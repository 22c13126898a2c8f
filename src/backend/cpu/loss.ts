// Losses fused into one call each way, the reference for shaders/loss.wgsl:
// Σ_i term(x[i], t[i]) / divisor, the target either n values or one number
// for all.
import { checkLossTarget, type LossKind } from '../backend';

// softplus(x) = log(1 + e^x) written as max(x, 0) + log(1 + e^-|x|) so that e^x never overflows
function softplus(v: number): number {
  return Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v)));
}

function term(kind: LossKind, v: number, t: number): number {
  switch (kind) {
    case 'bce': return softplus(v) - v * t;
    case 'mse': return (v - t) * (v - t);
    case 'hinge': return Math.max(0, 1 - t * v);
    case 'gaussianKl': return 0.5 * (v * v + Math.exp(t) - t - 1);
    case 'linear': return v * t;
  }
}

// d term / dv; the hinge's derivative at its kink (1 − t·v = 0) is taken as 0, as relu's is
function termGrad(kind: LossKind, v: number, t: number): number {
  switch (kind) {
    case 'bce': return 1 / (1 + Math.exp(-v)) - t;
    case 'mse': return 2 * (v - t);
    case 'hinge': return 1 - t * v > 0 ? -t : 0;
    case 'gaussianKl': return v;
    case 'linear': return t;
  }
}

function targetAt(target: Float64Array | number, i: number): number {
  return typeof target === 'number' ? target : target[i];
}

export function loss(kind: LossKind, x: Float64Array, target: Float64Array | number, divisor: number): Float64Array {
  checkLossTarget(x.length, typeof target === 'number' ? target : { size: target.length });
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += term(kind, x[i], targetAt(target, i));
  return Float64Array.of(sum / divisor);
}

// d/dx of the loss above, times the loss's gradient g
export function lossGrad(kind: LossKind, x: Float64Array, target: Float64Array | number, g: number, divisor: number): Float64Array {
  checkLossTarget(x.length, typeof target === 'number' ? target : { size: target.length });
  return x.map((v, i) => termGrad(kind, v, targetAt(target, i)) * (g / divisor));
}

// The Gaussian KL's gradient with respect to the log-variance: ½(e^t − 1) · g / divisor
export function gaussianKlLogvarGrad(logvar: Float64Array, g: number, divisor: number): Float64Array {
  return logvar.map((t) => 0.5 * (Math.exp(t) - 1) * (g / divisor));
}
