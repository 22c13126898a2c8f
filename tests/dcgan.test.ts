// DCGAN end to end on a config smaller than `tiny`: a few steps train with
// finite losses and a flat tensor count, the run folder's files decode,
// --resume gives the numbers of an uninterrupted run, and a broken
// checkpoint is refused.
import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GifReader } from 'omggif';
import * as wg from '../src/node/index';
import { slerpRows } from '../src/random';
import { Loader, openDataset, type Dataset } from '../src/data/dataset';
import { Discriminator, Generator } from '../src/models/dcgan';
import { Conv2d } from '../src/nn/layers';
import {
  DEFAULT_DCGAN_RECIPE, DcganTrainer, dcganTrainConfig, dcganTrainable, discriminatorLoss, generatorLoss, type DcganTrainConfig,
} from '../src/train/dcgan';
import { emaDecayAt } from '../src/nn/optim';
import type { StepMetrics } from '../src/train/run';
import { runTraining } from '../src/node/run-folder';
import { decodePng } from '../src/io/picture';
import { writeCheckpoint } from '../src/train/checkpoint';

let shapes: Dataset;

beforeAll(async () => {
  await wg.init({ backend: 'webgpu', seed: 0 });
  shapes = await openDataset('shapes', { size: 32 });
});

function microConfig(seed = 1): DcganTrainConfig {
  return { ...dcganTrainConfig('tiny', { channels: 1, data: 'shapes', batch: 8, seed, samples: 4 }), latent: 8, generatorWidth: 4, discriminatorWidth: 4 };
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'wgrad-dcgan-'));
}

describe('DCGAN models', () => {
  it('map noise to images and images to one logit each, at 32 and 64', () => {
    for (const imageSize of [32, 64] as const) {
      const config = { imageSize, channels: 3 as const, latent: 5, generatorWidth: 2, discriminatorWidth: 2 };
      const G = new Generator(config);
      const D = new Discriminator(config);
      wg.scope(() => {
        const images = G.forward(wg.randn([2, 5]));
        expect(images.shape).toEqual([2, 3, imageSize, imageSize]);
        expect(D.forward(images).shape).toEqual([2]);
      });
      G.dispose();
      D.dispose();
    }
  });

  it('name the expected shape when given the wrong one', () => {
    const config = { imageSize: 32 as const, channels: 1 as const, latent: 5, generatorWidth: 2, discriminatorWidth: 2 };
    const G = new Generator(config);
    const D = new Discriminator(config);
    expect(() => wg.scope(() => G.forward(wg.randn([2, 4])))).toThrow(/Generator: expected noise \[n, 5\], got \[2, 4\]/);
    expect(() => wg.scope(() => D.forward(wg.randn([2, 1, 28, 28])))).toThrow(/Discriminator: expected images \[n, 1, 32, 32\], got \[2, 1, 28, 28\]/);
    expect(() => new Generator({ ...config, imageSize: 48 as 32 })).toThrow(/imageSize must be 32 or 64, got 48/);
    G.dispose();
    D.dispose();
  });

  it('slerp keeps the ends and stays on the sphere between orthogonal points', () => {
    const a = new Float32Array([1, 0, 3, 4]);
    const b = new Float32Array([0, 1, -4, 3]);
    expect(Array.from(slerpRows(a, b, 2, 0))).toEqual(Array.from(a));
    expect(Array.from(slerpRows(a, b, 2, 1)).map((v) => Math.round(v * 1e6) / 1e6)).toEqual(Array.from(b));
    const mid = slerpRows(a, b, 2, 0.5);
    expect(Math.hypot(mid[0], mid[1])).toBeCloseTo(1, 6);
    expect(Math.hypot(mid[2], mid[3])).toBeCloseTo(5, 5);
  });

  it('take each named size\'s learning rate, batch and widths unless told: tiny 1e-3, small and base the paper\'s 2e-4', () => {
    const tiny = dcganTrainConfig('tiny', { channels: 1, data: 'shapes' });
    expect([tiny.lr, tiny.batch, tiny.betas]).toEqual([1e-3, 16, [0, 0.999]]);
    expect(tiny.generatorWidth).toBe(2 * tiny.discriminatorWidth);
    for (const name of ['small', 'base']) expect(dcganTrainConfig(name, { channels: 3, data: 'shapes' }).lr).toBe(2e-4);
    expect(dcganTrainConfig('tiny', { channels: 1, data: 'shapes', lr: 5e-4, batch: 4 })).toMatchObject({ lr: 5e-4, batch: 4 });
    expect(dcganTrainConfig('tiny', { channels: 1, data: 'shapes', latent: 8, generatorWidth: 32, discriminatorWidth: 16 }))
      .toMatchObject({ configName: 'tiny', latent: 8, generatorWidth: 32, discriminatorWidth: 16, batch: 16, lr: 1e-3 });
    expect(() => dcganTrainConfig('tiny', { channels: 1, data: 'shapes', discriminatorWidth: 0 })).toThrow(/discriminatorWidth must be a positive integer, got 0/);
    expect(() => dcganTrainConfig('huge', { channels: 1, data: 'shapes' })).toThrow(/unknown config 'huge'; valid: tiny, small, base/);
  });
});

