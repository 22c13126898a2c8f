// Two whole DCGAN training steps (both nets forward and backward, both Adam
// updates, batchnorm running statistics) on WebGPU against the same two
// steps on the float64 CPU reference, from the same seed: the kernels
// compose into the same training step, not only the same ops. Both
// recipes: the paper's (transposed convs, BCE) and each variant (the
// generator's weight average, nearest upsampling + 3×3 convs, the hinge
// loss, a spectrally normalized discriminator), and the default recipe with
// each other discriminator norm (per-image layer norm, none).
import { it, expect } from 'vitest';
import * as wg from '../src/node/index';
import { DCGAN_RECIPES, DEFAULT_DCGAN_RECIPE, DcganTrainer, dcganTrainConfig, type DcganSetup, type DcganTrainConfig } from '../src/train/dcgan';
import { normalArray } from '../src/random';

type Choices = Pick<DcganSetup, 'recipe' | 'discriminatorNorm'>;

function microConfig(choices: Choices): DcganTrainConfig {
  return { ...dcganTrainConfig('tiny', { channels: 1, data: 'shapes', batch: 4, seed: 1, samples: 4, ...choices }), latent: 8, generatorWidth: 4, discriminatorWidth: 4 };
}

const CASES: Array<[string, Choices]> = [
  ...Object.keys(DCGAN_RECIPES).map((recipe): [string, Choices] => [`recipe ${recipe}`, { recipe }]),
  ...(['layer', 'none'] as const).map((norm): [string, Choices] => [`${DEFAULT_DCGAN_RECIPE}, --d-norm ${norm}`, { discriminatorNorm: norm }]),
];

async function twoSteps(backend: 'cpu' | 'webgpu', images: Float32Array, choices: Choices) {
  await wg.init({ backend });
  const trainer = new DcganTrainer(microConfig(choices));
  const x = wg.tensor(images, [4, 1, 32, 32]);
  const losses: number[] = [];
  for (let i = 0; i < 2; i++) {
    const m = await trainer.trainStep(x);
    losses.push(m.lossD, m.lossG);
  }
  const generator = await Promise.all(trainer.generator.parameters().map((p) => p.toArray()));
  const discriminator = await Promise.all(trainer.discriminator.parameters().map((p) => p.toArray()));
  const average = await Promise.all(Object.values(trainer.sampler.stateDict()).map((t) => t.toArray()));
  trainer.dispose();
  x.dispose();
  return { losses, generator, discriminator, average };
}

function maxAbsDiff(a: Float32Array[], b: Float32Array[]): number {
  let worst = 0;
  a.forEach((values, i) => values.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - b[i][j])))));
  return worst;
}

it.each(CASES)('two DCGAN steps (%s) on WebGPU match the CPU reference: losses and every weight of both nets and the average', async (name, choices) => {
  // the same images for every recipe, whichever test ran before: on other
  // inputs a pre-activation within roundoff of a ReLU or hinge kink can
  // take the two backends to different sides of it, and Adam's first,
  // sign-like steps carry that difference (up to lr) into the weights
  wg.seed(11);
  const images = normalArray(4 * 32 * 32).map((v) => Math.tanh(v));
  const cpu = await twoSteps('cpu', images, choices);
  const gpu = await twoSteps('webgpu', images, choices);
  const errors = {
    generator: maxAbsDiff(gpu.generator, cpu.generator),
    discriminator: maxAbsDiff(gpu.discriminator, cpu.discriminator),
    average: maxAbsDiff(gpu.average, cpu.average),
  };
  console.log(`${name}: losses (lossD, lossG per step) WebGPU ${gpu.losses.map((v) => v.toFixed(6)).join(' ')}, CPU ${cpu.losses.map((v) => v.toFixed(6)).join(' ')}; ` +
    `after 2 steps, max abs difference: generator ${errors.generator.toExponential(2)}, discriminator ${errors.discriminator.toExponential(2)}, ` +
    `sampling generator ${errors.average.toExponential(2)}`);
  gpu.losses.forEach((v, i) => expect(Math.abs(v - cpu.losses[i])).toBeLessThan(1e-4));
  expect(errors.generator).toBeLessThan(1e-5);
  expect(errors.discriminator).toBeLessThan(1e-5);
  expect(errors.average).toBeLessThan(1e-5);
});
