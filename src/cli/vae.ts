// `wgrad train vae`, `wgrad latent-map vae` and `wgrad interpolate vae`.
import { existsSync } from 'node:fs';
import { readInput, writeOutput } from '../node/files';
import { resolve } from 'node:path';
import * as wg from '../node/index';
import { Loader, describeDataset } from '../data/dataset';
import { openDataset } from '../node/image-folder';
import { decodeImage, fitImage } from '../data/images';
import { MAX_LATENT, MIN_LATENT, VAE_CONFIGS } from '../models/vae';
import { VAE_MODEL, type VaeTrainConfig, type VaeTrainer } from '../train/vae';
import { defaultInterpolationMode, interpolateLatents, latentMap, type InterpolationMode } from '../train/latent';
import { encodeGif, encodePng, imageGrid, joinPictures } from '../io/picture';
import { checkResumeFlags, choiceFlag, intFlag, nonNegativeFlag, parseFlags, positiveFlag, stringFlag, type FlagValues, type Flags } from './args';
import { checkpointPath, pretrainedFlag } from './pretrained';
import { checkFinite } from '../train/checkpoint';
import { checkCountFits, sampleInPieces } from '../train/fits';
import { normalArray } from '../random';
import { RUN_FOLDER_FLAGS, progressMode, runFolder, runTrainCommand } from './progress';

const configHelp = Object.entries(VAE_CONFIGS).map(([name, c]) => `${name} ${c.latent}`).join(', ');

export const TRAIN_VAE_FLAGS: Flags = {
  data: { type: 'string', default: 'mnist', help: 'mnist | shapes | images:DIR (gray data: BCE loss, colour: MSE)' },
  config: { type: 'string', default: 'tiny', help: Object.keys(VAE_MODEL.sizes).join(' | ') },
  latent: { type: 'string', help: `latent size, ${MIN_LATENT} to ${MAX_LATENT} (default: the config's: ${configHelp})` },
  beta: { type: 'string', default: '1', help: 'weight of the KL term (1: the ELBO)' },
  warmup: { type: 'string', default: '0', help: 'steps over which beta ramps up from 0 (0: none)' },
  steps: { type: 'string', default: String(VAE_MODEL.sizes.tiny.steps), help: 'train until this many steps in total' },
  batch: { type: 'string', default: String(VAE_MODEL.sizes.tiny.batch), help: 'images per step' },
  lr: { type: 'string', default: String(VAE_MODEL.sizes.tiny.lr), help: 'Adam learning rate' },
  seed: { type: 'string', default: '0', help: 'seeds weights, noise and data order' },
  out: { type: 'string', default: 'runs/vae', help: 'the run folder' },
  resume: { type: 'string', help: 'a checkpoint to continue from (its config wins)' },
  channels: { type: 'string', help: '1 | 3 (default: the data\'s own)' },
  'held-out': { type: 'string', default: '256', help: 'test images the held-out metrics use' },
  'sample-every': { type: 'string', default: '50', help: 'steps between sample grids and held-out metrics' },
  'checkpoint-every': { type: 'string', default: '100', help: 'steps between checkpoints' },
  backend: { type: 'string', default: 'auto', help: 'auto | webgpu | cpu' },
  quiet: { type: 'boolean', help: 'no progress output' },
  json: { type: 'boolean', help: 'one JSON line of metrics per step on stdout' },
  ...RUN_FOLDER_FLAGS,
};

export const SAMPLE_VAE_FLAGS: Flags = {
  ckpt: { type: 'string', help: 'a VAE checkpoint' },
  pretrained: pretrainedFlag('vae'),
  n: { type: 'string', default: '64', help: 'how many images, decoded from draws of the prior N(0, I)' },
  seed: { type: 'string', default: '0', help: 'seeds the draws' },
  out: { type: 'string', default: 'samples.png', help: 'the grid (PNG)' },
  backend: { type: 'string', default: 'auto', help: 'auto | webgpu | cpu' },
};

export const LATENT_MAP_VAE_FLAGS: Flags = {
  ckpt: { type: 'string', help: 'a VAE checkpoint; run as: wgrad latent-map vae --ckpt F' },
  pretrained: pretrainedFlag('vae'),
  data: { type: 'string', help: 'whose test split to encode (default: the checkpoint\'s data)' },
  out: { type: 'string', default: 'map.png', help: 'the decoded grid (PNG); the scatter goes beside it (.svg)' },
  grid: { type: 'string', default: '16', help: 'the grid is N × N decoded images' },
  count: { type: 'string', default: '1000', help: 'held-out images in the scatter' },
  backend: { type: 'string', default: 'auto', help: 'auto | webgpu | cpu' },
};

