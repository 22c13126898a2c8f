// 2-D max and average pooling, NCHW, and their gradients; geometry as
// PoolGeometry in TypeScript. Window (i, j) covers input rows
// i·stride_h - pad_h + [0, k_h) and columns likewise; padding is never a
// candidate for the max, and the average divides by k_h·k_w (PyTorch's
// count_include_pad).
//
// Forward: one invocation per output element, looping over its window.
// Backward: one invocation per input element, gathering from the windows
// that cover it (at most ⌈k/s⌉² of them), so overlapping windows
// (stride < kernel) need no atomics. Max pooling's backward routes dy only
// to the window's recorded argmax (the flat h·W + w of the first maximum).

struct Params {
  planes: u32,   // batch · channels
  in_h: u32,
  in_w: u32,
  out_h: u32,
  out_w: u32,
  k_h: u32,
  k_w: u32,
  stride_h: u32,
  stride_w: u32,
  pad_h: u32,
  pad_w: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;       // x (forward) or dy (backward)
@group(0) @binding(2) var<storage, read> argmax_in: array<f32>; // max backward only
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read_write> argmax_out: array<f32>; // max forward only

override WG: u32 = 256;

// By the bits, since WGSL lets a compiler assume that x != x is false.
fn is_nan(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u;
}

fn flat_index(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

// (plane, oh, ow) of output element i, or (plane, h, w) of input element i.
fn output_coords(i: u32) -> vec3u {
  return vec3u(i / (p.out_h * p.out_w), (i / p.out_w) % p.out_h, i % p.out_w);
}

fn input_coords(i: u32) -> vec3u {
  return vec3u(i / (p.in_h * p.in_w), (i / p.in_w) % p.in_h, i % p.in_w);
}

// The output windows covering input coordinate `x` along one axis: [first, last].
fn covering(x: u32, pad: u32, k: u32, stride: u32, count: u32) -> vec2i {
  let shifted = i32(x + pad);
  let first = max(0, (shifted - i32(k) + i32(stride)) / i32(stride));
  let last = min(i32(count) - 1, shifted / i32(stride));
  return vec2i(first, last);
}

@compute @workgroup_size(WG) fn max_pool(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg);
  if (i >= p.planes * p.out_h * p.out_w) { return; }
  let at_out = output_coords(i);
  let plane = at_out.x;
  let oh = at_out.y;
  let ow = at_out.z;
  var best = 0.0;
  var best_at = -1;
  for (var a = 0u; a < p.k_h; a++) {
    let ih = i32(oh * p.stride_h + a) - i32(p.pad_h);
    if (ih < 0 || u32(ih) >= p.in_h) { continue; }
    for (var b = 0u; b < p.k_w; b++) {
      let iw = i32(ow * p.stride_w + b) - i32(p.pad_w);
      if (iw < 0 || u32(iw) >= p.in_w) { continue; }
      let at = ih * i32(p.in_w) + iw;
      let v = src[plane * p.in_h * p.in_w + u32(at)];
      // strictly greater keeps the first maximum; NaN wins, as in PyTorch
      if (best_at < 0 || v > best || (is_nan(v) && !is_nan(best))) {
        best = v;
        best_at = at;
      }
    }
  }
  out[i] = best;
  argmax_out[i] = f32(best_at);
}

@compute @workgroup_size(WG) fn max_pool_grad(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg);
  if (i >= p.planes * p.in_h * p.in_w) { return; }
  let at_in = input_coords(i);
  let plane = at_in.x;
  let h = at_in.y;
  let w = at_in.z;
  let here = f32(h * p.in_w + w);
  let rows = covering(h, p.pad_h, p.k_h, p.stride_h, p.out_h);
  let cols = covering(w, p.pad_w, p.k_w, p.stride_w, p.out_w);
  var acc = 0.0;
  for (var oh = rows.x; oh <= rows.y; oh++) {
    for (var ow = cols.x; ow <= cols.y; ow++) {
      let o = (plane * p.out_h + u32(oh)) * p.out_w + u32(ow);
      if (argmax_in[o] == here) { acc += src[o]; }
    }
  }
  out[i] = acc;
}

@compute @workgroup_size(WG) fn avg_pool(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg);
  if (i >= p.planes * p.out_h * p.out_w) { return; }
  let at_out = output_coords(i);
  let plane = at_out.x;
  let oh = at_out.y;
  let ow = at_out.z;
  var acc = 0.0;
  for (var a = 0u; a < p.k_h; a++) {
    let ih = i32(oh * p.stride_h + a) - i32(p.pad_h);
    if (ih < 0 || u32(ih) >= p.in_h) { continue; }
    for (var b = 0u; b < p.k_w; b++) {
      let iw = i32(ow * p.stride_w + b) - i32(p.pad_w);
      if (iw < 0 || u32(iw) >= p.in_w) { continue; }
      acc += src[(plane * p.in_h + u32(ih)) * p.in_w + u32(iw)];
    }
  }
  out[i] = acc / f32(p.k_h * p.k_w);
}

@compute @workgroup_size(WG) fn avg_pool_grad(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg);
  if (i >= p.planes * p.in_h * p.in_w) { return; }
  let at_in = input_coords(i);
  let plane = at_in.x;
  let h = at_in.y;
  let w = at_in.z;
  let rows = covering(h, p.pad_h, p.k_h, p.stride_h, p.out_h);
  let cols = covering(w, p.pad_w, p.k_w, p.stride_w, p.out_w);
  var acc = 0.0;
  for (var oh = rows.x; oh <= rows.y; oh++) {
    for (var ow = cols.x; ow <= cols.y; ow++) {
      acc += src[(plane * p.out_h + u32(oh)) * p.out_w + u32(ow)];
    }
  }
  out[i] = acc / f32(p.k_h * p.k_w);
}
