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
  alpha: f32,        // the epilogue's leakyRelu slope (ACT 2)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;   // the epilogue's, per output channel (BIAS)
@group(0) @binding(5) var<storage, read_write> pre: array<f32>;   // the epilogue's z, kept for the backward (PRE)

// The epilogue of the modes that make a layer's output (MODE 0, a conv's
// forward; MODE 1 and 3, a transposed conv's): out = f(z), z = C +
// bias[channel], f the activation ACT, so a layer's bias and activation
// cost no dispatch of their own; with PRE, z is stored too (an activation
// whose derivative needs it: silu). Off (C stored as it is) by default and
// in wgrad.
override BIAS: bool = false;
override PRE: bool = false;
// #include activation

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

// The epilogue: out[i] = f(v + bias[channel]), and pre[i] = the argument.
fn finish(i: u32, v: f32, channel: u32) {
  var z = v;
  if (BIAS) { z += bias[channel]; }
  if (PRE) { pre[i] = z; }
  out[i] = activate(z, p.alpha);
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
    finish(((n * p.out_c + channel) * p.out_h) * p.out_w + rem, v, channel);
  } else if (MODE == 1u) {
    let pixels = p.in_h * p.in_w;
    let n = row / pixels;
    let rem = row % pixels;
    let channel = g * in_channels_per_group() + col;
    finish(((n * p.in_c + channel) * p.in_h) * p.in_w + rem, v, channel);
  } else if (MODE == 3u) {
    let pixels = job.count.x * job.count.y;
    let rem = row % pixels;
    let ih = job.first.x + p.stride_h * (rem / job.count.y);
    let iw = job.first.y + p.stride_w * (rem % job.count.y);
    let channel = g * in_channels_per_group() + col;
    finish(((row / pixels * p.in_c + channel) * p.in_h + ih) * p.in_w + iw, v, channel);
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

// ---- conv2d_direct: register blocks, no workgroup memory ----
//
// The same GEMMs with no slabs and no barriers: each thread owns a block of
// 4·RV rows × 4·CV columns of C in registers and walks k itself, reading A
// and B straight from the sources. Where workgroup memory is ordinary
// memory and a barrier is a switch between the workgroup's invocations (a
// CPU adapter such as SwiftShader), this is several times faster than
// conv2d; on a GPU the slabs' sharing usually wins. The tile table picks by
// adapter, the tuner by measurement (src/backend/webgpu/conv.ts).
//
// Everything that depends on a row alone (its pixel, where its channel-0
// plane starts) or a column alone is worked out once, before the k loop;
// k is walked as three counters (outer, middle, inner) with carries, so
// the loop divides nothing. The register block is written out by hand:
// a private array indexed in a loop is kept in memory, not registers, on
// SwiftShader (7× slower when tried).

override RV: u32 = 2;   // rows a thread: 4·RV (1 or 2)
override CV: u32 = 2;   // columns a thread: 4·CV (1 or 2)
override DGRAD_STRIDED: bool = false;   // MODE 1 with a stride > 1: check each tap lands on it

// A row of C, ready for the k loop: where its source plane starts, its
// position (y, x) in the map its sum walks, and whether it exists.
struct Row {
  base: u32,
  y: i32,
  x: i32,
  ok: bool,
}

// The k-th term of the sum: what it adds to a row's and a column's
// positions. off moves A's index, (y, x) the position, b B's index.
struct Term {
  off: u32,
  y: i32,
  x: i32,
  b: u32,
}

fn plane(h: u32, w: u32) -> u32 { return h * w; }

fn row_of(job: Job, row: u32) -> Row {
  var r = Row(0u, 0, 0, row < job.m);
  let g = job.g;
  if (MODE == 2u) {
    // row = out channel o: dy[·, g·Og + o, ·, ·]
    r.base = (g * out_channels_per_group() + row) * plane(p.out_h, p.out_w);
    return r;
  }
  if (MODE == 0u) {
    // row = (n, oh, ow): x[n, g·Cg, oh·s - pad, ow·s - pad]
    let px = decode_pixel(row, p.out_h, p.out_w);
    r.base = (px.n * p.in_c + g * in_channels_per_group()) * plane(p.in_h, p.in_w);
    r.y = i32(px.y * p.stride_h) - i32(p.pad_h);
    r.x = i32(px.x * p.stride_w) - i32(p.pad_w);
    return r;
  }
  var px: Pixel;
  if (MODE == 1u) {
    // row = (n, ih, iw): dy at (ih + pad - kh·dil) / stride
    px = decode_pixel(row, p.in_h, p.in_w);
    r.y = i32(px.y + p.pad_h);
    r.x = i32(px.x + p.pad_w);
  } else {
    // MODE 3: row = (n, y, x) of the phase: dy at lead + (y, x) - (u, v)
    px = decode_pixel(row, job.count.x, job.count.y);
    r.y = i32(job.lead.x + px.y);
    r.x = i32(job.lead.y + px.x);
  }
  r.base = (px.n * p.out_c + g * out_channels_per_group()) * plane(p.out_h, p.out_w);
  return r;
}

// A column of C, as a Row: B's index base and (wgrad) the tap's offset.
fn col_of(job: Job, col: u32) -> Row {
  var c = Row(0u, 0, 0, col < p.n);
  let taps = p.k_h * p.k_w;
  if (MODE == 0u) {
    // col = out channel: w[g·Og + col, ·, ·, ·]
    c.base = (job.g * out_channels_per_group() + col) * in_channels_per_group() * taps;
  } else if (MODE == 2u) {
    // col = (c, kh, kw): x[·, g·Cg + c, oh·s - pad + kh·dil, ...]
    let tap = decode_pixel(col, p.k_h, p.k_w);
    c.base = (job.g * in_channels_per_group() + tap.n) * plane(p.in_h, p.in_w);
    c.y = i32(tap.y * p.dil_h) - i32(p.pad_h);
    c.x = i32(tap.x * p.dil_w) - i32(p.pad_w);
  } else {
    // col = in channel: w[·, col, ·, ·]
    c.base = col * taps;
  }
  return c;
}

// The extents of k's middle and inner counters.
fn term_extents(job: Job) -> vec2u {
  if (MODE == 2u) { return vec2u(p.out_h, p.out_w); }
  if (MODE == 3u) { return job.taps; }
  return vec2u(p.k_h, p.k_w);
}

// Term k = (i, j, l): MODE 0 (c, kh, kw), MODE 1 (o, kh, kw), MODE 3
// (o, u, v), MODE 2 (n, oh, ow).
fn term_at(job: Job, k: u32, i: u32, j: u32, l: u32) -> Term {
  let taps = p.k_h * p.k_w;
  if (MODE == 0u) {
    return Term(i * plane(p.in_h, p.in_w), i32(j * p.dil_h), i32(l * p.dil_w), k);
  }
  if (MODE == 2u) {
    return Term(i * p.out_c * plane(p.out_h, p.out_w) + j * p.out_w + l, i32(j * p.stride_h), i32(l * p.stride_w), i * p.in_c * plane(p.in_h, p.in_w));
  }
  let w_o = (job.g * out_channels_per_group() + i) * in_channels_per_group() * taps;
  if (MODE == 1u) {
    return Term(i * plane(p.out_h, p.out_w), i32(j * p.dil_h), i32(l * p.dil_w), w_o + j * p.k_w + l);
  }
  return Term(i * plane(p.out_h, p.out_w), i32(j), i32(l), w_o + (job.tap0.x + p.stride_h * j) * p.k_w + job.tap0.y + p.stride_w * l);
}

// A[row, k], 0 outside the map (and, MODE 1, where the stride skips it).
// An index computed for a position outside is still clamped by WebGPU's
// bounds checks; select keeps the 0. The tests are `&`, not `&&`: each
// `&&` is a branch, and SwiftShader's compile time (and memory: 24 GB was
// not enough) explodes with the branches of the eight inlined copies.
fn a_term(r: Row, t: Term) -> f32 {
  if (MODE == 2u) { return select(0.0, a[r.base + t.off], r.ok); }
  if (MODE == 1u && DGRAD_STRIDED) { return a_term_strided(r, t); }
  let forward = MODE == 0u;
  let y = select(r.y - t.y, r.y + t.y, forward);
  let x = select(r.x - t.x, r.x + t.x, forward);
  let h = select(p.out_h, p.in_h, forward);
  let w = select(p.out_w, p.in_w, forward);
  let inside = r.ok & (y >= 0) & (x >= 0) & (u32(y) < h) & (u32(x) < w);
  return select(0.0, a[r.base + t.off + u32(y) * w + u32(x)], inside);
}

// MODE 1 with a stride (and a dilation, else MODE 3 runs): the output
// pixel is (ih + pad - kh·dil) / stride where that divides exactly.
fn a_term_strided(r: Row, t: Term) -> f32 {
  let sy = r.y - t.y;
  let sx = r.x - t.x;
  let y = u32(max(sy, 0)) / p.stride_h;
  let x = u32(max(sx, 0)) / p.stride_w;
  let inside = r.ok & (sy >= 0) & (sx >= 0) & (y * p.stride_h == u32(sy)) & (x * p.stride_w == u32(sx)) & (y < p.out_h) & (x < p.out_w);
  return select(0.0, a[r.base + t.off + y * p.out_w + x], inside);
}

// B[k, col], 0 outside the map (wgrad's im2col).
fn b_term(c: Row, t: Term) -> f32 {
  if (MODE != 2u) { return select(0.0, b[c.base + t.b], c.ok); }
  let y = t.y + c.y;
  let x = t.x + c.x;
  let inside = c.ok & (y >= 0) & (x >= 0) & (u32(y) < p.in_h) & (u32(x) < p.in_w);
  return select(0.0, b[c.base + t.b + u32(y) * p.in_w + u32(x)], inside);
}

fn b_terms(c0: Row, c1: Row, c2: Row, c3: Row, t: Term) -> vec4f {
  return vec4f(b_term(c0, t), b_term(c1, t), b_term(c2, t), b_term(c3, t));
}

fn store4(job: Job, row: u32, col: u32, v: vec4f) {
  store(job, row, col, v.x);
  store(job, row, col + 1u, v.y);
  store(job, row, col + 2u, v.z);
  store(job, row, col + 3u, v.w);
}

@compute @workgroup_size(WG_X, WG_Y, 1)
fn conv2d_direct(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let job = job_for(wid.z);
  let row = ((wid.y + p.block_offset) * WG_Y + lid.y) * 4u * RV;
  let col = (wid.x * WG_X + lid.x) * 4u * CV;
  let k_begin = job.split * p.k_chunk;
  let k_end = min(job.k, k_begin + p.k_chunk);
  let r0 = row_of(job, row);
  let r1 = row_of(job, row + 1u);
  let r2 = row_of(job, row + 2u);
  let r3 = row_of(job, row + 3u);
  let r4 = row_of(job, row + 4u);
  let r5 = row_of(job, row + 5u);
  let r6 = row_of(job, row + 6u);
  let r7 = row_of(job, row + 7u);
  let c0 = col_of(job, col);
  let c1 = col_of(job, col + 1u);
  let c2 = col_of(job, col + 2u);
  let c3 = col_of(job, col + 3u);
  let c4 = col_of(job, col + 4u);
  let c5 = col_of(job, col + 5u);
  let c6 = col_of(job, col + 6u);
  let c7 = col_of(job, col + 7u);
  // acc{row}{l|h}: row's columns 0–3 and 4–7
  var acc0l = vec4f(0.0); var acc0h = vec4f(0.0);
  var acc1l = vec4f(0.0); var acc1h = vec4f(0.0);
  var acc2l = vec4f(0.0); var acc2h = vec4f(0.0);
  var acc3l = vec4f(0.0); var acc3h = vec4f(0.0);
  var acc4l = vec4f(0.0); var acc4h = vec4f(0.0);
  var acc5l = vec4f(0.0); var acc5h = vec4f(0.0);
  var acc6l = vec4f(0.0); var acc6h = vec4f(0.0);
  var acc7l = vec4f(0.0); var acc7h = vec4f(0.0);
  // k_begin as counters (the only division in the loop's set-up)
  let extents = term_extents(job);
  let inner = max(1u, extents.x * extents.y);
  var i = k_begin / inner;
  var j = (k_begin % inner) / max(1u, extents.y);
  var l = k_begin % max(1u, extents.y);
  for (var k = k_begin; k < k_end; k++) {
    let t = term_at(job, k, i, j, l);
    let bl = b_terms(c0, c1, c2, c3, t);
    let a0 = vec4f(a_term(r0, t));
    let a1 = vec4f(a_term(r1, t));
    let a2 = vec4f(a_term(r2, t));
    let a3 = vec4f(a_term(r3, t));
    acc0l = fma(a0, bl, acc0l);
    acc1l = fma(a1, bl, acc1l);
    acc2l = fma(a2, bl, acc2l);
    acc3l = fma(a3, bl, acc3l);
    if (CV == 2u) {
      let bh = b_terms(c4, c5, c6, c7, t);
      acc0h = fma(a0, bh, acc0h);
      acc1h = fma(a1, bh, acc1h);
      acc2h = fma(a2, bh, acc2h);
      acc3h = fma(a3, bh, acc3h);
      if (RV == 2u) {
        let a4 = vec4f(a_term(r4, t));
        let a5 = vec4f(a_term(r5, t));
        let a6 = vec4f(a_term(r6, t));
        let a7 = vec4f(a_term(r7, t));
        acc4l = fma(a4, bl, acc4l);
        acc5l = fma(a5, bl, acc5l);
        acc6l = fma(a6, bl, acc6l);
        acc7l = fma(a7, bl, acc7l);
        acc4h = fma(a4, bh, acc4h);
        acc5h = fma(a5, bh, acc5h);
        acc6h = fma(a6, bh, acc6h);
        acc7h = fma(a7, bh, acc7h);
      }
    } else if (RV == 2u) {
      acc4l = fma(vec4f(a_term(r4, t)), bl, acc4l);
      acc5l = fma(vec4f(a_term(r5, t)), bl, acc5l);
      acc6l = fma(vec4f(a_term(r6, t)), bl, acc6l);
      acc7l = fma(vec4f(a_term(r7, t)), bl, acc7l);
    }
    l++;
    if (l == extents.y) {
      l = 0u;
      j++;
      if (j == extents.x) {
        j = 0u;
        i++;
      }
    }
  }
  store4(job, row, col, acc0l);
  store4(job, row + 1u, col, acc1l);
  store4(job, row + 2u, col, acc2l);
  store4(job, row + 3u, col, acc3l);
  if (RV == 2u) {
    store4(job, row + 4u, col, acc4l);
    store4(job, row + 5u, col, acc5l);
    store4(job, row + 6u, col, acc6l);
    store4(job, row + 7u, col, acc7l);
  }
  if (CV == 2u) {
    store4(job, row, col + 4u, acc0h);
    store4(job, row + 1u, col + 4u, acc1h);
    store4(job, row + 2u, col + 4u, acc2h);
    store4(job, row + 3u, col + 4u, acc3h);
    if (RV == 2u) {
      store4(job, row + 4u, col + 4u, acc4h);
      store4(job, row + 5u, col + 4u, acc5h);
      store4(job, row + 6u, col + 4u, acc6h);
      store4(job, row + 7u, col + 4u, acc7h);
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
