enable subgroups;

// Softmax and log-softmax along rows with subgroup operations, for
// adapters with the 'subgroups' feature: x, out: [rows, cols] row-major.
//
// The three passes of softmax.wgsl (the row max, Σ exp(x - max), the
// output), but each pass's WG partial results meet as in
// reduce_subgroups.wgsl: lanes combine in registers, one value per
// subgroup goes through workgroup memory, and every thread folds those few
// values itself after the barrier (so all threads have the row's max and
// sum without a broadcast round). Subgroups are consecutive runs of
// local_invocation_index (the backend checks it; see reduce_subgroups.wgsl).

struct Params {
  rows: u32,
  cols: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

override WG: u32 = 256;

var<workgroup> partial: array<f32, WG>;   // one slot per subgroup

fn is_nan(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u;
}

fn nan_max(u: f32, v: f32) -> f32 {
  return select(max(u, v), u + v, is_nan(u) || is_nan(v));
}

fn nan_exp(x: f32) -> f32 {
  return select(exp(x), x, is_nan(x));
}

// Max (take_max) or sum of v over the workgroup; every thread gets it.
fn workgroup_combine(t: u32, lane: u32, size: u32, v: f32, take_max: bool) -> f32 {
  var r: f32;
  if (take_max) {
    r = select(subgroupMax(v), v + subgroupAdd(v), subgroupAny(is_nan(v)));   // keep a NaN
  } else {
    r = subgroupAdd(v);
  }
  if (lane == 0u) { partial[t / size] = r; }
  workgroupBarrier();
  var total = partial[0];
  for (var s = 1u; s < (WG + size - 1u) / size; s++) {
    total = select(total + partial[s], nan_max(total, partial[s]), take_max);
  }
  workgroupBarrier();   // partial is reused by the next pass
  return total;
}

fn row_stats(row: u32, t: u32, lane: u32, size: u32) -> vec2f {
  let base = row * p.cols;
  var m = -0x1.fffffep+127f; // float32's lowest
  for (var c = t; c < p.cols; c += WG) { m = nan_max(m, x[base + c]); }
  m = workgroup_combine(t, lane, size, m, true);
  var s = 0.0;
  for (var c = t; c < p.cols; c += WG) { s += nan_exp(x[base + c] - m); }
  s = workgroup_combine(t, lane, size, s, false);
  return vec2f(m, s);
}

@compute @workgroup_size(WG) fn softmax(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) t: u32,
                                        @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) size: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.rows) { return; }
  let stats = row_stats(row, t, lane, size);
  let base = row * p.cols;
  for (var c = t; c < p.cols; c += WG) { out[base + c] = nan_exp(x[base + c] - stats.x) / stats.y; }
}

@compute @workgroup_size(WG) fn log_softmax(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) t: u32,
                                            @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) size: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.rows) { return; }
  let stats = row_stats(row, t, lane, size);
  let base = row * p.cols;
  let shift = stats.x + select(log(stats.y), stats.y, is_nan(stats.y));
  for (var c = t; c < p.cols; c += WG) { out[base + c] = x[base + c] - shift; }
}
