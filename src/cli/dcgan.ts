// `wgrad train dcgan` and `wgrad sample dcgan`.
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import * as wg from '../index';
import { Loader, openDataset } from '../data/dataset';
import { DCGAN_CONFIGS, type DcganConfigName } from '../models/dcgan';
import { DCGAN_RUNS } from '../train/dcgan';
import { DcganTrainer, dcganTrainConfig, dcganTrainable, slerpRows } from '../train/dcgan';
import { encodeGif, encodePng, imageGrid } from '../train/picture';
import { normalArray } from '../random';
import { choiceFlag, intFlag, parseFlags, positiveFlag, stringFlag, type Flags } from './args';
import { progressMode, runTrainCommand } from './progress';

export const TRAIN_DCGAN_FLAGS: Flags = {
  data: { type: 'string', default: 'shapes', help: 'shapes | mnist | images:DIR' },
  config: { type: 'string', default: 'auto', help: `${Object.keys(DCGAN_CONFIGS).join(' | ')} | auto (tiny on a CPU adapter such as SwiftShader, else small)` },
  steps: { type: 'string', help: 'train until this many steps in total (default: the config\'s)' },
  batch: { type: 'string', help: 'images per step (default: the config\'s)' },
  lr: { type: 'string', help: 'Adam learning rate, betas 0.5, 0.999 (default: the config\'s, tiny 1e-3, else 2e-4)' },
  seed: { type: 'string', default: '0', help: 'seeds weights, noise and data order' },
  out: { type: 'string', default: 'runs/dcgan', help: 'the run folder' },
  resume: { type: 'string', help: 'a checkpoint to continue from (its config wins)' },
  channels: { type: 'string', help: '1 | 3 (default: the data\'s own)' },
  'sample-every': { type: 'string', default: '50', help: 'steps between sample grids' },
  'checkpoint-every': { type: 'string', default: '100', help: 'steps between checkpoints' },
  backend: { type: 'string', default: 'auto', help: 'auto | webgpu | cpu' },
  quiet: { type: 'boolean', help: 'no progress output' },
  json: { type: 'boolean', help: 'one JSON line of metrics per step on stdout' },
};

export const SAMPLE_DCGAN_FLAGS: Flags = {
  ckpt: { type: 'string', help: 'a DCGAN checkpoint (required)' },
  n: { type: 'string', default: '64', help: 'how many images' },
  out: { type: 'string', default: 'samples.png', help: 'the grid (PNG), or the GIF with --interpolate' },
  interpolate: { type: 'string', help: 'K frames walking (spherically) between two sets of latent points, as a GIF' },
  seed: { type: 'string', default: '0', help: 'seeds the noise' },
  backend: { type: 'string', default: 'auto', help: 'auto | webgpu | cpu' },
};

