// Pictures: what a training run shows of its images. Image tensors' data
// (NCHW floats) become one RGBA picture — a grid of tiles — and pictures
// become PNG or animated GIF bytes. No node: imports, so the demos use the
// same code in the browser.
import { decode as decodePngData, encode as encodePngData, hasPngSignature } from 'fast-png';
import type { DecodedPng } from 'fast-png';
import * as gifencModule from 'gifenc';
import type { GifPalette } from 'gifenc';

/** 8-bit RGBA, row-major, 4 bytes per pixel. */
export interface Picture {
  width: number;
  height: number;
  rgba: Uint8Array;
}

export type Rgb = [number, number, number];

export interface ImageGridOptions {
  /** Tiles per row; default ceil(sqrt(n)). */
  columns?: number;
  /** Pixels of background between tiles and around the grid; default 2. */
  padding?: number;
  /** The values that map to 0 and 255; values outside are clamped. Default [-1, 1]. */
  range?: [number, number];
  /** Default dark gray (32, 32, 32). */
  background?: Rgb;
  /** Nearest-neighbour upscale of each tile; default 1. */
  scale?: number;
}

export interface JoinOptions {
  /** 'row': left to right, tops aligned; 'column': top to bottom, left edges aligned. Default 'row'. */
  direction?: 'row' | 'column';
  /** Pixels of background between pictures; default 2. */
  gap?: number;
  /** Fills the gaps and the space beside smaller pictures; default dark gray (32, 32, 32). */
  background?: Rgb;
}

export interface GifOptions {
  /** How long each frame shows; default 200 ms. GIF stores hundredths of a second. */
  delayMs?: number;
  /** How long the last frame shows before the loop restarts; default delayMs. */
  lastFrameDelayMs?: number;
}

const DARK_GRAY: Rgb = [32, 32, 32];

// ---------------------------------------------------------------- building pictures

/** A picture of one colour. */
function filled(width: number, height: number, color: Rgb): Picture {
  const rgba = new Uint8Array(width * height * 4);
  for (let p = 0; p < rgba.length; p += 4) {
    rgba[p] = color[0];
    rgba[p + 1] = color[1];
    rgba[p + 2] = color[2];
    rgba[p + 3] = 255;
  }
  return { width, height, rgba };
}

/** Copies `source` into `target` with its top-left corner at (x, y). */
function blit(target: Picture, source: Picture, x: number, y: number): void {
  const rowBytes = source.width * 4;
  for (let row = 0; row < source.height; row++) {
    const from = row * rowBytes;
    target.rgba.set(source.rgba.subarray(from, from + rowBytes), ((y + row) * target.width + x) * 4);
  }
}

function checkPicture(picture: Picture, what: string): void {
  const { width, height, rgba } = picture;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 0 || height < 0) {
    throw new Error(`${what}: width and height must be non-negative integers, got ${width}×${height}`);
  }
  if (rgba.length !== width * height * 4) {
    throw new Error(`${what}: a ${width}×${height} picture needs ${width * height * 4} RGBA bytes, got ${rgba.length}`);
  }
}

function checkCount(value: number, name: string, min: number): void {
  if (!Number.isInteger(value) || value < min) throw new Error(`imageGrid: ${name} must be an integer ≥ ${min}, got ${value}`);
}

/**
 * One tile per image, `columns` per row, `padding` px of `background`
 * between and around tiles; cells past the last image stay background.
 * images: [n, C, h, w] NCHW float data with C = 1 (gray) or 3 (RGB). Values
 * are clamped to `range` and mapped linearly to 0..255 with rounding
 * (so with the default [-1, 1]: -1 → 0, 0 → 128, 1 → 255); NaN shows as 0.
 */
