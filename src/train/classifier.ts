// Training and evaluating the Classifier (src/models/classifier.ts), and
// its checkpoint: a safetensors file of the model's state dict, with what
// is needed to rebuild it in the metadata.
import { scope } from '../tensor';
import { noGrad } from '../autograd';
import { tensor } from '../ops/creation';
import { crossEntropy } from '../ops/loss';
import { seed as seedRandom, getRandomState, setRandomState } from '../random';
import { Adam } from '../nn/optim';
import { loadSafetensors, safetensorsMetadata, saveSafetensors } from '../io/safetensors';
import { Classifier, FEATURE_DIM, type ClassifierConfig } from '../models/classifier';
import { Loader, type Dataset } from '../data/dataset';
import { trainableOf, type ModelDescription, type ModelSetup, type TrainConfigBase } from './model-description';

export interface StepInfo {
  step: number;
  /** cross-entropy of this step's batch, before the update */
  loss: number;
  /** fraction of this step's batch classified right, before the update */
  accuracy: number;
  msPerStep: number;
  /** on steps where evalEvery fell: accuracy on the test set (up to testLimit examples) */
  testAccuracy?: number;
}

export interface ClassifierRunOptions {
  train: Dataset;
  test: Dataset;
  steps: number;
  batch: number;
  /** Adam's learning rate (default 1e-3) */
  lr?: number;
  seed: number;
  /** the first conv's channels (default 8) */
  width?: number;
  onStep?: (info: StepInfo) => void;
  /** evaluate on the test set every this many steps (and report it through onStep) */
  evalEvery?: number;
  /** evaluate on at most this many test examples (default: all of them) */
  testLimit?: number;
}

/** Index of the largest of each row of `values` ([n, classes] row-major). */
export function argmaxRows(values: Float32Array, classes: number): Int32Array {
  const n = values.length / classes;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (values[i * classes + c] > values[i * classes + best]) best = c;
    out[i] = best;
  }
  return out;
}

function countCorrect(logits: Float32Array, labels: ArrayLike<number>, classes: number): number {
  const predicted = argmaxRows(logits, classes);
  let right = 0;
  for (let i = 0; i < predicted.length; i++) if (predicted[i] === labels[i]) right++;
  return right;
}

function checkDataFitsModel(where: string, data: Dataset, config: ClassifierConfig): void {
  if (data.channels !== config.channels || data.size !== config.size) {
    throw new Error(
      `${where}: data set '${data.name}' has images [${data.channels}, ${data.size}, ${data.size}], ` +
        `the classifier takes [${config.channels}, ${config.size}, ${config.size}]`,
    );
  }
}

export interface ClassifierOutputs {
  /** [n, FEATURE_DIM] penultimate features */
  features: Float32Array;
  /** [n, classes] */
  logits: Float32Array;
}

/**
 * Runs `model` in eval mode without a graph over `n` images ([n, C, s, s]
 * row-major), `batchSize` at a time, and reads back features and logits.
 * The model's training mode is restored afterwards.
 */
export async function classifierOutputs(model: Classifier, images: Float32Array, n: number, batchSize = 256): Promise<ClassifierOutputs> {
  const { channels, size, classes } = model.config;
  const perImage = channels * size * size;
  if (images.length !== n * perImage) {
    throw new Error(`classifierOutputs: ${images.length} values are not ${n} images [${channels}, ${size}, ${size}]`);
  }
  const features = new Float32Array(n * FEATURE_DIM);
  const logits = new Float32Array(n * classes);
  const wasTraining = model.training;
  model.eval();
  try {
    for (let start = 0; start < n; start += batchSize) {
      const count = Math.min(batchSize, n - start);
      const [f, l] = scope(() =>
        noGrad(() => {
          const x = tensor(images.subarray(start * perImage, (start + count) * perImage), [count, channels, size, size]);
          const h = model.features(x);
          return [h, model.head.forward(h)];
        }),
      );
      try {
        features.set(await f.toArray(), start * FEATURE_DIM);
        logits.set(await l.toArray(), start * classes);
      } finally {
        f.dispose();
        l.dispose();
      }
    }
  } finally {
    model.train(wasTraining);
  }
  return { features, logits };
}

