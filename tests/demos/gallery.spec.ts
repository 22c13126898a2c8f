// The gallery: a card per page, the adapter named, no console errors; and
// without WebGPU the page still loads and says which browsers have it.
import { expect, test } from '@playwright/test';
import { collectErrors, expectNoSidewaysScroll, openDemo, screenshots } from './helpers';

test('gallery lists every page and names the adapter', async ({ page }, testInfo) => {
  const errors = collectErrors(page);
  await openDemo(page, '/index.html');
  await expect(page.getByTestId('adapter')).toContainText(/swiftshader|WebGPU/i);
  for (const title of ['DCGAN', 'Variational autoencoder', 'Diffusion', 'Conv explainer', 'Bench']) {
    await expect(page.locator('.card h2', { hasText: title })).toBeVisible();
  }
  await expectNoSidewaysScroll(page);
  await screenshots(page, testInfo, 'gallery');
  expect(errors).toEqual([]);
});

test('the model cards open on live samples from the pretrained models, drawn in the tab', async ({ page }, testInfo) => {
  const errors = collectErrors(page);
  await openDemo(page, '/index.html');
  const names = ['dcgan-shapes', 'dcgan-mnist', 'vae-mnist', 'diffusion-mnist'];
  await page.waitForFunction((count) => document.querySelectorAll('canvas[data-drawn]').length === count, names.length, { timeout: 300_000 });
  for (const name of names) {
    const spread = await page.getByTestId(`live-${name}`).evaluate((canvas: HTMLCanvasElement) => {
      const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
      let lo = 255, hi = 0;
      for (let i = 0; i < data.length; i += 4) {
        lo = Math.min(lo, data[i]);
        hi = Math.max(hi, data[i]);
      }
      return { width: canvas.width, spread: hi - lo };
    });
    expect(spread.width, name).toBeGreaterThan(32);
    expect(spread.spread, `${name}: a blank picture`).toBeGreaterThan(100);
  }
  await screenshots(page, testInfo, 'gallery-live');
  expect(errors).toEqual([]);
});

test('without WebGPU the gallery loads and names the browsers that have it', async ({ page }) => {
  await page.addInitScript(() => {
    Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined, configurable: true });
  });
  const errors = collectErrors(page);
  await openDemo(page, '/index.html');
  await expect(page.getByTestId('no-webgpu')).toContainText(/Chrome and Edge 113/);
  await expect(page.getByTestId('adapter')).toHaveText(/CPU reference/);
  await expect(page.locator('.card')).toHaveCount(5);
  expect(errors).toEqual([]);
});
