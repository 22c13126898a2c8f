// wg.optim: SGD, Adam and AdamW, with PyTorch's update rules. Each step is
// one fused kernel per parameter (shaders/optimizer.wgsl; the CPU
// reference in backend/cpu/optim.ts), updating the parameter and its state
// in place. State lives on the parameter's backend and has a state dict, so
// a checkpoint resumes exactly.
import { Tensor, assignComputed, keep, shapeString } from '../tensor';
import { zeros } from '../ops/creation';
import { withBackend } from '../runtime';
import type { StateDict } from './module';

function stateTensor(like: Tensor, shape: number[]): Tensor {
  return keep(withBackend(like.backend.name, () => zeros(shape)));
}

export abstract class Optimizer {
  readonly params: Tensor[];

  constructor(params: Iterable<Tensor>, readonly name: string) {
    this.params = [...params];
    if (this.params.length === 0) throw new Error(`${name}: got an empty parameter list`);
    this.params.forEach((p, i) => {
      if (!p.requiresGrad) throw new Error(`${name}: parameter ${i} of shape ${shapeString(p.shape)} does not require grad`);
      if (this.params.indexOf(p) !== i) throw new Error(`${name}: parameter ${i} appears twice in the list`);
    });
  }

  /** Drops every parameter's gradient (PyTorch's zero_grad with set_to_none). */
  zeroGrad(): void {
    for (const p of this.params) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  abstract step(): void;

  /** The optimizer's tensors by key; hyperparameters are in hyperparameters(). */
  abstract stateDict(): StateDict;

  abstract hyperparameters(): Record<string, number | boolean>;

  /** Restores stateDict() output; checks every key and shape before copying anything. */
  loadStateDict(state: StateDict): void {
    const own = this.stateDict();
    const expected = this.expectedState();
    const problems: string[] = [];
    for (const [key, shape] of Object.entries(expected)) {
      const t = state[key];
      if (!t) problems.push(`missing ${key}`);
      else if (t.shape.join() !== shape.join()) problems.push(`${key}: ${shapeString(t.shape)} vs ${shapeString(shape)}`);
      else if (t.disposed) problems.push(`${key} was disposed`);
    }
    for (const key of Object.keys(state)) if (!(key in expected)) problems.push(`unexpected ${key}`);
    if (problems.length) throw new Error(`${this.name}.loadStateDict: state left unchanged; ${problems.join('; ')}`);
    for (const [key, shape] of Object.entries(expected)) {
      const source = state[key];
      const target = own[key] ?? this.createState(key, shape);
      assignComputed(target, () => source.mul(1));
    }
  }

  /** Every key the optimizer's state dict has once it has stepped, with its shape. */
  protected abstract expectedState(): Record<string, number[]>;
  /** Makes the state tensor `key` (before the first step). */
  protected abstract createState(key: string, shape: number[]): Tensor;

  /** Frees the optimizer's state. */
  dispose(): void {
    for (const t of Object.values(this.stateDict())) t.dispose();
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
  private momentumBuffers: (Tensor | null)[];

  constructor(params: Iterable<Tensor>, options: SgdOptions) {
    super(params, 'SGD');
    const { lr, momentum = 0, dampening = 0, weightDecay = 0, nesterov = false } = options;
    if (!(lr >= 0)) throw new Error(`SGD: lr must be a number ≥ 0, got ${lr}`);
    if (!(momentum >= 0)) throw new Error(`SGD: momentum must be ≥ 0, got ${momentum}`);
    if (nesterov && (momentum <= 0 || dampening !== 0)) throw new Error('SGD: nesterov needs momentum > 0 and dampening 0');
    this.options = { lr, momentum, dampening, weightDecay, nesterov };
    this.momentumBuffers = this.params.map(() => null);
  }

  step(): void {
    const { lr, momentum, dampening, weightDecay, nesterov } = this.options;
    this.params.forEach((p, i) => {
      if (!p.grad) return;
      let buffer = this.momentumBuffers[i];
      const firstStep = momentum !== 0 && buffer === null;
      if (momentum !== 0 && !buffer) buffer = this.momentumBuffers[i] = stateTensor(p, p.shape);
      p.backend.sgdStep(p.storageFor('SGD.step'), p.grad.storageFor('SGD.step'), buffer ? buffer.storageFor('SGD.step') : null, {
        lr, momentum, dampening, weightDecay, nesterov, firstStep,
      });
    });
  }

  stateDict(): StateDict {
    const out: StateDict = {};
    this.momentumBuffers.forEach((b, i) => {
      if (b) out[`${i}.momentum_buffer`] = b;
    });
    return out;
  }

  hyperparameters(): Record<string, number | boolean> {
    return { ...this.options };
  }

  protected expectedState(): Record<string, number[]> {
    const out: Record<string, number[]> = {};
    if (this.options.momentum !== 0) this.params.forEach((p, i) => (out[`${i}.momentum_buffer`] = p.shape));
    return out;
  }

  protected createState(key: string, shape: number[]): Tensor {
    const i = Number(key.split('.')[0]);
    return (this.momentumBuffers[i] = stateTensor(this.params[i], shape));
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
  private moments: ({ m: Tensor; v: Tensor } | null)[];
  /** the step count t, on the device so a step never waits for a readback */
  private stepCount: Tensor | null = null;

  constructor(params: Iterable<Tensor>, options: AdamOptions = {}, protected readonly decoupled = false, name = 'Adam') {
    super(params, name);
    const { lr = 1e-3, betas = [0.9, 0.999], eps = 1e-8, weightDecay = decoupled ? 1e-2 : 0 } = options;
    if (!(lr >= 0)) throw new Error(`${name}: lr must be a number ≥ 0, got ${lr}`);
    if (!betas.every((b) => b >= 0 && b < 1)) throw new Error(`${name}: betas must be in [0, 1), got [${betas}]`);
    if (!(eps >= 0)) throw new Error(`${name}: eps must be ≥ 0, got ${eps}`);
    this.options = { lr, betas, eps, weightDecay };
    this.moments = this.params.map(() => null);
  }

  step(): void {
    const { lr, betas, eps, weightDecay } = this.options;
    const first = this.params.find((p) => p.grad);
    if (!first) return;
    this.stepCount ??= stateTensor(first, []);
    const count = this.stepCount;
    assignComputed(count, () => count.add(1));
    this.params.forEach((p, i) => {
      if (!p.grad) return;
      const state = (this.moments[i] ??= { m: stateTensor(p, p.shape), v: stateTensor(p, p.shape) });
      const where = `${this.name}.step`;
      p.backend.adamStep(p.storageFor(where), p.grad.storageFor(where), state.m.storageFor(where), state.v.storageFor(where), count.storageFor(where), {
        lr, beta1: betas[0], beta2: betas[1], eps, weightDecay, decoupled: this.decoupled,
      });
    });
  }

  stateDict(): StateDict {
    const out: StateDict = {};
    if (this.stepCount) out.step = this.stepCount;
    this.moments.forEach((s, i) => {
      if (s) {
        out[`${i}.exp_avg`] = s.m;
        out[`${i}.exp_avg_sq`] = s.v;
      }
    });
    return out;
  }

  hyperparameters(): Record<string, number | boolean> {
    const { lr, betas, eps, weightDecay } = this.options;
    return { lr, beta1: betas[0], beta2: betas[1], eps, weightDecay, decoupled: this.decoupled };
  }

  protected expectedState(): Record<string, number[]> {
    const out: Record<string, number[]> = { step: [] };
    this.params.forEach((p, i) => {
      out[`${i}.exp_avg`] = p.shape;
      out[`${i}.exp_avg_sq`] = p.shape;
    });
    return out;
  }

  protected createState(key: string, shape: number[]): Tensor {
    if (key === 'step') return (this.stepCount = stateTensor(this.params[0], shape));
    const i = Number(key.split('.')[0]);
    const p = this.params[i];
    this.moments[i] ??= { m: stateTensor(p, p.shape), v: stateTensor(p, p.shape) };
    return key.endsWith('exp_avg') ? this.moments[i]!.m : this.moments[i]!.v;
  }
}

/** Adam with decoupled weight decay (default 0.01), as torch.optim.AdamW. */
export class AdamW extends Adam {
  constructor(params: Iterable<Tensor>, options: AdamOptions = {}) {
    super(params, options, true, 'AdamW');
  }
}
