// wg.optim: SGD, Adam and AdamW, with PyTorch's update rules. Each step is
// one fused kernel per parameter (shaders/optimizer.wgsl; the CPU
// reference in backend/cpu/optim.ts), updating the parameter and its state
// in place; Adam steps every parameter in one dispatch once they are
// packed (see AdamPacks). State lives on the parameter's backend and has a
// state dict, so a checkpoint resumes exactly.
import { Tensor, assignComputed, keep, shapeString } from '../tensor';
import { fullOn } from '../ops/creation';
import type { Pack, Storage } from '../backend/backend';
import type { StateDict } from './module';

function stateTensor(like: Tensor, shape: number[]): Tensor {
  return keep(fullOn(like.backend, shape, 0));
}

export abstract class Optimizer {
  readonly params: Tensor[];
  /** Each parameter's state tensors by name, null until its first step (PyTorch's optimizer.state). */
  protected state: (Record<string, Tensor> | null)[];

  constructor(params: Iterable<Tensor>, readonly name: string) {
    this.params = [...params];
    if (this.params.length === 0) throw new Error(`${name}: got an empty parameter list`);
    this.params.forEach((p, i) => {
      if (!p.requiresGrad) throw new Error(`${name}: parameter ${i} of shape ${shapeString(p.shape)} does not require grad`);
      if (this.params.indexOf(p) !== i) throw new Error(`${name}: parameter ${i} appears twice in the list`);
    });
    this.state = this.params.map(() => null);
  }

  /** The state tensors a parameter gets at its first step, by name, with their shapes. */
  protected abstract stateShapes(p: Tensor): Record<string, number[]>;

  /** Parameter i's state, made (zeros) on first use. */
  protected stateOf(i: number): Record<string, Tensor> {
    const existing = this.state[i];
    if (existing) return existing;
    const made: Record<string, Tensor> = {};
    for (const [key, shape] of Object.entries(this.stateShapes(this.params[i]))) made[key] = stateTensor(this.params[i], shape);
    return (this.state[i] = made);
  }

  /** Drops every parameter's gradient (PyTorch's zero_grad with set_to_none). */
  zeroGrad(): void {
    for (const p of this.params) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  abstract step(): void;

  abstract hyperparameters(): Record<string, number | boolean>;

  /** The state tensors as `<parameter index>.<name>`; hyperparameters are in hyperparameters(). */
  stateDict(): StateDict {
    const out: StateDict = {};
    this.state.forEach((s, i) => {
      if (s) for (const [key, t] of Object.entries(s)) out[`${i}.${key}`] = t;
    });
    return out;
  }

  /**
   * Restores stateDict() output. A parameter's state must be all there or
   * absent (not stepped yet); every key and shape is checked before
   * anything is copied.
   */
  loadStateDict(state: StateDict): void {
    const problems: string[] = [];
    const present = this.params.map(() => new Set<string>());
    for (const [key, t] of Object.entries(state)) {
      const dot = key.indexOf('.');
      const i = Number(key.slice(0, dot));
      const name = key.slice(dot + 1);
      const shape = Number.isInteger(i) && i >= 0 && i < this.params.length ? this.stateShapes(this.params[i])[name] : undefined;
      if (dot < 0 || !shape) problems.push(`unexpected ${key}`);
      else if (t.disposed) problems.push(`${key} was disposed`);
      else if (t.shape.join() !== shape.join()) problems.push(`${key}: ${shapeString(t.shape)} vs ${shapeString(shape)}`);
      else present[i].add(name);
    }
    this.params.forEach((p, i) => {
      const names = Object.keys(this.stateShapes(p));
      const missing = names.filter((n) => !present[i].has(n));
      if (present[i].size > 0 && missing.length > 0) problems.push(`missing ${missing.map((n) => `${i}.${n}`).join(', ')}`);
    });
    if (problems.length) throw new Error(`${this.name}.loadStateDict: state left unchanged; ${problems.join('; ')}`);
    this.params.forEach((_, i) => {
      if (present[i].size === 0) {
        for (const t of Object.values(this.state[i] ?? {})) t.dispose();
        this.state[i] = null;
        return;
      }
      const own = this.stateOf(i);
      for (const name of present[i]) assignComputed(own[name], () => state[`${i}.${name}`].mul(1));
    });
  }

  /** Frees the optimizer's state. */
  dispose(): void {
    for (const t of Object.values(this.stateDict())) t.dispose();
    this.state = this.params.map(() => null);
  }
}

export interface SgdOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
}

