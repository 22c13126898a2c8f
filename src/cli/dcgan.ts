// `wgrad train dcgan` and `wgrad sample dcgan`.
import { existsSync } from 'node:fs';
import { readInput, writeOutput } from '../node/files';
import { resolve } from 'node:path';
import * as wg from '../node/index';
import { Loader, describeDataset } from '../data/dataset';
import { openDataset } from '../node/image-folder';
import { DISCRIMINATOR_NORMS } from '../models/dcgan';
import { DCGAN_MODEL, DCGAN_RECIPES, DEFAULT_DCGAN_RECIPE, type DcganTrainConfig, type DcganTrainer } from '../train/dcgan';
import { encodeGif, encodePng, imageGrid } from '../io/picture';
import { checkFinite } from '../train/checkpoint';
import { checkCountFits, sampleInPieces } from '../train/fits';
import { normalArray, slerpRows } from '../random';
import { checkResumeFlags, choiceFlag, flagGiven, fractionFlag, fractionPairFlag, intFlag, parseFlags, positiveFlag, stringFlag, type FlagValues, type Flags } from './args';
import { PRETRAINED, checkpointPath, pretrainedFlag, pretrainedPath } from './pretrained';
import { RUN_FOLDER_FLAGS, progressMode, runFolder, runTrainCommand } from './progress';

export const TRAIN_DCGAN_FLAGS: Flags = {
  data: { type: 'string', default: 'shapes', help: 'shapes | mnist | images:DIR' },
  config: { type: 'string', default: 'auto', help: `${Object.keys(DCGAN_MODEL.sizes).join(' | ')} | auto (tiny on a CPU adapter such as SwiftShader, else small)` },
  steps: { type: 'string', help: 'train until this many steps in total (default: the config\'s)' },
  batch: { type: 'string', help: 'images per step (default: the config\'s)' },
  lr: { type: 'string', help: 'Adam learning rate (default: the config\'s, tiny 1e-3, else 2e-4)' },
  'lr-d': { type: 'string', help: 'the discriminator\'s learning rate (default: --lr)' },
  recipe: { type: 'string', default: DEFAULT_DCGAN_RECIPE, help: `${Object.keys(DCGAN_RECIPES).join(' | ')}: paper is Radford et al.'s DCGAN; see docs/RECIPES.md` },
  upsample: { type: 'string', help: 'transposed | nearest: how the generator doubles its map (default: the recipe\'s)' },
  'd-norm': { type: 'string', help: `${DISCRIMINATOR_NORMS.join(' | ')}: the discriminator's normalization (layer: per image, GroupNorm with one group) (default: the recipe's)` },
  loss: { type: 'string', help: 'bce | hinge (default: the recipe\'s)' },
  ema: { type: 'string', help: 'decay of the generator average samples come from, 0 = none (default: the recipe\'s)' },
  betas: { type: 'string', help: 'Adam\'s betas for both nets, as 0.5,0.999 (default: the recipe\'s)' },
  nz: { type: 'string', help: 'length of the noise vector z (default: the config\'s, tiny 16)' },
  ngf: { type: 'string', help: 'channels of the generator\'s last hidden layer, doubling towards z (default: the config\'s, tiny 16)' },
  ndf: { type: 'string', help: 'channels of the discriminator\'s first layer, doubling towards the logit (default: the config\'s, tiny 8)' },
  seed: { type: 'string', default: '0', help: 'seeds weights, noise and data order' },
  out: { type: 'string', default: 'runs/dcgan', help: 'the run folder' },
  resume: { type: 'string', help: 'a checkpoint to continue from; flags given must agree with it' },
  init: { type: 'string', help: `start a new run from a checkpoint's weights (fine-tuning): pretrained:${PRETRAINED.dcgan.join('|pretrained:')} or a file` },
  channels: { type: 'string', help: '1 | 3 (default: the data\'s own)' },
  'sample-every': { type: 'string', default: '50', help: 'steps between sample grids' },
  'checkpoint-every': { type: 'string', default: '100', help: 'steps between checkpoints' },
  backend: { type: 'string', default: 'auto', help: 'auto | webgpu | cpu' },
  quiet: { type: 'boolean', help: 'no progress output' },
  json: { type: 'boolean', help: 'one JSON line of metrics per step on stdout' },
  ...RUN_FOLDER_FLAGS,
};

export const SAMPLE_DCGAN_FLAGS: Flags = {
  ckpt: { type: 'string', help: 'a DCGAN checkpoint' },
  pretrained: pretrainedFlag('dcgan'),
  n: { type: 'string', default: '64', help: 'how many images' },
  out: { type: 'string', default: 'samples.png', help: 'the grid (PNG), or the GIF with --interpolate' },
  interpolate: { type: 'string', help: 'K frames walking (spherically) between two sets of latent points, as a GIF' },
  seed: { type: 'string', default: '0', help: 'seeds the noise' },
  backend: { type: 'string', default: 'auto', help: 'auto | webgpu | cpu' },
};

