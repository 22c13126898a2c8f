// The checkpoints shipped in pretrained/ (trained by wgrad itself; how, in
// pretrained/README.md), as URLs the page can fetch: vite copies each file
// into the built site.
import dcganShapes from '../pretrained/dcgan-shapes.safetensors?url';
import dcganMnist from '../pretrained/dcgan-mnist.safetensors?url';
import vaeMnist from '../pretrained/vae-mnist.safetensors?url';
import diffusionMnist from '../pretrained/diffusion-mnist.safetensors?url';

const URLS = {
  'dcgan-shapes': dcganShapes,
  'dcgan-mnist': dcganMnist,
  'vae-mnist': vaeMnist,
  'diffusion-mnist': diffusionMnist,
} as const;

export type PretrainedName = keyof typeof URLS;

/** The pretrained checkpoint of a model kind for a data set, if one is shipped. */
export function pretrainedFor(kind: string, data: string): PretrainedName | null {
  const name = `${kind}-${data}`;
  return name in URLS ? (name as PretrainedName) : null;
}

export async function fetchPretrained(name: PretrainedName): Promise<Uint8Array> {
  const response = await fetch(URLS[name]);
  if (!response.ok) throw new Error(`pretrained ${name}: ${URLS[name]} answered ${response.status} ${response.statusText}`);
  return new Uint8Array(await response.arrayBuffer());
}
