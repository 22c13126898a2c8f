// The diffusion page: trains a micro config through its buttons (the loss
// chart and the sample grid move), a checkpoint it writes samples in the
// CLI exactly as in the page for the same seed (and so the other way too:
// the same bytes and the same sampler), and the step-by-step denoising view
// runs a short DDIM.
import { readFileSync, writeFileSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import { decodePng, imageGrid } from '../../src/io/picture';
import { collectErrors, expectNoSidewaysScroll, openDemo, screenshots } from './helpers';
import { hooks, maxPixelDifference, trainThroughButtons, wgrad } from './training-helpers';

test('diffusion page trains, its checkpoint samples the same in the CLI, and it denoises step by step', async ({ page }, testInfo) => {
  const errors = collectErrors(page);
  await openDemo(page, '/diffusion.html?steps=1&batch=2&every=1&samples=2&sampleSteps=2&cond=off');
  const demo = hooks(page);
  await expect(page.getByTestId('config')).toHaveValue('tiny');
  await expect(page.getByTestId('size')).toHaveValue('16');

  await trainThroughButtons(page, 1);
  const before = { grid: await demo.call('gridPixels'), points: await demo.call('chartPoints') };
  expect(before.points).toEqual({ loss: 1 });
  await demo.call('trainMore', 1);
  const after = { grid: await demo.call('gridPixels'), points: await demo.call('chartPoints') };
  expect(after.points).toEqual({ loss: 2 });
  expect(after.grid.some((v, i) => v !== before.grid[i]), 'the sample grid changed').toBe(true);

  // The page's checkpoint in the CLI: same seed, same sampler, same images.
  const ckpt = testInfo.outputPath('page.safetensors');
  writeFileSync(ckpt, Buffer.from(await demo.call('checkpointBase64'), 'base64'));
  const grid = testInfo.outputPath('grid.png');
  wgrad(['sample', 'diffusion', '--ckpt', ckpt, '--n', '4', '--seed', '7', '--steps', '3', '--out', grid]);
  const { data, shape, columns } = await page.evaluate(() =>
    (window.__demo as unknown as { sample(r: object): Promise<{ data: number[]; shape: number[]; columns: number }> })
      .sample({ seed: 7, n: 4, steps: 3 }));
  const worst = maxPixelDifference(imageGrid(Float32Array.from(data), shape, { columns, scale: 2 }), decodePng(readFileSync(grid), grid));
  console.log(`diffusion page vs CLI samples (seed 7, n 4, DDIM 3 steps): max pixel difference ${worst} of 255`);
  expect(worst).toBeLessThanOrEqual(1);

  // Denoising one sample, shown at every step.
  await page.getByTestId('sample-steps').fill('3');
  await page.getByTestId('denoise').click();
  await expect(page.getByTestId('denoise-progress')).toContainText('Done: 3 DDIM steps', { timeout: 120_000 });
  expect(await page.evaluate(() => (window.__demo as unknown as { denoiseSteps(): number }).denoiseSteps())).toBe(3);
  expect((await page.evaluate(() => (window.__demo as unknown as { stripPixels(): number[] }).stripPixels())).length).toBeGreaterThan(0);

  await expectNoSidewaysScroll(page);
  await screenshots(page, testInfo, 'diffusion');
  expect(errors).toEqual([]);
});
