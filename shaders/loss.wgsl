// Losses as one kernel each way, where loss.ts would otherwise compose
// them from five or six elementwise and reduction dispatches.
//
//   bce_with_logits:       out[0] = mean over i of softplus(x[i]) - x[i]·t[i],
//                          softplus(x) = max(x, 0) + log(1 + e^-|x|) (no overflow);
//                          one workgroup: each thread folds a strided share
//                          of the n elements, the WG partial sums meet in a tree
//   bce_with_logits_grad:  dx[i] = (sigmoid(x[i]) - t[i]) · g[0] / n, one thread an element
//
// A loss is a scalar over a batch (n in the tens to thousands), so one
// workgroup is enough for the forward. WG must be a power of two.

struct Params {
  n: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> t: array<f32>;
@group(0) @binding(3) var<storage, read> g: array<f32>;   // grad: [1], the loss's gradient
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

override WG: u32 = 64;

var<workgroup> partial: array<f32, WG>;

fn softplus(v: f32) -> f32 {
  return max(v, 0.0) + log(1.0 + exp(-abs(v)));
}

fn sigmoid(v: f32) -> f32 {
  if (v >= 0.0) { return 1.0 / (1.0 + exp(-v)); }
  let e = exp(v);
  return e / (1.0 + e);
}

@compute @workgroup_size(WG) fn bce_with_logits(@builtin(local_invocation_index) lane: u32) {
  var acc = 0.0;
  for (var i = lane; i < p.n; i += WG) {
    let v = x[i];
    acc += softplus(v) - v * t[i];
  }
  partial[lane] = acc;
  workgroupBarrier();
  for (var half = WG / 2u; half > 0u; half /= 2u) {
    if (lane < half) { partial[lane] += partial[lane + half]; }
    workgroupBarrier();
  }
  if (lane == 0u) { out[0] = partial[0] / f32(p.n); }
}

@compute @workgroup_size(WG) fn bce_with_logits_grad(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  out[i] = (sigmoid(x[i]) - t[i]) * g[0] / f32(p.n);
}
