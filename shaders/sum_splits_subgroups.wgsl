enable subgroups;
diagnostic(off, subgroup_uniformity);

// wgrad's split-K layers added with subgroup operations, for adapters with
// the 'subgroups' feature: dw[i] = Σ_s partial[s][i], partial: [splits, total].
//
// conv2d.wgsl's sum_splits gives each weight one thread that walks all
// `splits` layers in turn. A small weight with many splits (a 16-row wgrad
// split 64 ways: 512 threads adding 64 numbers each) leaves most of a GPU
// idle. Here a subgroup owns one weight: its lanes take the layers lane,
// lane + size, ... and subgroupAdd finishes the sum in registers, so the
// same sum is spread over 32× the threads on a 32-wide GPU. Which of the two
// is faster depends on the shape and the adapter: the tuner times both.
//
// A workgroup holds WG / subgroup_size weights, the subgroup's slot being
// t / subgroup_size (consecutive subgroups, as the backend checks once per
// device). The grid is sized for the adapter's largest subgroup size, so on
// a smaller one the last workgroups find nothing left to do. Every lane of a
// subgroup has the same i, so the early return leaves whole subgroups and
// subgroupAdd still runs in subgroup-uniform control flow (hence the
// diagnostic above: WGSL's analysis cannot see that).

struct Params {
  total: u32,    // elements of dw
  splits: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

override WG: u32 = 128;

@compute @workgroup_size(WG)
fn sum_splits(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) t: u32,
              @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) size: u32) {
  let per_group = max(1u, WG / size);
  let i = (wid.x + wid.y * nwg.x) * per_group + t / size;
  if (t / size >= per_group || i >= p.total) { return; }
  var acc = 0.0;
  for (var s = lane; s < p.splits; s += size) { acc += a[s * p.total + i]; }
  acc = subgroupAdd(acc);
  if (lane == 0u) { out[i] = acc; }
}
