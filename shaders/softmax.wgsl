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

// Tree-combine partial[] (max when take_max, else sum); every thread gets the result.
fn workgroup_combine(t: u32, v: f32, take_max: bool) -> f32 {
  partial[t] = v;
  workgroupBarrier();
  for (var half = WG / 2u; half > 0u; half /= 2u) {
    if (t < half) {
      let other = partial[t + half];
      partial[t] = select(partial[t] + other, max(partial[t], other), take_max);
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
  for (var c = t; c < p.cols; c += WG) { m = max(m, x[base + c]); }
  m = workgroup_combine(t, m, true);
  var s = 0.0;
  for (var c = t; c < p.cols; c += WG) { s += exp(x[base + c] - m); }
  s = workgroup_combine(t, s, false);
  return vec2f(m, s);
}

@compute @workgroup_size(WG) fn softmax(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) t: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.rows) { return; }
  let stats = row_stats(row, t);
  let base = row * p.cols;
  for (var c = t; c < p.cols; c += WG) { out[base + c] = exp(x[base + c] - stats.x) / stats.y; }
}

@compute @workgroup_size(WG) fn log_softmax(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) t: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.rows) { return; }
  let stats = row_stats(row, t);
  let base = row * p.cols;
  let shift = stats.x + log(stats.y);
  for (var c = t; c < p.cols; c += WG) { out[base + c] = x[base + c] - shift; }
}
