// The VAE end to end on a config smaller than `tiny`: the model's shapes and
// loss terms, a short run whose held-out negative ELBO falls with KL ≥ 0 and
// a flat tensor count, deterministic eval mode, exact --resume, the latent
// map and interpolation, and the CLI commands as a user runs them.
import { describe, it, expect, beforeAll } from 'vitest';
import { execSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GifReader } from 'omggif';
import * as wg from '../src/node/index';
import { Loader, openDataset, type Dataset } from '../src/data/dataset';
import { Vae, logitsToImages, reparameterize, vaeLossTerms, type VaeConfig } from '../src/models/vae';
import {
  VaeTrainer, evaluateVae, firstExamples, reconstructImages, vaeTrainConfig, vaeTrainable, type VaeTrainConfig,
} from '../src/train/vae';
import { interpolateLatents, latentMap } from '../src/train/latent';
import { TrainingDiverged, type StepMetrics } from '../src/train/run';
import { runTraining } from '../src/node/run-folder';
import { decodePng, encodePng, imageGrid } from '../src/io/picture';

let mnist: Dataset;
let mnistTest: Dataset;

beforeAll(async () => {
  await wg.init({ backend: 'webgpu', seed: 0 });
  mnist = await openDataset('mnist', { size: 32 });
  mnistTest = await openDataset('mnist', { size: 32, split: 'test' });
});

function microConfig(overrides: Partial<VaeTrainConfig> = {}): VaeTrainConfig {
  return { ...vaeTrainConfig('tiny', { channels: 1, data: 'mnist', batch: 8, seed: 1, samples: 4, heldOut: 16 }), width: 4, ...overrides };
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'wgrad-vae-'));
}

describe('VAE model', () => {
  it('encodes to [n, latent] twice and decodes to image logits, at 32 and 64', () => {
    for (const imageSize of [32, 64] as const) {
      const config: VaeConfig = { imageSize, channels: 3, latent: 5, width: 2, reconstruction: 'mse' };
      const vae = new Vae(config);
      wg.scope(() => {
        const { mean, logvar } = vae.encode(wg.randn([2, 3, imageSize, imageSize]));
        expect(mean.shape).toEqual([2, 5]);
        expect(logvar.shape).toEqual([2, 5]);
        expect(vae.decode(reparameterize(mean, logvar)).shape).toEqual([2, 3, imageSize, imageSize]);
      });
      vae.dispose();
    }
  });

  it('has PyTorch-style state-dict keys and names the expected shapes when given the wrong ones', () => {
    const config: VaeConfig = { imageSize: 32, channels: 1, latent: 2, width: 2, reconstruction: 'bce' };
    const vae = new Vae(config);
    const keys = Object.keys(vae.stateDict());
    expect(keys).toContain('encoder.0.weight');
    expect(keys).toContain('encoder.3.running_var');
    expect(keys).toContain('toMean.weight');
    expect(keys).toContain('toLogvar.bias');
    expect(keys).toContain('decoder.0.weight');
    expect(() => wg.scope(() => vae.encode(wg.randn([2, 1, 28, 28])))).toThrow(/Vae.encode: expected images \[n, 1, 32, 32\], got \[2, 1, 28, 28\]/);
    expect(() => wg.scope(() => vae.decode(wg.randn([2, 3])))).toThrow(/Vae.decode: expected latents \[n, 2\], got \[2, 3\]/);
    expect(() => new Vae({ ...config, latent: 1 })).toThrow(/latent must be an integer from 2 to 128, got 1/);
    expect(() => new Vae({ ...config, latent: 129 })).toThrow(/latent must be an integer from 2 to 128/);
    vae.dispose();
  });

  it('loss terms: per-image sums averaged over the batch, KL as in the closed form', async () => {
    // two images of 2×2 pixels... as [n, 1, 2, 2] (the loss does not care about the model's size)
    const x = wg.tensor([-1, 1, -1, 1, 1, 1, -1, -1], [2, 1, 2, 2]);
    const logits = wg.tensor([0, 2, -1, 0.5, 1, -3, 0, 2], [2, 1, 2, 2]);
    const mean = wg.tensor([0.5, -1, 0, 2], [2, 2]);
    const logvar = wg.tensor([0, -0.5, 1, 0.25], [2, 2]);
    const { recon, kl } = vaeLossTerms(logits, x, mean, logvar, 'bce');
    const softplus = (v: number) => Math.log1p(Math.exp(v));
    const l = [0, 2, -1, 0.5, 1, -3, 0, 2];
    const t = [0, 1, 0, 1, 1, 1, 0, 0];
    const bceSum = l.reduce((s, v, i) => s + softplus(v) - v * t[i], 0);
    expect(await recon.item()).toBeCloseTo(bceSum / 2, 4);
    const m = [0.5, -1, 0, 2];
    const lv = [0, -0.5, 1, 0.25];
    const klSum = m.reduce((s, v, i) => s - 0.5 * (1 + lv[i] - v * v - Math.exp(lv[i])), 0);
    expect(await kl.item()).toBeCloseTo(klSum / 2, 4);
    const mse = vaeLossTerms(logits, x, mean, logvar, 'mse').recon;
    const images = await logitsToImages(logits).toArray();
    const expected = Array.from(images).reduce((s, v, i) => s + (v - [-1, 1, -1, 1, 1, 1, -1, -1][i]) ** 2, 0) / 2;
    expect(await mse.item()).toBeCloseTo(expected, 4);
    for (const tensor of [x, logits, mean, logvar, recon, kl, mse]) tensor.dispose();
  });
});

