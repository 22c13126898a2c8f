// Whole training steps, wgrad against tfjs running the same architecture
// with its own layers and optimizer. Both read their losses back every
// step (wgrad's trainer does, for the NaN guard and the metrics), so both
// pay one sync per step.
import * as wg from '../../src/index';
import type { Tensor } from '../../src/tensor';
import { normalArray } from '../../src/random';
import { DcganTrainer, dcganTrainConfig } from '../../src/train/dcgan';
import type { DcganConfig } from '../../src/models/dcgan';
import { VaeTrainer, vaeTrainConfig } from '../../src/train/vae';
import type { VaeConfig } from '../../src/models/vae';
import { DiffusionTrainer, diffusionTrainConfig } from '../../src/train/diffusion';
import { emaDecayAt } from '../../src/nn/optim';
import { timeFeatureSize, timestepFeatures } from '../../src/models/unet';
import { summary } from '../../src/nn/summary';
import { tfUnet } from './unet-tfjs';
import type { Case, StepCounts } from './cases';
import { getBackend } from '../../src/runtime';
import type { WebGpuBackend } from '../../src/backend/webgpu';
import { nchwToNhwc } from './cases';
import type { Tfjs } from './tfjs';
import type * as TF from '@tensorflow/tfjs';

/**
 * A training-step case: each side runs one whole step and returns its
 * losses. The two sides start from different random inits or noise, so
 * the check is that the losses are of the same kind, not equal.
 */
function trainingStepCase(tf: Tfjs, parts: { name: string; flops: number; ours: () => Promise<number[]>; theirs: () => Promise<number[]>; dispose: () => void }): Case {
  const side = (run: () => Promise<number[]>) => ({
    run,
    sync: async () => {},
    free: () => {},
    values: async (h: unknown) => new Float32Array(h as number[]),
  });
  const count = async (): Promise<StepCounts> => {
    const { ctx } = getBackend('webgpu') as WebGpuBackend;
    const [dispatches, created] = [ctx.dispatches, ctx.bindGroups.created];
    await parts.ours();
    const peer = await tf.profile(async () => {
      await parts.theirs();
    });
    // every dispatch sets one bind group
    return { dispatches: ctx.dispatches - dispatches, bindGroups: ctx.dispatches - dispatches, bindGroupsCreated: ctx.bindGroups.created - created, peerKernels: peer.kernels.length };
  };
  return { name: parts.name, kind: 'training step', flops: parts.flops, tolerance: Infinity, ours: side(parts.ours), theirs: side(parts.theirs), count, dispose: parts.dispose };
}

/**
 * FLOPs of one DCGAN step as the trainer runs it, in multiply-adds × 2:
 * G forward once (g), D forward three times (real and fake for the D
 * step, fake again for the G step), D backward three times (two in the D
 * step, one to reach G), G backward once; a backward is two convs' worth
 * (input and weight gradients): g + 3d + 3·2d + 2g = 3g + 9d.
 */
function dcganFlops(c: DcganConfig, batch: number): number {
  const stages = Math.log2(c.imageSize / 4);
  // generator: transposed convs, B · inC · inSize² · outC · k²
  let g = batch * c.latent * 1 * c.generatorWidth * 2 ** (stages - 1) * 16;
  let size = 4;
  for (let s = stages - 1; s >= 0; s--) {
    const inC = c.generatorWidth * 2 ** s;
    const outC = s === 0 ? c.channels : inC / 2;
    g += batch * inC * size * size * outC * 16;
    size *= 2;
  }
  // discriminator: convs, B · inC · outC · outSize² · k²
  let d = 0;
  let inC: number = c.channels;
  size = c.imageSize;
  for (let s = 0; s < stages; s++) {
    const outC = c.discriminatorWidth * 2 ** s;
    size /= 2;
    d += batch * inC * outC * size * size * 16;
    inC = outC;
  }
  d += batch * inC * 1 * 1 * 16;
  return 2 * (3 * g + 9 * d);
}