export const INTERPOLATE_VAE_FLAGS: Flags = {
  ckpt: { type: 'string', help: 'a VAE checkpoint; run as: wgrad interpolate vae --ckpt F' },
  pretrained: pretrainedFlag('vae'),
  from: { type: 'string', help: 'a PNG/JPEG, or test:INDEX (a held-out image of the checkpoint\'s data) (required)' },
  to: { type: 'string', help: 'likewise, where the walk ends (required)' },
  steps: { type: 'string', default: '8', help: 'decoded frames, both ends included' },
  mode: { type: 'string', default: 'auto', help: 'linear | slerp | auto (linear for a 2-D latent, else slerp)' },
  out: { type: 'string', default: 'interpolation.gif', help: 'the GIF; a PNG strip goes beside it (.png)' },
  backend: { type: 'string', default: 'auto', help: 'auto | webgpu | cpu' },
};

/** `wgrad latent-map vae ...`: the model name comes first; the rest are flags. */
function afterModelName(command: string, args: string[]): string[] {
  const [model, ...rest] = args;
  if (model !== 'vae') {
    const what = model === undefined || model.startsWith('-') ? 'which model?' : `unknown model '${model}'`;
    throw new Error(`wgrad ${command}: ${what}; valid: vae (as in: wgrad ${command} vae --ckpt F)`);
  }
  return rest;
}

function loadTrainer(command: string, path: string): VaeTrainer {
  if (!existsSync(path)) throw new Error(`${command}: no checkpoint at ${path}`);
  return VAE_MODEL.restore(readInput(path, 'checkpoint'), path);
}

/** loadTrainer, refusing weights that hold NaN or Inf (for the commands that draw from them). */
async function loadFiniteTrainer(command: string, path: string): Promise<VaeTrainer> {
  const trainer = loadTrainer(command, path);
  try {
    await checkFinite(trainer.model.stateDict(), path);
    return trainer;
  } catch (error) {
    trainer.dispose();
    throw error;
  }
}

/** `path` with its extension (one of `extensions`, if present) replaced by `extension`. */
function withExtension(path: string, extensions: string[], extension: string): string {
  const lower = path.toLowerCase();
  const old = extensions.find((e) => lower.endsWith(e));
  return (old ? path.slice(0, -old.length) : path) + extension;
}

