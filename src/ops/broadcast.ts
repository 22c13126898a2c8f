// NumPy broadcasting: the shape two operands meet at, and the reverse step
// a gradient needs (sum over the dims an input was stretched along).
import { Tensor, shapeString } from '../tensor';

export function broadcastShapes(op: string, a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new Error(
        `${op}: shapes ${shapeString(a)} and ${shapeString(b)} cannot be broadcast together ` +
          `(dim ${i - rank}: ${da} vs ${db})`,
      );
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** `shape` padded with leading 1s to `rank` dims. */
export function padShape(shape: readonly number[], rank: number): number[] {
  return [...new Array<number>(rank - shape.length).fill(1), ...shape];
}

/** Sums `g` over the dims along which `shape` was broadcast to g's shape. */
export function unbroadcast(g: Tensor, shape: readonly number[]): Tensor {
  if (g.shape.join() === shape.join()) return g;
  const lead = g.rank - shape.length;
  const dims: number[] = [];
  for (let d = 0; d < g.rank; d++) {
    if (d < lead || (shape[d - lead] === 1 && g.shape[d] !== 1)) dims.push(d);
  }
  const summed = dims.length > 0 ? g.sum(dims, true) : g;
  return summed.reshape([...shape]);
}
