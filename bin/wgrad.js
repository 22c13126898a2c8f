#!/usr/bin/env node
// Runs the built CLI (dist/cli.js) in a child process so Dawn's harmless
// stderr lines can be filtered out; everything else passes through.
// SIGINT and SIGTERM are passed on to the child (a training run stops after
// its step, with a checkpoint), and an IPC channel ties the child to this
// process: if this one is killed outright, the channel closes and the child
// stops too.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { constants } from 'node:os';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

if (process.env.WGRAD_CHILD) {
  if (process.channel) {
    process.channel.unref(); // the channel alone must not keep the child alive
    // Parent gone: a training run has its own listener and stops cleanly; anything else ends now.
    process.on('disconnect', () => {
      if (process.listenerCount('disconnect') === 1) process.exit(143);
    });
  }
  // `wgrad train … --json | head -2`: the reader has gone; stop quietly, as Unix tools do.
  process.stdout.on('error', (error) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
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
    stdio: ['inherit', 'inherit', 'pipe', 'ipc'],
    env: { ...process.env, WGRAD_CHILD: '1' },
  });
  createInterface({ input: child.stderr }).on('line', (line) => {
    if (!isDawnNoise(line)) process.stderr.write(line + '\n');
  });
  for (const name of ['SIGINT', 'SIGTERM']) process.on(name, () => child.kill(name));
  child.on('exit', (code, signal) => process.exit(signal ? 128 + (constants.signals[signal] ?? 0) : (code ?? 1)));
}
