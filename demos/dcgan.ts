// The DCGAN page: train on shapes, digits or photos; sample with a seed
// exactly as `wgrad sample dcgan` does (same seed, same noise, same images).
import * as wg from '../src/index';
import { normalArray } from '../src/random';
import { DCGAN_MODEL, type DcganTrainer } from '../src/train/dcgan';
import { el, pageError, pageReady, startPage } from './common/page';
import { drawImages, pixelCanvas } from './train/canvas';
import type { ModelKind } from './train/model-kind';
import { TrainingPage } from './train/training-page';

const dcgan: ModelKind<DcganTrainer> = {
  model: DCGAN_MODEL,
  defaultSampleEvery: (onCpu) => (onCpu ? 5 : 25),
};

/**
 * n images from the generator for `seed`, as the CLI draws them: the
 * stream seeded, n × latent normals, one forward in eval mode. The page's
 * own random stream is put back afterwards, so sampling mid-run leaves the
 * training exactly as it would have been.
 */
async function sampleWithSeed(trainer: DcganTrainer, seed: number, n: number): Promise<{ data: Float32Array; shape: number[] }> {
  const saved = wg.getRandomState();
  try {
    wg.seed(seed);
    const z = wg.tensor(normalArray(n * trainer.config.latent), [n, trainer.config.latent]);
    try {
      return await trainer.sample(z);
    } finally {
      z.dispose();
    }
  } finally {
    wg.setRandomState(saved);
  }
}

async function main(): Promise<void> {
  await startPage({ file: 'dcgan.html', cpuFallback: true });
  const page = new TrainingPage(dcgan, document.getElementById('main')!);

  // Sampling with a seed: the images `wgrad sample dcgan --seed S --n N` writes.
  const panel = page.addPanel('Sample with a seed', 'seed-panel');
  const seedInput = el('input', { type: 'number', value: '0', step: '1', 'data-testid': 'seed' });
  const countSelect = el('select', { 'data-testid': 'count' });
  for (const n of [4, 16, 64]) countSelect.append(el('option', { value: String(n) }, String(n)));
  countSelect.value = '16';
  const go = el('button', { type: 'button', 'data-testid': 'generate' }, 'Generate');
  const controls = el('div', { class: 'controls' });
  const seedLabel = el('label', {}, 'Seed');
  seedLabel.append(seedInput);
  const countLabel = el('label', {}, 'Images');
  countLabel.append(countSelect);
  controls.append(seedLabel, countLabel, go);
  const canvas = pixelCanvas('samples for the chosen seed', 'seed-grid');
  panel.append(
    el('p', { class: 'note' }, 'The same seed gives the same noise, here and in wgrad sample dcgan --seed.'),
    controls,
    canvas,
  );
  const generate = async (seed: number, n: number) => {
    page.requireTrainer();
    const result = await page.withModel(async (trainer) => ({
      ...(await sampleWithSeed(trainer, seed, n)),
      scale: trainer.config.imageSize < 64 ? 2 : 1,
    }));
    if (!result) throw new Error('the model was reset');
    drawImages(canvas, result.data, result.shape, { scale: result.scale });
    return result;
  };
  go.addEventListener('click', () => void page.guard(async () => {
    await generate(Math.trunc(Number(seedInput.value)), Number(countSelect.value));
  }));

  pageReady({
    ...page.hooks(),
    sample: async (seed: number, n: number) => {
      const { data, shape } = await generate(seed, n);
      return { data: Array.from(data), shape };
    },
  });
}

main().catch(pageError);
