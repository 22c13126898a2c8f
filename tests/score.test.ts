// The image-quality score's maths, on the CPU: frechetDistance against
// closed forms and against a matrix square root computed another way
// (Denman–Beavers iteration on the non-symmetric product Σa·Σb), and
// classEntropies on distributions whose entropies are known. The score of
// real images through a trained classifier is in classifier.test.ts.
import { describe, it, expect } from 'vitest';
import { frechetDistance, classEntropies } from '../src/train/score';

// ---- helpers

/** mulberry32: a seeded stream of uniforms in [0, 1), independent of wgrad's. */
function uniforms(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normals by Box–Muller. */
function normals(seed: number): () => number {
  const u = uniforms(seed);
  return () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

/** n rows of μ + L·z, z ~ N(0, I): samples of N(μ, L·Lᵀ), row-major n×d. */
function gaussianRows(n: number, mean: number[], L: number[][], seed: number): Float64Array {
  const d = mean.length;
  const z = normals(seed);
  const out = new Float64Array(n * d);
  const zi = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < d; k++) zi[k] = z();
    for (let j = 0; j < d; j++) {
      let v = mean[j];
      for (let k = 0; k < d; k++) v += L[j][k] * zi[k];
      out[i * d + j] = v;
    }
  }
  return out;
}

type Mat = number[][];

/** Sample mean and unbiased covariance, from sums of x and x·xᵀ (not the way score.ts does it). */
function sampleMoments(x: Float64Array, d: number): { mean: number[]; cov: Mat } {
  const n = x.length / d;
  const s = new Array<number>(d).fill(0);
  const ss: Mat = Array.from({ length: d }, () => new Array<number>(d).fill(0));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      s[j] += x[i * d + j];
      for (let k = 0; k < d; k++) ss[j][k] += x[i * d + j] * x[i * d + k];
    }
  }
  const mean = s.map((v) => v / n);
  const cov = ss.map((row, j) => row.map((v, k) => (v - n * mean[j] * mean[k]) / (n - 1)));
  return { mean, cov };
}

function matmul(a: Mat, b: Mat): Mat {
  return a.map((row) => b[0].map((_, k) => row.reduce((s, v, j) => s + v * b[j][k], 0)));
}

function trace(a: Mat): number {
  return a.reduce((s, row, i) => s + row[i], 0);
}

/** Inverse by Gauss–Jordan elimination with partial pivoting. */
function inverse(a: Mat): Mat {
  const d = a.length;
  const m = a.map((row, i) => [...row, ...row.map((_, j) => (i === j ? 1 : 0))]);
  for (let c = 0; c < d; c++) {
    let p = c;
    for (let r = c + 1; r < d; r++) if (Math.abs(m[r][c]) > Math.abs(m[p][c])) p = r;
    [m[c], m[p]] = [m[p], m[c]];
    const pivot = m[c][c];
    for (let k = 0; k < 2 * d; k++) m[c][k] /= pivot;
    for (let r = 0; r < d; r++) {
      if (r === c) continue;
      const f = m[r][c];
      for (let k = 0; k < 2 * d; k++) m[r][k] -= f * m[c][k];
    }
  }
  return m.map((row) => row.slice(d));
}

/**
 * The principal square root of a matrix with positive real eigenvalues, by
 * the Denman–Beavers iteration: Y ← (Y + Z⁻¹)/2, Z ← (Z + Y⁻¹)/2 from
 * Y = A, Z = I; Y → A^½ quadratically. Σa·Σb is such a matrix (it is
 * similar to Σa^½·Σb·Σa^½), though not symmetric.
 */
function sqrtDenmanBeavers(a: Mat): Mat {
  let y: Mat = a.map((row) => [...row]);
  let z: Mat = a.map((row, i) => row.map((_, j) => (i === j ? 1 : 0)));
  for (let it = 0; it < 100; it++) {
    const yInv = inverse(y);
    const zInv = inverse(z);
    const next = y.map((row, i) => row.map((v, j) => (v + zInv[i][j]) / 2));
    z = z.map((row, i) => row.map((v, j) => (v + yInv[i][j]) / 2));
    const change = next.reduce((s, row, i) => s + row.reduce((t, v, j) => t + Math.abs(v - y[i][j]), 0), 0);
    y = next;
    if (change < 1e-15 * trace(y.map((row) => row.map(Math.abs)))) break;
  }
  return y;
}

