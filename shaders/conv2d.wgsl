// The three conv kernels, as implicit GEMMs: conv2d's forward, its input
// gradient (dgrad, also a transposed conv's forward) and its weight
// gradient (wgrad). NCHW; geometry as ConvGeometry in TypeScript.
//
// Each is a matrix product C[m, n] = Σ_k A[m, k] · B[k, n] per group g:
//
//   MODE 0, forward:  m = (batch, oh, ow)   n = out channel of g   k = (in channel of g, kh, kw)
//                     A = im2col(x), B = wᵀ, C = y
//   MODE 1, dgrad:    m = (batch, ih, iw)   n = in channel of g    k = (out channel of g, kh, kw)
//                     A = dy at the output pixel that input pixel feeds through (kh, kw),
//                         0 where stride skips it; B = w; C = dx
//   MODE 2, wgrad:    m = out channel of g  n = (in channel of g, kh, kw)   k = (batch, oh, ow)
//                     A = dy, B = im2col(x), C = dw
//   MODE 3, dgrad by stride phase (stride > 1, dilation 1): as MODE 1, but
//                     the input pixels are split into stride_h·stride_w
//                     phases by (ih + pad) mod stride, one grid layer each.
//                     Within a phase only the taps kh ≡ (ih + pad) mod
//                     stride can land on an output pixel, so k runs over
//                     those alone: MODE 1's k is stride² longer, and all
//                     but 1/stride² of its A is zeros (4× the work for
//                     DCGAN's k4 s2 layers, and their transposed convs).
//
// Nothing the size of im2col is ever made: load_a and load_b compute each
// element's source position (or 0 for padding) as the slab is filled, so
// the gather is folded into the tile loads.
//
// Tiling, as matmul.wgsl: a WG_X × WG_Y workgroup owns a (4·WG_Y) × (4·WG_X)
// block of C, walks k in TILE_K steps through two workgroup-memory slabs
// stored as vec4s, and each thread accumulates a 4 × 4 register block with
// four vec4 fmas per k. Grid: x over n-blocks, y over m-blocks, z over
// groups × splits (groups × phases in MODE 3).
//
// Split-K (wgrad): k = batch × output pixels is long while m × n (the
// weight) can be small, so few workgroups would do all the work. Each of
// `splits` workgroup layers takes a k_chunk-long slice of k and writes its
// own partial C; sum_splits then adds the layers. The other modes run with
// splits = 1 and write C directly.
//
// Tile sizes are overrides picked per shape in TypeScript
// (src/backend/webgpu/conv.ts), which says how the table was measured.

