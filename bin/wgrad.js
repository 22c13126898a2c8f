#!/usr/bin/env node
// Runs the built CLI (dist/cli.js) in a child process so Dawn's harmless
// stderr lines can be filtered out; everything else passes through.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

if (process.env.WGRAD_CHILD) {
  const { main } = await import(cli);
  try {
    process.exitCode = await main(process.argv.slice(2));
  } catch (error) {
    console.error(`wgrad: ${error instanceof Error ? error.message : error}`);
    process.exitCode = 1;
  }
} else {
  if (!existsSync(cli)) {
    console.error("wgrad: dist/cli.js is missing; run 'npm run build' first");
    process.exit(1);
  }
  const { isDawnNoise } = await import(cli);
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: ['inherit', 'inherit', 'pipe'],
    env: { ...process.env, WGRAD_CHILD: '1' },
  });
  createInterface({ input: child.stderr }).on('line', (line) => {
    if (!isDawnNoise(line)) process.stderr.write(line + '\n');
  });
  child.on('exit', (code, signal) => process.exit(signal ? 1 : (code ?? 1)));
}