export class SGD extends Optimizer {
  readonly options: Required<SgdOptions>;

  constructor(params: Iterable<Tensor>, options: SgdOptions) {
    super(params, 'SGD');
    const { lr, momentum = 0, dampening = 0, weightDecay = 0, nesterov = false } = options;
    if (!(lr >= 0)) throw new Error(`SGD: lr must be a number ≥ 0, got ${lr}`);
    if (!(momentum >= 0)) throw new Error(`SGD: momentum must be ≥ 0, got ${momentum}`);
    if (nesterov && (momentum <= 0 || dampening !== 0)) throw new Error('SGD: nesterov needs momentum > 0 and dampening 0');
    this.options = { lr, momentum, dampening, weightDecay, nesterov };
  }

  protected stateShapes(p: Tensor): Record<string, number[]> {
    return this.options.momentum !== 0 ? { momentum_buffer: p.shape } : {};
  }

  step(): void {
    const { lr, momentum, dampening, weightDecay, nesterov } = this.options;
    const where = 'SGD.step';
    this.params.forEach((p, i) => {
      if (!p.grad) return;
      const firstStep = this.state[i] === null; // the buffer starts as the gradient
      const buffer = momentum !== 0 ? this.stateOf(i).momentum_buffer : null;
      p.backend.sgdStep(p.storageFor(where), p.grad.storageFor(where), buffer ? buffer.storageFor(where) : null, {
        lr, momentum, dampening, weightDecay, nesterov, firstStep,
      });
    });
  }

  hyperparameters(): Record<string, number | boolean> {
    return { ...this.options };
  }
}

export interface AdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
}

export class Adam extends Optimizer {
  readonly options: { lr: number; betas: [number, number]; eps: number; weightDecay: number };

  constructor(params: Iterable<Tensor>, options: AdamOptions = {}, protected readonly decoupled = false, name = 'Adam') {
    super(params, name);
    const { lr = 1e-3, betas = [0.9, 0.999], eps = 1e-8, weightDecay = decoupled ? 1e-2 : 0 } = options;
    if (!(lr >= 0)) throw new Error(`${name}: lr must be a number ≥ 0, got ${lr}`);
    if (!betas.every((b) => b >= 0 && b < 1)) throw new Error(`${name}: betas must be in [0, 1), got [${betas}]`);
    if (!(eps >= 0)) throw new Error(`${name}: eps must be ≥ 0, got ${eps}`);
    this.options = { lr, betas, eps, weightDecay };
  }

  // step: the parameter's own step count t, kept on the device so a step never waits for a readback
  protected stateShapes(p: Tensor): Record<string, number[]> {
    return { step: [], exp_avg: p.shape, exp_avg_sq: p.shape };
  }

  /**
   * Each parameter's step count has a spare: the kernel reads the count
   * from one and writes count + 1 to the other (one dispatch, no race),
   * then the two swap roles.
   */
  private spareSteps: (Tensor | null)[] = [];

  private packs: AdamPacks | null = null;

  private get args() {
    const { lr, betas, eps, weightDecay } = this.options;
    return { lr, beta1: betas[0], beta2: betas[1], eps, weightDecay, decoupled: this.decoupled };
  }

