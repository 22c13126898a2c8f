// wg.nn and wg.optim against PyTorch's semantics: state-dict keys and their
// order, default initialization, loadStateDict's all-or-nothing checks,
// BatchNorm2d's running statistics, the optimizers' exact update rules
// (checked against a plain-JS float64 transcription of torch.optim's
// single-tensor algorithms, on both backends), resuming from an optimizer
// state dict, memory over a training loop, and the small layers.
import { describe, it, expect, beforeAll } from 'vitest';
import * as wg from '../src/node/index';
import { getBackend, withBackend, type BackendName } from '../src/runtime';
import type { WebGpuBackend } from '../src/backend/webgpu';

const { nn } = wg;
type Tensor = wg.Tensor;
const BACKENDS: BackendName[] = ['webgpu', 'cpu'];

beforeAll(async () => {
  await wg.init({ backend: 'webgpu', seed: 0 });
});

// ---- helpers

async function read(t: Tensor): Promise<number[]> {
  return Array.from(await t.toFloat64());
}

/** Every parameter and buffer of a module, read back, by key. */
async function snapshot(m: wg.nn.Module): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {};
  for (const [k, t] of Object.entries(m.stateDict())) out[k] = await read(t);
  return out;
}

function stats(v: ArrayLike<number>): { mean: number; std: number; maxAbs: number } {
  const a = Array.from(v);
  const mean = a.reduce((s, x) => s + x, 0) / a.length;
  const variance = a.reduce((s, x) => s + (x - mean) ** 2, 0) / a.length;
  return { mean, std: Math.sqrt(variance), maxAbs: Math.max(...a.map(Math.abs)) };
}

