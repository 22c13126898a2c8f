// `wgrad train diffusion` and `wgrad sample diffusion`.
import { existsSync } from 'node:fs';
import { readInput, writeOutput } from '../node/files';
import { resolve } from 'node:path';
import * as wg from '../node/index';
import { Loader, describeDataset } from '../data/dataset';
import { openDataset } from '../node/image-folder';
import type { UNet } from '../models/unet';
import { DEFAULT_GUIDANCE, SCHEDULE_KINDS, sampleDdim, sampleDdpm, timestepInput, type SampleOptions, type SampleResult } from '../models/diffusion';
import { DIFFUSION_MODEL, DiffusionTrainer, classRows, gridColumns, loadDenoiser } from '../train/diffusion';
import { encodeGif, encodePng, imageGrid, type Picture } from '../io/picture';
import { checkResumeFlags, choiceFlag, intFlag, nonNegativeFlag, parseFlags, positiveFlag, stringFlag, type FlagValues, type Flags } from './args';
import { checkpointPath, pretrainedFlag } from './pretrained';
import { checkFinite } from '../train/checkpoint';
import { checkCountFits } from '../train/fits';
import { RUN_FOLDER_FLAGS, progressMode, runFolder, runTrainCommand } from './progress';

export const TRAIN_DIFFUSION_FLAGS: Flags = {
  data: { type: 'string', default: 'mnist', help: 'mnist | shapes | images:DIR' },
  config: { type: 'string', default: 'tiny', help: `${Object.keys(DIFFUSION_MODEL.sizes).join(' | ')} (tiny: for SwiftShader)` },
  schedule: { type: 'string', default: 'cosine', help: SCHEDULE_KINDS.join(' | ') },
  timesteps: { type: 'string', help: 'T, the diffusion steps (default: the config\'s, tiny 200, else 1000)' },
  steps: { type: 'string', default: String(DIFFUSION_MODEL.sizes.tiny.steps), help: 'train until this many steps in total' },
  batch: { type: 'string', help: 'images per step (default: the config\'s)' },
  lr: { type: 'string', help: 'Adam learning rate (default: the config\'s, tiny 1e-3, else 2e-4)' },
  ema: { type: 'string', help: 'EMA decay of the weights samples come from (default: the config\'s, tiny 0.99, else 0.999)' },
  cond: { type: 'string', default: 'auto', help: 'on | off | auto: class-conditional (auto: on for labelled data, mnist and shapes)' },
  size: { type: 'string', default: '32', help: 'image size (16 makes SwiftShader runs 4× cheaper)' },
  channels: { type: 'string', help: '1 | 3 (default: the data\'s own)' },
  seed: { type: 'string', default: '0', help: 'seeds weights, noise, timesteps and data order' },
  out: { type: 'string', default: 'runs/diffusion', help: 'the run folder' },
  resume: { type: 'string', help: 'a checkpoint to continue from (its config wins)' },
  'sample-every': { type: 'string', default: '100', help: 'steps between sample grids (EMA weights, DDIM)' },
  'checkpoint-every': { type: 'string', default: '100', help: 'steps between checkpoints' },
  backend: { type: 'string', default: 'auto', help: 'auto | webgpu | cpu' },
  quiet: { type: 'boolean', help: 'no progress output' },
  json: { type: 'boolean', help: 'one JSON line of metrics per step on stdout' },
  ...RUN_FOLDER_FLAGS,
};

export const SAMPLE_DIFFUSION_FLAGS: Flags = {
  ckpt: { type: 'string', help: 'a diffusion checkpoint; samples come from its EMA weights' },
  pretrained: pretrainedFlag('diffusion'),
  sampler: { type: 'string', default: 'ddim', help: 'ddim | ddpm (ancestral, all T steps)' },
  steps: { type: 'string', default: '50', help: 'DDIM steps, 1 to T' },
  eta: { type: 'string', default: '0', help: 'DDIM noise: 0 deterministic, 1 as much as DDPM' },
  n: { type: 'string', default: '16', help: 'how many images (class-conditional: rounded up to a row per class)' },
  class: { type: 'string', default: 'rows', help: 'rows (a row per class) | none (unconditional) | K (all of class K)' },
  guidance: { type: 'string', default: String(DEFAULT_GUIDANCE), help: 'classifier-free guidance scale (1: plain conditional)' },
  seed: { type: 'string', default: '0', help: 'seeds the noise' },
  out: { type: 'string', default: 'grid.png', help: 'the grid (PNG)' },
  strip: { type: 'string', help: 'a PNG of sample 0 at 8 evenly spaced steps, noise to image: x_t above, predicted x_0 below' },
  gif: { type: 'string', help: 'a GIF of the whole grid at every step (every k-th past 60 steps)' },
  backend: { type: 'string', default: 'auto', help: 'auto | webgpu | cpu' },
};

