// The diffusion model on configs far smaller than `tiny` (4 base channels,
// 8×8 images, T = 10–20): the U-Net's shapes and its fused GroupNorm, the
// schedules and q(x_t | x_0) against their closed forms, one DDPM step and
// one DDIM step (K = T, η = 1) against a float64 CPU posterior, seeded
// samplers that leave the global stream alone and allocate nothing that
// outlives a step, training (the loss falls, the tensor count stays flat,
// resume is exact, NaN stops the run), and the CLI.
import { describe, it, expect, beforeAll } from 'vitest';
import { spawnSync, execSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GifReader } from 'omggif';
import * as wg from '../src/node/index';
import { Loader, openDataset, type Dataset } from '../src/data/dataset';
import { UNet, groupsFor, timeFeatureSize, timestepFeatures, type UnetConfig } from '../src/models/unet';
import {
  NoiseSchedule, betaSchedule, ddimSigma, ddimStep, ddimTimesteps, ddpmStep, diffusionLoss, makeConditioning, predictNoise, qSample,
  sampleDdim, sampleDdpm, timestepInput, type Denoiser,
} from '../src/models/diffusion';
import {
  DiffusionTrainer, classRows, diffusionTrainConfig, diffusionTrainable, loadDenoiser, type DiffusionTrainConfig,
} from '../src/train/diffusion';
import type { StepMetrics } from '../src/train/run';
import { runTraining } from '../src/node/run-folder';
import { emaDecayAt } from '../src/nn/optim';
import { decodePng } from '../src/io/picture';
import { normalArray } from '../src/random';

let shapes: Dataset;

beforeAll(async () => {
  await wg.init({ backend: 'webgpu', seed: 0 });
  shapes = await openDataset('shapes', { size: 8 });
});

function microConfig(overrides: Partial<DiffusionTrainConfig> = {}): DiffusionTrainConfig {
  const config = diffusionTrainConfig('tiny', {
    channels: 1, imageSize: 8, classes: 8, data: 'shapes', batch: 8, timesteps: 20, seed: 1, samples: 8, sampleSteps: 3,
  });
  return { ...config, baseChannels: 4, ...overrides };
}

function netConfig(overrides: Partial<UnetConfig> = {}): UnetConfig {
  return { imageSize: 8, channels: 1, baseChannels: 4, channelMults: [1, 2], resBlocks: 1, attention: false, classes: 0, ...overrides };
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'wgrad-diffusion-'));
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

/** A net whose zero-initialized convs are random, so ε̂ depends on x, t and the label (not trivially 0). */
function randomizedNet(config: UnetConfig): UNet {
  const net = new UNet(config);
  for (const [name, p] of net.namedParameters()) {
    if (/(conv2|projection|convOut)\.(weight|bias)$/.test(name)) wg.nn.init.normal(p, 0, 0.3);
  }
  return net;
}

