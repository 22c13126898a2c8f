// Strided copies: the one kernel behind permute, expand, slice, pad and concat.
//
//   gather   out[i] = src[offset + Σ_d coord_d(i) * strides[d]]   (out contiguous)
//   scatter  dst[offset + Σ_d coord_d(i) * strides[d]] = src[i]   (src contiguous)
//
// i runs over the elements of `shape` (rank <= 8, innermost last) and
// coord_d(i) are its coordinates. A stride of 0 repeats an element (expand);
// permuted strides transpose; an offset plus strides of a region select or
// fill a window (slice, pad, concat). One invocation per element.

struct Params {
  n: u32,
  rank: u32,
  offset: u32,
  shape: array<vec4u, 2>,
  strides: array<vec4u, 2>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

override WG: u32 = 256;

fn strided_position(i: u32) -> u32 {
  var rest = i;
  var pos = p.offset;
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let size = p.shape[d / 4][d % 4];
    pos += (rest % size) * p.strides[d / 4][d % 4];
    rest = rest / size;
  }
  return pos;
}

@compute @workgroup_size(WG) fn gather(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  dst[i] = src[strided_position(i)];
}

@compute @workgroup_size(WG) fn scatter(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  dst[strided_position(i)] = src[i];
}
