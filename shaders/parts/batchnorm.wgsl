// Batchnorm in training mode and groupnorm, fused, each with an optional
// activation after it: x, dy: [batch, channels, spatial]. The passes of
// batchnorm.wgsl and batchnorm_subgroups.wgsl, which differ only in how a
// workgroup adds its threads' partial sums (each defines
// workgroup_sum(t, lane, size, v)). Batchnorm first; groupnorm below.
//
// A workgroup owns one channel c and loops over its batch · spatial
// elements (i = t, t + WG, ...; element i is x[(i / S · C + c) · S + i % S]).
//   forward:  pass 1 the mean, pass 2 the biased variance Σ(x - mean)² / M
//             (two passes: no cancellation as in E[x²] - E[x]²), pass 3
//             z = (x - mean) · invstd · weight + bias and out = f(z), f the
//             activation ACT (parts/activation.wgsl; 0: none, out = z);
//             mean and var saved.
//   backward: dy is the gradient of out, so g = f'(z) · dy, with z
//             recomputed from x as the forward made it (nothing else is
//             saved); pass 1 Σg and Σg·x̂ (= dbias, dweight), pass 2
//             dx = weight · invstd / M · (M·g - Σg - x̂·Σg·x̂),
//             the full derivative through the batch statistics.
// One dispatch each way, instead of the chain of reductions and
// broadcasts a composed version would record, and the activation's own
// dispatch each way.

// #include activation

