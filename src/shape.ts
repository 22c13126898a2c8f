// Facts about shapes that every layer needs: sizes, row-major strides, how
// to print one in an error.

export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function shapeString(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** A byte count for a message: 8.00 GiB, 256 MiB, 12 bytes. */
export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} bytes` : `${value.toFixed(value < 10 ? 2 : value < 100 ? 1 : 0)} ${units[unit]}`;
}

/** The most one storage may hold on a backend (Backend.largestStorage). */
export interface StorageLimit {
  elements: number;
  bytesPerElement: number;
  limit: string;
}

/**
 * Refuses an output of `shape` that no storage on the backend can hold,
 * before anything is allocated, naming the op, the shape, the bytes and the
 * limit: a failed allocation must neither poison the device nor count
 * towards the memory in use.
 */
export function checkStorageFits(op: string, shape: readonly number[], largest: StorageLimit): void {
  const elements = shapeSize(shape);
  if (elements <= largest.elements) return;
  const bytes = elements * largest.bytesPerElement;
  throw new Error(
    `${op}: ${shapeString(shape)} is ${elements} elements (${formatBytes(bytes)}), more than one storage can hold here: ` +
      `${largest.elements} elements (${formatBytes(largest.elements * largest.bytesPerElement)}, ${largest.limit}); nothing was allocated`,
  );
}

/** Row-major strides: the last dim is contiguous. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d];
  }
  return strides;
}
