// `npm run bench -- --browser` end to end, on one tiny case: the bench
// bundle built as `npm run bench` builds it, run with --browser in
// headless Chromium (SwiftShader here), prints the header and a table row
// with a finite ratio. Speed is not checked, only that the run works.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

// Inside node_modules, so the bundle's externals (vite, puppeteer-core, tfjs) resolve as from dist-bench/.
const outDir = mkdtempSync(join(process.cwd(), 'node_modules/.cache-bench-browser-'));

afterAll(() => rmSync(outDir, { recursive: true, force: true }));

describe('npm run bench -- --browser', () => {
  it('runs one quick case in headless Chromium and prints its row with a finite ratio', () => {
    const build = spawnSync(process.execPath, ['node_modules/vite/bin/vite.js', 'build', '--config', 'bench/vite.config.ts', '--outDir', outDir, '--logLevel', 'warn'], { encoding: 'utf8' });
    expect(build.status, build.stderr).toBe(0);

    const json = join(outDir, 'out.json');
    const run = spawnSync(process.execPath, [join(outDir, 'peer.js'), '--browser', '--quick', '--filter', 'matmul square 64', '--rounds', '1', '--json', json], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    console.log(run.stdout);
    expect(run.status, `exit ${run.status}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toMatch(/^wgrad vs @tensorflow\/tfjs-backend-webgpu \S+, Chrom\S* (\(headless\) )?\d+ on WebGPU, adapter /m);
    const row = run.stdout.split('\n').find((line) => line.startsWith('| matmul | square 64 |'));
    expect(row, 'the table row').toBeDefined();
    const ratio = Number(row!.match(/\*\*([^*]+)\*\*/)?.[1]);
    expect(Number.isFinite(ratio) && ratio > 0, `ratio in '${row}'`).toBe(true);

    const written = JSON.parse(readFileSync(json, 'utf8')) as { results: { kind: string; name: string; ratio: number }[] };
    expect(written.results.map((r) => `${r.kind} ${r.name}`)).toEqual(['matmul square 64']);
  });
});
