// A diffusion sampler's update after the net as one op: classifier-free
// guidance, the clipped x̂_0 and the step to x_prev in one kernel each
// backend (DenoiseStep in backend.ts has the formulas). Samplers run
// without gradients, and so does this op.
import type { DenoiseStep } from '../backend/backend';
import { isGradEnabled } from '../autograd';
import { Tensor, shapeString } from '../tensor';

export type { DenoiseStep };

/**
 * xt, noise: [n, ...]; eps: the net's ε̂ of xt's shape, or with guidance
 * [2n, ...] (the labelled batch, then the unlabelled one). Returns x_prev and
 * x̂_0, each of xt's shape.
 */
export function denoiseStep(xt: Tensor, eps: Tensor, noise: Tensor | null, step: DenoiseStep): { prev: Tensor; x0: Tensor } {
  const op = 'denoiseStep';
  const epsShape = step.guidance === null ? xt.shape : [2 * (xt.shape[0] ?? 1), ...xt.shape.slice(1)];
  if (xt.rank === 0 || eps.shape.join() !== epsShape.join()) {
    throw new Error(`${op}: ε̂ ${shapeString(eps.shape)} for x_t ${shapeString(xt.shape)}; ${shapeString(epsShape)} expected${step.guidance === null ? '' : ' (guided)'}`);
  }
  if (noise && noise.shape.join() !== xt.shape.join()) throw new Error(`${op}: noise ${shapeString(noise.shape)} for x_t ${shapeString(xt.shape)}`);
  if ([eps, noise].some((t) => t && t.backend !== xt.backend)) throw new Error(`${op}: x_t, ε̂ and the noise must be on one backend`);
  if (isGradEnabled() && [xt, eps, noise].some((t) => t?.requiresGrad)) throw new Error(`${op}: a sampler step takes no gradient; run it under noGrad`);
  const out = xt.backend.denoiseStep(xt.storageFor(op), eps.storageFor(op), noise?.storageFor(op) ?? null, step);
  return { prev: new Tensor(out.prev, xt.shape), x0: new Tensor(out.x0, xt.shape) };
}
