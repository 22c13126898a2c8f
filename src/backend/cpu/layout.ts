// Strided copies. One flat loop over the contiguous side, and for each
// element its place on the strided side: offset + Σ i_d * strides[d].
// gather serves permute, expand (stride 0) and slice; scatter serves pad,
// concat and the backward of slice.

// Where element `flat` of a contiguous array of `shape` sits in the strided
// one: split `flat` into per-dim indices (last dim fastest) and weigh each
// by its stride.
function stridedIndex(flat: number, shape: number[], strides: number[], offset: number): number {
  let rest = flat;
  let index = offset;
  for (let d = shape.length - 1; d >= 0; d--) {
    const i = rest % shape[d]!;
    rest = Math.floor(rest / shape[d]!);
    index += i * strides[d]!;
  }
  return index;
}

function sizeOf(shape: number[]): number {
  let size = 1;
  for (const dim of shape) size *= dim;
  return size;
}

// out[i0..ir] = x[offset + Σ i_d * strides[d]]
// x: any length -> out: shape, contiguous (rank 0 is one element)
export function gather(x: Float64Array, shape: number[], strides: number[], offset: number): Float64Array {
  if (strides.length !== shape.length) {
    throw new Error(`cpu gather: shape [${shape}] and strides [${strides}] differ in rank`);
  }
  const out = new Float64Array(sizeOf(shape));
  for (let i = 0; i < out.length; i++) {
    const source = stridedIndex(i, shape, strides, offset);
    // A Float64Array read out of range gives undefined, i.e. a silent NaN.
    if (source < 0 || source >= x.length) {
      throw new Error(`cpu gather: reads x[${source}], x has ${x.length} elements`);
    }
    out[i] = x[source]!;
  }
  return out;
}

// dst[offset + Σ i_d * strides[d]] = x[i0..ir], in place
// x: shape, contiguous; dst: any length
export function scatter(
  x: Float64Array,
  shape: number[],
  dst: Float64Array,
  strides: number[],
  offset: number,
): void {
  if (strides.length !== shape.length) {
    throw new Error(`cpu scatter: shape [${shape}] and strides [${strides}] differ in rank`);
  }
  if (x.length !== sizeOf(shape)) {
    throw new Error(`cpu scatter: x has ${x.length} elements, shape [${shape}] needs ${sizeOf(shape)}`);
  }
  // Two elements landing on one place would make the result depend on the
  // order of writes (and differ between backends), so the reference refuses.
  const written = new Uint8Array(dst.length);
  for (let i = 0; i < x.length; i++) {
    const target = stridedIndex(i, shape, strides, offset);
    if (target < 0 || target >= dst.length) {
      throw new Error(`cpu scatter: writes dst[${target}], dst has ${dst.length} elements`);
    }
    if (written[target] === 1) {
      throw new Error(`cpu scatter: two elements of x map to dst[${target}]`);
    }
    written[target] = 1;
    dst[target] = x[i]!;
  }
}
