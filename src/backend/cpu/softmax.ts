// Softmax and log-softmax along the last axis of a [rows, cols] array.

// out[r, c] = exp(x[r, c]) / Σ_j exp(x[r, j])         (log: the log of that)
// x: [rows, cols] -> out: [rows, cols]
//
// Subtracting the row max first changes nothing mathematically (it cancels
// between numerator and denominator) but keeps every exp() in (0, 1], so
// large logits cannot overflow. log-softmax is computed directly as
// (x - max) - log Σ exp(x - max) rather than log(softmax), which would give
// -Infinity wherever softmax underflows to 0.
export function softmax(x: Float64Array, rows: number, cols: number, log: boolean): Float64Array {
  if (x.length !== rows * cols) {
    throw new Error(`cpu softmax: x has ${x.length} elements, [${rows}, ${cols}] needs ${rows * cols}`);
  }
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const row = r * cols;

    let max = -Infinity;
    for (let c = 0; c < cols; c++) {
      max = Math.max(max, x[row + c]!);
    }

    let sum = 0;
    for (let c = 0; c < cols; c++) {
      sum += Math.exp(x[row + c]! - max);
    }

    if (log) {
      const logSum = Math.log(sum);
      for (let c = 0; c < cols; c++) {
        out[row + c] = x[row + c]! - max - logSum;
      }
    } else {
      for (let c = 0; c < cols; c++) {
        out[row + c] = Math.exp(x[row + c]! - max) / sum;
      }
    }
  }
  return out;
}
