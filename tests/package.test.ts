// The package as a new user gets it: `npm pack` of the built dist/ (npm
// test's pretest builds it), installed into an empty project, then
//   - the README's first example that imports 'wgrad', read from README.md
//     and run with node, printing what the README says it prints;
//   - `npx wgrad info`, the installed command: the backend and a matmul
//     checked against the CPU reference;
//   - a minimal vite app (tests/fixtures/vite-app) that imports 'wgrad',
//     built by vite against the installed package (its "exports", browser
//     side) and served by a plain static server, trains a few steps in
//     headless Chromium.
// No network: the install is offline, from the npm cache the repo's own
// install filled.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import type { Browser } from '@playwright/test';
import { serveFolder, type StaticServer } from './static-server';
import { launchChromium, watchedPage } from './headless-chromium';

const repo = fileURLToPath(new URL('..', import.meta.url));
const fixture = fileURLToPath(new URL('./fixtures/vite-app', import.meta.url));

/**
 * The environment for the npm, npx and node children: offline, quiet, and
 * without the npm_* variables of an `npm test` around this file (an inherited
 * npm_config_local_prefix would point the child npm at this repo).
 */
function childEnv(): NodeJS.ProcessEnv {
  const keep = new Set(['npm_config_cache', 'npm_config_userconfig', 'npm_config_registry']);
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key) || keep.has(key.toLowerCase())));
  return { ...env, npm_config_offline: 'true', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };
}

