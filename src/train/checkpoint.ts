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

/**
 * The most fixed noise vectors a run keeps for its sample grids: a config
 * asking for more (a tampered checkpoint's, say) is refused before the
 * noise is drawn.
 */
export const MAX_FIXED_SAMPLES = 1024;

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

/** What the metadata holds once checked: each key's value parsed and of the right kind. */
interface CheckedMetadata {
  model: string;
  config: Record<string, unknown>;
  step: number;
  /** null in a file of weights only (no training state) */
  rng: RandomState | null;
  parts: string[] | null;
}

/** A metadata value for a message: quoted, and cut short past 60 characters. */
function shown(value: string): string {
  return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
}

/**
 * Checks every wgrad.* metadata key against what writeCheckpoint writes
 * (the random stream and the parts only where `requireTrainingState` or
 * where present), before any tensor is read: a fault names the file, the key and the value
 * found, never a raw JavaScript error.
 */
function checkMetadata(metadata: Record<string, string>, source: string, requireTrainingState: boolean): CheckedMetadata {
  const fault = (key: string, want: string) =>
    new Error(`${source}: the checkpoint's '${key}' metadata must be ${want}, found ${key in metadata ? shown(metadata[key]) : 'nothing'}`);
  const json = (key: string, want: string): unknown => {
    if (!(key in metadata)) throw fault(key, want);
    try {
      return JSON.parse(metadata[key]);
    } catch {
      throw fault(key, want);
    }
  };
  const model = metadata['wgrad.model'];
  if (!model) throw new Error(`${source}: not a wgrad checkpoint (no 'wgrad.model' in its metadata)`);
  const config = json('wgrad.config', 'a JSON object (the training config)');
  if (config === null || typeof config !== 'object' || Array.isArray(config)) throw fault('wgrad.config', 'a JSON object (the training config)');
  const step = Number(metadata['wgrad.step'] ?? '0');
  if (!/^\d+$/.test(metadata['wgrad.step'] ?? '0') || !Number.isSafeInteger(step)) throw fault('wgrad.step', 'a whole number of steps');
  // A training checkpoint has both; a file of weights only (a classifier's) has neither.
  const training = requireTrainingState || 'wgrad.rng' in metadata || 'wgrad.parts' in metadata;
  if (!training) return { model, config: config as Record<string, unknown>, step, rng: null, parts: null };
  const rngWant = 'a JSON list of four unsigned 32-bit integers (the random stream)';
  const rng = json('wgrad.rng', rngWant);
  if (!Array.isArray(rng) || rng.length !== 4 || rng.some((v) => !Number.isInteger(v) || v < 0 || v > 0xffffffff)) throw fault('wgrad.rng', rngWant);
  const partsWant = 'a JSON list of distinct, non-empty names (the state dicts\' prefixes)';
  const parts = json('wgrad.parts', partsWant);
  if (!Array.isArray(parts) || parts.some((p) => typeof p !== 'string' || p === '') || new Set(parts).size !== parts.length) {
    throw fault('wgrad.parts', partsWant);
  }
  return { model, config: config as Record<string, unknown>, step, rng: rng as RandomState, parts: parts as string[] };
}

/** The metadata of a checkpoint, checked, without reading its tensors. */
export function checkpointInfo(bytes: Uint8Array, source: string): CheckpointInfo<unknown> & { metadata: Record<string, string> } {
  const metadata = safetensorsMetadata(bytes, source);
  const { model, config, step } = checkMetadata(metadata, source, false);
  return { model, config, step, metadata };
}

/**
 * Reads a checkpoint written by writeCheckpoint. Refuses (naming `source`)
 * a file that is not one, or one of another model kind.
 */
export function readCheckpoint<C>(bytes: Uint8Array, source: string, expectedModel: string): Checkpoint<C> {
  const metadata = safetensorsMetadata(bytes, source);
  const kind = checkMetadata(metadata, source, false).model; // another model's file is named as such first
  if (kind !== expectedModel) {
    throw new Error(`${source}: this is a '${kind}' checkpoint, expected '${expectedModel}'`);
  }
  const checked = checkMetadata(metadata, source, true);
  const { model, config, step } = checked;
  const rng = checked.rng!;
  const prefixes = checked.parts!;
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
  return { model, config: config as C, step, rng, parts, metadata, dispose };
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
