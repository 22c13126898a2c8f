// Builds the library to dist/ (the shaders inlined as text through
// import.meta.glob) and configures vitest, which runs the Node tests on
// real Dawn. Three entries: index (the core, for browsers and bundlers),
// node (the same API with Dawn and the Node host: package.json's "node"
// condition) and cli (the `wgrad` command).
import { defineConfig } from 'vitest/config';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// The tests, and the `wgrad` commands they spawn, keep their tuning cache in
// a folder of their own: a cache the user's runs left in ~/.cache/wgrad
// (tuned for older tables, say) must not change what a test sees.
const testCache = process.env.VITEST ? mkdtempSync(join(tmpdir(), 'wgrad-test-cache-')) : '';

export default defineConfig({
  build: {
    outDir: 'dist',
    target: 'es2022',
    minify: false,
    sourcemap: true,
    lib: {
      entry: { index: 'src/index.ts', node: 'src/node/index.ts', cli: 'src/cli/main.ts' },
      formats: ['es'],
    },
    rollupOptions: {
      // Dawn is a native addon, and cli-progress a CommonJS module on Node's
      // builtins: both are loaded at run time, in Node only (src/node, src/cli).
      external: ['webgpu', 'cli-progress', /^node:/],
    },
  },
  test: {
    include: ['tests/**/*.test.ts'],
    exclude: ['tests/browser/**', 'node_modules/**'],
    // SwiftShader runs WebGPU on the CPU: kernels are slow, so are tests.
    testTimeout: 300_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
    env: { XDG_CACHE_HOME: testCache },
    server: {
      // wgsl_reflect's "main" is CommonJS under "type": "module"; let vite
      // load its ESM build instead of Node.
      deps: { inline: ['wgsl_reflect'] },
    },
  },
});
