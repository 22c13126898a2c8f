// `wgrad train` as people drive it: stopped with a signal (or its parent
// killed), re-run with --resume appended, pointed at a folder that holds a
// run already; sampling from weights that hold NaN.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn, spawnSync, execSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import * as wg from '../src/node/index';
import { checkpointInfo } from '../src/train/checkpoint';
import { DcganTrainer, dcganTrainConfig } from '../src/train/dcgan';
import { encodePng } from '../src/io/picture';

const root = new URL('..', import.meta.url).pathname;
// the smallest DCGAN run the CLI makes: a few hundred ms a step on SwiftShader
const TINY = ['train', 'dcgan', '--config', 'tiny', '--batch', '2', '--quiet'];
/** For the tests of what the command does with its folders, files and flags: the CPU reference starts and steps faster than SwiftShader. */
const TINY_CPU = [...TINY, '--backend', 'cpu'];

function wgrad(args: string[]) {
  const r = spawnSync(process.execPath, ['bin/wgrad.js', ...args], { cwd: root, encoding: 'utf8', timeout: 300_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function metricSteps(out: string): number[] {
  const path = join(out, 'metrics.jsonl');
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l).step as number);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitForSteps(out: string, count: number): Promise<void> {
  for (let waited = 0; metricSteps(out).length < count; waited += 200) {
    if (waited > 240_000) throw new Error(`no ${count} steps in ${out} after 4 minutes`);
    await sleep(200);
  }
}

function savedStep(out: string): number {
  const path = join(out, 'checkpoint.safetensors');
  return checkpointInfo(readFileSync(path), path).step;
}

beforeAll(() => {
  if (!existsSync(`${root}dist/cli.js`)) execSync('npm run build', { cwd: root, stdio: 'ignore' });
});

describe('stopping wgrad train', () => {
  // the CPU backend too: its steps never wait on I/O, so the loop must yield for a signal to arrive
  for (const [signal, code, backend] of [['SIGTERM', 143, 'webgpu'], ['SIGINT', 130, 'webgpu'], ['SIGTERM', 143, 'cpu']] as const) {
    it(`${signal} stops the training (${backend} backend) after the step under way, with a checkpoint of it, and exits ${code}`, async () => {
      const out = mkdtempSync(join(tmpdir(), 'wgrad-signal-'));
      const args = [...TINY, '--backend', backend, '--steps', '1000', '--checkpoint-every', '1000', '--sample-every', '1000', '--out', out];
      const child = spawn(process.execPath, ['bin/wgrad.js', ...args], { cwd: root, stdio: 'ignore' });
      const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
      await waitForSteps(out, 2);
      child.kill(signal);
      expect(await exited).toBe(code);
      const steps = metricSteps(out);
      expect(savedStep(out)).toBe(steps.at(-1));
      await sleep(3000);
      expect(metricSteps(out)).toEqual(steps); // nothing trains on
    });
  }

  it('a parent killed outright (SIGKILL) takes the training child with it, which keeps a checkpoint', async () => {
    const out = mkdtempSync(join(tmpdir(), 'wgrad-kill-'));
    const parent = spawn(process.execPath, ['bin/wgrad.js', ...TINY_CPU, '--steps', '1000', '--checkpoint-every', '1000', '--sample-every', '1000', '--out', out], { cwd: root, stdio: 'ignore' });
    await waitForSteps(out, 2);
    parent.kill('SIGKILL');
    await sleep(5000);
    const steps = metricSteps(out);
    await sleep(3000);
    expect(metricSteps(out)).toEqual(steps);
    expect(savedStep(out)).toBe(steps.at(-1));
  });
});

describe('re-running a training command', () => {
  it('--resume appended to the run\'s own command goes on; a flag that differs is refused, naming both values', () => {
    const out = mkdtempSync(join(tmpdir(), 'wgrad-resume-'));
    const command = [...TINY_CPU, '--lr', '0.001', '--out', out, '--sample-every', '10'];
    expect(wgrad([...command, '--steps', '2']).code).toBe(0);
    const resume = ['--resume', join(out, 'checkpoint.safetensors')];
    const again = wgrad([...command, '--steps', '3', ...resume]);
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    expect(savedStep(out)).toBe(3);
    expect(metricSteps(out)).toEqual([1, 2, 3]);

    const differs = wgrad([...command, '--steps', '4', '--batch', '4', ...resume]);
    expect(differs.code).toBe(1);
    expect(differs.stderr).toMatch(/--batch 4 differs from the checkpoint's 2 \(.*checkpoint\.safetensors\)/);
    expect(wgrad([...command, '--steps', '4', '--recipe', 'hinge', ...resume]).stderr).toMatch(/--recipe hinge differs from the checkpoint's ema-hinge-b0/);
    expect(wgrad([...command, '--steps', '4', '--betas', '0.9,0.999', ...resume]).stderr).toMatch(/--betas 0\.9,0\.999 differs from the checkpoint's 0,0\.999/);
    expect(wgrad([...command, '--steps', '4', '--ndf', '16', ...resume]).stderr).toMatch(/--ndf 16 differs from the checkpoint's 8/);
    expect(wgrad([...command, '--steps', '4', '--ndf', '8', '--ngf', '16', '--nz', '16', ...resume]).code).toBe(0); // the checkpoint's own widths, given
    expect(savedStep(out)).toBe(4);
    expect(wgrad([...command, '--steps', '4', ...resume]).stderr).toMatch(/at step 4; --steps 4 leaves nothing to do/);
    expect(savedStep(out)).toBe(4);
  });

  it('a new run into a folder that holds one is refused (nothing changes), goes to a fresh folder with --new-folder, replaces it with --overwrite', () => {
    const out = mkdtempSync(join(tmpdir(), 'wgrad-folder-'));
    expect(wgrad([...TINY_CPU, '--steps', '2', '--out', out]).code).toBe(0);
    const before = readFileSync(join(out, 'checkpoint.safetensors'));
    const refused = wgrad([...TINY_CPU, '--steps', '1', '--out', out]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`${out} already holds a run`);
    expect(readFileSync(join(out, 'checkpoint.safetensors')).equals(before)).toBe(true);

    const fresh = spawnSync(process.execPath, ['bin/wgrad.js', ...TINY_CPU.filter((a) => a !== '--quiet'), '--json', '--steps', '1', '--out', out, '--new-folder'], { cwd: root, encoding: 'utf8' });
    expect(fresh.status).toBe(0);
    expect(savedStep(`${out}-2`)).toBe(1);
    expect(readFileSync(join(out, 'checkpoint.safetensors')).equals(before)).toBe(true);

    expect(wgrad([...TINY_CPU, '--steps', '1', '--out', out, '--overwrite']).code).toBe(0);
    expect(savedStep(out)).toBe(1);
    expect(metricSteps(out)).toEqual([1]);
  });
});

describe('sampling from a broken run', () => {
  it('weights holding NaN or Inf are refused, naming the file and the tensors, and no picture is written', async () => {
    await wg.init({ backend: 'webgpu', seed: 0 });
    const trainer = new DcganTrainer({ ...dcganTrainConfig('tiny', { channels: 1, data: 'shapes', samples: 4, recipe: 'paper' }), latent: 8, generatorWidth: 4, discriminatorWidth: 4 });
    const weight = trainer.generator.stateDict()['net.0.weight'];
    const values = await weight.toArray();
    values[3] = NaN;
    values[5] = Infinity;
    weight.assign(wg.tensor(values, weight.shape));
    const dir = mkdtempSync(join(tmpdir(), 'wgrad-nan-'));
    const path = join(dir, 'nan.safetensors');
    writeFileSync(path, await trainer.checkpoint());
    trainer.dispose();
    const out = join(dir, 'grid.png');
    const r = wgrad(['sample', 'dcgan', '--ckpt', path, '--n', '4', '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${path}: weights hold NaN or Inf: net.0.weight (2 of ${values.length})`);
    expect(existsSync(out)).toBe(false);
  });
});

describe('sizes that cannot fit are refused before the run, in one line', () => {
  it('train dcgan --batch over what one buffer holds names the flag and the largest batch that fits', () => {
    const out = mkdtempSync(join(tmpdir(), 'wgrad-batch-'));
    const r = wgrad(['train', 'dcgan', '--config', 'tiny', '--batch', '1000000', '--steps', '1', '--quiet', '--out', out, '--overwrite']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/wgrad train dcgan: --batch 1000000 does not fit: its largest tensor \(\[2, 16, 16, 16\] at 2\) would hold 4096000000 numbers \(15\.3 GiB\), more than one storage can hold \([\d.]+ [GM]iB, this adapter's \w+\); the largest --batch that fits is \d+/);
    expect(r.stderr.trim().split('\n').length).toBe(1);
    expect(existsSync(join(out, 'checkpoint.safetensors'))).toBe(false);
  });

  it('sample diffusion --n over what one pass holds names the flag and the largest --n', () => {
    const r = wgrad(['sample', 'diffusion', '--pretrained', 'mnist', '--backend', 'cpu', '--n', '100000000', '--out', join(tmpdir(), 'never.png')]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/wgrad sample diffusion: --n 100000000 does not fit: .*the largest --n that fits is \d+/);
  });
});

describe('file errors name the path and what to do', () => {
  it('sample --ckpt given a folder says so, naming it', () => {
    const folder = mkdtempSync(join(tmpdir(), 'wgrad-folder-'));
    const r = wgrad(['sample', 'dcgan', '--ckpt', folder, '--out', join(folder, 'x.png')]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`${folder} is a folder; give the checkpoint file itself`);
    expect(r.stderr).not.toMatch(/EISDIR/);
  });

  // A full disk and a read-only file system, made with small tmpfs mounts
  // where this machine lets the tests mount (root on Linux, as in CI).
  const mounts: string[] = [];
  const mountTmpfs = (options: string): string | null => {
    const dir = mkdtempSync(join(tmpdir(), 'wgrad-mount-'));
    const r = spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir]);
    if (r.status !== 0) return null;
    mounts.push(dir);
    return dir;
  };
  const canMount = process.platform === 'linux' && process.getuid?.() === 0;
  afterAll(() => {
    for (const dir of mounts) spawnSync('umount', [dir]);
  });

  it.skipIf(!canMount)('a full disk: the error names the checkpoint and no .partial file is left behind', () => {
    const disk = mountTmpfs('size=256k'); // the tiny DCGAN's checkpoint is about 850 KB
    expect(disk).not.toBeNull();
    const out = join(disk!, 'run');
    const r = wgrad([...TINY_CPU, '--steps', '2', '--checkpoint-every', '1', '--sample-every', '1', '--out', out]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`cannot write ${join(out, 'checkpoint.safetensors')}: the disk is full; free some space or write somewhere else (ENOSPC)`);
    const left = execSync(`find ${disk} -name '*.partial'`, { encoding: 'utf8' });
    expect(left).toBe('');
  });

  it.skipIf(!canMount)('a read-only file system: the error names the folder that exists, not ENOENT', () => {
    const disk = mountTmpfs('size=1m');
    expect(disk).not.toBeNull();
    const out = join(disk!, 'run');
    execSync(`mkdir ${out} && mount -o remount,ro ${disk}`);
    const r = wgrad([...TINY_CPU, '--steps', '1', '--out', out]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(new RegExp(`cannot (create the folder|write) ${out}/\\S+: the file system is read-only; write somewhere else \\(EROFS\\)`));
    expect(r.stderr).not.toMatch(/ENOENT/);
  });
});

describe('a folder of photos', () => {
  it('is decoded once per run (a file that does not decode is reported once)', () => {
    const folder = mkdtempSync(join(tmpdir(), 'wgrad-photos-'));
    const png = encodePng({ width: 40, height: 40, rgba: new Uint8Array(40 * 40 * 4).fill(200) });
    for (const name of ['b.png', 'c.png', 'd.png', 'e.png']) writeFileSync(join(folder, name), png);
    writeFileSync(join(folder, 'a-broken.png'), 'not a png');
    const out = mkdtempSync(join(tmpdir(), 'wgrad-photos-run-'));
    const r = wgrad([...TINY_CPU, '--data', `images:${folder}`, '--steps', '1', '--out', out, '--overwrite']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr.match(/skipping .*a-broken\.png/g)?.length).toBe(1);
  });
});
