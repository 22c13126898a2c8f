// Playwright runs the shared GPU checks (tests/cases/) in Chromium, so the
// browser path is tested, not assumed (DESIGN.md, "Testing").
// The browser is the system's /usr/bin/chromium (Debian's chromium package,
// installed by scripts/setup.mjs); Playwright never downloads one. On a machine
// without a GPU, WebGPU runs on SwiftShader — a CPU, hence the long timeouts.

import { defineConfig } from '@playwright/test';

const CHECKS_PORT = 5183; // as in tests/browser/vite.config.ts
const DEMOS_PORT = 5190; // as in demos/vite.config.ts
const isCI = !!process.env.CI;

// WebGPU on SwiftShader in headless Chromium (DESIGN.md, "Runtime on a machine
// without a GPU"). On a machine with a GPU, Chromium still picks SwiftShader
// with these flags: the point is a check that runs anywhere.
const chromiumArgs = [
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-vulkan=swiftshader',
  '--use-webgpu-adapter=swiftshader',
  '--no-sandbox',
  '--headless=new',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

export default defineConfig({
  outputDir: 'test-results',
  timeout: 10 * 60_000,
  expect: { timeout: 30_000 },
  forbidOnly: isCI,
  retries: 0,
  workers: 1,
  fullyParallel: false,
  reporter: 'list',
  use: {
    browserName: 'chromium',
    headless: true,
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: chromiumArgs,
    },
  },
  projects: [
    // the shared GPU-vs-CPU cases
    { name: 'gpu-checks', testDir: 'tests/browser', use: { baseURL: `http://127.0.0.1:${CHECKS_PORT}` } },
    // the demo pages (demos/), as a visitor uses them
    { name: 'demos', testDir: 'tests/demos', use: { baseURL: `http://127.0.0.1:${DEMOS_PORT}` } },
  ],
  webServer: [
    {
      command: 'node node_modules/vite/bin/vite.js --config tests/browser/vite.config.ts',
      url: `http://127.0.0.1:${CHECKS_PORT}/`,
      reuseExistingServer: !isCI,
      timeout: 120_000,
      stdout: 'ignore',
      stderr: 'pipe',
    },
    {
      command: 'node node_modules/vite/bin/vite.js --config demos/vite.config.ts',
      url: `http://127.0.0.1:${DEMOS_PORT}/`,
      reuseExistingServer: !isCI,
      timeout: 120_000,
      stdout: 'ignore',
      stderr: 'pipe',
    },
  ],
});
