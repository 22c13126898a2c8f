// Runs the shared GPU check cases (tests/cases/) in the browser, one after
// another, and publishes the results for tests/browser/gpu-checks.spec.ts:
//   window.__wgradResults: CaseResult[]   window.__wgradDone: true
//   window.__wgradError: string           (when the page cannot run at all)

/// <reference path="./window.d.ts" />
import type { CaseResult } from '../cases/types';

const statusEl = document.getElementById('status')!;
const tbody = document.getElementById('results')!;

function fmt(x: number): string {
  return Number.isFinite(x) ? x.toExponential(2) : String(x);
}

function appendRow(r: CaseResult, ms: number): void {
  const tr = document.createElement('tr');
  tr.className = r.ok ? 'pass' : 'fail';
  const cells: [string, boolean][] = [
    [r.name, false],
    [r.ok ? 'ok' : 'FAIL', false],
    [fmt(r.maxAbs), true],
    [fmt(r.maxRel), true],
    [ms.toFixed(0), true],
    [r.message ?? '', false],
  ];
  for (const [text, num] of cells) {
    const td = document.createElement('td');
    td.textContent = text;
    if (num) td.className = 'num';
    tr.append(td);
  }
  tbody.append(tr);
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

async function main(): Promise<void> {
  if (!('gpu' in navigator) || !navigator.gpu) {
    throw new Error(
      'navigator.gpu is missing: this browser has no WebGPU here (it needs a secure context such as ' +
        'http://localhost, and on Linux Chromium flags like --enable-unsafe-webgpu --enable-features=Vulkan).',
    );
  }
  const { gpuCases, setupCases } = await import('../cases/index');
  statusEl.textContent = 'setting up…';
  await setupCases();

  const results: CaseResult[] = [];
  for (const [i, c] of gpuCases.entries()) {
    statusEl.textContent = `running ${i + 1}/${gpuCases.length}: ${c.name}`;
    const t0 = performance.now();
    let r: CaseResult;
    try {
      r = await c.run();
    } catch (e) {
      r = { name: c.name, ok: false, maxAbs: NaN, maxRel: NaN, message: errorMessage(e) };
    }
    appendRow(r, performance.now() - t0);
    results.push(r);
  }

  const failed = results.filter((r) => !r.ok).length;
  statusEl.textContent = `done: ${results.length - failed}/${results.length} passed`;
  statusEl.className = failed ? '' : 'ok';
  window.__wgradResults = results;
  window.__wgradDone = true;
}

main().catch((e: unknown) => {
  const msg = errorMessage(e);
  statusEl.textContent = `error: ${msg}`;
  window.__wgradError = msg;
});
