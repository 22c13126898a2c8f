// Losses as one kernel each way, where loss.ts would otherwise compose
// them from three to eight elementwise and reduction dispatches.
//
//   loss:         out[0] = Σ_i term(x[i], t[i]) / p.divisor, LOSS picking the term:
//                   0 bce with logits  softplus(x) − x·t, softplus(x) = max(x, 0) + log(1 + e^−|x|)
//                   1 squared error    (x − t)²
//                   2 hinge            max(0, 1 − t·x)         (t = ±1)
//                   3 Gaussian KL      ½(x² + e^t − t − 1)     (x the mean, t the log-variance)
//                   4 linear           x·t                     (t = −1: a hinge GAN's generator loss)
//                 one workgroup: each thread folds a strided share of the n
//                 elements, the partial sums meet in a tree
//   loss_grad:    out[i] = d term / dx at i · g[0] / p.divisor, one thread an element
//   kl_grad:      out[i] = x[i] · g[0] / p.divisor, out2[i] = ½(e^t[i] − 1) · g[0] / p.divisor:
//                 the Gaussian KL's two gradients in one pass
//
// The target is t[i], or with p.scalar one value for every element,
// p.value (a GAN's "real" or "fake": no buffer made for it). A loss is a scalar over a batch (n in the tens
// to thousands), so one workgroup is enough for the forward. WG must be a
// power of two.

struct Params {
  n: u32,
  scalar: u32,   // 1: the target is p.value, t is not read
  value: f32,
  divisor: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> t: array<f32>;
@group(0) @binding(3) var<storage, read> g: array<f32>;   // grad: [1], the loss's gradient
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<storage, read_write> out2: array<f32>;

override WG: u32 = 64;
override LOSS: u32 = 0;

// #include workgroup_sum

fn softplus(v: f32) -> f32 {
  return max(v, 0.0) + log(1.0 + exp(-abs(v)));
}

fn sigmoid(v: f32) -> f32 {
  if (v >= 0.0) { return 1.0 / (1.0 + exp(-v)); }
  let e = exp(v);
  return e / (1.0 + e);
}

fn term(v: f32, u: f32) -> f32 {
  switch LOSS {
    case 1u: { return (v - u) * (v - u); }
    case 2u: { return max(0.0, 1.0 - u * v); }
    case 3u: { return 0.5 * (v * v + exp(u) - u - 1.0); }
    case 4u: { return v * u; }
    default: { return softplus(v) - v * u; }
  }
}

fn term_grad(v: f32, u: f32) -> f32 {
  switch LOSS {
    case 1u: { return 2.0 * (v - u); }
    case 2u: { return select(0.0, -u, 1.0 - u * v > 0.0); }
    case 3u: { return v; }
    case 4u: { return u; }
    default: { return sigmoid(v) - u; }
  }
}

fn target_at(i: u32) -> f32 {
  if (p.scalar != 0u) { return p.value; }
  return t[i];
}

@compute @workgroup_size(WG) fn loss(@builtin(local_invocation_index) lane: u32) {
  var acc = 0.0;
  for (var i = lane; i < p.n; i += WG) {
    acc += term(x[i], target_at(i));
  }
  let total = workgroup_sum(lane, 0u, 1u, vec2f(acc, 0.0)).x;
  if (lane == 0u) { out[0] = total / p.divisor; }
}

fn element(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

@compute @workgroup_size(WG) fn loss_grad(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = element(gid, nwg);
  if (i >= p.n) { return; }
  out[i] = term_grad(x[i], target_at(i)) * g[0] / p.divisor;
}

@compute @workgroup_size(WG) fn kl_grad(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = element(gid, nwg);
  if (i >= p.n) { return; }
  let scale = g[0] / p.divisor;
  out[i] = x[i] * scale;
  out2[i] = 0.5 * (exp(t[i]) - 1.0) * scale;
}
