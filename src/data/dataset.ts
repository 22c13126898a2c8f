// Datasets and the loader that batches them. A Dataset is a fixed, indexed
// list of images [C, size, size] in [-1, 1] with class labels; the Loader
// cuts it into shuffled batches. A batch is a pure function of (seed, step),
// so resuming at step s replays exactly what an uninterrupted run would
// have seen, without storing any loader state.
import { tensor } from '../ops/creation';
import type { Tensor } from '../tensor';
import { SHAPE_CLASSES, renderShape, shapeLabel } from './shapes';
import { flipHorizontal } from './images';
import { makeDataset, resolveDatasetOptions } from './base';
import type { Batch, Dataset, DatasetOptions, ResolvedDatasetOptions } from './base';

export { makeDataset, resolveDatasetOptions } from './base';
export type { Batch, Dataset, DatasetInfo, DatasetOptions, ResolvedDatasetOptions } from './base';

/** For error messages and --help. */
export const DATASET_NAMES: readonly string[] = ['shapes', 'mnist', 'images:DIR'];

// Shapes are generated, so any amount exists; a fixed count makes an epoch
// mean something. Test images come from indices far past any train index.
const SHAPES_TRAIN_COUNT = 60_000;
const SHAPES_TEST_COUNT = 10_000;
const SHAPES_TEST_OFFSET = 1_000_000_000;

function shapesDataset(options: ResolvedDatasetOptions): Dataset {
  const { size, channels, split, seed } = options;
  const train = split === 'train';
  const offset = train ? 0 : SHAPES_TEST_OFFSET;
  return makeDataset(
    { name: 'shapes', size, channels, count: train ? SHAPES_TRAIN_COUNT : SHAPES_TEST_COUNT, classNames: SHAPE_CLASSES },
    (index, out) => {
      const label = shapeLabel(offset + index, seed);
      out.set(renderShape(label, { size, channels, seed, index: offset + index }));
      return label;
    },
  );
}

/**
 * Opens a folder of photos for 'images:DIR': the host's. Node's is
 * src/node/image-folder.ts; a page has no folders (it builds a dataset from
 * dropped files with imagesDataset).
 */
export type ImageFolderOpener = (dir: string, options: ResolvedDatasetOptions) => Promise<Dataset>;

/**
 * Opens a dataset by name: 'shapes', 'mnist' or 'images:DIR' (a folder of
 * PNG/JPEG photos, opened by `openFolder`: in Node, call the openDataset of
 * src/node/image-folder.ts, which passes its own).
 */
export async function openDataset(spec: string, options: DatasetOptions = {}, openFolder?: ImageFolderOpener): Promise<Dataset> {
  const valid = DATASET_NAMES.join(', ');
  if (spec === 'shapes') {
    return shapesDataset(resolveDatasetOptions('openDataset(shapes)', options, 1));
  }
  if (spec === 'mnist') {
    const { openMnist } = await import('./mnist');
    return openMnist(resolveDatasetOptions('openDataset(mnist)', options, 1));
  }
  if (spec.startsWith('images:')) {
    const dir = spec.slice('images:'.length);
    if (dir === '') throw new Error(`openDataset: 'images:' needs a folder, as in images:./photos`);
    const resolved = resolveDatasetOptions(`openDataset(${spec})`, options, 3);
    if (!openFolder) {
      throw new Error(`openDataset: ${spec} is a folder, and this host reads none; in a page, make a dataset of the files with imagesDataset`);
    }
    return openFolder(dir, resolved);
  }
  throw new Error(`openDataset: unknown dataset '${spec}'; valid: ${valid}`);
}

/**
 * What a run needs to know of a dataset before it trains (its channels with
 * `options` applied, its classes), without loading or decoding it: a
 * folder of photos is decoded once, by the openDataset that trains on it.
 */
export async function describeDataset(spec: string, options: DatasetOptions = {}): Promise<{ channels: 1 | 3; classNames: readonly string[] }> {
  if (spec === 'shapes') return { channels: resolveDatasetOptions('describeDataset(shapes)', options, 1).channels, classNames: SHAPE_CLASSES };
  if (spec === 'mnist') {
    const { MNIST_CLASSES } = await import('./mnist');
    return { channels: resolveDatasetOptions('describeDataset(mnist)', options, 1).channels, classNames: MNIST_CLASSES };
  }
  if (spec.startsWith('images:') && spec !== 'images:') {
    return { channels: resolveDatasetOptions(`describeDataset(${spec})`, options, 3).channels, classNames: [] };
  }
  return openDataset(spec, options); // refuses the spec, naming it
}