/** The Fréchet distance from the moments, with tr((Σa Σb)^½) by Denman–Beavers. */
function frechetByDenmanBeavers(a: Float64Array, b: Float64Array, d: number): number {
  const A = sampleMoments(a, d);
  const B = sampleMoments(b, d);
  const meanTerm = A.mean.reduce((s, v, j) => s + (v - B.mean[j]) ** 2, 0);
  return meanTerm + trace(A.cov) + trace(B.cov) - 2 * trace(sqrtDenmanBeavers(matmul(A.cov, B.cov)));
}

function relativeError(actual: number, expected: number): number {
  return Math.abs(actual - expected) / Math.abs(expected);
}

// ---- frechetDistance

describe('frechetDistance', () => {
  const L4 = [
    [1.0, 0, 0, 0],
    [0.6, 0.8, 0, 0],
    [-0.3, 0.5, 1.2, 0],
    [0.2, -0.4, 0.1, 0.5],
  ];

  it('is ~0 between a set and itself', () => {
    const a = gaussianRows(400, [1, -2, 0.5, 3], L4, 1);
    const d = frechetDistance(a, a, 4);
    // relative to the size of the terms that cancel, tr(Σa) + tr(Σa)
    const scale = 2 * trace(sampleMoments(a, 4).cov);
    expect(d / scale, `d(a, a) = ${d}`).toBeLessThanOrEqual(1e-9);
    expect(frechetDistance(Float32Array.from(a), Float32Array.from(a), 4)).toBeLessThanOrEqual(1e-9 * scale);
  });

  it('matches ‖μ1−μ2‖² + Σ(σ1−σ2)² for Gaussians with diagonal covariances', () => {
    const mu1 = [0, 1, -1, 0.5];
    const mu2 = [0.5, 0, -1, 1];
    const s1 = [1, 0.5, 2, 1];
    const s2 = [0.5, 0.5, 1, 1.5];
    const diag = (s: number[]) => s.map((v, i) => s.map((_, j) => (i === j ? v : 0)));
    const n = 50_000;
    const a = gaussianRows(n, mu1, diag(s1), 2);
    const b = gaussianRows(n, mu2, diag(s2), 3);
    const exact = mu1.reduce((s, v, i) => s + (v - mu2[i]) ** 2, 0) + s1.reduce((s, v, i) => s + (v - s2[i]) ** 2, 0);
    expect(exact).toBe(3);
    // Sampling error, to first order in the estimates' errors: the sample mean
    // of dim i is off by N(0, σ²/n), moving ‖Δμ‖² by 2·Δμ_i·(that), variance
    // 4·Σ Δμ_i²(σ1_i² + σ2_i²)/n = 6.5/n; a sample std is off by N(0, σ²/2n),
    // moving Σ(Δσ)² with variance 2·Σ Δσ_i²(σ1_i² + σ2_i²)/n = 12.25/n. Sample
    // off-diagonal covariances (~σσ'/√n) and the zero-Δσ dims add only
    // second-order terms, O(d²/n) ≈ 3e-4. So the error's standard deviation is
    // √(18.75/n) ≈ 0.019 at n = 50,000; 0.1 is over 5 of them.
    const got = frechetDistance(a, b, 4);
    expect(Math.abs(got - exact), `d = ${got}, closed form ${exact}`).toBeLessThan(0.1);
  });

  it('matches a direct computation by Denman–Beavers iteration (non-diagonal, 4-D)', () => {
    const L4b = [
      [0.7, 0, 0, 0],
      [-0.2, 1.1, 0, 0],
      [0.4, 0.3, 0.6, 0],
      [0.9, 0.1, -0.5, 1.3],
    ];
    const a = gaussianRows(300, [1, -2, 0.5, 3], L4, 4);
    const b = gaussianRows(500, [0, -1, 1, 2], L4b, 5);
    const got = frechetDistance(a, b, 4);
    const direct = frechetByDenmanBeavers(a, b, 4);
    expect(relativeError(got, direct), `d = ${got}, Denman–Beavers ${direct}`).toBeLessThan(1e-9);
  });

  it('matches the 2×2 closed form tr(√M) = √(tr M + 2√det M)', () => {
    const a = gaussianRows(200, [0.5, 0], [[1, 0], [0.9, 0.3]], 6);
    const b = gaussianRows(250, [0, 0.5], [[0.4, 0], [-0.5, 1.5]], 7);
    const A = sampleMoments(a, 2);
    const B = sampleMoments(b, 2);
    const m = matmul(A.cov, B.cov);
    const det = m[0][0] * m[1][1] - m[0][1] * m[1][0];
    const traceRoot = Math.sqrt(trace(m) + 2 * Math.sqrt(det));
    const meanTerm = (A.mean[0] - B.mean[0]) ** 2 + (A.mean[1] - B.mean[1]) ** 2;
    const closed = meanTerm + trace(A.cov) + trace(B.cov) - 2 * traceRoot;
    const got = frechetDistance(a, b, 2);
    expect(relativeError(got, closed), `d = ${got}, closed form ${closed}`).toBeLessThan(1e-9);
  });

  it('is symmetric: d(a, b) = d(b, a)', () => {
    const a = gaussianRows(300, [1, -2, 0.5, 3], L4, 8);
    const b = gaussianRows(200, [0, 0, 0, 0], L4.map((row) => row.map((v) => 0.5 * v)), 9);
    const ab = frechetDistance(a, b, 4);
    const ba = frechetDistance(b, a, 4);
    expect(ab).toBeGreaterThan(1);
    expect(relativeError(ba, ab), `d(a,b) = ${ab}, d(b,a) = ${ba}`).toBeLessThan(1e-9);
  });

  it('handles singular covariances (fewer rows than dims): finite, ≥ 0, ~0 against itself', () => {
    const d = 8;
    const u = uniforms(10);
    const a = Float64Array.from({ length: 4 * d }, () => u());
    const b = Float64Array.from({ length: 5 * d }, () => u() + 1);
    const ab = frechetDistance(a, b, d);
    expect(Number.isFinite(ab) && ab > 0).toBe(true);
    expect(frechetDistance(a, a, d)).toBeLessThan(1e-9);
  });

  it('refuses fewer than 2 rows, ragged lengths, a bad d and non-finite values', () => {
    const ok = new Float64Array(12);
    expect(() => frechetDistance(new Float64Array(4), ok, 4)).toThrow(/a has 1 row\(s\); a covariance needs at least 2/);
    expect(() => frechetDistance(ok, new Float64Array(0), 4)).toThrow(/b has 0 row\(s\)/);
    expect(() => frechetDistance(ok, new Float64Array(10), 4)).toThrow(/b has 10 values, not a whole number of rows of 4/);
    expect(() => frechetDistance(ok, ok, 0)).toThrow(/d must be a positive integer/);
    const bad = new Float64Array(12);
    bad[5] = NaN;
    expect(() => frechetDistance(ok, bad, 4)).toThrow(/b holds NaN at row 1, column 1/);
  });
});