export async function trainDcgan(args: string[]): Promise<number> {
  const command = 'wgrad train dcgan';
  const values = parseFlags(command, args, TRAIN_DCGAN_FLAGS);
  const sampleEvery = intFlag(command, values, 'sample-every');
  const checkpointEvery = intFlag(command, values, 'checkpoint-every');
  const out = resolve(stringFlag(command, values, 'out'));
  const backend = choiceFlag(command, values, 'backend', ['auto', 'webgpu', 'cpu'] as const);
  await wg.init({ backend });

  let trainer: DcganTrainer;
  let steps: number;
  if (values.resume !== undefined) {
    const path = stringFlag(command, values, 'resume');
    const explicit = ['data', 'config', 'batch', 'lr', 'seed', 'channels'].filter((f) => args.some((a) => a === `--${f}` || a.startsWith(`--${f}=`)));
    if (explicit.length) {
      throw new Error(`${command}: --resume takes the config from the checkpoint; drop ${explicit.map((f) => `--${f}`).join(', ')}`);
    }
    if (!existsSync(path)) throw new Error(`${command}: no checkpoint at ${path}`);
    trainer = DcganTrainer.fromCheckpoint(readFileSync(path), path);
    steps = values.steps === undefined ? DCGAN_RUNS[trainer.config.configName as DcganConfigName]?.steps ?? trainer.step + 1 : intFlag(command, values, 'steps');
    if (trainer.step >= steps) {
      throw new Error(`${command}: the checkpoint is at step ${trainer.step}; --steps ${steps} leaves nothing to do (it counts steps in total)`);
    }
  } else {
    const chosen = choiceFlag(command, values, 'config', [...Object.keys(DCGAN_CONFIGS), 'auto']);
    const configName = (chosen === 'auto' ? (wg.onCpuDevice() ? 'tiny' : 'small') : chosen) as DcganConfigName;
    const run = DCGAN_RUNS[configName];
    steps = values.steps === undefined ? run.steps : intFlag(command, values, 'steps');
    const data = stringFlag(command, values, 'data');
    const size = DCGAN_CONFIGS[configName].imageSize;
    const channelsFlag = values.channels === undefined ? undefined : choiceFlag(command, values, 'channels', ['1', '3'] as const);
    const probe = await openDataset(data, { size, channels: channelsFlag ? (Number(channelsFlag) as 1 | 3) : undefined });
    trainer = new DcganTrainer(
      dcganTrainConfig(configName, {
        channels: probe.channels,
        data,
        batch: values.batch === undefined ? run.batch : intFlag(command, values, 'batch', 2),
        lr: values.lr === undefined ? undefined : positiveFlag(command, values, 'lr'),
        seed: intFlag(command, values, 'seed', 0),
      }),
    );
  }
  const config = trainer.config;
  const dataset = await openDataset(config.data, { size: config.imageSize, channels: config.channels, seed: config.seed });
  const loader = new Loader(dataset, { batchSize: config.batch, seed: config.seed, flip: config.data.startsWith('images:') });

  const mode = progressMode(values);
  if (mode !== 'json') {
    console.log(`wgrad: DCGAN '${config.configName}' on ${dataset.name} (${dataset.count} images, ${config.imageSize}×${config.imageSize}×${config.channels}), ` +
      `batch ${config.batch}, ${wg.backendName()} backend, run folder ${out}` + (trainer.step ? `, resuming at step ${trainer.step}` : ''));
  }
  try {
    return await runTrainCommand(dcganTrainable(trainer, loader), {
      mode, label: 'dcgan', shown: ['lossD', 'lossG', 'dReal', 'dFake'], out, steps, sampleEvery, checkpointEvery,
      describeLast: (last) => `lossD ${last.lossD.toFixed(3)}, lossG ${last.lossG.toFixed(3)}`,
    });
  } finally {
    trainer.dispose();
  }
}

export async function sampleDcgan(args: string[]): Promise<number> {
  const command = 'wgrad sample dcgan';
  const values = parseFlags(command, args, SAMPLE_DCGAN_FLAGS);
  const path = stringFlag(command, values, 'ckpt');
  const n = intFlag(command, values, 'n');
  const seed = intFlag(command, values, 'seed', 0);
  const out = stringFlag(command, values, 'out');
  const frames = values.interpolate === undefined ? 0 : intFlag(command, values, 'interpolate', 2);
  const backend = choiceFlag(command, values, 'backend', ['auto', 'webgpu', 'cpu'] as const);
  if (!existsSync(path)) throw new Error(`${command}: no checkpoint at ${path}`);
  await wg.init({ backend, seed });
  const trainer = DcganTrainer.fromCheckpoint(readFileSync(path), path);
  wg.seed(seed);
  const { latent } = trainer.config;
  try {
    const generate = async (noise: Float32Array) => {
      const z = wg.tensor(noise, [n, latent]);
      const { data, shape } = await trainer.sample(z);
      z.dispose();
      return imageGrid(data, shape, { scale: trainer.config.imageSize < 64 ? 2 : 1 });
    };
    const start = normalArray(n * latent);
    if (frames === 0) {
      writeFileSync(out, encodePng(await generate(start)));
      console.log(`wrote ${out}: ${n} samples from ${path} (step ${trainer.step}), seed ${seed}`);
      return 0;
    }
    const end = normalArray(n * latent);
    const pictures = [];
    for (let k = 0; k < frames; k++) pictures.push(await generate(slerpRows(start, end, latent, k / (frames - 1))));
    writeFileSync(out, encodeGif([...pictures, ...pictures.slice(1, -1).reverse()], { delayMs: 120 }));
    console.log(`wrote ${out}: ${n} latent walks of ${frames} frames (there and back) from ${path}, seed ${seed}`);
    return 0;
  } finally {
    trainer.dispose();
  }
}