export async function trainVae(args: string[]): Promise<number> {
  const command = 'wgrad train vae';
  const values = parseFlags(command, args, TRAIN_VAE_FLAGS);
  const steps = intFlag(command, values, 'steps');
  const sampleEvery = intFlag(command, values, 'sample-every');
  const checkpointEvery = intFlag(command, values, 'checkpoint-every');
  const out = runFolder(resolve(stringFlag(command, values, 'out')), values, values.resume !== undefined);
  const backend = choiceFlag(command, values, 'backend', ['auto', 'webgpu', 'cpu'] as const);
  await wg.init({ backend });

  const configName = choiceFlag(command, values, 'config', Object.keys(VAE_MODEL.sizes));
  const data = stringFlag(command, values, 'data');
  const channelsFlag = values.channels === undefined ? undefined : choiceFlag(command, values, 'channels', ['1', '3'] as const);
  const latent = values.latent === undefined ? undefined : intFlag(command, values, 'latent', MIN_LATENT);
  if (latent !== undefined && latent > MAX_LATENT) throw new Error(`${command}: --latent must be an integer from ${MIN_LATENT} to ${MAX_LATENT}, got '${values.latent}'`);
  const probe = await describeDataset(data, { size: VAE_MODEL.sizes[configName].imageSize, channels: channelsFlag ? (Number(channelsFlag) as 1 | 3) : undefined });
  const asked = VAE_MODEL.configure({
    configName,
    channels: probe.channels,
    data,
    latent,
    beta: nonNegativeFlag(command, values, 'beta'),
    warmup: intFlag(command, values, 'warmup', 0),
    batch: intFlag(command, values, 'batch', 2),
    lr: positiveFlag(command, values, 'lr'),
    seed: intFlag(command, values, 'seed', 0),
    heldOut: intFlag(command, values, 'held-out'),
  });
  let trainer: VaeTrainer;
  if (values.resume !== undefined) {
    const path = stringFlag(command, values, 'resume');
    trainer = loadTrainer(command, path);
    const saved = trainer.config;
    try {
      checkResumeFlags(command, args, path, {
        data: [asked.data, saved.data], config: [asked.configName, saved.configName], latent: [asked.latent, saved.latent],
        beta: [asked.beta, saved.beta], warmup: [asked.warmup, saved.warmup], batch: [asked.batch, saved.batch],
        lr: [asked.lr, saved.lr], seed: [asked.seed, saved.seed], channels: [asked.channels, saved.channels], 'held-out': [asked.heldOut, saved.heldOut],
      });
      if (trainer.step >= steps) {
        throw new Error(`${command}: the checkpoint is at step ${trainer.step}; --steps ${steps} leaves nothing to do (it counts steps in total)`);
      }
    } catch (error) {
      trainer.dispose();
      throw error;
    }
  } else {
    trainer = VAE_MODEL.create(asked);
  }
  const config = trainer.config;
  try {
    const { model } = trainer;
    // encode and decode the mean: the forward's own noise would draw from the seeded stream
    checkCountFits(command, '--batch', config.batch, [model],
      (n) => model.decode(model.encode(wg.zeros([n, config.channels, config.imageSize, config.imageSize])).mean));
    const open = (split: 'train' | 'test') => openDataset(config.data, { size: config.imageSize, channels: config.channels, seed: config.seed, split });
    const dataset = await open('train');
    const heldOut = await open('test');
    const loader = new Loader(dataset, { batchSize: config.batch, seed: config.seed, flip: config.data.startsWith('images:') });
    const trainable = VAE_MODEL.trainable(trainer, { loader, heldOut });

    const mode = progressMode(values);
    if (mode !== 'json') {
      console.log(`wgrad: VAE '${config.configName}' (latent ${config.latent}, beta ${config.beta}${config.warmup ? ` after a ${config.warmup}-step warm-up` : ''}, ` +
        `${config.reconstruction === 'bce' ? 'Bernoulli (BCE)' : 'squared-error'} reconstruction) on ${dataset.name} ` +
        `(${dataset.count} images, ${config.imageSize}×${config.imageSize}×${config.channels}; held out: the first ${Math.min(config.heldOut, heldOut.count)} test images), ` +
        `batch ${config.batch}, ${wg.backendName()} backend, run folder ${out}` + (trainer.step ? `, resuming at step ${trainer.step}` : ''));
    }
    return await runTrainCommand(VAE_MODEL, trainable, {
      mode, out, steps, sampleEvery, checkpointEvery, overwrite: values.overwrite === true,
      describeLast: (last) => `loss ${last.loss.toFixed(2)} (recon ${last.recon.toFixed(2)}, KL ${last.kl.toFixed(2)})`,
      extraLines: () => {
        const evaluations = trainable.evaluations;
        if (!evaluations.length) return [];
        const first = evaluations[0];
        const final = evaluations[evaluations.length - 1];
        const describe = (e: typeof first) => `${e.nelbo.toFixed(2)} at step ${e.step} (recon ${e.recon.toFixed(2)}, KL ${e.kl.toFixed(2)})`;
        return [`held-out negative ELBO per image: ${evaluations.length > 1 ? `${describe(first)} → ` : ''}${describe(final)}`];
      },
    });
  } finally {
    trainer.dispose();
  }
}

export async function sampleVae(args: string[]): Promise<number> {
  const command = 'wgrad sample vae';
  const values = parseFlags(command, args, SAMPLE_VAE_FLAGS);
  const path = checkpointPath(command, values, 'vae');
  const n = intFlag(command, values, 'n');
  const seed = intFlag(command, values, 'seed', 0);
  const out = stringFlag(command, values, 'out');
  const backend = choiceFlag(command, values, 'backend', ['auto', 'webgpu', 'cpu'] as const);
  await wg.init({ backend, seed });
  const trainer = await loadFiniteTrainer(command, path);
  try {
    wg.seed(seed);
    const { data, shape } = await sampleInPieces(trainer, normalArray(n * trainer.config.latent));
    writeOutput(out, encodePng(imageGrid(data, shape, { scale: 2 })));
    console.log(`wrote ${out}: ${n} samples of the prior from ${path} (step ${trainer.step}), seed ${seed}`);
    return 0;
  } finally {
    trainer.dispose();
  }
}

