// Pictures: image grids with exact pixel values, PNG round trips, and GIFs
// read back with an independent decoder (omggif).
import { describe, it, expect } from 'vitest';
import { encode as encodeRawPng } from 'fast-png';
import { GifReader } from 'omggif';
import { imageGrid, joinPictures, encodePng, decodePng, encodeGif } from '../src/io/picture';
import type { Picture } from '../src/io/picture';

/** [r, g, b, a] at (x, y). */
function pixel(picture: Picture, x: number, y: number): number[] {
  const p = (y * picture.width + x) * 4;
  return Array.from(picture.rgba.subarray(p, p + 4));
}

/** The picture as rows of gray levels (red channel), for readable expectations. */
function grayRows(picture: Picture): number[][] {
  const rows: number[][] = [];
  for (let y = 0; y < picture.height; y++) {
    const row: number[] = [];
    for (let x = 0; x < picture.width; x++) row.push(picture.rgba[(y * picture.width + x) * 4]);
    rows.push(row);
  }
  return rows;
}

function grayPicture(width: number, height: number, level: (x: number, y: number) => number): Picture {
  const rgba = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const v = level(x, y);
      rgba.set([v, v, v, 255], (y * width + x) * 4);
    }
  }
  return { width, height, rgba };
}

describe('imageGrid', () => {
  // Two 2×2 gray images. Image 0: -1 → 0, 1 → 255, 0 → 127.5 rounds to 128, 0.5 → 191.25 → 191.
  // Image 1: out of range values clamp; -0.002 → 127.245 → 127; -0.5 → 63.75 → 64.
  const batch = new Float32Array([-1, 1, 0, 0.5, -3, 2, -0.002, -0.5]);
  const G = 32; // default background

  it('lays out tiles with padding and maps [-1, 1] to 0..255 with clamping and rounding', () => {
    const grid = imageGrid(batch, [2, 1, 2, 2]);
    // columns = ceil(sqrt(2)) = 2, one row; 2 px padding between and around.
    expect([grid.width, grid.height]).toEqual([2 * 2 + 3 * 2, 2 + 2 * 2]);
    expect(grid.rgba.length).toBe(grid.width * grid.height * 4);
    expect(grayRows(grid)).toEqual([
      [G, G, G, G, G, G, G, G, G, G],
      [G, G, G, G, G, G, G, G, G, G],
      [G, G, 0, 255, G, G, 0, 255, G, G],
      [G, G, 128, 191, G, G, 127, 64, G, G],
      [G, G, G, G, G, G, G, G, G, G],
      [G, G, G, G, G, G, G, G, G, G],
    ]);
    // Gray images are gray in all three channels, and opaque.
    expect(pixel(grid, 3, 3)).toEqual([191, 191, 191, 255]);
    expect(pixel(grid, 0, 0)).toEqual([32, 32, 32, 255]);
  });

  it('takes a range, a background and NaN', () => {
    const grid = imageGrid(new Float32Array([0, 0.5, 1, NaN]), [1, 1, 2, 2], { range: [0, 1], padding: 1, background: [1, 2, 3] });
    expect([grid.width, grid.height]).toEqual([4, 4]);
    expect(pixel(grid, 0, 0)).toEqual([1, 2, 3, 255]);
    expect(grayRows(grid).slice(1, 3).map((r) => r.slice(1, 3))).toEqual([[0, 128], [255, 0]]);
  });

  it('reads RGB planes into the red, green and blue channels', () => {
    // One 1×2 image: R plane [1, -1], G plane [-1, 1], B plane [0, 1].
    const grid = imageGrid(new Float32Array([1, -1, -1, 1, 0, 1]), [1, 3, 1, 2], { padding: 0 });
    expect([grid.width, grid.height]).toEqual([2, 1]);
    expect(pixel(grid, 0, 0)).toEqual([255, 0, 128, 255]);
    expect(pixel(grid, 1, 0)).toEqual([0, 255, 255, 255]);
  });

  it('honours columns and leaves unused cells as background', () => {
    const three = new Float32Array([-1, 0, 1]); // three 1×1 images
    const column = imageGrid(three, [3, 1, 1, 1], { columns: 1, padding: 1 });
    expect([column.width, column.height]).toEqual([3, 7]);
    expect([pixel(column, 1, 1)[0], pixel(column, 1, 3)[0], pixel(column, 1, 5)[0]]).toEqual([0, 128, 255]);

    const square = imageGrid(three, [3, 1, 1, 1], { padding: 1 }); // 2 columns, 2 rows, one cell empty
    expect(grayRows(square)).toEqual([
      [G, G, G, G, G],
      [G, 0, G, 128, G],
      [G, G, G, G, G],
      [G, 255, G, G, G],
      [G, G, G, G, G],
    ]);
  });

  it('upscales each tile by nearest neighbour', () => {
    const grid = imageGrid(batch.subarray(0, 4), [1, 1, 2, 2], { scale: 3, padding: 0 });
    expect([grid.width, grid.height]).toEqual([6, 6]);
    const top = [0, 0, 0, 255, 255, 255];
    const bottom = [128, 128, 128, 191, 191, 191];
    expect(grayRows(grid)).toEqual([top, top, top, bottom, bottom, bottom]);
  });

  it('rejects bad shapes with the shape in the message', () => {
    expect(() => imageGrid(new Float32Array(8), [2, 2, 2, 1])).toThrow(/channels.*\[2, 2, 2, 1\]/);
    expect(() => imageGrid(new Float32Array(7), [2, 1, 2, 2])).toThrow(/needs 8 values, got 7/);
    expect(() => imageGrid(new Float32Array(4), [4, 1])).toThrow(/\[n, C, h, w\]/);
  });
});