describe('U-Net', () => {
  it('maps noisy images, timesteps and labels to an ε̂ of the same shape, with attention, 3 channels and classes', () => {
    for (const config of [netConfig(), netConfig({ channels: 3, channelMults: [1, 2, 2], attention: true, classes: 3, resBlocks: 2 })]) {
      const net = new UNet(config);
      const n = 2;
      wg.scope(() => {
        const x = wg.randn([n, config.channels, 8, 8]);
        const features = timestepInput(net, [0, 7]);
        const labels = config.classes ? wg.tensor([0, config.classes], [n]) : null;
        const eps = net.forward(x, features, labels);
        expect(eps.shape).toEqual([n, config.channels, 8, 8]);
      });
      net.dispose();
    }
  });

  it('names the expected shape when given the wrong one, and checks its config', () => {
    const net = new UNet(netConfig());
    expect(() => wg.scope(() => net.forward(wg.randn([2, 1, 16, 16]), timestepInput(net, [1, 2])))).toThrow(/UNet: expected images \[n, 1, 8, 8\], got \[2, 1, 16, 16\]/);
    expect(() => wg.scope(() => net.forward(wg.randn([2, 1, 8, 8]), wg.zeros([2, 5])))).toThrow(/expected timestep features \[n, 32\], got \[2, 5\]/);
    expect(() => wg.scope(() => net.forward(wg.randn([2, 1, 8, 8]), timestepInput(net, [1, 2]), wg.zeros([2])))).toThrow(/unconditional/);
    expect(() => new UNet(netConfig({ imageSize: 10, channelMults: [1, 2, 2] }))).toThrow(/imageSize must be a positive multiple of 4/);
    net.dispose();
  });

  it("GroupNorm with SiLU in its kernels (the U-Net's) matches the same built from reductions and elementwise ops, forward and gradients", async () => {
    expect([4, 8, 12, 16, 24, 6, 128, 96].map(groupsFor)).toEqual([1, 2, 3, 4, 6, 1, 32, 24]);
    const norm = new wg.nn.GroupNorm(3, 6);
    wg.nn.init.normal(norm.weight!, 1, 0.5);
    wg.nn.init.normal(norm.bias!, 0, 0.5);
    const x = wg.tensor(normalArray(2 * 6 * 5 * 3, 0.5, 2), [2, 6, 5, 3], { requiresGrad: true });
    const upstream = wg.randn([2, 6, 5, 3]);
    const run = async (fn: () => wg.Tensor) => {
      x.grad = null;
      norm.weight!.grad = null;
      norm.bias!.grad = null;
      const y = fn();
      wg.scope(() => y.mul(upstream).sum().backward());
      const out = [await y.toArray(), await x.grad!.toArray(), await norm.weight!.grad!.toArray(), await norm.bias!.grad!.toArray()];
      y.dispose();
      return out;
    };
    const fused = await run(() => norm.forwardWith(x, { op: 'silu', alpha: 0 }));
    const composed = await run(() => {
      const grouped = x.reshape([2, 3, -1]);
      const normalized = grouped.sub(grouped.mean(2, true)).div(grouped.var(2, true, false).add(norm.eps).sqrt()).reshape(x.shape);
      return normalized.mul(norm.weight!.reshape([1, 6, 1, 1])).add(norm.bias!.reshape([1, 6, 1, 1])).silu();
    });
    const names = ['out', 'dx', 'dweight', 'dbias'];
    fused.forEach((values, i) => {
      const error = maxAbsDiff(values, composed[i]);
      console.log(`GroupNorm+SiLU fused vs composed ${names[i]}: max abs error ${error.toExponential(2)}`);
      expect(error).toBeLessThan(1e-4);
    });
    norm.dispose();
    x.dispose();
    upstream.dispose();
  });

  it('sinusoidal features: sin then cos, frequency 1 first', () => {
    const f = timestepFeatures([0, 3], 4);
    expect(Array.from(f.slice(0, 4))).toEqual([0, 0, 1, 1]);
    expect(f[4]).toBeCloseTo(Math.sin(3), 6);
    expect(f[5]).toBeCloseTo(Math.sin(3 / 100), 6);
    expect(f[6]).toBeCloseTo(Math.cos(3), 6);
    expect(timeFeatureSize(netConfig({ baseChannels: 64 }))).toBe(64);
  });
});

