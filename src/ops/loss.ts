// Losses, each the mean over all elements (PyTorch's reduction='mean'; the
// Gaussian KL sums over the last dim first): mseLoss, bceWithLogits,
// hingeLoss and gaussianKl are one kernel each way (shaders/loss.wgsl);
// crossEntropy is composed from differentiable ops.
import type { LossKind } from '../backend/backend';
import { Tensor, shapeString } from '../tensor';
import { record } from '../autograd';
import { rangeOn } from './creation';
import { logSoftmax } from './softmax';
import { checkIndices } from './index-check';

/** A loss's target: a tensor of the input's shape, or one number standing for every element. */
export type LossTarget = Tensor | number;

function checkTarget(op: string, input: Tensor, target: LossTarget): void {
  if (typeof target === 'number') {
    if (!Number.isFinite(target)) throw new Error(`${op}: a number target must be finite, got ${target}`);
  } else if (input.shape.join() !== target.shape.join()) {
    throw new Error(`${op}: input ${shapeString(input.shape)} and target ${shapeString(target.shape)} must have the same shape`);
  }
}

/**
 * A loss of one kernel forward and one backward (the backend's `loss` and
 * `lossGrad`): Σ term(input, target) / divisor. `composed` is the same
 * formula from differentiable ops, taken where the kernel does not serve:
 * an empty input, a target on another backend, or a target that needs a
 * gradient `targetGrad` does not give.
 */
function fusedLoss(
  op: string,
  kind: LossKind,
  input: Tensor,
  target: LossTarget,
  composed: () => Tensor,
  targetGrad: ((g: Tensor, dx: () => Tensor) => Tensor) | null,
): Tensor {
  checkTarget(op, input, target);
  const given = typeof target === 'number' ? null : target;
  if (input.size === 0 || (given && given.backend !== input.backend) || (given?.requiresGrad && !targetGrad)) return composed();
  const be = input.backend;
  const divisor = input.size;
  // a number travels in the kernel's uniforms: no buffer for it
  const t = () => (given ? given.storageFor(op) : (target as number));
  const loss = new Tensor(be.loss(kind, input.storageFor(op), t(), divisor), []);
  return record(op, loss, given ? [input, given] : [input], (g) => {
    const dx = () => new Tensor(be.lossGrad(kind, input.storageFor(op), t(), g.storageFor(op), divisor), input.shape);
    const dInput = input.requiresGrad ? dx() : null;
    if (!given) return [dInput];
    return [dInput, given.requiresGrad ? targetGrad!(g, () => dInput ?? dx()) : null];
  });
}

/** mean((input − target)²): one kernel each way. */
export function mseLoss(input: Tensor, target: LossTarget): Tensor {
  return fusedLoss('mseLoss', 'mse', input, target, () => input.sub(target).square().mean(), (_g, dx) => dx().neg());
}

/**
 * Binary cross-entropy on logits: mean(softplus(x) − x·t), stable for any x.
 * One kernel forward and one backward, not the six dispatches the composed
 * formula takes; a target that needs a gradient gets −x·g/n, composed.
 */
export function bceWithLogits(logits: Tensor, target: LossTarget): Tensor {
  return fusedLoss(
    'bceWithLogits', 'bce', logits, target,
    () => logits.softplus().sub(logits.mul(target)).mean(),
    (g) => logits.mul(g).mul(-1 / logits.size),
  );
}

/**
 * The hinge loss mean(max(0, 1 − t·x)), targets ±1 (a GAN discriminator's:
 * 1 for real, −1 for generated). One kernel each way; a target that needs a
 * gradient takes the composed formula.
 */
export function hingeLoss(input: Tensor, target: LossTarget): Tensor {
  const composed = () => (typeof target === 'number' ? input.mul(-target) : input.mul(target).neg()).add(1).relu().mean();
  return fusedLoss('hingeLoss', 'hinge', input, target, composed, null);
}

/**
 * scale · mean(input), one kernel each way (where mean and a multiply take
 * three dispatches forward and three back): a hinge GAN's generator loss
 * −mean(D(G(z))) is scaledMean(logits, −1).
 */
export function scaledMean(input: Tensor, scale: number): Tensor {
  return fusedLoss('scaledMean', 'linear', input, scale, () => input.mean().mul(scale), null);
}

/**
 * KL(N(mean, e^logvar) ‖ N(0, 1)) = ½ Σ (mean² + e^logvar − logvar − 1),
 * summed over the last dim (a VAE's latent) and averaged over the others
 * (the batch): one kernel forward, one for both gradients.
 */
export function gaussianKl(mean: Tensor, logvar: Tensor): Tensor {
  const op = 'gaussianKl';
  if (mean.rank === 0 || mean.shape.join() !== logvar.shape.join()) {
    throw new Error(`${op}: mean ${shapeString(mean.shape)} and logvar ${shapeString(logvar.shape)} must have the same shape, of rank ≥ 1`);
  }
  const rows = mean.size / mean.shape[mean.rank - 1];
  if (mean.size === 0 || logvar.backend !== mean.backend) {
    return mean.square().add(logvar.exp()).sub(logvar).sub(1).sum(-1).mean().mul(0.5);
  }
  const be = mean.backend;
  const kl = new Tensor(be.loss('gaussianKl', mean.storageFor(op), logvar.storageFor(op), rows), []);
  return record(op, kl, [mean, logvar], (g) => {
    const grads = be.gaussianKlGrad(mean.storageFor(op), logvar.storageFor(op), g.storageFor(op), rows);
    return [new Tensor(grads.mean, mean.shape), new Tensor(grads.logvar, logvar.shape)];
  });
}

/**
 * logits: [N, C] or [N, C, d1, ...]; classIndices: [N] or [N, d1, ...] of
 * integer class ids. The mean over samples of -log softmax(logits)[class].
 */
export function crossEntropy(logits: Tensor, classIndices: Tensor): Tensor {
  const op = 'crossEntropy';
  const expected = [logits.shape[0], ...logits.shape.slice(2)];
  if (logits.rank < 2 || classIndices.shape.join() !== expected.join()) {
    throw new Error(
      `${op}: logits ${shapeString(logits.shape)} need class indices of shape ${shapeString(expected)}, ` +
        `got ${shapeString(classIndices.shape)}`,
    );
  }
  const classes = logits.shape[1];
  // One-hot by comparing each index with 0..C-1 along dim 1.
  const ids = rangeOn(logits.backend, classes);
  const idsAlongDim1 = ids.reshape([1, classes, ...new Array<number>(logits.rank - 2).fill(1)]);
  const oneHot = classIndices.unsqueeze(1).eq(idsAlongDim1);
  checkIndices(`${op} (logits ${shapeString(logits.shape)})`, classIndices, oneHot, classes);
  const picked = logSoftmax(logits, 1).mul(oneHot).sum(1);
  return picked.mean().neg();
}
