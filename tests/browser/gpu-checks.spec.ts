// Opens tests/browser/index.html (which runs every shared GPU case in
// tests/cases/ on the page's WebGPU device) and turns its results into test
// results: one soft expectation per case, a table in the output, a screenshot.

/// <reference path="./window.d.ts" />
import { expect, test } from '@playwright/test';
import type { CaseResult } from '../cases/types';

function fmt(x: number): string {
  return Number.isFinite(x) ? x.toExponential(2) : String(x);
}

function table(results: CaseResult[]): string {
  const rows = [
    ['case', 'ok', 'maxAbs', 'maxRel', 'message'],
    ...results.map((r) => [r.name, r.ok ? 'ok' : 'FAIL', fmt(r.maxAbs), fmt(r.maxRel), r.message ?? '']),
  ];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  const line = (row: string[]) => row.map((cell, c) => cell.padEnd(widths[c])).join('  ').trimEnd();
  return [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

test('GPU checks in Chromium (WebGPU vs CPU reference)', async ({ page }, testInfo) => {
  const consoleErrors: string[] = [];
  page.on('console', (msg) => {
    const type = msg.type();
    if (type !== 'error' && type !== 'warning') return;
    const where = msg.location().url ? ` (${msg.location().url}:${msg.location().lineNumber})` : '';
    console.log(`[page ${type}] ${msg.text()}${where}`);
    if (type === 'error') consoleErrors.push(msg.text());
  });
  page.on('pageerror', (err) => {
    console.log(`[page uncaught] ${err.stack ?? err.message}`);
    consoleErrors.push(`uncaught: ${err.message}`);
  });

  try {
    await page.goto('/');
    await page.waitForFunction(() => window.__wgradDone === true || window.__wgradError !== undefined, null, {
      polling: 1000,
      timeout: 0, // bounded by the test timeout (10 minutes, see playwright.config.ts)
    });

    const pageError = await page.evaluate(() => window.__wgradError);
    expect(pageError, 'the GPU-check page could not run').toBeUndefined();

    const results = (await page.evaluate(() => window.__wgradResults)) ?? [];
    console.log(`\n${table(results)}\n`);
    expect(results.length, 'number of GPU cases run').toBeGreaterThan(0);
    for (const r of results) {
      expect.soft(r.ok, `${r.name}: maxAbs=${fmt(r.maxAbs)} maxRel=${fmt(r.maxRel)} ${r.message ?? ''}`).toBe(true);
    }
    expect.soft(consoleErrors, 'console errors on the page').toEqual([]);
  } finally {
    const path = testInfo.outputPath('gpu-checks.png');
    await page.screenshot({ path, fullPage: true }).catch(() => undefined);
    await testInfo.attach('gpu-checks', { path, contentType: 'image/png' }).catch(() => undefined);
  }
});
