// Whole training steps, wgrad against tfjs running the same architecture
// with its own layers and optimizer. Both read their losses back every
// step (wgrad's trainer does, for the NaN guard and the metrics), so both
// pay one sync per step.
import * as wg from '../../src/index';
import type { Tensor } from '../../src/tensor';
import { normalArray } from '../../src/random';
import { DcganTrainer, dcganTrainConfig } from '../../src/train/dcgan';
import type { DcganConfig } from '../../src/models/dcgan';
import type { Case } from './cases';
import { nchwToNhwc } from './cases';
import type { Tfjs } from './tfjs';
import type * as TF from '@tensorflow/tfjs';

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

/** DCGAN's training step: 'tiny' at batch 8 with --quick, 64×64 'base' at batch 64 otherwise. */
export function dcganStepCase(tf: Tfjs, quick: boolean): Case {
  const batch = quick ? 8 : 64;
  const config = dcganTrainConfig(quick ? 'tiny' : 'base', { channels: 3, data: 'shapes', batch, seed: 0 });
  const trainer = new DcganTrainer(config);
  const s = config.imageSize;
  const realData = normalArray(batch * 3 * s * s).map((v) => Math.tanh(v));
  const real = wg.tensor(realData, [batch, 3, s, s]);
  const theirs = tfDcgan(tf, config, batch, config.lr);
  const tReal = tf.tensor4d(nchwToNhwc(realData, batch, 3, s, s), [batch, s, s, 3]);
  const losses = (h: unknown) => new Float32Array(h as [number, number]);
  return {
    name: `DCGAN '${config.configName}' ${s}×${s}×3, batch ${batch}`,
    kind: 'training step',
    flops: dcganFlops(config, batch),
    // Two different random inits: the check is that both losses start near 2·ln 2 and ln 2, not equality.
    tolerance: Infinity,
    ours: {
      run: async () => {
        const m = await trainer.trainStep(real as Tensor);
        return [m.lossD, m.lossG];
      },
      sync: async () => {},
      free: () => {},
      values: async (h) => losses(h),
    },
    theirs: {
      run: () => theirs.step(tReal),
      sync: async () => {},
      free: () => {},
      values: async (h) => losses(h),
    },
    dispose() {
      trainer.dispose();
      real.dispose();
      theirs.dispose();
      tReal.dispose();
    },
  };
}
