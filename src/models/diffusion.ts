// Denoising diffusion: the noise schedule, the forward noising q(x_t | x_0),
// the ε-prediction loss, and two samplers over a trained U-Net.
//
//   schedule   β_1..β_T (linear, Ho et al. 2020; or cosine, Nichol & Dhariwal 2021),
//              α_t = 1 − β_t, ᾱ_t = ∏_{s≤t} α_s. Indices here are 0-based: t ∈ [0, T).
//   forward    x_t = √ᾱ_t · x_0 + √(1 − ᾱ_t) · ε,  ε ~ N(0, I)
//   loss       ‖ε − ε̂(x_t, t)‖² averaged, with t uniform over [0, T)
//   DDPM       x_{t−1} ~ N(μ̃_t(x_t, x̂_0), β̃_t), the posterior q(x_{t−1} | x_t, x̂_0):
//              μ̃_t = β_t √ᾱ_{t−1} / (1 − ᾱ_t) · x̂_0 + √α_t (1 − ᾱ_{t−1}) / (1 − ᾱ_t) · x_t,
//              β̃_t = β_t (1 − ᾱ_{t−1}) / (1 − ᾱ_t)
//   DDIM       (Song et al. 2021) on K timesteps τ evenly spaced over [0, T):
//              x_prev = √ᾱ_prev · x̂_0 + √(1 − ᾱ_prev − σ²) · ε̂ + σ z,
//              σ = η √((1 − ᾱ_prev) / (1 − ᾱ_t)) √(1 − ᾱ_t / ᾱ_prev)
//              (η = 0: deterministic; K = T and η = 1: σ² = β̃_t, the DDPM step)
// with ᾱ_{−1} = 1 (the step out of t = 0 lands on x̂_0).
//
// The schedule lives on the CPU in float64; per-example coefficients are
// gathered there and uploaded, so nothing on the device indexes by t.
// A sampler step is the U-Net and then one kernel for the rest (guidance,
// x̂_0, the update: shaders/denoise.wgsl, through ops/denoise.ts).
// Samplers run under noGrad, each step in a scope, so a step leaves nothing
// behind but x_{t−1}: the buffer pool serves every step from the buffers the
// step before released.
import { Tensor, scope, keep } from '../tensor';
import { noGrad } from '../autograd';
import { concat } from '../ops/shape';
import { randn, refillRandn, tensor } from '../ops/creation';
import { mseLoss } from '../ops/loss';
import { denoiseStep } from '../ops/denoise';
import { getRandomState, seed as seedStream, setRandomState } from '../random';
import { UNet, timeFeatureSize, timestepFeatures } from './unet';

export type ScheduleKind = 'linear' | 'cosine';
export const SCHEDULE_KINDS: readonly ScheduleKind[] = ['linear', 'cosine'];

/** β_t for t ∈ [0, T), in float64. */
export function betaSchedule(kind: ScheduleKind, timesteps: number): Float64Array {
  if (!Number.isInteger(timesteps) || timesteps < 2) throw new Error(`betaSchedule: timesteps must be an integer ≥ 2, got ${timesteps}`);
  const betas = new Float64Array(timesteps);
  if (kind === 'linear') {
    // DDPM's 1e-4 → 0.02 for T = 1000, scaled by 1000/T so any T ends at about the same ᾱ_T (improved DDPM
    // does this); clipped at 0.999 as the cosine one, which only matters for T < 50
    const scale = 1000 / timesteps;
    const [start, end] = [scale * 1e-4, scale * 0.02];
    for (let t = 0; t < timesteps; t++) betas[t] = Math.min(start + ((end - start) * t) / (timesteps - 1), 0.999);
  } else if (kind === 'cosine') {
    // ᾱ(t) = f(t)/f(0), f(t) = cos²((t/T + s)/(1 + s) · π/2); β clipped at 0.999 so the last step is not a wall
    const s = 0.008;
    const f = (t: number) => Math.cos(((t / timesteps + s) / (1 + s)) * (Math.PI / 2)) ** 2;
    for (let t = 0; t < timesteps; t++) betas[t] = Math.min(1 - f(t + 1) / f(t), 0.999);
  } else {
    throw new Error(`betaSchedule: unknown schedule '${kind}'; valid: ${SCHEDULE_KINDS.join(', ')}`);
  }
  return betas;
}