/** The flags that shape a run, as a config reads them (old checkpoints lack the recipe's fields). */
function runFlagValues(c: DcganTrainConfig): Record<string, string | number> {
  return {
    data: c.data, config: c.configName, batch: c.batch, lr: c.lr, 'lr-d': c.lrD ?? c.lr, seed: c.seed, channels: c.channels,
    recipe: c.recipe ?? 'paper', upsample: c.upsample ?? 'transposed', 'd-norm': c.discriminatorNorm ?? 'batch', loss: c.loss ?? 'bce', ema: c.emaDecay ?? 0,
    betas: c.betas.join(','), nz: c.latent, ngf: c.generatorWidth, ndf: c.discriminatorWidth,
  };
}

/** The whole training config the flags ask for, defaults filled in. */
async function configFromFlags(command: string, values: FlagValues): Promise<DcganTrainConfig> {
  const chosen = choiceFlag(command, values, 'config', [...Object.keys(DCGAN_MODEL.sizes), 'auto']);
  const configName = chosen === 'auto' ? (wg.onCpuDevice() ? 'tiny' : 'small') : chosen;
  const data = stringFlag(command, values, 'data');
  const channelsFlag = values.channels === undefined ? undefined : choiceFlag(command, values, 'channels', ['1', '3'] as const);
  const probe = await describeDataset(data, { size: DCGAN_MODEL.sizes[configName].imageSize, channels: channelsFlag ? (Number(channelsFlag) as 1 | 3) : undefined });
  return DCGAN_MODEL.configure({
    configName,
    channels: probe.channels,
    data,
    batch: values.batch === undefined ? undefined : intFlag(command, values, 'batch', 2),
    lr: values.lr === undefined ? undefined : positiveFlag(command, values, 'lr'),
    lrD: values['lr-d'] === undefined ? undefined : positiveFlag(command, values, 'lr-d'),
    seed: intFlag(command, values, 'seed', 0),
    recipe: choiceFlag(command, values, 'recipe', Object.keys(DCGAN_RECIPES)),
    upsample: values.upsample === undefined ? undefined : choiceFlag(command, values, 'upsample', ['transposed', 'nearest'] as const),
    discriminatorNorm: values['d-norm'] === undefined ? undefined : choiceFlag(command, values, 'd-norm', DISCRIMINATOR_NORMS),
    loss: values.loss === undefined ? undefined : choiceFlag(command, values, 'loss', ['bce', 'hinge'] as const),
    emaDecay: values.ema === undefined ? undefined : fractionFlag(command, values, 'ema'),
    betas: values.betas === undefined ? undefined : fractionPairFlag(command, values, 'betas'),
    latent: values.nz === undefined ? undefined : intFlag(command, values, 'nz'),
    generatorWidth: values.ngf === undefined ? undefined : intFlag(command, values, 'ngf'),
    discriminatorWidth: values.ndf === undefined ? undefined : intFlag(command, values, 'ndf'),
  });
}

/**
 * A new run that starts from the weights of --init's checkpoint: its nets
 * (size, recipe, channels), with the data, batch, learning rate and seed
 * of this command. (With --resume as well, the run goes on and --init,
 * which made it, is not read again.)
 */
function fineTuner(command: string, args: string[], values: FlagValues, asked: DcganTrainConfig): DcganTrainer {
  const spec = stringFlag(command, values, 'init');
  const path = spec.startsWith('pretrained:') ? pretrainedPath(command, 'dcgan', spec.slice('pretrained:'.length)) : spec;
  if (!existsSync(path)) throw new Error(`${command}: --init: no checkpoint at ${path}`);
  const source = DCGAN_MODEL.restore(readInput(path, 'checkpoint'), path);
  try {
    const from = source.config;
    const given = (flag: string) => flagGiven(args, flag);
    for (const flag of ['config', 'nz', 'ngf', 'ndf', 'recipe', 'upsample', 'd-norm', 'loss', 'ema', 'betas']) {
      if (given(flag)) throw new Error(`${command}: --${flag} comes from --init's checkpoint (${path}); drop it`);
    }
    if (given('channels') && asked.channels !== from.channels) {
      throw new Error(`${command}: --channels ${asked.channels} differs from the ${from.channels} of --init's checkpoint (${path})`);
    }
    return DCGAN_MODEL.fineTune!(source, {
      data: asked.data, seed: asked.seed, samples: asked.samples,
      batch: given('batch') ? asked.batch : from.batch,
      lr: given('lr') ? asked.lr : from.lr,
    });
  } finally {
    source.dispose();
  }
}

