// Training the VAE, one step at a time, and running it over plain arrays
// (encode, decode, reconstruct, the held-out negative ELBO). Browser-safe:
// the run loop (train/run.ts) and the browser page both drive this class,
// and both save and load the same checkpoint bytes. It returns pictures and
// numbers; the host's run writer keeps them.
//
// One step: encode the batch, draw z = mean + σ·ε, decode, and take an Adam
// step (lr 1e-3) on recon + β·KL, both per-image sums averaged over the
// batch (models/vae.ts). With warm-up, β ramps linearly from 0 to its value
// over the first `warmup` steps, so the decoder learns to use z before the
// KL term pulls the posteriors onto the prior.
import { Tensor, liveTensorCount } from '../tensor';
import { keep, scope } from '../scope';
import { noGrad } from '../autograd';
import { concat } from '../ops/shape';
import { randn, tensor } from '../ops/creation';
import { getRandomState, normalArray, seed, setRandomState } from '../random';
import { Adam } from '../nn/optim';
import {
  VAE_CONFIGS, Vae, checkVaeConfig, logitsToImages, reconstructionFor, reparameterize, vaeLossTerms,
  type VaeConfig, type VaeConfigName,
} from '../models/vae';
import { MAX_FIXED_SAMPLES, loadFixedNoise, restoreTrainer, writeCheckpoint } from './checkpoint';
import { imageGrid, joinPictures, type Picture } from '../io/picture';
import { sampleWithSeed } from './fits';
import { trainableOf, type GenerativeModelDescription, type ModelSetup, type TrainingData } from './model-description';
import type { Dataset, Loader } from '../data/dataset';
import type { Trainable } from './run';

export interface VaeTrainConfig extends VaeConfig {
  /** the named size it came from, for the record */
  configName: string;
  /** the dataset spec (shapes, mnist, images:DIR) */
  data: string;
  batch: number;
  lr: number;
  /** weight of the KL term (1: the ELBO itself; more: a β-VAE) */
  beta: number;
  /** steps over which β ramps linearly from 0 to `beta`; 0: no warm-up */
  warmup: number;
  seed: number;
  /** how many fixed prior draws the sample grids show */
  samples: number;
  /** how many test-split images the held-out metrics are computed on (the first ones) */
  heldOut: number;
}

export type VaeStepMetrics = {
  step: number;
  /** what the step minimised: recon + beta·kl */
  loss: number;
  /** reconstruction term, summed over pixels, mean over the batch */
  recon: number;
  /** KL(q(z|x) ‖ N(0, I)) in nats, summed over latent dims, mean over the batch */
  kl: number;
  /** β used by this step (below config.beta during warm-up) */
  beta: number;
  ms: number;
  imagesPerSecond: number;
  tensors: number;
};

/** The negative ELBO and its two terms, per image, averaged over a set of images. */
export interface VaeEvaluation {
  recon: number;
  kl: number;
  /** recon + kl (β = 1, whatever β training uses): the negative ELBO, an upper bound on −log p(x) for 'bce' */
  nelbo: number;
}

/** Images run through the model at once outside training. */
const EVAL_BATCH = 64;
/** Seeds the fixed ε of the held-out estimate; a stream of its own, so the training stream is untouched. */
const HELD_OUT_NOISE_SEED = 0x5eed;
/** Held-out images shown in each reconstructions/ picture. */
const RECONSTRUCTION_IMAGES = 32;

/** A full training config from a named size and the run's options. */
export function vaeTrainConfig(
  name: string,
  options: {
    channels: 1 | 3; data: string; latent?: number; beta?: number; warmup?: number;
    batch?: number; lr?: number; seed?: number; samples?: number; heldOut?: number;
  },
): VaeTrainConfig {
  const sizes = VAE_CONFIGS[name as VaeConfigName];
  if (!sizes) throw new Error(`vae: unknown config '${name}'; valid: ${Object.keys(VAE_CONFIGS).join(', ')}`);
  const config: VaeTrainConfig = {
    ...sizes,
    latent: options.latent ?? sizes.latent,
    channels: options.channels,
    reconstruction: reconstructionFor(options.channels),
    configName: name,
    data: options.data,
    batch: options.batch ?? 64,
    lr: options.lr ?? 1e-3,
    beta: options.beta ?? 1,
    warmup: options.warmup ?? 0,
    seed: options.seed ?? 0,
    samples: options.samples ?? 64,
    heldOut: options.heldOut ?? 256,
  };
  checkTrainConfig(config);
  return config;
}