/** The β schedule and everything derived from it, in float64. */
export class NoiseSchedule {
  readonly timesteps: number;
  readonly betas: Float64Array;
  /** ᾱ_t = ∏_{s≤t} (1 − β_s) */
  readonly alphaBars: Float64Array;

  constructor(readonly kind: ScheduleKind, timesteps: number) {
    this.betas = betaSchedule(kind, timesteps);
    this.timesteps = timesteps;
    this.alphaBars = new Float64Array(timesteps);
    let product = 1;
    for (let t = 0; t < timesteps; t++) {
      product *= 1 - this.betas[t];
      this.alphaBars[t] = product;
    }
  }

  /** ᾱ_t, with ᾱ_{−1} = 1 (no noise at all). */
  alphaBar(t: number): number {
    if (t === -1) return 1;
    this.checkTimestep(t);
    return this.alphaBars[t];
  }

  /** The DDPM posterior q(x_{t−1} | x_t, x_0) = N(x0Coef·x_0 + xtCoef·x_t, variance). */
  posterior(t: number): { x0Coef: number; xtCoef: number; variance: number } {
    this.checkTimestep(t);
    const beta = this.betas[t];
    const ab = this.alphaBars[t];
    const abPrev = this.alphaBar(t - 1);
    return {
      x0Coef: (beta * Math.sqrt(abPrev)) / (1 - ab),
      xtCoef: (Math.sqrt(1 - beta) * (1 - abPrev)) / (1 - ab),
      variance: (beta * (1 - abPrev)) / (1 - ab),
    };
  }

  checkTimestep(t: number): void {
    if (!Number.isInteger(t) || t < 0 || t >= this.timesteps) {
      throw new Error(`NoiseSchedule: timestep ${t} is outside [0, ${this.timesteps})`);
    }
  }
}

/** The noise level of the DDIM step from ᾱ_t to ᾱ_prev; η = 1 with prev = t − 1 gives DDPM's β̃_t. */
export function ddimSigma(alphaBar: number, alphaBarPrev: number, eta: number): number {
  return eta * Math.sqrt((1 - alphaBarPrev) / (1 - alphaBar)) * Math.sqrt(1 - alphaBar / alphaBarPrev);
}

/** K timesteps evenly spaced over [0, T), largest first: ⌊i·T/K⌋ for i = K−1 … 0 (K = T: every step). */
export function ddimTimesteps(timesteps: number, steps: number): number[] {
  if (!Number.isInteger(steps) || steps < 1 || steps > timesteps) {
    throw new Error(`ddimTimesteps: steps must be an integer from 1 to T = ${timesteps}, got ${steps}`);
  }
  const out: number[] = [];
  for (let i = steps - 1; i >= 0; i--) out.push(Math.floor((i * timesteps) / steps));
  return out;
}

/** A [n, 1, 1, 1] tensor of per-example values, for broadcasting over images. */
function perExample(values: ArrayLike<number>): Tensor {
  return tensor(Float32Array.from(values), [values.length, 1, 1, 1]);
}

/** x_t = √ᾱ_t · x_0 + √(1 − ᾱ_t) · ε for images x0 [n, C, s, s], one timestep per example. */
export function qSample(schedule: NoiseSchedule, x0: Tensor, t: ArrayLike<number>, noise: Tensor): Tensor {
  if (x0.rank !== 4 || t.length !== x0.shape[0]) {
    throw new Error(`qSample: expected images [n, C, s, s] and n timesteps, got [${x0.shape.join(', ')}] and ${t.length}`);
  }
  const signal: number[] = [];
  const noiseLevel: number[] = [];
  for (let i = 0; i < t.length; i++) {
    const ab = schedule.alphaBar(t[i]);
    signal.push(Math.sqrt(ab));
    noiseLevel.push(Math.sqrt(1 - ab));
  }
  return x0.mul(perExample(signal)).add(noise.mul(perExample(noiseLevel)));
}

/** The timestep features of t as a tensor [t.length, timeFeatureSize]. */
export function timestepInput(net: UNet, t: ArrayLike<number>): Tensor {
  const size = timeFeatureSize(net.config);
  return tensor(timestepFeatures(t, size), [t.length, size]);
}

/**
 * The training loss: noise x0 to x_t at timesteps t with `noise`, and
 * compare the net's ε̂ with it (mean squared error). labels: [n] class ids,
 * `classes` for "no label"; absent for an unconditional net.
 */
