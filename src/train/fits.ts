// Sizing a run before it starts: how many images a step (or a sampling
// pass) may hold at once on this backend. A forward pass at a small count
// is watched for its largest tensor; that grows with the count, and the
// backend's largest storage (the adapter's buffer limits on WebGPU) bounds
// it. A count over the bound is refused in one line naming the flag and the
// largest value that fits, before minutes of work, rather than failing
// late with the GPU's own message.
import { Tensor, largestTensorIn, scope, shapeString } from '../tensor';
import { tensor } from '../ops/creation';
import { noGrad } from '../autograd';
import { currentBackend } from '../runtime';
import { normalArray, seed } from '../random';
import { formatBytes } from '../shape';
import type { Module } from '../nn/module';

/** Runs `forward` without a graph and with `modules` in eval mode (no running statistic moves), restoring their modes. */
function probe(modules: Module[], forward: () => void): number[] {
  const modes = modules.map((m) => m.training);
  for (const m of modules) m.eval();
  try {
    return largestTensorIn(() => scope(() => noGrad(forward)));
  } finally {
    modules.forEach((m, i) => m.train(modes[i]));
  }
}

/**
 * Refuses `value` of `flag` when a pass over that many images would need a
 * tensor larger than one storage here. `forward(count)` runs the model on
 * `count` images of zeros (it must not draw from the seeded stream);
 * `modules` are put in eval mode while it runs.
 */
export function checkCountFits(command: string, flag: string, value: number, modules: Module[], forward: (count: number) => void): void {
  const probeCount = 2; // batchnorm's training mode would need two; eval takes any
  const shape = probe(modules, () => forward(probeCount));
  const elements = shape.reduce((a, b) => a * b, 1);
  const perImage = Math.ceil(elements / probeCount);
  const { elements: most, bytesPerElement, limit } = currentBackend().largestStorage;
  const largestCount = Math.floor(most / perImage);
  if (value <= largestCount) return;
  throw new Error(
    `${command}: ${flag} ${value} does not fit: its largest tensor (${shapeString(shape)} at ${probeCount}) would hold ` +
      `${value * perImage} numbers (${formatBytes(value * perImage * bytesPerElement)}), more than one storage can hold ` +
      `(${formatBytes(most * bytesPerElement)}, ${limit}); the largest ${flag} that fits is ${largestCount}`,
  );
}

/** Images of one sampling pass; more are drawn in pieces of this many, so any count fits. */
export const SAMPLE_PIECE = 256;

/** A model that decodes Gaussian latents into images: DCGAN's generator, the VAE's decoder under its prior. */
export interface LatentModel {
  readonly config: { latent: number; channels: number; imageSize: number };
  sample(z: Tensor): Promise<{ data: Float32Array; shape: number[] }>;
}

/**
 * The images `model` draws for `noise` (n latents, row-major), SAMPLE_PIECE
 * at a time: a hundred thousand samples are a loop, not one buffer.
 */
export async function sampleInPieces(model: LatentModel, noise: Float32Array): Promise<{ data: Float32Array; shape: number[] }> {
  const { latent, channels, imageSize } = model.config;
  const n = noise.length / latent;
  const imageLength = channels * imageSize * imageSize;
  const data = new Float32Array(n * imageLength);
  for (let start = 0; start < n; start += SAMPLE_PIECE) {
    const count = Math.min(SAMPLE_PIECE, n - start);
    const z = tensor(noise.subarray(start * latent, (start + count) * latent), [count, latent]);
    try {
      data.set((await model.sample(z)).data, start * imageLength);
    } finally {
      z.dispose();
    }
  }
  return { data, shape: [n, channels, imageSize, imageSize] };
}

/**
 * n images from a latent model freshly restored by `load` (and freed
 * after): the stream seeded with `seedValue`, n × latent normals drawn,
 * decoded in pieces. What `wgrad eval` and `wgrad sample` draw for a seed.
 */
export async function sampleWithSeed(load: () => LatentModel & { dispose(): void }, n: number, seedValue: number): Promise<{ data: Float32Array; shape: number[] }> {
  const model = load();
  try {
    seed(seedValue);
    return await sampleInPieces(model, normalArray(n * model.config.latent));
  } finally {
    model.dispose();
  }
}
