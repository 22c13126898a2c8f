// Elementwise ops: each unary op as f(x) and f'(x) side by side, and the
// binary ops with NumPy-style broadcasting. Values follow PyTorch's, in
// float64, including its choice of derivative at each kink.

import type { BinaryOp, UnaryOp } from '../backend';
import { erfc } from './special';

interface UnaryRule {
  /** f(x); alpha and beta are the op's scalars */
  forward: (x: number, alpha: number, beta: number) => number;
  /** f'(x) */
  derivative: (x: number, alpha: number, beta: number) => number;
}

// x ** y as C's pow, and so PyTorch, defines it. JavaScript's ** already gives
// (-2) ** 3 = -8, (-2) ** 0.5 = NaN and 0 ** 0 = 1; it differs from C only in
// that C returns 1 for a base of 1 whatever the exponent (NaN included) and
// for a base of -1 with an infinite exponent, where ** gives NaN.
function pow(x: number, y: number): number {
  if (x === 1) return 1;
  if (x === -1 && (y === Infinity || y === -Infinity)) return 1;
  return x ** y;
}

function sigmoid(x: number): number {
  // exp(-x) overflows to Infinity for x < -709, and 1 / Infinity = 0 is right.
  return 1 / (1 + Math.exp(-x));
}

// Φ(x), the standard normal CDF, and φ(x), its density.
// Φ(x) = (1 + erf(x/√2)) / 2 = erfc(-x/√2) / 2; the erfc form keeps full
// relative precision in the far left tail, where 1 + erf(...) cancels.
function normalCdf(x: number): number {
  return 0.5 * erfc(-x / Math.SQRT2);
}

function normalPdf(x: number): number {
  return Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
}

const UNARY_RULES: Record<UnaryOp, UnaryRule> = {
  neg: {
    forward: (x) => -x,
    derivative: () => -1,
  },
  exp: {
    forward: (x) => Math.exp(x),
    derivative: (x) => Math.exp(x),
  },
  log: {
    forward: (x) => Math.log(x),
    derivative: (x) => 1 / x,
  },
  sqrt: {
    forward: (x) => Math.sqrt(x),
    derivative: (x) => 0.5 / Math.sqrt(x),
  },
  abs: {
    forward: (x) => Math.abs(x),
    // sign(x), with 0 at the kink as PyTorch
    derivative: (x) => (x > 0 ? 1 : x < 0 ? -1 : 0),
  },
  square: {
    forward: (x) => x * x,
    derivative: (x) => 2 * x,
  },
  relu: {
    // NaN stays NaN, as PyTorch: a relu must not hide a diverged value
    forward: (x) => (x <= 0 ? 0 : x),
    // 0 at the kink; PyTorch's test is on the output (y <= 0), so NaN passes the gradient
    derivative: (x) => (x <= 0 ? 0 : 1),
  },
  leakyRelu: {
    forward: (x, alpha) => (x > 0 ? x : alpha * x),
    // alpha at the kink, as PyTorch
    derivative: (x, alpha) => (x > 0 ? 1 : alpha),
  },
  tanh: {
    forward: (x) => Math.tanh(x),
    derivative: (x) => 1 - Math.tanh(x) ** 2,
  },
  sigmoid: {
    forward: (x) => sigmoid(x),
    derivative: (x) => sigmoid(x) * (1 - sigmoid(x)),
  },
  silu: {
    forward: (x) => x * sigmoid(x),
    // d/dx x·s(x) = s + x·s(1 - s) = s(1 + x(1 - s))
    derivative: (x) => {
      const s = sigmoid(x);
      return s * (1 + x * (1 - s));
    },
  },
  gelu: {
    // the exact gelu, x·Φ(x), not the tanh approximation
    forward: (x) => x * normalCdf(x),
    derivative: (x) => normalCdf(x) + x * normalPdf(x),
  },
  softplus: {
    // log(1 + e^x) rewritten so that e^x never overflows:
    // log(1 + e^x) = max(x, 0) + log(1 + e^-|x|)
    forward: (x) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x))),
    derivative: (x) => sigmoid(x),
  },
  clamp: {
    forward: (x, alpha, beta) => Math.min(Math.max(x, alpha), beta),
    // inclusive at both ends, as PyTorch
    derivative: (x, alpha, beta) => (x >= alpha && x <= beta ? 1 : 0),
  },
  addScalar: {
    forward: (x, alpha) => x + alpha,
    derivative: () => 1,
  },
  mulScalar: {
    forward: (x, alpha) => x * alpha,
    derivative: (_x, alpha) => alpha,
  },
  powScalar: {
    forward: (x, alpha) => pow(x, alpha),
    // x ** 0 is constant; without this case 0 * 0 ** -1 would give NaN at x = 0
    derivative: (x, alpha) => (alpha === 0 ? 0 : alpha * pow(x, alpha - 1)),
  },
};

