// Training checkpoints: one safetensors file holding several state dicts
// under prefixes (`generator.net.0.weight`, `optG.3.exp_avg`, ...) and, in
// the metadata, what is needed to go on exactly where training stopped:
// the model kind, its config, the step and the random stream's state.
// Browser-safe: bytes in, bytes out.
import { getRandomState, setRandomState, type RandomState } from '../random';
import { loadSafetensors, safetensorsMetadata, saveSafetensors, type StateDict } from '../io/safetensors';
import type { Tensor } from '../tensor';

export interface CheckpointInfo<C> {
  /** 'dcgan', 'vae', 'diffusion', 'classifier' */
  model: string;
  config: C;
  step: number;
}

export interface Checkpoint<C> extends CheckpointInfo<C> {
  rng: RandomState;
  /** the state dicts by prefix */
  parts: Record<string, StateDict>;
  metadata: Record<string, string>;
  /** frees every tensor read from the file */
  dispose(): void;
}

/** Packs the state dicts of `parts` and the training state into safetensors bytes. */
export async function writeCheckpoint<C>(parts: Record<string, StateDict>, info: CheckpointInfo<C>): Promise<Uint8Array> {
  const all: StateDict = {};
  for (const [prefix, dict] of Object.entries(parts)) {
    for (const [key, t] of Object.entries(dict)) all[`${prefix}.${key}`] = t;
  }
  return saveSafetensors(all, {
    'wgrad.model': info.model,
    'wgrad.config': JSON.stringify(info.config),
    'wgrad.step': String(info.step),
    'wgrad.rng': JSON.stringify(getRandomState()),
    'wgrad.parts': JSON.stringify(Object.keys(parts)),
  });
}

/** The metadata of a checkpoint, without reading its tensors. */
export function checkpointInfo(bytes: Uint8Array, source: string): CheckpointInfo<unknown> & { metadata: Record<string, string> } {
  const metadata = safetensorsMetadata(bytes, source);
  const model = metadata['wgrad.model'];
  if (!model) throw new Error(`${source}: not a wgrad checkpoint (no 'wgrad.model' in its metadata)`);
  let config: unknown;
  try {
    config = JSON.parse(metadata['wgrad.config'] ?? '');
  } catch {
    throw new Error(`${source}: the checkpoint's 'wgrad.config' metadata is not valid JSON`);
  }
  const step = Number(metadata['wgrad.step'] ?? '0');
  if (!Number.isInteger(step) || step < 0) throw new Error(`${source}: bad 'wgrad.step' metadata '${metadata['wgrad.step']}'`);
  return { model, config, step, metadata };
}

/**
 * Reads a checkpoint written by writeCheckpoint. Refuses (naming `source`)
 * a file that is not one, or one of another model kind.
 */
export function readCheckpoint<C>(bytes: Uint8Array, source: string, expectedModel: string): Checkpoint<C> {
  const info = checkpointInfo(bytes, source);
  if (info.model !== expectedModel) {
    throw new Error(`${source}: this is a '${info.model}' checkpoint, expected '${expectedModel}'`);
  }
  let rng: RandomState;
  try {
    rng = JSON.parse(info.metadata['wgrad.rng'] ?? '') as RandomState;
  } catch {
    throw new Error(`${source}: the checkpoint's 'wgrad.rng' metadata is not valid JSON`);
  }
  const prefixes = JSON.parse(info.metadata['wgrad.parts'] ?? '[]') as string[];
  const tensors = loadSafetensors(bytes, source);
  const parts: Record<string, StateDict> = {};
  for (const prefix of prefixes) parts[prefix] = {};
  const stray: string[] = [];
  for (const [key, t] of Object.entries(tensors)) {
    const prefix = prefixes.find((p) => key.startsWith(`${p}.`));
    if (prefix === undefined) stray.push(key);
    else parts[prefix][key.slice(prefix.length + 1)] = t;
  }
  const dispose = () => {
    for (const t of Object.values(tensors) as Tensor[]) t.dispose();
  };
  if (stray.length) {
    dispose();
    throw new Error(`${source}: tensors outside the checkpoint's parts (${prefixes.join(', ')}): ${stray.slice(0, 5).join(', ')}`);
  }
  return { model: info.model, config: info.config as C, step: info.step, rng, parts, metadata: info.metadata, dispose };
}

/** A trainer as restoreTrainer sees it: a step counter and something to free. */
export interface Resumable {
  step: number;
  dispose(): void;
}

/**
 * A trainer in the state a checkpoint was saved in, ready to go on: made
 * from the saved config, each of the `required` parts copied in by `load`,
 * then the step and the random stream restored. Every refusal names
 * `source`; a trainer that fails half-way is freed, and nothing global
 * (the random stream) changes unless the whole load succeeds.
 */
export function restoreTrainer<C, T extends Resumable>(
  bytes: Uint8Array, source: string, model: string,
  options: { label: string; required: string[]; make: (config: C) => T; load: (trainer: T, parts: Record<string, StateDict>) => void },
): T {
  const ckpt = readCheckpoint<C>(bytes, source, model);
  const stream = getRandomState(); // making a trainer seeds the stream; a refusal puts it back
  try {
    let trainer: T;
    try {
      trainer = options.make(ckpt.config);
    } catch (error) {
      setRandomState(stream);
      throw new Error(`${source}: bad ${options.label} config in the checkpoint: ${(error as Error).message}`);
    }
    try {
      const missing = options.required.filter((name) => !ckpt.parts[name]);
      if (missing.length) throw new Error(`it lacks ${missing.join(', ')} (of ${options.required.join(', ')})`);
      options.load(trainer, ckpt.parts);
    } catch (error) {
      trainer.dispose();
      setRandomState(stream);
      throw new Error(`${source}: ${(error as Error).message}`);
    }
    trainer.step = ckpt.step;
    setRandomState(ckpt.rng);
    return trainer;
  } finally {
    ckpt.dispose();
  }
}

/** Copies a checkpoint's fixed sampling noise into `target`, refusing another shape. */
export function loadFixedNoise(target: Tensor, saved: StateDict): void {
  const fixed = saved.fixed;
  if (!fixed) throw new Error('it lacks noise.fixed');
  if (fixed.shape.join() !== target.shape.join()) throw new Error(`fixed noise shape [${fixed.shape}], expected [${target.shape}]`);
  target.assign(fixed);
}

/**
 * Refuses weights that hold NaN or ±Inf (a run that diverged before its
 * guard, or a damaged file): sampling from them would draw a blank picture
 * and call it a success. One readback per tensor; `source` names the file.
 */
export async function checkFinite(dict: StateDict, source: string): Promise<void> {
  const bad: string[] = [];
  for (const [key, t] of Object.entries(dict)) {
    const values = await t.toArray();
    const count = values.reduce((n, v) => (Number.isFinite(v) ? n : n + 1), 0);
    if (count) bad.push(`${key} (${count} of ${values.length})`);
  }
  if (bad.length) {
    const shown = bad.slice(0, 5).join(', ') + (bad.length > 5 ? `, … and ${bad.length - 5} more` : '');
    throw new Error(`${source}: weights hold NaN or Inf: ${shown}; the run diverged before this checkpoint, so go back to an earlier one`);
  }
}
