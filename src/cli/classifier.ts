// `wgrad train classifier` and `wgrad eval`: the quality score of a
// generative model, a Fréchet distance on a small classifier's
// penultimate features between generated and real images, and the
// entropy of the classes the classifier sees in the generated ones.
import { existsSync } from 'node:fs';
import { appendOutput, makeFolder, readInput, writeOutput } from '../node/files';
import { join, resolve } from 'node:path';
import * as wg from '../node/index';
import { openDataset } from '../node/image-folder';
import { resizeImage } from '../data/images';
import { CLASSIFIER_MODEL, classifierFileInfo, loadClassifier, saveClassifier, trainClassifier } from '../train/classifier';
import { qualityScore } from '../train/score';
import { checkpointInfo } from '../train/checkpoint';
import { generativeModels, modelOf } from '../train/models';
import type { GenerateOptions, ImageBatch } from '../train/model-description';
import { DEFAULT_GUIDANCE } from '../models/diffusion';
import { defaultClassifier } from './pretrained';
import { choiceFlag, intFlag, nonNegativeFlag, parseFlags, positiveFlag, stringFlag, type Flags } from './args';
import { progressMode, startProgress } from './progress';

const DEFAULTS = CLASSIFIER_MODEL.sizes.default;

export const TRAIN_CLASSIFIER_FLAGS: Flags = {
  data: { type: 'string', default: 'mnist', help: 'mnist | shapes (labelled data)' },
  size: { type: 'string', default: String(DEFAULTS.imageSize), help: 'image size: that of the models it will score' },
  steps: { type: 'string', default: String(DEFAULTS.steps), help: 'training steps' },
  batch: { type: 'string', default: String(DEFAULTS.batch), help: 'images per step' },
  lr: { type: 'string', default: String(DEFAULTS.lr), help: 'Adam learning rate' },
  width: { type: 'string', default: '8', help: 'channels of the first conv' },
  seed: { type: 'string', default: '0', help: 'seeds weights and data order' },
  'test-limit': { type: 'string', default: '2000', help: 'held-out images the test accuracy is measured on' },
  out: { type: 'string', default: 'runs/classifier', help: 'folder for classifier.safetensors and metrics.jsonl' },
  backend: { type: 'string', default: 'auto', help: 'auto | webgpu | cpu' },
  quiet: { type: 'boolean', help: 'no progress output' },
  json: { type: 'boolean', help: 'one JSON line of metrics per step on stdout' },
};

export const EVAL_FLAGS: Flags = {
  ckpt: { type: 'string', help: 'a generative model\'s checkpoint (required)' },
  classifier: { type: 'string', help: 'a classifier from `wgrad train classifier` (default: the shipped one for the checkpoint\'s data: shapes, mnist)' },
  n: { type: 'string', default: '1000', help: 'generated and real images to compare' },
  seed: { type: 'string', default: '0', help: 'seeds the generated samples' },
  guidance: { type: 'string', help: `class-conditional diffusion: the sampler's classifier-free guidance scale (default ${DEFAULT_GUIDANCE}, as wgrad sample diffusion)` },
  backend: { type: 'string', default: 'auto', help: 'auto | webgpu | cpu' },
  json: { type: 'boolean', help: 'print the score as JSON' },
};

export async function trainClassifierCommand(args: string[]): Promise<number> {
  const command = 'wgrad train classifier';
  const values = parseFlags(command, args, TRAIN_CLASSIFIER_FLAGS);
  const data = choiceFlag(command, values, 'data', ['mnist', 'shapes'] as const);
  const size = intFlag(command, values, 'size', 12);
  const steps = intFlag(command, values, 'steps');
  const batch = intFlag(command, values, 'batch');
  const lr = positiveFlag(command, values, 'lr');
  const width = intFlag(command, values, 'width');
  const seed = intFlag(command, values, 'seed', 0);
  const testLimit = intFlag(command, values, 'test-limit');
  const out = resolve(stringFlag(command, values, 'out'));
  const backend = choiceFlag(command, values, 'backend', ['auto', 'webgpu', 'cpu'] as const);
  await wg.init({ backend });
  const train = await openDataset(data, { size, split: 'train', seed });
  const test = await openDataset(data, { size, split: 'test', seed });
  makeFolder(out);
  const metrics = join(out, 'metrics.jsonl');
  writeOutput(metrics, '');
  const mode = progressMode(values);
  if (mode !== 'json') console.log(`wgrad: classifier (width ${width}) on ${data} ${size}×${size}: ${train.count} train, ${test.count} test images, batch ${batch}, ${wg.backendName()} backend`);
  const progress = startProgress(mode, CLASSIFIER_MODEL.kind, 0, steps, CLASSIFIER_MODEL.shownMetrics);
  const { model, testAccuracy } = await trainClassifier({
    train, test, steps, batch, lr, seed, width, testLimit,
    onStep: (info) => {
      const line = { step: info.step + 1, loss: info.loss, accuracy: info.accuracy, ms: info.msPerStep };
      appendOutput(metrics, `${JSON.stringify(line)}\n`);
      progress.update(line);
    },
  });
  progress.stop();
  const path = join(out, 'classifier.safetensors');
  writeOutput(path, await saveClassifier(model, { data, testAccuracy, classNames: train.classNames }));
  model.dispose();
  if (mode === 'json') console.log(JSON.stringify({ testAccuracy, checkpoint: path }));
  else console.log(`test accuracy ${(100 * testAccuracy).toFixed(1)}% on ${Math.min(testLimit, test.count)} held-out ${data} images\nclassifier  ${path}\nmetrics     ${metrics}`);
  return 0;
}

/**
 * What draws n images for a seed from a checkpoint of `kind` (its
 * wgrad.model): the generate of the model's description, or null for a
 * kind that draws none.
 */
