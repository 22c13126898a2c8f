// Module: the base of every layer, as torch.nn.Module. A module's
// parameters are the Tensor-valued properties it owns (in the order they
// were set), its buffers those registered with registerBuffer, and its
// children the Module-valued properties. State-dict keys are the property
// path joined by '.', so `net.0.weight` means property '0' of `net`, as in
// PyTorch; state dicts move between the two by name.
import { Tensor, assignComputed, shapeString } from '../tensor';

/** The first few items of a long list and how many more: an error stays readable with 10,000 stray keys. */
function firstFew(items: string[], separator: string, shown = 8): string {
  if (items.length <= shown) return items.join(separator);
  return `${items.slice(0, shown).join(separator)}${separator}… and ${items.length - shown} more (${items.length} in all)`;
}

export type StateDict = Record<string, Tensor>;

export interface LoadOptions {
  /** every key must match both ways (default true) */
  strict?: boolean;
}

export class Module {
  training = true;
  private bufferNames = new Set<string>();

  /** The layer's computation. Subclasses override it. */
  forward(..._inputs: Tensor[]): Tensor {
    throw new Error(`${this.constructor.name}: forward() is not implemented`);
  }

  /**
   * A function doing this module's forward and then `next`'s in one go (a
   * fused kernel), or null: Sequential asks each module about the one after
   * it. None by default.
   */
  fuseWith(_next: Module): ((x: Tensor) => Tensor) | null {
    return null;
  }

  /** Registers `t` as a buffer: in the state dict, but not a parameter (running statistics). */
  registerBuffer(name: string, t: Tensor): Tensor {
    this.bufferNames.add(name);
    (this as unknown as Record<string, Tensor>)[name] = t;
    return t;
  }

  private ownEntries(): [string, unknown][] {
    return Object.entries(this).filter(([name]) => name !== 'bufferNames' && name !== 'training');
  }

  /** Child modules by property name, in order. */
  namedChildren(): [string, Module][] {
    return this.ownEntries().filter((e): e is [string, Module] => e[1] instanceof Module);
  }

  children(): Module[] {
    return this.namedChildren().map(([, m]) => m);
  }

  /** Every module below this one (itself first), with its key prefix. */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [name, child] of this.namedChildren()) out.push(...child.namedModules(prefix ? `${prefix}.${name}` : name));
    return out;
  }

  namedParameters(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [path, module] of this.namedModules(prefix)) {
      for (const [name, value] of module.ownEntries()) {
        if (value instanceof Tensor && !module.bufferNames.has(name)) out.push([path ? `${path}.${name}` : name, value]);
      }
    }
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  namedBuffers(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [path, module] of this.namedModules(prefix)) {
      for (const name of module.bufferNames) {
        const value = (module as unknown as Record<string, unknown>)[name];
        if (value instanceof Tensor) out.push([path ? `${path}.${name}` : name, value]);
      }
    }
    return out;
  }

  buffers(): Tensor[] {
    return this.namedBuffers().map(([, t]) => t);
  }

  /** Parameters and buffers by key, in PyTorch's order (a module's own, then its children's). */
  stateDict(): StateDict {
    const out: StateDict = {};
    const visit = (module: Module, prefix: string) => {
      const own = module.ownEntries();
      for (const [name, value] of own) {
        if (value instanceof Tensor && !module.bufferNames.has(name)) out[prefix + name] = value;
      }
      for (const name of module.bufferNames) {
        const value = (module as unknown as Record<string, unknown>)[name];
        if (value instanceof Tensor) out[prefix + name] = value;
      }
      for (const [name, child] of module.namedChildren()) visit(child, `${prefix}${name}.`);
    };
    visit(this, '');
    return out;
  }

  /**
   * Copies `state` into this module's parameters and buffers. Every key and
   * every shape is checked first; if anything is wrong nothing is copied and
   * the error lists the missing keys, the unexpected keys and the shape
   * mismatches by name. strict: false tolerates missing and unexpected keys
   * (never a shape mismatch).
   */
  loadStateDict(state: StateDict, options: LoadOptions = {}): void {
    const strict = options.strict ?? true;
    const own = this.stateDict();
    const missing = Object.keys(own).filter((k) => !(k in state));
    const unexpected = Object.keys(state).filter((k) => !(k in own));
    const mismatched: string[] = [];
    const disposed: string[] = [];
    const backends: string[] = [];
    for (const [key, target] of Object.entries(own)) {
      const source = state[key];
      if (!source) continue;
      if (source.disposed) disposed.push(key);
      else if (source.shape.join() !== target.shape.join()) {
        mismatched.push(`${key}: checkpoint ${shapeString(source.shape)} vs model ${shapeString(target.shape)}`);
      } else if (source.backend !== target.backend) backends.push(`${key}: ${source.backend.name} vs ${target.backend.name}`);
    }
    const problems: string[] = [];
    if (strict && missing.length) problems.push(`missing keys: ${firstFew(missing, ', ')}`);
    if (strict && unexpected.length) problems.push(`unexpected keys: ${firstFew(unexpected, ', ')}`);
    if (mismatched.length) problems.push(`shape mismatches: ${firstFew(mismatched, '; ')}`);
    if (disposed.length) problems.push(`disposed tensors: ${firstFew(disposed, ', ')}`);
    if (backends.length) problems.push(`tensors on another backend: ${firstFew(backends, '; ')}`);
    if (problems.length) {
      throw new Error(`loadStateDict: ${this.constructor.name} was left unchanged; ${problems.join('. ')}`);
    }
    for (const [key, target] of Object.entries(own)) {
      const source = state[key];
      if (source) assignComputed(target, () => source.mul(1)); // a copy: the model must not share the caller's tensors
    }
  }

  /** Sets training mode here and below (dropout, batchnorm). */
  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Frees every parameter and buffer. */
  dispose(): void {
    for (const t of Object.values(this.stateDict())) t.dispose();
  }
}

/** Modules applied in order; children keyed '0', '1', ... as torch.nn.Sequential. */
export class Sequential extends Module {
  constructor(...modules: Module[]) {
    super();
    modules.forEach((m, i) => {
      (this as unknown as Record<string, Module>)[String(i)] = m;
    });
  }

  get length(): number {
    return this.children().length;
  }

  at(i: number): Module {
    return this.children()[i];
  }

  /** Each module in turn; where one can fuse the next into its kernels (fuseWith), the two run as one. */
  override forward(x: Tensor): Tensor {
    const modules = this.children();
    for (let i = 0; i < modules.length; i++) {
      const both = i + 1 < modules.length ? modules[i].fuseWith(modules[i + 1]) : null;
      if (both) {
        x = both(x);
        i++;
      } else {
        x = modules[i].forward(x);
      }
    }
    return x;
  }
}