describe('DCGAN recipes', () => {
  it("the discriminator's 'layer' and 'none' norms judge each image on its own; 'batch' judges it against its batch", async () => {
    const base = { imageSize: 32 as const, channels: 1 as const, latent: 5, generatorWidth: 2, discriminatorWidth: 4 };
    const images = wg.randn([3, 1, 32, 32]);
    for (const discriminatorNorm of ['layer', 'none', 'batch'] as const) {
      const D = new Discriminator({ ...base, discriminatorNorm });
      const kinds = D.net.children().map((m) => m.constructor.name);
      expect(kinds.filter((k) => k === 'GroupNorm')).toHaveLength(discriminatorNorm === 'layer' ? 2 : 0);
      expect(kinds.filter((k) => k === 'BatchNorm2d')).toHaveLength(discriminatorNorm === 'batch' ? 2 : 0);
      // with no norm the inner convs keep a bias (zero at the start); with a norm its shift replaces it
      const inner = D.net.children().filter((m) => m instanceof Conv2d).slice(1, -1);
      for (const conv of inner) {
        expect(conv.bias !== null).toBe(discriminatorNorm === 'none');
        if (conv.bias) expect(Math.max(...(await conv.bias.toArray()).map(Math.abs))).toBe(0);
      }
      // image 0 beside image 1, then beside image 2
      const [withOne, withTwo] = await Promise.all([[0, 1], [0, 2]].map((rows) => wg.scope(() => {
        const pair = wg.concat(rows.map((r) => images.slice(0, r, r + 1)), 0);
        return D.forward(pair);
      }).toArray()));
      if (discriminatorNorm === 'batch') expect(Math.abs(withOne[0] - withTwo[0])).toBeGreaterThan(1e-3);
      else expect(Math.abs(withOne[0] - withTwo[0])).toBeLessThan(1e-6);
      D.dispose();
    }
    images.dispose();
    expect(() => new Discriminator({ ...base, discriminatorNorm: 'instance' as 'layer' }))
      .toThrow(/discriminatorNorm must be one of batch, spectral, layer, none, got "instance"/);
  });

  it("'nearest' doubles the map with upsampling and 3×3 convs, no transposed conv past the first layer", () => {
    for (const imageSize of [32, 64] as const) {
      const config = { imageSize, channels: 1 as const, latent: 5, generatorWidth: 2, discriminatorWidth: 2, upsample: 'nearest' as const };
      const G = new Generator(config);
      const kinds = G.net.children().map((m) => m.constructor.name);
      expect(kinds.filter((k) => k === 'ConvTranspose2d')).toHaveLength(1);
      expect(kinds.filter((k) => k === 'Upsample')).toHaveLength(Math.log2(imageSize / 4));
      wg.scope(() => expect(G.forward(wg.randn([2, 5])).shape).toEqual([2, 1, imageSize, imageSize]));
      G.dispose();
    }
    expect(() => new Generator({ imageSize: 32, channels: 1, latent: 5, generatorWidth: 2, discriminatorWidth: 2, upsample: 'bilinear' as 'nearest' }))
      .toThrow(/upsample must be 'transposed' or 'nearest', got "bilinear"/);
  });

  it('the paper recipe is the published DCGAN; the default samples from the generator\'s average and trains with the hinge loss and Adam without momentum (ema-hinge-b0); each other recipe changes what its name says', () => {
    expect(DEFAULT_DCGAN_RECIPE).toBe('ema-hinge-b0');
    expect(dcganTrainConfig('tiny', { channels: 1, data: 'shapes' })).toMatchObject({ upsample: 'transposed', discriminatorNorm: 'batch', loss: 'hinge', emaDecay: 0.999, betas: [0, 0.999] });
    expect(dcganTrainConfig('tiny', { channels: 1, data: 'shapes', recipe: 'paper' })).toMatchObject({ upsample: 'transposed', discriminatorNorm: 'batch', loss: 'bce', emaDecay: 0, betas: [0.5, 0.999] });
    expect(dcganTrainConfig('tiny', { channels: 1, data: 'shapes', recipe: 'ema-hinge' })).toMatchObject({ loss: 'hinge', emaDecay: 0.999, betas: [0.5, 0.999] });
    expect(dcganTrainConfig('tiny', { channels: 1, data: 'shapes', recipe: 'paper', betas: [0.9, 0.99] }).betas).toEqual([0.9, 0.99]);
    expect(() => dcganTrainConfig('tiny', { channels: 1, data: 'shapes', betas: [0.5, 1] })).toThrow(/betas must be two numbers in \[0, 1\), got \[0\.5,1\]/);
    expect(dcganTrainConfig('tiny', { channels: 1, data: 'shapes' }).recipe).toBe(DEFAULT_DCGAN_RECIPE);
    expect(dcganTrainConfig('tiny', { channels: 1, data: 'shapes', recipe: 'ema' }).emaDecay).toBe(0.999);
    expect(dcganTrainConfig('tiny', { channels: 1, data: 'shapes', recipe: 'nearest' }).upsample).toBe('nearest');
    expect(dcganTrainConfig('tiny', { channels: 1, data: 'shapes', recipe: 'spectral-hinge' })).toMatchObject({ discriminatorNorm: 'spectral', loss: 'hinge' });
    expect(dcganTrainConfig('tiny', { channels: 1, data: 'shapes', recipe: 'paper', loss: 'hinge' }).loss).toBe('hinge');
    expect(() => dcganTrainConfig('tiny', { channels: 1, data: 'shapes', recipe: 'fancy' })).toThrow(/unknown recipe 'fancy'; valid: paper, ema, nearest, hinge, spectral-hinge, ema-hinge, ema-hinge-b0/);
    expect(() => dcganTrainConfig('tiny', { channels: 1, data: 'shapes', emaDecay: 1 })).toThrow(/emaDecay must be in \[0, 1\), got 1/);
  });

  it('hinge and BCE losses are the formulas on known logits', async () => {
    const real = wg.tensor([2, 0.5, -1]);
    const fake = wg.tensor([-3, 0, 0.25]);
    const relu = (v: number) => Math.max(0, v);
    const mean = (vs: number[]) => vs.reduce((a, b) => a + b, 0) / vs.length;
    const softplus = (v: number) => Math.log1p(Math.exp(v));
    const expected = {
      hinge: [mean([2, 0.5, -1].map((r) => relu(1 - r))) + mean([-3, 0, 0.25].map((f) => relu(1 + f))), -mean([-3, 0, 0.25])],
      bce: [mean([2, 0.5, -1].map((r) => softplus(-r))) + mean([-3, 0, 0.25].map((f) => softplus(f))), mean([-3, 0, 0.25].map((f) => softplus(-f)))],
    };
    for (const loss of ['hinge', 'bce'] as const) {
      const [d, g] = wg.scope(() => [discriminatorLoss(loss, real, fake), generatorLoss(loss, fake)]);
      expect(await d.item()).toBeCloseTo(expected[loss][0], 5);
      expect(await g.item()).toBeCloseTo(expected[loss][1], 5);
      d.dispose();
      g.dispose();
    }
    real.dispose();
    fake.dispose();
  });

  it('the weight average moves by the warmed-up decay each step and is what samples come from', async () => {
    const trainer = new DcganTrainer({ ...microConfig(), emaDecay: 0.999 });
    // every weight and batchnorm statistic (the weights move in one packed dispatch, the statistics one by one)
    const keys = Object.keys(trainer.generator.stateDict()).filter((key) => !key.endsWith('num_batches_tracked'));
    expect(keys).toContain('net.0.weight');
    expect(keys.some((key) => key.endsWith('running_var'))).toBe(true);
    const before = await Promise.all(keys.map((key) => trainer.generator.stateDict()[key].toArray()));
    const loader = new Loader(shapes, { batchSize: 8, seed: 1 });
    await dcganTrainable(trainer, loader).trainStep();
    const d = emaDecayAt(0.999, 1);
    for (const [k, key] of keys.entries()) {
      const after = await trainer.generator.stateDict()[key].toArray();
      const average = await trainer.sampler.stateDict()[key].toArray();
      let worst = 0;
      average.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - (d * before[k][i] + (1 - d) * after[i])))));
      expect(worst, key).toBeLessThan(1e-6);
    }
    expect(trainer.sampler).toBe(trainer.emaGenerator);
    trainer.dispose();
    const plain = new DcganTrainer({ ...microConfig(), emaDecay: 0 });
    expect(plain.emaGenerator).toBeNull();
    expect(plain.sampler).toBe(plain.generator);
    plain.dispose();
  });

  it('fine-tuning starts from another run\'s weights with fresh optimizers', async () => {
    const source = new DcganTrainer(microConfig(3));
    await dcganTrainable(source, new Loader(shapes, { batchSize: 8, seed: 1 })).trainStep();
    const target = new DcganTrainer(microConfig(4));
    target.loadWeightsFrom(source);
    for (const [from, to] of [[source.generator, target.generator], [source.discriminator, target.discriminator], [source.sampler, target.sampler]] as const) {
      const a = from.stateDict();
      const b = to.stateDict();
      for (const key of Object.keys(a)) expect(Array.from(await b[key].toArray())).toEqual(Array.from(await a[key].toArray()));
    }
    expect(target.step).toBe(0);
    source.dispose();
    target.dispose();
  });
});

