// Losses fused into one call each way, the reference for shaders/loss.wgsl:
// Σ_i term(x[i], t[i]) / divisor, the target either n values or one
// (broadcast).
import type { LossKind } from '../backend';

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

function targetAt(target: Float64Array, i: number): number {
  return target.length === 1 ? target[0] : target[i];
}

function checkTarget(x: Float64Array, target: Float64Array): void {
  if (target.length !== x.length && target.length !== 1) throw new Error(`cpu loss: a target of ${target.length} values for ${x.length} inputs`);
}

export function loss(kind: LossKind, x: Float64Array, target: Float64Array, divisor: number): Float64Array {
  checkTarget(x, target);
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += term(kind, x[i], targetAt(target, i));
  return Float64Array.of(sum / divisor);
}

// d/dx of the loss above, times the loss's gradient g
export function lossGrad(kind: LossKind, x: Float64Array, target: Float64Array, g: number, divisor: number): Float64Array {
  checkTarget(x, target);
  return x.map((v, i) => termGrad(kind, v, targetAt(target, i)) * (g / divisor));
}

// The Gaussian KL's gradient with respect to the log-variance: ½(e^t − 1) · g / divisor
export function gaussianKlLogvarGrad(logvar: Float64Array, g: number, divisor: number): Float64Array {
  return logvar.map((t) => 0.5 * (Math.exp(t) - 1) * (g / divisor));
}
