// One diffusion sampler step after the net, the reference for
// shaders/denoise.wgsl (DenoiseStep in backend.ts has the formulas).
import { checkDenoise, type DenoiseStep } from '../backend';

export function denoiseStep(xt: Float64Array, eps: Float64Array, noise: Float64Array | null, step: DenoiseStep): { prev: Float64Array; x0: Float64Array } {
  const n = xt.length;
  checkDenoise(n, eps.length, noise?.length ?? null, step);
  const { guidance, noiseLevel, signalInverse, x0Coef, xtCoef, noiseCoef } = step;
  const prev = new Float64Array(n);
  const x0 = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const e = guidance === null ? eps[i] : eps[i + n] + guidance * (eps[i] - eps[i + n]);
    x0[i] = Math.min(1, Math.max(-1, (xt[i] - noiseLevel * e) * signalInverse));
    prev[i] = x0Coef * x0[i] + xtCoef * xt[i] + (noise && noiseCoef !== 0 ? noiseCoef * noise[i] : 0);
  }
  return { prev, x0 };
}
