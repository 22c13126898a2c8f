// The LeNet-style Classifier on WebGPU: output shapes and state-dict keys,
// a short training run on procedural shapes (the loss falls, held-out
// accuracy beats chance, no tensors leak), its checkpoint round trip and
// refusals, and the quality score of real images against real ones and
// against noise.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as wg from '../src/node/index';
import { Classifier } from '../src/models/classifier';
import {
  trainClassifier, accuracy, saveClassifier, loadClassifier, classifierFileInfo, classifierOutputs,
} from '../src/train/classifier';
import { qualityScore } from '../src/train/score';
import { shapesBatch, SHAPE_CLASSES } from '../src/data/shapes';
import type { Dataset } from '../src/data/dataset';

// The training run uses 16×16 images: SwiftShader runs the first conv
// (1 → 4 channels) slowly, and 16 px is a quarter of the work of 32 px; the
// shape tests cover 32 and 64.
const SIZE = 16;
const SEED = 7;

/** An in-memory Dataset over `count` shapes images starting at index `start`. */
function shapesDataset(name: string, start: number, count: number): Dataset {
  const { images, labels } = shapesBatch(start, count, { size: SIZE, channels: 1, seed: SEED });
  const perImage = SIZE * SIZE;
  return {
    name,
    size: SIZE,
    channels: 1,
    count,
    classNames: SHAPE_CLASSES,
    examples(indices: ArrayLike<number>) {
      const n = indices.length;
      const out = { images: new Float32Array(n * perImage), labels: new Float32Array(n) };
      for (let i = 0; i < n; i++) {
        const k = indices[i];
        out.images.set(images.subarray(k * perImage, (k + 1) * perImage), i * perImage);
        out.labels[i] = labels[k];
      }
      return out;
    },
  };
}

beforeAll(async () => {
  await wg.init({ backend: 'webgpu', seed: 0 });
});

describe('Classifier: shapes and keys', () => {
  it('logits [n, classes] and features [n, 64] at sizes 32 and 64, gray and colour', () => {
    for (const [channels, size] of [[1, 32], [3, 64]] as const) {
      const model = new Classifier({ channels, size, classes: 8, width: 4 });
      // flatten size: 32 → 16 → 12 → 6 (2w·36); 64 → 32 → 28 → 14 (2w·196)
      const side = size === 32 ? 6 : 14;
      expect(model.fc1.weight.shape).toEqual([128, 8 * side * side]);
      wg.scope(() => {
        const x = wg.randn([2, channels, size, size]);
        expect(model.forward(x).shape).toEqual([2, 8]);
        expect(model.features(x).shape).toEqual([2, 64]);
      });
      model.dispose();
    }
  });

  it('state-dict keys are the attribute names; width defaults to 8; a wrong input shape is named', () => {
    const model = new Classifier({ channels: 3, size: 32, classes: 10 });
    expect(Object.keys(model.stateDict())).toEqual([
      'conv1.weight', 'conv1.bias', 'conv2.weight', 'conv2.bias',
      'fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias', 'head.weight', 'head.bias',
    ]);
    expect(model.conv1.weight.shape).toEqual([8, 3, 5, 5]);
    expect(model.conv2.weight.shape).toEqual([16, 8, 5, 5]);
    expect(model.head.weight.shape).toEqual([10, 64]);
    expect(() => wg.scope(() => model.forward(wg.zeros([1, 1, 32, 32])))).toThrow(
      /expected images \[n, 3, 32, 32\], got \[1, 1, 32, 32\]/,
    );
    expect(() => new Classifier({ channels: 1, size: 8, classes: 4 })).toThrow(/size must be an integer ≥ 12/);
    model.dispose();
  });
});

