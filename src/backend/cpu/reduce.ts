// Reductions along the last axis of a [rows, cols] array.

import type { ReduceOp } from '../backend';

// out[r] = op over c of x[r, c]                      x: [rows, cols] -> out: [rows]
// An empty row (cols = 0) gives the op's identity: 0, -Infinity or +Infinity.
export function reduce(op: ReduceOp, x: Float64Array, rows: number, cols: number): Float64Array {
  if (x.length !== rows * cols) {
    throw new Error(`cpu reduce: x has ${x.length} elements, [${rows}, ${cols}] needs ${rows * cols}`);
  }
  switch (op) {
    case 'sum':
      return sumRows(x, rows, cols);
    case 'max':
      return maxRows(x, rows, cols);
    case 'min':
      return minRows(x, rows, cols);
  }
}

function sumRows(x: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let sum = 0;
    for (let c = 0; c < cols; c++) {
      sum += x[r * cols + c]!;
    }
    out[r] = sum;
  }
  return out;
}

// A NaN anywhere in the row makes the result NaN, as in PyTorch: once `best`
// is NaN, no comparison with it is true, so it stays.
function maxRows(x: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = -Infinity;
    for (let c = 0; c < cols; c++) {
      const v = x[r * cols + c]!;
      if (v > best || Number.isNaN(v)) best = v;
    }
    out[r] = best;
  }
  return out;
}

function minRows(x: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = Infinity;
    for (let c = 0; c < cols; c++) {
      const v = x[r * cols + c]!;
      if (v < best || Number.isNaN(v)) best = v;
    }
    out[r] = best;
  }
  return out;
}
