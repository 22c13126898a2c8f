// The demo pages: `npm run demo` serves them, `npm run build:demos` builds a
// static site into dist-demos/. Every page is an HTML file in demos/ that
// imports the library straight from ../src (the shaders come in through
// import.meta.glob), so the pages run exactly the code the CLI runs.
import { fileURLToPath } from 'node:url';
import { readdirSync } from 'node:fs';
import { defineConfig } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));
const repoRoot = fileURLToPath(new URL('..', import.meta.url));

/** Every page: demos/*.html, keyed by name. */
const pages = Object.fromEntries(
  readdirSync(here)
    .filter((f) => f.endsWith('.html'))
    .map((f) => [f.replace(/\.html$/, ''), `${here}${f}`]),
);

export const DEMO_PORT = 5190; // playwright.config.ts points at this port

export default defineConfig({
  root: here,
  // Relative URLs: the built site works from any path. GitHub Pages serves it
  // under /wgrad/ (.github/workflows/pages.yml); tests/site.test.ts checks that.
  base: './',
  cacheDir: fileURLToPath(new URL('../node_modules/.vite-demos', import.meta.url)),
  server: {
    host: '127.0.0.1',
    port: DEMO_PORT,
    strictPort: true,
    fs: { allow: [repoRoot] },
  },
  preview: { host: '127.0.0.1', port: DEMO_PORT, strictPort: true },
  // Dawn is for Node only; never bundle it for a page.
  optimizeDeps: { exclude: ['webgpu'] },
  build: {
    outDir: fileURLToPath(new URL('../dist-demos', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    rollupOptions: { input: pages, external: ['webgpu'] },
  },
  clearScreen: false,
});