export async function trainDcgan(args: string[]): Promise<number> {
  const command = 'wgrad train dcgan';
  const values = parseFlags(command, args, TRAIN_DCGAN_FLAGS);
  const sampleEvery = intFlag(command, values, 'sample-every');
  const checkpointEvery = intFlag(command, values, 'checkpoint-every');
  const out = runFolder(resolve(stringFlag(command, values, 'out')), values, values.resume !== undefined);
  const backend = choiceFlag(command, values, 'backend', ['auto', 'webgpu', 'cpu'] as const);
  await wg.init({ backend });

  const asked = await configFromFlags(command, values);
  let trainer: DcganTrainer;
  if (values.resume !== undefined) {
    const path = stringFlag(command, values, 'resume');
    if (!existsSync(path)) throw new Error(`${command}: no checkpoint at ${path}`);
    trainer = DCGAN_MODEL.restore(readInput(path, 'checkpoint'), path);
    try {
      const [want, have] = [runFlagValues(asked), runFlagValues(trainer.config)];
      checkResumeFlags(command, args, path, Object.fromEntries(Object.keys(want).map((flag) => [flag, [want[flag], have[flag]]])));
    } catch (error) {
      trainer.dispose();
      throw error;
    }
  } else if (values.init !== undefined) {
    trainer = fineTuner(command, args, values, asked);
  } else {
    trainer = DCGAN_MODEL.create(asked);
  }
  const steps = values.steps === undefined
    ? DCGAN_MODEL.sizes[trainer.config.configName]?.steps ?? trainer.step + 1
    : intFlag(command, values, 'steps');
  if (trainer.step >= steps) {
    trainer.dispose();
    throw new Error(`${command}: the checkpoint is at step ${trainer.step}; --steps ${steps} leaves nothing to do (it counts steps in total)`);
  }
  const config = trainer.config;
  try {
    const { generator, discriminator } = trainer;
    checkCountFits(command, '--batch', config.batch, [generator, discriminator],
      (n) => discriminator.forward(generator.forward(wg.zeros([n, config.latent]))));
  } catch (error) {
    trainer.dispose();
    throw error;
  }
  const dataset = await openDataset(config.data, { size: config.imageSize, channels: config.channels, seed: config.seed });
  const loader = new Loader(dataset, { batchSize: config.batch, seed: config.seed, flip: config.data.startsWith('images:') });

  const mode = progressMode(values);
  if (mode !== 'json') {
    console.log(`wgrad: DCGAN '${config.configName}' (nz ${config.latent}, ngf ${config.generatorWidth}, ndf ${config.discriminatorWidth}; recipe ${config.recipe ?? 'paper'}) on ${dataset.name} (${dataset.count} images, ${config.imageSize}×${config.imageSize}×${config.channels}), ` +
      `batch ${config.batch}, ${wg.backendName()} backend, run folder ${out}` + (trainer.step ? `, resuming at step ${trainer.step}` : ''));
  }
  try {
    return await runTrainCommand(DCGAN_MODEL, DCGAN_MODEL.trainable(trainer, { loader }), {
      mode, out, steps, sampleEvery, checkpointEvery, overwrite: values.overwrite === true,
      describeLast: (last) => `lossD ${last.lossD.toFixed(3)}, lossG ${last.lossG.toFixed(3)}`,
    });
  } finally {
    trainer.dispose();
  }
}

export async function sampleDcgan(args: string[]): Promise<number> {
  const command = 'wgrad sample dcgan';
  const values = parseFlags(command, args, SAMPLE_DCGAN_FLAGS);
  const path = checkpointPath(command, values, 'dcgan');
  const n = intFlag(command, values, 'n');
  const seed = intFlag(command, values, 'seed', 0);
  const out = stringFlag(command, values, 'out');
  const frames = values.interpolate === undefined ? 0 : intFlag(command, values, 'interpolate', 2);
  const backend = choiceFlag(command, values, 'backend', ['auto', 'webgpu', 'cpu'] as const);
  if (!existsSync(path)) throw new Error(`${command}: no checkpoint at ${path}`);
  await wg.init({ backend, seed });
  const trainer = DCGAN_MODEL.restore(readInput(path, 'checkpoint'), path);
  try {
    await checkFinite(trainer.sampler.stateDict(), path);
  } catch (error) {
    trainer.dispose();
    throw error;
  }
  wg.seed(seed);
  const { latent } = trainer.config;
  try {
    const generate = async (noise: Float32Array) => {
      const { data, shape } = await sampleInPieces(trainer, noise);
      return imageGrid(data, shape, { scale: trainer.config.imageSize < 64 ? 2 : 1 });
    };
    const start = normalArray(n * latent);
    if (frames === 0) {
      writeOutput(out, encodePng(await generate(start)));
      console.log(`wrote ${out}: ${n} samples from ${path} (step ${trainer.step}), seed ${seed}`);
      return 0;
    }
    const end = normalArray(n * latent);
    const pictures = [];
    for (let k = 0; k < frames; k++) pictures.push(await generate(slerpRows(start, end, latent, k / (frames - 1))));
    writeOutput(out, encodeGif([...pictures, ...pictures.slice(1, -1).reverse()], { delayMs: 120 }));
    console.log(`wrote ${out}: ${n} latent walks of ${frames} frames (there and back) from ${path}, seed ${seed}`);
    return 0;
  } finally {
    trainer.dispose();
  }
}
