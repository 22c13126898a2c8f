// `npm run bench -- --browser`: the bench suite in headless Chromium, on
// the browser's own WebGPU (its robustness checks and all) rather than
// Dawn inside Node. A vite dev server serves page.ts from localhost
// (about:blank has no navigator.gpu); puppeteer-core drives the system's
// Chromium, or the browser --browser-path names, and never downloads one.
// The page sends each result back as it is measured.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CaseResult } from '../peer/harness';
import type { BenchEvent } from './page';

export const DEFAULT_BROWSER = '/usr/bin/chromium';

export interface BrowserRunOptions {
  quick: boolean;
  filter: string;
  rounds: number;
  /** a Chrome or Chromium binary; default /usr/bin/chromium */
  browserPath?: string;
  onHeader?: (header: string, device: string) => void;
  onResult?: (r: CaseResult) => void;
  onFailure?: (what: string, error: Error) => void;
}

export interface BrowserRun {
  header: string;
  device: string;
  results: CaseResult[];
  failures: number;
}

/** WebGPU in headless Chromium on Linux (DESIGN.md, "Runtime on a machine without a GPU"). */
const WEBGPU_ARGS = [
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];
/** Without a GPU: SwiftShader, Vulkan on the CPU. */
const SWIFTSHADER_ARGS = ['--use-vulkan=swiftshader', '--use-webgpu-adapter=swiftshader'];

/** A GPU the browser could use: a DRM render node or NVIDIA's device. Without one, SwiftShader. */
function hasGpuDevice(): boolean {
  if (process.platform !== 'linux') return true;
  if (existsSync('/dev/nvidia0')) return true;
  return existsSync('/dev/dri') && readdirSync('/dev/dri').some((f) => f.startsWith('renderD'));
}

/** The repository's root, from this file's place in it (bench/browser/) or in a bundle (dist-bench/…). */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'wgrad') return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('bench --browser: the wgrad repository (its package.json) was not found above this script');
    dir = up;
  }
}

/** Serves page.ts, opens it in headless Chromium and collects what it reports; throws if the page stops. */
export async function runInBrowser(o: BrowserRunOptions): Promise<BrowserRun> {
  const browserPath = o.browserPath ?? DEFAULT_BROWSER;
  if (!existsSync(browserPath)) {
    throw new Error(`bench --browser: no browser at ${browserPath}; install Debian's chromium (npm run setup) or name one with --browser-path`);
  }
  const root = repoRoot();
  // Loaded here, not at the top: the Node bench and its device bundle run without them.
  const { createServer } = await import('vite');
  const { default: puppeteer } = await import('puppeteer-core');

  const server = await createServer({
    configFile: false,
    root: join(root, 'bench/browser'),
    cacheDir: join(root, 'node_modules/.vite-bench-browser'),
    logLevel: 'warn',
    clearScreen: false,
    server: { host: '127.0.0.1', port: 5196, strictPort: false, fs: { allow: [root] } },
    // tfjs found before the page loads, so the dev server never reloads it halfway; Dawn is Node's only
    optimizeDeps: { include: ['@tensorflow/tfjs', '@tensorflow/tfjs-backend-webgpu'], exclude: ['webgpu'] },
  });
  let browser: Awaited<ReturnType<typeof puppeteer.launch>> | null = null;
  try {
    await server.listen();
    const url = server.resolvedUrls?.local[0];
    if (!url) throw new Error('bench --browser: the vite server gave no local address');
    browser = await puppeteer.launch({
      executablePath: browserPath,
      headless: true,
      args: [...WEBGPU_ARGS, ...(hasGpuDevice() ? [] : SWIFTSHADER_ARGS)],
    });
    const page = await browser.newPage();
    const run: BrowserRun = { header: '', device: '', results: [], failures: 0 };
    let finish!: () => void;
    let fail!: (error: Error) => void;
    const finished = new Promise<void>((resolve, reject) => [finish, fail] = [resolve, reject]);
    page.on('pageerror', (error) => console.error(`[page] ${(error as Error).message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error' || msg.type() === 'warn') console.error(`[page ${msg.type()}] ${msg.text()}`);
    });
    page.on('error', (error) => fail(new Error(`bench --browser: the page crashed: ${error.message}`)));
    page.on('close', () => fail(new Error('bench --browser: the page closed before the run finished')));
    browser.on('disconnected', () => fail(new Error('bench --browser: the browser went away before the run finished')));
    await page.exposeFunction('__benchReport', (event: BenchEvent) => {
      if (event.type === 'header') {
        [run.header, run.device] = [event.header, event.device];
        o.onHeader?.(event.header, event.device);
      } else if (event.type === 'result') {
        run.results.push(event.result);
        o.onResult?.(event.result);
      } else if (event.type === 'failure') {
        run.failures++;
        o.onFailure?.(event.what, new Error(event.message));
      } else if (event.type === 'done') {
        finish();
      } else {
        fail(new Error(`bench --browser: the page stopped: ${event.message}`));
      }
    });
    const query = new URLSearchParams({ quick: o.quick ? '1' : '0', filter: o.filter, rounds: String(o.rounds) });
    await page.goto(`${url}?${query}`);
    await finished;
    return run;
  } finally {
    await browser?.close().catch(() => undefined);
    await server.close();
  }
}
