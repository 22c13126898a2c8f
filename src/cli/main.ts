// The `wgrad` command. bin/wgrad.js runs this file and filters Dawn's
// harmless stderr noise (see dawn-noise.ts).
import { parseArgs } from 'node:util';
import { info } from './info';
import { flagHelp, type Flags } from './args';
import { EVAL_FLAGS, TRAIN_CLASSIFIER_FLAGS, evalCommand, trainClassifierCommand } from './classifier';
import { SAMPLE_DCGAN_FLAGS, TRAIN_DCGAN_FLAGS, sampleDcgan, trainDcgan } from './dcgan';
import { SAMPLE_DIFFUSION_FLAGS, TRAIN_DIFFUSION_FLAGS, sampleDiffusion, trainDiffusion } from './diffusion';
import { TUNE_FLAGS, tuneCommand } from './tune';
import { INTERPOLATE_VAE_FLAGS, LATENT_MAP_VAE_FLAGS, SAMPLE_VAE_FLAGS, TRAIN_VAE_FLAGS, interpolateVae, latentMapVae, sampleVae, trainVae } from './vae';

interface ModelCommand {
  flags: Flags;
  run(args: string[]): Promise<number>;
}

const TRAIN: Record<string, ModelCommand> = {
  dcgan: { flags: TRAIN_DCGAN_FLAGS, run: trainDcgan },
  classifier: { flags: TRAIN_CLASSIFIER_FLAGS, run: trainClassifierCommand },
  vae: { flags: TRAIN_VAE_FLAGS, run: trainVae },
  diffusion: { flags: TRAIN_DIFFUSION_FLAGS, run: trainDiffusion },
};

const SAMPLE: Record<string, ModelCommand> = {
  dcgan: { flags: SAMPLE_DCGAN_FLAGS, run: sampleDcgan },
  vae: { flags: SAMPLE_VAE_FLAGS, run: sampleVae },
  diffusion: { flags: SAMPLE_DIFFUSION_FLAGS, run: sampleDiffusion },
};

const OTHER: Record<string, ModelCommand> = {
  eval: { flags: EVAL_FLAGS, run: evalCommand },
  'latent-map': { flags: LATENT_MAP_VAE_FLAGS, run: latentMapVae },
  interpolate: { flags: INTERPOLATE_VAE_FLAGS, run: interpolateVae },
  tune: { flags: TUNE_FLAGS, run: tuneCommand },
};

function usage(): string {
  const section = (title: string, commands: Record<string, ModelCommand>) =>
    Object.entries(commands).map(([name, c]) => `  ${title}${name}\n${flagHelp(c.flags)}`).join('\n\n');
  return `usage: wgrad <command> [options]

commands:
  info
  --size N              matrix size of the checked matmul (default 512)
  --backend B           auto | webgpu | cpu (default auto)

${section('train ', TRAIN)}

${section('sample ', SAMPLE)}
${Object.keys(OTHER).length ? `\n${section('', OTHER)}\n` : ''}
  help                  this text`;
}

function pick(kind: string, table: Record<string, ModelCommand>, name: string | undefined): ModelCommand {
  const command = name === undefined ? undefined : table[name];
  if (!command) {
    throw new Error(`wgrad ${kind}: ${name === undefined ? 'which model?' : `unknown model '${name}'`}; valid: ${Object.keys(table).join(', ')}`);
  }
  return command;
}

export async function main(argv: string[]): Promise<number> {
  const [command = 'help', ...rest] = argv;
  if (command === 'help' || command === '--help' || command === '-h') {
    console.log(usage());
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
  const wantsHelp = (args: string[]) => args.includes('--help') || args.includes('-h');
  const run = (title: string, c: ModelCommand, args: string[]) => {
    if (!wantsHelp(args)) return c.run(args);
    console.log(`usage: wgrad ${title} [options]\n\n${flagHelp(c.flags)}`);
    return 0;
  };
  for (const [name, table] of [['train', TRAIN], ['sample', SAMPLE]] as const) {
    if (command !== name) continue;
    if (rest[0] === '--help' || rest[0] === '-h') {
      console.log(`usage: wgrad ${name} <model> [options]\n\n${Object.entries(table).map(([model, c]) => `  ${name} ${model}\n${flagHelp(c.flags)}`).join('\n\n')}`);
      return 0;
    }
    return run(`${name} ${rest[0]}`, pick(name, table, rest[0]), rest.slice(1));
  }
  if (command in OTHER) return run(command, OTHER[command], rest);
  console.error(`wgrad: unknown command '${command}'; valid: info, train, sample${Object.keys(OTHER).map((c) => `, ${c}`).join('')}, help\n\n${usage()}`);
  return 2;
}

export { isDawnNoise } from './dawn-noise';
