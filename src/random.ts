// The seeded random stream behind rand, randn and dropout. Numbers are made
// here, on the CPU, and uploaded, so a seed gives the same values on every
// backend (rounded to float32 first, so the CPU reference holds exactly
// what the GPU holds). xoshiro128** for the bits; Box–Muller for normals.
// slerpRows walks between two draws of noise (latent interpolation).

export type RandomState = [number, number, number, number];

let state: RandomState = [0, 0, 0, 0];
seed(0);

function splitmix32(x: number): () => number {
  return () => {
    x = (x + 0x9e3779b9) | 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** Restarts the stream from `s` (an integer). */
export function seed(s: number): void {
  const next = splitmix32(Math.floor(s) | 0);
  state = [next(), next(), next(), next()];
}

export function getRandomState(): RandomState {
  return [...state];
}

export function setRandomState(s: RandomState): void {
  if (s.length !== 4 || s.some((v) => !Number.isInteger(v) || v < 0 || v > 0xffffffff)) {
    throw new Error(`setRandomState: expected four unsigned 32-bit integers, got [${s.join(', ')}]`);
  }
  state = [...s];
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** The next 32 random bits (xoshiro128**). */
function nextUint32(): number {
  const [s0, s1, s2, s3] = state;
  const result = Math.imul(rotl(Math.imul(s1, 5) >>> 0, 7), 9) >>> 0;
  const t = (s1 << 9) >>> 0;
  let n2 = (s2 ^ s0) >>> 0;
  let n3 = (s3 ^ s1) >>> 0;
  const n1 = (s1 ^ n2) >>> 0;
  const n0 = (s0 ^ n3) >>> 0;
  n2 = (n2 ^ t) >>> 0;
  n3 = rotl(n3, 11);
  state = [n0, n1, n2, n3];
  return result;
}

/** Uniform in [0, 1), 24 random bits: exactly representable in float32. */
export function uniform(): number {
  return (nextUint32() >>> 8) / 16777216;
}

/** `n` uniform numbers in [low, high). */
export function uniformArray(n: number, low = 0, high = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = low + (high - low) * uniform();
  return out;
}

/** `n` standard normal numbers (Box–Muller, both outputs used). */
export function normalArray(n: number, mean = 0, std = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u1 = 1 - uniform(); // (0, 1]: log stays finite
    const u2 = uniform();
    const r = Math.sqrt(-2 * Math.log(u1));
    out[i] = mean + std * r * Math.cos(2 * Math.PI * u2);
    if (i + 1 < n) out[i + 1] = mean + std * r * Math.sin(2 * Math.PI * u2);
  }
  return out;
}

/**
 * Spherical interpolation between the rows of a and b (each [n, d],
 * row-major) at t ∈ [0, 1]: the path stays at the norm Gaussian noise
 * has, where a straight line would pass near the origin. Linear where two
 * rows are (nearly) parallel.
 */
export function slerpRows(a: Float32Array, b: Float32Array, d: number, t: number): Float32Array {
  if (a.length !== b.length || a.length % d !== 0) throw new Error(`slerpRows: ${a.length} and ${b.length} values are not two [n, ${d}] arrays`);
  const out = new Float32Array(a.length);
  for (let row = 0; row < a.length / d; row++) {
    let dot = 0, na = 0, nb = 0;
    for (let i = row * d; i < (row + 1) * d; i++) {
      dot += a[i] * b[i];
      na += a[i] * a[i];
      nb += b[i] * b[i];
    }
    const omega = Math.acos(Math.max(-1, Math.min(1, dot / Math.sqrt(na * nb || 1))));
    const s = Math.sin(omega);
    const [wa, wb] = s < 1e-6 ? [1 - t, t] : [Math.sin((1 - t) * omega) / s, Math.sin(t * omega) / s];
    for (let i = row * d; i < (row + 1) * d; i++) out[i] = wa * a[i] + wb * b[i];
  }
  return out;
}
