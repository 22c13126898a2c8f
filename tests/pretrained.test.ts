// The checkpoints shipped in pretrained/: each is small, loads, and scores
// as pretrained/manifest.json records (within 10%: the score is recomputed
// here with the recorded n and seed, through `wgrad eval` as a user runs
// it); `wgrad sample --pretrained` draws at once; fine-tuning from the
// shapes GAN runs on a folder of images.
import { describe, it, expect, beforeAll } from 'vitest';
import { spawnSync, execSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encode as encodePngFile } from 'fast-png';
import * as wg from '../src/node/index';
import { openDataset } from '../src/data/dataset';
import { accuracy, classifierFileInfo, loadClassifier } from '../src/train/classifier';
import { checkpointInfo } from '../src/train/checkpoint';
import { decodePng } from '../src/io/picture';

const root = new URL('..', import.meta.url).pathname;
const folder = join(root, 'pretrained');

interface Entry {
  file: string;
  command: string;
  /** generators: the recorded score */
  eval?: { n: number; seed: number; backend?: string; guidance?: number; frechet: number; classEntropy: number };
  /** classifiers: the recorded held-out accuracy */
  testAccuracy?: number;
}

const manifest = JSON.parse(readFileSync(join(folder, 'manifest.json'), 'utf8')) as Record<string, Entry>;

