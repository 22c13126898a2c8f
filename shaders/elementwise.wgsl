// The elementwise family: every op that maps elements to elements.
//
//   unary_<op>   out[i] = f(a[i])                      (UnaryOp in TypeScript)
//   grad_<op>    out[i] = f'(a[i]) * b[i]              a: the forward's input, b: the gradient
//   binary_<op>  out[i] = f(a[.], b[.])                (BinaryOp) with NumPy broadcasting
//
// One invocation per output element; the grid is 2-D when n needs more than
// 65535 workgroups. For binary ops the output index is split into coordinates
// (rank <= 8, innermost last) and each input is read through its own strides,
// a broadcast dim having stride 0, so nothing is expanded in memory.
// Derivatives are taken from the forward's input, so a backward needs no
// saved output; at kinks we take PyTorch's side: relu'(0) = 0, abs'(0) = 0,
// clamp passes the gradient on the closed interval [min, max].

struct Params {
  n: u32,
  rank: u32,
  alpha: f32,   // leakyRelu slope, clamp min, the scalar of addScalar/mulScalar/powScalar
  beta: f32,    // clamp max
  out_shape: array<vec4u, 2>,
  a_strides: array<vec4u, 2>,
  b_strides: array<vec4u, 2>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

override WG: u32 = 256;

// #include activation

fn flat_index(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

// The flat positions in a and b of output element i (binary ops).
fn source_offsets(i: u32) -> vec2u {
  var rest = i;
  var offs = vec2u(0u, 0u);
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let size = p.out_shape[d / 4][d % 4];
    let coord = rest % size;
    rest = rest / size;
    offs += coord * vec2u(p.a_strides[d / 4][d % 4], p.b_strides[d / 4][d % 4]);
  }
  return offs;
}

// Infinity and NaN by their bits, from a var: as constants WGSL rejects them.
fn f32_from_bits(bits: u32) -> f32 {
  var b = bits;
  return bitcast<f32>(b);
}

// log and sqrt with IEEE's answers off the positive reals, which WGSL
// leaves undefined (SwiftShader's log(-inf) is 88.7).
fn ieee_log(x: f32) -> f32 {
  if (is_nan(x) || x < 0.0) { return f32_from_bits(0x7fc00000u); }
  if (x == 0.0) { return f32_from_bits(0xff800000u); }
  if (x > 3.4028234e38) { return x; }
  return log(x);
}

fn ieee_sqrt(x: f32) -> f32 {
  if (is_nan(x) || x < 0.0) { return f32_from_bits(0x7fc00000u); }
  if (x > 3.4028234e38) { return x; }
  return sqrt(x);
}

// x ** e with PyTorch's answers where WGSL's pow is undefined:
// a negative base with an integer exponent keeps its sign, 0 ** 0 = 1.
fn signed_pow(x: f32, e: f32) -> f32 {
  if (e == 0.0 || x == 1.0) { return 1.0; }
  if (is_nan(x) || is_nan(e)) { return x + e; }
  if (x == 0.0) { return select(0.0, f32_from_bits(0x7f800000u), e < 0.0); }
  if (x > 0.0) { return pow(x, e); }
  let odd = e == floor(e) && (e * 0.5) != floor(e * 0.5);
  if (x < -3.4028234e38) { // -inf, as C: inf or 0, negative for an odd integer exponent
    let m = select(0.0, f32_from_bits(0x7f800000u), e > 0.0);
    return select(m, -m, odd);
  }
  if (e != floor(e)) { return f32_from_bits(0x7fc00000u); }
  let m = pow(-x, e);
  return select(m, -m, odd);
}

// Φ(x) through erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7, below float32's step).
fn normal_cdf(x: f32) -> f32 {
  let z = abs(x) * 0.70710678118654752;
  let t = 1.0 / (1.0 + 0.3275911 * z);
  let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  let erf_z = 1.0 - poly * exp(-z * z);
  return 0.5 * (1.0 + sign(x) * erf_z);
}

// ---- unary forward
@compute @workgroup_size(WG) fn unary_neg(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg); if (i >= p.n) { return; }
  let v = a[i];
  out[i] = -v;
}
@compute @workgroup_size(WG) fn unary_exp(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg); if (i >= p.n) { return; }
  let v = a[i];
  out[i] = keep_nan(v, exp(v));
}
@compute @workgroup_size(WG) fn unary_log(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg); if (i >= p.n) { return; }
  let v = a[i];
  out[i] = ieee_log(v);
}
@compute @workgroup_size(WG) fn unary_sqrt(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg); if (i >= p.n) { return; }
  let v = a[i];
  out[i] = ieee_sqrt(v);
}
@compute @workgroup_size(WG) fn unary_abs(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg); if (i >= p.n) { return; }
  let v = a[i];
  out[i] = abs(v);
}
@compute @workgroup_size(WG) fn unary_square(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg); if (i >= p.n) { return; }
  let v = a[i];
  out[i] = v * v;
}
@compute @workgroup_size(WG) fn unary_relu(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg); if (i >= p.n) { return; }
  let v = a[i];
  out[i] = relu_f(v);
}
@compute @workgroup_size(WG) fn unary_leakyRelu(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg); if (i >= p.n) { return; }
  let v = a[i];
  out[i] = leaky_relu_f(v, p.alpha);
}
@compute @workgroup_size(WG) fn unary_tanh(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg); if (i >= p.n) { return; }
  let v = a[i];
  out[i] = tanh_f(v);
}
@compute @workgroup_size(WG) fn unary_sigmoid(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg); if (i >= p.n) { return; }
  let v = a[i];
  out[i] = sigmoid_act(v);
}
@compute @workgroup_size(WG) fn unary_silu(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg); if (i >= p.n) { return; }
  let v = a[i];
  out[i] = silu_f(v);
}
@compute @workgroup_size(WG) fn unary_gelu(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg); if (i >= p.n) { return; }
  let v = a[i];
  out[i] = keep_nan(v, v * normal_cdf(v));
}
@compute @workgroup_size(WG) fn unary_softplus(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg); if (i >= p.n) { return; }
  let v = a[i];
  out[i] = keep_nan(v, max(v, 0.0) + log(1.0 + exp(-abs(v))));
}
@compute @workgroup_size(WG) fn unary_clamp(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg); if (i >= p.n) { return; }
  let v = a[i];
  out[i] = select(min(max(v, p.alpha), p.beta), v, is_nan(v)); // min/max may drop a NaN
}
@compute @workgroup_size(WG) fn unary_addScalar(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg); if (i >= p.n) { return; }
  let v = a[i];
  out[i] = v + p.alpha;
}
@compute @workgroup_size(WG) fn unary_mulScalar(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg); if (i >= p.n) { return; }
  let v = a[i];
  out[i] = v * p.alpha;
}
@compute @workgroup_size(WG) fn unary_powScalar(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg); if (i >= p.n) { return; }
  let v = a[i];
  out[i] = signed_pow(v, p.alpha);
}

