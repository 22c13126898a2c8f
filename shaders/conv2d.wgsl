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
  block_offset: u32, // row blocks before this dispatch's first (a grid over 65535 runs as several dispatches)
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
  lead: vec2u,    // MODE 3: (first + pad - tap0) / stride, exact: see load_a4
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

// A pixel of an h × w grid in a batch: GEMM rows (and wgrad's k) walk
// these in row-major order. Four consecutive rows are decoded once and
// stepped with a carry: integer division is the slow part of the gather
// (SwiftShader emulates it, GPUs spend several instructions on it).
struct Pixel {
  n: u32,
  y: u32,
  x: u32,
}

fn decode_pixel(i: u32, h: u32, w: u32) -> Pixel {
  let plane = h * w;
  let rem = i % plane;
  return Pixel(i / plane, rem / w, rem % w);
}

fn next_pixel(px: Pixel, h: u32, w: u32) -> Pixel {
  var q = px;
  q.x += 1u;
  if (q.x == w) {
    q.x = 0u;
    q.y += 1u;
    if (q.y == h) {
      q.y = 0u;
      q.n += 1u;
    }
  }
  return q;
}

// A kernel tap and the channel it belongs to: kk = (channel, kh, kw) over
// a th × tw tap grid.
struct Tap {
  c: u32,
  h: u32,
  w: u32,
}

fn decode_tap(kk: u32, th: u32, tw: u32) -> Tap {
  let taps = th * tw;
  let tap = kk % taps;
  return Tap(kk / taps, tap / tw, tap % tw);
}

// A[row .. row + 3, kk]: four rows of the A slab.
fn load_a4(job: Job, row: u32, kk: u32) -> vec4f {
  var v = vec4f(0.0);
  if (kk >= job.k || row >= job.m) { return v; }
  let g = job.g;
  if (MODE == 2u) {
    // rows = out channels o .. o + 3, kk = (n, oh, ow)
    let px = decode_pixel(kk, p.out_h, p.out_w);
    for (var i = 0u; i < 4u; i++) {
      if (row + i < job.m) { v[i] = dy_at(g, px.n, row + i, px.y, px.x); }
    }
    return v;
  }
  if (MODE == 0u) {
    // rows = (n, oh, ow), kk = (c, kh, kw)
    let tap = decode_tap(kk, p.k_h, p.k_w);
    var px = decode_pixel(row, p.out_h, p.out_w);
    for (var i = 0u; i < 4u; i++) {
      if (row + i < job.m) { v[i] = load_x(g, px.n, tap.c, px.y, px.x, tap.h, tap.w); }
      px = next_pixel(px, p.out_h, p.out_w);
    }
    return v;
  }
  if (MODE == 1u) {
    // rows = (n, ih, iw), kk = (o, kh, kw): the output pixel (oh, ow) with
    // oh·s - pad + kh·dil = ih, if the stride lands on it.
    let tap = decode_tap(kk, p.k_h, p.k_w);
    var px = decode_pixel(row, p.in_h, p.in_w);
    for (var i = 0u; i < 4u; i++) {
      let th = i32(px.y + p.pad_h) - i32(tap.h * p.dil_h);
      let tw = i32(px.x + p.pad_w) - i32(tap.w * p.dil_w);
      if (row + i < job.m && th >= 0 && tw >= 0) {
        let oh = u32(th) / p.stride_h;
        let ow = u32(tw) / p.stride_w;
        if (oh * p.stride_h == u32(th) && ow * p.stride_w == u32(tw) && oh < p.out_h && ow < p.out_w) {
          v[i] = dy_at(g, px.n, tap.c, oh, ow);
        }
      }
      px = next_pixel(px, p.in_h, p.in_w);
    }
    return v;
  }
  // MODE 3: rows = (n, y, x) of the phase, kk = (o, u, v): input pixel
  // first + stride·(y, x) meets kernel tap tap0 + stride·(u, v) at output
  // pixel (ih + pad - kh) / stride = lead + (y, x) - (u, v), since
  // first + pad ≡ tap0 (mod stride): no division per element.
  let tap = decode_tap(kk, job.taps.x, job.taps.y);
  var px = decode_pixel(row, job.count.x, job.count.y);
  for (var i = 0u; i < 4u; i++) {
    let oh = i32(job.lead.x + px.y) - i32(tap.h);
    let ow = i32(job.lead.y + px.x) - i32(tap.w);
    if (row + i < job.m && oh >= 0 && ow >= 0 && u32(oh) < p.out_h && u32(ow) < p.out_w) {
      v[i] = dy_at(g, px.n, tap.c, u32(oh), u32(ow));
    }
    px = next_pixel(px, job.count.x, job.count.y);
  }
  return v;
}

