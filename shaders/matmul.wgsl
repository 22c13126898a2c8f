// Batched matrix product: out[z] = op(A[z]) @ op(B[z]), out: [batch, m, n].
//
// Tiling. A workgroup of WG_X × WG_Y threads owns a BM × BN block of the
// output (BM = 4·WG_Y rows, BN = 4·WG_X columns) and walks k in steps of
// TILE_K. Each step it copies a TILE_K × BM slab of A and a TILE_K × BN slab
// of B into workgroup memory (every thread loads a few elements, ordered so
// neighbouring threads read neighbouring addresses whatever the layout),
// then every thread multiplies out its own 4 × 4 register block: per k, one
// vec4 of A (its 4 rows) and one vec4 of B (its 4 columns) from workgroup
// memory feed 16 multiply-adds, held as four vec4 accumulators. A naive
// kernel does 2 global loads per multiply-add. The slabs are stored k-major
// as vec4s, so a thread's 4 rows (or columns) are one 16-byte load and a row
// of threads reads consecutive vec4s.
//
// Transposed operands are read in place: with TRANS_A, A[z] is stored
// [k, m] and the slab load just swaps which index runs fastest; TRANS_B
// likewise for B stored [n, k]. The backward pass (dA = dC·Bᵀ, dB = Aᵀ·dC)
// therefore never materializes a transpose. A batch stride of 0 shares one
// matrix across the batch (a weight against a batch of inputs).
// Edges: loads outside the matrix read 0, stores outside are skipped, so any
// m, n, k work; only the last tiles do wasted work.
//
// The epilogue (a linear layer's): out = f(z), z = C + bias[col], f the
// activation ACT (parts/activation.wgsl), applied as each output is stored,
// so the layer's bias and activation cost no dispatch; with PRE, z is
// stored too, for a backward that needs it (silu). BIAS off: no bias read.