export function diffusionLoss(net: UNet, schedule: NoiseSchedule, x0: Tensor, t: ArrayLike<number>, noise: Tensor, labels?: Tensor | null): Tensor {
  const xt = qSample(schedule, x0, t, noise);
  return mseLoss(net.forward(xt, timestepInput(net, t), labels), noise);
}

// ---------------------------------------------------------------- sampling

/** What the samplers need: a (usually EMA) U-Net and the schedule it was trained with. */
export interface Denoiser {
  readonly net: UNet;
  readonly schedule: NoiseSchedule;
}

/**
 * The conditioning a sampler holds for a whole run: the label part of the
 * embedding, made once. With guidance ≠ 1 the batch is doubled, the first
 * half labelled and the second "no label", and
 * ε̂ = ε̂_uncond + guidance · (ε̂_cond − ε̂_uncond) (classifier-free guidance).
 */
export interface Conditioning {
  n: number;
  guidance: number;
  /** [n or 2n, E], or null for an unconditional net */
  labelEmbedding: Tensor | null;
}

/**
 * The conditioning of n samples, embedded once: labels are class ids
 * (`classes` meaning "no label"); absent, every sample has no label.
 */
export function makeConditioning(net: UNet, n: number, labels?: ArrayLike<number> | null, guidance = 1): Conditioning {
  const { classes } = net.config;
  if (!(guidance >= 0) || !Number.isFinite(guidance)) throw new Error(`sampler: guidance must be a finite number ≥ 0, got ${guidance}`);
  if (!net.labelEmbedding) {
    if (labels) throw new Error('sampler: the net is unconditional (classes 0); drop the labels');
    return { n, guidance: 1, labelEmbedding: null };
  }
  const ids = labels ? Array.from(labels) : new Array<number>(n).fill(classes);
  if (ids.length !== n) throw new Error(`sampler: got ${ids.length} labels for ${n} samples`);
  for (const id of ids) {
    if (!Number.isInteger(id) || id < 0 || id > classes) throw new Error(`sampler: label ${id} is outside 0..${classes} (${classes} = no label)`);
  }
  const guided = guidance !== 1 && labels !== undefined && labels !== null;
  const all = guided ? [...ids, ...new Array<number>(n).fill(classes)] : ids;
  const embedding = noGrad(() => scope(() => net.labelEmbedding!.forward(tensor(all, [all.length]))));
  return { n, guidance: guided ? guidance : 1, labelEmbedding: keep(embedding) };
}

/**
 * The net's ε̂ for x [n, C, s, s] at one timestep, given its features row
 * [1, F] (no grad): [n, C, s, s], or with guidance [2n, C, s, s], the
 * labelled batch then the unlabelled one, for denoiseStep to mix.
 */
function netNoise(net: UNet, x: Tensor, features: Tensor, conditioning: Conditioning): Tensor {
  return noGrad(() => {
    const { n, guidance, labelEmbedding } = conditioning;
    const doubled = guidance !== 1;
    let embedding = net.timeMlp.forward(features.expand([doubled ? 2 * n : n, features.shape[1]]));
    if (labelEmbedding) embedding = embedding.add(labelEmbedding);
    return net.forwardEmbedded(doubled ? concat([x, x]) : x, embedding);
  });
}

/** ε̂ for x [n, C, s, s] at one timestep, given its features row [1, F] (no grad), guidance mixed in. */
export function predictNoise(net: UNet, x: Tensor, features: Tensor, conditioning: Conditioning): Tensor {
  return noGrad(() => {
    const { n, guidance } = conditioning;
    const eps = netNoise(net, x, features, conditioning);
    if (guidance === 1) return eps;
    const conditional = eps.slice(0, 0, n);
    const unconditional = eps.slice(0, n, 2 * n);
    return unconditional.add(conditional.sub(unconditional).mul(guidance));
  });
}

export interface StepResult {
  /** x_{t−1} (DDPM) or x at the next DDIM timestep */
  prev: Tensor;
  /** the clipped x̂_0 the step used */
  x0: Tensor;
}

/**
 * The update after the net, one kernel (ops/denoise.ts): guidance mixed in,
 * x̂_0 = (x_t − √(1 − ᾱ_t) ε̂) / √ᾱ_t clipped to [−1, 1], the data's range
 * (both samplers do this), and x_prev = x0Coef·x̂_0 + xtCoef·x_t + noiseCoef·noise.
 */
