// "Tune for this GPU" in the header: it shows each kernel shape as it is
// timed, stops when asked, and what it tuned is kept in the browser
// (IndexedDB) and found again by the next page load.
import { expect, test } from '@playwright/test';
import { collectErrors, openDemo, screenshots } from './helpers';

test('tuning shows its progress, stops when asked, and its choices outlive the page', async ({ page }, testInfo) => {
  const errors = collectErrors(page);
  await openDemo(page, '/conv.html');
  const button = page.getByTestId('tune');
  const status = page.getByTestId('tune-status');
  await expect(button).toHaveText('Tune for this GPU');
  await expect(status).toHaveText('');
  await button.click();
  await expect(status).toContainText(/tuning dcgan tiny: 1\/\d+ (conv|batchnorm|matmul|reduce)\./, { timeout: 300_000 });
  await screenshots(page, testInfo, 'tune-progress');
  await button.click(); // stop
  await expect(status).toContainText(/^\d+ kernel shapes tuned \([\d.]+× faster than the table on those\); \d+ kept in this browser$/, { timeout: 300_000 });
  const tuned = Number((await status.textContent())!.match(/^(\d+)/)![1]);
  expect(tuned).toBeGreaterThan(0);
  await expect(button).toHaveText('Tune for this GPU');

  await page.reload();
  await page.waitForFunction(() => window.__demo?.ready === true);
  await expect(page.getByTestId('tune-status')).toHaveText(`${tuned} kernel shapes tuned`);
  expect(errors).toEqual([]);
});