/** A deterministic stream of numbers in [-1, 1), independent of wg's seed. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32) * 2 - 1;
  };
}

function values(n: number, seed: number, scale = 1): number[] {
  const next = lcg(seed);
  return Array.from({ length: n }, () => next() * scale);
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number, atol: number, what = ''): void {
  expect(actual.length, what).toBe(expected.length);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i] - expected[i]) - (atol + rtol * Math.abs(expected[i]));
    if (!(err <= worst)) {
      worst = err;
      at = i;
    }
  }
  if (at >= 0) {
    expect.fail(`${what}: element ${at} is ${actual[at]}, expected ${expected[at]} (rtol ${rtol}, atol ${atol})`);
  }
}

// ---- 1. module tree, state-dict keys

describe('Module: parameters, buffers and state-dict keys as PyTorch names them', () => {
  const build = () =>
    new nn.Sequential(
      new nn.Conv2d(3, 8, 3),
      new nn.BatchNorm2d(8),
      new nn.LeakyReLU(0.2),
      new nn.Sequential(new nn.Flatten(), new nn.Linear(8 * 4 * 4, 10)),
    );

  it('nested Sequential: keys by index, in PyTorch order, and a working forward', async () => {
    const net = build();
    expect(Object.keys(net.stateDict())).toEqual([
      '0.weight', '0.bias',
      '1.weight', '1.bias', '1.running_mean', '1.running_var', '1.num_batches_tracked',
      '3.1.weight', '3.1.bias',
    ]);
    expect(net.namedParameters().map(([k]) => k)).toEqual(['0.weight', '0.bias', '1.weight', '1.bias', '3.1.weight', '3.1.bias']);
    expect(net.namedBuffers().map(([k]) => k)).toEqual(['1.running_mean', '1.running_var', '1.num_batches_tracked']);
    // parameters() excludes the buffers
    const params = net.parameters();
    expect(params.map((p) => p.shape)).toEqual([[8, 3, 3, 3], [8], [8], [8], [10, 128], [10]]);
    const buffers = net.buffers();
    for (const b of buffers) expect(params).not.toContain(b);
    for (const p of params) expect(p.requiresGrad).toBe(true);
    expect(net.stateDict()['1.num_batches_tracked'].shape).toEqual([]);
    expect(net.length).toBe(4);
    const y = net.forward(wg.randn([2, 3, 6, 6]));
    expect(y.shape).toEqual([2, 10]);
  });

  it('a custom Module: keys by attribute path, own parameters before children', () => {
    class Net extends nn.Module {
      encoder: wg.nn.Sequential;
      head: wg.nn.Linear;
      constructor() {
        super();
        this.encoder = new nn.Sequential(new nn.Linear(4, 8), new nn.ReLU(), new nn.Linear(8, 6));
        this.head = new nn.Linear(6, 2, { bias: false });
      }
      override forward(x: Tensor): Tensor {
        return this.head.forward(this.encoder.forward(x));
      }
    }
    const net = new Net();
    expect(Object.keys(net.stateDict())).toEqual(['encoder.0.weight', 'encoder.0.bias', 'encoder.2.weight', 'encoder.2.bias', 'head.weight']);
    expect(net.forward(wg.randn([3, 4])).shape).toEqual([3, 2]);

    // PyTorch lists a module's own parameters, then its own buffers, then its children,
    // whatever order they were assigned in
    class Scaled extends nn.Module {
      block: wg.nn.Linear;
      scale: Tensor;
      constructor() {
        super();
        this.block = new nn.Linear(2, 2);
        this.scale = wg.ones([2], { requiresGrad: true });
        this.registerBuffer('count', wg.zeros([]));
      }
    }
    const s = new Scaled();
    expect(Object.keys(s.stateDict())).toEqual(['scale', 'count', 'block.weight', 'block.bias']);
    expect(s.namedParameters().map(([k]) => k)).toEqual(['scale', 'block.weight', 'block.bias']);
    expect(s.parameters()).not.toContain(s.stateDict().count);

    // Sequential with more than 10 children keeps numeric order (0, 1, ..., 10, 11), as PyTorch
    const long = new nn.Sequential(...Array.from({ length: 12 }, () => new nn.Linear(1, 1, { bias: false })));
    expect(Object.keys(long.stateDict())).toEqual(Array.from({ length: 12 }, (_, i) => `${i}.weight`));
  });

  it('train() and eval() propagate to every descendant', () => {
    const net = build();
    const inner = net.at(3) as wg.nn.Sequential;
    const all = () => net.namedModules().map(([, m]) => m.training);
    expect(all().every((t) => t)).toBe(true);
    expect(net.eval()).toBe(net);
    expect(all().every((t) => !t)).toBe(true);
    expect(inner.at(1).training).toBe(false);
    net.train();
    expect(all().every((t) => t)).toBe(true);
    inner.eval(); // only the subtree
    expect(net.training).toBe(true);
    expect(net.at(1).training).toBe(true);
    expect(inner.at(0).training).toBe(false);
    net.train(false);
    expect(all().every((t) => !t)).toBe(true);
  });
});

// ---- 2. initialization

describe('default initialization and nn.init, as PyTorch', () => {
  it('Linear(400, 50): weight and bias uniform in ±1/√400', async () => {
    const lin = new nn.Linear(400, 50);
    const bound = 1 / Math.sqrt(400);
    const w = stats(await lin.weight.toArray());
    expect(w.maxAbs).toBeLessThanOrEqual(bound);
    expect(w.maxAbs).toBeGreaterThan(0.99 * bound);
    expect(Math.abs(w.std / (bound / Math.sqrt(3)) - 1)).toBeLessThan(0.1);
    expect(Math.abs(w.mean)).toBeLessThan(0.05 * bound);
    const b = stats(await lin.bias!.toArray());
    expect(b.maxAbs).toBeLessThanOrEqual(bound);
    expect(b.maxAbs).toBeGreaterThan(0.5 * bound);
    expect(b.std).toBeGreaterThan(0);
  });

  it('Conv2d: fan_in = in/groups·kh·kw, for weight and bias', async () => {
    const conv = new nn.Conv2d(16, 32, 3, { groups: 2 });
    expect(conv.weight.shape).toEqual([32, 8, 3, 3]);
    const bound = 1 / Math.sqrt(8 * 9);
    const w = stats(await conv.weight.toArray());
    expect(w.maxAbs).toBeLessThanOrEqual(bound);
    expect(w.maxAbs).toBeGreaterThan(0.98 * bound);
    expect(Math.abs(w.std / (bound / Math.sqrt(3)) - 1)).toBeLessThan(0.1);
    const b = stats(await conv.bias!.toArray());
    expect(b.maxAbs).toBeLessThanOrEqual(bound);
    expect(b.maxAbs).toBeGreaterThan(0.5 * bound);
    // a rectangular kernel
    const rect = new nn.Conv2d(4, 64, [1, 5], { bias: true });
    expect(rect.weight.shape).toEqual([64, 4, 1, 5]);
    const rb = 1 / Math.sqrt(4 * 5);
    expect(stats(await rect.weight.toArray()).maxAbs).toBeGreaterThan(0.95 * rb);
    expect(stats(await rect.weight.toArray()).maxAbs).toBeLessThanOrEqual(rb);
    expect(stats(await rect.bias!.toArray()).maxAbs).toBeLessThanOrEqual(rb);
  });

  it('ConvTranspose2d: weight [in, out/groups, k, k], fan_in from dim 1', async () => {
    const deconv = new nn.ConvTranspose2d(16, 8, 4);
    expect(deconv.weight.shape).toEqual([16, 8, 4, 4]);
    const bound = 1 / Math.sqrt(8 * 16); // dim 1 · receptive field
    const w = stats(await deconv.weight.toArray());
    expect(w.maxAbs).toBeLessThanOrEqual(bound);
    expect(w.maxAbs).toBeGreaterThan(0.98 * bound); // with dim 0 it would stop at 1/√256
    expect(Math.abs(w.std / (bound / Math.sqrt(3)) - 1)).toBeLessThan(0.1);
    // many output channels, few input ones: the bias bound is 1/√(out·k·k), not 1/√(in·k·k)
    const wide = new nn.ConvTranspose2d(4, 64, 2);
    const wb = 1 / Math.sqrt(64 * 4);
    const bias = stats(await wide.bias!.toArray());
    expect(bias.maxAbs).toBeLessThanOrEqual(wb);
    expect(bias.maxAbs).toBeGreaterThan(0.8 * wb);
    expect(stats(await wide.weight.toArray()).maxAbs).toBeLessThanOrEqual(wb);
  });

  it('init.normal, uniform, zeros, kaimingNormal, xavierUniform', async () => {
    const w = wg.zeros([200, 100]);
    wg.nn.init.normal(w, 0, 0.02);
    let s = stats(await w.toArray());
    expect(Math.abs(s.std / 0.02 - 1)).toBeLessThan(0.05);
    expect(Math.abs(s.mean)).toBeLessThan(0.002);

    wg.nn.init.normal(w, 3, 0.5);
    s = stats(await w.toArray());
    expect(Math.abs(s.mean - 3)).toBeLessThan(0.02);
    expect(Math.abs(s.std / 0.5 - 1)).toBeLessThan(0.05);

    wg.nn.init.uniform(w, -2, 3);
    const u = Array.from(await w.toArray());
    expect(Math.min(...u)).toBeGreaterThanOrEqual(-2);
    expect(Math.max(...u)).toBeLessThanOrEqual(3);
    expect(Math.min(...u)).toBeLessThan(-1.99);
    expect(Math.max(...u)).toBeGreaterThan(2.99);
    expect(Math.abs(stats(u).mean - 0.5)).toBeLessThan(0.05);

    wg.nn.init.zeros(w);
    expect((await w.toArray()).every((v) => v === 0)).toBe(true);

    // kaiming_normal_: default a=0, mode fan_in, leaky_relu → gain √2, std = √2/√fan_in
    wg.nn.init.kaimingNormal(w);
    s = stats(await w.toArray());
    expect(Math.abs(s.std / (Math.SQRT2 / Math.sqrt(100)) - 1)).toBeLessThan(0.05);
    wg.nn.init.kaimingNormal(w, { mode: 'fanOut', nonlinearity: 'relu' });
    s = stats(await w.toArray());
    expect(Math.abs(s.std / (Math.SQRT2 / Math.sqrt(200)) - 1)).toBeLessThan(0.05);
    // conv-shaped: fan_in = 6·3·3
    const cw = wg.zeros([64, 6, 3, 3]);
    wg.nn.init.kaimingNormal(cw, { nonlinearity: 'relu' });
    s = stats(await cw.toArray());
    expect(Math.abs(s.std / (Math.SQRT2 / Math.sqrt(54)) - 1)).toBeLessThan(0.05);

    // xavier_uniform_: bound = gain·√(6/(fan_in+fan_out))
    wg.nn.init.xavierUniform(w);
    const xb = Math.sqrt(6 / 300);
    s = stats(await w.toArray());
    expect(s.maxAbs).toBeLessThanOrEqual(xb);
    expect(s.maxAbs).toBeGreaterThan(0.99 * xb);
    expect(Math.abs(s.std / (xb / Math.sqrt(3)) - 1)).toBeLessThan(0.05);
    wg.nn.init.xavierUniform(w, 2);
    expect(stats(await w.toArray()).maxAbs).toBeGreaterThan(0.99 * 2 * xb);
    expect(stats(await w.toArray()).maxAbs).toBeLessThanOrEqual(2 * xb);
  });

  it('the same seed gives the same weights (on both backends); another seed does not', async () => {
    wg.seed(123);
    const a = new nn.Sequential(new nn.Conv2d(2, 4, 3), new nn.Linear(5, 3));
    wg.seed(123);
    const b = new nn.Sequential(new nn.Conv2d(2, 4, 3), new nn.Linear(5, 3));
    wg.seed(123);
    const c = withBackend('cpu', () => new nn.Sequential(new nn.Conv2d(2, 4, 3), new nn.Linear(5, 3)));
    wg.seed(124);
    const d = new nn.Sequential(new nn.Conv2d(2, 4, 3), new nn.Linear(5, 3));
    const [sa, sb, sc, sd] = await Promise.all([snapshot(a), snapshot(b), snapshot(c), snapshot(d)]);
    expect(sb).toEqual(sa);
    expect(sc).toEqual(sa);
    expect(sd['0.weight']).not.toEqual(sa['0.weight']);
    expect(c.parameters()[0].backend.name).toBe('cpu');
  });
});

// ---- 3. loadStateDict

describe('Module.loadStateDict: checks everything first, copies only then', () => {
  const arch = () => new nn.Sequential(new nn.Conv2d(2, 3, 3), new nn.BatchNorm2d(3), new nn.Flatten(), new nn.Linear(12, 4));

  async function pair() {
    wg.seed(5);
    const model = arch();
    model.forward(wg.randn([2, 2, 4, 4])); // running stats and num_batches_tracked away from their defaults
    wg.seed(6);
    const donor = arch();
    donor.forward(wg.randn([2, 2, 4, 4]).mul(3).add(1));
    donor.forward(wg.randn([2, 2, 4, 4]));
    return { model, donor, before: await snapshot(model) };
  }

  it('refuses a missing key, an unexpected key, a shape mismatch, naming them, and changes nothing', async () => {
    const { model, donor, before } = await pair();
    const tensorsBefore = model.stateDict();
    const good = donor.stateDict();

    const missing = { ...good };
    delete missing['1.running_var'];
    delete missing['3.bias'];
    expect(() => model.loadStateDict(missing)).toThrow(/missing keys: 1\.running_var, 3\.bias/);
    expect(await snapshot(model)).toEqual(before);

    const unexpected = { ...good, 'extra.weight': wg.zeros([2]), '1.running_mean_typo': wg.zeros([3]) };
    expect(() => model.loadStateDict(unexpected)).toThrow(/unexpected keys: extra\.weight, 1\.running_mean_typo/);
    expect(await snapshot(model)).toEqual(before);

    const mismatch = { ...good, '3.weight': wg.zeros([4, 13]) };
    let message = '';
    try {
      model.loadStateDict(mismatch);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/shape mismatch/);
    expect(message).toMatch(/3\.weight/);
    expect(message).toContain('[4, 13]');
    expect(message).toContain('[4, 12]');
    expect(message).not.toMatch(/0\.weight|1\.running/);
    expect(await snapshot(model)).toEqual(before);

    // all three at once: every problem listed
    const all = { ...missing, 'extra.weight': wg.zeros([2]), '0.bias': wg.zeros([4]) };
    try {
      model.loadStateDict(all);
      expect.fail('loadStateDict accepted a broken state dict');
    } catch (e) {
      message = (e as Error).message;
    }
    for (const key of ['1.running_var', '3.bias', 'extra.weight', '0.bias']) expect(message).toContain(key);
    expect(await snapshot(model)).toEqual(before);

    // 10,000 stray keys: the first few and a count, not a 99 KB message
    const flood: Record<string, wg.Tensor> = { ...good };
    const stray = wg.zeros([1]);
    for (let i = 0; i < 10_000; i++) flood[`stray.${i}`] = stray;
    try {
      model.loadStateDict(flood);
      expect.fail('loadStateDict accepted 10,000 unexpected keys');
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/unexpected keys: stray\.0, stray\.1, .*stray\.7, … and 9992 more \(10000 in all\)/);
    expect(message.length).toBeLessThan(1000);
    stray.dispose();
    expect(await snapshot(model)).toEqual(before);

    // the model's tensors are the same objects as before
    const tensorsAfter = model.stateDict();
    for (const k of Object.keys(tensorsBefore)) expect(tensorsAfter[k]).toBe(tensorsBefore[k]);
  });

  it('strict: false tolerates missing and unexpected keys, never a shape mismatch', async () => {
    const { model, donor, before } = await pair();
    const src = await snapshot(donor);
    const partial: Record<string, Tensor> = { ...donor.stateDict(), 'extra.weight': wg.zeros([2]) };
    delete partial['0.weight'];
    delete partial['1.num_batches_tracked'];

    const bad = { ...partial, '1.running_mean': wg.zeros([4]) };
    expect(() => model.loadStateDict(bad, { strict: false })).toThrow(/1\.running_mean/);
    expect(await snapshot(model)).toEqual(before);

    model.loadStateDict(partial, { strict: false });
    const after = await snapshot(model);
    for (const k of Object.keys(after)) {
      if (k === '0.weight' || k === '1.num_batches_tracked') expect(after[k], k).toEqual(before[k]);
      else expect(after[k], k).toEqual(src[k]);
    }
  });

  it('a successful load copies the values: later changes to the source do not reach the model', async () => {
    const { model, donor } = await pair();
    const src = await snapshot(donor);
    model.loadStateDict(donor.stateDict());
    expect(await snapshot(model)).toEqual(src);
    // change the donor's tensors in place (an optimizer step writes into their storage), and by assign
    for (const p of donor.parameters()) p.grad = wg.ones(p.shape);
    new wg.optim.SGD(donor.parameters(), { lr: 0.5 }).step();
    donor.forward(wg.randn([2, 2, 4, 4])); // running stats move
    expect((await snapshot(donor))['3.weight']).not.toEqual(src['3.weight']);
    expect(await snapshot(model)).toEqual(src);
    // and training the model leaves the donor alone
    const donorNow = await snapshot(donor);
    for (const p of model.parameters()) p.grad = wg.ones(p.shape);
    new wg.optim.SGD(model.parameters(), { lr: 0.5 }).step();
    expect(await snapshot(donor)).toEqual(donorNow);
  });

  it('round-trips between backends through arrays, and between two fresh models', async () => {
    wg.seed(9);
    const a = arch();
    const b = withBackend('cpu', arch);
    const sa = await snapshot(a);
    const copy: Record<string, Tensor> = {};
    for (const [k, v] of Object.entries(sa)) copy[k] = withBackend('cpu', () => wg.tensor(v, a.stateDict()[k].shape));
    b.loadStateDict(copy);
    expect(await snapshot(b)).toEqual(sa);
  });
});

// ---- 4. BatchNorm2d and GroupNorm

/** Per-channel mean and biased variance of x [N, C, H, W] in float64. */
function channelStats(x: number[], [n, c, h, w]: number[]): { mean: number[]; biased: number[]; unbiased: number[] } {
  const hw = h * w;
  const count = n * hw;
  const mean: number[] = [];
  const biased: number[] = [];
  const unbiased: number[] = [];
  for (let ch = 0; ch < c; ch++) {
    let s = 0;
    for (let i = 0; i < n; i++) for (let j = 0; j < hw; j++) s += x[(i * c + ch) * hw + j];
    const m = s / count;
    let q = 0;
    for (let i = 0; i < n; i++) for (let j = 0; j < hw; j++) q += (x[(i * c + ch) * hw + j] - m) ** 2;
    mean.push(m);
    biased.push(q / count);
    unbiased.push(q / (count - 1));
  }
  return { mean, biased, unbiased };
}

