// The gallery: a card per page, and the adapter in use (in the header).
// The model cards open on live samples from the pretrained checkpoints
// (pretrained/), drawn by a forward pass in this tab: nothing to train first.
import * as wg from '../src/index';
import { DcganTrainer } from '../src/train/dcgan';
import { VaeTrainer } from '../src/train/vae';
import { loadDenoiser } from '../src/train/diffusion';
import { sampleDdim } from '../src/models/diffusion';
import { el, pageError, pageReady, startPage } from './common/page';
import { drawImages, pixelCanvas } from './train/canvas';
import { fetchPretrained, type PretrainedName } from './pretrained';

type Images = { data: Float32Array; shape: number[]; columns?: number };

/**
 * The diffusion card's classifier-free guidance: it shows one digit per
 * class, so each should read as its class. Guided at 2, the shipped model's
 * digits read as their class far more often (DDIM 10 steps, two of each:
 * every row at 2, about half the rows unguided), and
 * `wgrad eval --guidance 2` agrees on what it measures per image (the
 * classifier's entropy per sample 0.75 → 0.47 nats, classes balanced)
 * while the Fréchet distance, which also counts variety, doubles (n 100:
 * 14.7 → 29.7); the CLI samples unguided unless told (`--guidance 2`).
 */
const CARD_GUIDANCE = 2;

/** A pretrained model's live sample: what to draw, and how. */
interface LiveSample {
  name: PretrainedName;
  caption: string;
  draw(bytes: Uint8Array): Promise<Images>;
}

async function fromLatents(trainer: DcganTrainer | VaeTrainer, n: number): Promise<Images> {
  const z = wg.randn([n, trainer.config.latent]);
  try {
    return await trainer.sample(z);
  } finally {
    z.dispose();
    trainer.dispose();
  }
}

const LIVE: Record<string, LiveSample[]> = {
  'dcgan.html': [
    { name: 'dcgan-shapes', caption: 'shapes', draw: async (bytes) => fromLatents(DcganTrainer.fromCheckpoint(bytes, 'dcgan-shapes'), 16) },
    { name: 'dcgan-mnist', caption: 'digits', draw: async (bytes) => fromLatents(DcganTrainer.fromCheckpoint(bytes, 'dcgan-mnist'), 16) },
  ],
  'vae.html': [
    { name: 'vae-mnist', caption: 'digits from the prior', draw: async (bytes) => fromLatents(VaeTrainer.fromCheckpoint(bytes, 'vae-mnist'), 16) },
  ],
  'diffusion.html': [
    {
      name: 'diffusion-mnist',
      caption: `one digit of each class, DDIM 10 steps, guidance ${CARD_GUIDANCE}`,
      draw: async (bytes) => {
        const denoiser = loadDenoiser(bytes, 'diffusion-mnist');
        try {
          const labels = Array.from({ length: 10 }, (_, i) => i);
          const result = await sampleDdim(denoiser, { n: 10, steps: 10, eta: 0, seed: 0, labels, guidance: CARD_GUIDANCE });
          return { ...result, columns: 5 };
        } finally {
          denoiser.dispose();
        }
      },
    },
  ],
};

const CARDS: { file: string; title: string; text: string }[] = [
  { file: 'dcgan.html', title: 'DCGAN', text: 'A generator and a discriminator playing against each other learn to draw shapes or digits.' },
  { file: 'vae.html', title: 'Variational autoencoder', text: 'Compress images to a small latent space, click anywhere on its map to decode, and slide between two images.' },
  { file: 'diffusion.html', title: 'Diffusion', text: 'A small U-Net learns to remove noise; watch a sample appear from pure noise step by step (DDPM or DDIM).' },
  { file: 'conv.html', title: 'Conv explainer', text: 'Pick a kernel, stride, padding, dilation and groups; see the window slide, the feature maps, and the gradients of the backward pass, GPU beside CPU.' },
  { file: 'bench.html', title: 'Bench', text: 'Time wgrad\'s kernels against TensorFlow.js\'s WebGPU backend on this GPU, with the ratio of each.' },
];

async function main(): Promise<void> {
  await startPage({ file: 'index.html', cpuFallback: true });
  const cards = document.getElementById('cards')!;
  const pending: [LiveSample, HTMLCanvasElement][] = [];
  for (const card of CARDS) {
    const box = el('section', { class: 'card' });
    const title = el('h2');
    title.append(el('a', { href: `./${card.file}` }, card.title));
    box.append(title, el('p', {}, card.text));
    for (const live of LIVE[card.file] ?? []) {
      const canvas = pixelCanvas(`samples of the pretrained ${live.name}`, `live-${live.name}`);
      const figure = el('figure', { class: 'live' });
      figure.append(canvas, el('figcaption', { class: 'note' }, `pretrained, ${live.caption}`));
      box.append(figure);
      pending.push([live, canvas]);
    }
    cards.append(box);
  }
  pageReady({ liveDrawn: () => document.querySelectorAll('canvas[data-drawn]').length });
  // one at a time, cheapest first: each is a forward pass (DDIM: ten) on this tab's adapter
  wg.seed(Date.now() % 2 ** 31);
  for (const [live, canvas] of pending) {
    const images = await live.draw(await fetchPretrained(live.name));
    drawImages(canvas, images.data, images.shape, { columns: images.columns ?? 4 });
    canvas.dataset.drawn = 'true';
  }
}

main().catch(pageError);
