// The naive matrix product, kept only as a yardstick for matmul.wgsl in the
// benchmarks: one invocation per output element, reading a row of A and a
// column of B straight from global memory (2 loads per multiply-add, no reuse).
// out: [m, n] = A: [m, k] @ B: [k, n].

struct Params {
  m: u32,
  n: u32,
  k: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

override WG_X: u32 = 16;
override WG_Y: u32 = 16;

@compute @workgroup_size(WG_X, WG_Y, 1)
fn matmul_naive(@builtin(global_invocation_id) gid: vec3u) {
  let row = gid.y;
  let col = gid.x;
  if (row >= p.m || col >= p.n) { return; }
  var acc = 0.0;
  for (var kk = 0u; kk < p.k; kk++) {
    acc += a[row * p.k + kk] * b[kk * p.n + col];
  }
  out[row * p.n + col] = acc;
}
