// The `wgrad` command. bin/wgrad.js runs this file and filters Dawn's
// harmless stderr noise (see dawn-noise.ts).
import { parseArgs } from 'node:util';
import { info } from './info';

const USAGE = `usage: wgrad <command> [options]

commands:
  info    backend, adapter, limits, and one matmul checked against the CPU reference
          --size N      matrix size (default 512)
          --backend B   auto | webgpu | cpu (default auto)
  help    this text`;

export async function main(argv: string[]): Promise<number> {
  const [command = 'help', ...rest] = argv;
  if (command === 'help' || command === '--help' || command === '-h') {
    console.log(USAGE);
    return 0;
  }
  if (command === 'info') {
    const { values } = parseArgs({
      args: rest,
      options: { size: { type: 'string', default: '512' }, backend: { type: 'string', default: 'auto' } },
    });
    const size = Number(values.size);
    if (!Number.isInteger(size) || size < 1) throw new Error(`wgrad info: --size must be a positive integer, got '${values.size}'`);
    const backend = values.backend as 'auto' | 'webgpu' | 'cpu';
    return (await info({ size, backend })) ? 0 : 1;
  }
  console.error(`wgrad: unknown command '${command}'\n\n${USAGE}`);
  return 2;
}

export { isDawnNoise } from './dawn-noise';