export function imageGrid(images: Float32Array, shape: readonly number[], options: ImageGridOptions = {}): Picture {
  if (shape.length !== 4) throw new Error(`imageGrid: expected a [n, C, h, w] shape, got [${shape.join(', ')}]`);
  const [n, channels, h, w] = shape;
  if (channels !== 1 && channels !== 3) {
    throw new Error(`imageGrid: images need 1 (gray) or 3 (RGB) channels, got ${channels} in shape [${shape.join(', ')}]`);
  }
  checkCount(n, 'the image count', 1);
  checkCount(h, 'the image height', 1);
  checkCount(w, 'the image width', 1);
  if (images.length !== n * channels * h * w) {
    throw new Error(`imageGrid: shape [${shape.join(', ')}] needs ${n * channels * h * w} values, got ${images.length}`);
  }
  const columns = options.columns ?? Math.ceil(Math.sqrt(n));
  const padding = options.padding ?? 2;
  const scale = options.scale ?? 1;
  checkCount(columns, 'columns', 1);
  checkCount(padding, 'padding', 0);
  checkCount(scale, 'scale', 1);
  const [lo, hi] = options.range ?? [-1, 1];
  if (!(hi > lo)) throw new Error(`imageGrid: range must be [low, high] with high > low, got [${lo}, ${hi}]`);

  const rows = Math.ceil(n / columns);
  const tileW = w * scale;
  const tileH = h * scale;
  const grid = filled(columns * tileW + (columns + 1) * padding, rows * tileH + (rows + 1) * padding, options.background ?? DARK_GRAY);

  const toByte = (v: number): number => {
    const t = (v - lo) / (hi - lo);
    return t > 0 ? (t < 1 ? Math.round(t * 255) : 255) : 0; // NaN fails both tests: 0
  };
  const plane = h * w;
  for (let i = 0; i < n; i++) {
    const left = padding + (i % columns) * (tileW + padding);
    const top = padding + Math.floor(i / columns) * (tileH + padding);
    const image = i * channels * plane;
    for (let y = 0; y < tileH; y++) {
      const sourceRow = Math.floor(y / scale) * w;
      let p = ((top + y) * grid.width + left) * 4;
      for (let x = 0; x < tileW; x++, p += 4) {
        const s = image + sourceRow + Math.floor(x / scale);
        const r = toByte(images[s]);
        grid.rgba[p] = r;
        grid.rgba[p + 1] = channels === 3 ? toByte(images[s + plane]) : r;
        grid.rgba[p + 2] = channels === 3 ? toByte(images[s + 2 * plane]) : r;
      }
    }
  }
  return grid;
}

/**
 * Places pictures side by side ('row', tops aligned) or stacked ('column',
 * left edges aligned) with `gap` px of background between them; for
 * "input | reconstruction" pairs and strips of samples.
 */
export function joinPictures(pictures: Picture[], options: JoinOptions = {}): Picture {
  if (pictures.length === 0) throw new Error('joinPictures: no pictures to join');
  pictures.forEach((picture, i) => checkPicture(picture, `joinPictures: picture ${i}`));
  const gap = options.gap ?? 2;
  if (!Number.isInteger(gap) || gap < 0) throw new Error(`joinPictures: gap must be an integer ≥ 0, got ${gap}`);
  const row = (options.direction ?? 'row') === 'row';
  const along = pictures.reduce((sum, p) => sum + (row ? p.width : p.height), 0) + gap * (pictures.length - 1);
  const across = Math.max(...pictures.map((p) => (row ? p.height : p.width)));
  const joined = row
    ? filled(along, across, options.background ?? DARK_GRAY)
    : filled(across, along, options.background ?? DARK_GRAY);
  let offset = 0;
  for (const picture of pictures) {
    if (row) blit(joined, picture, offset, 0);
    else blit(joined, picture, 0, offset);
    offset += (row ? picture.width : picture.height) + gap;
  }
  return joined;
}

// ---------------------------------------------------------------- PNG

/** PNG bytes; pictures that are fully opaque are stored as RGB, which is smaller. */
export function encodePng(picture: Picture): Uint8Array {
  checkPicture(picture, 'encodePng');
  const { width, height, rgba } = picture;
  if (width === 0 || height === 0) throw new Error(`encodePng: a PNG needs at least 1×1 pixels, got ${width}×${height}`);
  let opaque = true;
  for (let p = 3; p < rgba.length; p += 4) {
    if (rgba[p] !== 255) {
      opaque = false;
      break;
    }
  }
  if (!opaque) return encodePngData({ width, height, data: rgba, channels: 4, depth: 8 });
  const rgb = new Uint8Array(width * height * 3);
  for (let p = 0, q = 0; p < rgba.length; p += 4, q += 3) {
    rgb[q] = rgba[p];
    rgb[q + 1] = rgba[p + 1];
    rgb[q + 2] = rgba[p + 2];
  }
  return encodePngData({ width, height, data: rgb, channels: 3, depth: 8 });
}

/**
 * Reads any PNG (gray, gray + alpha, RGB, RGBA, palette; 1–16 bits) into an
 * 8-bit RGBA picture. `name` (a file name) goes into error messages.
 */