function checkTrainConfig(config: VaeTrainConfig): void {
  checkVaeConfig(config);
  const problems: string[] = [];
  if (!Number.isInteger(config.batch) || config.batch < 2) problems.push(`batch must be an integer ≥ 2 (batchnorm needs it), got ${config.batch}`);
  if (!(config.lr > 0)) problems.push(`lr must be > 0, got ${config.lr}`);
  if (!(config.beta >= 0) || !Number.isFinite(config.beta)) problems.push(`beta must be a finite number ≥ 0, got ${config.beta}`);
  if (!Number.isInteger(config.warmup) || config.warmup < 0) problems.push(`warmup must be an integer ≥ 0, got ${config.warmup}`);
  if (!Number.isInteger(config.samples) || config.samples < 1 || config.samples > MAX_FIXED_SAMPLES) {
    problems.push(`samples must be an integer from 1 to ${MAX_FIXED_SAMPLES}, got ${config.samples}`);
  }
  if (!Number.isInteger(config.heldOut) || config.heldOut < 1) problems.push(`heldOut must be a positive integer, got ${config.heldOut}`);
  if (problems.length) throw new Error(`vae: ${problems.join('; ')}`);
}

// ---------------------------------------------------------------- the model over plain arrays

/** Anything that holds a Vae: the model itself or a trainer. */
export type VaeSource = Vae | { readonly model: Vae };

export function vaeOf(source: VaeSource): Vae {
  return source instanceof Vae ? source : source.model;
}

/** Runs fn with the model in eval mode (running batchnorm statistics), then restores its mode. */
async function inEvalMode<T>(model: Vae, fn: () => Promise<T>): Promise<T> {
  const wasTraining = model.training;
  model.eval();
  try {
    return await fn();
  } finally {
    model.train(wasTraining);
  }
}

/**
 * Runs `compute` on rows [start, start + n) of `count`, EVAL_BATCH rows at a
 * time, without a graph, and hands what it returns, read back, to `use`.
 */
async function inBatches(
  count: number,
  compute: (start: number, n: number) => Tensor[],
  use: (start: number, n: number, values: Float32Array[]) => void,
): Promise<void> {
  for (let start = 0; start < count; start += EVAL_BATCH) {
    const n = Math.min(EVAL_BATCH, count - start);
    const results = noGrad(() => scope(() => compute(start, n)));
    try {
      const values: Float32Array[] = [];
      for (const t of results) values.push(await t.toArray());
      use(start, n, values);
    } finally {
      for (const t of results) t.dispose();
    }
  }
}

function checkImageArray(where: string, model: Vae, images: Float32Array, count: number): number {
  const { channels, imageSize } = model.config;
  const perImage = channels * imageSize * imageSize;
  if (!Number.isInteger(count) || count < 1 || images.length !== count * perImage) {
    throw new Error(`${where}: ${images.length} values are not ${count} images [${channels}, ${imageSize}, ${imageSize}]`);
  }
  return perImage;
}

/** The posterior q(z|x) of `count` images ([count, C, s, s] in [-1, 1]), in eval mode: mean and logvar, each [count, latent]. */
export async function encodeImages(source: VaeSource, images: Float32Array, count: number): Promise<{ mean: Float32Array; logvar: Float32Array }> {
  const model = vaeOf(source);
  const perImage = checkImageArray('encodeImages', model, images, count);
  const { channels, imageSize, latent } = model.config;
  const mean = new Float32Array(count * latent);
  const logvar = new Float32Array(count * latent);
  await inEvalMode(model, () =>
    inBatches(
      count,
      (start, n) => {
        const q = model.encode(tensor(images.subarray(start * perImage, (start + n) * perImage), [n, channels, imageSize, imageSize]));
        return [q.mean, q.logvar];
      },
      (start, _n, [m, lv]) => {
        mean.set(m, start * latent);
        logvar.set(lv, start * latent);
      },
    ),
  );
  return { mean, logvar };
}