  step(): void {
    const backend = this.params[0].backend;
    const packable = this.params.length > 1 && this.params.every((p) => p.grad && p.backend === backend && p.grad.backend === backend);
    if (packable) {
      this.stepPacked();
      return;
    }
    const where = `${this.name}.step`;
    this.params.forEach((p, i) => {
      if (!p.grad) return;
      const s = this.stateOf(i);
      const next = (this.spareSteps[i] ??= stateTensor(p, []));
      p.backend.adamStep(
        p.storageFor(where), p.grad.storageFor(where), s.exp_avg.storageFor(where), s.exp_avg_sq.storageFor(where),
        s.step.storageFor(where), next.storageFor(where), this.args,
      );
      this.spareSteps[i] = s.step;
      s.step = next;
    });
  }

  /**
   * Every parameter in one dispatch: the gradients are copied into a pack
   * (a copy each, no dispatch) and adam_packed updates the parameters, the
   * moments and the step counts where they live, in packs of their own.
   */
  private stepPacked(): void {
    const where = `${this.name}.step`;
    if (!this.packsInPlace()) this.makePacks();
    const k = this.packs!;
    const backend = this.params[0].backend;
    this.params.forEach((p, i) => backend.copy(k.grads.slices[i], p.grad!.storageFor(where)));
    const [before, after] = k.stepsFirst ? [k.steps[0], k.steps[1]] : [k.steps[1], k.steps[0]];
    backend.adamStepPacked(k.params.whole, k.grads.whole, k.m.whole, k.v.whole, before.whole, after.whole, k.segment, this.args);
    this.params.forEach((_, i) => {
      const s = this.state[i]!;
      const next = this.spareSteps[i]!;
      this.spareSteps[i] = s.step;
      s.step = next;
    });
    k.stepsFirst = !k.stepsFirst;
  }

  /** Whether every parameter and state tensor still lives in the packs (a load or an assign moves it out). */
  private packsInPlace(): boolean {
    const k = this.packs;
    if (!k) return false;
    const [now, spare] = k.stepsFirst ? [k.steps[0], k.steps[1]] : [k.steps[1], k.steps[0]];
    const at = (t: Tensor | null | undefined, slice: Storage) => t?.storageFor(`${this.name}.step`) === slice;
    return this.params.every((p, i) => {
      const s = this.state[i];
      return at(p, k.params.slices[i]) && at(s?.exp_avg, k.m.slices[i]) && at(s?.exp_avg_sq, k.v.slices[i])
        && at(s?.step, now.slices[i]) && at(this.spareSteps[i], spare.slices[i]);
    });
  }

  /** Moves the parameters and their state into fresh packs (their values copied, each tensor then a slice). */
  private makePacks(): void {
    this.releasePacks();
    const backend = this.params[0].backend;
    const sizes = this.params.map((p) => p.size);
    const counts = this.params.map(() => 1);
    const k: AdamPacks = {
      params: backend.pack(sizes), grads: backend.pack(sizes), m: backend.pack(sizes), v: backend.pack(sizes),
      steps: [backend.pack(counts), backend.pack(counts)], stepsFirst: true, segment: null!,
    };
    this.params.forEach((p, i) => {
      const s = this.stateOf(i);
      const spare = (this.spareSteps[i] ??= stateTensor(p, []));
      moveInto(p, k.params.slices[i]);
      moveInto(s.exp_avg, k.m.slices[i]);
      moveInto(s.exp_avg_sq, k.v.slices[i]);
      moveInto(s.step, k.steps[0].slices[i]);
      moveInto(spare, k.steps[1].slices[i]);
    });
    // element e of a pack belongs to the last parameter starting at or before it (padding to the one before)
    const segment = new Float32Array(k.params.whole.size);
    k.params.offsets.forEach((start, i) => segment.fill(k.steps[0].offsets[i], start));
    k.segment = backend.fromArray(segment);
    this.packs = k;
  }

  /** Gives back what only the optimizer holds of its packs; slices still in tensors go with them. */
  private releasePacks(): void {
    const k = this.packs;
    if (!k) return;
    const backend = this.params[0].backend;
    for (const pack of [k.params, k.m, k.v, ...k.steps]) backend.release(pack.whole);
    for (const storage of [k.grads.whole, ...k.grads.slices, k.segment]) backend.release(storage);
    this.packs = null;
  }