function normalizeRef(x: number[], shape: number[], mean: number[], variance: number[], w: number[], b: number[], eps: number): number[] {
  const [, c, h, wd] = shape;
  const hw = h * wd;
  return x.map((v, i) => {
    const ch = Math.floor(i / hw) % c;
    return ((v - mean[ch]) / Math.sqrt(variance[ch] + eps)) * w[ch] + b[ch];
  });
}

describe.each(BACKENDS)('BatchNorm2d and GroupNorm (%s)', (backend) => {
  const tol = backend === 'cpu' ? 1e-10 : 2e-5;
  const shape = [4, 3, 2, 3];
  const batches = [0, 1, 2].map((k) => values(4 * 3 * 2 * 3, 100 + k).map((v, i) => v * (1 + (i % 3)) + k - 1));
  const on = <T>(fn: () => T): T => withBackend(backend, fn);

  it('train mode: per-channel normalization; running stats blend with momentum and the unbiased variance', async () => {
    const bn = on(() => new nn.BatchNorm2d(3, { momentum: 0.3 }));
    // a non-trivial affine transform
    const w = [1.5, -0.5, 2];
    const b = [0.1, 0.2, -0.3];
    bn.loadStateDict({ ...bn.stateDict(), weight: on(() => wg.tensor(w)), bias: on(() => wg.tensor(b)) });
    let rm = [0, 0, 0];
    let rv = [1, 1, 1];
    for (let k = 0; k < 2; k++) {
      const x = on(() => wg.tensor(batches[k], shape));
      const xs = await read(x);
      const y = bn.forward(x);
      expect(y.shape).toEqual(shape);
      const st = channelStats(xs, shape);
      expectClose(await read(y), normalizeRef(xs, shape, st.mean, st.biased, w, b, 1e-5), tol, tol, `output, batch ${k}`);
      rm = rm.map((old, c) => 0.7 * old + 0.3 * st.mean[c]);
      rv = rv.map((old, c) => 0.7 * old + 0.3 * st.unbiased[c]);
      expectClose(await read(bn.running_mean!), rm, tol, tol, `running_mean, batch ${k}`);
      expectClose(await read(bn.running_var!), rv, tol, tol, `running_var, batch ${k}`);
      expect(await bn.num_batches_tracked!.item()).toBe(k + 1);
    }
    // without affine the output has mean 0 and (biased) variance ≈ 1 per channel
    const plain = on(() => new nn.BatchNorm2d(3, { affine: false }));
    expect(plain.parameters()).toEqual([]);
    expect(Object.keys(plain.stateDict())).toEqual(['running_mean', 'running_var', 'num_batches_tracked']);
    const y = await read(plain.forward(on(() => wg.tensor(batches[2], shape))));
    const st = channelStats(y, shape);
    for (let c = 0; c < 3; c++) {
      expect(Math.abs(st.mean[c])).toBeLessThan(1e-5);
      expect(Math.abs(st.biased[c] - 1)).toBeLessThan(1e-3);
    }
  });

  it('momentum null: the cumulative average over the batches seen', async () => {
    const bn = on(() => new nn.BatchNorm2d(3, { momentum: null }));
    const sts = batches.map((x) => channelStats(x.map((v) => Math.fround(v)), shape));
    for (const x of batches) bn.forward(on(() => wg.tensor(x, shape)));
    const avg = (f: (s: (typeof sts)[0]) => number[]) => [0, 1, 2].map((c) => (f(sts[0])[c] + f(sts[1])[c] + f(sts[2])[c]) / 3);
    const ftol = backend === 'cpu' ? 1e-6 : 2e-5; // inputs rounded to float32 above, so compare a bit looser
    expectClose(await read(bn.running_mean!), avg((s) => s.mean), ftol, ftol, 'running_mean');
    expectClose(await read(bn.running_var!), avg((s) => s.unbiased), ftol, ftol, 'running_var');
    expect(await bn.num_batches_tracked!.item()).toBe(3);
  });

  it('running statistics of more channels than a workgroup: each channel blended, the batch counted once', async () => {
    const channels = 300;
    const bn = on(() => new nn.BatchNorm2d(channels, { momentum: 0.25 }));
    const big = [2, channels, 1, 2];
    const xs = values(2 * channels * 2, 7).map((v, i) => v + (i % 5));
    const st = channelStats(xs, big);
    for (let k = 1; k <= 2; k++) bn.forward(on(() => wg.tensor(xs, big)));
    // two identical batches: r ← 0.75·r + 0.25·s twice
    const after = (start: number, stat: number) => 0.5625 * start + 0.4375 * stat;
    expectClose(await read(bn.running_mean!), st.mean.map((m) => after(0, m)), tol, tol, 'running_mean');
    expectClose(await read(bn.running_var!), st.unbiased.map((v) => after(1, v)), tol, tol, 'running_var');
    expect(await bn.num_batches_tracked!.item()).toBe(2);
  });

  it('eval mode normalizes with the running statistics and updates nothing', async () => {
    const bn = on(() => new nn.BatchNorm2d(3, { eps: 1e-3 }));
    const rm = [0.5, -1, 2];
    const rv = [0.25, 4, 1.5];
    const w = [2, 1, -1];
    const b = [0, 1, 0.5];
    bn.loadStateDict({
      weight: on(() => wg.tensor(w)), bias: on(() => wg.tensor(b)),
      running_mean: on(() => wg.tensor(rm)), running_var: on(() => wg.tensor(rv)), num_batches_tracked: on(() => wg.tensor(7)),
    });
    bn.eval();
    const x = on(() => wg.tensor(batches[0], shape));
    const y = bn.forward(x);
    expectClose(await read(y), normalizeRef(await read(x), shape, rm, rv, w, b, 1e-3), tol, tol, 'eval output');
    expect(await read(bn.running_mean!)).toEqual(rm);
    expect(await read(bn.running_var!)).toEqual(rv);
    expect(await bn.num_batches_tracked!.item()).toBe(7);
    // and back to train mode uses the batch statistics again
    bn.train();
    bn.forward(x);
    expect(await bn.num_batches_tracked!.item()).toBe(8);
  });

  it('trackRunningStats: false keeps no buffers and always normalizes with the batch statistics, as PyTorch', async () => {
    // BatchNormLayerOptions declares trackRunningStats, so a caller can pass it
    const bn = on(() => new nn.BatchNorm2d(3, { trackRunningStats: false, affine: false }));
    expect(Object.keys(bn.stateDict())).toEqual([]);
    bn.eval();
    const x = on(() => wg.tensor(batches[1], shape));
    const xs = await read(x);
    const st = channelStats(xs, shape);
    expectClose(await read(bn.forward(x)), normalizeRef(xs, shape, st.mean, st.biased, [1, 1, 1], [0, 0, 0], 1e-5), tol, tol, 'eval output');
  });

  it('a GroupNorm layer matches F.groupNorm and a hand computation', async () => {
    const gn = on(() => new nn.GroupNorm(2, 4, { eps: 1e-5 }));
    expect(Object.keys(gn.stateDict())).toEqual(['weight', 'bias']);
    const w = [1, 2, -1, 0.5];
    const b = [0, -1, 1, 0.25];
    gn.loadStateDict({ weight: on(() => wg.tensor(w)), bias: on(() => wg.tensor(b)) });
    const xshape = [2, 4, 2, 2];
    const x = on(() => wg.tensor(values(32, 7).map((v, i) => v * (1 + (i % 5))), xshape));
    const xs = await read(x);
    const y = await read(gn.forward(x));
    const f = await read(wg.F.groupNorm(x, 2, gn.weight, gn.bias, { eps: 1e-5 }));
    expect(y).toEqual(f);
    // groups of 2 channels × 4 pixels = 8 contiguous values
    const ref: number[] = [];
    for (let g = 0; g < 4; g++) {
      const grp = xs.slice(g * 8, g * 8 + 8);
      const m = grp.reduce((s, v) => s + v, 0) / 8;
      const v = grp.reduce((s, u) => s + (u - m) ** 2, 0) / 8;
      grp.forEach((u, j) => {
        const ch = (g % 2) * 2 + Math.floor(j / 4);
        ref.push(((u - m) / Math.sqrt(v + 1e-5)) * w[ch] + b[ch]);
      });
    }
    expectClose(y, ref, tol, tol, 'groupNorm');
  });
});

