// What every demo-page test does: open the page, collect console errors and
// uncaught exceptions, wait for window.__demo.ready, and save screenshots at
// a laptop size and a phone width as test artifacts.
import { expect, type Page, type TestInfo } from '@playwright/test';

export const LAPTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

/** Starts collecting the page's console errors; read the array at the end of the test. */
export function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(msg.text());
    if (msg.type() === 'error' || msg.type() === 'warning') console.log(`[page ${msg.type()}] ${msg.text()}`);
  });
  page.on('pageerror', (err) => errors.push(`uncaught: ${err.message}`));
  return errors;
}

/** Opens `path` and waits until the page has initialized (or failed, which fails the test). */
export async function openDemo(page: Page, path: string): Promise<void> {
  await page.goto(path);
  await page.waitForFunction(() => window.__demo?.ready === true || window.__demo?.error !== undefined, null, { timeout: 120_000 });
  const error = await page.evaluate(() => window.__demo?.error);
  expect(error, `${path} failed to start`).toBeUndefined();
}

/** Full-page screenshots at laptop and phone sizes, attached to the test. */
export async function screenshots(page: Page, testInfo: TestInfo, name: string): Promise<void> {
  for (const [size, viewport] of [['laptop', LAPTOP], ['phone', PHONE]] as const) {
    await page.setViewportSize(viewport);
    await page.waitForTimeout(200); // let charts resize
    const path = testInfo.outputPath(`${name}-${size}.png`);
    await page.screenshot({ path, fullPage: true });
    await testInfo.attach(`${name}-${size}`, { path, contentType: 'image/png' });
  }
  await page.setViewportSize(LAPTOP);
}

/** The page must not scroll sideways at phone width: nothing wider than the window. */
export async function expectNoSidewaysScroll(page: Page): Promise<void> {
  await page.setViewportSize(PHONE);
  // two frames: layout and the charts' resize observers settle as they would for a visitor
  await page.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))));
  const { overflow, widest } = await page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    const sticking = Array.from(document.querySelectorAll<HTMLElement>('body *'))
      .map((e) => ({ e, right: e.getBoundingClientRect().right }))
      .filter(({ right }) => right > width + 1)
      .sort((a, b) => b.right - a.right)
      .slice(0, 3)
      .map(({ e, right }) => `${e.tagName.toLowerCase()}${e.className ? `.${String(e.className).split(' ').join('.')}` : ''}${e.dataset.testid ? `[${e.dataset.testid}]` : ''} to ${Math.round(right)}px`);
    return { overflow: document.documentElement.scrollWidth - width, widest: sticking };
  });
  expect(overflow, `page wider than a phone screen (px); past the edge: ${widest.join(', ')}`).toBeLessThanOrEqual(1);
  await page.setViewportSize(LAPTOP);
}
