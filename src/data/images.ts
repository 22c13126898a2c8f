// Photos: decode PNG and JPEG bytes, centre-crop and resize them to a
// model's size × size, and wrap a list of files as a Dataset. Pure JS with
// no node: imports, so a browser page can call imagesDataset() on dropped
// files; src/node/image-folder.ts is the Node side that reads a folder.
import { decode as decodePng } from 'fast-png';
import type { DecodedPng } from 'fast-png';
import { decode as decodeJpeg } from 'jpeg-js';
import { makeDataset, resolveDatasetOptions } from './base';
import type { Dataset, DatasetOptions } from './base';

export interface DecodedImage {
  width: number;
  height: number;
  rgba: Uint8Array; // [height, width, 4], 8 bits per channel
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const JPEG_SIGNATURE = [0xff, 0xd8, 0xff];

function startsWith(bytes: Uint8Array, signature: number[]): boolean {
  return bytes.length >= signature.length && signature.every((b, i) => bytes[i] === b);
}

// --- Decoding -----------------------------------------------------------------

/**
 * fast-png hands back samples as stored: `channels` per pixel (1 gray or
 * palette index, 2 gray+alpha, 3 RGB, 4 RGBA) at `depth` bits, rows packed
 * to whole bytes below 8 bits, a Uint16Array at 16 bits. This widens every
 * layout to 8-bit RGBA.
 */
function pngToRgba(png: DecodedPng): Uint8Array {
  const { width, height, depth, channels, data, palette, transparency } = png;
  const maxSample = 2 ** depth - 1;
  const rowLength = Math.ceil((width * channels * depth) / 8); // in bytes, for depth < 8

  /** Sample k (0-based, counted across channels) of row y, as stored. */
  const sample = (y: number, k: number): number => {
    if (depth >= 8) return data[y * width * channels + k];
    const bit = k * depth;
    const byte = data[y * rowLength + (bit >>> 3)];
    return (byte >>> (8 - depth - (bit & 7))) & maxSample;
  };
  const expected = depth >= 8 ? width * height * channels : rowLength * height;
  if (data.length !== expected) {
    // fast-png lays out Adam7-interlaced images below 8 bits one byte per sample.
    throw new Error(`unsupported PNG layout (${depth}-bit, ${channels} channels, ${data.length} samples)`);
  }
  const to8 = (v: number): number => (depth === 8 ? v : Math.round((v * 255) / maxSample));

  const rgba = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const k = x * channels;
      const out = (y * width + x) * 4;
      let r: number, g: number, b: number, a = 255;
      if (palette) {
        const colour = palette[sample(y, k)];
        if (!colour) throw new Error(`palette index ${sample(y, k)} out of range`);
        [r, g, b] = colour;
        if (colour.length > 3) a = colour[3];
      } else if (channels <= 2) {
        const v = sample(y, k);
        r = g = b = to8(v);
        if (channels === 2) a = to8(sample(y, k + 1));
        else if (transparency && transparency[0] === v) a = 0; // tRNS: one transparent gray
      } else {
        const rs = sample(y, k);
        const gs = sample(y, k + 1);
        const bs = sample(y, k + 2);
        r = to8(rs);
        g = to8(gs);
        b = to8(bs);
        if (channels === 4) a = to8(sample(y, k + 3));
        else if (transparency && transparency.length >= 3 &&
                 transparency[0] === rs && transparency[1] === gs && transparency[2] === bs) a = 0;
      }
      rgba[out] = r;
      rgba[out + 1] = g;
      rgba[out + 2] = b;
      rgba[out + 3] = a;
    }
  }
  return rgba;
}

/**
 * Decodes a PNG or JPEG (told apart by their first bytes, not the name) to
 * 8-bit RGBA. Anything else, or a file the decoder rejects, throws an Error
 * naming the file.
 */
export function decodeImage(bytes: Uint8Array, name: string): DecodedImage {
  let image: DecodedImage;
  try {
    if (startsWith(bytes, PNG_SIGNATURE)) {
      const png = decodePng(bytes);
      image = { width: png.width, height: png.height, rgba: pngToRgba(png) };
    } else if (startsWith(bytes, JPEG_SIGNATURE)) {
      const jpeg = decodeJpeg(bytes, { useTArray: true, formatAsRGBA: true });
      image = { width: jpeg.width, height: jpeg.height, rgba: jpeg.data };
    } else {
      throw new Error('not a PNG or JPEG file');
    }
  } catch (error) {
    throw new Error(`decodeImage: cannot decode ${name}: ${(error as Error).message}`, { cause: error });
  }
  if (!(image.width > 0 && image.height > 0) || image.rgba.length !== image.width * image.height * 4) {
    throw new Error(`decodeImage: cannot decode ${name}: bad dimensions ${image.width}×${image.height}`);
  }
  return image;
}

