// What every dataset is: a fixed, indexed list of images [C, size, size] in
// [-1, 1] with class labels, built from a description and one function that
// writes an example. The loaders (shapes, mnist, image folders) build theirs
// here; dataset.ts opens them by name and batches them. Nothing here imports
// a loader, so the loaders and dataset.ts do not import each other.

export interface Batch {
  images: Float32Array; // [n, C, size, size] NCHW, in [-1, 1]
  labels: Float32Array; // [n] class ids (0 when unlabelled)
}

export interface Dataset {
  readonly name: string;                  // 'shapes' | 'mnist' | 'images:<dir>'
  readonly size: number;                  // images are size × size
  readonly channels: 1 | 3;
  readonly count: number;                 // examples in this split
  readonly classNames: readonly string[]; // [] when unlabelled
  /** Copies of the examples at `indices`, in that order. */
  examples(indices: ArrayLike<number>): Batch;
}

export interface DatasetOptions {
  size?: number;              // default 32
  channels?: 1 | 3;           // default: the data's own (shapes 1, mnist 1, images 3)
  split?: 'train' | 'test';   // default 'train'
  seed?: number;              // shapes only, default 0
}



export interface ResolvedDatasetOptions {
  size: number;
  channels: 1 | 3;
  split: 'train' | 'test';
  seed: number;
}

/** Fills in the defaults and checks each option, naming `fn` and the bad value. */
export function resolveDatasetOptions(fn: string, options: DatasetOptions,
                                      defaultChannels: 1 | 3): ResolvedDatasetOptions {
  const { size = 32, channels = defaultChannels, split = 'train', seed = 0 } = options;
  if (!Number.isInteger(size) || size < 8) {
    throw new Error(`${fn}: size must be an integer >= 8, got ${size}`);
  }
  if (channels !== 1 && channels !== 3) {
    throw new Error(`${fn}: channels must be 1 or 3, got ${channels}`);
  }
  if (split !== 'train' && split !== 'test') {
    throw new Error(`${fn}: split must be 'train' or 'test', got ${JSON.stringify(split)}`);
  }
  if (!Number.isInteger(seed)) {
    throw new Error(`${fn}: seed must be an integer, got ${seed}`);
  }
  return { size, channels, split, seed };
}

export interface DatasetInfo {
  name: string;
  size: number;
  channels: 1 | 3;
  count: number;
  classNames: readonly string[];
}

/**
 * A Dataset from its description and one function that writes example
 * `index` into `out` ([channels, size, size], a view into the batch) and
 * returns its label. Index checking and batch assembly live here, once.
 */
export function makeDataset(info: DatasetInfo,
                            writeExample: (index: number, out: Float32Array) => number): Dataset {
  const { name, size, channels, count } = info;
  const imageLength = channels * size * size;
  return {
    ...info,
    examples(indices: ArrayLike<number>): Batch {
      const n = indices.length;
      const images = new Float32Array(n * imageLength);
      const labels = new Float32Array(n);
      for (let k = 0; k < n; k++) {
        const index = indices[k];
        if (!Number.isInteger(index) || index < 0 || index >= count) {
          throw new Error(`${name}: example index ${index} is out of range; the dataset has ${count} examples`);
        }
        labels[k] = writeExample(index, images.subarray(k * imageLength, (k + 1) * imageLength));
      }
      return { images, labels };
    },
  };
}