function tfDcgan(tf: Tfjs, c: DcganConfig, batch: number, lr: number) {
  const init = () => tf.initializers.randomNormal({ mean: 0, stddev: 0.02 });
  const stages = Math.log2(c.imageSize / 4);
  const G = tf.sequential();
  let width = c.generatorWidth * 2 ** (stages - 1);
  G.add(tf.layers.conv2dTranspose({ inputShape: [1, 1, c.latent], filters: width, kernelSize: 4, strides: 1, padding: 'valid', useBias: false, kernelInitializer: init() }));
  G.add(tf.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-5 }));
  G.add(tf.layers.reLU());
  for (let s = 1; s < stages; s++) {
    width /= 2;
    G.add(tf.layers.conv2dTranspose({ filters: width, kernelSize: 4, strides: 2, padding: 'same', useBias: false, kernelInitializer: init() }));
    G.add(tf.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-5 }));
    G.add(tf.layers.reLU());
  }
  G.add(tf.layers.conv2dTranspose({ filters: c.channels, kernelSize: 4, strides: 2, padding: 'same', useBias: false, kernelInitializer: init(), activation: 'tanh' }));

  const D = tf.sequential();
  width = c.discriminatorWidth;
  D.add(tf.layers.conv2d({ inputShape: [c.imageSize, c.imageSize, c.channels], filters: width, kernelSize: 4, strides: 2, padding: 'same', useBias: false, kernelInitializer: init() }));
  D.add(tf.layers.leakyReLU({ alpha: 0.2 }));
  for (let s = 1; s < stages; s++) {
    width *= 2;
    D.add(tf.layers.conv2d({ filters: width, kernelSize: 4, strides: 2, padding: 'same', useBias: false, kernelInitializer: init() }));
    D.add(tf.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-5 }));
    D.add(tf.layers.leakyReLU({ alpha: 0.2 }));
  }
  D.add(tf.layers.conv2d({ filters: 1, kernelSize: 4, strides: 1, padding: 'valid', useBias: false, kernelInitializer: init() }));
  D.add(tf.layers.flatten());

  const optG = tf.train.adam(lr, 0.5, 0.999);
  const optD = tf.train.adam(lr, 0.5, 0.999);
  const gVars = G.trainableWeights.map((w) => (w as unknown as { val: TF.Variable }).val);
  const dVars = D.trainableWeights.map((w) => (w as unknown as { val: TF.Variable }).val);
  const ones = tf.ones([batch, 1]);
  const zeros = tf.zeros([batch, 1]);
  const bce = (logits: TF.Tensor, target: TF.Tensor) => tf.losses.sigmoidCrossEntropy(target, logits);

  /** One D step and one G step; tfjs's minimize() tapes one closure, so the G step runs G forward again. */
  async function step(real: TF.Tensor): Promise<[number, number]> {
    const z = tf.randomNormal([batch, 1, 1, c.latent]);
    const fake = tf.tidy(() => G.apply(z, { training: true }) as TF.Tensor);
    const lossD = optD.minimize(() => bce(D.apply(real, { training: true }) as TF.Tensor, ones).add(bce(D.apply(fake, { training: true }) as TF.Tensor, zeros)) as TF.Scalar, true, dVars)!;
    const lossG = optG.minimize(() => bce(D.apply(G.apply(z, { training: true }) as TF.Tensor, { training: true }) as TF.Tensor, ones) as TF.Scalar, true, gVars)!;
    const values = await tf.stack([lossD, lossG]).data();
    [z, fake, lossD, lossG].forEach((t) => t.dispose());
    return [values[0], values[1]];
  }
  return {
    step,
    dispose() {
      G.dispose();
      D.dispose();
      optG.dispose();
      optD.dispose();
      ones.dispose();
      zeros.dispose();
    },
  };
}

/**
 * The three training steps' configs: DCGAN 'tiny', VAE 'tiny' and U-Net
 * 'tiny' 16×16 at batch 8 with --quick; 64×64 DCGAN 'base', VAE 'small' and
 * U-Net 'small' 32×32 at batch 64 otherwise. `npm run bench -- --json`
 * writes them, so the PyTorch bench (bench/device/torch_bench.py) builds
 * the same nets.
 */
export function benchModelConfigs(quick: boolean) {
  const batch = quick ? 8 : 64;
  return {
    // the peer builds the paper's nets
    dcgan: dcganTrainConfig(quick ? 'tiny' : 'base', { channels: 3, data: 'shapes', batch, seed: 0, recipe: 'paper' }),
    vae: vaeTrainConfig(quick ? 'tiny' : 'small', { channels: 1, data: 'mnist', batch, seed: 0 }),
    unet: diffusionTrainConfig(quick ? 'tiny' : 'small', { channels: 1, imageSize: quick ? 16 : 32, classes: 0, data: 'mnist', batch, seed: 0 }),
  };
}

