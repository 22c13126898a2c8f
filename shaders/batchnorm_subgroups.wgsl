enable subgroups;

// Batchnorm in training mode with subgroup operations, for adapters with
// the 'subgroups' feature: x, dy: [batch, channels, spatial].
//
// The same fused passes as batchnorm.wgsl (a workgroup per channel; the
// forward's mean, variance and output, the backward's Σdy, Σdy·x̂ and dx),
// but each statistic's WG partial sums meet as in reduce_subgroups.wgsl:
// subgroupAdd in registers, one value per subgroup through workgroup
// memory, and every thread folds those few after one barrier, instead of
// log2(WG) barrier rounds. Subgroups are consecutive runs of
// local_invocation_index (the backend checks it; see reduce_subgroups.wgsl).

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

var<workgroup> partial: array<vec2f, WG>;   // one slot per subgroup

fn at(c: u32, i: u32) -> u32 {
  return ((i / p.spatial) * p.channels + c) * p.spatial + i % p.spatial;
}

// Sums v over the workgroup; every thread gets the total.
fn workgroup_sum(t: u32, lane: u32, size: u32, v: vec2f) -> vec2f {
  let r = subgroupAdd(v);
  if (lane == 0u) { partial[t / size] = r; }
  workgroupBarrier();
  var total = partial[0];
  for (var s = 1u; s < (WG + size - 1u) / size; s++) { total += partial[s]; }
  workgroupBarrier();   // partial is reused by the next sum
  return total;
}

@compute @workgroup_size(WG)
fn batchnorm_forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) t: u32,
                     @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) size: u32) {
  let c = wid.x + wid.y * nwg.x;   // channels past 65535 wrap into the grid's y
  if (c >= p.channels) { return; }
  let count = p.batch * p.spatial;
  var s = 0.0;
  for (var i = t; i < count; i += WG) { s += x[at(c, i)]; }
  let mu = workgroup_sum(t, lane, size, vec2f(s, 0.0)).x / f32(count);
  var q = 0.0;
  for (var i = t; i < count; i += WG) { let d = x[at(c, i)] - mu; q += d * d; }
  let v = workgroup_sum(t, lane, size, vec2f(q, 0.0)).x / f32(count);
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
fn batchnorm_backward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) t: u32,
                      @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) size: u32) {
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
  sums = workgroup_sum(t, lane, size, sums);
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
