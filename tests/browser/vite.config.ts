// Serves the browser GPU-check page (tests/browser/index.html) for Playwright:
//   npx vite --config tests/browser/vite.config.ts
// The page imports ../cases and ../../src, and src loads ../../shaders/*.wgsl
// with import.meta.glob, so the dev server may read the whole repository.

import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));


export default defineConfig({
  root: here,
  // Keep this page's dependency cache apart from the demos' one.
  cacheDir: fileURLToPath(new URL('../../node_modules/.vite-browser-tests', import.meta.url)),
  server: {
    host: '127.0.0.1',
    port: 5183, // playwright.config.ts points at this port
    strictPort: true,
    fs: { allow: [repoRoot] },
  },
  // Dawn is for Node only; never pre-bundle it for the page.
  optimizeDeps: { exclude: ['webgpu'] },
  clearScreen: false,
});