// out[i] = f(x[i])                                    x: [n] -> out: [n]
export function unary(op: UnaryOp, x: Float64Array, alpha: number, beta: number): Float64Array {
  const rule = UNARY_RULES[op];
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    out[i] = rule.forward(x[i]!, alpha, beta);
  }
  return out;
}

// dx[i] = f'(x[i]) * g[i]                             x, g: [n] -> dx: [n]
export function unaryGrad(
  op: UnaryOp,
  x: Float64Array,
  g: Float64Array,
  alpha: number,
  beta: number,
): Float64Array {
  if (g.length !== x.length) {
    throw new Error(`cpu unaryGrad(${op}): x has ${x.length} elements but g has ${g.length}`);
  }
  const rule = UNARY_RULES[op];
  const dx = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    dx[i] = rule.derivative(x[i]!, alpha, beta) * g[i]!;
  }
  return dx;
}

const BINARY_RULES: Record<BinaryOp, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: (a, b) => pow(a, b),
  eq: (a, b) => (a === b ? 1 : 0),
};

// Strides for reading an array of `shape` while walking `outShape`: the
// ordinary row-major strides, except 0 along a broadcast dim (size 1), so
// that every index along it reads the one element there.
function broadcastStrides(name: string, shape: number[], outShape: number[], length: number): number[] {
  if (shape.length !== outShape.length) {
    throw new Error(`cpu binary: ${name} has rank ${shape.length}, out has rank ${outShape.length}`);
  }
  const strides = new Array<number>(shape.length).fill(0);
  let stride = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    const dim = shape[d]!;
    if (dim !== outShape[d] && dim !== 1) {
      throw new Error(`cpu binary: ${name} [${shape}] does not broadcast to [${outShape}]`);
    }
    strides[d] = dim === 1 ? 0 : stride;
    stride *= dim;
  }
  if (stride !== length) {
    throw new Error(`cpu binary: ${name} [${shape}] needs ${stride} elements, storage has ${length}`);
  }
  return strides;
}

// out[idx] = f(a[idx broadcast], b[idx broadcast])
// a: aShape, b: bShape -> out: outShape (all of one rank; a dim of a or b
// is either outShape's or 1)
export function binary(
  op: BinaryOp,
  a: Float64Array,
  aShape: number[],
  b: Float64Array,
  bShape: number[],
  outShape: number[],
): Float64Array {
  const f = BINARY_RULES[op];
  const aStrides = broadcastStrides('a', aShape, outShape, a.length);
  const bStrides = broadcastStrides('b', bShape, outShape, b.length);
  let size = 1;
  for (const dim of outShape) size *= dim;

  const out = new Float64Array(size);
  for (let i = 0; i < size; i++) {
    // Split the flat output index into per-dim indices, last dim fastest,
    // and turn each into an offset into a and into b.
    let rest = i;
    let aIndex = 0;
    let bIndex = 0;
    for (let d = outShape.length - 1; d >= 0; d--) {
      const index = rest % outShape[d]!;
      rest = Math.floor(rest / outShape[d]!);
      aIndex += index * aStrides[d]!;
      bIndex += index * bStrides[d]!;
    }
    out[i] = f(a[aIndex]!, b[bIndex]!);
  }
  return out;
}