describe('joinPictures', () => {
  const a = grayPicture(2, 3, () => 10);
  const b = grayPicture(1, 1, () => 200);

  it('places pictures in a row, tops aligned, with a gap', () => {
    const row = joinPictures([a, b], { gap: 1, background: [5, 5, 5] });
    expect([row.width, row.height]).toEqual([4, 3]);
    expect(grayRows(row)).toEqual([
      [10, 10, 5, 200],
      [10, 10, 5, 5],
      [10, 10, 5, 5],
    ]);
  });

  it('stacks pictures in a column', () => {
    const column = joinPictures([b, a], { direction: 'column' });
    expect([column.width, column.height]).toEqual([2, 1 + 2 + 3]);
    expect(grayRows(column)).toEqual([[200, 32], [32, 32], [32, 32], [10, 10], [10, 10], [10, 10]]);
  });
});

describe('PNG', () => {
  it('round-trips an opaque grid byte for byte', () => {
    const grid = imageGrid(new Float32Array(Array.from({ length: 5 * 3 * 7 * 6 }, (_, i) => Math.sin(i))), [5, 3, 7, 6]);
    const bytes = encodePng(grid);
    expect(Array.from(bytes.subarray(1, 4))).toEqual([0x50, 0x4e, 0x47]); // "PNG"
    const back = decodePng(bytes, 'grid.png');
    expect([back.width, back.height]).toEqual([grid.width, grid.height]);
    expect(back.rgba).toEqual(grid.rgba);
  });

  it('round-trips a picture with transparency', () => {
    const rgba = new Uint8Array(3 * 2 * 4).map((_, i) => (i * 37) & 255);
    const picture = { width: 3, height: 2, rgba };
    expect(decodePng(encodePng(picture)).rgba).toEqual(rgba);
  });

  it('reads gray, 16-bit, packed 1-bit and palette PNGs as 8-bit RGBA', () => {
    const gray16 = encodeRawPng({ width: 2, height: 1, data: new Uint16Array([0, 65535]), channels: 1, depth: 16 });
    expect(Array.from(decodePng(gray16).rgba)).toEqual([0, 0, 0, 255, 255, 255, 255, 255]);

    const grayAlpha = encodeRawPng({ width: 1, height: 1, data: new Uint8Array([90, 7]), channels: 2, depth: 8 });
    expect(Array.from(decodePng(grayAlpha).rgba)).toEqual([90, 90, 90, 7]);

    // 3×2 at 1 bit per pixel: rows 1 0 1 and 0 1 1, each row padded to a byte.
    const bits = encodeRawPng({ width: 3, height: 2, data: new Uint8Array([0b10100000, 0b01100000]), channels: 1, depth: 1 });
    expect(grayRows(decodePng(bits))).toEqual([[255, 0, 255], [0, 255, 255]]);

    // 2 bits per index: 0, 2, 3.
    const palette = [[10, 20, 30], [40, 50, 60], [70, 80, 90], [100, 110, 120]];
    const indexed = encodeRawPng({ width: 3, height: 1, data: new Uint8Array([0b00101100]), channels: 1, depth: 2, palette });
    expect(Array.from(decodePng(indexed).rgba)).toEqual([10, 20, 30, 255, 70, 80, 90, 255, 100, 110, 120, 255]);
  });

  it('names the file when the bytes are not a PNG', () => {
    expect(() => decodePng(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]), 'photos/cat.png')).toThrow(/photos\/cat\.png/);
    const truncated = encodePng(grayPicture(8, 8, (x, y) => x * y)).subarray(0, 40);
    expect(() => decodePng(truncated, 'half.png')).toThrow(/half\.png/);
  });
});