struct Params {
  batch: u32,
  in_c: u32,
  in_h: u32,
  in_w: u32,
  out_c: u32,
  out_h: u32,
  out_w: u32,
  k_h: u32,
  k_w: u32,
  stride_h: u32,
  stride_w: u32,
  pad_h: u32,
  pad_w: u32,
  dil_h: u32,
  dil_w: u32,
  groups: u32,
  m: u32,        // GEMM rows
  n: u32,        // GEMM columns
  k: u32,        // GEMM depth
  k_chunk: u32,  // depth per split
  splits: u32,
  total: u32,    // elements of C over all groups (sum_splits)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

override MODE: u32 = 0;
override WG_X: u32 = 16;
override WG_Y: u32 = 16;
override TILE_K: u32 = 16;
override WG: u32 = 256;   // sum_splits' workgroup size

var<workgroup> a_slab: array<vec4f, TILE_K * WG_Y>;   // [TILE_K][BM / 4]
var<workgroup> b_slab: array<vec4f, TILE_K * WG_X>;   // [TILE_K][BN / 4]

// What one workgroup computes: its group, split, the GEMM's extent, and in
// MODE 3 its phase. Built from workgroup_id and uniforms only, so loop
// bounds taken from it are uniform (workgroupBarrier needs that).
struct Job {
  g: u32,
  split: u32,
  m: u32,
  k: u32,
  first: vec2u,   // MODE 3: the first input row/column of the phase
  count: vec2u,   // MODE 3: its rows and columns
  tap0: vec2u,    // MODE 3: its first kernel row/column (the residue)
  taps: vec2u,    // MODE 3: how many kernel rows/columns it uses
}

fn in_channels_per_group() -> u32 { return p.in_c / p.groups; }
fn out_channels_per_group() -> u32 { return p.out_c / p.groups; }

// x[n, g·Cg + c, oh·s - pad + kh·dil, ...], 0 in the padding.
fn load_x(g: u32, n: u32, c: u32, oh: u32, ow: u32, kh: u32, kw: u32) -> f32 {
  let ih = i32(oh * p.stride_h + kh * p.dil_h) - i32(p.pad_h);
  let iw = i32(ow * p.stride_w + kw * p.dil_w) - i32(p.pad_w);
  if (ih < 0 || iw < 0 || u32(ih) >= p.in_h || u32(iw) >= p.in_w) { return 0.0; }
  let channel = g * in_channels_per_group() + c;
  return x_at(((n * p.in_c + channel) * p.in_h + u32(ih)) * p.in_w + u32(iw));
}

// x is A's source in the forward and B's in wgrad.
fn x_at(i: u32) -> f32 {
  if (MODE == 0u) { return a[i]; }
  return b[i];
}

fn dy_at(g: u32, n: u32, o: u32, oh: u32, ow: u32) -> f32 {
  let channel = g * out_channels_per_group() + o;
  return a[((n * p.out_c + channel) * p.out_h + oh) * p.out_w + ow];
}

// w[g·Og + o, c, kh, kw]; w is `b` in forward and dgrad.
fn w_at(g: u32, o: u32, c: u32, kh: u32, kw: u32) -> f32 {
  let channel = g * out_channels_per_group() + o;
  return b[((channel * in_channels_per_group() + c) * p.k_h + kh) * p.k_w + kw];
}

fn load_a(job: Job, row: u32, kk: u32) -> f32 {
  if (row >= job.m || kk >= job.k) { return 0.0; }
  let g = job.g;
  let taps = p.k_h * p.k_w;
  if (MODE == 0u) {
    // row = (n, oh, ow), kk = (c, kh, kw)
    let pixels = p.out_h * p.out_w;
    let rem = row % pixels;
    let tap = kk % taps;
    return load_x(g, row / pixels, kk / taps, rem / p.out_w, rem % p.out_w, tap / p.k_w, tap % p.k_w);
  }
  if (MODE == 1u) {
    // row = (n, ih, iw), kk = (o, kh, kw): the output pixel (oh, ow) with
    // oh·s - pad + kh·dil = ih, if the stride lands on it.
    let pixels = p.in_h * p.in_w;
    let rem = row % pixels;
    let tap = kk % taps;
    let th = i32(rem / p.in_w + p.pad_h) - i32((tap / p.k_w) * p.dil_h);
    let tw = i32(rem % p.in_w + p.pad_w) - i32((tap % p.k_w) * p.dil_w);
    if (th < 0 || tw < 0) { return 0.0; }
    let oh = u32(th) / p.stride_h;
    let ow = u32(tw) / p.stride_w;
    if (oh * p.stride_h != u32(th) || ow * p.stride_w != u32(tw) || oh >= p.out_h || ow >= p.out_w) { return 0.0; }
    return dy_at(g, row / pixels, kk / taps, oh, ow);
  }
  if (MODE == 3u) {
    // row = (n, th, tw) of the phase, kk = (o, u, v): input pixel
    // first + stride·(th, tw) meets kernel tap tap0 + stride·(u, v) at output
    // pixel (ih + pad - kh) / stride, exact by construction.
    let pixels = job.count.x * job.count.y;
    let rem = row % pixels;
    let ih = job.first.x + p.stride_h * (rem / job.count.y);
    let iw = job.first.y + p.stride_w * (rem % job.count.y);
    let phase_taps = job.taps.x * job.taps.y;
    let tap = kk % phase_taps;
    let kh = job.tap0.x + p.stride_h * (tap / job.taps.y);
    let kw = job.tap0.y + p.stride_w * (tap % job.taps.y);
    if (ih + p.pad_h < kh || iw + p.pad_w < kw) { return 0.0; }
    let oh = (ih + p.pad_h - kh) / p.stride_h;
    let ow = (iw + p.pad_w - kw) / p.stride_w;
    if (oh >= p.out_h || ow >= p.out_w) { return 0.0; }
    return dy_at(g, row / pixels, kk / phase_taps, oh, ow);
  }
  // MODE 2: row = o, kk = (n, oh, ow)
  let pixels = p.out_h * p.out_w;
  let rem = kk % pixels;
  return dy_at(g, kk / pixels, row, rem / p.out_w, rem % p.out_w);
}

fn load_b(job: Job, kk: u32, col: u32) -> f32 {
  if (kk >= job.k || col >= p.n) { return 0.0; }
  let g = job.g;
  let taps = p.k_h * p.k_w;
  if (MODE == 0u) {
    // kk = (c, kh, kw), col = o
    let tap = kk % taps;
    return w_at(g, col, kk / taps, tap / p.k_w, tap % p.k_w);
  }
  if (MODE == 1u) {
    // kk = (o, kh, kw), col = c
    let tap = kk % taps;
    return w_at(g, kk / taps, col, tap / p.k_w, tap % p.k_w);
  }
  if (MODE == 3u) {
    // kk = (o, u, v), col = c
    let phase_taps = job.taps.x * job.taps.y;
    let tap = kk % phase_taps;
    return w_at(g, kk / phase_taps, col, job.tap0.x + p.stride_h * (tap / job.taps.y), job.tap0.y + p.stride_w * (tap % job.taps.y));
  }
  // MODE 2: kk = (n, oh, ow), col = (c, kh, kw)
  let pixels = p.out_h * p.out_w;
  let rem = kk % pixels;
  let tap = col % taps;
  return load_x(g, kk / pixels, col / taps, rem / p.out_w, rem % p.out_w, tap / p.k_w, tap % p.k_w);
}

// Where C[row, col] of the job goes.
fn store(job: Job, row: u32, col: u32, v: f32) {
  if (row >= job.m || col >= p.n) { return; }
  let g = job.g;
  if (MODE == 0u) {
    let pixels = p.out_h * p.out_w;
    let n = row / pixels;
    let rem = row % pixels;
    let channel = g * out_channels_per_group() + col;
    out[((n * p.out_c + channel) * p.out_h) * p.out_w + rem] = v;
  } else if (MODE == 1u) {
    let pixels = p.in_h * p.in_w;
    let n = row / pixels;
    let rem = row % pixels;
    let channel = g * in_channels_per_group() + col;
    out[((n * p.in_c + channel) * p.in_h) * p.in_w + rem] = v;
  } else if (MODE == 3u) {
    let pixels = job.count.x * job.count.y;
    let rem = row % pixels;
    let ih = job.first.x + p.stride_h * (rem / job.count.y);
    let iw = job.first.y + p.stride_w * (rem % job.count.y);
    let channel = g * in_channels_per_group() + col;
    out[((row / pixels * p.in_c + channel) * p.in_h + ih) * p.in_w + iw] = v;
  } else {
    // dw[g·Og + row, col] in layer s of the partial sums
    let channel = g * out_channels_per_group() + row;
    out[job.split * p.total + channel * p.n + col] = v;
  }
}

// The job of grid layer z: group and split, or (MODE 3) group and phase.
fn job_for(z: u32) -> Job {
  var job: Job;
  job.g = z % p.groups;
  job.m = p.m;
  job.k = p.k;
  if (MODE != 3u) {
    job.split = z / p.groups;
    return job;
  }
  let phase = z / p.groups;
  let stride = vec2u(p.stride_h, p.stride_w);
  let pad = vec2u(p.pad_h, p.pad_w);
  let size = vec2u(p.in_h, p.in_w);
  let kernel = vec2u(p.k_h, p.k_w);
  job.tap0 = vec2u(phase / p.stride_w, phase % p.stride_w);   // the residue (ih + pad) mod stride
  job.first = (job.tap0 + stride - pad % stride) % stride;
  job.count = select(vec2u(0u), (size - job.first + stride - 1u) / stride, job.first < size);
  job.taps = select(vec2u(0u), (kernel - job.tap0 + stride - 1u) / stride, job.tap0 < kernel);
  job.m = p.batch * job.count.x * job.count.y;
  job.k = out_channels_per_group() * job.taps.x * job.taps.y;
  return job;
}

@compute @workgroup_size(WG_X, WG_Y, 1)
fn conv2d(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let row0 = wid.y * 4u * WG_Y;
  let col0 = wid.x * 4u * WG_X;
  let job = job_for(wid.z);
  let k_begin = job.split * p.k_chunk;
  let k_end = min(job.k, k_begin + p.k_chunk);
  let t = lid.y * WG_X + lid.x;
  let threads = WG_X * WG_Y;

  var acc0 = vec4f(0.0);
  var acc1 = vec4f(0.0);
  var acc2 = vec4f(0.0);
  var acc3 = vec4f(0.0);
  for (var k0 = k_begin; k0 < k_end; k0 += TILE_K) {
    for (var e = t; e < TILE_K * WG_Y; e += threads) {
      let kk = e % TILE_K;
      let r = row0 + 4u * (e / TILE_K);
      let k = select(job.k, k0 + kk, k0 + kk < k_end);   // past this split's end: read 0
      a_slab[kk * WG_Y + e / TILE_K] = vec4f(load_a(job, r, k), load_a(job, r + 1u, k), load_a(job, r + 2u, k), load_a(job, r + 3u, k));
    }
    for (var e = t; e < TILE_K * WG_X; e += threads) {
      let kk = e % TILE_K;
      let c = col0 + 4u * (e / TILE_K);
      let k = select(job.k, k0 + kk, k0 + kk < k_end);
      b_slab[kk * WG_X + e / TILE_K] = vec4f(load_b(job, k, c), load_b(job, k, c + 1u), load_b(job, k, c + 2u), load_b(job, k, c + 3u));
    }
    workgroupBarrier();
    for (var kk = 0u; kk < TILE_K; kk++) {
      let av = a_slab[kk * WG_Y + lid.y];
      let bv = b_slab[kk * WG_X + lid.x];
      acc0 = fma(vec4f(av.x), bv, acc0);
      acc1 = fma(vec4f(av.y), bv, acc1);
      acc2 = fma(vec4f(av.z), bv, acc2);
      acc3 = fma(vec4f(av.w), bv, acc3);
    }
    workgroupBarrier();
  }

  let row = row0 + 4u * lid.y;
  let col = col0 + 4u * lid.x;
  var rows = array<vec4f, 4>(acc0, acc1, acc2, acc3);
  for (var i = 0u; i < 4u; i++) {
    for (var j = 0u; j < 4u; j++) {
      store(job, row + i, col + j, rows[i][j]);
    }
  }
}

// dw[i] = Σ_s partial[s][i]: adds wgrad's split-K layers (a in, out out).
@compute @workgroup_size(WG)
fn sum_splits(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.total) { return; }
  var acc = 0.0;
  for (var s = 0u; s < p.splits; s++) { acc += a[s * p.total + i]; }
  out[i] = acc;
}
