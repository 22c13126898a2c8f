// Softmax and log-softmax along one dim: one fused kernel over rows (max,
// Σ exp, normalize); a dim that is not the innermost is moved there and back.
import { Tensor } from '../tensor';
import { record } from '../autograd';
import { normalizeDim } from './shape';

function alongLastDim(x: Tensor, dim: number, log: boolean): Tensor {
  const op = log ? 'logSoftmax' : 'softmax';
  const cols = x.shape[x.rank - 1] ?? 1;
  const rows = cols === 0 ? 0 : x.size / cols;
  return new Tensor(x.backend.softmax(x.storageFor(op), rows, cols, log), x.shape);
}

function softmaxFamily(x: Tensor, dim: number, log: boolean): Tensor {
  const op = log ? 'logSoftmax' : 'softmax';
  const d = normalizeDim(op, dim, Math.max(x.rank, 1));
  if (x.rank > 0 && d !== x.rank - 1) {
    return softmaxFamily(x.transpose(d, -1), -1, log).transpose(d, -1);
  }
  const y = alongLastDim(x, d, log);
  return record(op, y, [x], (g) => {
    if (log) {
      // d/dx log softmax: g - softmax(x) · Σ g
      return [g.sub(y.exp().mul(g.sum(-1, true)))];
    }
    // d/dx softmax: y · (g - Σ g·y)
    return [y.mul(g.sub(g.mul(y).sum(-1, true)))];
  });
}

export const softmax = (x: Tensor, dim = -1) => softmaxFamily(x, dim, false);
export const logSoftmax = (x: Tensor, dim = -1) => softmaxFamily(x, dim, true);
