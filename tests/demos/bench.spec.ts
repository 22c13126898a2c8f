// The bench page runs the shared suite in Chromium against tfjs on the same
// (SwiftShader) adapter: two tiny cases fill the table with finite ratios,
// the chart appears, and the JSON download has the Node bench's shape.
import { readFileSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import { collectErrors, expectNoSidewaysScroll, openDemo, screenshots } from './helpers';

test('bench page: two quick cases, the table, the chart and the JSON download', async ({ page }, testInfo) => {
  const errors = collectErrors(page);
  await openDemo(page, '/bench.html');
  await expect(page.getByTestId('bench-run')).toBeEnabled();
  await expect(page.getByTestId('bench-quick')).toBeChecked();
  await expect(page.getByTestId('bench-download')).toBeDisabled();

  await page.getByTestId('bench-filter').fill('matmul square 64, conv2d VAE enc');
  await page.getByTestId('bench-rounds').fill('1');
  await page.getByTestId('bench-run').click();
  await expect(page.getByTestId('bench-status')).toContainText(/Loading TensorFlow|Case [12] of 2: |Done/);
  await expect(page.getByTestId('bench-status')).toContainText('Done: 2 cases measured', { timeout: 240_000 });
  await expect(page.getByTestId('bench-failures').locator('li')).toHaveCount(0);

  const rows = page.getByTestId('bench-row');
  await expect(rows).toHaveCount(2);
  await expect(rows.nth(0)).toContainText('square 64');
  await expect(rows.nth(1)).toContainText('VAE enc');
  const ratios = await page.locator('td.ratio').allTextContents();
  for (const r of ratios) expect(Number.isFinite(Number(r)) && Number(r) > 0, `ratio '${r}'`).toBe(true);
  await expect(page.getByTestId('bench-chart')).toBeVisible();
  const chartSize = await page.getByTestId('bench-chart').boundingBox();
  expect(chartSize!.height).toBeGreaterThan(100);
  await expect(page.getByTestId('bench-summary')).toContainText('ratio geomean');

  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('bench-download').click()]);
  expect(download.suggestedFilename()).toMatch(/^wgrad-bench-\d{4}-\d\d-\d\d\.json$/);
  const json = JSON.parse(readFileSync((await download.path())!, 'utf8')) as Record<string, unknown>;
  expect(Object.keys(json).sort()).toEqual(['date', 'device', 'header', 'quick', 'results']);
  expect(json.quick).toBe(true);
  expect(json.header).toMatch(/^wgrad vs @tensorflow\/tfjs-backend-webgpu \d/);
  const results = json.results as { kind: string; name: string; ms: number; peerMs: number; ratio: number; firstMs: number }[];
  expect(results.map((r) => r.kind)).toEqual(['matmul', 'conv2d']);
  for (const r of results) {
    for (const v of [r.ms, r.peerMs, r.ratio, r.firstMs]) expect(Number.isFinite(v)).toBe(true);
  }

  await expectNoSidewaysScroll(page);
  await screenshots(page, testInfo, 'bench');
  expect(errors).toEqual([]);
});

test('bench page without WebGPU: Run is off and the page says why', async ({ page }) => {
  await page.addInitScript(() => {
    Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined, configurable: true });
  });
  const errors = collectErrors(page);
  await openDemo(page, '/bench.html');
  await expect(page.getByTestId('no-webgpu')).toContainText('This page needs WebGPU');
  await expect(page.getByTestId('bench-run')).toBeDisabled();
  await expect(page.getByTestId('bench-status')).toContainText('needs WebGPU');
  expect(errors).toEqual([]);
});