// ---- 5. optimizers vs a plain-JS transcription of torch.optim

interface SgdHp { lr: number; momentum?: number; dampening?: number; weightDecay?: number; nesterov?: boolean }
interface AdamHp { lr?: number; betas?: [number, number]; eps?: number; weightDecay?: number }

/** torch.optim.SGD, _single_tensor_sgd, in float64. */
class RefSGD {
  bufs: (number[] | null)[];
  constructor(readonly params: number[][], readonly h: SgdHp) {
    this.bufs = params.map(() => null);
  }
  step(grads: (number[] | null)[]): void {
    const { lr, momentum = 0, dampening = 0, weightDecay = 0, nesterov = false } = this.h;
    this.params.forEach((p, i) => {
      const grad = grads[i];
      if (!grad) return;
      let d = grad.map((g, j) => (weightDecay !== 0 ? g + weightDecay * p[j] : g));
      if (momentum !== 0) {
        let buf = this.bufs[i];
        if (buf === null) buf = [...d]; // torch.clone(d_p).detach()
        else buf = buf.map((b, j) => momentum * b + (1 - dampening) * d[j]);
        this.bufs[i] = buf;
        d = nesterov ? d.map((g, j) => g + momentum * buf![j]) : [...buf];
      }
      for (let j = 0; j < p.length; j++) p[j] -= lr * d[j];
    });
  }
}

/** torch.optim.Adam / AdamW, _single_tensor_adam(w), in float64; a step count per parameter. */
class RefAdam {
  state: ({ step: number; m: number[]; v: number[] } | null)[];
  constructor(readonly params: number[][], readonly h: AdamHp, readonly decoupled: boolean) {
    this.state = params.map(() => null);
  }
  step(grads: (number[] | null)[]): void {
    const { lr = 1e-3, betas = [0.9, 0.999], eps = 1e-8, weightDecay = this.decoupled ? 1e-2 : 0 } = this.h;
    const [beta1, beta2] = betas;
    this.params.forEach((p, i) => {
      const grad0 = grads[i];
      if (!grad0) return;
      const st = (this.state[i] ??= { step: 0, m: p.map(() => 0), v: p.map(() => 0) });
      st.step += 1;
      let grad = grad0;
      if (this.decoupled) for (let j = 0; j < p.length; j++) p[j] *= 1 - lr * weightDecay;
      else if (weightDecay !== 0) grad = grad.map((g, j) => g + weightDecay * p[j]);
      for (let j = 0; j < p.length; j++) {
        st.m[j] += (grad[j] - st.m[j]) * (1 - beta1); // exp_avg.lerp_(grad, 1 - beta1)
        st.v[j] = st.v[j] * beta2 + (1 - beta2) * grad[j] * grad[j];
      }
      const bc1 = 1 - beta1 ** st.step;
      const bc2 = 1 - beta2 ** st.step;
      const stepSize = lr / bc1;
      const bc2Sqrt = Math.sqrt(bc2);
      for (let j = 0; j < p.length; j++) {
        const denom = Math.sqrt(st.v[j]) / bc2Sqrt + eps;
        p[j] += -stepSize * (st.m[j] / denom);
      }
    });
  }
}

type OptCase =
  | { name: string; kind: 'SGD'; h: SgdHp }
  | { name: string; kind: 'Adam' | 'AdamW'; h: AdamHp };

const OPT_CASES: OptCase[] = [
  { name: 'SGD plain', kind: 'SGD', h: { lr: 0.1 } },
  { name: 'SGD weight decay', kind: 'SGD', h: { lr: 0.1, weightDecay: 0.05 } },
  { name: 'SGD momentum', kind: 'SGD', h: { lr: 0.1, momentum: 0.9 } },
  { name: 'SGD momentum + dampening + decay', kind: 'SGD', h: { lr: 0.05, momentum: 0.8, dampening: 0.3, weightDecay: 0.01 } },
  { name: 'SGD nesterov + decay', kind: 'SGD', h: { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 0.1 } },
  { name: 'Adam defaults', kind: 'Adam', h: {} },
  { name: 'Adam betas, eps, L2 decay', kind: 'Adam', h: { lr: 0.02, betas: [0.8, 0.95], eps: 1e-3, weightDecay: 0.1 } },
  { name: 'Adam beta1 = 0 (RMSprop-like)', kind: 'Adam', h: { lr: 0.01, betas: [0, 0.9] } },
  { name: 'AdamW default decay', kind: 'AdamW', h: { lr: 0.01 } },
  { name: 'AdamW strong decay', kind: 'AdamW', h: { lr: 0.05, betas: [0.5, 0.9], eps: 1e-4, weightDecay: 0.5 } },
];

const PARAM_SHAPES = [[3, 4], [5], [2, 1, 3]];
const sizeOf = (s: number[]) => s.reduce((a, b) => a * b, 1);

function makeOptimizer(c: OptCase, params: Tensor[]): wg.optim.Optimizer {
  if (c.kind === 'SGD') return new wg.optim.SGD(params, c.h);
  if (c.kind === 'Adam') return new wg.optim.Adam(params, c.h);
  return new wg.optim.AdamW(params, c.h);
}

function makeRef(c: OptCase, params: number[][]): { step(g: (number[] | null)[]): void } {
  return c.kind === 'SGD' ? new RefSGD(params, c.h) : new RefAdam(params, c.h, c.kind === 'AdamW');
}

/** Gradients for step k: different each step and each parameter, some large, some tiny. */
function gradsFor(k: number): number[][] {
  return PARAM_SHAPES.map((s, i) => values(sizeOf(s), 1000 + 17 * k + i, k % 2 ? 3 : 0.5).map((v, j) => (j === 0 ? v * 1e-4 : v)));
}

describe.each(BACKENDS)('optimizers match torch.optim step by step (%s)', (backend) => {
  const on = <T>(fn: () => T): T => withBackend(backend, fn);
  const [rtol, atol] = backend === 'cpu' ? [1e-12, 1e-12] : [1e-5, 1e-6];

  it.each(OPT_CASES.map((c) => [c.name, c] as const))('%s: 5 steps', async (_name, c) => {
    const params = PARAM_SHAPES.map((s, i) => on(() => wg.tensor(values(sizeOf(s), 10 + i, 2), s, { requiresGrad: true })));
    const ref = await Promise.all(params.map(read)); // start from exactly what the backend holds
    const opt = makeOptimizer(c, params);
    const reference = makeRef(c, ref);
    for (let k = 0; k < 5; k++) {
      const grads = gradsFor(k);
      params.forEach((p, i) => (p.grad = on(() => wg.tensor(grads[i], p.shape))));
      const held = await Promise.all(params.map((p) => read(p.grad!)));
      opt.step();
      reference.step(held);
      for (let i = 0; i < params.length; i++) {
        expectClose(await read(params[i]), ref[i], rtol, atol, `${c.name}, step ${k + 1}, param ${i}`);
      }
      opt.zeroGrad();
      for (const p of params) expect(p.grad).toBeNull();
    }
  });

  const SKIP_CASES = [OPT_CASES[3], OPT_CASES[6], OPT_CASES[9]];
  it.each(SKIP_CASES.map((c) => [c.name, c] as const))(
    '%s: a parameter without a gradient is skipped, and its step count (Adam\'s bias correction) does not advance, as PyTorch',
    async (_name, c) => {
      const params = PARAM_SHAPES.map((s, i) => on(() => wg.tensor(values(sizeOf(s), 20 + i, 2), s, { requiresGrad: true })));
      const ref = await Promise.all(params.map(read));
      const opt = makeOptimizer(c, params);
      const reference = makeRef(c, ref);
      // param 1 gets no gradient on steps 1 and 3 (PyTorch: grad None → untouched, its state's step does not advance)
      for (let k = 0; k < 4; k++) {
        const grads: (number[] | null)[] = gradsFor(k);
        if (k === 0 || k === 2) grads[1] = null;
        params.forEach((p, i) => (p.grad = grads[i] ? on(() => wg.tensor(grads[i]!, p.shape)) : null));
        const held = await Promise.all(params.map((p) => (p.grad ? read(p.grad) : null)));
        const untouched = await read(params[1]);
        opt.step();
        reference.step(held);
        if (k === 0 || k === 2) expect(await read(params[1])).toEqual(untouched);
        for (let i = 0; i < params.length; i++) {
          expectClose(await read(params[i]), ref[i], rtol, atol, `${c.name}, step ${k + 1}, param ${i}`);
        }
        opt.zeroGrad();
      }
    },
  );
});