/** The decoder's images (in [-1, 1], [count, C, s, s]) for `count` latents ([count, latent]), in eval mode. */
export async function decodeLatents(source: VaeSource, z: Float32Array, count: number): Promise<Float32Array> {
  const model = vaeOf(source);
  const { channels, imageSize, latent } = model.config;
  if (!Number.isInteger(count) || count < 1 || z.length !== count * latent) {
    throw new Error(`decodeLatents: ${z.length} values are not ${count} latents of size ${latent}`);
  }
  const perImage = channels * imageSize * imageSize;
  const images = new Float32Array(count * perImage);
  await inEvalMode(model, () =>
    inBatches(
      count,
      (start, n) => [logitsToImages(model.decode(tensor(z.subarray(start * latent, (start + n) * latent), [n, latent])))],
      (start, _n, [decoded]) => images.set(decoded, start * perImage),
    ),
  );
  return images;
}

/** Reconstructions of `count` images: each decoded from its posterior mean (no sampling), in eval mode. */
export async function reconstructImages(source: VaeSource, images: Float32Array, count: number): Promise<Float32Array> {
  const model = vaeOf(source);
  const perImage = checkImageArray('reconstructImages', model, images, count);
  const { channels, imageSize } = model.config;
  const out = new Float32Array(count * perImage);
  await inEvalMode(model, () =>
    inBatches(
      count,
      (start, n) => {
        const x = tensor(images.subarray(start * perImage, (start + n) * perImage), [n, channels, imageSize, imageSize]);
        return [logitsToImages(model.decode(model.encode(x).mean))];
      },
      (start, _n, [decoded]) => out.set(decoded, start * perImage),
    ),
  );
  return out;
}

/** `n` standard normals from a stream seeded by `noiseSeed`, leaving the global random stream where it was. */
function fixedNormals(n: number, noiseSeed: number): Float32Array {
  const saved = getRandomState();
  try {
    seed(noiseSeed);
    return normalArray(n);
  } finally {
    setRandomState(saved);
  }
}

/**
 * The negative ELBO of `count` images, per image, in eval mode: the KL term
 * is exact, the reconstruction term a one-sample estimate at
 * z = mean + σ·ε with a fixed ε per image (seeded, the same at every call),
 * so two calls on the same model give the same numbers and a change between
 * evaluations is the model's, not the noise's.
 */
export async function evaluateVae(source: VaeSource, images: Float32Array, count: number): Promise<VaeEvaluation> {
  const model = vaeOf(source);
  const perImage = checkImageArray('evaluateVae', model, images, count);
  const { channels, imageSize, latent, reconstruction } = model.config;
  const eps = fixedNormals(count * latent, HELD_OUT_NOISE_SEED);
  let recon = 0;
  let kl = 0;
  await inEvalMode(model, () =>
    inBatches(
      count,
      (start, n) => {
        const x = tensor(images.subarray(start * perImage, (start + n) * perImage), [n, channels, imageSize, imageSize]);
        const { mean, logvar } = model.encode(x);
        const z = reparameterize(mean, logvar, tensor(eps.subarray(start * latent, (start + n) * latent), [n, latent]));
        const terms = vaeLossTerms(model.decode(z), x, mean, logvar, reconstruction);
        return [concat([terms.recon.reshape([1]), terms.kl.reshape([1])])];
      },
      // the terms are means over the batch: weight them by its size
      (_start, n, [[r, k]]) => {
        recon += r * n;
        kl += k * n;
      },
    ),
  );
  return { recon: recon / count, kl: kl / count, nelbo: (recon + kl) / count };
}

// ---------------------------------------------------------------- the trainer

export class VaeTrainer {
  readonly model: Vae;
  readonly opt: Adam;
  /** the prior draws behind every sample grid, fixed for the whole run */
  readonly fixedNoise: Tensor;
  /** steps taken so far */
  step = 0;

  /** Builds the model from `config.seed`: the same seed gives the same weights and fixed noise. */
  constructor(readonly config: VaeTrainConfig) {
    checkTrainConfig(config);
    seed(config.seed);
    this.model = new Vae(config);
    this.fixedNoise = keep(randn([config.samples, config.latent]));
    this.opt = new Adam(this.model.parameters(), { lr: config.lr });
  }

