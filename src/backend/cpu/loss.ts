// Losses fused into one call each way, the reference for shaders/loss.wgsl.

// mean over i of softplus(x[i]) - x[i]·t[i], softplus(x) = log(1 + e^x) written as
// max(x, 0) + log(1 + e^-|x|) so that e^x never overflows
export function bceWithLogits(x: Float64Array, target: Float64Array): Float64Array {
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += Math.max(x[i], 0) + Math.log1p(Math.exp(-Math.abs(x[i]))) - x[i] * target[i];
  return Float64Array.of(sum / x.length);
}

// d/dx of the mean above, times the loss's gradient g: (sigmoid(x) - t) · g / n
export function bceWithLogitsGrad(x: Float64Array, target: Float64Array, g: number): Float64Array {
  return x.map((v, i) => (1 / (1 + Math.exp(-v)) - target[i]) * (g / x.length));
}