// ---- unary gradient
@compute @workgroup_size(WG) fn grad_neg(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg); if (i >= p.n) { return; }
  let v = a[i];
  let gv = b[i];
  out[i] = -gv;
}
@compute @workgroup_size(WG) fn grad_exp(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg); if (i >= p.n) { return; }
  let v = a[i];
  let gv = b[i];
  out[i] = exp(v) * gv;
}
@compute @workgroup_size(WG) fn grad_log(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg); if (i >= p.n) { return; }
  let v = a[i];
  let gv = b[i];
  out[i] = gv / v;
}
@compute @workgroup_size(WG) fn grad_sqrt(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg); if (i >= p.n) { return; }
  let v = a[i];
  let gv = b[i];
  out[i] = 0.5 * gv / sqrt(v);
}
@compute @workgroup_size(WG) fn grad_abs(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg); if (i >= p.n) { return; }
  let v = a[i];
  let gv = b[i];
  out[i] = sign(v) * gv;
}
@compute @workgroup_size(WG) fn grad_square(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg); if (i >= p.n) { return; }
  let v = a[i];
  let gv = b[i];
  out[i] = 2.0 * v * gv;
}
@compute @workgroup_size(WG) fn grad_relu(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg); if (i >= p.n) { return; }
  let v = a[i];
  let gv = b[i];
  out[i] = relu_grad(v, gv);
}
@compute @workgroup_size(WG) fn grad_leakyRelu(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg); if (i >= p.n) { return; }
  let v = a[i];
  let gv = b[i];
  out[i] = leaky_relu_grad(v, gv, p.alpha);
}
@compute @workgroup_size(WG) fn grad_tanh(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg); if (i >= p.n) { return; }
  let v = a[i];
  let gv = b[i];
  out[i] = tanh_grad(v, gv);
}
@compute @workgroup_size(WG) fn grad_sigmoid(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg); if (i >= p.n) { return; }
  let v = a[i];
  let gv = b[i];
  out[i] = sigmoid_grad(v, gv);
}
@compute @workgroup_size(WG) fn grad_silu(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg); if (i >= p.n) { return; }
  let v = a[i];
  let gv = b[i];
  out[i] = silu_grad(v, gv);
}
@compute @workgroup_size(WG) fn grad_gelu(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg); if (i >= p.n) { return; }
  let v = a[i];
  let gv = b[i];
  out[i] = (normal_cdf(v) + v * 0.39894228040143268 * exp(-0.5 * v * v)) * gv;
}
@compute @workgroup_size(WG) fn grad_softplus(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg); if (i >= p.n) { return; }
  let v = a[i];
  let gv = b[i];
  out[i] = sigmoid_f(v) * gv;
}
@compute @workgroup_size(WG) fn grad_clamp(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg); if (i >= p.n) { return; }
  let v = a[i];
  let gv = b[i];
  out[i] = select(0.0, gv, v >= p.alpha && v <= p.beta);
}
@compute @workgroup_size(WG) fn grad_addScalar(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg); if (i >= p.n) { return; }
  let v = a[i];
  let gv = b[i];
  out[i] = gv;
}
@compute @workgroup_size(WG) fn grad_mulScalar(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg); if (i >= p.n) { return; }
  let v = a[i];
  let gv = b[i];
  out[i] = p.alpha * gv;
}
@compute @workgroup_size(WG) fn grad_powScalar(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg); if (i >= p.n) { return; }
  let v = a[i];
  let gv = b[i];
  out[i] = select(p.alpha * signed_pow(v, p.alpha - 1.0), 0.0, p.alpha == 0.0) * gv;
}