export function decodePng(bytes: Uint8Array, name = 'PNG data'): Picture {
  if (!hasPngSignature(bytes)) throw new Error(`${name}: not a PNG file (no PNG signature)`);
  let png: DecodedPng;
  try {
    png = decodePngData(bytes);
  } catch (error) {
    throw new Error(`${name}: cannot decode PNG: ${(error as Error).message}`);
  }
  try {
    return pngToRgba(png);
  } catch (error) {
    throw new Error(`${name}: ${(error as Error).message}`);
  }
}

/** One sample per array element: fast-png keeps rows of 1-, 2- and 4-bit samples packed into bytes. */
function unpackSamples(png: DecodedPng): ArrayLike<number> {
  const { data, width, height, channels, depth } = png;
  if (depth >= 8) return data;
  const perRow = width * channels;
  const rowBytes = Math.ceil((perRow * depth) / 8);
  const samples = new Uint8Array(perRow * height);
  const mask = (1 << depth) - 1;
  for (let y = 0; y < height; y++) {
    for (let i = 0; i < perRow; i++) {
      const bit = i * depth;
      const byte = data[y * rowBytes + (bit >> 3)];
      samples[y * perRow + i] = (byte >> (8 - depth - (bit & 7))) & mask; // most significant bits first
    }
  }
  return samples;
}

function pngToRgba(png: DecodedPng): Picture {
  const { width, height, channels, depth, palette, transparency } = png;
  const samples = unpackSamples(png);
  const pixels = width * height;
  if (samples.length < pixels * channels) throw new Error(`PNG data too short: ${samples.length} samples for ${width}×${height}×${channels}`);
  const rgba = new Uint8Array(pixels * 4);

  if (palette) {
    for (let i = 0; i < pixels; i++) {
      const color = palette[samples[i]];
      if (!color) throw new Error(`PNG palette index ${samples[i]} out of range (${palette.length} colours)`);
      rgba.set([color[0], color[1], color[2], color.length > 3 ? color[3] : 255], i * 4);
    }
    return { width, height, rgba };
  }

  const max = (1 << depth) - 1;
  const to8 = depth === 8 ? (v: number) => v : (v: number) => Math.round((v * 255) / max);
  // A tRNS chunk on a gray or RGB image names one colour (at the file's bit depth) that is fully transparent.
  const key = transparency && transparency.length > 0 ? transparency : undefined;
  for (let i = 0; i < pixels; i++) {
    const s = i * channels;
    const p = i * 4;
    if (channels <= 2) {
      const gray = to8(samples[s]);
      rgba[p] = gray;
      rgba[p + 1] = gray;
      rgba[p + 2] = gray;
      rgba[p + 3] = channels === 2 ? to8(samples[s + 1]) : key && samples[s] === key[0] ? 0 : 255;
    } else {
      rgba[p] = to8(samples[s]);
      rgba[p + 1] = to8(samples[s + 1]);
      rgba[p + 2] = to8(samples[s + 2]);
      const keyed = channels === 3 && key !== undefined && key.length >= 3 &&
        samples[s] === key[0] && samples[s + 1] === key[1] && samples[s + 2] === key[2];
      rgba[p + 3] = channels === 4 ? to8(samples[s + 3]) : keyed ? 0 : 255;
    }
  }
  return { width, height, rgba };
}

// ---------------------------------------------------------------- GIF

// gifenc's "main" is CommonJS, which Node's own ESM loader exposes only as a
// default export (the exports object); bundlers read its ES module build,
// which has named exports. Accept both.
type Gifenc = Pick<typeof gifencModule, 'GIFEncoder' | 'quantize' | 'applyPalette'>;
const gifenc: Gifenc = 'GIFEncoder' in gifencModule
  ? gifencModule
  : (gifencModule as unknown as { default: Gifenc }).default;

/** Pixels handed to the quantizer, spread evenly over all frames. */
const QUANTIZE_SAMPLE_PIXELS = 1 << 18;

/** True when every pixel of every frame has r = g = b. */
function allGray(frames: Picture[]): boolean {
  for (const { rgba } of frames) {
    for (let p = 0; p < rgba.length; p += 4) {
      if (rgba[p] !== rgba[p + 1] || rgba[p] !== rgba[p + 2]) return false;
    }
  }
  return true;
}