  /** β for the step about to be taken: the warm-up ramp, then config.beta. */
  betaAt(step: number): number {
    const { beta, warmup } = this.config;
    return warmup > 0 ? beta * Math.min(1, step / warmup) : beta;
  }

  /** One Adam step on a batch of images [n, C, s, s] in [-1, 1]. */
  async trainStep(images: Tensor): Promise<VaeStepMetrics> {
    const { batch, channels, imageSize, reconstruction } = this.config;
    const expected = [batch, channels, imageSize, imageSize];
    if (images.shape.join() !== expected.join()) {
      throw new Error(`vae.trainStep: expected images [${expected.join(', ')}], got [${images.shape.join(', ')}]`);
    }
    const started = performance.now();
    const beta = this.betaAt(this.step);
    const model = this.model;
    const stats = scope(() => {
      const { mean, logvar } = model.encode(images);
      const logits = model.decode(reparameterize(mean, logvar));
      const { recon, kl } = vaeLossTerms(logits, images, mean, logvar, reconstruction);
      const loss = recon.add(kl.mul(beta));
      this.opt.zeroGrad();
      loss.backward();
      this.opt.step();
      this.opt.zeroGrad();
      // one readback for the three numbers
      return noGrad(() => concat([loss, recon, kl].map((t) => t.reshape([1]))));
    });
    const [loss, recon, kl] = await stats.toArray();
    stats.dispose();
    this.step++;
    const ms = performance.now() - started;
    return { step: this.step, loss, recon, kl, beta, ms, imagesPerSecond: (batch * 1000) / ms, tensors: liveTensorCount() };
  }

  /** Decoded prior draws (eval mode) for `noise` [n, latent], default the fixed noise: images in [-1, 1]. */
  async sample(noise: Tensor = this.fixedNoise): Promise<{ data: Float32Array; shape: number[] }> {
    const { channels, imageSize } = this.config;
    const data = await decodeLatents(this.model, await noise.toArray(), noise.shape[0]);
    return { data, shape: [noise.shape[0], channels, imageSize, imageSize] };
  }

  /** The model, the optimizer, the fixed noise, the step and the random stream's state. */
  async checkpoint(): Promise<Uint8Array> {
    return writeCheckpoint(
      { model: this.model.stateDict(), opt: this.opt.stateDict(), noise: { fixed: this.fixedNoise } },
      { model: 'vae', config: this.config, step: this.step },
    );
  }

  /**
   * A trainer in the state the checkpoint was saved in, ready to go on:
   * the same next steps as the run that wrote it. `source` names the file
   * in errors.
   */
  static fromCheckpoint(bytes: Uint8Array, source: string): VaeTrainer {
    return restoreTrainer<VaeTrainConfig, VaeTrainer>(bytes, source, 'vae', {
      label: 'VAE',
      required: ['model', 'opt', 'noise'],
      make: (config) => new VaeTrainer(config),
      load: (trainer, { model, opt, noise }) => {
        trainer.model.loadStateDict(model);
        trainer.opt.loadStateDict(opt);
        loadFixedNoise(trainer.fixedNoise, noise);
      },
    });
  }

  dispose(): void {
    this.opt.dispose();
    this.model.dispose();
    this.fixedNoise.dispose();
  }
}

// ---------------------------------------------------------------- in the run loop

/** The first `limit` examples of a dataset (all of them if it has fewer). */
export function firstExamples(dataset: Dataset, limit: number): { images: Float32Array; labels: Float32Array; count: number } {
  const count = Math.min(limit, dataset.count);
  const { images, labels } = dataset.examples(Int32Array.from({ length: count }, (_, i) => i));
  return { images, labels, count };
}

/**
 * Inputs (left) beside their reconstructions (right, from the posterior
 * means), tile for tile in the same layout.
 */
export async function reconstructionPicture(source: VaeSource, images: Float32Array, count: number, columns = 8): Promise<Picture> {
  const model = vaeOf(source);
  const { channels, imageSize } = model.config;
  const shape = [count, channels, imageSize, imageSize];
  const recons = await reconstructImages(model, images, count);
  const options = { columns: Math.min(columns, count) };
  return joinPictures([imageGrid(images, shape, options), imageGrid(recons, shape, options)], { gap: 8 });
}