describe('VAE training', () => {
  it('lowers the held-out negative ELBO with KL ≥ 0 and a flat tensor count, and writes every output file', async () => {
    const trainer = new VaeTrainer(microConfig({ lr: 5e-3 }));
    const loader = new Loader(mnist, { batchSize: 8, seed: 1 });
    const trainable = vaeTrainable(trainer, loader, mnistTest);
    const out = tempDir();
    const seen: StepMetrics[] = [];
    const result = await runTraining(trainable, { out, steps: 12, sampleEvery: 6, checkpointEvery: 6, onStep: (m) => seen.push(m) });
    expect(result.steps).toBe(12);
    for (const m of seen) {
      for (const key of ['loss', 'recon', 'kl', 'beta', 'ms']) expect(Number.isFinite(m[key])).toBe(true);
      expect(m.kl).toBeGreaterThanOrEqual(0);
      expect(m.loss).toBeCloseTo(m.recon + m.kl, 2); // beta 1, no warm-up
    }
    expect(new Set(seen.slice(1).map((m) => m.tensors)).size).toBe(1);

    const evaluations = trainable.evaluations;
    console.log('held-out', evaluations.map((e) => `${e.step}: ${e.nelbo.toFixed(1)} (recon ${e.recon.toFixed(1)}, KL ${e.kl.toFixed(2)})`).join(' → '));
    expect(evaluations.map((e) => e.step)).toEqual([0, 6, 12]);
    for (const e of evaluations) expect(e.kl).toBeGreaterThanOrEqual(0);
    expect(evaluations[2].nelbo).toBeLessThan(evaluations[0].nelbo);

    const metrics = readFileSync(result.files.metrics, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    // step 0 holds only the held-out numbers of the untrained model
    expect(metrics.map((m) => m.step)).toEqual(Array.from({ length: 13 }, (_, i) => i));
    expect(metrics[0].heldOutNelbo).toBeCloseTo(evaluations[0].nelbo, 6);
    expect(metrics[0].loss).toBeUndefined();
    expect(metrics[6].heldOutNelbo).toBeCloseTo(evaluations[1].nelbo, 6);
    expect(metrics[12].heldOutKl).toBeCloseTo(evaluations[2].kl, 6);
    expect(metrics[5].heldOutNelbo).toBeUndefined();
    expect(readFileSync(result.files.lossPlot, 'utf8')).toMatch(/heldOutNelbo/);

    expect(readdirSync(result.files.samples).sort()).toEqual(['step-000000.png', 'step-000006.png', 'step-000012.png']);
    const recons = readdirSync(join(out, 'reconstructions')).sort();
    expect(recons).toEqual(['step-000000.png', 'step-000006.png', 'step-000012.png']);
    const pair = decodePng(readFileSync(join(out, 'reconstructions', 'step-000012.png')));
    // 16 held-out images: two grids of 8 × 2 tiles of 32 px, side by side
    expect(pair.width).toBe(2 * (8 * 34 + 2) + 8);
    expect(pair.height).toBe(2 * 34 + 2);
    expect(new GifReader(readFileSync(result.files.evolution)).numFrames()).toBe(3);
    expect(readFileSync(result.files.lossPlot, 'utf8')).toMatch(/recon/);

    const restored = VaeTrainer.fromCheckpoint(readFileSync(result.files.checkpoint), 'checkpoint.safetensors');
    expect(restored.step).toBe(12);
    const held = firstExamples(mnistTest, 16);
    expect(await evaluateVae(restored, held.images, held.count)).toEqual(await evaluateVae(trainer, held.images, held.count));
    restored.dispose();
    trainer.dispose();
  });

  it('ramps beta up over the warm-up steps', () => {
    const trainer = new VaeTrainer(microConfig({ beta: 2, warmup: 4 }));
    expect([0, 1, 2, 4, 9].map((s) => trainer.betaAt(s))).toEqual([0, 0.5, 1, 2, 2]);
    trainer.dispose();
  });

  it('eval mode is deterministic and leaves the random stream alone', async () => {
    const trainer = new VaeTrainer(microConfig());
    const held = firstExamples(mnistTest, 10);
    const state = wg.getRandomState();
    const first = await evaluateVae(trainer, held.images, held.count);
    const again = await evaluateVae(trainer, held.images, held.count);
    expect(again).toEqual(first);
    expect(wg.getRandomState()).toEqual(state);
    const a = await reconstructImages(trainer, held.images, held.count);
    const b = await reconstructImages(trainer, held.images, held.count);
    expect(Array.from(b)).toEqual(Array.from(a));
    // forward() in eval mode decodes the posterior mean: the same logits every time
    trainer.model.eval();
    const [x1, x2] = wg.noGrad(() => wg.scope(() => {
      const x = wg.tensor(held.images, [10, 1, 32, 32]);
      return [trainer.model.forward(x), trainer.model.forward(x)];
    }));
    expect(Array.from(await x1.toArray())).toEqual(Array.from(await x2.toArray()));
    x1.dispose();
    x2.dispose();
    trainer.model.train();
    trainer.dispose();
  });

  it('--resume continues exactly: 2 + 2 steps give the numbers of 4 uninterrupted steps', async () => {
    const run = async (trainer: VaeTrainer, steps: number) => {
      const loader = new Loader(mnist, { batchSize: 8, seed: 1 });
      const trainable = vaeTrainable(trainer, loader, mnistTest);
      const out: StepMetrics[] = [];
      while (trainer.step < steps) out.push(await trainable.trainStep());
      return out.map(({ step, loss, recon, kl }) => ({ step, loss, recon, kl }));
    };
    const straight = new VaeTrainer(microConfig({ seed: 5, warmup: 3 }));
    const expected = await run(straight, 4);
    const expectedSamples = await straight.sample();
    straight.dispose();

    const first = new VaeTrainer(microConfig({ seed: 5, warmup: 3 }));
    const firstHalf = await run(first, 2);
    const bytes = await first.checkpoint();
    first.dispose();
    wg.seed(12345);
    const resumed = VaeTrainer.fromCheckpoint(bytes, 'half.safetensors');
    const secondHalf = await run(resumed, 4);
    expect([...firstHalf, ...secondHalf]).toEqual(expected);
    expect(Array.from((await resumed.sample()).data)).toEqual(Array.from(expectedSamples.data));
    resumed.dispose();
  });

  it('refuses a foreign checkpoint and stops on a NaN loss naming the step', async () => {
    const dcganLike = await wg.io.saveSafetensors({ w: wg.zeros([2]) }, { 'wgrad.model': 'dcgan', 'wgrad.config': '{}' });
    expect(() => VaeTrainer.fromCheckpoint(dcganLike, 'gan.safetensors')).toThrow(/gan\.safetensors: this is a 'dcgan' checkpoint, expected 'vae'/);

    const trainer = new VaeTrainer(microConfig({ lr: 1e30 }));
    const loader = new Loader(mnist, { batchSize: 8, seed: 1 });
    const out = tempDir();
    const error = await runTraining(vaeTrainable(trainer, loader, mnistTest), { out, steps: 20, sampleEvery: 50, checkpointEvery: 1 }).catch((e) => e);
    expect(error).toBeInstanceOf(TrainingDiverged);
    expect(String(error.message)).toMatch(/vae: training stopped at step \d+: (loss|recon|kl) = (NaN|Infinity|-Infinity)/);
    trainer.dispose();
  });
});

describe('VAE latent space', () => {
  it('maps a 2-D latent: a decoded grid and a labelled scatter, leaking nothing', async () => {
    const trainer = new VaeTrainer(microConfig());
    const before = wg.memory().tensors;
    const map = await latentMap(trainer, mnistTest, { gridSize: 4, count: 30 });
    expect(wg.memory().tensors).toBe(before);
    expect(map.axes).toBe('latent');
    expect([map.grid.width, map.grid.height]).toEqual([4 * 32, 4 * 32]);
    expect(decodePng(encodePng(map.grid)).width).toBe(128);
    expect(map.points).toHaveLength(30);
    expect(new Set(map.points.map((p) => p.label))).toEqual(new Set(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']));
    expect(map.scatterSvg.startsWith('<svg')).toBe(true);
    expect(map.scatterSvg).toMatch(/z1; the grid spans/);
    // the grid spans ±3 std of the points around their mean
    const xs = map.points.map((p) => p.x);
    const mean = xs.reduce((s, v) => s + v, 0) / xs.length;
    expect((map.extent.x[0] + map.extent.x[1]) / 2).toBeCloseTo(mean, 4);
    trainer.dispose();
  });

  it('maps a larger latent over its first two principal directions', async () => {
    const trainer = new VaeTrainer(microConfig({ latent: 6 }));
    const map = await latentMap(trainer, mnistTest, { gridSize: 3, count: 20 });
    expect(map.axes).toBe('pca');
    expect(map.explained![0]).toBeGreaterThanOrEqual(map.explained![1]);
    expect(map.explained![0] + map.explained![1]).toBeLessThanOrEqual(1 + 1e-9);
    // PCA coordinates are centred
    expect(Math.abs(map.points.reduce((s, p) => s + p.x, 0) / 20)).toBeLessThan(1e-4);
    expect(map.scatterSvg).toMatch(/principal direction 1/);
    trainer.dispose();
  });

  it('interpolates between two images, linearly and spherically, ends at their posterior means', async () => {
    const trainer = new VaeTrainer(microConfig({ latent: 4 }));
    const two = firstExamples(mnistTest, 2);
    const a = two.images.subarray(0, 1024);
    const b = two.images.subarray(1024, 2048);
    const linear = await interpolateLatents(trainer, a, b, 5, 'linear');
    expect(linear.frames).toHaveLength(5);
    expect(linear.shape).toEqual([5, 1, 32, 32]);
    expect([linear.frames[0].width, linear.frames[0].height]).toEqual([32, 32]);
    const recon = await reconstructImages(trainer, two.images, 2);
    const close = (x: Float32Array, y: Float32Array) => Math.max(...Array.from(x, (v, i) => Math.abs(v - y[i])));
    expect(close(linear.images.subarray(0, 1024), recon.subarray(0, 1024))).toBeLessThan(1e-5);
    expect(close(linear.images.subarray(4096), recon.subarray(1024))).toBeLessThan(1e-5);
    const slerp = await interpolateLatents(trainer, a, b, 3, 'slerp', { scale: 2 });
    expect([slerp.frames[1].width, slerp.frames[1].height]).toEqual([64, 64]);
    const norm = (k: number) => Math.hypot(...slerp.latents.subarray(4 * k, 4 * k + 4));
    // the midpoint of a great circle between (nearly) equal norms keeps that norm; a straight line's would shrink
    expect(norm(1)).toBeGreaterThanOrEqual(Math.min(norm(0), norm(2)) * Math.cos(Math.PI / 4) - 1e-6);
    await expect(interpolateLatents(trainer, a, b, 1)).rejects.toThrow(/steps must be an integer ≥ 2/);
    trainer.dispose();
  });
});

describe('wgrad train / latent-map / interpolate vae', () => {
  const root = new URL('..', import.meta.url).pathname;
  const out = mkdtempSync(join(tmpdir(), 'wgrad-vae-cli-'));
  const run = join(out, 'run');
  const ckpt = join(run, 'checkpoint.safetensors');

  const wgrad = (args: string[]) => {
    const r = spawnSync(process.execPath, ['bin/wgrad.js', ...args], { cwd: root, encoding: 'utf8', timeout: 240_000 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  beforeAll(() => {
    // the built CLI must know the vae commands
    const cli = join(root, 'dist/cli.js');
    if (!existsSync(cli) || !readFileSync(cli, 'utf8').includes('latent-map')) execSync('npm run build', { cwd: root, stdio: 'ignore' });
  }, 300_000);

  it('trains, says where everything is, and refuses a config flag on --resume that differs from the checkpoint', () => {
    const r = wgrad(['train', 'vae', '--steps', '2', '--batch', '4', '--held-out', '8', '--sample-every', '1', '--out', run, '--seed', '3']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/VAE 'tiny' \(latent 2, beta 1, Bernoulli \(BCE\) reconstruction\) on mnist/);
    expect(r.stdout).toMatch(/held-out negative ELBO per image: [\d.]+ at step 0 .* → [\d.]+ at step 2/);
    for (const f of ['metrics.jsonl', 'evolution.gif', 'loss.svg', 'checkpoint.safetensors', 'reconstructions/step-000002.png', 'samples/step-000002.png']) {
      expect(existsSync(join(run, f))).toBe(true);
    }
    const metrics = readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(Number.isFinite(metrics[1].heldOutNelbo)).toBe(true);
    const refused = wgrad(['train', 'vae', '--resume', ckpt, '--beta', '4', '--steps', '5']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/--beta 4 differs from the checkpoint's 1 \(/);
  });

  it('writes the latent map (PNG grid + SVG scatter) and an interpolation (GIF + PNG strip)', () => {
    const map = join(out, 'map.png');
    let r = wgrad(['latent-map', 'vae', '--ckpt', ckpt, '--out', map, '--grid', '4', '--count', '40']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/grid .*map\.png: 4×4 images decoded over the 2-D latent plane/);
    expect(r.stdout).toMatch(/scatter .*map\.svg: the posterior means of 40 test images of mnist/);
    expect(decodePng(readFileSync(map)).width).toBe(128);
    expect(readFileSync(join(out, 'map.svg'), 'utf8').startsWith('<svg')).toBe(true);

    // a PNG input, fitted to 32×32 gray
    const photo = join(out, 'digit.png');
    writeFileSync(photo, encodePng(imageGrid(firstExamples(mnistTest, 1).images, [1, 1, 32, 32], { padding: 0, scale: 2 })));
    const gif = join(out, 'walk.gif');
    r = wgrad(['interpolate', 'vae', '--ckpt', ckpt, '--from', photo, '--to', 'test:3', '--steps', '3', '--out', gif]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/linear in the 2-D latent/);
    const reader = new GifReader(readFileSync(gif));
    expect(reader.numFrames()).toBe(4); // 3 there, 1 back
    expect(reader.width).toBe(64);
    const strip = decodePng(readFileSync(join(out, 'walk.png')));
    expect(strip.width).toBe(5 * 64 + 2 * 2 + 2 * 10);

    r = wgrad(['latent-map', 'gan', '--ckpt', ckpt]);
    expect(r.stderr).toMatch(/wgrad latent-map: unknown model 'gan'; valid: vae/);
    r = wgrad(['interpolate', 'vae', '--ckpt', ckpt, '--from', 'test:999999', '--to', 'test:1']);
    expect(r.stderr).toMatch(/--from test:999999: the index must be an integer from 0 to \d+/);
  });
});
