// The DCGAN page: trains a micro config through its buttons (the loss chart
// and the sample grid move), and a checkpoint written by the CLI samples in
// the page exactly as `wgrad sample dcgan` does for the same seed.
import { readFileSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import { decodePng, imageGrid } from '../../src/io/picture';
import { collectErrors, expectNoSidewaysScroll, openDemo, screenshots } from './helpers';
import { hooks, maxPixelDifference, trainThroughButtons, wgrad } from './training-helpers';
import { encodePng } from '../../src/io/picture';

test('DCGAN page trains a few steps: the loss chart and the sample grid change', async ({ page }, testInfo) => {
  const errors = collectErrors(page);
  await openDemo(page, '/dcgan.html?steps=2&batch=4&every=1&samples=16');
  const demo = hooks(page);
  await expect(page.getByTestId('config')).toHaveValue('tiny'); // SwiftShader: the tiny config by default
  expect(await demo.call('chartPoints')).toEqual({ lossD: 0, lossG: 0 });

  await trainThroughButtons(page, 2);
  const before = { grid: await demo.call('gridPixels'), points: await demo.call('chartPoints') };
  expect(before.grid.length).toBeGreaterThan(0);
  expect(before.points).toEqual({ lossD: 2, lossG: 2 });
  await demo.call('trainMore', 2);
  const after = { grid: await demo.call('gridPixels'), points: await demo.call('chartPoints') };
  expect(after.points).toEqual({ lossD: 4, lossG: 4 });
  expect(after.grid.length).toBe(before.grid.length);
  expect(after.grid.some((v, i) => v !== before.grid[i]), 'the sample grid changed').toBe(true);
  const losses = await demo.call('losses');
  expect(Number.isFinite(losses!.lossD) && Number.isFinite(losses!.lossG)).toBe(true);
  await expect(page.getByTestId('stats')).toContainText(/step 4 · .* GPU memory in use [\d.]+ MB · \d+ tensors alive/);

  await page.getByTestId('generate').click();
  await expect.poll(() => page.getByTestId('seed-grid').evaluate((c: HTMLCanvasElement) => c.width)).toBeGreaterThan(0);

  await expectNoSidewaysScroll(page);
  await screenshots(page, testInfo, 'dcgan');
  expect(errors).toEqual([]);
});

test('a DCGAN checkpoint from the CLI gives the CLI\'s samples in the page', async ({ page }, testInfo) => {
  const errors = collectErrors(page);
  const out = testInfo.outputPath('run');
  wgrad(['train', 'dcgan', '--config', 'tiny', '--steps', '1', '--batch', '2', '--out', out, '--quiet']);
  const grid = testInfo.outputPath('grid.png');
  wgrad(['sample', 'dcgan', '--ckpt', `${out}/checkpoint.safetensors`, '--n', '4', '--seed', '7', '--out', grid]);

  await openDemo(page, '/dcgan.html');
  await page.getByTestId('checkpoint-input').setInputFiles(`${out}/checkpoint.safetensors`);
  await expect(page.getByTestId('status')).toContainText(/at step 1/);
  const { data, shape } = await page.evaluate(() =>
    (window.__demo as unknown as { sample(seed: number, n: number): Promise<{ data: number[]; shape: number[] }> }).sample(7, 4));
  const mine = imageGrid(Float32Array.from(data), shape, { scale: 2 });
  const cli = decodePng(readFileSync(grid), grid);
  const worst = maxPixelDifference(mine, cli);
  console.log(`DCGAN page vs CLI samples (seed 7, n 4): max pixel difference ${worst} of 255`);
  expect(worst).toBeLessThanOrEqual(1);
  expect(errors).toEqual([]);
});

test('DCGAN page trains on photos picked with the file button', async ({ page }) => {
  const errors = collectErrors(page);
  await openDemo(page, '/dcgan.html?steps=1&batch=2&every=1&samples=4');
  // Three small "photos" of different shapes and colours, as PNG files.
  const photos = [[48, 32], [32, 48], [40, 40]].map(([width, height], k) => {
    const rgba = new Uint8Array(width * height * 4);
    for (let i = 0; i < width * height; i++) rgba.set([(i * 7 + k * 80) % 256, (i * 3) % 256, k * 120, 255], i * 4);
    return { name: `photo-${k}.png`, mimeType: 'image/png', buffer: Buffer.from(encodePng({ width, height, rgba })) };
  });
  await page.getByTestId('photo-input').setInputFiles(photos);
  await expect(page.getByTestId('data')).toHaveValue('photos');
  await expect(page.getByText('3 photos loaded')).toBeVisible();
  await trainThroughButtons(page, 1);
  expect(await hooks(page).call('chartPoints')).toEqual({ lossD: 1, lossG: 1 });
  expect(errors).toEqual([]);
});