describe.each(BACKENDS)('optim.emaUpdate, the fused weight average (%s)', (backend) => {
  const on = <T>(fn: () => T): T => withBackend(backend, fn);
  const [rtol, atol] = backend === 'cpu' ? [1e-12, 1e-12] : [1e-6, 1e-7];

  it('average ← decay·average + (1 − decay)·source over 3 updates, every parameter shape; bad pairs refused untouched', async () => {
    const sources = PARAM_SHAPES.map((s, i) => on(() => wg.tensor(values(sizeOf(s), 70 + i, 2), s)));
    const averages = PARAM_SHAPES.map((s, i) => on(() => wg.tensor(values(sizeOf(s), 80 + i, 2), s)));
    const expected = await Promise.all(averages.map(read));
    const held = await Promise.all(sources.map(read));
    for (const decay of [0.9, 0.5, 0.999]) {
      wg.optim.emaUpdate(averages, sources, decay);
      expected.forEach((e, i) => e.forEach((v, j) => (e[j] = decay * v + (1 - decay) * held[i][j])));
    }
    for (let i = 0; i < averages.length; i++) expectClose(await read(averages[i]), expected[i], rtol, atol, `ema, param ${i}`);
    const before = await read(averages[0]);
    expect(() => wg.optim.emaUpdate([averages[0]], [sources[1]], 0.9)).toThrow(/emaUpdate: average 0 \[.*\] on \w+ does not match its source/);
    expect(() => wg.optim.emaUpdate(averages, sources, 1.5)).toThrow(/decay must be in \[0, 1\], got 1.5/);
    expect(await read(averages[0])).toEqual(before);
    for (const t of [...sources, ...averages]) t.dispose();
  });

  it('over the parameters of a packed Adam: one dispatch, the same numbers as one per tensor, again after the average is reloaded', async () => {
    const shapes = [[3, 4], [65], [130]];
    const params = shapes.map((s, i) => on(() => wg.tensor(values(sizeOf(s), 40 + i, 2), s, { requiresGrad: true })));
    const opt = new wg.optim.Adam(params, { lr: 0.05 });
    params.forEach((p, i) => (p.grad = on(() => wg.tensor(values(p.size, 50 + i), p.shape))));
    opt.step(); // the parameters now live in Adam's pack
    const averages = shapes.map((s, i) => on(() => wg.tensor(values(sizeOf(s), 60 + i, 2), s)));
    const twins: Tensor[] = [];
    for (const a of averages) {
      const v = await read(a);
      twins.push(on(() => wg.tensor(v, a.shape)));
    }
    for (const [k, decay] of [0.9, 0.5].entries()) {
      const before = backend === 'webgpu' ? (getBackend('webgpu') as WebGpuBackend).ctx.dispatches : 0;
      wg.optim.emaUpdate(averages, params, decay);
      if (backend === 'webgpu' && k === 1) expect((getBackend('webgpu') as WebGpuBackend).ctx.dispatches - before).toBe(1);
      twins.forEach((t, i) => wg.optim.emaUpdate([t], [params[i]], decay)); // one tensor: the per-tensor kernel
      for (let i = 0; i < shapes.length; i++) expect(await read(averages[i]), `update ${k + 1}, average ${i}`).toEqual(await read(twins[i]));
    }
    // a reload moves the averages out of their pack; the next update packs them again
    const reload = (t: Tensor, i: number) => {
      const loaded = on(() => wg.tensor(values(t.size, 90 + i), t.shape));
      t.assign(loaded);
      loaded.dispose();
    };
    averages.forEach(reload);
    twins.forEach(reload);
    wg.optim.emaUpdate(averages, params, 0.7);
    twins.forEach((t, i) => wg.optim.emaUpdate([t], [params[i]], 0.7));
    for (let i = 0; i < shapes.length; i++) expect(await read(averages[i]), `after reload, average ${i}`).toEqual(await read(twins[i]));
    opt.dispose();
    for (const t of [...params, ...averages, ...twins]) t.dispose();
  });
});

// ---- 6. resuming from an optimizer state dict

describe.each(BACKENDS)('Adam over packed parameters: one dispatch a step (%s)', (backend) => {
  const on = <T>(fn: () => T): T => withBackend(backend, fn);
  // sizes around the packs' 64-element alignment, so slices start mid-buffer with padding between
  const shapes = [[3, 4], [65], [2, 1, 3], [64], [130]];
  const fresh = () => shapes.map((s, i) => on(() => wg.tensor(values(sizeOf(s), 80 + i, 2), s, { requiresGrad: true })));
  const gradsAt = (k: number) => shapes.map((s, i) => values(sizeOf(s), 900 + 13 * k + i, k % 2 ? 2 : 0.3));
  const give = (params: Tensor[], k: number, skip: number[] = []) =>
    params.forEach((p, i) => (p.grad = skip.includes(i) ? null : on(() => wg.tensor(gradsAt(k)[i], p.shape))));

  it('matches one optimizer per parameter (the per-tensor kernel) to the bit, through a skipped gradient and a reload', async () => {
    const packed = fresh();
    const single = fresh();
    const h = { lr: 0.02, betas: [0.8, 0.95] as [number, number], weightDecay: 0.05 };
    const optPacked = new wg.optim.AdamW(packed, h);
    const optSingle = single.map((p) => new wg.optim.AdamW([p], h));
    for (let k = 0; k < 6; k++) {
      const skip = k === 2 ? [1] : []; // a step without parameter 1's gradient runs per tensor, as PyTorch skips it
      give(packed, k, skip);
      give(single, k, skip);
      optPacked.step();
      optSingle.forEach((o) => o.step());
      optPacked.zeroGrad();
      optSingle.forEach((o) => o.zeroGrad());
      if (k === 3) {
        // a checkpoint's load moves the state out of the packs; the next step packs it again
        optPacked.loadStateDict(optPacked.stateDict());
      }
      for (let i = 0; i < shapes.length; i++) {
        expect(await read(packed[i]), `step ${k + 1}, param ${i}`).toEqual(await read(single[i]));
      }
    }
    const state = optPacked.stateDict();
    for (let i = 0; i < shapes.length; i++) {
      const own = optSingle[i].stateDict();
      for (const name of ['exp_avg', 'exp_avg_sq', 'step']) expect(await read(state[`${i}.${name}`]), `${i}.${name}`).toEqual(await read(own[`0.${name}`]));
    }
    // parameter 1 skipped one step: its count is one behind
    expect(await state['1.step'].item()).toBe(5);
    expect(await state['0.step'].item()).toBe(6);
    optPacked.dispose();
    optSingle.forEach((o) => o.dispose());
  });

  it('a module loaded between steps keeps training from the loaded weights', async () => {
    const net = on(() => new nn.Sequential(new nn.Linear(5, 7), new nn.ReLU(), new nn.Linear(7, 2)));
    const opt = new wg.optim.Adam(net.parameters(), { lr: 0.05 });
    const x = on(() => wg.tensor(values(15, 3), [3, 5]));
    const trainStep = () => {
      opt.zeroGrad();
      wg.scope(() => net.forward(x).square().mean().backward());
      opt.step();
    };
    trainStep();
    const saved: Record<string, number[]> = {};
    for (const [k, t] of Object.entries(net.stateDict())) saved[k] = [...(await read(t))];
    trainStep();
    net.loadStateDict(Object.fromEntries(Object.entries(saved).map(([k, v]) => [k, on(() => wg.tensor(v, net.stateDict()[k].shape))])));
    for (const [k, t] of Object.entries(net.stateDict())) expectClose(await read(t), saved[k], 0, 0, `${k} after load`);
    trainStep(); // the parameters left the pack; they are packed again, from the loaded values
    const moved = await read(net.stateDict()['0.weight']);
    expect(moved.some((v, j) => v !== saved['0.weight'][j])).toBe(true);
    opt.dispose();
    net.dispose();
    x.dispose();
  });

  it('frees its packs with the optimizer and the parameters', async () => {
    const before = on(() => wg.memory().bytesInUse);
    const params = fresh();
    const opt = new wg.optim.Adam(params, { lr: 0.01 });
    for (let k = 0; k < 2; k++) {
      give(params, k);
      opt.step();
      opt.zeroGrad();
    }
    opt.dispose();
    for (const p of params) p.dispose();
    expect(on(() => wg.memory().bytesInUse)).toBe(before);
  });

  if (backend === 'webgpu') {
    it('records one dispatch for the step, the gradients copied into the pack', async () => {
      const ctx = (getBackend('webgpu') as WebGpuBackend).ctx;
      const params = fresh();
      const opt = new wg.optim.Adam(params, { lr: 0.01 });
      give(params, 0);
      opt.step(); // packs the parameters: copies and fills, once
      opt.zeroGrad();
      give(params, 1);
      const [dispatches, copies] = [ctx.dispatches, ctx.copies];
      opt.step();
      expect(ctx.dispatches - dispatches).toBe(1);
      expect(ctx.copies - copies).toBe(shapes.length);
      opt.dispose();
      for (const p of params) p.dispose();
    });
  }
});