describe('GIF', () => {
  /** Every frame of a GIF as RGBA, read by omggif. */
  function readGif(bytes: Uint8Array): { reader: GifReader; frames: Uint8Array[] } {
    const reader = new GifReader(bytes);
    const frames: Uint8Array[] = [];
    for (let f = 0; f < reader.numFrames(); f++) {
      const rgba = new Uint8Array(reader.width * reader.height * 4);
      reader.decodeAndBlitFrameRGBA(f, rgba);
      frames.push(rgba);
    }
    return { reader, frames };
  }

  it('writes gray frames exactly, looping, with the frame delays', () => {
    // Gray levels that a 64-entry palette would not keep apart.
    const frames = [0, 1, 2].map((f) => grayPicture(5, 4, (x, y) => (f * 85 + x * 13 + y * 7 + (x * y) % 3) & 255));
    const bytes = encodeGif(frames, { delayMs: 150, lastFrameDelayMs: 1000 });
    expect(new TextDecoder().decode(bytes.subarray(0, 6))).toBe('GIF89a');
    const { reader, frames: decoded } = readGif(bytes);
    expect(reader.numFrames()).toBe(3);
    expect([reader.width, reader.height]).toEqual([5, 4]);
    expect(reader.loopCount()).toBe(0); // forever
    expect([0, 1, 2].map((f) => reader.frameInfo(f).delay)).toEqual([15, 15, 100]); // hundredths of a second
    decoded.forEach((rgba, f) => expect(rgba).toEqual(frames[f].rgba));
  });

  it('defaults to 200 ms per frame and one global palette', () => {
    const frames = [grayPicture(2, 2, () => 0), grayPicture(2, 2, () => 255)];
    const { reader } = readGif(encodeGif(frames));
    expect(reader.frameInfo(0).delay).toBe(20);
    expect(reader.frameInfo(1).delay).toBe(20);
    expect(reader.frameInfo(1).has_local_palette).toBe(false);
  });

  it('keeps a few colours exact and quantizes many colours closely', () => {
    const few = [0, 1, 2].map((f) => imageGrid(new Float32Array([1, -1, f / 2 - 0.5, -1, 1, 0.25]), [1, 3, 1, 2], { padding: 1 }));
    const decodedFew = readGif(encodeGif(few)).frames;
    decodedFew.forEach((rgba, f) => expect(rgba).toEqual(few[f].rgba));

    // A 48×48 colour ramp per frame: thousands of colours, one 256-colour palette.
    const ramp = (shift: number): Picture => {
      const rgba = new Uint8Array(48 * 48 * 4);
      for (let i = 0; i < 48 * 48; i++) rgba.set([(i % 48) * 5 + shift, Math.floor(i / 48) * 5, 255 - shift * 3, 255], i * 4);
      return { width: 48, height: 48, rgba };
    };
    const many = [0, 10, 20].map(ramp);
    const decoded = readGif(encodeGif(many)).frames;
    let error = 0;
    let count = 0;
    decoded.forEach((rgba, f) => {
      for (let p = 0; p < rgba.length; p += 4) {
        for (let c = 0; c < 3; c++) error += Math.abs(rgba[p + c] - many[f].rgba[p + c]);
        count += 3;
      }
    });
    console.log(`GIF quantization, 3 frames × 2304 colours: mean abs error ${(error / count).toFixed(2)} levels`);
    expect(error / count).toBeLessThan(8);
  });

  it('refuses frames of different sizes, naming them', () => {
    expect(() => encodeGif([grayPicture(4, 4, () => 0), grayPicture(4, 4, () => 0), grayPicture(5, 3, () => 0)]))
      .toThrow(/frame 0 is 4×4, frame 2 is 5×3/);
    expect(() => encodeGif([])).toThrow(/no frames/);
  });
});
