// Softmax and log-softmax along rows: x, out: [rows, cols] row-major.
//
// A workgroup owns one row and makes three passes over it, each spread over
// its WG threads (c = t, t + WG, ...) and finished by a tree in workgroup
// memory: the row max, then Σ exp(x - max), then the output. Subtracting the
// max keeps exp from overflowing; log-softmax is x - max - log Σ, which is
// exact where log(softmax) would underflow to -inf.

struct Params {
  rows: u32,
  cols: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

override WG: u32 = 256;

var<workgroup> partial: array<f32, WG>;

// max that keeps a NaN (WGSL's may return either operand), so a row with a
// NaN softmaxes to NaN everywhere, as PyTorch's does.
fn nan_max(u: f32, v: f32) -> f32 {
  return select(max(u, v), u + v, is_nan(u) || is_nan(v));
}

// exp that keeps a NaN (SwiftShader's turns it into +inf).
fn nan_exp(x: f32) -> f32 {
  return select(exp(x), x, is_nan(x));
}

// By the bits, since WGSL lets a compiler assume that x != x is false.
fn is_nan(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u;
}

// Tree-combine partial[] (max when take_max, else sum); every thread gets the result.
fn workgroup_combine(t: u32, v: f32, take_max: bool) -> f32 {
  partial[t] = v;
  workgroupBarrier();
  for (var half = WG / 2u; half > 0u; half /= 2u) {
    if (t < half) {
      let other = partial[t + half];
      partial[t] = select(partial[t] + other, nan_max(partial[t], other), take_max);
    }
    workgroupBarrier();
  }
  let r = partial[0];
  workgroupBarrier();
  return r;
}

fn row_stats(row: u32, t: u32) -> vec2f {
  let base = row * p.cols;
  var m = -0x1.fffffep+127f; // float32's lowest
  for (var c = t; c < p.cols; c += WG) { m = nan_max(m, x[base + c]); }
  m = workgroup_combine(t, m, true);
  var s = 0.0;
  for (var c = t; c < p.cols; c += WG) { s += nan_exp(x[base + c] - m); }
  s = workgroup_combine(t, s, false);
  return vec2f(m, s);
}

@compute @workgroup_size(WG) fn softmax(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) t: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.rows) { return; }
  let stats = row_stats(row, t);
  let base = row * p.cols;
  for (var c = t; c < p.cols; c += WG) { out[base + c] = nan_exp(x[base + c] - stats.x) / stats.y; }
}

@compute @workgroup_size(WG) fn log_softmax(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) t: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.rows) { return; }
  let stats = row_stats(row, t);
  let base = row * p.cols;
  let shift = stats.x + select(log(stats.y), stats.y, is_nan(stats.y));
  for (var c = t; c < p.cols; c += WG) { out[base + c] = x[base + c] - shift; }
}
