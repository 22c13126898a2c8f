// The demo site as it is published (.github/workflows/pages.yml): built by
// `npm run build:demos`, the workflow's own command, and served by a plain
// static server under a sub-path, http://127.0.0.1:PORT/wgrad/, as GitHub
// Pages serves a project site. Every script, style, shader and pretrained
// file must load from there: a URL that assumes the site sits at / gets a
// 404 from this server, and fails the test.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from '@playwright/test';
import { serveFolder, type StaticServer } from './static-server';
import { launchChromium, watchedPage } from './headless-chromium';

const repo = fileURLToPath(new URL('..', import.meta.url));
const PREFIX = '/wgrad/';

let work = '';
let server: StaticServer;
let browser: Browser;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'wgrad-site-'));
  const site = join(work, 'site');
  try {
    execFileSync('npm', ['run', 'build:demos', '--', '--outDir', site, '--logLevel', 'warn'], { cwd: repo, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 180_000 });
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`npm run build:demos failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  }
  server = await serveFolder(site, PREFIX);
  browser = await launchChromium();
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Waits for the page's window.__demo.ready, or fails with the page's own error. */
async function waitReady(page: Page): Promise<void> {
  await page.waitForFunction(() => window.__demo?.ready === true || window.__demo?.error !== undefined, null, { timeout: 120_000 });
  expect(await page.evaluate(() => window.__demo?.error)).toBeUndefined();
}

describe('the built demo site under /wgrad/ on a static server', () => {
  it('the gallery loads its scripts and a pretrained model, and links to pages that exist', async () => {
    const { page, problems, loaded } = await watchedPage(browser);
    // The gallery fetches the first pretrained model for its live samples as soon as it is ready.
    const pretrained = page.waitForResponse((response) => response.url().endsWith('.safetensors'), { timeout: 120_000 });
    await page.goto(server.url); // /wgrad/ itself, as a visitor types it
    await waitReady(page);
    expect((await pretrained).status(), 'the first pretrained file').toBe(200);
    expect(loaded.filter((url) => url.endsWith('.js')).length, 'scripts loaded').toBeGreaterThan(0);
    expect(loaded.filter((url) => !url.startsWith(server.url) && !url.startsWith('data:')), 'files from outside /wgrad/').toEqual([]);

    const links = await page.locator('.card h2 a').evaluateAll((anchors) => anchors.map((a) => (a as HTMLAnchorElement).href));
    expect(links.length).toBe(5);
    for (const link of links) {
      expect(link.startsWith(server.url), `${link} under ${PREFIX}`).toBe(true);
      expect((await fetch(link, { method: 'HEAD' })).status, link).toBe(200); // the local server, not the network
    }
    await page.close();
    expect(problems).toEqual([]);
  }, 180_000);

  it('a training page (DCGAN) loads, and loads its pretrained model', async () => {
    const { page, problems, loaded } = await watchedPage(browser);
    await page.goto(`${server.url}dcgan.html`);
    await waitReady(page);
    await page.getByTestId('from-pretrained').click();
    // "Fetching the pretrained …", then "Loaded pretrained …" once the checkpoint is in (then it trains on from it)
    await page.getByTestId('status').filter({ hasText: /^(Loaded pretrained dcgan-shapes|Training)/ }).waitFor({ timeout: 120_000 });
    expect(loaded.filter((url) => /\/dcgan-shapes-[^/]*\.safetensors$/.test(url)), 'the pretrained file').toHaveLength(1);
    expect(problems).toEqual([]);
    await page.close(); // stops the training it started
  }, 180_000);
});
