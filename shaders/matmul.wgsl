// Batched matrix product: out[z] = op(A[z]) @ op(B[z]), out: [batch, m, n].
//
// Tiling. A workgroup of WG_X × WG_Y threads owns a BM × BN block of the
// output (BM = 4·WG_Y rows, BN = 4·WG_X columns) and walks k in steps of
// TILE_K. Each step it copies a TILE_K × BM slab of A and a TILE_K × BN slab
// of B into workgroup memory (every thread loads a few elements, ordered so
// neighbouring threads read neighbouring addresses whatever the layout),
// then every thread multiplies out its own 4 × 4 register block from those
// slabs: 8 loads from workgroup memory feed 16 multiply-adds, where a naive
// kernel does 2 global loads per multiply-add. A thread's rows are
// lid.y + i·WG_Y and its columns lid.x + j·WG_X (strided rather than
// adjacent) so that a row of threads reads consecutive slab addresses.
//
// Transposed operands are read in place: with TRANS_A, A[z] is stored
// [k, m] and the slab load just swaps which index runs fastest; TRANS_B
// likewise for B stored [n, k]. The backward pass (dA = dC·Bᵀ, dB = Aᵀ·dC)
// therefore never materializes a transpose. A batch stride of 0 shares one
// matrix across the batch (a weight against a batch of inputs).
// Edges: loads outside the matrix read 0, stores outside are skipped, so any
// m, n, k work; only the last tiles do wasted work.

struct Params {
  m: u32,
  n: u32,
  k: u32,
  a_batch_stride: u32,
  b_batch_stride: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

override WG_X: u32 = 16;
override WG_Y: u32 = 16;
override TILE_K: u32 = 16;
override TRANS_A: bool = false;
override TRANS_B: bool = false;

const TM = 4u;   // rows of the output each thread owns
const TN = 4u;   // columns of the output each thread owns

var<workgroup> a_slab: array<f32, TILE_K * WG_Y * TM>;   // [TILE_K][BM]
var<workgroup> b_slab: array<f32, TILE_K * WG_X * TN>;   // [TILE_K][BN]

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

@compute @workgroup_size(WG_X, WG_Y, 1)
fn matmul(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let bm = WG_Y * TM;
  let bn = WG_X * TN;
  let row0 = wid.y * bm;
  let col0 = wid.x * bn;
  let z = wid.z;
  let a_base = z * p.a_batch_stride;
  let b_base = z * p.b_batch_stride;
  let t = lid.y * WG_X + lid.x;
  let threads = WG_X * WG_Y;

  var acc: array<f32, 16>;   // TM × TN, row-major
  for (var k0 = 0u; k0 < p.k; k0 += TILE_K) {
    // Slab loads: the fastest-running index follows the memory layout.
    for (var e = t; e < TILE_K * bm; e += threads) {
      var r: u32; var kk: u32;
      if (TRANS_A) { r = e % bm; kk = e / bm; } else { kk = e % TILE_K; r = e / TILE_K; }
      a_slab[kk * bm + r] = load_a(a_base, row0 + r, k0 + kk);
    }
    for (var e = t; e < TILE_K * bn; e += threads) {
      var c: u32; var kk: u32;
      if (TRANS_B) { kk = e % TILE_K; c = e / TILE_K; } else { c = e % bn; kk = e / bn; }
      b_slab[kk * bn + c] = load_b(b_base, k0 + kk, col0 + c);
    }
    workgroupBarrier();

    for (var kk = 0u; kk < TILE_K; kk++) {
      var av: array<f32, 4>;
      var bv: array<f32, 4>;
      for (var i = 0u; i < TM; i++) { av[i] = a_slab[kk * bm + lid.y + i * WG_Y]; }
      for (var j = 0u; j < TN; j++) { bv[j] = b_slab[kk * bn + lid.x + j * WG_X]; }
      for (var i = 0u; i < TM; i++) {
        for (var j = 0u; j < TN; j++) {
          acc[i * TN + j] = fma(av[i], bv[j], acc[i * TN + j]);
        }
      }
    }
    workgroupBarrier();
  }

  let out_base = z * p.m * p.n;
  for (var i = 0u; i < TM; i++) {
    let row = row0 + lid.y + i * WG_Y;
    if (row >= p.m) { continue; }
    for (var j = 0u; j < TN; j++) {
      let col = col0 + lid.x + j * WG_X;
      if (col < p.n) { out[out_base + row * p.n + col] = acc[i * TN + j]; }
    }
  }
}