describe.each(BACKENDS)('optimizer stateDict / loadStateDict resume exactly (%s)', (backend) => {
  const on = <T>(fn: () => T): T => withBackend(backend, fn);
  const cases: OptCase[] = [
    { name: 'Adam', kind: 'Adam', h: { lr: 0.01, weightDecay: 0.01 } },
    { name: 'AdamW', kind: 'AdamW', h: { lr: 0.01, betas: [0.8, 0.99] } },
    { name: 'SGD momentum', kind: 'SGD', h: { lr: 0.05, momentum: 0.9, dampening: 0.1, weightDecay: 0.01 } },
    { name: 'SGD nesterov', kind: 'SGD', h: { lr: 0.05, momentum: 0.9, nesterov: true } },
  ];
  const fresh = (seed: number) => PARAM_SHAPES.map((s, i) => on(() => wg.tensor(values(sizeOf(s), seed + i, 2), s, { requiresGrad: true })));
  const stepWith = (opt: wg.optim.Optimizer, params: Tensor[], k: number) => {
    const grads = gradsFor(k);
    params.forEach((p, i) => (p.grad = on(() => wg.tensor(grads[i], p.shape))));
    opt.step();
    opt.zeroGrad();
  };

  it.each(cases.map((c) => [c.name, c] as const))('%s: 3 steps + checkpoint + 2 steps == 5 steps', async (_name, c) => {
    const straight = fresh(50);
    const optA = makeOptimizer(c, straight);
    for (let k = 0; k < 5; k++) stepWith(optA, straight, k);

    const first = fresh(50);
    const optB = makeOptimizer(c, first);
    for (let k = 0; k < 3; k++) stepWith(optB, first, k);
    const sd = optB.stateDict();
    if (c.kind === 'SGD') expect(Object.keys(sd).sort()).toEqual(['0.momentum_buffer', '1.momentum_buffer', '2.momentum_buffer']);
    else {
      // as PyTorch's optimizer.state: each parameter keeps its own step count
      expect(Object.keys(sd).sort()).toEqual([
        '0.exp_avg', '0.exp_avg_sq', '0.step', '1.exp_avg', '1.exp_avg_sq', '1.step', '2.exp_avg', '2.exp_avg_sq', '2.step',
      ]);
    }

    // a copy of the parameters, as a model restored from a checkpoint would hold
    const params2: Tensor[] = [];
    for (const p of first) {
      const v = await read(p);
      params2.push(on(() => wg.tensor(v, p.shape, { requiresGrad: true })));
    }
    const optC = makeOptimizer(c, params2);
    optC.loadStateDict(sd);
    // the loaded state is a copy: moving the source optimizer on does not touch it
    stepWith(optB, first, 7);
    for (let k = 3; k < 5; k++) stepWith(optC, params2, k);

    for (let i = 0; i < straight.length; i++) {
      expect(await read(params2[i]), `param ${i}`).toEqual(await read(straight[i]));
    }
    const sa = optA.stateDict();
    const sc = optC.stateDict();
    for (const k of Object.keys(sa)) expect(await read(sc[k]), k).toEqual(await read(sa[k]));
  });

  it('a wrong shape, a missing key or an unexpected key is refused and changes nothing', async () => {
    for (const c of [cases[0], cases[2]]) {
      const src = fresh(60);
      const optSrc = makeOptimizer(c, src);
      for (let k = 0; k < 2; k++) stepWith(optSrc, src, k);
      const good = optSrc.stateDict();

      const params = fresh(70);
      const opt = makeOptimizer(c, params);
      stepWith(opt, params, 3);
      const readState = async () => {
        const out: Record<string, number[]> = {};
        for (const [k, t] of Object.entries(opt.stateDict())) out[k] = await read(t);
        return out;
      };
      const before = await readState();
      const paramsBefore = await Promise.all(params.map(read));

      const key0 = c.kind === 'SGD' ? '0.momentum_buffer' : '0.exp_avg';
      const key2 = c.kind === 'SGD' ? '2.momentum_buffer' : '2.exp_avg_sq';
      const wrongShape = { ...good, [key2]: on(() => wg.zeros([3, 2])) };
      expect(() => opt.loadStateDict(wrongShape)).toThrow(new RegExp(key2.replace('.', '\\.')));
      expect(await readState()).toEqual(before);
      // A parameter's state must be whole: part of it missing is refused. (All of it
      // missing means "not stepped yet", which PyTorch accepts, so SGD's single
      // momentum_buffer has no partial case.)
      if (c.kind !== 'SGD') {
        const missing = { ...good };
        delete missing[key0];
        expect(() => opt.loadStateDict(missing)).toThrow(new RegExp(key0.replace('.', '\\.')));
        expect(await readState()).toEqual(before);
      }
      const unexpected = { ...good, '3.exp_avg': on(() => wg.zeros([1])) };
      expect(() => opt.loadStateDict(unexpected)).toThrow(/3\.exp_avg/);
      expect(await readState()).toEqual(before);
      expect(await Promise.all(params.map(read))).toEqual(paramsBefore);

      // a load that passes replaces the state with the source's
      opt.loadStateDict(good);
      const after = await readState();
      for (const [k, t] of Object.entries(good)) expect(after[k], k).toEqual(await read(t));
    }
  });

  it("a fresh optimizer's (empty) state dict loads into a fresh optimizer, as in PyTorch", () => {
    for (const c of cases) {
      const a = makeOptimizer(c, fresh(80));
      const b = makeOptimizer(c, fresh(80));
      expect(() => b.loadStateDict(a.stateDict())).not.toThrow();
    }
  });
});

// ---- 7. memory over a training loop

describe('a tiny conv net trained with Adam', () => {
  it('keeps wg.memory().tensors flat across 20 steps, and the loss falls', async () => {
    wg.seed(3);
    const net = new nn.Sequential(
      new nn.Conv2d(1, 4, 3, { padding: 1 }),
      new nn.BatchNorm2d(4),
      new nn.LeakyReLU(0.2),
      new nn.Flatten(),
      new nn.Linear(4 * 6 * 6, 1),
    );
    const opt = new wg.optim.Adam(net.parameters(), { lr: 0.01 });
    const x = wg.randn([8, 1, 6, 6]);
    const y = x.mean([1, 2, 3]).reshape([8, 1]).mul(3).tanh();
    const counts: number[] = [];
    const losses: number[] = [];
    for (let i = 0; i < 20; i++) {
      const loss = wg.scope(() => {
        const l = wg.F.mseLoss(net.forward(x), y);
        l.backward();
        opt.step();
        opt.zeroGrad();
        return l.detach();
      });
      losses.push(await loss.item());
      loss.dispose();
      counts.push(wg.memory().tensors);
    }
    expect(new Set(counts).size, `tensor counts ${counts.join(' ')}`).toBe(1);
    expect(losses[19]).toBeLessThan(losses[0] * 0.5);
    expect(await (net.at(1) as wg.nn.BatchNorm2d).num_batches_tracked!.item()).toBe(20);
  });
});

// ---- 8. small layers

