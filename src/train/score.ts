// How good are generated images? Two numbers from a trained Classifier
// (src/models/classifier.ts), computed the way FID and the Inception Score
// are, with our small classifier standing in for Inception:
//
// - the Fréchet distance between Gaussians fitted to the classifier's
//   penultimate features of generated and of real images (lower is better;
//   0 when the two feature distributions have the same mean and covariance);
// - class-distribution entropies: the entropy of the mean predicted class
//   distribution (high: every class is generated, up to ln(classes)) and the
//   mean entropy of each image's prediction (low: each image looks clearly
//   like one class).
//
// Plain float64 CPU code after one pass of the classifier; browser-safe.
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import type { Classifier } from '../models/classifier';
import { argmaxRows, classifierOutputs } from './classifier';

type Rows = Float64Array | Float32Array;

/** Mean [d] and unbiased covariance [d, d] of the n rows of x (n×d row-major), in float64. */
function meanAndCovariance(x: Rows, n: number, d: number): { mean: Float64Array; covariance: Matrix } {
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += x[i * d + j];
  for (let j = 0; j < d; j++) mean[j] /= n;
  // Two passes (centre, then multiply): no cancellation from E[xxᵀ] − μμᵀ.
  const sums = new Float64Array(d * d);
  const centred = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) centred[j] = x[i * d + j] - mean[j];
    for (let j = 0; j < d; j++) {
      const cj = centred[j];
      for (let k = j; k < d; k++) sums[j * d + k] += cj * centred[k];
    }
  }
  const covariance = new Matrix(d, d);
  for (let j = 0; j < d; j++) {
    for (let k = j; k < d; k++) {
      const v = sums[j * d + k] / (n - 1);
      covariance.set(j, k, v);
      covariance.set(k, j, v);
    }
  }
  return { mean, covariance };
}

/** Eigenvalues of a symmetric matrix, tiny negative ones (roundoff) clamped to 0, and its eigenvectors. */
function symmetricEigen(m: Matrix): { values: number[]; vectors: Matrix } {
  const e = new EigenvalueDecomposition(m, { assumeSymmetric: true });
  return { values: e.realEigenvalues.map((v) => Math.max(v, 0)), vectors: e.eigenvectorMatrix };
}

/** The symmetric positive semi-definite square root V·diag(√λ)·Vᵀ. */
function symmetricSqrt(m: Matrix): Matrix {
  const { values, vectors } = symmetricEigen(m);
  const scaled = vectors.clone();
  for (let j = 0; j < values.length; j++) scaled.mulColumn(j, Math.sqrt(values[j]));
  return scaled.mmul(vectors.transpose());
}

function symmetrize(m: Matrix): Matrix {
  return m.add(m.transpose()).mul(0.5);
}

function rowCount(where: string, name: string, x: Rows, d: number): number {
  const n = x.length / d;
  if (!Number.isInteger(n)) throw new Error(`${where}: ${name} has ${x.length} values, not a whole number of rows of ${d}`);
  if (n < 2) throw new Error(`${where}: ${name} has ${n} row(s); a covariance needs at least 2`);
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i])) throw new Error(`${where}: ${name} holds ${x[i]} at row ${Math.floor(i / d)}, column ${i % d}`);
  }
  return n;
}

/**
 * Fréchet distance between Gaussians fitted to two sets of feature rows
 * (n×d row-major, float64 accumulations):
 * ‖μa−μb‖² + tr(Σa + Σb − 2·(Σa^½ Σb Σa^½)^½). Covariances unbiased (n−1).
 * Symmetric eigendecompositions via ml-matrix; tiny negative eigenvalues are
 * clamped to 0. Throws if either set has fewer than 2 rows or its length is
 * not a whole number of rows of d.
 */
export function frechetDistance(a: Rows, b: Rows, d: number): number {
  const where = 'frechetDistance';
  if (!Number.isInteger(d) || d < 1) throw new Error(`${where}: d must be a positive integer, got ${d}`);
  const na = rowCount(where, 'a', a, d);
  const nb = rowCount(where, 'b', b, d);
  const A = meanAndCovariance(a, na, d);
  const B = meanAndCovariance(b, nb, d);

  let meanTerm = 0;
  for (let j = 0; j < d; j++) meanTerm += (A.mean[j] - B.mean[j]) ** 2;

  // tr((Σa Σb)^½) computed on the similar, symmetric Σa^½ Σb Σa^½, whose
  // eigenvalues are those of Σa Σb and real and ≥ 0.
  const rootA = symmetricSqrt(A.covariance);
  const middle = symmetrize(rootA.mmul(B.covariance).mmul(rootA));
  let traceRoot = 0;
  for (const v of symmetricEigen(middle).values) traceRoot += Math.sqrt(v);

  const distance = meanTerm + A.covariance.trace() + B.covariance.trace() - 2 * traceRoot;
  return Math.max(distance, 0); // ≥ 0 in exact arithmetic; a tiny negative is roundoff
}