// B[kk, col .. col + 3]: four columns of the B slab.
fn load_b4(job: Job, kk: u32, col: u32) -> vec4f {
  var v = vec4f(0.0);
  if (kk >= job.k || col >= p.n) { return v; }
  let g = job.g;
  if (MODE == 2u) {
    // kk = (n, oh, ow), cols = (c, kh, kw) .. stepped like a pixel of a (C, kh, kw) grid
    let px = decode_pixel(kk, p.out_h, p.out_w);
    var tap = decode_pixel(col, p.k_h, p.k_w);
    for (var i = 0u; i < 4u; i++) {
      if (col + i < p.n) { v[i] = load_x(g, px.n, tap.n, px.y, px.x, tap.y, tap.x); }
      tap = next_pixel(tap, p.k_h, p.k_w);
    }
    return v;
  }
  if (MODE == 0u) {
    // kk = (c, kh, kw), cols = out channels
    let tap = decode_tap(kk, p.k_h, p.k_w);
    for (var i = 0u; i < 4u; i++) {
      if (col + i < p.n) { v[i] = w_at(g, col + i, tap.c, tap.h, tap.w); }
    }
    return v;
  }
  if (MODE == 1u) {
    // kk = (o, kh, kw), cols = in channels
    let tap = decode_tap(kk, p.k_h, p.k_w);
    for (var i = 0u; i < 4u; i++) {
      if (col + i < p.n) { v[i] = w_at(g, tap.c, col + i, tap.h, tap.w); }
    }
    return v;
  }
  // MODE 3: kk = (o, u, v), cols = in channels
  let tap = decode_tap(kk, job.taps.x, job.taps.y);
  for (var i = 0u; i < 4u; i++) {
    if (col + i < p.n) { v[i] = w_at(g, tap.c, col + i, job.tap0.x + p.stride_h * tap.h, job.tap0.y + p.stride_w * tap.w); }
  }
  return v;
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
  job.lead = (job.first + pad - job.tap0) / stride;   // first + pad ≥ tap0: first is tap0 - pad mod stride, in [0, stride)
  job.m = p.batch * job.count.x * job.count.y;
  job.k = out_channels_per_group() * job.taps.x * job.taps.y;
  return job;
}

@compute @workgroup_size(WG_X, WG_Y, 1)
fn conv2d(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let row0 = (wid.y + p.block_offset) * 4u * WG_Y;
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
      a_slab[kk * WG_Y + e / TILE_K] = load_a4(job, r, k);
    }
    for (var e = t; e < TILE_K * WG_X; e += threads) {
      let kk = e % TILE_K;
      let c = col0 + 4u * (e / TILE_K);
      let k = select(job.k, k0 + kk, k0 + kk < k_end);
      b_slab[kk * WG_X + e / TILE_K] = load_b4(job, k, c);
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

// Thin GEMMs (n ≤ 2 columns: one or two image channels on the column
// side): a thread per 4 rows of one column, k walked straight from the
// sources, no workgroup memory and no barriers. Grid: x over (row block,
// column) pairs, WG to a workgroup; z as conv2d's (one split only).
@compute @workgroup_size(WG)
fn conv2d_thin(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) t: u32) {
  let job = job_for(wid.z);
  let item = (wid.x + p.block_offset) * WG + t;
  let col = item % p.n;
  let row = (item / p.n) * 4u;
  if (row >= job.m) { return; }
  var acc = vec4f(0.0);
  for (var k = 0u; k < job.k; k++) {
    acc = fma(load_a4(job, row, k), vec4f(load_b4(job, k, col).x), acc);
  }
  for (var i = 0u; i < 4u; i++) { store(job, row + i, col, acc[i]); }
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