function update(
  denoiser: Denoiser, xt: Tensor, t: number, features: Tensor, conditioning: Conditioning,
  noise: Tensor | null, [x0Coef, xtCoef, noiseCoef]: [number, number, number],
): StepResult {
  const alphaBar = denoiser.schedule.alphaBar(t);
  return noGrad(() => denoiseStep(xt, netNoise(denoiser.net, xt, features, conditioning), noiseCoef === 0 ? null : noise, {
    guidance: conditioning.guidance === 1 ? null : conditioning.guidance,
    noiseLevel: Math.sqrt(1 - alphaBar), signalInverse: 1 / Math.sqrt(alphaBar), x0Coef, xtCoef, noiseCoef,
  }));
}

/**
 * One ancestral DDPM step from x_t: x_{t−1} = μ̃_t(x_t, x̂_0) + √β̃_t · noise
 * (no noise at t = 0). `noise` [n, C, s, s] is needed when t > 0.
 */
export function ddpmStep(denoiser: Denoiser, xt: Tensor, t: number, features: Tensor, conditioning: Conditioning, noise: Tensor | null): StepResult {
  if (t > 0 && !noise) throw new Error(`ddpmStep: step ${t} > 0 needs noise`);
  const { x0Coef, xtCoef, variance } = denoiser.schedule.posterior(t);
  return update(denoiser, xt, t, features, conditioning, noise, [x0Coef, xtCoef, t > 0 ? Math.sqrt(variance) : 0]);
}

/**
 * One DDIM step from x_t to x_{tPrev} (tPrev = −1: the last step, onto x̂_0):
 * x_prev = √ᾱ_prev x̂_0 + k ε̂' + σ noise, k = √(1 − ᾱ_prev − σ²), with ε̂'
 * = (x_t − √ᾱ_t x̂_0) / √(1 − ᾱ_t) re-derived from the clipped x̂_0, so x_t,
 * x̂_0 and ε̂ stay consistent (as guided-diffusion does); with tPrev = t − 1
 * and η = 1 the update is then exactly DDPM's posterior. Written as
 * coefficients of x̂_0 and x_t for the kernel. `noise` is needed when σ > 0.
 */
export function ddimStep(
  denoiser: Denoiser, xt: Tensor, t: number, tPrev: number, eta: number, features: Tensor, conditioning: Conditioning, noise: Tensor | null,
): StepResult {
  const { schedule } = denoiser;
  if (!(tPrev < t)) throw new Error(`ddimStep: the next timestep ${tPrev} must come before ${t}`);
  const ab = schedule.alphaBar(t);
  const abPrev = schedule.alphaBar(tPrev);
  const sigma = ddimSigma(ab, abPrev, eta);
  if (sigma > 0 && !noise) throw new Error(`ddimStep: σ = ${sigma} > 0 needs noise`);
  const k = Math.sqrt(Math.max(0, 1 - abPrev - sigma * sigma)) / Math.sqrt(1 - ab);
  return update(denoiser, xt, t, features, conditioning, noise, [Math.sqrt(abPrev) - k * Math.sqrt(ab), k, sigma]);
}

/**
 * The classifier-free guidance scale `wgrad sample diffusion` and `wgrad
 * eval` use for a class-conditional model unless told: 1, plain
 * conditional sampling, as the sampler functions. Guidance makes each
 * sample a clearer member of its class at the cost of variety (the shipped
 * MNIST model at 2: Fréchet distance 14.7 → 29.7 at n 100).
 */
export const DEFAULT_GUIDANCE = 1;

export interface SampleOptions {
  /** how many images */
  n: number;
  /** class ids per image, for a class-conditional net; absent: "no label" */
  labels?: ArrayLike<number> | null;
  /** seeds x_T and every step's noise; the global random stream is left as it was */
  seed: number;
  /** classifier-free guidance scale; 1 (default): plain conditional sampling */
  guidance?: number;
  /**
   * Called at every step with its index (0 = pure noise), x_t and the x̂_0
   * predicted from it, both [n, C, s, s]. The tensors are freed after the
   * call (awaited if it returns a promise): read them, don't keep them.
   */
  onStep?: (step: number, xt: Tensor, x0: Tensor) => void | Promise<void>;
}

export interface DdimOptions extends SampleOptions {
  /** K sampler steps, 1..T */
  steps: number;
  /** 0: deterministic DDIM; 1: as much noise as DDPM */
  eta: number;
}

