// Optimizer steps, fused: one dispatch updates one parameter, its gradient
// and its state in a single pass over memory, one invocation per element
// (instead of the five to ten elementwise dispatches a composed update
// records). The rules are PyTorch's, step for step:
//
//   sgd:   g = grad + weight_decay·p
//          buf = g on the first step, else momentum·buf + (1 - dampening)·g
//          g = g + momentum·buf (nesterov) or buf;   p -= lr·g
//   adam:  t = step + 1, written to step_out (a second buffer: the
//          invocations of one dispatch run in no set order, so the count
//          they all read must not be the one being written)
//          AdamW: p *= 1 - lr·weight_decay;  Adam: g = grad + weight_decay·p
//          m = β1·m + (1 - β1)·g;  v = β2·v + (1 - β2)·g²
//          p -= lr / (1 - β1^t) · m / (sqrt(v) / sqrt(1 - β2^t) + eps)
//          adam_packed: the same over many parameters packed in one buffer, one dispatch
//   ema:   p = decay·p + (1 - decay)·scale·source   (an exponential moving average of weights)
//   running_stats: batchnorm's running statistics after a training batch, in
//          one dispatch: running_mean (param) and running_var (buf) as ema
//          with the batch mean (source) and variance (grad, taken × scale =
//          n/(n - 1)), and num_batches_tracked (step_out, [1]) + 1

struct Params {
  n: u32,
  lr: f32,
  weight_decay: f32,
  momentum: f32,     // sgd
  dampening: f32,    // sgd
  nesterov: u32,     // sgd
  first_step: u32,   // sgd: the momentum buffer starts as the gradient
  beta1: f32,        // adam
  beta2: f32,        // adam
  eps: f32,          // adam
  decoupled: u32,    // adam: 1 for AdamW's decoupled weight decay
  decay: f32,        // ema
  scale: f32,        // ema: the source's factor (1 for weights; n/(n-1) for a running variance)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read> step: array<f32>;          // adam: [1], the steps taken before this one
@group(0) @binding(3) var<storage, read_write> param: array<f32>;
@group(0) @binding(4) var<storage, read_write> buf: array<f32>;     // sgd momentum / adam m
@group(0) @binding(5) var<storage, read_write> buf2: array<f32>;    // adam v
@group(0) @binding(6) var<storage, read_write> step_out: array<f32>; // adam: [1], the steps taken after this one
@group(0) @binding(7) var<storage, read> source: array<f32>;        // ema: the weights being averaged
@group(0) @binding(8) var<storage, read> segment: array<f32>;       // adam_packed: each element's step-count offset

override WG: u32 = 256;

fn flat_index(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

@compute @workgroup_size(WG) fn sgd(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg);
  if (i >= p.n) { return; }
  var g = grad[i] + p.weight_decay * param[i];
  if (p.momentum != 0.0) {
    var b = g;
    if (p.first_step == 0u) { b = p.momentum * buf[i] + (1.0 - p.dampening) * g; }
    buf[i] = b;
    g = select(b, g + p.momentum * b, p.nesterov != 0u);
  }
  param[i] -= p.lr * g;
}

@compute @workgroup_size(WG) fn sgd_plain(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  // no momentum: no buffer bound
  let i = flat_index(gid, nwg);
  if (i >= p.n) { return; }
  param[i] -= p.lr * (grad[i] + p.weight_decay * param[i]);
}

// b^t for b in [0, 1), t ≥ 1; WGSL leaves pow(0, t) undefined.
fn power(b: f32, t: f32) -> f32 {
  return select(pow(b, t), 0.0, b == 0.0);
}

@compute @workgroup_size(WG) fn adam(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg);
  if (i >= p.n) { return; }
  let t = step[0] + 1.0;
  if (i == 0u) { step_out[0] = t; }
  adam_element(i, t);
}

// Adam over a pack of parameters (src/nn/optim.ts packs them): param,
// grad, buf and buf2 hold every parameter at the same offsets, and
// segment[i] is where element i's parameter keeps its step count in
// step / step_out, so each keeps its own count as PyTorch's do. The first
// element of a parameter writes its count; padding between parameters
// holds zeros throughout and stays zero.
@compute @workgroup_size(WG) fn adam_packed(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg);
  if (i >= p.n) { return; }
  let at = u32(segment[i]);
  let t = step[at] + 1.0;
  if (i == 0u || u32(segment[i - 1u]) != at) { step_out[at] = t; }
  adam_element(i, t);
}

fn adam_element(i: u32, t: f32) {
  var w = param[i];
  var g = grad[i];
  if (p.decoupled != 0u) { w *= 1.0 - p.lr * p.weight_decay; } else { g += p.weight_decay * w; }
  let m = p.beta1 * buf[i] + (1.0 - p.beta1) * g;
  let v = p.beta2 * buf2[i] + (1.0 - p.beta2) * g * g;
  buf[i] = m;
  buf2[i] = v;
  let step_size = p.lr / (1.0 - power(p.beta1, t));
  let denom = sqrt(v) / sqrt(1.0 - power(p.beta2, t)) + p.eps;
  param[i] = w - step_size * m / denom;
}

@compute @workgroup_size(WG) fn ema(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg);
  if (i >= p.n) { return; }
  param[i] = p.decay * param[i] + (1.0 - p.decay) * p.scale * source[i];
}

@compute @workgroup_size(WG) fn running_stats(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg);
  if (i == 0u) { step_out[0] += 1.0; }
  if (i >= p.n) { return; }
  param[i] = p.decay * param[i] + (1.0 - p.decay) * source[i];
  buf[i] = p.decay * buf[i] + (1.0 - p.decay) * p.scale * grad[i];
}