const STRIP_FRAMES = 8;
const GIF_MAX_FRAMES = 60;

/** The net on `n` images of zeros at timestep 0 (label 0 where it takes labels): sizes a pass for checkCountFits. */
function unetOnZeros(net: UNet, n: number): void {
  const { channels, imageSize, classes } = net.config;
  const labels = classes > 0 ? wg.zeros([n]) : null;
  net.forward(wg.zeros([n, channels, imageSize, imageSize]), timestepInput(net, new Array<number>(n).fill(0)), labels);
}

export async function trainDiffusion(args: string[]): Promise<number> {
  const command = 'wgrad train diffusion';
  const values = parseFlags(command, args, TRAIN_DIFFUSION_FLAGS);
  const steps = intFlag(command, values, 'steps');
  const sampleEvery = intFlag(command, values, 'sample-every');
  const checkpointEvery = intFlag(command, values, 'checkpoint-every');
  const out = runFolder(resolve(stringFlag(command, values, 'out')), values, values.resume !== undefined);
  const backend = choiceFlag(command, values, 'backend', ['auto', 'webgpu', 'cpu'] as const);

  const configName = choiceFlag(command, values, 'config', Object.keys(DIFFUSION_MODEL.sizes));
  const schedule = choiceFlag(command, values, 'schedule', SCHEDULE_KINDS);
  const cond = choiceFlag(command, values, 'cond', ['auto', 'on', 'off'] as const);
  const data = stringFlag(command, values, 'data');
  const size = intFlag(command, values, 'size', 8);
  const channelsFlag = values.channels === undefined ? undefined : choiceFlag(command, values, 'channels', ['1', '3'] as const);
  const probe = await describeDataset(data, { size, channels: channelsFlag ? (Number(channelsFlag) as 1 | 3) : undefined });
  const labelled = probe.classNames.length;
  if (cond === 'on' && labelled === 0) throw new Error(`${command}: --cond on needs labelled data; '${data}' has no classes`);
  const classes = cond === 'off' ? 0 : labelled;
  const ema = values.ema === undefined ? undefined : nonNegativeFlag(command, values, 'ema');
  if (ema !== undefined && ema >= 1) throw new Error(`${command}: --ema must be a number in [0, 1), got '${values.ema}'`);
  const asked = DIFFUSION_MODEL.configure({
    configName,
    channels: probe.channels,
    imageSize: size,
    classes,
    data,
    schedule,
    timesteps: values.timesteps === undefined ? undefined : intFlag(command, values, 'timesteps', 2),
    batch: values.batch === undefined ? undefined : intFlag(command, values, 'batch'),
    lr: values.lr === undefined ? undefined : positiveFlag(command, values, 'lr'),
    emaDecay: ema,
    seed: intFlag(command, values, 'seed', 0),
  });
  await wg.init({ backend });
  let trainer: DiffusionTrainer;
  if (values.resume !== undefined) {
    const path = stringFlag(command, values, 'resume');
    if (!existsSync(path)) throw new Error(`${command}: no checkpoint at ${path}`);
    trainer = DIFFUSION_MODEL.restore(readInput(path, 'checkpoint'), path);
    const saved = trainer.config;
    try {
      checkResumeFlags(command, args, path, {
        data: [asked.data, saved.data], config: [asked.configName, saved.configName], schedule: [asked.schedule, saved.schedule],
        timesteps: [asked.timesteps, saved.timesteps], batch: [asked.batch, saved.batch], lr: [asked.lr, saved.lr],
        ema: [asked.emaDecay, saved.emaDecay], cond: [asked.classes > 0 ? 'on' : 'off', saved.classes > 0 ? 'on' : 'off'],
        size: [asked.imageSize, saved.imageSize], channels: [asked.channels, saved.channels], seed: [asked.seed, saved.seed],
      });
      if (trainer.step >= steps) {
        throw new Error(`${command}: the checkpoint is at step ${trainer.step}; --steps ${steps} leaves nothing to do (it counts steps in total)`);
      }
    } catch (error) {
      trainer.dispose();
      throw error;
    }
  } else {
    trainer = DIFFUSION_MODEL.create(asked);
  }
  const config = trainer.config;
  try {
    checkCountFits(command, '--batch', config.batch, [trainer.model], (n) => unetOnZeros(trainer.model, n));
    const dataset = await openDataset(config.data, { size: config.imageSize, channels: config.channels, seed: config.seed });
    const loader = new Loader(dataset, { batchSize: config.batch, seed: config.seed, flip: config.data.startsWith('images:') });
    const mode = progressMode(values);
    if (mode !== 'json') {
      console.log(`wgrad: diffusion '${config.configName}' (${config.schedule} schedule, T ${config.timesteps}, ` +
        `${config.classes ? `${config.classes} classes, 10% unlabelled` : 'unconditional'}, EMA ${config.emaDecay}) ` +
        `on ${dataset.name} (${dataset.count} images, ${config.imageSize}×${config.imageSize}×${config.channels}), ` +
        `batch ${config.batch}, lr ${config.lr}, ${wg.backendName()} backend, run folder ${out}` + (trainer.step ? `, resuming at step ${trainer.step}` : ''));
    }
    return await runTrainCommand(DIFFUSION_MODEL, DIFFUSION_MODEL.trainable(trainer, { loader }), {
      mode, out, steps, sampleEvery, checkpointEvery, overwrite: values.overwrite === true,
      describeLast: (last) => `loss ${last.loss.toFixed(4)}`,
      fileList: (f) => [
        ['samples', `${f.samples}/  (EMA weights, DDIM ${config.sampleSteps} steps)`], ['evolution', f.evolution],
        ['loss plot', f.lossPlot], ['metrics', f.metrics], ['checkpoint', f.checkpoint],
      ],
    });
  } finally {
    trainer.dispose();
  }
}