  override dispose(): void {
    super.dispose();
    for (const t of this.spareSteps) t?.dispose();
    this.spareSteps = [];
    this.releasePacks();
  }

  hyperparameters(): Record<string, number | boolean> {
    return this.args;
  }
}

/**
 * Adam's parameters and state in packs (Backend.pack: one storage each,
 * every tensor a slice of it at the same offsets), so that one adam_packed
 * dispatch steps them all: params, m, v; the gradients copied into `grads`
 * each step; the step counts in two packs that swap roles each step (read
 * one, write the other); `segment` gives each element of the packs the
 * offset of its parameter's count.
 */
interface AdamPacks {
  params: Pack;
  grads: Pack;
  m: Pack;
  v: Pack;
  steps: [Pack, Pack];
  /** the counts are read from steps[0] next step (else steps[1]) */
  stepsFirst: boolean;
  segment: Storage;
}

/** `t`'s values copied into `slice`, and `t` made a view of it. */
function moveInto(t: Tensor, slice: Storage): void {
  t.backend.copy(slice, t.storageFor('pack'));
  const view = new Tensor(slice, t.shape);
  t.assign(view);
  view.dispose();
}

/** Adam with decoupled weight decay (default 0.01), as torch.optim.AdamW. */
export class AdamW extends Adam {
  constructor(params: Iterable<Tensor>, options: AdamOptions = {}) {
    super(params, options, true, 'AdamW');
  }
}

/**
 * An exponential moving average of weights, in place: for each pair,
 * average ← decay·average + (1 − decay)·source, one fused kernel per
 * tensor (shaders/optimizer.wgsl `ema`), or one for them all where the
 * sources lie in one pack (an Adam's parameters, in its order): the
 * averages are then packed alike, once. No gradient flows through it.
 */
export function emaUpdate(averages: Tensor[], sources: Tensor[], decay: number): void {
  if (averages.length !== sources.length) throw new Error(`emaUpdate: ${averages.length} averages for ${sources.length} sources`);
  if (!(decay >= 0 && decay <= 1)) throw new Error(`emaUpdate: decay must be in [0, 1], got ${decay}`);
  averages.forEach((a, i) => {
    const s = sources[i];
    if (a.shape.join() !== s.shape.join() || a.backend !== s.backend) {
      throw new Error(`emaUpdate: average ${i} ${shapeString(a.shape)} on ${a.backend.name} does not match its source ${shapeString(s.shape)} on ${s.backend.name}`);
    }
  });
  if (averages.length > 1 && emaPacked(averages, sources, decay)) return;
  averages.forEach((a, i) => a.backend.emaStep(a.storageFor('emaUpdate'), sources[i].storageFor('emaUpdate'), decay));
}

/** emaUpdate in one dispatch, if the sources are one run of a pack; false (nothing done) if not. */
function emaPacked(averages: Tensor[], sources: Tensor[], decay: number): boolean {
  const backend = averages[0].backend;
  const where = 'emaUpdate';
  if (![...averages, ...sources].every((t) => t.backend === backend)) return false;
  const source = backend.packedRun(sources.map((t) => t.storageFor(where)));
  if (!source) return false;
  let average = backend.packedRun(averages.map((t) => t.storageFor(where)));
  if (!average) {
    const pack = backend.pack(averages.map((t) => t.size));
    averages.forEach((t, i) => moveInto(t, pack.slices[i]));
    backend.release(pack.whole);
    average = backend.packedRun(averages.map((t) => t.storageFor(where)))!;
  }
  try {
    backend.emaStep(average, source, decay);
  } finally {
    backend.release(average);
    backend.release(source);
  }
  return true;
}

/**
 * The EMA decay after `updates` updates: min(decay, (1 + u)/(10 + u)), the
 * warm-up of TensorFlow's ExponentialMovingAverage, so the average is not
 * dominated by the random initial weights in a short run.
 */
export function emaDecayAt(decay: number, updates: number): number {
  return Math.min(decay, (1 + updates) / (10 + updates));
}