struct Params {
  m: u32,
  n: u32,
  k: u32,
  a_batch_stride: u32,
  b_batch_stride: u32,
  // A grid over maxComputeWorkgroupsPerDimension (65535) along an axis runs
  // as several dispatches, each told where its blocks start: column
  // blocks (x), row blocks (y), batch entries (z).
  block_offset: vec3u,
  alpha: f32,   // leakyRelu's slope (ACT 2)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;   // the epilogue's, per column (BIAS)
@group(0) @binding(5) var<storage, read_write> pre: array<f32>;   // the epilogue's z (PRE)

override WG_X: u32 = 16;
override WG_Y: u32 = 16;
override TILE_K: u32 = 16;
override TRANS_A: bool = false;
override TRANS_B: bool = false;
override BIAS: bool = false;
override PRE: bool = false;
// #include activation

const TM = 4u;   // rows of the output each thread owns (one vec4)
const TN = 4u;   // columns of the output each thread owns (one vec4)

var<workgroup> a_slab: array<vec4f, TILE_K * WG_Y>;   // [TILE_K][BM / 4]
var<workgroup> b_slab: array<vec4f, TILE_K * WG_X>;   // [TILE_K][BN / 4]

// A[z][row, kk] (or its transpose's storage), 0 outside the matrix.
fn load_a(base: u32, row: u32, kk: u32) -> f32 {
  if (row >= p.m || kk >= p.k) { return 0.0; }
  if (TRANS_A) { return a[base + kk * p.m + row]; }
  return a[base + row * p.k + kk];
}

// B[z][kk, col], 0 outside the matrix.
fn load_b(base: u32, kk: u32, col: u32) -> f32 {
  if (kk >= p.k || col >= p.n) { return 0.0; }
  if (TRANS_B) { return b[base + col * p.k + kk]; }
  return b[base + kk * p.n + col];
}

// The epilogue: out[i] = f(v + bias[col]), and pre[i] = the argument.
fn finish(i: u32, v: f32, col: u32) {
  var z = v;
  if (BIAS) { z += bias[col]; }
  if (PRE) { pre[i] = z; }
  out[i] = activate(z, p.alpha);
}

// Four outputs of one row, skipping those outside the matrix.
fn store_row(base: u32, row: u32, col: u32, v: vec4f) {
  if (row >= p.m) { return; }
  for (var j = 0u; j < TN; j++) {
    if (col + j < p.n) { finish(base + row * p.n + col + j, v[j], col + j); }
  }
}

@compute @workgroup_size(WG_X, WG_Y, 1)
fn matmul(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let bm = WG_Y * TM;
  let bn = WG_X * TN;
  let row0 = (wid.y + p.block_offset.y) * bm;
  let col0 = (wid.x + p.block_offset.x) * bn;
  let z = wid.z + p.block_offset.z;
  let a_base = z * p.a_batch_stride;
  let b_base = z * p.b_batch_stride;
  let t = lid.y * WG_X + lid.x;
  let threads = WG_X * WG_Y;

  // acc_i holds row i of the thread's 4 × 4 block.
  var acc0 = vec4f(0.0);
  var acc1 = vec4f(0.0);
  var acc2 = vec4f(0.0);
  var acc3 = vec4f(0.0);
  for (var k0 = 0u; k0 < p.k; k0 += TILE_K) {
    // Slab loads, one vec4 (4 rows or 4 columns at one k) per step; the
    // fastest-running index follows the memory layout of the operand.
    for (var e = t; e < TILE_K * WG_Y; e += threads) {
      var r4: u32; var kk: u32;
      if (TRANS_A) { r4 = e % WG_Y; kk = e / WG_Y; } else { kk = e % TILE_K; r4 = e / TILE_K; }
      let r = row0 + 4u * r4;
      let k = k0 + kk;
      a_slab[kk * WG_Y + r4] = vec4f(load_a(a_base, r, k), load_a(a_base, r + 1u, k), load_a(a_base, r + 2u, k), load_a(a_base, r + 3u, k));
    }
    for (var e = t; e < TILE_K * WG_X; e += threads) {
      var c4: u32; var kk: u32;
      if (TRANS_B) { kk = e % TILE_K; c4 = e / TILE_K; } else { c4 = e % WG_X; kk = e / WG_X; }
      let c = col0 + 4u * c4;
      let k = k0 + kk;
      b_slab[kk * WG_X + c4] = vec4f(load_b(b_base, k, c), load_b(b_base, k, c + 1u), load_b(b_base, k, c + 2u), load_b(b_base, k, c + 3u));
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

  let out_base = z * p.m * p.n;
  let row = row0 + 4u * lid.y;
  let col = col0 + 4u * lid.x;
  store_row(out_base, row, col, acc0);
  store_row(out_base, row + 1u, col, acc1);
  store_row(out_base, row + 2u, col, acc2);
  store_row(out_base, row + 3u, col, acc3);
}

// ---- matmul_direct: register blocks, no workgroup memory ----
//
// Each thread owns 4·RV rows × 4·CV columns of the output in registers and
// reads A and B straight from memory, with no slabs and no barriers: on a
// CPU adapter (SwiftShader), where workgroup memory is ordinary memory and
// a barrier switches between the workgroup's invocations, this runs
// several times faster than matmul (256³: 2.8 against 0.6 GFLOP/s when
// measured); on a GPU the slabs' sharing wins. The block is written out by
// hand (a private array is kept in memory there, not registers), and the
// loads choose with select rather than branch (SwiftShader compiles
// branches in inlined copies slowly).

override RV: u32 = 2;   // rows a thread: 4·RV (1 or 2)
override CV: u32 = 2;   // columns a thread: 4·CV (1 or 2)

// A[z][row, kk], 0 below the matrix (kk < k inside the loop).
fn a_at(base: u32, row: u32, kk: u32) -> f32 {
  let i = select(base + row * p.k + kk, base + kk * p.m + row, TRANS_A);
  return select(0.0, a[i], row < p.m);
}

// B[z][kk, col], 0 right of the matrix.
fn b_at(base: u32, kk: u32, col: u32) -> f32 {
  let i = select(base + kk * p.n + col, base + col * p.k + kk, TRANS_B);
  return select(0.0, b[i], col < p.n);
}

fn b_at4(base: u32, kk: u32, col: u32) -> vec4f {
  return vec4f(b_at(base, kk, col), b_at(base, kk, col + 1u), b_at(base, kk, col + 2u), b_at(base, kk, col + 3u));
}

@compute @workgroup_size(WG_X, WG_Y, 1)
fn matmul_direct(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let row = ((wid.y + p.block_offset.y) * WG_Y + lid.y) * TM * RV;
  let col = ((wid.x + p.block_offset.x) * WG_X + lid.x) * TN * CV;
  let z = wid.z + p.block_offset.z;
  let a_base = z * p.a_batch_stride;
  let b_base = z * p.b_batch_stride;
  // acc{row}{l|h}: row's columns 0–3 and 4–7
  var acc0l = vec4f(0.0); var acc0h = vec4f(0.0);
  var acc1l = vec4f(0.0); var acc1h = vec4f(0.0);
  var acc2l = vec4f(0.0); var acc2h = vec4f(0.0);
  var acc3l = vec4f(0.0); var acc3h = vec4f(0.0);
  var acc4l = vec4f(0.0); var acc4h = vec4f(0.0);
  var acc5l = vec4f(0.0); var acc5h = vec4f(0.0);
  var acc6l = vec4f(0.0); var acc6h = vec4f(0.0);
  var acc7l = vec4f(0.0); var acc7h = vec4f(0.0);
  for (var kk = 0u; kk < p.k; kk++) {
    let bl = b_at4(b_base, kk, col);
    let a0 = vec4f(a_at(a_base, row, kk));
    let a1 = vec4f(a_at(a_base, row + 1u, kk));
    let a2 = vec4f(a_at(a_base, row + 2u, kk));
    let a3 = vec4f(a_at(a_base, row + 3u, kk));
    acc0l = fma(a0, bl, acc0l);
    acc1l = fma(a1, bl, acc1l);
    acc2l = fma(a2, bl, acc2l);
    acc3l = fma(a3, bl, acc3l);
    if (CV == 2u) {
      let bh = b_at4(b_base, kk, col + 4u);
      acc0h = fma(a0, bh, acc0h);
      acc1h = fma(a1, bh, acc1h);
      acc2h = fma(a2, bh, acc2h);
      acc3h = fma(a3, bh, acc3h);
      if (RV == 2u) {
        let a4 = vec4f(a_at(a_base, row + 4u, kk));
        let a5 = vec4f(a_at(a_base, row + 5u, kk));
        let a6 = vec4f(a_at(a_base, row + 6u, kk));
        let a7 = vec4f(a_at(a_base, row + 7u, kk));
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
      acc4l = fma(vec4f(a_at(a_base, row + 4u, kk)), bl, acc4l);
      acc5l = fma(vec4f(a_at(a_base, row + 5u, kk)), bl, acc5l);
      acc6l = fma(vec4f(a_at(a_base, row + 6u, kk)), bl, acc6l);
      acc7l = fma(vec4f(a_at(a_base, row + 7u, kk)), bl, acc7l);
    }
  }
  let out_base = z * p.m * p.n;
  store_row(out_base, row, col, acc0l);
  store_row(out_base, row + 1u, col, acc1l);
  store_row(out_base, row + 2u, col, acc2l);
  store_row(out_base, row + 3u, col, acc3l);
  if (RV == 2u) {
    store_row(out_base, row + 4u, col, acc4l);
    store_row(out_base, row + 5u, col, acc5l);
    store_row(out_base, row + 6u, col, acc6l);
    store_row(out_base, row + 7u, col, acc7l);
  }
  if (CV == 2u) {
    store_row(out_base, row, col + 4u, acc0h);
    store_row(out_base, row + 1u, col + 4u, acc1h);
    store_row(out_base, row + 2u, col + 4u, acc2h);
    store_row(out_base, row + 3u, col + 4u, acc3h);
    if (RV == 2u) {
      store_row(out_base, row + 4u, col + 4u, acc4h);
      store_row(out_base, row + 5u, col + 4u, acc5h);
      store_row(out_base, row + 6u, col + 4u, acc6h);
      store_row(out_base, row + 7u, col + 4u, acc7h);
    }
  }
}
