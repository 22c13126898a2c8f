// The activations, one definition each: elementwise.wgsl's unary_* and
// grad_* call them, and a kernel that applies one to its own result (a
// fused epilogue, as batchnorm.wgsl) picks it with the override ACT:
//   0 none, 1 relu, 2 leakyRelu (slope alpha), 3 tanh, 4 sigmoid, 5 silu
// *_grad(v, g) is f'(v) · g at the pre-activation v; at kinks PyTorch's
// side: relu'(0) = 0, leakyRelu'(0) = alpha.
// Spliced into a shader where it says `// #include activation`.

override ACT: u32 = 0u;

// By the bits, since WGSL lets a compiler assume that x != x is false.
fn is_nan(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u;
}

// f(x) where x is not NaN, else x: SwiftShader's exp, for one, turns NaN into +inf.
fn keep_nan(x: f32, fx: f32) -> f32 {
  return select(fx, x, is_nan(x));
}

// Two branches so exp never overflows.
fn sigmoid_f(x: f32) -> f32 {
  if (x >= 0.0) { return 1.0 / (1.0 + exp(-x)); }
  let e = exp(x);
  return e / (1.0 + e);
}

fn relu_f(v: f32) -> f32 { return select(v, 0.0, v <= 0.0); }   // NaN stays NaN, as PyTorch
fn leaky_relu_f(v: f32, alpha: f32) -> f32 { return select(alpha * v, v, v > 0.0); }
fn tanh_f(v: f32) -> f32 { return keep_nan(v, select(tanh(v), sign(v), abs(v) > 10.0)); }   // tanh(±10) is ±1 in float32
fn sigmoid_act(v: f32) -> f32 { return keep_nan(v, sigmoid_f(v)); }
fn silu_f(v: f32) -> f32 { return keep_nan(v, v * sigmoid_f(v)); }

fn relu_grad(v: f32, g: f32) -> f32 { return select(g, 0.0, v <= 0.0); }   // PyTorch tests y <= 0: NaN passes the gradient
fn leaky_relu_grad(v: f32, g: f32, alpha: f32) -> f32 { return select(alpha * g, g, v > 0.0); }
fn tanh_grad(v: f32, g: f32) -> f32 { return (1.0 - tanh(v) * tanh(v)) * g; }
fn sigmoid_grad(v: f32, g: f32) -> f32 { return sigmoid_f(v) * (1.0 - sigmoid_f(v)) * g; }
fn silu_grad(v: f32, g: f32) -> f32 { return sigmoid_f(v) * (1.0 + v * (1.0 - sigmoid_f(v))) * g; }

fn activate(v: f32, alpha: f32) -> f32 {
  if (ACT == 1u) { return relu_f(v); }
  if (ACT == 2u) { return leaky_relu_f(v, alpha); }
  if (ACT == 3u) { return tanh_f(v); }
  if (ACT == 4u) { return sigmoid_act(v); }
  if (ACT == 5u) { return silu_f(v); }
  return v;
}

// f'(z) · g from the output y = f(z), for the activations whose derivative
// y determines (relu, leakyRelu with a slope ≥ 0, tanh, sigmoid): what a
// kernel that keeps only its output (a conv's epilogue) needs backward.
fn activate_grad_from_output(y: f32, g: f32, alpha: f32) -> f32 {
  if (ACT == 1u) { return relu_grad(y, g); }
  if (ACT == 2u) { return leaky_relu_grad(y, g, alpha); }
  if (ACT == 3u) { return (1.0 - y * y) * g; }
  if (ACT == 4u) { return y * (1.0 - y) * g; }
  return g;
}

fn activate_grad(v: f32, g: f32, alpha: f32) -> f32 {
  if (ACT == 1u) { return relu_grad(v, g); }
  if (ACT == 2u) { return leaky_relu_grad(v, g, alpha); }
  if (ACT == 3u) { return tanh_grad(v, g); }
  if (ACT == 4u) { return sigmoid_grad(v, g); }
  if (ACT == 5u) { return silu_grad(v, g); }
  return g;
}