export async function latentMapVae(args: string[]): Promise<number> {
  const command = 'wgrad latent-map vae';
  const values = parseFlags(command, afterModelName('latent-map', args), LATENT_MAP_VAE_FLAGS);
  const path = checkpointPath(command, values, 'vae');
  const out = stringFlag(command, values, 'out');
  const gridSize = intFlag(command, values, 'grid', 2);
  const count = intFlag(command, values, 'count', 2);
  const backend = choiceFlag(command, values, 'backend', ['auto', 'webgpu', 'cpu'] as const);
  await wg.init({ backend });
  const trainer = await loadFiniteTrainer(command, path);
  try {
    const config = trainer.config;
    const data = values.data === undefined ? config.data : stringFlag(command, values, 'data');
    const dataset = await openDataset(data, { size: config.imageSize, channels: config.channels, seed: config.seed, split: 'test' });
    const map = await latentMap(trainer, dataset, { gridSize, count });
    const svgPath = withExtension(out, ['.png'], '.svg');
    writeOutput(out, encodePng(map.grid));
    writeOutput(svgPath, map.scatterSvg);
    const plane = map.axes === 'latent'
      ? 'the 2-D latent plane'
      : `the plane of the first two principal directions of the ${config.latent}-D means (${map.explained!.map((f) => `${Math.round(100 * f)}%`).join(' + ')} of their variance)`;
    const range = (r: [number, number]) => `${r[0].toFixed(2)} … ${r[1].toFixed(2)}`;
    console.log(`grid     ${resolve(out)}: ${gridSize}×${gridSize} images decoded over ${plane}, x ${range(map.extent.x)}, y ${range(map.extent.y)} (±3 std of the means)`);
    console.log(`scatter  ${resolve(svgPath)}: the posterior means of ${map.points.length} test images of ${dataset.name}, coloured by label`);
    console.log(`from ${path} (step ${trainer.step})`);
    return 0;
  } finally {
    trainer.dispose();
  }
}

/** An image for --from/--to: test:INDEX of the checkpoint's data, or a PNG/JPEG fitted to the VAE's size and channels. */
async function inputImage(command: string, flag: string, spec: string, config: VaeTrainConfig): Promise<Float32Array> {
  const held = /^test:(.*)$/.exec(spec);
  if (held) {
    const index = Number(held[1]);
    const dataset = await openDataset(config.data, { size: config.imageSize, channels: config.channels, seed: config.seed, split: 'test' });
    if (!Number.isInteger(index) || index < 0 || index >= dataset.count) {
      throw new Error(`${command}: --${flag} ${spec}: the index must be an integer from 0 to ${dataset.count - 1} (the test split of ${dataset.name})`);
    }
    return dataset.examples([index]).images;
  }
  if (!existsSync(spec)) throw new Error(`${command}: --${flag}: no file at ${spec} (give a PNG/JPEG, or test:INDEX)`);
  const image = decodeImage(readInput(spec, 'image'), spec);
  return fitImage(image.rgba, image.width, image.height, config.imageSize, config.channels);
}

export async function interpolateVae(args: string[]): Promise<number> {
  const command = 'wgrad interpolate vae';
  const values = parseFlags(command, afterModelName('interpolate', args), INTERPOLATE_VAE_FLAGS);
  const path = checkpointPath(command, values, 'vae');
  const from = stringFlag(command, values, 'from');
  const to = stringFlag(command, values, 'to');
  const steps = intFlag(command, values, 'steps', 2);
  const modeFlag = choiceFlag(command, values, 'mode', ['auto', 'linear', 'slerp'] as const);
  const out = stringFlag(command, values, 'out');
  const backend = choiceFlag(command, values, 'backend', ['auto', 'webgpu', 'cpu'] as const);
  await wg.init({ backend });
  const trainer = await loadFiniteTrainer(command, path);
  try {
    const config = trainer.config;
    const mode: InterpolationMode = modeFlag === 'auto' ? defaultInterpolationMode(config.latent) : modeFlag;
    const a = await inputImage(command, 'from', from, config);
    const b = await inputImage(command, 'to', to, config);
    const scale = config.imageSize < 64 ? 2 : 1;
    const walk = await interpolateLatents(trainer, a, b, steps, mode, { scale });
    const gifPath = withExtension(out, ['.gif', '.png'], '.gif');
    const pngPath = withExtension(out, ['.gif', '.png'], '.png');
    // there and back again, so the loop has no jump
    writeOutput(gifPath, encodeGif([...walk.frames, ...walk.frames.slice(1, -1).reverse()], { delayMs: 150, lastFrameDelayMs: 600 }));
    const input = (image: Float32Array) => imageGrid(image, [1, config.channels, config.imageSize, config.imageSize], { padding: 0, scale });
    writeOutput(pngPath, encodePng(joinPictures([input(a), joinPictures(walk.frames, { gap: 2 }), input(b)], { gap: 10 })));
    console.log(`gif    ${resolve(gifPath)}: ${steps} frames from ${from} to ${to} and back (${mode} in the ${config.latent}-D latent)`);
    console.log(`strip  ${resolve(pngPath)}: ${from} | the ${steps} decoded frames | ${to}`);
    console.log(`from ${path} (step ${trainer.step})`);
    return 0;
  } finally {
    trainer.dispose();
  }
}