describe('noise schedules and q(x_t | x_0)', () => {
  it('linear runs from 1e-4·1000/T to 0.02·1000/T; cosine follows ᾱ(t) = f(t)/f(0) until β hits its clip', () => {
    const linear = betaSchedule('linear', 1000);
    expect(linear[0]).toBeCloseTo(1e-4, 12);
    expect(linear[999]).toBeCloseTo(0.02, 12);
    expect(betaSchedule('linear', 200)[199]).toBeCloseTo(0.1, 12);
    const T = 200;
    const cosine = new NoiseSchedule('cosine', T);
    const f = (t: number) => Math.cos(((t / T + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
    let worst = 0;
    for (let t = 0; t < T - 1; t++) worst = Math.max(worst, Math.abs(cosine.alphaBars[t] - f(t + 1) / f(0)) / (f(t + 1) / f(0)));
    console.log(`cosine ᾱ_t vs f(t+1)/f(0): max rel error ${worst.toExponential(2)} over t < T−1`);
    expect(worst).toBeLessThan(1e-9);
    expect(cosine.betas[T - 1]).toBeLessThanOrEqual(0.999);
    expect(() => betaSchedule('quadratic' as 'linear', 10)).toThrow(/unknown schedule 'quadratic'; valid: linear, cosine/);
  });

  it('DDIM σ with η = 1 on consecutive steps is DDPM\'s posterior variance β̃_t, for every t', () => {
    for (const kind of ['linear', 'cosine'] as const) {
      const s = new NoiseSchedule(kind, 50);
      for (let t = 0; t < 50; t++) {
        const sigma = ddimSigma(s.alphaBar(t), s.alphaBar(t - 1), 1);
        expect(sigma * sigma).toBeCloseTo(s.posterior(t).variance, 12);
      }
    }
    expect(ddimTimesteps(10, 10)).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
    expect(ddimTimesteps(200, 4)).toEqual([150, 100, 50, 0]);
    expect(() => ddimTimesteps(10, 11)).toThrow(/from 1 to T = 10/);
  });

  it('x_t from the closed form matches √ᾱ_t·x_0 + √(1−ᾱ_t)·ε, and T one-step noisings in float64 reach the same mean and variance', async () => {
    const schedule = new NoiseSchedule('linear', 20);
    const n = 4;
    const t = [0, 5, 13, 19];
    const x0 = normalArray(n * 16, 0, 0.7);
    const eps = normalArray(n * 16);
    const xt = wg.scope(() => qSample(schedule, wg.tensor(x0, [n, 1, 4, 4]), t, wg.tensor(eps, [n, 1, 4, 4])));
    const got = await xt.toArray();
    xt.dispose();
    const expected = x0.map((v, i) => {
      const ab = schedule.alphaBar(t[Math.floor(i / 16)]);
      return Math.sqrt(ab) * v + Math.sqrt(1 - ab) * eps[i];
    });
    const error = maxAbsDiff(got, expected);
    console.log(`qSample vs closed form: max abs error ${error.toExponential(2)}`);
    expect(error).toBeLessThan(1e-5);

    // The chain x_s = √α_s x_{s−1} + √β_s z, run 20000 times from x_0 = 0.8 in float64, at t = 4 and 9
    // (where ᾱ_t is far from both 0 and 1, so the check has teeth).
    const samples = 20000;
    const chain = new Float64Array(samples).fill(0.8);
    for (let s = 0; s <= 9; s++) {
      const beta = schedule.betas[s];
      const z = normalArray(samples);
      for (let i = 0; i < samples; i++) chain[i] = Math.sqrt(1 - beta) * chain[i] + Math.sqrt(beta) * z[i];
      if (s !== 4 && s !== 9) continue;
      const mean = chain.reduce((a, b) => a + b, 0) / samples;
      const variance = chain.reduce((a, b) => a + (b - mean) ** 2, 0) / (samples - 1);
      const ab = schedule.alphaBar(s);
      console.log(`chain at t = ${s}: mean ${mean.toFixed(4)} vs ${(Math.sqrt(ab) * 0.8).toFixed(4)}, variance ${variance.toFixed(4)} vs ${(1 - ab).toFixed(4)}`);
      expect(Math.abs(mean - Math.sqrt(ab) * 0.8)).toBeLessThan(0.03); // > 4 standard errors
      expect(Math.abs(variance - (1 - ab))).toBeLessThan(0.03);
    }
  });
});

describe('samplers', () => {
  // The update after the net is one kernel (shaders/denoise.wgsl); the reference here is the sampler's maths in float64.
  it('one DDPM step, one DDIM step (K = T, η = 1) and one DDIM step (η = 0, skipping a timestep) match float64, guided or not', async () => {
    const config = netConfig({ classes: 3 });
    const denoiser: Denoiser = { net: randomizedNet(config), schedule: new NoiseSchedule('cosine', 10) };
    const n = 3;
    const length = n * 64;
    const xtData = normalArray(length, 0, 1.5); // wide enough that some x̂_0 get clipped
    const noiseData = normalArray(length);
    const xt = wg.tensor(xtData, [n, 1, 8, 8]);
    const noise = wg.tensor(noiseData, [n, 1, 8, 8]);
    for (const guidance of [1, 2.5]) {
      const conditioning = makeConditioning(denoiser.net, n, [0, 2, 3], guidance);
      for (const t of [6, 0]) {
        const features = timestepInput(denoiser.net, [t]);
        const epsTensor = predictNoise(denoiser.net, xt, features, conditioning);
        const eps = await epsTensor.toArray();
        epsTensor.dispose();
        const ddpm = ddpmStep(denoiser, xt, t, features, conditioning, noise);
        const ddim = ddimStep(denoiser, xt, t, t - 1, 1, features, conditioning, noise);
        const skip = ddimStep(denoiser, xt, t, Math.max(t - 2, -1), 0, features, conditioning, null);
        const [ddpmPrev, ddpmX0, ddimPrev, skipPrev] = await Promise.all([ddpm.prev, ddpm.x0, ddim.prev, skip.prev].map((s) => s.toArray()));
        for (const s of [ddpm.prev, ddpm.x0, ddim.prev, ddim.x0, skip.prev, skip.x0, features]) s.dispose();

        // float64 reference
        const { schedule } = denoiser;
        const ab = schedule.alphaBar(t);
        const abPrev = schedule.alphaBar(t - 1);
        const abSkip = schedule.alphaBar(Math.max(t - 2, -1));
        const beta = schedule.betas[t];
        const meanX0 = (beta * Math.sqrt(abPrev)) / (1 - ab);
        const meanXt = (Math.sqrt(1 - beta) * (1 - abPrev)) / (1 - ab);
        const variance = (beta * (1 - abPrev)) / (1 - ab);
        let clipped = 0;
        const x0 = new Float64Array(length);
        const prev = new Float64Array(length);
        const skipped = new Float64Array(length);
        for (let i = 0; i < length; i++) {
          const raw = (xtData[i] - Math.sqrt(1 - ab) * eps[i]) / Math.sqrt(ab);
          x0[i] = Math.min(1, Math.max(-1, raw));
          if (x0[i] !== raw) clipped++;
          prev[i] = meanX0 * x0[i] + meanXt * xtData[i] + (t > 0 ? Math.sqrt(variance) * noiseData[i] : 0);
          const epsAgain = (xtData[i] - Math.sqrt(ab) * x0[i]) / Math.sqrt(1 - ab);
          skipped[i] = Math.sqrt(abSkip) * x0[i] + Math.sqrt(1 - abSkip) * epsAgain;
        }
        const errors = { x0: maxAbsDiff(ddpmX0, x0), ddpm: maxAbsDiff(ddpmPrev, prev), ddim: maxAbsDiff(ddimPrev, prev), skip: maxAbsDiff(skipPrev, skipped) };
        console.log(`guidance ${guidance}, t = ${t}: ${clipped}/${length} x̂_0 clipped; max abs error vs float64: x̂_0 ${errors.x0.toExponential(2)}, ` +
          `DDPM step ${errors.ddpm.toExponential(2)}, DDIM(K=T, η=1) step ${errors.ddim.toExponential(2)}, DDIM(η=0, to t−2) ${errors.skip.toExponential(2)}`);
        expect(clipped).toBeGreaterThan(0);
        expect(errors.x0).toBeLessThan(1e-4);
        expect(errors.ddpm).toBeLessThan(1e-4);
        expect(errors.ddim).toBeLessThan(1e-4);
        expect(errors.skip).toBeLessThan(1e-4);
      }
      conditioning.labelEmbedding?.dispose();
    }
    xt.dispose();
    noise.dispose();
    denoiser.net.dispose();
  });

  it('ε̂ depends on the timestep: the embedding survives the GroupNorm after it', async () => {
    const net = randomizedNet(netConfig());
    const x = wg.randn([1, 1, 8, 8]);
    const predict = async (t: number) => {
      const eps = wg.scope(() => net.forward(x, timestepInput(net, [t])));
      const values = await eps.toArray();
      eps.dispose();
      return values;
    };
    const difference = maxAbsDiff(await predict(1), await predict(15));
    console.log(`ε̂ at t = 1 vs t = 15, same x: max abs difference ${difference.toExponential(2)}`);
    expect(difference).toBeGreaterThan(1e-3);
    x.dispose();
    net.dispose();
  });

  it('classifier-free guidance mixes the labelled and the unlabelled ε̂: ε̂_u + w·(ε̂_c − ε̂_u)', async () => {
    const net = randomizedNet(netConfig({ classes: 2 }));
    const x = wg.randn([2, 1, 8, 8]);
    const features = timestepInput(net, [3]);
    const predict = async (labels: number[] | null, guidance: number) => {
      const conditioning = makeConditioning(net, 2, labels, guidance);
      const eps = predictNoise(net, x, features, conditioning);
      const values = await eps.toArray();
      eps.dispose();
      conditioning.labelEmbedding?.dispose();
      return values;
    };
    const conditional = await predict([0, 1], 1);
    const unconditional = await predict(null, 1);
    const guided = await predict([0, 1], 3);
    const expected = unconditional.map((u, i) => u + 3 * (conditional[i] - u));
    const error = maxAbsDiff(guided, expected);
    console.log(`guidance 3: max abs error ${error.toExponential(2)} against the mix of two separate predictions`);
    expect(maxAbsDiff(conditional, unconditional)).toBeGreaterThan(1e-3);
    expect(error).toBeLessThan(1e-4);
    for (const t of [x, features]) t.dispose();
    net.dispose();
  });

  it('DDIM η = 0 is deterministic for a seed, leaves the global stream alone, and allocates nothing that outlives a step', async () => {
    const denoiser: Denoiser = { net: randomizedNet(netConfig({ classes: 2 })), schedule: new NoiseSchedule('cosine', 20) };
    wg.seed(99);
    const before = wg.getRandomState();
    const perStep: { tensors: number; inUse: number; pool: number; bindGroups: number }[] = [];
    const onStep = () => {
      const m = wg.memory();
      perStep.push({ tensors: m.tensors, inUse: m.bytesInUse, pool: m.bytesInUse + m.bytesPooled, bindGroups: m.bindGroups! });
    };
    const tensorsBefore = wg.memory().tensors;
    const a = await sampleDdim(denoiser, { n: 2, steps: 6, eta: 0, seed: 5, labels: [0, 1], onStep });
    expect(wg.memory().tensors).toBe(tensorsBefore);
    expect(wg.getRandomState()).toEqual(before);
    const b = await sampleDdim(denoiser, { n: 2, steps: 6, eta: 0, seed: 5, labels: [0, 1] });
    const c = await sampleDdim(denoiser, { n: 2, steps: 6, eta: 0, seed: 6, labels: [0, 1] });
    expect(Array.from(b.data)).toEqual(Array.from(a.data));
    expect(maxAbsDiff(a.data, c.data)).toBeGreaterThan(0.01);
    expect(a.shape).toEqual([2, 1, 8, 8]);
    for (const v of a.data) expect(Math.abs(v)).toBeLessThanOrEqual(1);
    console.log(`per step (tensors, bytes in use, pool bytes, bind groups created): ${perStep.map((m) => `${m.tensors}/${m.inUse}/${m.pool}/${m.bindGroups}`).join(' ')}`);
    // From step 1 on (step 0 fills the pool) nothing grows: every step runs on recycled buffers.
    const { bindGroups: _, ...memoryOf } = perStep[1];
    for (const { bindGroups: __, ...m } of perStep.slice(1)) expect(m).toEqual(memoryOf);
    expect(perStep[0].tensors).toBe(perStep[1].tensors);
    // x_t alternates between two buffers, so steps 1 and 2 bind a few new pairs; from step 3 on
    // every step replays bind groups made before it and creates none.
    for (const m of perStep.slice(3)) expect(m.bindGroups).toBe(perStep[2].bindGroups);
    denoiser.net.dispose();
  });

  it('a noisy sampler refills one noise buffer: no GPU buffer is created after the first steps', async () => {
    const denoiser: Denoiser = { net: randomizedNet(netConfig()), schedule: new NoiseSchedule('linear', 12) };
    const created: number[] = [];
    const onStep = () => {
      created.push(wg.memory().buffersCreated ?? 0);
    };
    const a = await sampleDdim(denoiser, { n: 2, steps: 12, eta: 1, seed: 3, onStep });
    const b = await sampleDdim(denoiser, { n: 2, steps: 12, eta: 1, seed: 3 });
    console.log(`GPU buffers created, after each step: ${created.join(' ')}`);
    expect(Array.from(b.data)).toEqual(Array.from(a.data)); // the refilled noise is the seeded noise
    if (wg.backendName() === 'webgpu') {
      expect(created.at(-1)).toBeGreaterThan(0);
      // step 0 fills the pool and step 1 waits on a readback (the timing starts there); then nothing new
      for (const n of created.slice(2)) expect(n).toBe(created[2]);
    }
    denoiser.net.dispose();
  });

  it('DDPM equals DDIM with K = T and η = 1 over a whole run, with a flat tensor count', async () => {
    const denoiser: Denoiser = { net: randomizedNet(netConfig()), schedule: new NoiseSchedule('linear', 8) };
    const counts: number[] = [];
    const ddpm = await sampleDdpm(denoiser, { n: 2, seed: 3, onStep: () => void counts.push(wg.memory().tensors) });
    const ddim = await sampleDdim(denoiser, { n: 2, steps: 8, eta: 1, seed: 3 });
    const error = maxAbsDiff(ddpm.data, ddim.data);
    console.log(`DDPM vs DDIM(K=T, η=1) after 8 steps: max abs difference ${error.toExponential(2)}; ${ddpm.msPerStep.toFixed(0)} ms per DDPM step`);
    expect(error).toBeLessThan(1e-4);
    expect(new Set(counts).size).toBe(1);
    denoiser.net.dispose();
  });
});

describe('training', () => {
  it('the loss falls over a short run, with a flat tensor count; the run folder\'s files decode', async () => {
    const trainer = new DiffusionTrainer(microConfig({ batch: 16, lr: 3e-3 }));
    // The loss on one fixed batch (fixed t and ε) before and after: far less noisy than the steps' own losses.
    const fixed = new Loader(shapes, { batchSize: 32, seed: 99 }).batch(0);
    const t = Array.from({ length: 32 }, (_, i) => i % 20);
    const x0 = wg.tensor(fixed.images, [32, 1, 8, 8]);
    const labels = wg.tensor(fixed.labels, [32]);
    const noiseData = normalArray(32 * 64);
    const noise = wg.tensor(noiseData, [32, 1, 8, 8]);
    const fixedLoss = async () => {
      const loss = wg.noGrad(() => wg.scope(() => diffusionLoss(trainer.model, trainer.schedule, x0, t, noise, labels)));
      const value = await loss.item();
      loss.dispose();
      return value;
    };
    const before = await fixedLoss();
    const loader = new Loader(shapes, { batchSize: 16, seed: 1 });
    const out = tempDir();
    const seen: StepMetrics[] = [];
    const result = await runTraining(diffusionTrainable(trainer, loader), {
      out, steps: 12, sampleEvery: 6, checkpointEvery: 6, onStep: (m) => seen.push(m),
    });
    expect(result.steps).toBe(12);
    const after = await fixedLoss();
    console.log(`loss on a fixed batch: ${before.toFixed(3)} before, ${after.toFixed(3)} after 12 steps; ` +
      `the steps': ${seen.map((m) => m.loss.toFixed(2)).join(' ')}; ms per step: ${seen.map((m) => m.ms.toFixed(0)).join(' ')}`);
    // The output conv starts at zero, so ε̂ = 0 and the first loss is the mean of ε² (about 1).
    expect(before).toBeCloseTo(noiseData.reduce((a, v) => a + v * v, 0) / noiseData.length, 5);
    expect(after).toBeLessThan(0.9 * before);
    expect(new Set(seen.slice(1).map((m) => m.tensors)).size).toBe(1);
    for (const x of [x0, labels, noise]) x.dispose();

    expect(readdirSync(result.files.samples).sort()).toEqual(['step-000000.png', 'step-000006.png', 'step-000012.png']);
    const grid = decodePng(readFileSync(join(result.files.samples, 'step-000012.png')));
    expect(grid.width).toBeGreaterThan(2 * 8);
    expect(new GifReader(readFileSync(result.files.evolution)).numFrames()).toBe(3);
    expect(readFileSync(result.files.lossPlot, 'utf8')).toMatch(/^<svg[\s\S]*loss/);
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect([config.baseChannels, config.schedule, config.classes]).toEqual([4, 'cosine', 8]);

    // The checkpoint holds the model, its EMA and the optimizer; the EMA is not the model.
    const bytes = readFileSync(result.files.checkpoint);
    const loaded = loadDenoiser(bytes, 'checkpoint.safetensors');
    expect(loaded.step).toBe(12);
    const [ema, live] = await Promise.all([loaded.net.convOut.weight.toArray(), trainer.model.convOut.weight.toArray()]);
    expect(Array.from(ema)).toEqual(Array.from(await trainer.ema.convOut.weight.toArray()));
    expect(maxAbsDiff(ema, live)).toBeGreaterThan(0);
    loaded.dispose();
    trainer.dispose();
  });

  it('resume continues exactly: 1 + 2 steps give the numbers and EMA of 3 uninterrupted steps', async () => {
    const run = async (trainer: DiffusionTrainer, steps: number) => {
      const trainable = diffusionTrainable(trainer, new Loader(shapes, { batchSize: 8, seed: 1 }));
      const losses: number[] = [];
      while (trainer.step < steps) losses.push((await trainable.trainStep()).loss);
      return losses;
    };
    const straight = new DiffusionTrainer(microConfig({ seed: 5 }));
    const expected = await run(straight, 3);
    const expectedEma = await straight.ema.convIn.weight.toArray();
    straight.dispose();

    const first = new DiffusionTrainer(microConfig({ seed: 5 }));
    const firstHalf = await run(first, 1);
    const bytes = await first.checkpoint();
    first.dispose();
    wg.seed(12345); // whatever happens to the stream in between must not matter
    const resumed = DiffusionTrainer.fromCheckpoint(bytes, 'half.safetensors');
    const secondHalf = await run(resumed, 3);
    console.log(`resume: ${[...firstHalf, ...secondHalf].join(" ")} vs ${expected.join(" ")}`);
    expect([...firstHalf, ...secondHalf]).toEqual(expected);
    expect(Array.from(await resumed.ema.convIn.weight.toArray())).toEqual(Array.from(expectedEma));
    resumed.dispose();

    expect(emaDecayAt(0.999, 1)).toBeCloseTo(2 / 11, 12);
    expect(emaDecayAt(0.99, 100000)).toBe(0.99);
    expect(classRows(3, 6)).toEqual([0, 0, 1, 1, 2, 2]);
    expect(classRows(0, 6)).toBeNull();
  });

  it('refuses a foreign checkpoint, and stops on a NaN loss naming the step', async () => {
    const foreign = await wg.io.saveSafetensors({ w: wg.zeros([2]) }, { 'wgrad.model': 'dcgan', 'wgrad.config': '{}' });
    expect(() => DiffusionTrainer.fromCheckpoint(foreign, 'gan.safetensors')).toThrow(/gan\.safetensors: this is a 'dcgan' checkpoint, expected 'diffusion'/);
    expect(() => loadDenoiser(foreign, 'gan.safetensors')).toThrow(/expected 'diffusion'/);

    const trainer = new DiffusionTrainer(microConfig({ lr: 1e30 }));
    const out = tempDir();
    const error = await runTraining(diffusionTrainable(trainer, new Loader(shapes, { batchSize: 8, seed: 1 })), {
      out, steps: 10, sampleEvery: 100, checkpointEvery: 1,
    }).catch((e) => e);
    expect(error).toBeInstanceOf(Error);
    expect(String(error.message)).toMatch(/diffusion: training stopped at step \d+: loss = (NaN|Infinity)/);
    trainer.dispose();
  });
});

describe('wgrad train / sample diffusion', () => {
  const root = new URL('..', import.meta.url).pathname;
  const wgrad = (args: string[]) => {
    const r = spawnSync(process.execPath, ['bin/wgrad.js', ...args], { cwd: root, encoding: 'utf8', timeout: 280_000 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const out = mkdtempSync(join(tmpdir(), 'wgrad-diffusion-cli-'));
  const run = join(out, 'run');
  const ckpt = join(run, 'checkpoint.safetensors');

  beforeAll(() => {
    if (!existsSync(`${root}dist/cli.js`)) execSync('npm run build', { cwd: root, stdio: 'ignore' });
  });

  it('trains a few steps on mnist and writes the run folder; --resume refuses a config flag that differs', () => {
    const r = wgrad(['train', 'diffusion', '--size', '12', '--batch', '4', '--timesteps', '6', '--steps', '2', '--sample-every', '2', '--out', run, '--seed', '3']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/diffusion 'tiny' \(cosine schedule, T 6, 10 classes, 10% unlabelled, EMA 0.99\) on mnist/);
    expect(r.stdout).toMatch(/done: 2 steps, loss \d/);
    for (const f of ['metrics.jsonl', 'evolution.gif', 'loss.svg', 'checkpoint.safetensors', 'config.json', 'samples/step-000002.png']) {
      expect(existsSync(join(run, f))).toBe(true);
    }
    const refused = wgrad(['train', 'diffusion', '--resume', ckpt, '--schedule', 'linear', '--steps', '5']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/--schedule linear differs from the checkpoint's cosine \(/);
  });

  it('samples a grid (a row per class), a strip and a GIF with DDIM, and DDPM', () => {
    const png = join(out, 'grid.png');
    const strip = join(out, 'strip.png');
    const gif = join(out, 'denoise.gif');
    let r = wgrad(['sample', 'diffusion', '--ckpt', ckpt, '--steps', '5', '--n', '4', '--out', png, '--strip', strip, '--gif', gif]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/wrote .*grid\.png: 10 samples \(a row per class\)/);
    expect(r.stdout).toMatch(/ms per step/);
    const grid = decodePng(readFileSync(png));
    expect(grid.height).toBeGreaterThan(grid.width); // 10 rows of 1
    const stripPicture = decodePng(readFileSync(strip));
    expect(stripPicture.width).toBeGreaterThan(2 * stripPicture.height); // 6 frames (5 steps + the image) by 2 rows
    expect(new GifReader(readFileSync(gif)).numFrames()).toBe(6);
    r = wgrad(['sample', 'diffusion', '--ckpt', ckpt, '--sampler', 'ddpm', '--n', '2', '--class', 'none', '--out', png]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/2 samples \(unconditional\).*DDPM 6 steps/);
    r = wgrad(['sample', 'diffusion', '--ckpt', ckpt, '--class', '12', '--out', png]);
    expect(r.stderr).toMatch(/--class must be rows, none or a class from 0 to 9, got '12'/);
  });

  it('wgrad eval scores diffusion samples with a classifier of the same image size', () => {
    const classifier = join(out, 'classifier');
    let r = wgrad(['train', 'classifier', '--data', 'mnist', '--size', '12', '--steps', '2', '--batch', '8', '--test-limit', '20', '--out', classifier, '--quiet']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    r = wgrad(['eval', '--ckpt', ckpt, '--classifier', join(classifier, 'classifier.safetensors'), '--n', '10', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const score = JSON.parse(r.stdout.trim().split('\n').pop()!);
    console.log(`eval on diffusion samples: ${JSON.stringify(score)}`);
    expect(score.model).toBe('diffusion');
    expect(Number.isFinite(score.frechet)).toBe(true);
    expect(score.marginalEntropy).toBeGreaterThanOrEqual(0);
  });
});