describe('Embedding, Dropout, Upsample, Flatten, Unflatten', () => {
  it('Embedding: rows by index; the gradient lands on the rows used', async () => {
    const emb = new nn.Embedding(10, 4);
    expect(Object.keys(emb.stateDict())).toEqual(['weight']);
    const table = await read(emb.weight);
    const ids = [1, 3, 3, 7, 0, 1];
    const idx = wg.tensor(ids, [2, 3]);
    const out = emb.forward(idx);
    expect(out.shape).toEqual([2, 3, 4]);
    const expected = ids.flatMap((i) => table.slice(i * 4, i * 4 + 4));
    expectClose(await read(out), expected, 0, 0, 'lookup');
    const coef = values(24, 3);
    out.mul(wg.tensor(coef, [2, 3, 4])).sum().backward();
    const grad = await read(emb.weight.grad!);
    const ref = new Array(40).fill(0);
    ids.forEach((id, pos) => {
      for (let d = 0; d < 4; d++) ref[id * 4 + d] += coef[pos * 4 + d];
    });
    expectClose(grad, ref, 1e-6, 1e-6, 'embedding grad');
    for (const unused of [2, 4, 5, 6, 8, 9]) expect(grad.slice(unused * 4, unused * 4 + 4)).toEqual([0, 0, 0, 0]);
    // default init N(0, 1)
    const big = stats(await new nn.Embedding(500, 16).weight.toArray());
    expect(Math.abs(big.std - 1)).toBeLessThan(0.05);
    expect(Math.abs(big.mean)).toBeLessThan(0.05);
  });

  it('Dropout: zeros about p of the values and scales the rest by 1/(1-p) in train mode; identity in eval', async () => {
    const drop = new nn.Dropout(0.25);
    const x = wg.tensor(values(4000, 11).map((v) => v + 2), [40, 100]);
    const xs = await read(x);
    const y = await read(drop.forward(x));
    let zeros = 0;
    y.forEach((v, i) => {
      if (v === 0) zeros++;
      else expect(Math.abs(v - xs[i] / 0.75)).toBeLessThan(1e-5);
    });
    expect(Math.abs(zeros / 4000 - 0.25)).toBeLessThan(0.03);
    drop.eval();
    expect(await read(drop.forward(x))).toEqual(xs);
    expect(Object.keys(drop.stateDict())).toEqual([]);
    // inside a Sequential, eval() reaches it
    const seq = new nn.Sequential(new nn.Dropout(0.9));
    seq.eval();
    expect(await read(seq.forward(x))).toEqual(xs);
    expect(() => new nn.Dropout(1.5)).toThrow(/Dropout: p must be in \[0, 1\]/);
  });

  it('Upsample (nearest), Flatten and Unflatten shapes and values', async () => {
    const x = wg.tensor([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], [1, 2, 2, 3]);
    const up = new nn.Upsample({ scaleFactor: 2 }).forward(x);
    expect(up.shape).toEqual([1, 2, 4, 6]);
    const u = await read(up);
    for (let c = 0; c < 2; c++)
      for (let i = 0; i < 4; i++)
        for (let j = 0; j < 6; j++) expect(u[c * 24 + i * 6 + j]).toBe(1 + c * 6 + Math.floor(i / 2) * 3 + Math.floor(j / 2));

    expect(new nn.Flatten().forward(wg.zeros([2, 3, 4, 5])).shape).toEqual([2, 60]);
    expect(new nn.Flatten(0).forward(wg.zeros([2, 3, 4])).shape).toEqual([24]);
    expect(new nn.Flatten(1, 2).forward(wg.zeros([2, 3, 4, 5])).shape).toEqual([2, 12, 5]);
    expect(new nn.Unflatten(1, [2, 3]).forward(wg.zeros([4, 6])).shape).toEqual([4, 2, 3]);
    expect(new nn.Unflatten(-1, [2, 2]).forward(wg.zeros([2, 3, 4])).shape).toEqual([2, 3, 2, 2]);
    expect(new nn.Unflatten(1, [8, 4, 4]).forward(wg.zeros([2, 128])).shape).toEqual([2, 8, 4, 4]);
    // Flatten then Unflatten is the identity on values
    const img = wg.tensor(values(2 * 3 * 2 * 2, 4), [2, 3, 2, 2]);
    const round = new nn.Sequential(new nn.Flatten(), new nn.Unflatten(1, [3, 2, 2])).forward(img);
    expect(round.shape).toEqual([2, 3, 2, 2]);
    expect(await read(round)).toEqual(await read(img));
  });

  it('layers in a generator-like stack give PyTorch output shapes', () => {
    const g = new nn.Sequential(
      new nn.Linear(8, 16 * 2 * 2),
      new nn.Unflatten(1, [16, 2, 2]),
      new nn.ConvTranspose2d(16, 8, 4, { stride: 2, padding: 1 }),
      new nn.BatchNorm2d(8),
      new nn.ReLU(),
      new nn.Upsample({ scaleFactor: 2 }),
      new nn.Conv2d(8, 3, 3, { padding: 1 }),
      new nn.Tanh(),
    );
    expect(g.forward(wg.randn([2, 8])).shape).toEqual([2, 3, 8, 8]);
    expect(Object.keys(g.stateDict())).toEqual([
      '0.weight', '0.bias', '2.weight', '2.bias',
      '3.weight', '3.bias', '3.running_mean', '3.running_var', '3.num_batches_tracked',
      '6.weight', '6.bias',
    ]);
  });
});