// ---- binary, broadcast
@compute @workgroup_size(WG) fn binary_add(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg); if (i >= p.n) { return; }
  let o = source_offsets(i);
  let av = a[o.x];
  let bv = b[o.y];
  out[i] = av + bv;
}
@compute @workgroup_size(WG) fn binary_sub(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg); if (i >= p.n) { return; }
  let o = source_offsets(i);
  let av = a[o.x];
  let bv = b[o.y];
  out[i] = av - bv;
}
@compute @workgroup_size(WG) fn binary_mul(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg); if (i >= p.n) { return; }
  let o = source_offsets(i);
  let av = a[o.x];
  let bv = b[o.y];
  out[i] = av * bv;
}
@compute @workgroup_size(WG) fn binary_div(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg); if (i >= p.n) { return; }
  let o = source_offsets(i);
  let av = a[o.x];
  let bv = b[o.y];
  out[i] = av / bv;
}
@compute @workgroup_size(WG) fn binary_pow(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg); if (i >= p.n) { return; }
  let o = source_offsets(i);
  let av = a[o.x];
  let bv = b[o.y];
  out[i] = signed_pow(av, bv);
}
@compute @workgroup_size(WG) fn binary_eq(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg); if (i >= p.n) { return; }
  let o = source_offsets(i);
  let av = a[o.x];
  let bv = b[o.y];
  out[i] = select(0.0, 1.0, av == bv);
}