export function evalGenerator(kind: string): ((bytes: Uint8Array, source: string, n: number, seed: number, options?: GenerateOptions) => Promise<ImageBatch>) | null {
  return modelOf(kind)?.generate ?? null;
}

/** Images [n, c, from, from] resized to [n, c, to, to] (unchanged when the sizes agree). */
function resizeBatch(images: Float32Array, channels: number, from: number, to: number): Float32Array {
  if (from === to) return images;
  const n = images.length / (channels * from * from);
  const out = new Float32Array(n * channels * to * to);
  for (let i = 0; i < n; i++) {
    const one = images.subarray(i * channels * from * from, (i + 1) * channels * from * from);
    out.set(resizeImage(one, channels, from, from, to, to), i * channels * to * to);
  }
  return out;
}

export async function evalCommand(args: string[]): Promise<number> {
  const command = 'wgrad eval';
  const values = parseFlags(command, args, EVAL_FLAGS);
  const ckptPath = stringFlag(command, values, 'ckpt');
  const n = intFlag(command, values, 'n', 2);
  const seed = intFlag(command, values, 'seed', 0);
  const guidance = values.guidance === undefined ? undefined : nonNegativeFlag(command, values, 'guidance');
  const backend = choiceFlag(command, values, 'backend', ['auto', 'webgpu', 'cpu'] as const);
  if (!existsSync(ckptPath)) throw new Error(`${command}: no file at ${ckptPath}`);
  const ckptBytes = readInput(ckptPath, 'checkpoint');
  const ckptInfo = checkpointInfo(ckptBytes, ckptPath);
  const kind = ckptInfo.model;
  const data = String((ckptInfo.config as { data?: unknown } | null)?.data ?? '');
  const classifierPath = values.classifier !== undefined ? stringFlag(command, values, 'classifier') : defaultClassifier(data);
  if (classifierPath === null) throw new Error(`${command}: no shipped classifier for '${data}' (${ckptPath}); give --classifier F (from wgrad train classifier)`);
  if (!existsSync(classifierPath)) throw new Error(`${command}: no file at ${classifierPath}`);
  const generate = evalGenerator(kind);
  if (!generate) throw new Error(`${command}: ${ckptPath} is a '${kind}' checkpoint; eval scores ${generativeModels().map((m) => m.kind).join(', ')}`);
  const classes = Number((ckptInfo.config as { classes?: unknown } | null)?.classes ?? 0);
  const conditional = kind === 'diffusion' && classes > 0;
  if (guidance !== undefined && !conditional) {
    throw new Error(`${command}: --guidance applies to class-conditional diffusion checkpoints; ${ckptPath} is ${kind === 'diffusion' ? 'an unconditional diffusion' : `a '${kind}'`} checkpoint`);
  }
  const classifierBytes = readInput(classifierPath, 'checkpoint');
  const info = classifierFileInfo(classifierBytes, classifierPath);
  await wg.init({ backend });

  const classifier = loadClassifier(classifierBytes, classifierPath);
  try {
    const generated = await generate(ckptBytes, ckptPath, n, seed, { guidance });
    const [, c, s] = generated.shape;
    if (c !== info.config.channels) {
      throw new Error(`${command}: ${ckptPath} makes [${c}, ${s}, ${s}] images, ${classifierPath} takes [${info.config.channels}, ${info.config.size}, ${info.config.size}]`);
    }
    // A generator of another size is scored with real images loaded at its
    // size, both sides then resized alike to the classifier's.
    const toClassifier = (images: Float32Array) => resizeBatch(images, c, s, info.config.size);
    const test = await openDataset(info.data, { size: s, channels: c as 1 | 3, split: 'test' });
    const count = Math.min(n, test.count);
    if (count < n) throw new Error(`${command}: ${info.data}'s test split has ${test.count} images; use --n ${test.count} or fewer`);
    const real = toClassifier(test.examples(Array.from({ length: count }, (_, i) => i)).images);
    const score = await qualityScore(classifier, toClassifier(generated.data), real, n);
    // The floor: two disjoint sets of real images, to read the distance against.
    const train = await openDataset(info.data, { size: s, channels: c as 1 | 3, split: 'train' });
    const trainImages = toClassifier(train.examples(Array.from({ length: Math.min(n, train.count) }, (_, i) => i)).images);
    const realFloor = await qualityScore(classifier, trainImages, real, n);
    const testAccuracy = info.testAccuracy;
    if (values.json) {
      const guided = conditional ? { guidance: guidance ?? DEFAULT_GUIDANCE } : {};
      console.log(JSON.stringify({ model: kind, checkpoint: ckptPath, classifier: classifierPath, testAccuracy, ...guided, ...score, realVsReal: realFloor.frechet }));
      return 0;
    }
    const names = info.classNames ?? score.classHistogram.map((_, i) => String(i));
    const sampler = conditional ? `, guidance ${guidance ?? DEFAULT_GUIDANCE}` : '';
    console.log(`${kind} ${ckptPath} against ${n} held-out ${info.data} images (classifier ${classifierPath}, test accuracy ${(100 * testAccuracy).toFixed(1)}%${sampler})`);
    console.log(`Fréchet distance      ${score.frechet.toFixed(3)}   (real vs real: ${realFloor.frechet.toFixed(3)})`);
    console.log(`class entropy         ${score.marginalEntropy.toFixed(3)} nats of ${score.maxEntropy.toFixed(3)} possible (diversity: higher is better)`);
    console.log(`per-image entropy     ${score.meanEntropy.toFixed(3)} nats (confidence: lower is better)`);
    console.log(`classes seen          ${score.classHistogram.map((count, i) => `${names[i]} ${count}`).join(', ')}`);
    return 0;
  } finally {
    classifier.dispose();
  }
}