/** Fraction of the first `limit` examples of `data` (default all) that `model` classifies right. */
export async function accuracy(model: Classifier, data: Dataset, limit = data.count): Promise<number> {
  checkDataFitsModel('accuracy', data, model.config);
  const n = Math.min(limit, data.count);
  if (!(n >= 1)) throw new Error(`accuracy: nothing to evaluate (data set '${data.name}' has ${data.count} examples, limit ${limit})`);
  const batchSize = 256;
  let right = 0;
  for (let start = 0; start < n; start += batchSize) {
    const count = Math.min(batchSize, n - start);
    const indices = Int32Array.from({ length: count }, (_, i) => start + i);
    const { images, labels } = data.examples(indices);
    const { logits } = await classifierOutputs(model, images, count, batchSize);
    right += countCorrect(logits, labels, model.config.classes);
  }
  return right / n;
}

/** Trains a fresh Classifier on `train` with Adam and cross-entropy; returns it with its test accuracy. */
export async function trainClassifier(o: ClassifierRunOptions): Promise<{ model: Classifier; testAccuracy: number; losses: number[] }> {
  const { train, test, steps, batch, lr = 1e-3, seed, width = 8, onStep, evalEvery, testLimit } = o;
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`trainClassifier: steps must be a positive integer, got ${steps}`);
  if (!Number.isInteger(batch) || batch < 1) throw new Error(`trainClassifier: batch must be a positive integer, got ${batch}`);
  if (test.channels !== train.channels || test.size !== train.size) {
    throw new Error(
      `trainClassifier: train images [${train.channels}, ${train.size}, ${train.size}] and ` +
        `test images [${test.channels}, ${test.size}, ${test.size}] differ`,
    );
  }
  const classes = train.classNames.length;
  if (classes < 2) throw new Error(`trainClassifier: data set '${train.name}' has ${classes} classes; a classifier needs labelled data with at least 2`);
  if (test.classNames.length !== classes) {
    throw new Error(`trainClassifier: train data has ${classes} classes, test data ${test.classNames.length}`);
  }
  const trainer = new ClassifierTrainer(
    { configName: 'default', data: train.name, imageSize: train.size, channels: train.channels, batch, lr, seed, classes, width },
  );
  const loader = new Loader(train, { batchSize: batch, seed });
  const losses: number[] = [];
  try {
    for (let step = 0; step < steps; step++) {
      const { images, labels } = loader.batch(step);
      const metrics = await trainer.trainStep(images, labels);
      losses.push(metrics.loss);
      const info: StepInfo = { step, loss: metrics.loss, accuracy: metrics.accuracy, msPerStep: metrics.ms };
      if (evalEvery && (step + 1) % evalEvery === 0 && step + 1 < steps) info.testAccuracy = await accuracy(trainer.model, test, testLimit);
      onStep?.(info);
    }
    trainer.optimizer.zeroGrad();
    const testAccuracy = await accuracy(trainer.model, test, testLimit);
    return { model: trainer.model, testAccuracy, losses };
  } catch (err) {
    trainer.model.dispose();
    throw err;
  } finally {
    trainer.optimizer.dispose();
  }
}

// ---------------------------------------------------------------- one step at a time

/** configName is 'default' (the classifier has one size); data is shapes or mnist. */
export interface ClassifierTrainConfig extends TrainConfigBase {
  classes: number;
  /** the first conv's channels */
  width: number;
}

export type ClassifierStepMetrics = {
  step: number;
  /** cross-entropy of this step's batch, before the update */
  loss: number;
  /** fraction of this step's batch classified right, before the update */
  accuracy: number;
  ms: number;
};

/**
 * The classifier and its Adam, one step at a time: what trainClassifier
 * runs, and what the classifier's description (CLASSIFIER_MODEL) hands the
 * hosts. Its file (saveClassifier) keeps the weights only, so a restored
 * trainer starts a fresh optimizer at step 0.
 */
