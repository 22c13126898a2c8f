// The gallery: a card per page, and the adapter in use (in the header).
import { el, pageError, pageReady, startPage } from './common/page';

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
  for (const card of CARDS) {
    const box = el('section', { class: 'card' });
    const title = el('h2');
    title.append(el('a', { href: `./${card.file}` }, card.title));
    box.append(title, el('p', {}, card.text));
    cards.append(box);
  }
  pageReady();
}

main().catch(pageError);
