// Losses, each the mean over all elements (PyTorch's reduction='mean'):
// composed from differentiable ops so their gradients come for free, except
// bceWithLogits, one kernel each way.
import { Tensor, shapeString } from '../tensor';
import { record } from '../autograd';
import { rangeOn } from './creation';
import { logSoftmax } from './softmax';
import { checkIndices } from './index-check';

function sameShape(op: string, a: Tensor, b: Tensor): void {
  if (a.shape.join() !== b.shape.join()) {
    throw new Error(`${op}: input ${shapeString(a.shape)} and target ${shapeString(b.shape)} must have the same shape`);
  }
}

export function mseLoss(pred: Tensor, target: Tensor): Tensor {
  sameShape('mseLoss', pred, target);
  return pred.sub(target).square().mean();
}

/**
 * Binary cross-entropy on logits: mean(softplus(x) - x·t), stable for any x.
 * One kernel forward and one backward (the backend's bceWithLogits), not the
 * six dispatches the composed formula takes; a target that needs a gradient
 * gets -x·g/n, composed.
 */
export function bceWithLogits(logits: Tensor, target: Tensor): Tensor {
  const op = 'bceWithLogits';
  sameShape(op, logits, target);
  if (logits.size === 0 || target.backend !== logits.backend) return logits.softplus().sub(logits.mul(target)).mean();
  const loss = new Tensor(logits.backend.bceWithLogits(logits.storageFor(op), target.storageFor(op)), []);
  return record(op, loss, [logits, target], (g) => [
    logits.requiresGrad ? new Tensor(logits.backend.bceWithLogitsGrad(logits.storageFor(op), target.storageFor(op), g.storageFor(op)), logits.shape) : null,
    target.requiresGrad ? logits.mul(g).mul(-1 / logits.size) : null,
  ]);
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