export class ClassifierTrainer {
  readonly model: Classifier;
  readonly optimizer: Adam;
  /** steps taken so far */
  step = 0;
  /** what checkpoint() records as the test accuracy (NaN: not measured) */
  testAccuracy = NaN;

  /** A fresh classifier from `config.seed`, or `model` (a loaded one) as it is. */
  constructor(readonly config: ClassifierTrainConfig, model?: Classifier) {
    if (model) {
      this.model = model;
    } else {
      seedRandom(config.seed);
      this.model = new Classifier({ channels: config.channels, size: config.imageSize, classes: config.classes, width: config.width });
    }
    this.optimizer = new Adam(this.model.parameters(), { lr: config.lr });
    this.model.train();
  }

  /** One Adam step on images [n, C, s, s] (row-major, in [-1, 1]) and their class ids. */
  async trainStep(images: Float32Array, labels: Float32Array): Promise<ClassifierStepMetrics> {
    const started = performance.now();
    const { channels, size, classes } = this.model.config;
    const n = labels.length;
    const [loss, logits] = scope(() => {
      const x = tensor(images, [n, channels, size, size]);
      const y = tensor(labels, [n]);
      const out = this.model.forward(x);
      const l = crossEntropy(out, y);
      this.optimizer.zeroGrad();
      l.backward();
      this.optimizer.step();
      return [l.detach(), out.detach()];
    });
    let lossValue: number;
    let logitValues: Float32Array;
    try {
      lossValue = await loss.item();
      logitValues = await logits.toArray();
    } finally {
      loss.dispose();
      logits.dispose();
    }
    this.step++;
    return { step: this.step, loss: lossValue, accuracy: countCorrect(logitValues, labels, classes) / n, ms: performance.now() - started };
  }

  /** The classifier's file (saveClassifier): its weights, config, data and testAccuracy. */
  checkpoint(): Promise<Uint8Array> {
    return saveClassifier(this.model, { data: this.config.data, testAccuracy: this.testAccuracy });
  }

  /** A trainer over a classifier file's weights, with a fresh optimizer (the file keeps none) and `defaults` for the run's settings. */
  static fromCheckpoint(bytes: Uint8Array, source: string, defaults: { batch: number; lr: number; seed: number }): ClassifierTrainer {
    const info = classifierFileInfo(bytes, source);
    const model = loadClassifier(bytes, source);
    const { channels, size, classes, width } = model.config;
    const trainer = new ClassifierTrainer(
      { configName: 'default', data: info.data, imageSize: size, channels, classes, width, ...defaults },
      model,
    );
    trainer.testAccuracy = info.testAccuracy;
    return trainer;
  }

  dispose(): void {
    this.optimizer.dispose();
    this.model.dispose();
  }
}

// ---------------------------------------------------------------- checkpoint

/** Saves the model's state dict, with its config, data set and accuracy in the metadata. */
export async function saveClassifier(
  model: Classifier,
  info: { data: string; testAccuracy: number; classNames?: readonly string[] },
): Promise<Uint8Array> {
  const metadata: Record<string, string> = {
    'wgrad.model': 'classifier',
    'wgrad.config': JSON.stringify(model.config),
    'wgrad.data': info.data,
    'wgrad.test_accuracy': String(info.testAccuracy),
  };
  if (info.classNames) metadata['wgrad.class_names'] = JSON.stringify(info.classNames);
  return saveSafetensors(model, metadata);
}

/** What saveClassifier wrote besides the weights. */
export interface ClassifierFileInfo {
  config: ClassifierConfig;
  data: string;
  testAccuracy: number;
  classNames?: string[];
}