// --- Resampling ---------------------------------------------------------------

/** Which source pixels make output pixel j along one axis, and how much each counts. */
interface AxisTap {
  start: number;       // first source index
  weights: number[];   // for source indices start, start + 1, ...; they sum to 1
}

/**
 * Shrinking: output pixel j averages the source interval it covers,
 * [j, j + 1) · src/dst, each source pixel weighted by its overlap (area
 * averaging, so no detail is skipped). Enlarging (or equal): bilinear
 * between the two nearest source centres, pixel centres aligned
 * (x_src = (j + 0.5) · src/dst − 0.5), clamped at the edges.
 */
function axisTaps(srcLength: number, dstLength: number): AxisTap[] {
  const scale = srcLength / dstLength;
  const taps: AxisTap[] = [];
  for (let j = 0; j < dstLength; j++) {
    if (scale > 1) {
      const lo = j * scale;
      const hi = lo + scale;
      const start = Math.floor(lo);
      const weights: number[] = [];
      for (let i = start; i < hi && i < srcLength; i++) {
        weights.push((Math.min(hi, i + 1) - Math.max(lo, i)) / scale);
      }
      taps.push({ start, weights });
    } else {
      const x = Math.min(srcLength - 1, Math.max(0, (j + 0.5) * scale - 0.5));
      const start = Math.min(Math.floor(x), Math.max(0, srcLength - 2));
      const t = x - start;
      taps.push(srcLength === 1 ? { start: 0, weights: [1] } : { start, weights: [1 - t, t] });
    }
  }
  return taps;
}

/**
 * Resizes planar images [channels, srcHeight, srcWidth] to [channels,
 * dstHeight, dstWidth]: area-average along an axis that shrinks, bilinear
 * along one that grows. Rows first, then columns (the filter is separable).
 * A constant image stays constant, since each output is a convex
 * combination of inputs.
 */
export function resizeImage(src: Float32Array, channels: number, srcHeight: number, srcWidth: number,
                            dstHeight: number, dstWidth: number): Float32Array {
  if (src.length !== channels * srcHeight * srcWidth) {
    throw new Error(`resizeImage: ${src.length} values do not fit [${channels}, ${srcHeight}, ${srcWidth}]`);
  }
  const xTaps = axisTaps(srcWidth, dstWidth);
  // Pass 1: each row to dstWidth. [channels, srcHeight, dstWidth]
  const rows = new Float32Array(channels * srcHeight * dstWidth);
  for (let r = 0; r < channels * srcHeight; r++) {
    const inRow = r * srcWidth;
    for (let j = 0; j < dstWidth; j++) {
      const { start, weights } = xTaps[j];
      let sum = 0;
      for (let k = 0; k < weights.length; k++) sum += weights[k] * src[inRow + start + k];
      rows[r * dstWidth + j] = sum;
    }
  }
  return resizeColumns(rows, channels, srcHeight, dstHeight, dstWidth);
}

/** resizeImage's second pass: each column of rows [channels, srcHeight, width] to dstHeight. */
function resizeColumns(rows: Float32Array, channels: number, srcHeight: number, dstHeight: number, width: number): Float32Array {
  const yTaps = axisTaps(srcHeight, dstHeight);
  const out = new Float32Array(channels * dstHeight * width);
  for (let c = 0; c < channels; c++) {
    for (let i = 0; i < dstHeight; i++) {
      const { start, weights } = yTaps[i];
      const outRow = (c * dstHeight + i) * width;
      for (let j = 0; j < width; j++) {
        let sum = 0;
        for (let k = 0; k < weights.length; k++) sum += weights[k] * rows[(c * srcHeight + start + k) * width + j];
        out[outRow + j] = sum;
      }
    }
  }
  return out;
}

// --- Fitting a photo to the model ---------------------------------------------

/**
 * A decoded photo as a model input [channels, size, size] in [-1, 1]: the
 * centred square crop (the longer side loses equal parts at each end),
 * alpha composited over black, gray as luma 0.299 R + 0.587 G + 0.114 B,
 * resized with resizeImage.
 */
