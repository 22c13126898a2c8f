// The `shapes` data set: deterministic, in range, every class drawn and visible.
import { describe, it, expect } from 'vitest';
import { SHAPE_CLASSES, renderShape, shapesBatch, shapeLabel } from '../src/data/shapes';
import type { ShapesOptions } from '../src/data/shapes';

const gray32: ShapesOptions = { size: 32, channels: 1, seed: 7 };

function bytes(a: Float32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** Fraction of pixels of a gray image that are not background (-1). */
function coverage(image: Float32Array): number {
  let covered = 0;
  for (const v of image) if (v > -1 + 1e-6) covered++;
  return covered / image.length;
}

/** Mean over pixels of (v + 1) / 2: the shape's area in pixels, as a fraction of the frame. */
function inkArea(image: Float32Array): number {
  let sum = 0;
  for (const v of image) sum += (v + 1) / 2;
  return sum / image.length;
}

function ascii(image: Float32Array, size: number, channels: number): string {
  const ramp = ' .:-=+*#%@';
  const lines: string[] = [];
  for (let y = 0; y < size; y++) {
    let line = '';
    for (let x = 0; x < size; x++) {
      let v = 0;
      for (let c = 0; c < channels; c++) v += image[(c * size + y) * size + x];
      const t = (v / channels + 1) / 2; // [0, 1]
      const ch = ramp[Math.min(ramp.length - 1, Math.floor(t * ramp.length))];
      line += ch + ch; // doubled: terminal cells are about twice as tall as wide
    }
    lines.push(line);
  }
  return lines.join('\n');
}

describe('shapes', () => {
  it('is deterministic in (seed, index) and changes with the seed', () => {
    const a = shapesBatch(10, 16, gray32);
    const b = shapesBatch(10, 16, gray32);
    expect(bytes(a.images)).toEqual(bytes(b.images));
    expect(a.labels).toEqual(b.labels);

    // One image alone equals the same index inside a batch.
    const n = 5;
    const one = renderShape(a.labels[n], { ...gray32, index: 10 + n });
    expect(bytes(one)).toEqual(bytes(a.images.subarray(n * 32 * 32, (n + 1) * 32 * 32)));

    const c = shapesBatch(10, 16, { ...gray32, seed: 8 });
    let differing = 0;
    for (let i = 0; i < a.images.length; i++) if (a.images[i] !== c.images[i]) differing++;
    console.log(`seed 7 vs 8: ${differing} of ${a.images.length} values differ`);
    expect(differing).toBeGreaterThan(0.05 * a.images.length);

    // Same label, same seed, another index: another image.
    const d = renderShape(0, { ...gray32, index: 1 });
    const e = renderShape(0, { ...gray32, index: 2 });
    expect(bytes(d)).not.toEqual(bytes(e));
  });

  it('keeps values in [-1, 1] at sizes 8, 32, 64 in gray and colour', () => {
    for (const size of [8, 32, 64]) {
      for (const channels of [1, 3] as const) {
        const { images, labels } = shapesBatch(0, 16, { size, channels, seed: 3 });
        expect(images.length).toBe(16 * channels * size * size);
        expect(labels.length).toBe(16);
        let min = Infinity;
        let max = -Infinity;
        for (const v of images) {
          min = Math.min(min, v); // a NaN would make min/max NaN and fail below
          max = Math.max(max, v);
        }
        console.log(`size ${size} channels ${channels}: values in [${min.toFixed(3)}, ${max.toFixed(3)}]`);
        expect(min).toBeGreaterThanOrEqual(-1);
        expect(max).toBeLessThanOrEqual(1);
        expect(max - min).toBeGreaterThan(1); // a bright shape on a dark ground
      }
    }
  });

  it('draws every class over 64 images, from any start', () => {
    for (const start of [0, 13, 1000]) {
      const { labels } = shapesBatch(start, 64, { size: 8, channels: 1, seed: 1 });
      const counts = SHAPE_CLASSES.map((_, k) => labels.filter((l) => l === k).length);
      expect(counts.every((n) => n > 0)).toBe(true);
      for (const l of labels) expect(Number.isInteger(l) && l >= 0 && l < 8).toBe(true);
    }
    // Aligned blocks of 8 hold each class exactly once, but not in a fixed order.
    const labels = Array.from({ length: 64 }, (_, i) => shapeLabel(i, 1));
    for (let b = 0; b < 8; b++) {
      expect([...labels.slice(8 * b, 8 * b + 8)].sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    }
    expect(labels.slice(0, 8)).not.toEqual(labels.slice(8, 16));
  });

  it('draws every shape visibly, covering part of the frame, at sizes 8, 32, 64', () => {
    for (const size of [8, 32, 64]) {
      for (let label = 0; label < SHAPE_CLASSES.length; label++) {
        let lo = 1;
        let hi = 0;
        for (let index = 0; index < 12; index++) {
          const f = coverage(renderShape(label, { size, channels: 1, seed: 5, index }));
          lo = Math.min(lo, f);
          hi = Math.max(hi, f);
        }
        console.log(`size ${size} ${SHAPE_CLASSES[label].padEnd(16)} pixels covered: ${(100 * lo).toFixed(1)}%..${(100 * hi).toFixed(1)}%`);
        expect(lo).toBeGreaterThan(0.02);
        expect(hi).toBeLessThan(0.9);
      }
    }
  });

  it('keeps the shape inside the frame: the border rows and columns are mostly background', () => {
    const size = 32;
    for (let label = 0; label < SHAPE_CLASSES.length; label++) {
      for (let index = 0; index < 24; index++) {
        const image = renderShape(label, { size, channels: 1, seed: 9, index });
        // A shape kept 0.5 px inside the frame can still reach border pixels by
        // anti-aliasing, but never cover more than half of one.
        for (let k = 0; k < size; k++) {
          for (const v of [image[k], image[(size - 1) * size + k], image[k * size], image[k * size + size - 1]]) {
            expect(v).toBeLessThanOrEqual(0);
          }
        }
      }
    }
  });

  it('draws colour shapes that stand out from their background', () => {
    const size = 32;
    const plane = size * size;
    for (let label = 0; label < SHAPE_CLASSES.length; label++) {
      const image = renderShape(label, { size, channels: 3, seed: 2, index: label });
      // Corner pixel is background; some pixel must be far from it in some channel.
      let farthest = 0;
      for (let p = 0; p < plane; p++) {
        for (let c = 0; c < 3; c++) farthest = Math.max(farthest, Math.abs(image[c * plane + p] - image[c * plane]));
      }
      expect(farthest).toBeGreaterThan(0.5);
      // Gray and colour share the geometry: each colour channel is the gray
      // coverage blended from background to foreground.
      const gray = renderShape(label, { size, channels: 1, seed: 2, index: label });
      let brightest = 0; // the most covered pixel, to recover the foreground colour
      for (let p = 0; p < plane; p++) if (gray[p] > gray[brightest]) brightest = p;
      const t = (gray[brightest] + 1) / 2;
      let worst = 0;
      for (let c = 0; c < 3; c++) {
        const bg = image[c * plane];
        const fg = bg + (image[c * plane + brightest] - bg) / t;
        for (let p = 0; p < plane; p++) {
          const expected = bg + ((gray[p] + 1) / 2) * (fg - bg);
          worst = Math.max(worst, Math.abs(image[c * plane + p] - expected));
        }
      }
      expect(worst).toBeLessThan(1e-5);
    }
  });

  it('outlines cover fewer pixels than fills', () => {
    const pairs = [['square', 'square-outline'], ['circle', 'circle-outline'], ['triangle', 'triangle-outline']];
    for (const [fill, outline] of pairs) {
      let fillArea = 0;
      let outlineArea = 0;
      for (let index = 0; index < 16; index++) {
        fillArea += inkArea(renderShape(SHAPE_CLASSES.indexOf(fill as never), { ...gray32, index }));
        outlineArea += inkArea(renderShape(SHAPE_CLASSES.indexOf(outline as never), { ...gray32, index }));
      }
      console.log(`${fill}: mean area ${(100 * fillArea / 16).toFixed(1)}% filled, ${(100 * outlineArea / 16).toFixed(1)}% outlined`);
      expect(outlineArea).toBeLessThan(0.8 * fillArea);
    }
  });

  it('rejects bad options, naming the option and value', () => {
    expect(() => shapesBatch(0, 1, { size: 7, channels: 1, seed: 0 })).toThrow(/size.*7/);
    expect(() => shapesBatch(0, 1, { size: 16.5, channels: 1, seed: 0 })).toThrow(/size.*16\.5/);
    expect(() => shapesBatch(0, 1, { size: 16, channels: 2 as 1, seed: 0 })).toThrow(/channels.*2/);
    expect(() => renderShape(0, { size: 4, channels: 1, seed: 0, index: 0 })).toThrow(/size.*4/);
    expect(() => renderShape(0, { size: 16, channels: 4 as 3, seed: 0, index: 0 })).toThrow(/channels.*4/);
    expect(() => renderShape(8, { size: 16, channels: 1, seed: 0, index: 0 })).toThrow(/label.*8/);
    expect(() => renderShape(0, { size: 16, channels: 1, seed: 0, index: -1 })).toThrow(/index.*-1/);
    expect(() => shapesBatch(-1, 1, gray32)).toThrow(/start.*-1/);
    expect(() => shapesBatch(0, 1.5, gray32)).toThrow(/count.*1\.5/);
    expect(() => shapesBatch(0, 1, { ...gray32, seed: 0.5 })).toThrow(/seed.*0\.5/);
  });

  it('prints a 16×16 ASCII rendering of each class for a human to glance at', () => {
    for (let label = 0; label < SHAPE_CLASSES.length; label++) {
      const image = renderShape(label, { size: 16, channels: 1, seed: 0, index: label });
      console.log(`${SHAPE_CLASSES[label]}:\n${ascii(image, 16, 1)}\n`);
    }
  });
});
