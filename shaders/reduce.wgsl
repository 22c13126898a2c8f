// Row reductions: out[r] = op over c of x[r, c], x: [rows, cols] row-major.
//
// Long rows (sum, max_op, min_op): a workgroup owns one row (rows beyond
// 65535 wrap into the grid's y). Each of its WG threads folds a strided
// share of the columns (c = t, t + WG, ...), so reads are coalesced across
// the workgroup; the WG partial results then meet in a tree in workgroup
// memory (log2(WG) steps).
// Short rows (sum_short, max_short, min_short): one thread owns one row and
// folds it alone, WG rows to a workgroup. A gradient summed over a
// broadcast (a bias, a per-channel shift: 64 rows of 256, say) would
// otherwise give each row WG threads that mostly idle through log2(WG)
// barriers: on SwiftShader, a CPU, that cost 10× the arithmetic.
// Reductions over other dims are first made rows by a gather (permute).
// WG must be a power of two.

struct Params {
  rows: u32,
  cols: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

override WG: u32 = 256;

var<workgroup> partial: array<f32, WG>;

// Infinity by its bits, from a var: as a constant WGSL rejects it.
fn f32_from_bits(bits: u32) -> f32 {
  var b = bits;
  return bitcast<f32>(b);
}

// op: 0 sum, 1 max, 2 min. A compile-time value in each entry point below,
// so the branch folds away.
// max and min keep a NaN, as PyTorch's do (WGSL's may return either operand):
// where one is NaN, u + v is NaN.
fn combine(op: u32, u: f32, v: f32) -> f32 {
  let either_nan = is_nan(u) || is_nan(v);
  if (op == 1u) { return select(max(u, v), u + v, either_nan); }
  if (op == 2u) { return select(min(u, v), u + v, either_nan); }
  return u + v;
}

// By the bits, since WGSL lets a compiler assume that x != x is false.
fn is_nan(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u;
}

// The identity of each op; an empty max is -inf and an empty min +inf, as in NumPy.
fn identity(op: u32) -> f32 {
  if (op == 1u) { return f32_from_bits(0xff800000u); }
  if (op == 2u) { return f32_from_bits(0x7f800000u); }
  return 0.0;
}

fn reduce_row(op: u32, row: u32, t: u32) {
  var acc = identity(op);
  let base = row * p.cols;
  for (var c = t; c < p.cols; c += WG) {
    acc = combine(op, acc, x[base + c]);
  }
  partial[t] = acc;
  workgroupBarrier();
  for (var half = WG / 2u; half > 0u; half /= 2u) {
    if (t < half) {
      partial[t] = combine(op, partial[t], partial[t + half]);
    }
    workgroupBarrier();
  }
  if (t == 0u) {
    out[row] = partial[0];
  }
}

@compute @workgroup_size(WG) fn sum(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) t: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.rows) { return; }
  reduce_row(0u, row, t);
}

@compute @workgroup_size(WG) fn max_op(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) t: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.rows) { return; }
  reduce_row(1u, row, t);
}

@compute @workgroup_size(WG) fn min_op(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) t: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.rows) { return; }
  reduce_row(2u, row, t);
}

fn reduce_short(op: u32, row: u32) {
  var acc = identity(op);
  let base = row * p.cols;
  for (var c = 0u; c < p.cols; c++) {
    acc = combine(op, acc, x[base + c]);
  }
  out[row] = acc;
}

@compute @workgroup_size(WG) fn sum_short(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let row = gid.x + gid.y * nwg.x * WG;
  if (row >= p.rows) { return; }
  reduce_short(0u, row);
}

@compute @workgroup_size(WG) fn max_short(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let row = gid.x + gid.y * nwg.x * WG;
  if (row >= p.rows) { return; }
  reduce_short(1u, row);
}

@compute @workgroup_size(WG) fn min_short(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let row = gid.x + gid.y * nwg.x * WG;
  if (row >= p.rows) { return; }
  reduce_short(2u, row);
}