/** DCGAN's training step (config: benchModelConfigs). */
export function dcganStepCase(tf: Tfjs, quick: boolean): Case {
  const config = benchModelConfigs(quick).dcgan;
  const batch = config.batch;
  const trainer = new DcganTrainer(config);
  const s = config.imageSize;
  const realData = normalArray(batch * 3 * s * s).map((v) => Math.tanh(v));
  const real = wg.tensor(realData, [batch, 3, s, s]);
  const theirs = tfDcgan(tf, config, batch, config.lr);
  const tReal = tf.tensor4d(nchwToNhwc(realData, batch, 3, s, s), [batch, s, s, 3]);
  return trainingStepCase(tf, {
    name: `DCGAN '${config.configName}' ${s}×${s}×3, batch ${batch}`,
    flops: dcganFlops(config, batch),
    // both losses start near 2·ln 2 and ln 2
    ours: async () => {
      const m = await trainer.trainStep(real as Tensor);
      return [m.lossD, m.lossG];
    },
    theirs: () => theirs.step(tReal),
    dispose() {
      trainer.dispose();
      real.dispose();
      theirs.dispose();
      tReal.dispose();
    },
  });
}

// ---------------------------------------------------------------- VAE

/** FLOPs of one VAE step: convs and linears forward (from wg.summary), ×3 for forward + both gradients. */
function modelStepFlops(forwardFlops: number): number {
  return 3 * forwardFlops;
}

function tfVae(tf: Tfjs, c: VaeConfig, batch: number, lr: number) {
  const stages = Math.log2(c.imageSize / 4);
  const deepest = c.width * 2 ** (stages - 1);
  const encoder = tf.sequential();
  encoder.add(tf.layers.conv2d({ inputShape: [c.imageSize, c.imageSize, c.channels], filters: c.width, kernelSize: 4, strides: 2, padding: 'same' }));
  encoder.add(tf.layers.leakyReLU({ alpha: 0.2 }));
  for (let s = 1, w = c.width; s < stages; s++, w *= 2) {
    encoder.add(tf.layers.conv2d({ filters: w * 2, kernelSize: 4, strides: 2, padding: 'same', useBias: false }));
    encoder.add(tf.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-5 }));
    encoder.add(tf.layers.leakyReLU({ alpha: 0.2 }));
  }
  encoder.add(tf.layers.flatten());
  encoder.add(tf.layers.dense({ units: 2 * c.latent })); // mean and log-variance side by side
  const decoder = tf.sequential();
  decoder.add(tf.layers.dense({ inputShape: [c.latent], units: deepest * 16, useBias: false }));
  decoder.add(tf.layers.reshape({ targetShape: [4, 4, deepest] }));
  decoder.add(tf.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-5 }));
  decoder.add(tf.layers.reLU());
  for (let s = 1, w = deepest; s < stages; s++, w /= 2) {
    decoder.add(tf.layers.conv2dTranspose({ filters: w / 2, kernelSize: 4, strides: 2, padding: 'same', useBias: false }));
    decoder.add(tf.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-5 }));
    decoder.add(tf.layers.reLU());
  }
  decoder.add(tf.layers.conv2dTranspose({ filters: c.channels, kernelSize: 4, strides: 2, padding: 'same' }));
  const opt = tf.train.adam(lr);
  const vars = [...encoder.trainableWeights, ...decoder.trainableWeights].map((w) => (w as unknown as { val: TF.Variable }).val);
  const pixels = c.channels * c.imageSize * c.imageSize;

  /** One Adam step on the negative ELBO (β = 1), Bernoulli pixels for gray data as wgrad's VAE. */
  async function step(x: TF.Tensor4D): Promise<number> {
    const loss = opt.minimize(() => {
      const stats = encoder.apply(x, { training: true }) as TF.Tensor2D;
      const mean = stats.slice([0, 0], [batch, c.latent]);
      const logvar = stats.slice([0, c.latent], [batch, c.latent]);
      const z = mean.add(logvar.mul(0.5).exp().mul(tf.randomNormal([batch, c.latent])));
      const logits = decoder.apply(z, { training: true }) as TF.Tensor4D;
      const target = x.add(1).mul(0.5);
      const recon = c.reconstruction === 'bce'
        ? tf.losses.sigmoidCrossEntropy(target, logits).mul(pixels)
        : tf.losses.meanSquaredError(x, tf.sigmoid(logits).mul(2).sub(1)).mul(pixels);
      const kl = mean.square().add(logvar.exp()).sub(logvar).sub(1).sum(1).mean().mul(0.5);
      return recon.add(kl) as TF.Scalar;
    }, true, vars)!;
    const value = (await loss.data())[0];
    loss.dispose();
    return value;
  }
  return {
    step,
    dispose() {
      encoder.dispose();
      decoder.dispose();
      opt.dispose();
    },
  };
}

