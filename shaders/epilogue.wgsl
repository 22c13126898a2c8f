// The backward of a layer's fused epilogue (conv2d.wgsl's and matmul.wgsl's
// out = f(z), z = C + bias): from the layer's output y and the gradient dy
// of it, the gradient of C, g = f'(z)·dy with f' read from y
// (parts/activation.wgsl, activate_grad_from_output), or with PRE taken at
// the z the forward kept (activate_grad: silu), and the bias's gradient,
// Σ g over the batch and the spatial positions, in one pass: a workgroup
// per channel c of y, dy: [batch, channels, spatial].

// #include activation

struct Params {
  batch: u32,
  channels: u32,
  spatial: u32,
  alpha: f32,   // leakyRelu's slope (ACT 2)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;     // g
@group(0) @binding(4) var<storage, read_write> dbias: array<f32>;   // [channels]
@group(0) @binding(5) var<storage, read> pre: array<f32>;   // z (PRE)

override WG: u32 = 64;
override PRE: bool = false;

// #include workgroup_sum

@compute @workgroup_size(WG)
fn epilogue_backward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) t: u32) {
  let c = wid.x + wid.y * nwg.x;   // channels past 65535 wrap into the grid's y
  if (c >= p.channels) { return; }
  let count = p.batch * p.spatial;
  var s = 0.0;
  for (var i = t; i < count; i += WG) {
    let j = ((i / p.spatial) * p.channels + c) * p.spatial + i % p.spatial;
    var g: f32;
    if (PRE) { g = activate_grad(pre[j], dy[j], p.alpha); } else { g = activate_grad_from_output(y[j], dy[j], p.alpha); }
    out[j] = g;
    s += g;
  }
  let total = workgroup_sum(t, 0u, 1u, vec2f(s, 0.0)).x;
  if (t == 0u) { dbias[c] = total; }
}