/** Runs a command to its end; a failure throws with the command, its output and `hint`. */
function run(command: string, args: string[], cwd: string, timeoutMs: number, hint = ''): { stdout: string; stderr: string } {
  try {
    const stdout = execFileSync(command, args, { cwd, env: childEnv(), encoding: 'utf8', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
    return { stdout, stderr: '' };
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${command} ${args.join(' ')} (in ${cwd}) failed: ${e.message.split('\n')[0]}\n${hint}\n--- stdout\n${e.stdout ?? ''}\n--- stderr\n${e.stderr ?? ''}`);
  }
}

/**
 * The empty project's package-lock.json: wgrad from the tarball, its
 * dependencies at the versions of this repo's package-lock.json (the ones the
 * tests run on). Without a lockfile npm 11 resolves each range from the
 * registry's full package documents, which `npm ci` and `npm install` with a
 * lockfile never cache, so an offline install of the bare tarball fails on a
 * fresh CI machine; with one, npm needs only the tarballs the repo's own
 * install left in the cache. Everything else is npm installing a package.
 */
function projectLockfile(tarball: string, tarballBytes: Buffer): object {
  const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8'));
  const repoLock = JSON.parse(readFileSync(join(repo, 'package-lock.json'), 'utf8'));
  const spec = `file:../${tarball}`;
  const packages: Record<string, unknown> = {
    '': { name: 'wgrad-user', dependencies: { wgrad: spec } },
    'node_modules/wgrad': {
      version: pkg.version,
      resolved: spec,
      integrity: `sha512-${createHash('sha512').update(tarballBytes).digest('base64')}`,
      license: pkg.license,
      dependencies: pkg.dependencies,
      bin: pkg.bin,
      engines: pkg.engines,
    },
  };
  for (const [path, entry] of Object.entries(repoLock.packages as Record<string, { dev?: boolean }>)) {
    if (path !== '' && !entry.dev) packages[path] = entry; // the runtime dependencies, as the repo pins them
  }
  return { name: 'wgrad-user', lockfileVersion: 3, requires: true, packages };
}

/** The README's first ```js/```ts block that imports 'wgrad'. */
function readmeExample(): string {
  const readme = readFileSync(join(repo, 'README.md'), 'utf8');
  for (const [, code] of readme.matchAll(/```(?:js|ts|mjs|javascript|typescript)\n([\s\S]*?)```/g)) {
    if (/from\s+['"]wgrad['"]/.test(code)) return code;
  }
  throw new Error("README.md has no ```js or ```ts block that imports 'wgrad'");
}

let work = '';
let project = '';

beforeAll(() => {
  if (!existsSync(join(repo, 'dist/index.js')) || !existsSync(join(repo, 'dist/cli.js'))) {
    throw new Error("dist/ is not built: run 'npm run build' first (npm test's pretest does)");
  }
  work = mkdtempSync(join(tmpdir(), 'wgrad-package-'));
  project = join(work, 'project');
  // --ignore-scripts: pack the dist/ that is there, no rebuild
  const packed = run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], repo, 120_000);
  const [{ filename }] = JSON.parse(packed.stdout) as { filename: string }[];
  cpSync(fixture, project, { recursive: true });
  const spec = `file:../${filename}`;
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'wgrad-user', private: true, type: 'module', dependencies: { wgrad: spec } }, null, 2));
  writeFileSync(join(project, 'package-lock.json'), JSON.stringify(projectLockfile(filename, readFileSync(join(work, filename))), null, 2));
  run('npm', ['ci', '--offline', '--no-audit', '--no-fund'], project, 180_000,
    "The offline install needs the npm cache filled by this repo's own 'npm install' or 'npm ci' (ENOTCACHED names a missing tarball).");
}, 300_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the packed package in an empty project', () => {
  it("runs the README's first example, which prints what the README says", () => {
    const code = readmeExample();
    writeFileSync(join(project, 'readme-example.mjs'), code);
    const { stdout } = run('node', ['readme-example.mjs'], project, 120_000);
    // The example ends with console.log(await loss.item(), wg.memory());   // { tensors, bytesInUse, ... }
    const promised = code.match(/console\.log\(.*\/\/\s*\{([^}]*)\}/);
    expect(promised, 'the README example ends with a console.log whose comment lists what it prints').not.toBeNull();
    const keys = promised![1].split(',').map((key) => key.trim()).filter(Boolean);
    expect(keys.length).toBeGreaterThan(0);
    const loss = Number(stdout.trim().split(/\s+/)[0]);
    expect(Number.isFinite(loss) && loss > 0, `the loss, first on the line: ${stdout}`).toBe(true);
    for (const key of keys) expect(stdout, `wg.memory() prints ${key}`).toMatch(new RegExp(`\\b${key}: \\d+`));
  }, 120_000);

  it('has a working `npx wgrad info`: the backend, and the matmul check ok', () => {
    const { stdout } = run('npx', ['--no', 'wgrad', 'info', '--size', '64'], project, 120_000);
    expect(stdout).toMatch(/^wgrad — (WebGPU|CPU reference) backend$/m);
    expect(stdout).toMatch(/^matmul\s+64×64 @ 64×64: max \|\w+ - cpu reference\| = .* ok$/m);
  }, 120_000);
});

describe('a vite app that imports the installed package', () => {
  let server: StaticServer | undefined;
  let browser: Browser | undefined;

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('builds against the browser entry of "exports" and trains a few steps in headless Chromium', async () => {
    const output = await build({ configFile: false, root: project, logLevel: 'warn', build: { outDir: join(project, 'dist'), emptyOutDir: true } });
    const chunks = (Array.isArray(output) ? output : [output]).flatMap((o) => ('output' in o ? o.output : []));
    const modules = chunks.flatMap((chunk) => (chunk.type === 'chunk' ? Object.keys(chunk.modules) : []));
    expect(modules.some((id) => id.endsWith('/node_modules/wgrad/dist/index.js')), 'the app bundles wgrad/dist/index.js').toBe(true);
    const wrong = modules.filter((id) => id.startsWith(join(repo, 'src')) || id.endsWith('/wgrad/dist/node.js'));
    expect(wrong, "the repo's sources or the Node entry in the app").toEqual([]);

    server = await serveFolder(join(project, 'dist'), '/');
    browser = await launchChromium();
    const { page, problems } = await watchedPage(browser);
    await page.goto(server.url);
    await page.waitForFunction(() => (window as unknown as { __app?: { done: boolean } }).__app?.done === true, null, { timeout: 120_000 });
    const result = await page.evaluate(() => (window as unknown as { __app: { backend: string; losses: number[]; error: string } }).__app);
    expect(result.error).toBe('');
    expect(result.backend).toBe('webgpu');
    expect(result.losses).toHaveLength(5);
    expect(result.losses.every(Number.isFinite), `losses ${result.losses}`).toBe(true);
    expect(result.losses[4], `losses ${result.losses}`).toBeLessThan(result.losses[0]);
    expect(await page.locator('#status').textContent()).toMatch(/^wgrad on webgpu: loss /);
    expect(problems).toEqual([]);
  }, 180_000);
});