export interface VaeHeldOutRecord extends VaeEvaluation {
  step: number;
}

/** The VAE in the run loop, with every held-out result so far. */
export type VaeTrainable = Trainable<VaeStepMetrics> & { readonly evaluations: VaeHeldOutRecord[] };

/**
 * The trainer and a loader as the run loop's `Trainable` (train/run.ts):
 * step n trains on the loader's batch n. At each sample grid it adds the
 * held-out metrics (heldOutRecon, heldOutKl, heldOutNelbo, on the first
 * config.heldOut images of `heldOut`, see evaluateVae) and the picture
 * 'reconstructions' (a run folder keeps it as reconstructions/step-N.png).
 * `evaluations` keeps every held-out result, step 0's included (the run
 * loop writes no metrics line for step 0).
 */
export function vaeTrainable(trainer: VaeTrainer, loader: Loader, heldOut: Dataset): VaeTrainable {
  const { channels, imageSize } = trainer.config;
  if (heldOut.channels !== channels || heldOut.size !== imageSize) {
    throw new Error(`vaeTrainable: held-out data '${heldOut.name}' has images [${heldOut.channels}, ${heldOut.size}, ${heldOut.size}], the VAE takes [${channels}, ${imageSize}, ${imageSize}]`);
  }
  const evalSet = firstExamples(heldOut, trainer.config.heldOut);
  const shown = Math.min(RECONSTRUCTION_IMAGES, evalSet.count);
  const shownImages = evalSet.images.subarray(0, shown * channels * imageSize * imageSize);
  const evaluations: VaeHeldOutRecord[] = [];
  const trainable = trainableOf(VAE_MODEL, trainer, loader, async (step) => {
    const result = await evaluateVae(trainer, evalSet.images, evalSet.count);
    evaluations.push({ step, ...result });
    const reconstructions = await reconstructionPicture(trainer, shownImages, shown);
    return {
      metrics: { heldOutRecon: result.recon, heldOutKl: result.kl, heldOutNelbo: result.nelbo },
      pictures: { reconstructions },
    };
  });
  return Object.assign(trainable, { evaluations });
}

/** A new VAE run: a named size, the data, and the latent size and KL weighting (each left out takes its default). */
export interface VaeSetup extends ModelSetup {
  latent?: number;
  beta?: number;
  warmup?: number;
  heldOut?: number;
}

/** The VAE as the CLI and the page see it (train/model-description.ts). */
export const VAE_MODEL: Omit<GenerativeModelDescription<VaeTrainer, VaeTrainConfig, VaeSetup, VaeStepMetrics>, 'trainable'> & {
  trainable(trainer: VaeTrainer, data: TrainingData): VaeTrainable;
} = {
  kind: 'vae',
  title: 'VAE',
  sizes: Object.fromEntries(
    Object.entries(VAE_CONFIGS).map(([name, sizes]) => [name, { imageSize: sizes.imageSize, batch: 64, lr: 1e-3, steps: 500 }]),
  ),
  lossNames: ['loss', 'recon', 'kl'],
  shownMetrics: ['loss', 'recon', 'kl'],
  sampleMetrics: ['heldOutRecon', 'heldOutKl', 'heldOutNelbo'],
  plotNames: ['heldOutNelbo'],
  samplePictures: ['reconstructions'],
  configure: (setup) => vaeTrainConfig(setup.configName, setup),
  create: (config) => new VaeTrainer(config),
  restore: (bytes, source) => VaeTrainer.fromCheckpoint(bytes, source),
  trainStep: (trainer, loader) => loader.withTensors(trainer.step, (images) => trainer.trainStep(images)),
  trainable: (trainer, { loader, heldOut }) => {
    if (!heldOut) throw new Error('vae: a run needs held-out images for its held-out metrics and reconstructions');
    return vaeTrainable(trainer, loader, heldOut);
  },
  sample: (trainer) => trainer.sample(),
  generate: (bytes, source, n, seed) => sampleWithSeed(() => VaeTrainer.fromCheckpoint(bytes, source), n, seed),
};