export interface SampleResult {
  /** the images [n, C, s, s], row-major, in [−1, 1] */
  data: Float32Array;
  shape: number[];
  /** sampler steps taken */
  steps: number;
  /** mean wall time per step (one U-Net forward and the update), ms */
  msPerStep: number;
}

/** DDPM ancestral sampling: T steps from pure noise. */
export function sampleDdpm(denoiser: Denoiser, options: SampleOptions): Promise<SampleResult> {
  const T = denoiser.schedule.timesteps;
  const timesteps = Array.from({ length: T }, (_, i) => T - 1 - i);
  return runSampler(denoiser, options, timesteps, (xt, i, features, conditioning, noise) =>
    ddpmStep(denoiser, xt, timesteps[i], features, conditioning, noise),
    (i) => timesteps[i] > 0);
}

/** DDIM sampling on `steps` timesteps evenly spaced over [0, T), with noise scale η. */
export function sampleDdim(denoiser: Denoiser, options: DdimOptions): Promise<SampleResult> {
  const { steps, eta } = options;
  if (!(eta >= 0) || !Number.isFinite(eta)) throw new Error(`sampleDdim: eta must be a finite number ≥ 0, got ${eta}`);
  const { schedule } = denoiser;
  const timesteps = ddimTimesteps(schedule.timesteps, steps);
  const prevOf = (i: number) => (i + 1 < timesteps.length ? timesteps[i + 1] : -1);
  return runSampler(denoiser, options, timesteps, (xt, i, features, conditioning, noise) =>
    ddimStep(denoiser, xt, timesteps[i], prevOf(i), eta, features, conditioning, noise),
    (i) => ddimSigma(schedule.alphaBar(timesteps[i]), schedule.alphaBar(prevOf(i)), eta) > 0);
}

type Step = (xt: Tensor, index: number, features: Tensor, conditioning: Conditioning, noise: Tensor | null) => StepResult;

/**
 * The loop both samplers share. Everything that lives across steps is made
 * before the first one: the timestep features of every step (one upload),
 * the label embedding, x_T, the noise buffer. Each step runs in a scope
 * that frees all it made but x_{t−1}; the only upload inside a step is its
 * noise, when it has any, written into the same buffer every time.
 */
async function runSampler(denoiser: Denoiser, options: SampleOptions, timesteps: number[], step: Step, needsNoise: (index: number) => boolean): Promise<SampleResult> {
  const { net } = denoiser;
  const { n, seed, onStep } = options;
  const { channels, imageSize } = net.config;
  if (!Number.isInteger(n) || n < 1) throw new Error(`sampler: n must be a positive integer, got ${n}`);
  if (!Number.isInteger(seed)) throw new Error(`sampler: seed must be an integer, got ${seed}`);
  const shape = [n, channels, imageSize, imageSize];
  const saved = getRandomState();
  const live = new Set<Tensor>(); // what lives across steps, freed at the end whatever happens
  const own = (t: Tensor): Tensor => {
    live.add(keep(t));
    return t;
  };
  try {
    seedStream(seed);
    const conditioning = makeConditioning(net, n, options.labels, options.guidance ?? 1);
    if (conditioning.labelEmbedding) own(conditioning.labelEmbedding);
    const features = own(timestepInput(net, timesteps));
    let x = own(randn(shape));
    // one buffer for every step's noise, refilled in place: a step uploads its numbers, not a new buffer
    let noise: Tensor | null = null;
    const freshNoise = (): Tensor => (noise ? refillRandn(noise) : (noise = own(randn(shape))));
    let started = 0;
    for (let i = 0; i < timesteps.length; i++) {
      if (i === 1) {
        await x.toArray(); // wait for step 0, which compiles the pipelines: the timing is of the steady state
        started = performance.now();
      }
      const xt = x;
      const stepNoise = needsNoise(i) ? freshNoise() : null;
      const { prev, x0 } = scope(() => step(xt, i, features.slice(0, i, i + 1), conditioning, stepNoise));
      x = own(prev);
      try {
        await onStep?.(i, xt, x0);
      } finally {
        x0.dispose();
        live.delete(xt);
        xt.dispose();
      }
    }
    const data = await x.toArray();
    const msPerStep = timesteps.length > 1 ? (performance.now() - started) / (timesteps.length - 1) : NaN;
    return { data, shape, steps: timesteps.length, msPerStep };
  } finally {
    for (const t of live) t.dispose();
    setRandomState(saved);
  }
}
