enable subgroups;

// Row reductions over long rows with subgroup operations, for adapters with
// the 'subgroups' feature: out[r] = op over c of x[r, c], x: [rows, cols].
//
// As reduce.wgsl's long rows, a workgroup owns one row and each of its WG
// threads folds a strided share of the columns. The WG partial results then
// meet in two steps instead of reduce.wgsl's log2(WG) barrier rounds: each
// subgroup combines its lanes in registers (subgroupAdd / Max / Min), its
// first lane writes the subgroup's result to workgroup memory, one barrier,
// and thread 0 folds the WG / subgroup-size values (8 on a 32-wide GPU, 64
// on SwiftShader's 4-wide subgroups). Short rows stay in reduce.wgsl: a
// thread per row has nothing to share.
//
// A subgroup's slot is t / subgroup_size: subgroups are taken to be
// consecutive runs of local_invocation_index, as Vulkan, Metal and D3D12
// lay out a 1-D workgroup. WGSL does not promise it, so the backend runs
// subgroup_layout below once per device and uses this file only where it
// holds.

struct Params {
  rows: u32,
  cols: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

override WG: u32 = 256;

var<workgroup> partial: array<f32, WG>;   // one slot per subgroup

fn f32_from_bits(bits: u32) -> f32 {
  var b = bits;
  return bitcast<f32>(b);
}

fn is_nan(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u;
}

// op: 0 sum, 1 max, 2 min; max and min keep a NaN, as in reduce.wgsl.
fn combine(op: u32, u: f32, v: f32) -> f32 {
  let either_nan = is_nan(u) || is_nan(v);
  if (op == 1u) { return select(max(u, v), u + v, either_nan); }
  if (op == 2u) { return select(min(u, v), u + v, either_nan); }
  return u + v;
}

fn identity(op: u32) -> f32 {
  if (op == 1u) { return f32_from_bits(0xff800000u); }
  if (op == 2u) { return f32_from_bits(0x7f800000u); }
  return 0.0;
}

// The subgroup's combined value in every lane. subgroupMax/Min may drop a
// NaN, so a NaN in any lane is put back.
fn subgroup_combine(op: u32, v: f32) -> f32 {
  if (op == 0u) { return subgroupAdd(v); }
  let r = select(subgroupMin(v), subgroupMax(v), op == 1u);
  return select(r, f32_from_bits(0x7fc00000u), subgroupAny(is_nan(v)));
}

fn reduce_row(op: u32, row: u32, t: u32, lane: u32, size: u32) {
  var acc = identity(op);
  let base = row * p.cols;
  for (var c = t; c < p.cols; c += WG) {
    acc = combine(op, acc, x[base + c]);
  }
  acc = subgroup_combine(op, acc);
  if (lane == 0u) { partial[t / size] = acc; }
  workgroupBarrier();
  if (t == 0u) {
    var total = partial[0];
    for (var s = 1u; s < (WG + size - 1u) / size; s++) { total = combine(op, total, partial[s]); }
    out[row] = total;
  }
}

@compute @workgroup_size(WG) fn sum(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) t: u32,
                                    @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) size: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.rows) { return; }
  reduce_row(0u, row, t, lane, size);
}

@compute @workgroup_size(WG) fn max_op(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) t: u32,
                                       @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) size: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.rows) { return; }
  reduce_row(1u, row, t, lane, size);
}

@compute @workgroup_size(WG) fn min_op(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) t: u32,
                                       @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) size: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.rows) { return; }
  reduce_row(2u, row, t, lane, size);
}

// The layout check: out[t] = 1 where invocation t is not lane
// t - (its subgroup's first t), i.e. where t / subgroup_size would not
// name its subgroup; one workgroup of WG, run once per device.
@compute @workgroup_size(WG) fn subgroup_layout(@builtin(local_invocation_index) t: u32, @builtin(subgroup_invocation_id) lane: u32,
                                                @builtin(subgroup_size) size: u32) {
  let first = subgroupBroadcastFirst(t);
  let consecutive = first + lane == t && first % size == 0u;
  if (t < p.cols) { out[t] = select(1.0, 0.0, consecutive); }
}
