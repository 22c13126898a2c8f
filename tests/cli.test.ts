// The `wgrad` command as a user runs it: bin/wgrad.js over the built
// dist/cli.js, in a child process, with Dawn's stderr noise filtered.
import { describe, it, expect, beforeAll } from 'vitest';
import { spawnSync, execSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const root = new URL('..', import.meta.url).pathname;

function wgrad(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, ['bin/wgrad.js', ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 120_000,
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
