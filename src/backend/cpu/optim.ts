// Optimizer updates, the reference: PyTorch's rules for SGD and Adam/AdamW
// written out element by element, in place.
import type { AdamStep, SgdStep } from '../backend';

// p, grad, buf: [n]; buf (the momentum buffer) is null without momentum.
export function sgdStep(p: Float64Array, grad: Float64Array, buf: Float64Array | null, h: SgdStep): void {
  for (let i = 0; i < p.length; i++) {
    let g = grad[i] + h.weightDecay * p[i];
    if (h.momentum !== 0 && buf) {
      buf[i] = h.firstStep ? g : h.momentum * buf[i] + (1 - h.dampening) * g;
      g = h.nesterov ? g + h.momentum * buf[i] : buf[i];
    }
    p[i] -= h.lr * g;
  }
}

// p, grad, m (first moment), v (second moment): [n]; t: the step count, from 1.
export function adamStep(p: Float64Array, grad: Float64Array, m: Float64Array, v: Float64Array, t: number, h: AdamStep): void {
  const stepSize = h.lr / (1 - h.beta1 ** t);
  const bias2 = Math.sqrt(1 - h.beta2 ** t);
  for (let i = 0; i < p.length; i++) {
    let g = grad[i];
    if (h.decoupled) p[i] *= 1 - h.lr * h.weightDecay;
    else g += h.weightDecay * p[i];
    m[i] = h.beta1 * m[i] + (1 - h.beta1) * g;
    v[i] = h.beta2 * v[i] + (1 - h.beta2) * g * g;
    p[i] -= (stepSize * m[i]) / (Math.sqrt(v[i]) / bias2 + h.eps);
  }
}

// adamStep over packs: each run of elements with the same segment value is one parameter, whose
// step count is steps[segment]; the count after the step goes to stepsOut[segment].
export function adamStepPacked(
  p: Float64Array, grad: Float64Array, m: Float64Array, v: Float64Array,
  steps: Float64Array, stepsOut: Float64Array, segment: Float64Array, h: AdamStep,
): void {
  for (let start = 0; start < p.length;) {
    let end = start + 1;
    while (end < p.length && segment[end] === segment[start]) end++;
    const at = segment[start];
    const t = steps[at] + 1;
    adamStep(p.subarray(start, end), grad.subarray(start, end), m.subarray(start, end), v.subarray(start, end), t, h);
    stepsOut[at] = t;
    start = end;
  }
}

// average, source: [n]; an exponential moving average of weights, updated in place.
export function emaStep(average: Float64Array, source: Float64Array, decay: number, scale = 1): void {
  for (let i = 0; i < average.length; i++) average[i] = decay * average[i] + (1 - decay) * scale * source[i];
}

// batchnorm's running statistics after a training batch: runningMean, runningVar, mean, variance: [C]; tracked: [1].
export function runningStatsStep(
  runningMean: Float64Array, runningVar: Float64Array, tracked: Float64Array, mean: Float64Array, variance: Float64Array, momentum: number, unbias: number,
): void {
  emaStep(runningMean, mean, 1 - momentum);
  emaStep(runningVar, variance, 1 - momentum, unbias);
  tracked[0] += 1;
}
