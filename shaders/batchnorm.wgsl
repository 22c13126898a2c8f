// Batchnorm in training mode and groupnorm (each with an activation after
// it), fused: the passes are parts/batchnorm.wgsl's; here each pass's
// partial sums meet in a tree in workgroup memory.

// #include batchnorm

// #include workgroup_sum

@compute @workgroup_size(WG)
fn batchnorm_forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) t: u32) {
  let c = wid.x + wid.y * nwg.x;   // channels past 65535 wrap into the grid's y
  if (c >= p.channels) { return; }
  forward_channel(c, t, 0u, 1u);
}

@compute @workgroup_size(WG)
fn batchnorm_backward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) t: u32) {
  let c = wid.x + wid.y * nwg.x;
  if (c >= p.channels) { return; }
  backward_channel(c, t, 0u, 1u);
}

@compute @workgroup_size(WG)
fn groupnorm_forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) t: u32) {
  let r = wid.x + wid.y * nwg.x;
  if (r >= p.batch * p.groups) { return; }
  group_forward_row(r, t, 0u, 1u);
}

@compute @workgroup_size(WG)
fn groupnorm_backward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) t: u32) {
  let r = wid.x + wid.y * nwg.x;
  if (r >= p.batch * p.groups) { return; }
  group_backward_row(r, t, 0u, 1u);
}

@compute @workgroup_size(WG)
fn groupnorm_params(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) t: u32) {
  let r = wid.x + wid.y * nwg.x;
  if (r >= p.channels) { return; }
  group_params_channel(r, t, 0u, 1u);
}
