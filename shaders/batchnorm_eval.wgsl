// Batchnorm in eval mode with the activation after it, one thread an
// element: out = f((x − mean[c]) / sqrt(var[c] + eps) · weight[c] + bias[c]),
// from the running statistics (training takes the batch's own:
// batchnorm.wgsl). One dispatch where the composed formula takes six and
// the activation one more: a generator sampling in eval mode runs it for
// every batchnorm. x: [batch, channels, spatial].

// #include activation

struct Params {
  channels: u32,
  spatial: u32,
  n: u32,        // elements of x
  eps: f32,
  affine: u32,   // 0: no weight and bias (1 and 0), the bindings hold something else
  alpha: f32,    // leakyRelu's slope (ACT 2)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read> mean: array<f32>;
@group(0) @binding(5) var<storage, read> variance: array<f32>;
@group(0) @binding(6) var<storage, read_write> out: array<f32>;

override WG: u32 = 64;

@compute @workgroup_size(WG)
fn batchnorm_eval(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  let c = (i / p.spatial) % p.channels;
  var z = (x[i] - mean[c]) / sqrt(variance[c] + p.eps);
  if (p.affine != 0u) { z = z * weight[c] + bias[c]; }
  out[i] = activate(z, p.alpha);
}