// --- The loader -------------------------------------------------------------------

export interface LoaderOptions {
  batchSize: number;
  seed: number;
  flip?: boolean; // random horizontal flips, default false
}

function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/**
 * A mulberry32 stream seeded by hashing (seed, counter, salt), both words of
 * seed and counter included so large values do not collide. Local on
 * purpose: src/random.ts's global stream belongs to the training code.
 */
function localStream(seed: number, counter: number, salt: number): () => number {
  const words = [seed >>> 0, Math.floor(seed / 2 ** 32) >>> 0, counter >>> 0, Math.floor(counter / 2 ** 32) >>> 0];
  let s = mix32(salt);
  for (const w of words) s = mix32(s ^ w);
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296; // uniform in [0, 1)
  };
}

const SHUFFLE_SALT = 0x5bd1e995;
const FLIP_SALT = 0x27d4eb2f;

/**
 * Shuffled batches: epoch e visits every example in a Fisher–Yates
 * permutation drawn from (seed, e); step s is batch s mod batchesPerEpoch of
 * epoch floor(s / batchesPerEpoch). The last partial batch of each epoch is
 * dropped, so every batch has batchSize examples.
 */
export class Loader {
  readonly dataset: Dataset;
  readonly batchSize: number;
  readonly seed: number;
  readonly flip: boolean;
  readonly batchesPerEpoch: number;
  private cachedEpoch = -1;
  private cachedOrder = new Int32Array(0);

  constructor(dataset: Dataset, options: LoaderOptions) {
    const { batchSize, seed, flip = false } = options;
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new Error(`Loader: batchSize must be a positive integer, got ${batchSize}`);
    }
    if (!Number.isInteger(seed)) {
      throw new Error(`Loader: seed must be an integer, got ${seed}`);
    }
    if (dataset.count < batchSize) {
      throw new Error(`Loader: dataset '${dataset.name}' has ${dataset.count} examples, fewer than the batch size ${batchSize}`);
    }
    this.dataset = dataset;
    this.batchSize = batchSize;
    this.seed = seed;
    this.flip = flip;
    this.batchesPerEpoch = Math.floor(dataset.count / batchSize);
  }

  /** The permutation of 0..count-1 for `epoch`; kept for the epoch in progress. */
  private order(epoch: number): Int32Array {
    if (epoch !== this.cachedEpoch) {
      const order = new Int32Array(this.dataset.count);
      for (let i = 0; i < order.length; i++) order[i] = i;
      const rand = localStream(this.seed, epoch, SHUFFLE_SALT);
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        const t = order[i];
        order[i] = order[j];
        order[j] = t;
      }
      this.cachedEpoch = epoch;
      this.cachedOrder = order;
    }
    return this.cachedOrder;
  }

  /** The dataset indices of the batch at global step `step` (0-based). */
  indices(step: number): Int32Array {
    if (!Number.isInteger(step) || step < 0) {
      throw new Error(`Loader.indices: step must be a non-negative integer, got ${step}`);
    }
    const epoch = Math.floor(step / this.batchesPerEpoch);
    const start = (step % this.batchesPerEpoch) * this.batchSize;
    return this.order(epoch).slice(start, start + this.batchSize);
  }

  /** The CPU arrays of step `step`'s batch, each image mirrored with probability 1/2 if flip is on. */
  batch(step: number): Batch {
    const batch = this.dataset.examples(this.indices(step));
    if (this.flip) {
      const { channels, size } = this.dataset;
      const imageLength = channels * size * size;
      const rand = localStream(this.seed, step, FLIP_SALT); // draw k decides position k
      for (let k = 0; k < this.batchSize; k++) {
        if (rand() < 0.5) flipHorizontal(batch.images.subarray(k * imageLength, (k + 1) * imageLength), channels, size);
      }
    }
    return batch;
  }

  /** Step `step`'s batch as tensors on the current backend: images [n, C, size, size], labels [n]. */
  tensors(step: number): { images: Tensor; labels: Tensor } {
    const { images, labels } = this.batch(step);
    const { channels, size } = this.dataset;
    return {
      images: tensor(images, [this.batchSize, channels, size, size]),
      labels: tensor(labels, [this.batchSize]),
    };
  }

  /** fn on step `step`'s batch as tensors, which are freed when it settles. */
  async withTensors<T>(step: number, fn: (images: Tensor, labels: Tensor) => Promise<T>): Promise<T> {
    const { images, labels } = this.tensors(step);
    try {
      return await fn(images, labels);
    } finally {
      images.dispose();
      labels.dispose();
    }
  }
}