export function fitImage(rgba: Uint8Array, width: number, height: number, size: number,
                         channels: 1 | 3): Float32Array {
  if (rgba.length !== width * height * 4) {
    throw new Error(`fitImage: ${rgba.length} bytes are not ${width}×${height} RGBA`);
  }
  const side = Math.min(width, height);
  const x0 = Math.floor((width - side) / 2);
  const y0 = Math.floor((height - side) / 2);
  // Pixel (x, y) of the crop, channel c, in [-1, 1], rounded to float32 as a planar crop would hold it.
  const value = (x: number, y: number, c: number): number => {
    const p = ((y0 + y) * width + x0 + x) * 4;
    const alpha = rgba[p + 3] / 255;
    const r = (rgba[p] / 255) * alpha;
    const g = (rgba[p + 1] / 255) * alpha;
    const b = (rgba[p + 2] / 255) * alpha;
    if (channels === 1) return Math.fround(2 * (0.299 * r + 0.587 * g + 0.114 * b) - 1);
    return Math.fround(2 * (c === 0 ? r : c === 1 ? g : b) - 1);
  };
  if (side <= size) {
    // Small (or exact) photos: the planar crop, then resizeImage.
    const plane = side * side;
    const crop = new Float32Array(channels * plane);
    for (let c = 0; c < channels; c++) {
      for (let y = 0; y < side; y++) for (let x = 0; x < side; x++) crop[c * plane + y * side + x] = value(x, y, c);
    }
    return side === size ? crop : resizeImage(crop, channels, side, side, size, size);
  }
  // Large photos shrink while they are read: resizeImage's first pass (each
  // row to `size`) straight from the RGBA bytes, so no full-size float copy
  // of a 10000×10000 photo is ever made; then its second pass.
  const xTaps = axisTaps(side, size);
  const rows = new Float32Array(channels * side * size);
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < side; y++) {
      for (let j = 0; j < size; j++) {
        const { start, weights } = xTaps[j];
        let sum = 0;
        for (let k = 0; k < weights.length; k++) sum += weights[k] * value(start + k, y, c);
        rows[(c * side + y) * size + j] = sum;
      }
    }
  }
  return resizeColumns(rows, channels, side, size, size);
}

/** Mirrors one image [channels, size, size] left to right, in place; returns the same array. */
export function flipHorizontal(image: Float32Array, channels: number, size: number): Float32Array {
  if (image.length !== channels * size * size) {
    throw new Error(`flipHorizontal: ${image.length} values do not fit [${channels}, ${size}, ${size}]`);
  }
  for (let row = 0; row < channels * size; row++) {
    const base = row * size;
    for (let x = 0, mirror = size - 1; x < mirror; x++, mirror--) {
      const t = image[base + x];
      image[base + x] = image[base + mirror];
      image[base + mirror] = t;
    }
  }
  return image;
}

// --- A Dataset over a list of files -------------------------------------------

export interface ImageFile {
  name: string;
  bytes: Uint8Array;
}

/**
 * A Dataset of the given files, decoded and fitted up front (so memory
 * holds size × size images, not full photos). Unlabelled: labels are 0 and
 * classNames is []. A file that does not decode is skipped with a
 * console.warn naming it; if none decodes, this throws naming the dataset.
 * `options.split` is not applied here: the caller passes the split's files.
 */
export function imagesDataset(name: string, files: readonly ImageFile[], options: DatasetOptions = {}): Dataset {
  const { size, channels } = resolveDatasetOptions(`imagesDataset(${name})`, options, 3);
  const fitted: Float32Array[] = [];
  for (const file of files) {
    let image: DecodedImage;
    try {
      image = decodeImage(file.bytes, file.name);
    } catch (error) {
      console.warn(`${name}: skipping ${file.name}: ${(error as Error).message}`);
      continue;
    }
    fitted.push(fitImage(image.rgba, image.width, image.height, size, channels));
  }
  if (fitted.length === 0) {
    throw new Error(files.length === 0
      ? `${name}: no image files given`
      : `${name}: none of the ${files.length} files could be decoded as PNG or JPEG`);
  }
  return makeDataset(
    { name, size, channels, count: fitted.length, classNames: [] },
    (index, out) => {
      out.set(fitted[index]);
      return 0;
    },
  );
}