describe('Classifier: training on shapes, checkpoint, quality score', () => {
  const train = shapesDataset('shapes-train', 0, 1280);
  const test = shapesDataset('shapes-test', 100_000, 256);
  let model: Classifier;
  let testAccuracy: number;
  let losses: number[];
  const counts: number[] = [];
  const batchAccuracies: number[] = [];

  beforeAll(async () => {
    const run = await trainClassifier({
      train, test, steps: 40, batch: 32, lr: 3e-3, seed: 1, width: 4,
      onStep: (info) => {
        counts.push(wg.memory().tensors);
        batchAccuracies.push(info.accuracy);
      },
    });
    ({ model, testAccuracy, losses } = run);
  });

  afterAll(() => model?.dispose());

  it('lowers the loss, beats chance on held-out images, and leaks no tensors', () => {
    const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
    const first = mean(losses.slice(0, 5));
    const last = mean(losses.slice(-5));
    const summary = `loss ${first.toFixed(3)} → ${last.toFixed(3)}, test accuracy ${testAccuracy.toFixed(3)}`;
    expect(losses).toHaveLength(40);
    expect(first, summary).toBeGreaterThan(1.8); // ≈ ln 8 = 2.08 at the start
    expect(last, summary).toBeLessThan(0.8 * first);
    expect(testAccuracy, summary).toBeGreaterThan(2 / 8); // chance is 1/8
    expect(new Set(counts).size, `tensor counts ${counts.join(' ')}`).toBe(1);
    expect(batchAccuracies.every((a) => a >= 0 && a <= 1)).toBe(true);
  });

  it('accuracy() agrees with trainClassifier and honours limit', async () => {
    const before = wg.memory().tensors;
    expect(await accuracy(model, test)).toBe(testAccuracy);
    const firstTen = await accuracy(model, test, 10);
    expect(Math.round(firstTen * 10)).toBeCloseTo(firstTen * 10, 9);
    expect(wg.memory().tensors).toBe(before);
    expect(model.training).toBe(true); // eval mode only while evaluating
  });

  it('save → load gives identical logits, and the metadata says what the file is', async () => {
    const bytes = await saveClassifier(model, { data: 'shapes', testAccuracy, classNames: SHAPE_CLASSES });
    expect(wg.io.safetensorsMetadata(bytes)).toEqual({
      'wgrad.model': 'classifier',
      'wgrad.config': JSON.stringify({ channels: 1, size: SIZE, classes: 8, width: 4 }),
      'wgrad.data': 'shapes',
      'wgrad.test_accuracy': String(testAccuracy),
      'wgrad.class_names': JSON.stringify(SHAPE_CLASSES),
    });
    expect(Object.keys(wg.io.readSafetensors(bytes).tensors).sort()).toEqual(Object.keys(model.stateDict()).sort());
    expect(classifierFileInfo(bytes, 'clf.safetensors').testAccuracy).toBe(testAccuracy);

    const rng = wg.getRandomState();
    const loaded = loadClassifier(bytes, 'clf.safetensors');
    expect(wg.getRandomState()).toEqual(rng); // loading draws no random numbers from the caller's stream
    const images = test.examples([0, 1, 2, 3, 4, 5, 6, 7]).images;
    const a = await classifierOutputs(model, images, 8);
    const b = await classifierOutputs(loaded, images, 8);
    expect(Array.from(b.logits)).toEqual(Array.from(a.logits));
    expect(Array.from(b.features)).toEqual(Array.from(a.features));
    loaded.dispose();
  });

  it('refuses a file that is not a classifier, naming the file', async () => {
    const other = new wg.nn.Linear(3, 2);
    const gan = await wg.io.saveSafetensors(other, { 'wgrad.model': 'dcgan' });
    const bare = await wg.io.saveSafetensors(other);
    // the right kind, the wrong weights
    const wrong = await wg.io.saveSafetensors(other, {
      'wgrad.model': 'classifier',
      'wgrad.config': JSON.stringify({ channels: 1, size: SIZE, classes: 8, width: 4 }),
    });
    other.dispose();
    const before = wg.memory().tensors;
    expect(() => loadClassifier(gan, 'runs/gan.safetensors')).toThrow(
      /runs\/gan\.safetensors: not a classifier checkpoint \(the file holds a 'dcgan' model\)/,
    );
    expect(() => loadClassifier(bare, 'bare.safetensors')).toThrow(/bare\.safetensors: not a classifier checkpoint \(the file has no wgrad\.model metadata\)/);
    // the state-dict error comes under the file's name, and the half-built model is freed
    expect(() => loadClassifier(wrong, 'wrong.safetensors')).toThrow(/wrong\.safetensors: loadStateDict: .*missing keys: conv1\.weight/);
    expect(wg.memory().tensors).toBe(before);
  });

  it('quality score: real vs real is far lower than real vs noise', async () => {
    const n = 128;
    const real = shapesBatch(200_000, n, { size: SIZE, channels: 1, seed: SEED }).images;
    const moreReal = shapesBatch(300_000, n, { size: SIZE, channels: 1, seed: SEED }).images;
    let s = 12345;
    const noise = Float32Array.from({ length: real.length }, () => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return (s / 2 ** 32) * 2 - 1;
    });
    const before = wg.memory().tensors;
    const same = await qualityScore(model, moreReal, real, n);
    const noisy = await qualityScore(model, noise, real, n);
    expect(wg.memory().tensors).toBe(before);
    const summary = `Fréchet real/real ${same.frechet.toFixed(3)}, noise/real ${noisy.frechet.toFixed(3)}`;
    expect(same.frechet, summary).toBeLessThan(0.2 * noisy.frechet);
    expect(same.maxEntropy).toBeCloseTo(Math.log(8), 12);
    expect(same.samples).toBe(n);
    expect(same.classHistogram).toHaveLength(8);
    expect(same.classHistogram.reduce((a, b) => a + b, 0)).toBe(n);
    // real shapes cover the classes more evenly than noise, which the model maps to a few
    expect(same.marginalEntropy, `real ${same.marginalEntropy}, noise ${noisy.marginalEntropy}`).toBeGreaterThan(noisy.marginalEntropy);
    expect(same.marginalEntropy).toBeLessThanOrEqual(same.maxEntropy + 1e-9);
  });

  it('quality score refuses images the classifier was not built for, naming both shapes', async () => {
    const big = new Float32Array(4 * 3 * 64 * 64);
    const real = new Float32Array(4 * SIZE * SIZE);
    await expect(qualityScore(model, big, real, 4)).rejects.toThrow(
      /generated images are \[4, 3, 64, 64\], but the classifier takes \[4, 1, 16, 16\]/,
    );
    await expect(qualityScore(model, real, real.subarray(1), 4)).rejects.toThrow(/real images are 1023 values/);
  });
});
