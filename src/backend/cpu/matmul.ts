// Batched matrix product, the textbook triple loop, accumulated in float64.

import type { MatmulArgs } from '../backend';

// out[b, i, j] = Σ_p A[b][i, p] · B[b][p, j]
// a: [batch, m, k], or [batch, k, m] stored when transA (so A = aᵀ)
// b: [batch, k, n], or [batch, n, k] stored when transB (so B = bᵀ)
// -> out: [batch, m, n], contiguous
// Batch entry t of a starts at t * aBatchStride (0: one matrix shared by all
// entries, as when a weight multiplies a batch); likewise b.
export function matmul(a: Float64Array, b: Float64Array, args: MatmulArgs): Float64Array {
  const { batch, m, n, k, transA, transB, aBatchStride, bBatchStride } = args;
  checkOperand('a', a.length, batch, aBatchStride, m * k);
  checkOperand('b', b.length, batch, bBatchStride, k * n);

  const out = new Float64Array(batch * m * n);
  for (let t = 0; t < batch; t++) {
    const aStart = t * aBatchStride;
    const bStart = t * bBatchStride;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let sum = 0;
        for (let p = 0; p < k; p++) {
          // A[i, p] lives at row i, column p of a, or at row p, column i
          // when a holds Aᵀ; the same for B[p, j].
          const aValue = transA ? a[aStart + p * m + i]! : a[aStart + i * k + p]!;
          const bValue = transB ? b[bStart + j * k + p]! : b[bStart + p * n + j]!;
          sum += aValue * bValue;
        }
        out[(t * m + i) * n + j] = sum;
      }
    }
  }
  return out;
}

// The last batch entry must fit inside the storage.
function checkOperand(name: string, length: number, batch: number, batchStride: number, matrixSize: number): void {
  const needed = batch === 0 || matrixSize === 0 ? 0 : (batch - 1) * batchStride + matrixSize;
  if (length < needed) {
    throw new Error(`cpu matmul: ${name} has ${length} elements, needs at least ${needed}`);
  }
}