struct Params {
  batch: u32,
  channels: u32,
  spatial: u32,
  eps: f32,
  affine: u32,   // 0: no weight and bias (1 and 0), the bindings hold something else
  alpha: f32,    // leakyRelu's slope (ACT 2)
  groups: u32,   // groupnorm_*: groups of channels a sample's statistics are taken over
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;      // batchnorm's backward with an activation: [weight; bias]
@group(0) @binding(3) var<storage, read> bias: array<f32>;        // forward (batchnorm's backward: see backward_bias)
@group(0) @binding(4) var<storage, read> dy: array<f32>;          // backward
@group(0) @binding(5) var<storage, read_write> mean: array<f32>;  // written forward, read backward
@group(0) @binding(6) var<storage, read_write> variance: array<f32>;
@group(0) @binding(7) var<storage, read_write> out: array<f32>;   // out forward, dx backward
@group(0) @binding(8) var<storage, read_write> dweight: array<f32>;
@group(0) @binding(9) var<storage, read_write> dbias: array<f32>;

override WG: u32 = 256;

fn channel_weight(c: u32) -> f32 {
  return select(1.0, weight[c], p.affine != 0u);
}

fn channel_bias(c: u32) -> f32 {
  return select(0.0, bias[c], p.affine != 0u);
}

// The bias as batchnorm's backward reads it (only to recompute z for an
// activation): after the weight in the weight binding, [weight; bias], so
// the backward keeps to 8 storage bindings, WebGPU's default limit.
fn backward_bias(c: u32) -> f32 {
  return select(0.0, weight[p.channels + c], p.affine != 0u && ACT != 0u);
}

fn at(c: u32, i: u32) -> u32 {
  return ((i / p.spatial) * p.channels + c) * p.spatial + i % p.spatial;
}

fn forward_channel(c: u32, t: u32, lane: u32, size: u32) {
  let count = p.batch * p.spatial;
  var s = 0.0;
  for (var i = t; i < count; i += WG) { s += x[at(c, i)]; }
  let mu = workgroup_sum(t, lane, size, vec2f(s, 0.0)).x / f32(count);
  var q = 0.0;
  for (var i = t; i < count; i += WG) { let d = x[at(c, i)] - mu; q += d * d; }
  let v = workgroup_sum(t, lane, size, vec2f(q, 0.0)).x / f32(count);
  let scale = channel_weight(c) / sqrt(v + p.eps);
  let shift = channel_bias(c);
  for (var i = t; i < count; i += WG) {
    let j = at(c, i);
    out[j] = activate((x[j] - mu) * scale + shift, p.alpha);
  }
  if (t == 0u) {
    mean[c] = mu;
    variance[c] = v;
  }
}

fn backward_channel(c: u32, t: u32, lane: u32, size: u32) {
  let count = p.batch * p.spatial;
  let mu = mean[c];
  let invstd = 1.0 / sqrt(variance[c] + p.eps);
  // z as the forward computed it, for f'(z)
  let scale_z = channel_weight(c) / sqrt(variance[c] + p.eps);
  let shift = backward_bias(c);
  var sums = vec2f(0.0);   // (Σ g, Σ g · x̂)
  for (var i = t; i < count; i += WG) {
    let j = at(c, i);
    let g = activate_grad((x[j] - mu) * scale_z + shift, dy[j], p.alpha);
    sums += vec2f(g, g * (x[j] - mu) * invstd);
  }
  sums = workgroup_sum(t, lane, size, sums);
  let m = f32(count);
  let scale = channel_weight(c) * invstd / m;
  for (var i = t; i < count; i += WG) {
    let j = at(c, i);
    let g = activate_grad((x[j] - mu) * scale_z + shift, dy[j], p.alpha);
    let xhat = (x[j] - mu) * invstd;
    out[j] = scale * (m * g - sums.x - xhat * sums.y);
  }
  if (t == 0u) {
    dbias[c] = sums.x;
    dweight[c] = sums.y;
  }
}

// ---- groupnorm: statistics per (sample n, group g) over the group's
// Cg = channels / groups channels and the spatial positions. In NCHW the
// row r = n·G + g is contiguous: elements r·Cg·S + i, i < Cg·S, of channel
// g·Cg + i / S. mean and variance hold a value per row.
//   forward:  a workgroup per row: the mean and the biased variance (two
//             passes), then out = f(z), z = (x - mean)·weight[c]/σ + bias[c].
//   backward: a workgroup per row for dx, with g = f'(z)·dy and gw = g·weight[c]:
//             dx = invstd / M · (M·gw - Σgw - x̂·Σgw·x̂), M = Cg·S;
//             and a workgroup per channel (groupnorm_params) for
//             dweight[c] = Σ g·x̂ and dbias[c] = Σ g over the batch and space.

fn group_channels() -> u32 { return p.channels / p.groups; }

// The channel of element i of row r.
fn channel_in_row(r: u32, i: u32) -> u32 {
  return (r % p.groups) * group_channels() + i / p.spatial;
}

// z for element j (channel c) of a row with mean mu and variance v, as the forward makes it.
fn group_z(j: u32, c: u32, mu: f32, v: f32) -> f32 {
  return (x[j] - mu) * (channel_weight(c) / sqrt(v + p.eps)) + channel_bias(c);
}

fn group_forward_row(r: u32, t: u32, lane: u32, size: u32) {
  let count = group_channels() * p.spatial;
  let base = r * count;
  var s = 0.0;
  for (var i = t; i < count; i += WG) { s += x[base + i]; }
  let mu = workgroup_sum(t, lane, size, vec2f(s, 0.0)).x / f32(count);
  var q = 0.0;
  for (var i = t; i < count; i += WG) { let d = x[base + i] - mu; q += d * d; }
  let v = workgroup_sum(t, lane, size, vec2f(q, 0.0)).x / f32(count);
  for (var i = t; i < count; i += WG) {
    out[base + i] = activate(group_z(base + i, channel_in_row(r, i), mu, v), p.alpha);
  }
  if (t == 0u) {
    mean[r] = mu;
    variance[r] = v;
  }
}

fn group_backward_row(r: u32, t: u32, lane: u32, size: u32) {
  let count = group_channels() * p.spatial;
  let base = r * count;
  let mu = mean[r];
  let v = variance[r];
  let invstd = 1.0 / sqrt(v + p.eps);
  var sums = vec2f(0.0);   // (Σ gw, Σ gw · x̂)
  for (var i = t; i < count; i += WG) {
    let j = base + i;
    let c = channel_in_row(r, i);
    let gw = activate_grad(group_z(j, c, mu, v), dy[j], p.alpha) * channel_weight(c);
    sums += vec2f(gw, gw * (x[j] - mu) * invstd);
  }
  sums = workgroup_sum(t, lane, size, sums);
  let m = f32(count);
  for (var i = t; i < count; i += WG) {
    let j = base + i;
    let c = channel_in_row(r, i);
    let gw = activate_grad(group_z(j, c, mu, v), dy[j], p.alpha) * channel_weight(c);
    out[j] = invstd / m * (m * gw - sums.x - (x[j] - mu) * invstd * sums.y);
  }
}

fn group_params_channel(c: u32, t: u32, lane: u32, size: u32) {
  let count = p.batch * p.spatial;
  var sums = vec2f(0.0);   // (Σ g, Σ g · x̂)
  for (var i = t; i < count; i += WG) {
    let n = i / p.spatial;
    let j = (n * p.channels + c) * p.spatial + i % p.spatial;
    let r = n * p.groups + c / group_channels();
    let mu = mean[r];
    let v = variance[r];
    let g = activate_grad(group_z(j, c, mu, v), dy[j], p.alpha);
    sums += vec2f(g, g * (x[j] - mu) / sqrt(v + p.eps));
  }
  sums = workgroup_sum(t, lane, size, sums);
  if (t == 0u) {
    dbias[c] = sums.x;
    dweight[c] = sums.y;
  }
}
