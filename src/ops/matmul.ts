// Matrix products with PyTorch's rules: 1-D operands become a row / a
// column and lose that dim again; leading (batch) dims broadcast. The
// backend multiplies with either operand read transposed in place, so the
// backward passes (dA = dC·Bᵀ, dB = Aᵀ·dC) never copy a transpose.
import type { Backend, Epilogue, Storage } from '../backend/backend';
import { Tensor, shapeSize, shapeString } from '../tensor';
import { record } from '../autograd';
import { broadcastShapes, unbroadcast } from './broadcast';
import { checkStorageFits } from '../shape';

/**
 * a: [...batchA, m, k] (stored [..., k, m] when transA)
 * b: [...batchB, k, n] (stored [..., n, k] when transB)
 * -> [...broadcast(batchA, batchB), m, n]. No autograd.
 */
export function matmulRaw(a: Tensor, b: Tensor, transA: boolean, transB: boolean): Tensor {
  const { storage, shape } = productStorage(a, b, transA, transB, null);
  return new Tensor(storage, shape);
}

/** matmulRaw's product as a storage and its shape, with an epilogue (bias per column, activation) when given. */
export function productStorage(a: Tensor, b: Tensor, transA: boolean, transB: boolean, epilogue: Epilogue | null): { storage: Storage; shape: number[] } {
  const op = 'matmul';
  const { m, n, k, batchShape } = productShape(a.shape, b.shape, transA, transB);
  if (a.backend !== b.backend) throw new Error('matmul: operands are on different backends');
  const batchA = a.shape.slice(0, -2);
  const batchB = b.shape.slice(0, -2);
  const batch = shapeSize(batchShape);
  const backend: Backend = a.backend;
  checkStorageFits(op, [...batchShape, m, n], backend.largestStorage);

  // Each operand either holds the whole batch, or one matrix shared by it
  // (stride 0); a batch that only partly broadcasts is expanded first.
  const temporaries: Tensor[] = [];
  const operand = (t: Tensor, own: number[]): { storage: Storage; stride: number } => {
    const matrix = t.shape[t.rank - 2] * t.shape[t.rank - 1];
    if (shapeSize(own) === 1) return { storage: t.storageFor(op), stride: 0 };
    if (own.join() === batchShape.join()) return { storage: t.storageFor(op), stride: matrix };
    const full = t.expand([...batchShape, ...t.shape.slice(-2)]);
    temporaries.push(full);
    return { storage: full.storageFor(op), stride: matrix };
  };
  const A = operand(a, batchA);
  const B = operand(b, batchB);
  const out = backend.matmul(A.storage, B.storage, {
    batch, m, n, k, transA, transB, aBatchStride: A.stride, bBatchStride: B.stride,
  }, epilogue);
  for (const t of temporaries) t.dispose();
  return { storage: out, shape: [...batchShape, m, n] };
}

/** m, n, k and the batch shape of a product, or an error naming both shapes. */
function productShape(aShape: number[], bShape: number[], transA: boolean, transB: boolean) {
  const [ra, ca] = aShape.slice(-2);
  const [rb, cb] = bShape.slice(-2);
  const [m, k] = transA ? [ca, ra] : [ra, ca];
  const [kb, n] = transB ? [cb, rb] : [rb, cb];
  if (k !== kb) {
    throw new Error(
      `matmul: shapes ${shapeString(aShape)}${transA ? 'ᵀ' : ''} and ${shapeString(bShape)}${transB ? 'ᵀ' : ''} ` +
        `cannot be multiplied (inner dims ${k} and ${kb} differ)`,
    );
  }
  const batchShape = broadcastShapes('matmul', aShape.slice(0, -2), bShape.slice(0, -2));
  return { m, n, k, batchShape };
}

export function matmul(a: Tensor, b: Tensor): Tensor {
  if (a.rank === 0 || b.rank === 0) {
    throw new Error(`matmul: both operands need at least one dim, got ${shapeString(a.shape)} and ${shapeString(b.shape)}`);
  }
  // Check first, so a bad pair fails before any temporary is made.
  const ka = a.shape[a.rank - 1];
  const kb = b.shape[Math.max(b.rank - 2, 0)];
  if (ka !== kb) {
    throw new Error(
      `matmul: shapes ${shapeString(a.shape)} and ${shapeString(b.shape)} cannot be multiplied (inner dims ${ka} and ${kb} differ)`,
    );
  }
  broadcastShapes('matmul', a.shape.slice(0, -2), b.shape.slice(0, -2));
  // 1-D operands: a vector on the left is a row, on the right a column.
  if (a.rank === 1 && b.rank === 1) return matmul(a.unsqueeze(0), b.unsqueeze(1)).reshape([]);
  if (a.rank === 1) return matmul(a.unsqueeze(0), b).squeeze(-2);
  if (b.rank === 1) return matmul(a, b.unsqueeze(1)).squeeze(-1);

  const out = matmulRaw(a, b, false, false);
  return record('matmul', out, [a, b], (g) => [
    a.requiresGrad ? unbroadcast(matmulRaw(g, b, false, true), a.shape) : null,
    b.requiresGrad ? weightGrad(a, g, b.shape) : null,
  ]);
}

/** dB = Aᵀ·dC summed to b's shape; a shared 2-D b folds the batch into k. */
function weightGrad(a: Tensor, g: Tensor, bShape: number[]): Tensor {
  if (bShape.length === 2 && a.rank > 2) {
    // [batch, m, k] → [batch·m, k]: Σ_batch Aᵀ·dC is one product.
    const k = a.shape[a.rank - 1];
    const n = g.shape[g.rank - 1];
    const a2 = a.reshape([-1, k]);
    const g2 = g.reshape([-1, n]);
    return matmulRaw(a2, g2, true, false);
  }
  return unbroadcast(matmulRaw(a, g, true, false), bShape);
}
