// Headless Chromium for vitest files that check a page from outside the repo
// (a user's app, the published site): the system's /usr/bin/chromium with the
// same flags as playwright.config.ts (WebGPU on SwiftShader), through
// Playwright's library API. Each opened page records what a visitor would
// hit: console errors, uncaught exceptions, requests that failed or answered
// 400 or more.
import { chromium, type Browser, type Page } from '@playwright/test';
import playwrightConfig from '../playwright.config';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ ...playwrightConfig.use?.launchOptions, headless: true });
}

export interface WatchedPage {
  page: Page;
  /** Console errors, uncaught exceptions and failed or 4xx/5xx requests, in order. */
  problems: string[];
  /** Every URL the page fetched with a 2xx or 3xx answer. */
  loaded: string[];
}

/** A new page that records its problems; call goto on it yourself. */
export async function watchedPage(browser: Browser): Promise<WatchedPage> {
  const page = await browser.newPage();
  const problems: string[] = [];
  const loaded: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()} (${message.location().url || 'no url'})`);
  });
  page.on('pageerror', (error) => problems.push(`uncaught: ${error.message}`));
  page.on('requestfailed', (request) => problems.push(`request failed: ${request.url()} (${request.failure()?.errorText})`));
  page.on('response', (response) => {
    if (response.status() >= 400) problems.push(`${response.status()}: ${response.url()}`);
    else loaded.push(response.url());
  });
  return { page, problems, loaded };
}
