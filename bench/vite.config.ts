// Bundles the benchmarks into dist-bench/ as Node scripts (the shaders
// inlined like the library's), so they run with plain `node`.
import { defineConfig } from 'vite';

export default defineConfig({
  build: {
    outDir: 'dist-bench',
    target: 'node20',
    minify: false,
    ssr: true,
    rollupOptions: {
      input: { matmul: 'bench/matmul.ts', conv: 'bench/conv.ts', peer: 'bench/peer/main.ts' },
      // tfjs is loaded with require at run time (its ESM build does not resolve in Node);
      // vite and puppeteer-core only with --browser (bench/browser/drive.ts)
      external: ['webgpu', /^node:/, /^@tensorflow\//, 'vite', 'puppeteer-core'],
      output: { format: 'es', entryFileNames: '[name].js' },
    },
  },
  ssr: { noExternal: ['wgsl_reflect'] },
});