/** The frames' colours as a palette, when there are at most 256 of them; else undefined. */
function exactPalette(frames: Picture[]): Map<number, number> | undefined {
  const index = new Map<number, number>(); // 0xRRGGBB → palette index
  for (const { rgba } of frames) {
    for (let p = 0; p < rgba.length; p += 4) {
      const color = (rgba[p] << 16) | (rgba[p + 1] << 8) | rgba[p + 2];
      if (!index.has(color)) {
        if (index.size === 256) return undefined;
        index.set(color, index.size);
      }
    }
  }
  return index;
}

/** Pixels taken at an even stride from every frame, so one palette serves the whole animation. */
function samplePixels(frames: Picture[]): Uint8Array {
  const perFrame = Math.max(1, Math.floor(QUANTIZE_SAMPLE_PIXELS / frames.length));
  const chunks: Uint8Array[] = [];
  for (const { rgba } of frames) {
    const pixels = rgba.length / 4;
    const stride = Math.max(1, Math.ceil(pixels / perFrame));
    const chunk = new Uint8Array(Math.ceil(pixels / stride) * 4);
    for (let i = 0, q = 0; i < pixels; i += stride, q += 4) chunk.set(rgba.subarray(i * 4, i * 4 + 4), q);
    chunks.push(chunk);
  }
  const sample = new Uint8Array(chunks.reduce((sum, c) => sum + c.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    sample.set(chunk, offset);
    offset += chunk.length;
  }
  return sample;
}

/**
 * Chooses one global palette for all frames (so colours don't flicker from
 * frame to frame) and maps each frame to it. Exact when it can be: gray
 * frames get all 256 gray levels, frames with at most 256 colours get
 * exactly those; otherwise gifenc quantizes a sample from every frame.
 * Alpha is ignored: pictures are opaque.
 */
function palettize(frames: Picture[]): { palette: GifPalette; indexed: Uint8Array[] } {
  if (allGray(frames)) {
    const palette = Array.from({ length: 256 }, (_, v) => [v, v, v]);
    const indexed = frames.map(({ rgba }) => {
      const out = new Uint8Array(rgba.length / 4);
      for (let i = 0; i < out.length; i++) out[i] = rgba[i * 4];
      return out;
    });
    return { palette, indexed };
  }
  const exact = exactPalette(frames);
  if (exact) {
    const palette: GifPalette = [];
    for (const color of exact.keys()) palette.push([color >> 16, (color >> 8) & 255, color & 255]);
    const indexed = frames.map(({ rgba }) => {
      const out = new Uint8Array(rgba.length / 4);
      for (let i = 0, p = 0; i < out.length; i++, p += 4) {
        out[i] = exact.get((rgba[p] << 16) | (rgba[p + 1] << 8) | rgba[p + 2])!;
      }
      return out;
    });
    return { palette, indexed };
  }
  const palette = gifenc.quantize(samplePixels(frames), 256);
  return { palette, indexed: frames.map(({ rgba }) => gifenc.applyPalette(rgba, palette)) };
}

/** An animated GIF that loops forever. All frames must have the same size. */
export function encodeGif(frames: Picture[], options: GifOptions = {}): Uint8Array {
  if (frames.length === 0) throw new Error('encodeGif: no frames');
  frames.forEach((frame, i) => checkPicture(frame, `encodeGif: frame ${i}`));
  const { width, height } = frames[0];
  const odd = frames.findIndex((f) => f.width !== width || f.height !== height);
  if (odd >= 0) {
    throw new Error(`encodeGif: all frames must be the same size; frame 0 is ${width}×${height}, frame ${odd} is ${frames[odd].width}×${frames[odd].height}`);
  }
  if (width === 0 || height === 0 || width > 65535 || height > 65535) {
    throw new Error(`encodeGif: a GIF is 1 to 65535 pixels on each side, got ${width}×${height}`);
  }
  const delay = options.delayMs ?? 200;
  const lastDelay = options.lastFrameDelayMs ?? delay;

  const { palette, indexed } = palettize(frames);
  const gif = gifenc.GIFEncoder();
  indexed.forEach((index, i) => {
    const last = i === indexed.length - 1;
    gif.writeFrame(index, width, height, {
      // The first frame's palette becomes the global table; later frames
      // pass none, so they use it instead of carrying a local copy.
      palette: i === 0 ? palette : undefined,
      repeat: 0, // loop forever
      delay: last ? lastDelay : delay,
    });
  });
  gif.finish();
  return gif.bytes();
}