/** The VAE's training step on mnist-shaped data (config: benchModelConfigs). */
export function vaeStepCase(tf: Tfjs, quick: boolean): Case {
  const config = benchModelConfigs(quick).vae;
  const batch = config.batch;
  const trainer = new VaeTrainer(config);
  const s = config.imageSize;
  const data = normalArray(batch * s * s).map((v) => Math.tanh(v));
  const real = wg.tensor(data, [batch, 1, s, s]);
  const forwardFlops = summary(trainer.model, [batch, 1, s, s]).totalFlops;
  const theirs = tfVae(tf, config, batch, config.lr);
  const tReal = tf.tensor4d(nchwToNhwc(data, batch, 1, s, s), [batch, s, s, 1]);
  return trainingStepCase(tf, {
    name: `VAE '${config.configName}' ${s}×${s}×1, latent ${config.latent}, batch ${batch}`,
    flops: modelStepFlops(forwardFlops),
    // negative ELBOs of the same kind
    ours: async () => [(await trainer.trainStep(real as Tensor)).loss],
    theirs: async () => [await theirs.step(tReal)],
    dispose() {
      trainer.dispose();
      real.dispose();
      theirs.dispose();
      tReal.dispose();
    },
  });
}

// ---------------------------------------------------------------- U-Net (diffusion)

/**
 * The diffusion model's training step: q(x_t | x_0) at random t, ε̂ by the
 * U-Net, MSE, Adam, and the EMA update, on both sides. tfjs runs the same
 * U-Net with our initial weights copied in (bench/peer/unet-tfjs.ts; the
 * bench check verifies the two forwards agree). 'tiny' 16×16 at batch 8
 * with --quick, 'small' 32×32 at batch 64 otherwise; unconditional.
 */
export async function unetStepCase(tf: Tfjs, quick: boolean): Promise<Case> {
  const config = benchModelConfigs(quick).unet;
  const { batch, imageSize: size } = config;
  const trainer = new DiffusionTrainer(config);
  const data = normalArray(batch * size * size).map((v) => Math.tanh(v));
  const real = wg.tensor(data, [batch, 1, size, size]);
  const features = timeFeatureSize(config);
  // FLOPs of the U-Net's convs and linears, from wg.summary with the timestep features as the second input
  const sample = wg.tensor(timestepFeatures(new Array(batch).fill(1), features), [batch, features]);
  const forwardFlops = summary(trainer.model, [batch, 1, size, size], [sample]).totalFlops;
  sample.dispose();

  const net = await tfUnet(tf, trainer.model);
  const ema = net.variables.map((v) => tf.variable(v.clone(), false));
  const opt = tf.train.adam(config.lr);
  const alphaBars = trainer.schedule.alphaBars;
  const tReal = tf.tensor4d(nchwToNhwc(data, batch, 1, size, size), [batch, size, size, 1]);
  let steps = 0;
  async function theirStep(): Promise<number> {
    const t = Array.from({ length: batch }, () => Math.floor(Math.random() * config.timesteps));
    const signal = tf.tensor4d(t.map((i) => Math.sqrt(alphaBars[i])), [batch, 1, 1, 1]);
    const noiseLevel = tf.tensor4d(t.map((i) => Math.sqrt(1 - alphaBars[i])), [batch, 1, 1, 1]);
    const featureTensor = tf.tensor2d(timestepFeatures(t, features), [batch, features]);
    const loss = opt.minimize(() => {
      const noise = tf.randomNormal([batch, size, size, 1]);
      const xt = tReal.mul(signal).add(noise.mul(noiseLevel)) as TF.Tensor4D;
      return tf.losses.meanSquaredError(noise, net.forward(xt, featureTensor, null)) as TF.Scalar;
    }, true, net.variables)!;
    steps++;
    const decay = emaDecayAt(config.emaDecay, steps);
    tf.tidy(() => net.variables.forEach((v, i) => ema[i].assign(ema[i].mul(decay).add(v.mul(1 - decay)))));
    const value = (await loss.data())[0];
    [loss, signal, noiseLevel, featureTensor].forEach((x) => x.dispose());
    return value;
  }
  return trainingStepCase(tf, {
    name: `U-Net '${config.configName}' ${size}×${size}×1, batch ${batch} (+ EMA)`,
    flops: modelStepFlops(forwardFlops),
    // random t and ε on each side: both losses start near E[ε²] = 1 (the output conv starts at zero)
    ours: async () => [(await trainer.trainStep(real as Tensor)).loss],
    theirs: async () => [await theirStep()],
    dispose() {
      trainer.dispose();
      real.dispose();
      net.dispose();
      ema.forEach((v) => v.dispose());
      opt.dispose();
      tReal.dispose();
    },
  });
}
