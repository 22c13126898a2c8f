// A workgroup's sum of one vec2f per thread, through a tree in workgroup
// memory (log2(WG) barrier rounds); every thread gets the total. lane and
// size are the subgroup version's (batchnorm_subgroups.wgsl), unused here.
// The including shader defines the override WG.

var<workgroup> partial: array<vec2f, WG>;

fn workgroup_sum(t: u32, lane: u32, size: u32, v: vec2f) -> vec2f {
  partial[t] = v;
  workgroupBarrier();
  for (var half = WG / 2u; half > 0u; half /= 2u) {
    if (t < half) { partial[t] += partial[t + half]; }
    workgroupBarrier();
  }
  let total = partial[0];
  workgroupBarrier();
  return total;
}
