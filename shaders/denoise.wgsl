// One step of a diffusion sampler (DDPM or DDIM) after the U-Net, in one
// pass, where diffusion.ts would otherwise chain some twelve elementwise
// dispatches. Element i of the images:
//
//   ε̂    = eps[i], or with classifier-free guidance (GUIDED, eps holding the
//          labelled batch then the unlabelled one) u + w·(c − u),
//          c = eps[i], u = eps[i + n], w = p.guidance
//   x̂_0  = clamp((x_t − p.noise_level·ε̂)·p.signal_inverse, −1, 1)
//   prev = p.x0_coef·x̂_0 + p.xt_coef·x_t + p.noise_coef·noise[i]
//
// Both x̂_0 (shown while sampling) and prev are stored. The coefficients
// come from the schedule (diffusion.ts says which for each sampler); with
// noise_coef 0 the noise binding is not read.

struct Params {
  n: u32,
  guidance: f32,
  noise_level: f32,
  signal_inverse: f32,
  x0_coef: f32,
  xt_coef: f32,
  noise_coef: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> xt: array<f32>;
@group(0) @binding(2) var<storage, read> eps: array<f32>;
@group(0) @binding(3) var<storage, read> noise: array<f32>;
@group(0) @binding(4) var<storage, read_write> prev: array<f32>;
@group(0) @binding(5) var<storage, read_write> x0: array<f32>;

override WG: u32 = 64;
override GUIDED: bool = false;

@compute @workgroup_size(WG)
fn denoise_step(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  var e = eps[i];
  if (GUIDED) {
    let u = eps[i + p.n];
    e = u + p.guidance * (e - u);
  }
  let x = xt[i];
  let clean = clamp((x - p.noise_level * e) * p.signal_inverse, -1.0, 1.0);
  x0[i] = clean;
  var v = p.x0_coef * clean + p.xt_coef * x;
  if (p.noise_coef != 0.0) { v += p.noise_coef * noise[i]; }
  prev[i] = v;
}
