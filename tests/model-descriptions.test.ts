// Every model's description (src/train/models.ts), on the CPU reference and
// micro configs at batch 2: built, one step from a loader, checkpointed,
// restored, and the restored trainer's next step is the original's — the
// same metrics and, after it, the same checkpoint bytes. And `wgrad eval`
// finds every generative model through the registry.
import { describe, it, expect, beforeAll } from 'vitest';
import * as wg from '../src/node';
import { Loader, openDataset } from '../src/data/dataset';
import { MODELS, generativeModels, modelOf } from '../src/train/models';
import type { AnyModelDescription, ModelTrainer } from '../src/train/model-description';
import { checkpointInfo } from '../src/train/checkpoint';
import { evalGenerator } from '../src/cli/classifier';

const BATCH = 2;

/** Each model's micro config: its smallest named size, narrowed further so a CPU step takes well under a second. */
async function microRun(model: AnyModelDescription): Promise<{ trainer: ModelTrainer; loader: Loader }> {
  const size = model.kind === 'diffusion' || model.kind === 'classifier' ? 16 : 32;
  const dataset = await openDataset('shapes', { size, channels: 1, seed: 3 });
  const base = { configName: 'tiny', data: 'shapes', channels: 1 as const, batch: BATCH, seed: 5, samples: 2 };
  let config;
  switch (model.kind) {
    case 'dcgan':
      config = { ...model.configure(base), latent: 4, generatorWidth: 2, discriminatorWidth: 2 };
      break;
    case 'vae':
      config = { ...model.configure({ ...base, heldOut: 4 }), width: 2 };
      break;
    case 'diffusion':
      config = {
        ...model.configure({ ...base, imageSize: size, classes: dataset.classNames.length, timesteps: 6, sampleSteps: 2, samples: dataset.classNames.length }),
        baseChannels: 4, channelMults: [1, 2],
      };
      break;
    case 'classifier':
      config = model.configure({ ...base, configName: 'default', imageSize: size, classes: dataset.classNames.length, width: 2 });
      break;
  }
  return { trainer: model.create(config), loader: new Loader(dataset, { batchSize: BATCH, seed: 5 }) };
}

/** The numbers of a step that must repeat exactly (not its timing, nor the live tensor count). */
function stepNumbers(metrics: Record<string, number>): Record<string, number> {
  const { ms: _ms, imagesPerSecond: _ips, tensors: _tensors, ...rest } = metrics;
  return rest;
}

beforeAll(async () => {
  await wg.init({ backend: 'cpu', seed: 0 });
});

describe('model descriptions', () => {
  it('the registry holds the four models under their own kinds, with sizes and loss names', () => {
    expect(Object.keys(MODELS)).toEqual(['dcgan', 'vae', 'diffusion', 'classifier']);
    for (const [kind, model] of Object.entries(MODELS)) {
      expect(model.kind).toBe(kind);
      expect(modelOf(kind)).toBe(model);
      expect(Object.keys(model.sizes).length).toBeGreaterThan(0);
      for (const size of Object.values(model.sizes)) {
        expect(size.batch).toBeGreaterThan(0);
        expect(size.lr).toBeGreaterThan(0);
        expect(size.steps).toBeGreaterThan(0);
      }
      expect(model.lossNames.length).toBeGreaterThan(0);
      for (const name of model.plotNames) expect(model.sampleMetrics).toContain(name);
    }
    expect(modelOf('toString')).toBeUndefined();
    expect(modelOf('gan')).toBeUndefined();
  });

  for (const kind of Object.keys(MODELS)) {
    it(`${kind}: create → a step → checkpoint → restore, and the next step is the same`, async () => {
      const model = modelOf(kind)!;
      const { trainer, loader } = await microRun(model);
      const restoredTrainers: ModelTrainer[] = [];
      try {
        const first = await model.trainStep(trainer, loader);
        expect(first.step).toBe(1);
        for (const name of model.lossNames) expect(Number.isFinite(first[name])).toBe(true);
        const bytes = await trainer.checkpoint();
        const stream = wg.getRandomState();

        const restored = model.restore(bytes, `${kind}.safetensors`);
        restoredTrainers.push(restored);
        if (kind === 'classifier') {
          // The classifier's file keeps its weights only: the restored one
          // writes the same file, and steps on from a fresh optimizer.
          expect(await restored.checkpoint()).toEqual(bytes);
          expect(restored.step).toBe(0);
          const { imageSize, channels, classes, width } = trainer.config as unknown as Record<string, number>;
          expect(restored.config).toMatchObject({ imageSize, channels, classes, width });
          const next = await model.trainStep(restored, loader);
          expect(Number.isFinite(next.loss)).toBe(true);
          return;
        }
        expect(restored.config).toEqual(trainer.config);
        expect(restored.step).toBe(1);
        expect(await restored.checkpoint()).toEqual(bytes);
        const resumed = await model.trainStep(restored, loader);
        const resumedInfo = checkpointInfo(await restored.checkpoint(), 'resumed');
        wg.setRandomState(stream);
        const straight = await model.trainStep(trainer, loader);
        // The CPU reference holds float64 and a checkpoint float32, so the
        // restored weights are the original's rounded: the next step agrees
        // to float32 precision, and draws exactly the same random numbers.
        const [a, b] = [stepNumbers(resumed), stepNumbers(straight)];
        expect(Object.keys(a)).toEqual(Object.keys(b));
        for (const name of Object.keys(b)) expect(a[name]).toBeCloseTo(b[name], 5);
        expect(resumedInfo.metadata).toEqual(checkpointInfo(await trainer.checkpoint(), 'straight').metadata);

        // The run loop's view of the same trainer.
        const heldOut = kind === 'vae' ? await openDataset('shapes', { size: 32, channels: 1, split: 'test' }) : undefined;
        const trainable = model.trainable(trainer, { loader, heldOut });
        expect(trainable.kind).toBe(kind);
        expect(trainable.lossNames).toEqual(model.lossNames);
        expect(trainable.step).toBe(2);
        const extras = (await trainable.sampleExtras?.(2)) ?? {};
        expect(Object.keys(extras.metrics ?? {})).toEqual(model.sampleMetrics);
        expect(Object.keys(extras.pictures ?? {})).toEqual(model.samplePictures);
        const grid = await model.sample!(trainer);
        expect(grid.shape.slice(1)).toEqual([1, trainer.config.imageSize, trainer.config.imageSize]);
      } finally {
        trainer.dispose();
        for (const t of restoredTrainers) t.dispose();
      }
    });
  }

  it("wgrad eval finds every generative model's sampler through the registry", async () => {
    const generative = Object.values(MODELS).filter((model) => model.kind !== 'classifier');
    expect(generativeModels()).toEqual(generative);
    for (const model of generative) {
      expect(model.generate).toBeTypeOf('function');
      expect(evalGenerator(model.kind)).toBe(model.generate);
      expect(model.sample).toBeTypeOf('function');
    }
    expect(evalGenerator('classifier')).toBeNull();
    expect(evalGenerator('no-such-model')).toBeNull();

    // And what it finds draws images from a checkpoint of that kind.
    for (const model of generative) {
      const { trainer } = await microRun(model);
      try {
        const bytes = await trainer.checkpoint();
        const { data, shape } = await evalGenerator(model.kind)!(bytes, `${model.kind}.safetensors`, 3, 1);
        const s = trainer.config.imageSize;
        expect(shape).toEqual([3, 1, s, s]);
        expect(data.length).toBe(3 * s * s);
        expect(data.every(Number.isFinite)).toBe(true);
      } finally {
        trainer.dispose();
      }
    }
  });
});
