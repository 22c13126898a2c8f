// The checkpoints wgrad ships in pretrained/ (trained by wgrad itself; each
// one's command is in pretrained/README.md): `--pretrained NAME` stands for
// `--ckpt pretrained/<model>-<NAME>.safetensors`, and `wgrad eval` scores
// against the shipped classifier of the checkpoint's data set by default.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringFlag, type FlagSpec, type FlagValues } from './args';

/** What is shipped, by model kind. */
export const PRETRAINED: Record<string, readonly string[]> = {
  dcgan: ['shapes', 'mnist'],
  vae: ['mnist'],
  diffusion: ['mnist'],
  classifier: ['shapes', 'mnist'],
};

/** The package's pretrained/ folder: found walking up from this file (src/cli/ in tests, dist/ when built). */
function pretrainedFolder(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'pretrained'))) return join(dir, 'pretrained');
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`wgrad: no pretrained/ folder beside the package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

/** The path of a shipped checkpoint; an unknown name is refused with the valid ones. */
export function pretrainedPath(command: string, kind: string, name: string): string {
  const names = PRETRAINED[kind] ?? [];
  if (!names.includes(name)) {
    throw new Error(`${command}: no pretrained ${kind} '${name}'; shipped: ${names.length ? names.join(', ') : 'none'}`);
  }
  const path = join(pretrainedFolder(), `${kind}-${name}.safetensors`);
  if (!existsSync(path)) throw new Error(`${command}: the pretrained ${kind} '${name}' should be at ${path}, which is missing`);
  return path;
}

export function pretrainedFlag(kind: string): FlagSpec {
  return { type: 'string', help: `a checkpoint shipped with wgrad, instead of --ckpt: ${PRETRAINED[kind].join(' | ')}` };
}

/** The checkpoint a sampling command reads: --ckpt F, or --pretrained NAME (exactly one of them). */
export function checkpointPath(command: string, values: FlagValues, kind: string): string {
  if (values.ckpt !== undefined && values.pretrained !== undefined) throw new Error(`${command}: give --ckpt or --pretrained, not both`);
  if (values.pretrained !== undefined) return pretrainedPath(command, kind, stringFlag(command, values, 'pretrained'));
  if (values.ckpt === undefined) throw new Error(`${command}: --ckpt F or --pretrained ${PRETRAINED[kind].join('|')} is required`);
  return stringFlag(command, values, 'ckpt');
}

/** The shipped classifier that scores images of `data` (a data spec such as 'shapes'), or null. */
export function defaultClassifier(data: string): string | null {
  if (!PRETRAINED.classifier.includes(data)) return null;
  const path = join(pretrainedFolder(), `classifier-${data}.safetensors`);
  return existsSync(path) ? path : null;
}