describe('DCGAN training', () => {
  it('trains with finite losses and a flat tensor count, and writes every output file', async () => {
    const trainer = new DcganTrainer(microConfig());
    const loader = new Loader(shapes, { batchSize: 8, seed: 1 });
    const out = tempDir();
    const seen: StepMetrics[] = [];
    const result = await runTraining(dcganTrainable(trainer, loader), {
      out, steps: 6, sampleEvery: 3, checkpointEvery: 3, onStep: (m) => seen.push(m),
    });
    expect(result.steps).toBe(6);
    for (const m of seen) {
      for (const key of ['lossD', 'lossG', 'dReal', 'dFake', 'ms']) expect(Number.isFinite(m[key])).toBe(true);
      expect(m.dReal).toBeGreaterThan(0);
      expect(m.dReal).toBeLessThan(1);
    }
    // the same live tensors after every step: nothing leaks
    expect(new Set(seen.slice(1).map((m) => m.tensors)).size).toBe(1);

    const metrics = readFileSync(result.files.metrics, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(metrics.map((m) => m.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(readdirSync(result.files.samples).sort()).toEqual(['step-000000.png', 'step-000003.png', 'step-000006.png']);
    const grid = decodePng(readFileSync(join(result.files.samples, 'step-000006.png')));
    expect(grid.width).toBeGreaterThan(2 * 32);
    expect(grid.height).toBeGreaterThan(2 * 32);
    const gif = new GifReader(readFileSync(result.files.evolution));
    expect(gif.numFrames()).toBe(3);
    expect([gif.width, gif.height]).toEqual([grid.width, grid.height]);
    const svg = readFileSync(result.files.lossPlot, 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toMatch(/lossD/);
    expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).generatorWidth).toBe(4);

    const restored = DcganTrainer.fromCheckpoint(readFileSync(result.files.checkpoint), 'checkpoint.safetensors');
    expect(restored.step).toBe(6);
    restored.dispose();
    trainer.dispose();
  });

  it('--resume continues exactly: 2 + 2 steps give the numbers of 4 uninterrupted steps', async () => {
    const run = async (trainer: DcganTrainer, steps: number) => {
      const loader = new Loader(shapes, { batchSize: 8, seed: 1 });
      const out: StepMetrics[] = [];
      const trainable = dcganTrainable(trainer, loader);
      while (trainer.step < steps) out.push(await trainable.trainStep());
      return out;
    };
    const strip = (ms: StepMetrics[]) => ms.map(({ step, lossD, lossG, dReal, dFake }) => ({ step, lossD, lossG, dReal, dFake }));

    const straight = new DcganTrainer(microConfig(5));
    const expected = strip(await run(straight, 4));
    const expectedSamples = await straight.sample();
    straight.dispose();

    const first = new DcganTrainer(microConfig(5));
    const firstHalf = strip(await run(first, 2));
    const bytes = await first.checkpoint();
    first.dispose();
    wg.seed(12345); // whatever happens to the stream in between must not matter
    const resumed = DcganTrainer.fromCheckpoint(bytes, 'half.safetensors');
    const secondHalf = strip(await run(resumed, 4));
    expect([...firstHalf, ...secondHalf]).toEqual(expected);
    expect(Array.from((await resumed.sample()).data)).toEqual(Array.from(expectedSamples.data));
    resumed.dispose();
  });

  it('refuses a corrupted or foreign checkpoint, naming the file', async () => {
    const trainer = new DcganTrainer(microConfig());
    const bytes = await trainer.checkpoint();
    trainer.dispose();
    const before = wg.memory().tensors;
    const truncated = bytes.slice(0, bytes.length - 100);
    expect(() => DcganTrainer.fromCheckpoint(truncated, 'broken.safetensors')).toThrow(/broken\.safetensors/);
    const foreign = await wg.io.saveSafetensors({ w: wg.zeros([2]) }, { 'wgrad.model': 'vae', 'wgrad.config': '{}' });
    expect(() => DcganTrainer.fromCheckpoint(foreign, 'vae.safetensors')).toThrow(/vae\.safetensors: this is a 'vae' checkpoint, expected 'dcgan'/);
    const plain = await wg.io.saveSafetensors({ w: wg.zeros([2]) });
    expect(() => DcganTrainer.fromCheckpoint(plain, 'plain.safetensors')).toThrow(/plain\.safetensors: not a wgrad checkpoint/);
    // a flipped byte inside the header's JSON
    const garbled = bytes.slice();
    garbled[12] = 0x7b;
    expect(() => DcganTrainer.fromCheckpoint(garbled, 'garbled.safetensors')).toThrow(/garbled\.safetensors/);
    expect(wg.memory().tensors).toBeLessThanOrEqual(before + 2); // the two zeros above
    // a valid file that lacks parts: refused by name, the random stream untouched
    const whole = DcganTrainer.fromCheckpoint(bytes, 'whole.safetensors');
    const partial = await writeCheckpoint(
      { generator: whole.generator.stateDict(), discriminator: whole.discriminator.stateDict() },
      { model: 'dcgan', config: whole.config, step: 3 },
    );
    whole.dispose();
    wg.seed(77);
    const stream = wg.getRandomState();
    expect(() => DcganTrainer.fromCheckpoint(partial, 'partial.safetensors')).toThrow(/partial\.safetensors: it lacks optG, optD, noise/);
    expect(wg.getRandomState()).toEqual(stream);
  });

  it('stops on a NaN loss naming the step and keeps the last good checkpoint', async () => {
    const trainer = new DcganTrainer({ ...microConfig(), lr: 1e30 }); // Adam with lr 1e30 blows the weights up at once
    const loader = new Loader(shapes, { batchSize: 8, seed: 1 });
    const out = tempDir();
    const error = await runTraining(dcganTrainable(trainer, loader), { out, steps: 20, sampleEvery: 1, checkpointEvery: 1 }).catch((e) => e);
    expect(error).toBeInstanceOf(Error);
    expect(String(error.message)).toMatch(/dcgan: training stopped at step \d+: loss[DG] = (NaN|Infinity|-Infinity)/);
    const failedStep = Number(/at step (\d+)/.exec(error.message)![1]);
    if (failedStep > 1) {
      expect(error.message).toMatch(/last good checkpoint is .*checkpoint\.safetensors \(step \d+\)/);
      const good = DcganTrainer.fromCheckpoint(readFileSync(join(out, 'checkpoint.safetensors')), 'checkpoint.safetensors');
      expect(good.step).toBe(failedStep - 1);
      good.dispose();
    } else {
      expect(error.message).toMatch(/No checkpoint had been written yet/);
    }
    trainer.dispose();
    writeFileSync(join(out, 'done'), '');
  });

  it('refuses to start a new run over an old one unless told to overwrite, which clears the old files', async () => {
    const out = tempDir();
    const first = new DcganTrainer(microConfig());
    await runTraining(dcganTrainable(first, new Loader(shapes, { batchSize: 8, seed: 1 })), { out, steps: 2, sampleEvery: 1, checkpointEvery: 1 });
    first.dispose();
    const before = readFileSync(join(out, 'checkpoint.safetensors'));
    const second = new DcganTrainer(microConfig(2));
    const trainable = dcganTrainable(second, new Loader(shapes, { batchSize: 8, seed: 1 }));
    const error = await runTraining(trainable, { out, steps: 1, sampleEvery: 1, checkpointEvery: 1 }).catch((e) => e);
    expect(String(error?.message)).toContain(`${out} already holds a run`);
    expect(String(error?.message)).toMatch(/--resume \S*checkpoint\.safetensors.*\(--out\).*\(--overwrite\)/);
    expect(readFileSync(join(out, 'checkpoint.safetensors')).equals(before)).toBe(true);
    expect(readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n')).toHaveLength(2);

    await runTraining(trainable, { out, steps: 1, sampleEvery: 1, checkpointEvery: 1, overwrite: true });
    expect(readdirSync(join(out, 'samples')).sort()).toEqual(['step-000000.png', 'step-000001.png']);
    expect(readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n')).toHaveLength(1);
    expect(new GifReader(readFileSync(join(out, 'evolution.gif'))).numFrames()).toBe(2);
    second.dispose();
  });

  it('an abort stops between steps with a checkpoint of the last step taken', async () => {
    const out = tempDir();
    const trainer = new DcganTrainer(microConfig());
    const controller = new AbortController();
    const result = await runTraining(dcganTrainable(trainer, new Loader(shapes, { batchSize: 8, seed: 1 })), {
      out, steps: 50, sampleEvery: 100, checkpointEvery: 100, signal: controller.signal,
      onStep: (m) => { if (m.step === 3) controller.abort('SIGTERM'); },
    });
    expect(result.stopped).toBe('SIGTERM');
    expect(result.steps).toBe(3);
    const saved = DcganTrainer.fromCheckpoint(readFileSync(result.files.checkpoint), 'checkpoint.safetensors');
    expect(saved.step).toBe(3);
    saved.dispose();
    trainer.dispose();
  });
});
