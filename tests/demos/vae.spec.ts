// The VAE page: trains a micro config through its buttons (the loss chart
// and the sample grid move); the latent map is drawn when training stops, a
// click on it decodes that point, and the slider walks between two codes.
import { expect, test } from '@playwright/test';
import { collectErrors, expectNoSidewaysScroll, openDemo, screenshots } from './helpers';
import { hooks, trainThroughButtons } from './training-helpers';

interface VaeHooks {
  mapDraws(): number;
  mapPixels(): number[];
  previewDraws(): number;
  previewPixels(): number[];
  mixDraws(): number;
  mixPixels(): number[];
  mapAxes(): string | null;
}

function vaeCall<K extends keyof VaeHooks>(page: import('@playwright/test').Page, name: K) {
  return page.evaluate((n) => (window.__demo![n] as () => unknown)(), name) as Promise<ReturnType<VaeHooks[K]>>;
}

test('VAE page trains, maps its latent space, decodes a clicked point and interpolates', async ({ page }, testInfo) => {
  const errors = collectErrors(page);
  await openDemo(page, '/vae.html?steps=2&batch=4&every=1&samples=16&map=6&count=40&data=mnist');
  const demo = hooks(page);
  await expect(page.getByTestId('config')).toHaveValue('tiny');

  await trainThroughButtons(page, 2);
  const before = { grid: await demo.call('gridPixels'), points: await demo.call('chartPoints') };
  expect(before.points).toEqual({ loss: 2, recon: 2, kl: 2 });
  await demo.call('trainMore', 2);
  const after = { grid: await demo.call('gridPixels'), points: await demo.call('chartPoints') };
  expect(after.points).toEqual({ loss: 4, recon: 4, kl: 4 });
  expect(after.grid.some((v, i) => v !== before.grid[i]), 'the sample grid changed').toBe(true);

  // The map is redrawn when training stops; tiny has a 2-D latent, so it is the latent plane itself.
  await expect.poll(() => vaeCall(page, 'mapDraws'), { timeout: 120_000 }).toBeGreaterThanOrEqual(2);
  expect(await vaeCall(page, 'mapAxes')).toBe('latent');

  // Two clicks at opposite corners decode two different images.
  const map = page.getByTestId('map');
  const box = (await map.boundingBox())!;
  await map.click({ position: { x: box.width * 0.1, y: box.height * 0.1 } });
  await expect.poll(() => vaeCall(page, 'previewDraws'), { timeout: 60_000 }).toBe(1);
  const first = await vaeCall(page, 'previewPixels');
  await map.click({ position: { x: box.width * 0.9, y: box.height * 0.9 } });
  await expect.poll(() => vaeCall(page, 'previewDraws'), { timeout: 60_000 }).toBe(2);
  const second = await vaeCall(page, 'previewPixels');
  expect(second.some((v, i) => v !== first[i]), 'two map points decode differently').toBe(true);

  // The slider: its ends decode differently.
  await expect.poll(() => vaeCall(page, 'mixDraws'), { timeout: 60_000 }).toBeGreaterThan(0);
  const slider = page.getByTestId('slider');
  const draws = await vaeCall(page, 'mixDraws');
  await slider.fill('0');
  await expect.poll(() => vaeCall(page, 'mixDraws'), { timeout: 60_000 }).toBeGreaterThan(draws);
  const atA = await vaeCall(page, 'mixPixels');
  const draws2 = await vaeCall(page, 'mixDraws');
  await slider.fill('1');
  await expect.poll(() => vaeCall(page, 'mixDraws'), { timeout: 60_000 }).toBeGreaterThan(draws2);
  const atB = await vaeCall(page, 'mixPixels');
  expect(atB.some((v, i) => v !== atA[i]), 't = 0 and t = 1 decode differently').toBe(true);

  await expectNoSidewaysScroll(page);
  await screenshots(page, testInfo, 'vae');
  expect(errors).toEqual([]);
});
