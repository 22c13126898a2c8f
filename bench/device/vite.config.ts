// The device bundle: `npm run bench`'s Node bench (bench/peer/main.ts) as
// one ES module with everything in it but Dawn — wgrad, its shaders, and
// tfjs with its WebGPU backend — so a machine with no network and no
// node_modules runs it with a bare `node` (bench/device/prepare.sh builds
// it; run.sh runs it). Dawn stays outside: it is a native addon, shipped
// beside the bundle as node_modules/webgpu.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('../..', import.meta.url));

export default defineConfig({
  root,
  // bench/peer/tfjs.ts imports tfjs's ESM build instead of require()-ing it from node_modules
  define: { __BENCH_INLINE_TFJS__: 'true' },
  build: {
    outDir: fileURLToPath(new URL('pack', import.meta.url)),
    emptyOutDir: false,
    target: 'node20',
    minify: true,
    ssr: fileURLToPath(new URL('../peer/main.ts', import.meta.url)),
    rollupOptions: {
      // vite and puppeteer-core are for --browser only, which the device run does not use
      external: ['webgpu', /^node:/, 'vite', 'puppeteer-core'],
      output: { format: 'es', entryFileNames: 'wgrad-bench.mjs', codeSplitting: false },
    },
  },
  ssr: { noExternal: true, target: 'node' },
  logLevel: 'warn',
});
