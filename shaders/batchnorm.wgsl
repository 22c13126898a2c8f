// Batchnorm in training mode, fused: x, dy: [batch, channels, spatial].
//
// A workgroup owns one channel c and loops over its batch · spatial
// elements (i = t, t + WG, ...; element i is x[(i / S · C + c) · S + i % S]),
// finishing each pass with a tree in workgroup memory.
//   forward:  pass 1 the mean, pass 2 the biased variance Σ(x - mean)² / M
//             (two passes: no cancellation as in E[x²] - E[x]²), pass 3
//             out = (x - mean) · invstd · weight + bias; mean and var saved.
//   backward: pass 1 Σdy and Σdy·x̂ (= dbias, dweight), pass 2
//             dx = weight · invstd / M · (M·dy - Σdy - x̂·Σdy·x̂),
//             the full derivative through the batch statistics.
// One dispatch each way, instead of the chain of reductions and
// broadcasts a composed version would record.

struct Params {
  batch: u32,
  channels: u32,
  spatial: u32,
  eps: f32,
  affine: u32,   // 0: no weight and bias (1 and 0), the bindings hold something else
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;        // forward
@group(0) @binding(4) var<storage, read> dy: array<f32>;          // backward
@group(0) @binding(5) var<storage, read_write> mean: array<f32>;  // written forward, read backward
@group(0) @binding(6) var<storage, read_write> variance: array<f32>;
@group(0) @binding(7) var<storage, read_write> out: array<f32>;   // y forward, dx backward
@group(0) @binding(8) var<storage, read_write> dweight: array<f32>;
@group(0) @binding(9) var<storage, read_write> dbias: array<f32>;

override WG: u32 = 256;

fn channel_weight(c: u32) -> f32 {
  return select(1.0, weight[c], p.affine != 0u);
}

var<workgroup> partial: array<vec2f, WG>;

fn at(c: u32, i: u32) -> u32 {
  return ((i / p.spatial) * p.channels + c) * p.spatial + i % p.spatial;
}

// Sums v over the workgroup; every thread gets the total.
fn workgroup_sum(t: u32, v: vec2f) -> vec2f {
  partial[t] = v;
  workgroupBarrier();
  for (var half = WG / 2u; half > 0u; half /= 2u) {
    if (t < half) { partial[t] += partial[t + half]; }
    workgroupBarrier();
  }
  let total = partial[0];
  workgroupBarrier();
  return total;
}

@compute @workgroup_size(WG)
fn batchnorm_forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) t: u32) {
  let c = wid.x + wid.y * nwg.x;   // channels past 65535 wrap into the grid's y
  if (c >= p.channels) { return; }
  let count = p.batch * p.spatial;
  var s = 0.0;
  for (var i = t; i < count; i += WG) { s += x[at(c, i)]; }
  let mu = workgroup_sum(t, vec2f(s, 0.0)).x / f32(count);
  var q = 0.0;
  for (var i = t; i < count; i += WG) { let d = x[at(c, i)] - mu; q += d * d; }
  let v = workgroup_sum(t, vec2f(q, 0.0)).x / f32(count);
  let scale = channel_weight(c) / sqrt(v + p.eps);
  let shift = select(0.0, bias[c], p.affine != 0u);
  for (var i = t; i < count; i += WG) {
    let j = at(c, i);
    out[j] = (x[j] - mu) * scale + shift;
  }
  if (t == 0u) {
    mean[c] = mu;
    variance[c] = v;
  }
}

@compute @workgroup_size(WG)
fn batchnorm_backward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) t: u32) {
  let c = wid.x + wid.y * nwg.x;   // channels past 65535 wrap into the grid's y
  if (c >= p.channels) { return; }
  let count = p.batch * p.spatial;
  let mu = mean[c];
  let invstd = 1.0 / sqrt(variance[c] + p.eps);
  var sums = vec2f(0.0);   // (Σ dy, Σ dy · x̂)
  for (var i = t; i < count; i += WG) {
    let j = at(c, i);
    sums += vec2f(dy[j], dy[j] * (x[j] - mu) * invstd);
  }
  sums = workgroup_sum(t, sums);
  let m = f32(count);
  let scale = channel_weight(c) * invstd / m;
  for (var i = t; i < count; i += WG) {
    let j = at(c, i);
    let xhat = (x[j] - mu) * invstd;
    out[j] = scale * (m * dy[j] - sums.x - xhat * sums.y);
  }
  if (t == 0u) {
    dbias[c] = sums.x;
    dweight[c] = sums.y;
  }
}
