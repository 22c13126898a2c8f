enable subgroups;

// Batchnorm in training mode and groupnorm (each with an activation after
// it) with subgroup operations, for adapters with the 'subgroups' feature: the passes of
// parts/batchnorm.wgsl, as batchnorm.wgsl, but each statistic's WG partial
// sums meet as in reduce_subgroups.wgsl: subgroupAdd in registers, one
// value per subgroup through workgroup memory, and every thread folds
// those few after one barrier, instead of log2(WG) barrier rounds.
// Subgroups are consecutive runs of local_invocation_index (the backend
// checks it; see reduce_subgroups.wgsl).

// #include batchnorm

var<workgroup> partial: array<vec2f, WG>;   // one slot per subgroup

// Sums v over the workgroup; every thread gets the total.
fn workgroup_sum(t: u32, lane: u32, size: u32, v: vec2f) -> vec2f {
  let r = subgroupAdd(v);
  if (lane == 0u) { partial[t / size] = r; }
  workgroupBarrier();
  var total = partial[0];
  for (var s = 1u; s < (WG + size - 1u) / size; s++) { total += partial[s]; }
  workgroupBarrier();   // partial is reused by the next sum
  return total;
}

@compute @workgroup_size(WG)
fn batchnorm_forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) t: u32,
                     @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) size: u32) {
  let c = wid.x + wid.y * nwg.x;   // channels past 65535 wrap into the grid's y
  if (c >= p.channels) { return; }
  forward_channel(c, t, lane, size);
}

@compute @workgroup_size(WG)
fn batchnorm_backward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) t: u32,
                      @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) size: u32) {
  let c = wid.x + wid.y * nwg.x;
  if (c >= p.channels) { return; }
  backward_channel(c, t, lane, size);
}

@compute @workgroup_size(WG)
fn groupnorm_forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) t: u32,
                      @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) size: u32) {
  let r = wid.x + wid.y * nwg.x;
  if (r >= p.batch * p.groups) { return; }
  group_forward_row(r, t, lane, size);
}

@compute @workgroup_size(WG)
fn groupnorm_backward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) t: u32,
                      @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) size: u32) {
  let r = wid.x + wid.y * nwg.x;
  if (r >= p.batch * p.groups) { return; }
  group_backward_row(r, t, lane, size);
}

@compute @workgroup_size(WG)
fn groupnorm_params(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) t: u32,
                      @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) size: u32) {
  let r = wid.x + wid.y * nwg.x;
  if (r >= p.channels) { return; }
  group_params_channel(r, t, lane, size);
}
