// The `wgrad` command as a user runs it: bin/wgrad.js over the built
// dist/cli.js, in a child process, with Dawn's stderr noise filtered.
import { describe, it, expect, beforeAll } from 'vitest';
import { spawnSync, execSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GifReader } from 'omggif';
import { decodePng } from '../src/io/picture';

const root = new URL('..', import.meta.url).pathname;

function wgrad(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, ['bin/wgrad.js', ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 300_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  if (!existsSync(`${root}dist/cli.js`)) execSync('npm run build', { cwd: root, stdio: 'ignore' });
});

describe('wgrad info', () => {
  it('prints the adapter and a matmul checked against the CPU reference', () => {
    const r = wgrad(['info', '--size', '64']);
    console.log(r.stdout);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/WebGPU backend/);
    expect(r.stdout).toMatch(/^adapter\s+\S+/m);
    expect(r.stdout).toMatch(/maxStorageBufferBindingSize/);
    expect(r.stdout).toMatch(/64×64 @ 64×64: max \|webgpu - cpu reference\| = \S+ .* ok/);
    expect(r.stdout).toMatch(/GFLOP\/s/);
    // SwiftShader has both features, and its subgroups pass the layout check
    expect(r.stdout).toMatch(/^features\s+timestamp-query, subgroups \(subgroup kernels in use\)$/m);
    expect(r.stdout).toMatch(/^tuning\s+cached: /m);
    expect(r.stderr).not.toMatch(/XDG_RUNTIME_DIR/);
  });

  it('rejects a bad size and an unknown command', () => {
    expect(wgrad(['info', '--size', 'abc']).stderr).toMatch(/--size must be a positive integer, got 'abc'/);
    const r = wgrad(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown command 'frobnicate'/);
  });
});

describe.runIf(process.platform === 'linux')('without a usable GPU driver', () => {
  const noDriver = { VK_ICD_FILENAMES: '/nonexistent/icd.json' };

  it("'auto' falls back to the CPU backend and says so once", () => {
    const r = wgrad(['info', '--size', '16'], noDriver);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/CPU reference backend/);
    expect(r.stderr.match(/falling back to the CPU backend/g)?.length).toBe(1);
  });

  it("'webgpu' fails with what is missing and how to get it", () => {
    const r = wgrad(['info', '--size', '16', '--backend', 'webgpu'], noDriver);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/WebGPU unavailable/);
    expect(r.stderr).toMatch(/VK_ICD_FILENAMES=\/nonexistent\/icd.json/);
  });
});

describe('wgrad train / sample dcgan', () => {
  const out = mkdtempSync(join(tmpdir(), 'wgrad-cli-'));
  const run = join(out, 'run');

  it('trains a few steps, writes the run folder, and says where it is', () => {
    const r = wgrad(['train', 'dcgan', '--config', 'tiny', '--steps', '2', '--batch', '4', '--sample-every', '1', '--out', run, '--seed', '3']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/DCGAN 'tiny' \(nz 16, ngf 16, ndf 8; recipe ema-hinge-b0\) on shapes \(60000 images, 32×32×1\), batch 4/);
    expect(r.stdout).toMatch(/done: 2 steps, lossD \d/);
    for (const f of ['metrics.jsonl', 'evolution.gif', 'loss.svg', 'checkpoint.safetensors', 'config.json', 'samples/step-000002.png']) {
      expect(existsSync(join(run, f))).toBe(true);
    }
  });

  it('--resume goes on from the checkpoint with --json lines, and refuses a config flag that differs', () => {
    const r = wgrad(['train', 'dcgan', '--resume', join(run, 'checkpoint.safetensors'), '--steps', '3', '--out', run, '--json']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((m) => m.step)).toEqual([3]);
    const metrics = readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(metrics.map((m) => m.step)).toEqual([1, 2, 3]);
    const refused = wgrad(['train', 'dcgan', '--resume', join(run, 'checkpoint.safetensors'), '--batch', '8', '--steps', '5']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/--batch 8 differs from the checkpoint's 4 \(.*checkpoint\.safetensors\)/);
  });

  it('samples a grid and a latent walk GIF from the checkpoint', () => {
    const png = join(out, 'grid.png');
    const gif = join(out, 'walk.gif');
    expect(wgrad(['sample', 'dcgan', '--ckpt', join(run, 'checkpoint.safetensors'), '--n', '4', '--out', png]).code).toBe(0);
    const grid = decodePng(readFileSync(png));
    expect(grid.width).toBeGreaterThan(2 * 32);
    const r = wgrad(['sample', 'dcgan', '--ckpt', join(run, 'checkpoint.safetensors'), '--n', '4', '--interpolate', '3', '--out', gif]);
    expect(r.code).toBe(0);
    expect(new GifReader(readFileSync(gif)).numFrames()).toBe(4); // 3 frames there, 1 back
  });

  it('trains a classifier and scores the DCGAN checkpoint with it', () => {
    const clf = join(out, 'clf');
    let r = wgrad(['train', 'classifier', '--data', 'shapes', '--steps', '2', '--batch', '8', '--width', '2', '--test-limit', '32', '--out', clf, '--quiet']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/test accuracy \d+\.\d% on 32 held-out shapes images/);
    r = wgrad(['eval', '--ckpt', join(run, 'checkpoint.safetensors'), '--classifier', join(clf, 'classifier.safetensors'), '--n', '16', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const score = JSON.parse(r.stdout);
    expect(score.model).toBe('dcgan');
    expect(score.frechet).toBeGreaterThanOrEqual(0);
    expect(score.realVsReal).toBeGreaterThanOrEqual(0);
    expect(score.marginalEntropy).toBeLessThanOrEqual(score.maxEntropy + 1e-9);
    expect(score.classHistogram.reduce((a: number, b: number) => a + b, 0)).toBe(16);
    r = wgrad(['eval', '--ckpt', join(clf, 'classifier.safetensors'), '--classifier', join(clf, 'classifier.safetensors')]);
    expect(r.stderr).toMatch(/not a wgrad checkpoint|'classifier' checkpoint; eval scores dcgan/);
  });

  it('names what is valid when a flag, model, dataset or config is wrong', () => {
    let r = wgrad(['train', 'dcgan', '--stepz', '3']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/wgrad train dcgan: Unknown option '--stepz'; valid flags: --data --config --steps/);
    r = wgrad(['train', 'gan']);
    expect(r.stderr).toMatch(/wgrad train: unknown model 'gan'; valid: dcgan/);
    r = wgrad(['train', 'dcgan', '--data', 'cifar', '--out', join(out, 'x')]);
    expect(r.stderr).toMatch(/unknown dataset 'cifar'; valid: shapes, mnist, images:DIR/);
    r = wgrad(['train', 'dcgan', '--config', 'huge', '--out', join(out, 'x')]);
    expect(r.stderr).toMatch(/unknown --config 'huge'; valid: tiny, small, base/);
    r = wgrad(['sample', 'dcgan', '--ckpt', join(out, 'missing.safetensors')]);
    expect(r.stderr).toMatch(/no checkpoint at .*missing\.safetensors/);
    r = wgrad(['--help']);
    expect(r.stdout).toMatch(/train dcgan/);
    expect(r.stdout).toMatch(/--interpolate/);
    r = wgrad(['train', 'vae', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: wgrad train vae \[options\]/);
    expect(r.stdout).toMatch(/--latent/);
    expect(r.stdout).not.toMatch(/train dcgan/);
    r = wgrad(['sample', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: wgrad sample <model> \[options\]/);
    expect(r.stdout).toMatch(/sample dcgan[\s\S]*sample diffusion[\s\S]*--sampler/);
  });
});