function wgrad(args: string[]) {
  const r = spawnSync(process.execPath, ['bin/wgrad.js', ...args], { cwd: root, encoding: 'utf8', timeout: 600_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(async () => {
  if (!existsSync(`${root}dist/cli.js`)) execSync('npm run build', { cwd: root, stdio: 'ignore' });
  await wg.init({ backend: 'webgpu', seed: 0 });
});

describe('pretrained/', () => {
  it('holds the six models the issue lists, each ≤ 2 MB with the command that made it', () => {
    expect(Object.keys(manifest).sort()).toEqual([
      'classifier-mnist', 'classifier-shapes', 'dcgan-mnist', 'dcgan-shapes', 'diffusion-mnist', 'vae-mnist',
    ]);
    for (const [name, entry] of Object.entries(manifest)) {
      expect(entry.file).toBe(`${name}.safetensors`);
      expect(statSync(join(folder, entry.file)).size).toBeLessThanOrEqual(2 * 2 ** 20);
      expect(entry.command).toMatch(/^wgrad train /);
    }
  });

  for (const [name, entry] of Object.entries(manifest).filter(([, e]) => e.eval)) {
    it(`${name} scores as recorded (Fréchet distance within 10%, wgrad eval --n ${entry.eval!.n})`, () => {
      // scored on the backend the manifest names (the CPU reference for the generators: 3–5× faster than SwiftShader
      // for these small nets, and the same figures to the recorded digits)
      const backend = entry.eval!.backend ? ['--backend', entry.eval!.backend] : [];
      const guidance = entry.eval!.guidance === undefined ? [] : ['--guidance', String(entry.eval!.guidance)];
      const r = wgrad(['eval', '--ckpt', join(folder, entry.file), '--n', String(entry.eval!.n), '--seed', String(entry.eval!.seed), ...backend, ...guidance, '--json']);
      expect(r.stderr).toBe('');
      const score = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
      console.log(`${name}: Fréchet ${score.frechet.toFixed(2)} (recorded ${entry.eval!.frechet}), class entropy ${score.marginalEntropy.toFixed(3)} (recorded ${entry.eval!.classEntropy})`);
      expect(Math.abs(score.frechet - entry.eval!.frechet)).toBeLessThanOrEqual(0.1 * entry.eval!.frechet);
      expect(Math.abs(score.marginalEntropy - entry.eval!.classEntropy)).toBeLessThanOrEqual(0.1 * entry.eval!.classEntropy);
    });
  }

  for (const [name, entry] of Object.entries(manifest).filter(([, e]) => e.testAccuracy !== undefined)) {
    it(`${name} classifies held-out images as recorded (within 10%)`, async () => {
      const bytes = readFileSync(join(folder, entry.file));
      const info = classifierFileInfo(bytes, entry.file);
      const model = loadClassifier(bytes, entry.file);
      const test = await openDataset(info.data, { size: info.config.size, channels: info.config.channels, split: 'test' });
      const got = await accuracy(model, test, 500);
      model.dispose();
      console.log(`${name}: accuracy ${(100 * got).toFixed(1)}% on 500 held-out images (recorded ${(100 * entry.testAccuracy!).toFixed(1)}%)`);
      expect(Math.abs(got - entry.testAccuracy!)).toBeLessThanOrEqual(0.1 * entry.testAccuracy!);
    });
  }
});

describe('using the pretrained models', () => {
  it('wgrad sample --pretrained draws at once (DCGAN, VAE, diffusion), and names the shipped ones for a wrong name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wgrad-pretrained-'));
    for (const [model, name, extra] of [['dcgan', 'shapes', []], ['dcgan', 'mnist', []], ['vae', 'mnist', []], ['diffusion', 'mnist', ['--steps', '5', '--n', '10']]] as const) {
      const out = join(dir, `${model}-${name}.png`);
      const r = wgrad(['sample', model, '--pretrained', name, '--out', out, ...extra]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(decodePng(readFileSync(out)).width).toBeGreaterThan(32);
    }
    expect(wgrad(['sample', 'dcgan', '--pretrained', 'cats']).stderr).toMatch(/no pretrained dcgan 'cats'; shipped: shapes, mnist/);
  });

  it('wgrad eval --guidance scores the class-conditional diffusion model guided as asked, and is refused for any other model, naming the flag', () => {
    const diffusion = join(folder, 'diffusion-mnist.safetensors');
    const score = (guidance: string) => {
      const r = wgrad(['eval', '--ckpt', diffusion, '--n', '4', '--guidance', guidance, '--backend', 'cpu', '--json']);
      expect(r.stderr).toBe('');
      return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { guidance: number; frechet: number };
    };
    const [plain, guided] = [score('1'), score('3')];
    expect([plain.guidance, guided.guidance]).toEqual([1, 3]);
    expect(guided.frechet).not.toBeCloseTo(plain.frechet, 3); // other samples, so another distance
    expect(wgrad(['eval', '--ckpt', join(folder, 'dcgan-shapes.safetensors'), '--guidance', '2']).stderr)
      .toMatch(/--guidance applies to class-conditional diffusion checkpoints; .*dcgan-shapes\.safetensors is a 'dcgan' checkpoint/);
    expect(wgrad(['eval', '--ckpt', diffusion, '--guidance', '-1']).stderr).toMatch(/--guidance must be a number ≥ 0, got '-1'/);
  });

  it('fine-tunes the shapes GAN on a folder of images (wgrad train dcgan --init pretrained:shapes)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wgrad-finetune-'));
    const photos = join(dir, 'photos');
    mkdirSync(photos);
    for (let k = 0; k < 6; k++) {
      const size = 40;
      const data = new Uint8Array(size * size * 3);
      for (let i = 0; i < size * size; i++) {
        const [x, y] = [i % size, Math.floor(i / size)];
        const inside = (x - 20) ** 2 + (y - 20) ** 2 < (6 + k) ** 2;
        data.set(inside ? [250, 200 - 20 * k, 40] : [10, 20, 60], i * 3);
      }
      writeFileSync(join(photos, `p${k}.png`), encodePngFile({ width: size, height: size, data, channels: 3 }));
    }
    const out = join(dir, 'run');
    const r = wgrad(['train', 'dcgan', '--data', `images:${photos}`, '--init', 'pretrained:shapes', '--batch', '4', '--steps', '3', '--out', out, '--quiet']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const path = join(out, 'checkpoint.safetensors');
    const info = checkpointInfo(readFileSync(path), path) as { step: number; config: { data: string; channels: number } };
    expect(info.step).toBe(3);
    expect(info.config.data).toBe(`images:${photos}`);
    expect(info.config.channels).toBe(1); // the pretrained nets' channels: the photos are read in gray
    expect(wgrad(['train', 'dcgan', '--init', 'pretrained:shapes', '--recipe', 'paper', '--steps', '1', '--out', join(dir, 'x')]).stderr)
      .toMatch(/--recipe comes from --init's checkpoint/);
    expect(wgrad(['train', 'dcgan', '--init', 'pretrained:shapes', '--ngf', '32', '--steps', '1', '--out', join(dir, 'x')]).stderr)
      .toMatch(/--ngf comes from --init's checkpoint/);
  });
});