/** −Σ p ln p over `classes` entries of p starting at `offset` (0 ln 0 = 0). */
function entropy(p: ArrayLike<number>, offset: number, classes: number): number {
  let h = 0;
  for (let c = 0; c < classes; c++) {
    const v = p[offset + c];
    if (v > 0) h -= v * Math.log(v);
  }
  return h;
}

/**
 * Entropy (nats) of the mean predicted class distribution (diversity; at
 * most ln(classes)) and the mean per-image entropy (confidence; low is good).
 * `probabilities` is [n, classes] row-major, each row summing to 1.
 */
export function classEntropies(probabilities: Float32Array, classes: number): { marginal: number; meanPerImage: number } {
  if (!Number.isInteger(classes) || classes < 1) throw new Error(`classEntropies: classes must be a positive integer, got ${classes}`);
  const n = probabilities.length / classes;
  if (!Number.isInteger(n) || n < 1) {
    throw new Error(`classEntropies: ${probabilities.length} probabilities are not a whole, non-zero number of rows of ${classes}`);
  }
  const mean = new Float64Array(classes);
  let perImage = 0;
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < classes; c++) mean[c] += probabilities[i * classes + c];
    perImage += entropy(probabilities, i * classes, classes);
  }
  for (let c = 0; c < classes; c++) mean[c] /= n;
  return { marginal: entropy(mean, 0, classes), meanPerImage: perImage / n };
}

/** Softmax of each row of logits [n, classes], in float64 and stored as float32. */
function softmaxRows(logits: Float32Array, classes: number): Float32Array {
  const out = new Float32Array(logits.length);
  for (let i = 0; i < logits.length; i += classes) {
    let max = -Infinity;
    for (let c = 0; c < classes; c++) max = Math.max(max, logits[i + c]);
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += Math.exp(logits[i + c] - max);
    for (let c = 0; c < classes; c++) out[i + c] = Math.exp(logits[i + c] - max) / sum;
  }
  return out;
}

export interface QualityScore {
  /** Fréchet distance between generated and real penultimate features */
  frechet: number;
  /** entropy of the mean class distribution of the generated images (nats) */
  marginalEntropy: number;
  /** mean entropy of each generated image's class distribution (nats) */
  meanEntropy: number;
  /** ln(classes): the marginal entropy of a perfectly even class mix */
  maxEntropy: number;
  samples: number;
  /** generated images per predicted class */
  classHistogram: number[];
}

/** What `values` floats most likely are, as n images, for an error message. */
function describeImages(values: number, n: number, channels: number): string {
  const perImage = values / n;
  if (!Number.isInteger(perImage)) return `${values} values (not ${n} equal images)`;
  for (const c of [channels, 1, 3]) {
    const side = Math.round(Math.sqrt(perImage / c));
    if (c * side * side === perImage) return `[${n}, ${c}, ${side}, ${side}]`;
  }
  return `[${n}, ${perImage}]`;
}

/**
 * Scores n generated images against n real ones ([n, C, s, s] row-major,
 * in [-1, 1]) with `classifier` (eval, no grad, batches of 256). Resizes
 * nothing: both must match the classifier's config.
 */
export async function qualityScore(classifier: Classifier, generated: Float32Array, real: Float32Array, n: number): Promise<QualityScore> {
  const { channels, size, classes } = classifier.config;
  if (!Number.isInteger(n) || n < 2) throw new Error(`qualityScore: n must be an integer ≥ 2 (a covariance needs 2 rows), got ${n}`);
  const expected = n * channels * size * size;
  for (const [name, images] of [['generated', generated], ['real', real]] as const) {
    if (images.length !== expected) {
      throw new Error(
        `qualityScore: ${name} images are ${describeImages(images.length, n, channels)}, ` +
          `but the classifier takes [${n}, ${channels}, ${size}, ${size}]`,
      );
    }
  }
  const fake = await classifierOutputs(classifier, generated, n);
  const truth = await classifierOutputs(classifier, real, n);
  const frechet = frechetDistance(fake.features, truth.features, fake.features.length / n);
  const { marginal, meanPerImage } = classEntropies(softmaxRows(fake.logits, classes), classes);
  const classHistogram = new Array<number>(classes).fill(0);
  for (const c of argmaxRows(fake.logits, classes)) classHistogram[c]++;
  return {
    frechet,
    marginalEntropy: marginal,
    meanEntropy: meanPerImage,
    maxEntropy: Math.log(classes),
    samples: n,
    classHistogram,
  };
}