/** Reads and checks a classifier file's metadata, without making any tensors. */
export function classifierFileInfo(bytes: Uint8Array, source: string): ClassifierFileInfo {
  const metadata = safetensorsMetadata(bytes, source);
  const kind = metadata['wgrad.model'];
  if (kind !== 'classifier') {
    const what = kind === undefined ? 'has no wgrad.model metadata' : `holds a '${kind}' model`;
    throw new Error(`${source}: not a classifier checkpoint (the file ${what})`);
  }
  let config: ClassifierConfig;
  let classNames: string[] | undefined;
  try {
    config = JSON.parse(metadata['wgrad.config'] ?? '') as ClassifierConfig;
    if (metadata['wgrad.class_names'] !== undefined) classNames = JSON.parse(metadata['wgrad.class_names']) as string[];
  } catch (err) {
    throw new Error(`${source}: unreadable classifier metadata (${(err as Error).message})`);
  }
  return { config, data: metadata['wgrad.data'] ?? '', testAccuracy: Number(metadata['wgrad.test_accuracy']), classNames };
}

/** Rebuilds the Classifier saved in `bytes`; errors name `source` (the file's path or name). */
export function loadClassifier(bytes: Uint8Array, source: string): Classifier {
  const { config } = classifierFileInfo(bytes, source);
  // Building the model draws initial weights; keep the caller's random stream where it was.
  const rng = getRandomState();
  let model: Classifier;
  try {
    model = new Classifier(config);
  } catch (err) {
    throw new Error(`${source}: ${(err as Error).message}`);
  } finally {
    setRandomState(rng);
  }
  const state = loadSafetensors(bytes, source);
  try {
    model.loadStateDict(state);
  } catch (err) {
    model.dispose();
    throw new Error(`${source}: ${(err as Error).message}`);
  } finally {
    for (const t of Object.values(state)) t.dispose();
  }
  return model;
}

// ---------------------------------------------------------------- the description

/** A new classifier run: the one size, the data and its classes, the first conv's width. */
export interface ClassifierSetup extends ModelSetup {
  classes: number;
  width?: number;
}

const CLASSIFIER_DEFAULTS = { imageSize: 32, batch: 64, lr: 1e-3, steps: 400, width: 8 };

/**
 * The classifier as the hosts see it (train/model-description.ts). It is
 * no generative model: no sample grid, nothing for `wgrad eval` to draw,
 * and `wgrad train classifier` runs trainClassifier (its own loop, scored
 * on the test split) rather than the run loop.
 */
export const CLASSIFIER_MODEL: ModelDescription<ClassifierTrainer, ClassifierTrainConfig, ClassifierSetup, ClassifierStepMetrics> = {
  kind: 'classifier',
  title: 'classifier',
  sizes: { default: { imageSize: CLASSIFIER_DEFAULTS.imageSize, batch: CLASSIFIER_DEFAULTS.batch, lr: CLASSIFIER_DEFAULTS.lr, steps: CLASSIFIER_DEFAULTS.steps } },
  lossNames: ['loss'],
  shownMetrics: ['loss', 'accuracy'],
  sampleMetrics: [],
  plotNames: [],
  samplePictures: [],
  configure: (setup) => {
    if (setup.configName !== 'default') throw new Error(`classifier: unknown config '${setup.configName}'; valid: default`);
    return {
      configName: 'default',
      data: setup.data,
      imageSize: setup.imageSize ?? CLASSIFIER_DEFAULTS.imageSize,
      channels: setup.channels,
      batch: setup.batch ?? CLASSIFIER_DEFAULTS.batch,
      lr: setup.lr ?? CLASSIFIER_DEFAULTS.lr,
      seed: setup.seed ?? 0,
      classes: setup.classes,
      width: setup.width ?? CLASSIFIER_DEFAULTS.width,
    };
  },
  create: (config) => new ClassifierTrainer(config),
  restore: (bytes, source) =>
    ClassifierTrainer.fromCheckpoint(bytes, source, { batch: CLASSIFIER_DEFAULTS.batch, lr: CLASSIFIER_DEFAULTS.lr, seed: 0 }),
  trainStep: (trainer, loader) => {
    const { images, labels } = loader.batch(trainer.step);
    return trainer.trainStep(images, labels);
  },
  trainable: (trainer, { loader }) => trainableOf(CLASSIFIER_MODEL, trainer, loader),
};