// ---- classEntropies

describe('classEntropies', () => {
  it('uniform predictions: both entropies are ln(classes)', () => {
    const p = new Float32Array(5 * 8).fill(1 / 8);
    const { marginal, meanPerImage } = classEntropies(p, 8);
    expect(marginal).toBeCloseTo(Math.log(8), 6);
    expect(meanPerImage).toBeCloseTo(Math.log(8), 6);
  });

  it('one-hot predictions: per-image entropy 0; marginal ln(k) over k classes used evenly, 0 for one class', () => {
    const classes = 4;
    const oneHot = (labels: number[]) => {
      const p = new Float32Array(labels.length * classes);
      labels.forEach((c, i) => (p[i * classes + c] = 1));
      return p;
    };
    const even = classEntropies(oneHot([0, 1, 2, 3, 3, 2, 1, 0]), classes);
    expect(even.meanPerImage).toBe(0);
    expect(even.marginal).toBeCloseTo(Math.log(4), 12);
    const two = classEntropies(oneHot([1, 3, 1, 3]), classes);
    expect(two.marginal).toBeCloseTo(Math.log(2), 12);
    const collapsed = classEntropies(oneHot([2, 2, 2]), classes);
    expect(collapsed).toEqual({ marginal: 0, meanPerImage: 0 });
  });

  it('refuses ragged or empty input', () => {
    expect(() => classEntropies(new Float32Array(7), 4)).toThrow(/7 probabilities are not a whole, non-zero number of rows of 4/);
    expect(() => classEntropies(new Float32Array(0), 4)).toThrow(/rows of 4/);
    expect(() => classEntropies(new Float32Array(4), 0)).toThrow(/classes must be a positive integer/);
  });
});
