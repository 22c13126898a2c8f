// The conv explainer: the page's WebGPU numbers agree with the CPU
// reference for a few layer settings (output, input gradient, weight
// gradient, transposed conv), the transposed conv's shape is shown, and
// invalid options show the library's own error.
import { encode } from 'fast-png';
import { expect, test } from '@playwright/test';
import { collectErrors, expectNoSidewaysScroll, openDemo, screenshots } from './helpers';

interface Report {
  error: string | null;
  diffs?: { output: number; inputGrad: number; weightGrad: number; transposed: number; transposedVsInputGrad: number };
  shapes?: { output: number[]; outputPadding: number };
}

const setOptions = (page: import('@playwright/test').Page, o: Record<string, string | number>) =>
  page.evaluate((opts) => (window.__demo!.setOptions as (o: unknown) => Promise<unknown>)(opts), o) as Promise<Report>;

function expectAgreement(r: Report, what: string): void {
  expect(r.error, what).toBeNull();
  const d = r.diffs!;
  for (const [name, diff] of Object.entries(d)) {
    if (name === 'transposedVsInputGrad') continue;
    expect(diff, `${what}: ${name} max |WebGPU − CPU|`).toBeLessThan(1e-4);
  }
}

test('conv explainer: WebGPU agrees with the CPU reference, the transposed shape is shown', async ({ page }, testInfo) => {
  const errors = collectErrors(page);
  await openDemo(page, '/conv.html');
  await page.evaluate(() => (window.__demo!.pause as () => void)());

  // the default: 3×3, stride 1, padding 1 on a 16×16 picture
  const first = await setOptions(page, { kernel: 3, stride: 1, padding: 1, dilation: 1, groups: 1, inChannels: 1, outChannels: 2 });
  expectAgreement(first, '3×3 s1 p1');
  expect(first.shapes!.output).toEqual([1, 2, 16, 16]);
  await expect(page.locator('.diff.ok')).toHaveCount(4);
  await expect(page.getByTestId('transposed-shape')).toContainText('outputPadding: 0 }) → [1, 1, 16, 16]');
  await expect(page.getByTestId('formula')).toContainText(/y\[0, 0, 0\] = Σ w·x over 3×3 taps/);

  // DCGAN's down-sampling layer: 4×4, stride 2, padding 1, three channels in; loss ½Σy²
  const strided = await setOptions(page, { kernel: 4, stride: 2, padding: 1, inChannels: 3, outChannels: 4, loss: 'half-square', preset: 'random' });
  expectAgreement(strided, '4×4 s2 p1');
  expect(strided.shapes!.output).toEqual([1, 4, 8, 8]);
  // with upstream = y, the transposed conv is the input gradient
  expect(strided.diffs!.transposedVsInputGrad).toBeLessThan(1e-4);
  await expect(page.getByTestId('transposed-shape')).toContainText('→ [1, 3, 16, 16]');

  // groups 2 with dilation 2 and stride 3: the strided conv drops a row, so outputPadding is needed
  const grouped = await setOptions(page, { kernel: 3, stride: 3, padding: 1, dilation: 2, groups: 2, inChannels: 4, outChannels: 2, preset: 'outline', loss: 'sum' });
  expectAgreement(grouped, '3×3 s3 p1 d2 g2');
  expect(grouped.shapes!.output).toEqual([1, 2, 5, 5]);
  expect(grouped.shapes!.outputPadding).toBeGreaterThan(0);
  await expect(page.getByTestId('transposed')).toContainText(`outputPadding = ${grouped.shapes!.outputPadding} says which one`);
  await page.getByTestId('step').fill('7');
  await expect(page.getByTestId('formula')).toContainText('y[0, 1, 2]');
  await screenshots(page, testInfo, 'conv-grouped');

  // groups that do not divide the channels: the library's error, shown
  const bad = await setOptions(page, { groups: 3 });
  expect(bad.error).toMatch(/divisible by groups=3/);
  await expect(page.getByTestId('conv-error')).toBeVisible();
  await expect(page.getByTestId('conv-error')).toContainText('divisible by groups=3');
  // and fixing it clears the error
  const fixed = await setOptions(page, { groups: 1, dilation: 1, stride: 1, kernel: 3, padding: 1, inChannels: 1, outChannels: 2, preset: 'vertical edges' });
  expectAgreement(fixed, 'back to 3×3');
  await expect(page.getByTestId('conv-error')).toBeHidden();

  await expectNoSidewaysScroll(page);
  await screenshots(page, testInfo, 'conv');
  expect(errors).toEqual([]);
});

test('conv explainer: the MNIST digit and an image of your own', async ({ page }, testInfo) => {
  const errors = collectErrors(page);
  await openDemo(page, '/conv.html');
  await page.evaluate(() => (window.__demo!.pause as () => void)());

  await page.getByTestId('opt-picture').selectOption('digit');
  const digit = (await page.evaluate(() => (window.__demo!.settled as () => Promise<unknown>)())) as Report & { picture: string };
  expect(digit.picture).toBe('planes');
  expectAgreement(digit, 'digit');

  // a 40×24 PNG, a red left half and a blue right half: the vertical edge filter finds the middle
  const width = 40;
  const height = 24;
  const data = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    const left = i % width < width / 2;
    data.set(left ? [220, 40, 30, 255] : [30, 60, 200, 255], i * 4);
  }
  const png = encode({ width, height, data, channels: 4, depth: 8 });
  await page.getByTestId('opt-file').setInputFiles({ name: 'halves.png', mimeType: 'image/png', buffer: Buffer.from(png) });
  const own = (await page.evaluate(() => (window.__demo!.settled as () => Promise<unknown>)())) as Report & { picture: string };
  expect(own.picture).toBe('rgba');
  expectAgreement(own, 'your image');
  await expect(page.getByTestId('opt-picture')).toHaveValue('file');

  await expectNoSidewaysScroll(page);
  await screenshots(page, testInfo, 'conv-own-image');
  expect(errors).toEqual([]);
});

test('conv explainer without WebGPU runs on the CPU reference and says so', async ({ page }) => {
  await page.addInitScript(() => {
    Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined, configurable: true });
  });
  const errors = collectErrors(page);
  await openDemo(page, '/conv.html');
  await expect(page.getByTestId('no-webgpu')).toContainText("wgrad's CPU reference");
  const r = (await page.evaluate(() => (window.__demo!.report as () => unknown)())) as Report;
  expect(r.error).toBeNull();
  await expect(page.getByTestId('formula')).toContainText('on CPU, no WebGPU');
  expect(errors).toEqual([]);
});