describe('spectralNorm', () => {
  /** The largest singular value of a [rows, cols] matrix, from its Gram matrix's power iteration in float64 (300 rounds). */
  function largestSingularValue(values: ArrayLike<number>, rows: number, cols: number): number {
    let v = Array.from({ length: cols }, (_, i) => Math.cos(i + 1));
    let norm = 0;
    for (let round = 0; round < 300; round++) {
      const u = Array.from({ length: rows }, (_, r) => v.reduce((s, vc, c) => s + values[r * cols + c] * vc, 0));
      const w = Array.from({ length: cols }, (_, c) => u.reduce((s, ur, r) => s + values[r * cols + c] * ur, 0));
      norm = Math.hypot(...w);
      v = w.map((x) => x / norm);
    }
    return Math.sqrt(norm);
  }

  it('keeps PyTorch\'s keys, and its power iteration finds the largest singular value on both backends', async () => {
    for (const backend of BACKENDS) {
      await withBackend(backend, async () => {
        wg.seed(3);
        const conv = nn.spectralNorm(new nn.Conv2d(3, 5, 3, { padding: 1 }));
        expect(Object.keys(conv.stateDict()).sort()).toEqual(['bias', 'weight_orig', 'weight_u', 'weight_v']);
        expect(conv.namedParameters().map(([k]) => k).sort()).toEqual(['bias', 'weight_orig']);
        const x = wg.randn([2, 3, 4, 4]);
        for (let i = 0; i < 60; i++) wg.scope(() => conv.forward(x)); // training mode: a power-iteration round each
        const w = await conv.stateDict().weight_orig.toFloat64();
        const sigma = largestSingularValue(w, 5, 27);
        // eval mode: no iteration; the layer is the plain conv with weight / σ
        conv.eval();
        const got = wg.scope(() => conv.forward(x));
        // (withBackend again: the awaits above left the async callback on the default backend)
        const want = withBackend(backend, () => wg.scope(() => wg.F.conv2d(x, wg.tensor(Array.from(w, (v) => v / sigma), [5, 3, 3, 3]), conv.bias, { padding: 1 })));
        const [a, b] = [await read(got), await read(want)];
        const worst = Math.max(...a.map((v, i) => Math.abs(v - b[i])));
        console.log(`spectralNorm ${backend}: σ ${sigma.toFixed(6)}, |layer − conv(w/σ)| ≤ ${worst.toExponential(2)}`);
        expect(worst).toBeLessThan(1e-4);
        for (const t of [x, got, want]) t.dispose();
        conv.dispose();
      });
    }
  });

  it('its gradient reaches weight_orig through σ: finite differences on the CPU reference, and WebGPU against it', async () => {
    const grads: Record<string, number[]> = {};
    for (const backend of ['cpu', 'webgpu'] as const) {
      await withBackend(backend, async () => {
        wg.seed(5);
        const linear = nn.spectralNorm(new nn.Linear(6, 4));
        const x = wg.randn([3, 6]);
        wg.scope(() => linear.forward(x)); // one training round moves u and v off their start
        linear.eval();
        if (backend === 'cpu') {
          const weight = linear.stateDict().weight_orig;
          const r = await wg.gradcheck((w) => {
            (linear as unknown as { weight_orig: Tensor }).weight_orig = w;
            return linear.forward(x);
          }, [weight], { eps: 1e-6, atol: 1e-7, rtol: 1e-5 });
          (linear as unknown as { weight_orig: Tensor }).weight_orig = weight;
          expect(r.ok, `gradcheck maxAbs ${r.maxAbsError} maxRel ${r.maxRelError}`).toBe(true);
        }
        linear.train();
        const out = linear.forward(x);
        out.square().sum().backward();
        grads[backend] = await read(linear.stateDict().weight_orig.grad!);
        out.dispose();
        x.dispose();
        linear.dispose();
      });
    }
    const worst = Math.max(...grads.webgpu.map((v, i) => Math.abs(v - grads.cpu[i])));
    console.log(`spectralNorm gradient of weight_orig, WebGPU vs CPU: max abs difference ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-4);
  });
});

/**
 * The same input through a Sequential (fused where it can) and through its
 * modules one by one, each output backpropagated against the same random
 * weights; the work on the backend, synchronously, the reads after.
 */
function bothWays(backend: BackendName, fused: wg.nn.Sequential, apart: wg.nn.Sequential, shape: number[], seed: number) {
  return withBackend(backend, () => {
    const data = values(shape.reduce((p, d) => p * d, 1), seed, 2);
    const xs = [fused, apart].map(() => wg.tensor(data, shape, { requiresGrad: true }));
    const y = fused.forward(xs[0]);
    let z = xs[1];
    for (const m of apart.children()) z = m.forward(z);
    const coef = wg.tensor(values(y.size, seed + 100), y.shape);
    y.mul(coef).sum().backward();
    z.mul(coef).sum().backward();
    return { y, z, xs };
  });
}

/** The ops that made y, following each node's first input back. */
function opChain(y: Tensor): string[] {
  const ops: string[] = [];
  for (let t: Tensor | undefined = y; t?.node; t = t.node.inputs[0]) ops.push(t.node.op);
  return ops;
}

describe('a linear layer, a conv, BatchNorm2d or GroupNorm then an activation, in a Sequential: one fused op', () => {
  const ACTIVATIONS: Array<[string, () => wg.nn.Module]> = [
    ['relu', () => new nn.ReLU()],
    ['leakyRelu', () => new nn.LeakyReLU(0.2)],
    ['tanh', () => new nn.Tanh()],
    ['sigmoid', () => new nn.Sigmoid()],
    ['silu', () => new nn.SiLU()],
  ];

  for (const backend of BACKENDS) {
    for (const [name, make] of ACTIVATIONS) {
      it(`${backend}: Conv2d → ${name} → BatchNorm2d → ${name} → GroupNorm → ${name} → ConvTranspose2d → ${name} gives what the modules one by one give, forward, gradients and running statistics`, async () => {
        const build = () => new nn.Sequential(
          new nn.Conv2d(3, 4, 3, { padding: 1 }), make(), new nn.BatchNorm2d(4), make(), new nn.GroupNorm(2, 4), make(),
          new nn.ConvTranspose2d(4, 3, 4, { stride: 2, padding: 1 }), make(),
        );
        const [fused, apart] = withBackend(backend, () => [build(), build()]);
        apart.loadStateDict(fused.stateDict());
        for (const training of [true, false]) {
          fused.train(training);
          apart.train(training);
          const { y, z, xs } = bothWays(backend, fused, apart, [2, 3, 5, 5], training ? 11 : 12);
          // training: the fused output is one op, batchnorm with the activation in its kernels
          // (eval has no statistics to take: the activation follows the normalization)
          // the conv's bias and activation are its kernel's epilogue (silu's keeps its input for the backward)
          expect(opChain(y)).toEqual([
            `convTranspose2d+bias+${name}`,
            `groupNorm+${name}`,
            ...(training ? [`batchNorm+${name}`] : [name, 'add', 'mul', 'div', 'sub']),
            `conv2d+bias+${name}`,
          ]);
          expect(z.node?.op).toBe(name);
          expectClose(await read(y), await read(z), 1e-5, 1e-6, `${name} output, training ${training}`);
          expectClose(await read(xs[0].grad!), await read(xs[1].grad!), 1e-4, 1e-6, `${name} input gradient, training ${training}`);
          const [a, b] = [fused.namedParameters(), apart.namedParameters()];
          for (let i = 0; i < a.length; i++) {
            expectClose(await read(a[i][1].grad!), await read(b[i][1].grad!), 1e-4, 1e-6, `${name} gradient of ${a[i][0]}, training ${training}`);
          }
          const [sa, sb] = [await snapshot(fused), await snapshot(apart)];
          for (const key of Object.keys(sa)) expectClose(sa[key], sb[key], 1e-6, 1e-7, `${name} ${key}, training ${training}`);
          for (const m of [fused, apart]) for (const p of m.parameters()) p.grad = null;
        }
      });
    }
  }

  for (const backend of BACKENDS) {
    it(`${backend}: Linear → activation → Linear without bias → activation, each activation: the modules one by one's output and gradients`, async () => {
      for (const [name, make] of ACTIVATIONS) {
        const build = () => new nn.Sequential(new nn.Linear(5, 7), make(), new nn.Linear(7, 3, { bias: false }), make());
        const [fused, apart] = withBackend(backend, () => [build(), build()]);
        apart.loadStateDict(fused.stateDict());
        const { y, z, xs } = bothWays(backend, fused, apart, [4, 2, 5], 17);
        expect(opChain(y)).toEqual([`linear+${name}`, `linear+bias+${name}`]);
        expectClose(await read(y), await read(z), 1e-5, 1e-6, `${name} output`);
        expectClose(await read(xs[0].grad!), await read(xs[1].grad!), 1e-4, 1e-6, `${name} input gradient`);
        const [a, b] = [fused.namedParameters(), apart.namedParameters()];
        for (let i = 0; i < a.length; i++) expectClose(await read(a[i][1].grad!), await read(b[i][1].grad!), 1e-4, 1e-6, `${name} gradient of ${a[i][0]}`);
      }
    });
  }

  for (const backend of BACKENDS) {
    it(`${backend}: batchnorm in eval mode without a gradient (one kernel) gives what the composed formula gives, each activation`, async () => {
      for (const [name] of ACTIVATIONS) {
        const activation = name as wg.F.ActivationName;
        const { fused, composed, op, dispatches } = withBackend(backend, () => {
          const x = wg.tensor(values(3 * 4 * 5 * 2, 19, 2), [3, 4, 5, 2], { requiresGrad: true });
          const [rm, rv] = [wg.tensor(values(4, 20, 0.5), [4]), wg.tensor(values(4, 21, 0.4).map((v) => v + 1), [4])];
          const [w, b] = [wg.tensor(values(4, 22), [4]), wg.tensor(values(4, 23), [4])];
          const options = { training: false, activation, ...(name === 'leakyRelu' ? { negativeSlope: 0.2 } : {}) };
          const ctx = backend === 'webgpu' ? (getBackend('webgpu') as WebGpuBackend).ctx : null;
          const before = ctx?.dispatches ?? 0;
          const fused = wg.noGrad(() => wg.F.batchNorm(x, rm, rv, w, b, options));
          const dispatches = (ctx?.dispatches ?? 1) - before;
          const composed = wg.F.batchNorm(x, rm, rv, w, b, options);
          return { fused, composed, op: composed.node?.op, dispatches };
        });
        expect(dispatches).toBe(1);
        expect(op).toBe(name);
        expectClose(await read(fused), await read(composed), 1e-5, 1e-6, `${name} eval output`);
      }
    });
  }

  it('not where a forward is overridden: a subclass, or a wrapper on the instance, sees its call', () => {
    let calls = 0;
    class CountedReLU extends nn.ReLU {
      override forward(x: Tensor): Tensor {
        calls++;
        return super.forward(x);
      }
    }
    const x = wg.tensor(values(2 * 3 * 4 * 4, 14), [2, 3, 4, 4]);
    const counted = new nn.Sequential(new nn.BatchNorm2d(3), new CountedReLU());
    expect(counted.forward(x).node?.op).toBe('relu');
    expect(calls).toBe(1);
    const bn = new nn.BatchNorm2d(3);
    const wrapped = new nn.Sequential(bn, new nn.ReLU());
    const original = bn.forward.bind(bn);
    let bnCalls = 0;
    bn.forward = (t: Tensor) => { bnCalls++; return original(t); };
    wrapped.forward(x);
    expect(bnCalls).toBe(1);
  });

  it('F.batchNorm, F.groupNorm, F.conv2d and F.convTranspose2d name a bad activation, or a slope without leakyRelu', () => {
    const x = wg.tensor(values(2 * 3 * 4, 15), [2, 3, 4]);
    const [rm, rv] = [wg.zeros([3]), wg.ones([3])];
    expect(() => wg.F.batchNorm(x, rm, rv, null, null, { training: true, activation: 'gelu' as never }))
      .toThrow("batchNorm: unknown activation 'gelu'; valid: relu, leakyRelu, tanh, sigmoid, silu");
    expect(() => wg.F.batchNorm(x, rm, rv, null, null, { training: true, activation: 'relu', negativeSlope: 0.2 }))
      .toThrow("batchNorm: negativeSlope 0.2 applies to activation 'leakyRelu', not 'relu'");
    expect(() => wg.F.batchNorm(x, rm, rv, null, null, { training: true, negativeSlope: 0.2 }))
      .toThrow("batchNorm: negativeSlope 0.2 is given without activation 'leakyRelu'");
    const image = wg.tensor(values(2 * 3 * 4 * 4, 16), [2, 3, 4, 4]);
    expect(() => wg.F.groupNorm(image, 3, null, null, { activation: 'swish' as never })).toThrow("groupNorm: unknown activation 'swish'");
    expect(() => wg.F.conv2d(image, wg.zeros([2, 3, 3, 3]), null, { activation: 'gelu' as never })).toThrow("conv2d: unknown activation 'gelu'");
    expect(() => wg.F.convTranspose2d(image, wg.zeros([3, 2, 3, 3]), null, { activation: 'tanh', negativeSlope: 0.1 }))
      .toThrow("convTranspose2d: negativeSlope 0.1 applies to activation 'leakyRelu', not 'tanh'");
  });
});