/** Evenly spaced picks from 0..last, both ends included: `count` of them (fewer when last + 1 < count). */
function evenlySpaced(last: number, count: number): number[] {
  if (last + 1 <= count) return Array.from({ length: last + 1 }, (_, i) => i);
  return Array.from({ length: count }, (_, i) => Math.round((i * last) / (count - 1)));
}

export async function sampleDiffusion(args: string[]): Promise<number> {
  const command = 'wgrad sample diffusion';
  const values = parseFlags(command, args, SAMPLE_DIFFUSION_FLAGS);
  const path = checkpointPath(command, values, 'diffusion');
  const sampler = choiceFlag(command, values, 'sampler', ['ddim', 'ddpm'] as const);
  const requested = intFlag(command, values, 'n');
  const seed = intFlag(command, values, 'seed', 0);
  const eta = nonNegativeFlag(command, values, 'eta');
  const guidance = nonNegativeFlag(command, values, 'guidance');
  const out = stringFlag(command, values, 'out');
  const stripPath = values.strip === undefined ? null : stringFlag(command, values, 'strip');
  const gifPath = values.gif === undefined ? null : stringFlag(command, values, 'gif');
  const classFlag = stringFlag(command, values, 'class');
  const backend = choiceFlag(command, values, 'backend', ['auto', 'webgpu', 'cpu'] as const);
  if (!existsSync(path)) throw new Error(`${command}: no checkpoint at ${path}`);
  await wg.init({ backend, seed });
  const denoiser = loadDenoiser(readInput(path, 'checkpoint'), path);
  try {
    await checkFinite(denoiser.net.stateDict(), path);
    const { classes, channels, imageSize, timesteps } = denoiser.config;
    // Which labels: a row per class, none ("no label"), or one class for all.
    let n = requested;
    let labels: number[] | null = null;
    let columns = gridColumns(0, n);
    if (classes > 0 && classFlag === 'rows') {
      n = Math.ceil(requested / classes) * classes;
      labels = classRows(classes, n);
      columns = gridColumns(classes, n);
    } else if (classFlag !== 'rows' && classFlag !== 'none') {
      const k = Number(classFlag);
      if (classes === 0) throw new Error(`${command}: --class ${classFlag}: the checkpoint's net is unconditional`);
      if (!Number.isInteger(k) || k < 0 || k >= classes) throw new Error(`${command}: --class must be rows, none or a class from 0 to ${classes - 1}, got '${classFlag}'`);
      labels = new Array<number>(n).fill(k);
    }
    checkCountFits(command, '--n', n, [denoiser.net], (count) => unetOnZeros(denoiser.net, count));
    const steps = sampler === 'ddpm' ? timesteps : intFlag(command, values, 'steps');
    if (steps > timesteps) throw new Error(`${command}: --steps ${steps} is more than the checkpoint's T = ${timesteps}`);

    // What the strip and the GIF need, read at the steps they show.
    const imageLength = channels * imageSize * imageSize;
    const stripSteps = new Set(evenlySpaced(steps, STRIP_FRAMES));
    const stripXt: Float32Array[] = [];
    const stripX0: Float32Array[] = [];
    const gifEvery = Math.max(1, Math.ceil(steps / GIF_MAX_FRAMES));
    const gifFrames: Picture[] = [];
    const grid = (data: Float32Array) => imageGrid(data, [n, channels, imageSize, imageSize], { columns, scale: imageSize < 64 ? 2 : 1 });
    let poolAfterFirst = 0;
    let poolAtEnd = 0;
    const pool = () => {
      const m = wg.memory();
      return m.bytesInUse + m.bytesPooled;
    };
    const onStep: SampleOptions['onStep'] = async (step, xt, x0) => {
      if (step === 1) poolAfterFirst = pool();
      poolAtEnd = pool();
      const wantStrip = stripPath !== null && stripSteps.has(step);
      const wantGif = gifPath !== null && step % gifEvery === 0;
      if (!wantStrip && !wantGif) return;
      const xtData = await xt.toArray();
      if (wantStrip) {
        stripXt.push(xtData.slice(0, imageLength));
        stripX0.push((await x0.toArray()).slice(0, imageLength));
      }
      if (wantGif) gifFrames.push(grid(xtData));
    };
    const options = { n, labels, seed, guidance, onStep };
    const result: SampleResult = sampler === 'ddpm'
      ? await sampleDdpm(denoiser, options)
      : await sampleDdim(denoiser, { ...options, steps, eta });

    writeOutput(out, encodePng(grid(result.data)));
    const what = labels === null ? 'unconditional' : classFlag === 'rows' ? `a row per class` : `class ${classFlag}`;
    console.log(`wrote ${out}: ${n} samples (${what}) from ${path} (step ${denoiser.step}, EMA weights), ` +
      `${sampler === 'ddpm' ? `DDPM ${steps} steps` : `DDIM ${steps} steps, eta ${eta}`}, seed ${seed}` +
      (guidance !== 1 && labels !== null ? `, guidance ${guidance}` : ''));
    if (Number.isFinite(result.msPerStep)) {
      console.log(`speed: ${result.msPerStep.toFixed(1)} ms per step (one U-Net forward at batch ${n} and the update); ` +
        `buffer pool ${poolAfterFirst} B after step 1, ${poolAtEnd} B at the last step`);
    }
    if (stripPath !== null) {
      const final = result.data.slice(0, imageLength);
      if (stripSteps.has(steps)) {
        stripXt.push(final);
        stripX0.push(final);
      }
      const frames = stripXt.length;
      const data = new Float32Array(2 * frames * imageLength);
      [...stripXt, ...stripX0].forEach((image, i) => data.set(image, i * imageLength));
      writeOutput(stripPath, encodePng(imageGrid(data, [2 * frames, channels, imageSize, imageSize], { columns: frames, scale: imageSize < 64 ? 3 : 2 })));
      console.log(`wrote ${stripPath}: sample 0 at steps ${[...stripSteps].join(', ')} of ${steps} (x_t above, predicted x_0 below)`);
    }
    if (gifPath !== null) {
      gifFrames.push(grid(result.data));
      writeOutput(gifPath, encodeGif(gifFrames, { delayMs: 80, lastFrameDelayMs: 2000 }));
      console.log(`wrote ${gifPath}: ${gifFrames.length} frames, every ${gifEvery} step${gifEvery > 1 ? 's' : ''}`);
    }
    return 0;
  } finally {
    denoiser.dispose();
  }
}
