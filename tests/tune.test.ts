// The autotuner (src/backend/webgpu/tune.ts): every candidate it may pick
// computes what the CPU reference does; tuning at first use picks among
// them, caches the choice, and a cache that is corrupt, foreign or stale is
// ignored with a warning rather than trusted.
import { describe, it, expect, beforeAll, afterEach } from 'vitest';
import * as wg from '../src/node';
import { getBackend, withBackend } from '../src/runtime';
import type { Activation, ConvGeometry, MatmulArgs, NormGeometry, Storage } from '../src/backend/backend';
import type { WebGpuBackend } from '../src/backend/webgpu';
import { convCandidates, planConv, tableConvChoice, type ConvMode } from '../src/backend/webgpu/conv';
import type { TuneChoice, TuneStore } from '../src/backend/webgpu/tune';
import { WGRAD_VERSION } from '../src/version';
import { readFileSync } from 'node:fs';

let gpu: WebGpuBackend;
const cpu = () => getBackend('cpu');

beforeAll(async () => {
  await wg.init({ backend: 'webgpu', seed: 0 });
  gpu = getBackend('webgpu') as WebGpuBackend;
});

afterEach(async () => {
  await gpu.tuner.configure('off', null);
});

function values(count: number, salt: number, low = -1, span = 2): number[] {
  return Array.from({ length: count }, (_, i) => low + span * (((i * 7919 + salt * 104729) % 1000) / 1000));
}

function geometry(batch: number, inC: number, outC: number, size: number, k: number, stride: number, pad: number, groups = 1): ConvGeometry {
  const out = Math.floor((size + 2 * pad - k) / stride) + 1;
  return {
    batch, inChannels: inC, inH: size, inW: size, outChannels: outC, outH: out, outW: out,
    kernelH: k, kernelW: k, strideH: stride, strideW: stride, padH: pad, padW: pad, dilationH: 1, dilationW: 1, groups,
  };
}

/** Largest |gpu - cpu| relative to the reference's largest magnitude. */
function relativeError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let difference = 0;
  let scale = 1e-6;
  for (let i = 0; i < want.length; i++) {
    difference = Math.max(difference, Math.abs(got[i] - want[i]));
    scale = Math.max(scale, Math.abs(want[i]));
  }
  return difference / scale;
}

async function both(run: (backend: typeof gpu | ReturnType<typeof cpu>, inputs: Storage[]) => Storage, inputs: number[][]) {
  const onGpu = inputs.map((data) => gpu.fromArray(data));
  const onCpu = inputs.map((data) => cpu().fromArray(data));
  const got = await gpu.read(run(gpu, onGpu));
  const want = await cpu().read(run(cpu(), onCpu));
  for (const s of onGpu) gpu.release(s);
  return { got, want };
}

const CONV_CASES: Array<[string, ConvGeometry]> = [
  ['DCGAN D1: 1→8, 32×32, k4 s2', geometry(4, 1, 8, 32, 4, 2, 1)],
  ['DCGAN G: 16→1, 16×16, k3 s1', geometry(2, 16, 1, 16, 3, 1, 1)],
  ['3→20, 9×9, k3 s1, odd sizes', geometry(3, 3, 20, 9, 3, 1, 1)],
  ['8→40, 7×7, k1 s1', geometry(2, 8, 40, 7, 1, 1, 0)],
  ['grouped 8→8, 10×10, k3 s3, g2', geometry(2, 8, 8, 10, 3, 3, 1, 2)],
  // stride with dilation: dgrad over all taps (MODE 1), skipping those the stride misses
  ['5→6, 11×9, k3 s2 d2, not square', {
    batch: 2, inChannels: 5, inH: 11, inW: 9, outChannels: 6, outH: 4, outW: 3,
    kernelH: 3, kernelW: 3, strideH: 2, strideW: 2, padH: 1, padW: 0, dilationH: 2, dilationW: 2, groups: 1,
  }],
  ['9→13, 6×6, k4 s2 p1, blocks past every edge', geometry(3, 9, 13, 6, 4, 2, 1)],
];

describe('every tuning candidate computes what the CPU reference does', () => {
  for (const [name, geo] of CONV_CASES) {
    for (const mode of ['forward', 'inputGrad', 'weightGrad'] as ConvMode[]) {
      it(`conv ${mode}, ${name}`, async () => {
        const x = values(geo.batch * geo.inChannels * geo.inH * geo.inW, 1);
        const w = values(geo.outChannels * (geo.inChannels / geo.groups) * geo.kernelH * geo.kernelW, 2);
        const dy = values(geo.batch * geo.outChannels * geo.outH * geo.outW, 3);
        const candidates = convCandidates(mode, geo);
        expect(candidates[0]).toEqual(tableConvChoice(mode, geo));
        expect(candidates.length).toBeGreaterThan(2);
        // a CPU adapter's table (conv2d_direct's tiles, conv2d_thin for one or two columns of a few rows) is among them too
        const onCpuAdapter = tableConvChoice(mode, geo, 'cpu');
        expect(String(onCpuAdapter.tile)).toMatch(/^direct|^thin$/);
        expect(candidates).toContainEqual(onCpuAdapter);
        for (const choice of candidates) {
          const { got, want } = await both((backend, [a, b]) => {
            if (backend === gpu) return gpu.conv(mode, a, b, geo, choice);
            return mode === 'forward' ? backend.conv2d(a, b, geo) : mode === 'inputGrad' ? backend.conv2dInputGrad(a, b, geo) : backend.conv2dWeightGrad(b, a, geo);
          }, mode === 'forward' ? [x, w] : mode === 'inputGrad' ? [dy, w] : [dy, x]);
          const error = relativeError(got, want);
          expect(error, `${JSON.stringify(choice)}: relative error ${error}`).toBeLessThan(1e-5);
        }
      });
    }
  }

  it('an epilogue (bias, then an activation) in every tile that makes a layer\'s output, and its backward', async () => {
    const epilogues: Array<[string, Activation | null, boolean]> = [
      ['bias, leakyRelu 0.2', { op: 'leakyRelu', alpha: 0.2 }, true],
      ['tanh, no bias', { op: 'tanh', alpha: 0 }, false],
      ['bias only', null, true],
    ];
    // every tile with one epilogue; the others on the GPU's and the CPU's tables
    for (const [name, geo] of [CONV_CASES[0], CONV_CASES[5], CONV_CASES[6]]) {
      for (const mode of ['forward', 'inputGrad'] as ConvMode[]) {
        const channels = mode === 'forward' ? geo.outChannels : geo.inChannels;
        const x = values(geo.batch * geo.inChannels * geo.inH * geo.inW, 1);
        const w = values(geo.outChannels * (geo.inChannels / geo.groups) * geo.kernelH * geo.kernelW, 2);
        const dy = values(geo.batch * geo.outChannels * geo.outH * geo.outW, 3);
        const bias = values(channels, 4);
        for (const [what, activation, withBias] of epilogues) {
          const choices = what === epilogues[0][0] ? convCandidates(mode, geo) : [tableConvChoice(mode, geo), tableConvChoice(mode, geo, 'cpu')];
          for (const choice of choices) {
            const { got, want } = await both((backend, [a, b, tb]) => {
              const epilogue = { bias: withBias ? tb : null, activation, pre: null };
              if (backend === gpu) return gpu.conv(mode, a, b, geo, choice, epilogue);
              return mode === 'forward' ? backend.conv2d(a, b, geo, epilogue) : backend.conv2dInputGrad(a, b, geo, epilogue);
            }, mode === 'forward' ? [x, w, bias] : [dy, w, bias]);
            const error = relativeError(got, want);
            expect(error, `${name}, ${mode}, ${what}, ${JSON.stringify(choice)}: relative error ${error}`).toBeLessThan(1e-5);
          }
        }
      }
    }
    // the backward: the activation's gradient read from the output, and the bias's, in one pass
    const geo: NormGeometry = { batch: 3, channels: 5, spatial: 37 };
    const size = geo.batch * geo.channels * geo.spatial;
    for (const activation of [null, { op: 'relu', alpha: 0 }, { op: 'leakyRelu', alpha: 0.2 }, { op: 'tanh', alpha: 0 }, { op: 'sigmoid', alpha: 0 }] as Array<Activation | null>) {
      // outputs the activation could have made: in its range, some exactly 0 (relu's kink)
      const y = values(size, 20).map((v, i) => (activation?.op === 'relu' ? Math.max(0, v) : activation?.op === 'tanh' || activation?.op === 'sigmoid' ? v * 0.9 : i % 7 === 0 ? 0 : v));
      const dy = values(size, 21);
      for (const output of ['grad', 'dbias'] as const) {
        const { got, want } = await both((backend, [ty, tdy]) => {
          const grads = backend.epilogueGrad(ty, tdy, geo, activation);
          if (backend === gpu) gpu.release(grads[output === 'grad' ? 'dbias' : 'grad']);
          return grads[output];
        }, [y, dy]);
        expect(relativeError(got, want), `epilogueGrad ${output}, ${activation?.op ?? 'no activation'}`).toBeLessThan(1e-5);
      }
    }
    expect(() => gpu.epilogueGrad(gpu.fromArray([1]), gpu.fromArray([1]), { batch: 1, channels: 1, spatial: 1 }, { op: 'silu', alpha: 0 }))
      .toThrow(/silu/);
  });

  it("a CPU adapter's table: conv2d_thin for a column of a few rows, the square block for short GEMMs", () => {
    // DCGAN's last discriminator layer (32→1, 4×4 → 1×1): 16 rows, one column
    expect(tableConvChoice('forward', geometry(16, 32, 1, 4, 4, 1, 0), 'cpu')).toEqual({ tile: 'thin' });
    expect(tableConvChoice('forward', geometry(16, 32, 1, 4, 4, 1, 0), 'gpu')).toEqual({ tile: 'flat' });
    // many rows of one column: a register block still
    expect(tableConvChoice('forward', geometry(8, 8, 1, 16, 3, 1, 1), 'cpu')).toEqual({ tile: 'direct-narrow' });
    // the transposed conv of DCGAN64's G2 at batch 2: stride phases of 32 rows, 32 columns
    expect(tableConvChoice('inputGrad', geometry(2, 32, 64, 8, 4, 2, 1), 'cpu')).toEqual({ tile: 'direct' });
    expect(tableConvChoice('inputGrad', geometry(16, 32, 64, 8, 4, 2, 1), 'cpu')).toEqual({ tile: 'direct-tall' });
  });

  it('a weight gradient\'s register-block tile shrinks its workgroup to a GEMM smaller than it; other modes and slab tiles keep their shape', () => {
    // DCGAN's first discriminator layer's weight gradient: 8 rows (out channels) × 16 columns (taps),
    // where the flat tile (8 × 4 threads of 4 × 8) spans 16 × 64
    const d1 = geometry(16, 1, 8, 32, 4, 2, 1);
    const flat = planConv('weightGrad', d1, { tile: 'direct-flat', target: 256 });
    expect([flat.overrides.WG_X, flat.overrides.WG_Y]).toEqual([2, 2]);
    expect(flat.groups.slice(0, 2)).toEqual([1, 1]);
    // the generator's 32→16 transposed conv's weight gradient: 32 rows × 256 columns in the 64 × 32 square block
    const g3 = geometry(16, 16, 32, 16, 4, 2, 1);
    const square = planConv('weightGrad', g3, { tile: 'direct', target: 256 });
    expect([square.overrides.WG_X, square.overrides.WG_Y]).toEqual([4, 4]);
    expect(square.groups.slice(0, 2)).toEqual([8, 1]);
    // rounded up to a power of two: 3 → 4 row threads (m 24, 8 rows each)
    expect(planConv('weightGrad', geometry(16, 16, 24, 16, 4, 2, 1), { tile: 'direct', target: 256 }).overrides).toMatchObject({ WG_X: 4, WG_Y: 4 });
    // a GEMM larger than the tile, another mode, a slab tile: unchanged
    expect(planConv('forward', g3, { tile: 'direct' }).overrides).toMatchObject({ WG_X: 4, WG_Y: 8 });
    expect(planConv('forward', geometry(1, 1, 8, 4, 4, 2, 1), { tile: 'direct-flat' }).overrides).toMatchObject({ WG_X: 8, WG_Y: 4 });
    expect(planConv('weightGrad', d1, { tile: 'flat', target: 256 }).overrides).toMatchObject({ WG_X: 16, WG_Y: 2 });
  });

  const MATMULS: Array<[string, MatmulArgs]> = [
    ['37×29 · 29×53', { batch: 1, m: 37, n: 53, k: 29, transA: false, transB: false, aBatchStride: 37 * 29, bBatchStride: 29 * 53 }],
    ['batched, Aᵀ and Bᵀ, shared B', { batch: 3, m: 20, n: 9, k: 70, transA: true, transB: true, aBatchStride: 20 * 70, bBatchStride: 0 }],
  ];
  for (const [name, args] of MATMULS) {
    it(`matmul ${name}`, async () => {
      const a = values(args.batch * args.m * args.k, 4);
      const b = values((args.bBatchStride ? args.batch : 1) * args.k * args.n, 5);
      const table: TuneChoice = { WG_X: 16, WG_Y: 16, TILE_K: 16 };
      // the slab kernel's workgroups, and matmul_direct's register blocks (8 × 8, 8 × 4, 4 × 8; small workgroups, so blocks straddle every edge)
      const direct = [{ WG_X: 4, WG_Y: 8, RV: 2, CV: 2 }, { WG_X: 1, WG_Y: 2, RV: 2, CV: 1 }, { WG_X: 2, WG_Y: 1, RV: 1, CV: 2 }];
      for (const choice of [table, { WG_X: 8, WG_Y: 8, TILE_K: 16 }, { WG_X: 16, WG_Y: 4, TILE_K: 16 }, { WG_X: 4, WG_Y: 16, TILE_K: 8 }, ...direct]) {
        const { got, want } = await both((backend, [ta, tb]) => (backend === gpu ? gpu.matmul(ta, tb, args, null, choice) : backend.matmul(ta, tb, args)), [a, b]);
        expect(relativeError(got, want), JSON.stringify(choice)).toBeLessThan(1e-5);
      }
    });
  }

  it('batchnorm forward and backward, every thread count, with and without an activation after it', async () => {
    const geo: NormGeometry = { batch: 3, channels: 5, spatial: 37 };
    const size = geo.batch * geo.channels * geo.spatial;
    const x = values(size, 6);
    const dy = values(size, 7);
    const weight = values(geo.channels, 8, 0.5, 1);
    const bias = values(geo.channels, 9);
    const activations: Array<Activation | null> = [
      null, { op: 'relu', alpha: 0 }, { op: 'leakyRelu', alpha: 0.2 }, { op: 'tanh', alpha: 0 }, { op: 'sigmoid', alpha: 0 }, { op: 'silu', alpha: 0 },
    ];
    for (const threads of [32, 64, 128, 256]) {
      // every activation at one thread count; the plain kernel at all
      for (const activation of threads === 64 ? activations : [null]) {
        const what = `${activation?.op ?? 'no activation'}, ${threads} threads`;
        const forward = await both((backend, [tx, tw, tb]) =>
          (backend === gpu ? gpu.batchNorm(tx, tw, tb, geo, 1e-5, activation, threads) : backend.batchNorm(tx, tw, tb, geo, 1e-5, activation)).out,
        [x, weight, bias]);
        expect(relativeError(forward.got, forward.want), `forward, ${what}`).toBeLessThan(1e-5);
        const mean = values(geo.channels, 10);
        const variance = values(geo.channels, 11, 0.5, 1);
        for (const output of ['dx', 'dweight', 'dbias'] as const) {
          const backward = await both((backend, [tdy, tx, tm, tv, tw, tb]) => {
            const grads = backend === gpu
              ? gpu.batchNormGrad(tdy, tx, tm, tv, tw, geo, 1e-5, activation, tb, threads)
              : backend.batchNormGrad(tdy, tx, tm, tv, tw, geo, 1e-5, activation, tb);
            for (const other of ['dx', 'dweight', 'dbias'] as const) if (other !== output && backend === gpu) gpu.release(grads[other]);
            return grads[output];
          }, [dy, x, mean, variance, weight, bias]);
          expect(relativeError(backward.got, backward.want), `backward ${output}, ${what}`).toBeLessThan(1e-5);
        }
      }
    }
  });

  it('groupnorm forward and backward against the CPU, with and without an activation after it', async () => {
    const cases: Array<[NormGeometry, number]> = [
      [{ batch: 3, channels: 8, spatial: 37 }, 4],
      [{ batch: 2, channels: 6, spatial: 5 }, 1],
      [{ batch: 2, channels: 5, spatial: 300 }, 5],
    ];
    const activations: Array<Activation | null> = [null, { op: 'silu', alpha: 0 }, { op: 'leakyRelu', alpha: 0.2 }, { op: 'tanh', alpha: 0 }];
    for (const [geo, groups] of cases) {
      const size = geo.batch * geo.channels * geo.spatial;
      const x = values(size, 16, -1, 3);
      const dy = values(size, 17);
      const weight = values(geo.channels, 18, 0.5, 1);
      const bias = values(geo.channels, 19);
      for (const activation of activations) {
        for (const affine of [true, false]) {
          const what = `${JSON.stringify(geo)} groups ${groups}, ${activation?.op ?? 'no activation'}${affine ? '' : ', no weight or bias'}`;
          const inputs = affine ? [x, weight, bias] : [x];
          const forward = await both((backend, [tx, tw, tb]) => {
            const stats = backend.groupNorm(tx, tw ?? null, tb ?? null, geo, groups, 1e-5, activation);
            if (backend === gpu) { gpu.release(stats.mean); gpu.release(stats.var); }
            return stats.out;
          }, inputs);
          expect(relativeError(forward.got, forward.want), `forward, ${what}`).toBeLessThan(1e-5);
          for (const output of ['dx', 'dweight', 'dbias'] as const) {
            if (!affine && output !== 'dx') continue;
            const backward = await both((backend, [tdy, tx, tw, tb]) => {
              const stats = backend.groupNorm(tx, tw ?? null, tb ?? null, geo, groups, 1e-5);
              const grads = backend.groupNormGrad(tdy, tx, stats.mean, stats.var, tw ?? null, tb ?? null, geo, groups, 1e-5, activation);
              if (backend === gpu) for (const other of [stats.out, stats.mean, stats.var, ...(['dx', 'dweight', 'dbias'] as const).filter((o) => o !== output).map((o) => grads[o])]) gpu.release(other);
              return grads[output];
            }, [dy, ...inputs]);
            expect(relativeError(backward.got, backward.want), `backward ${output}, ${what}`).toBeLessThan(1e-5);
          }
        }
      }
    }
  });

  it('reductions, a thread or a workgroup per row', async () => {
    for (const [rows, cols] of [[5, 3000], [300, 7]]) {
      const x = values(rows * cols, 12);
      for (const op of ['sum', 'max', 'min'] as const) {
        for (const choice of [{ perRow: 'thread', WG: 64 }, { perRow: 'thread', WG: 256 }, { perRow: 'workgroup', WG: 64 }, { perRow: 'workgroup', WG: 256 }]) {
          const { got, want } = await both((backend, [t]) => (backend === gpu ? gpu.reduce(op, t, rows, cols, choice) : backend.reduce(op, t, rows, cols)), [x]);
          expect(relativeError(got, want), `${op} ${rows}×${cols} ${JSON.stringify(choice)}`).toBeLessThan(1e-5);
        }
      }
    }
  });
});

/** A store in memory, as the Node file and the browser's IndexedDB would be. */
function memoryStore(text: string | null = null): TuneStore & { text: string | null; saves: number } {
  return {
    where: () => 'memory',
    text,
    saves: 0,
    async load() {
      return this.text;
    },
    async save(_adapter: string, value: string) {
      this.text = value;
      this.saves++;
    },
  };
}

function warnings(): string[] {
  const seen: string[] = [];
  gpu.tuner.warn = (message) => seen.push(message);
  return seen;
}

describe('tuning at first use, and its cache', () => {
  it("mode 'on' tunes a training step's kernels at the next readback, and the results still match the CPU", async () => {
    const store = memoryStore();
    await gpu.tuner.configure('on', store);
    const x = wg.tensor(values(2 * 3 * 12 * 12, 13), [2, 3, 12, 12]);
    const w = wg.tensor(values(6 * 3 * 3 * 3, 14), [6, 3, 3, 3], { requiresGrad: true });
    const loss = wg.F.conv2d(x, w, null, { padding: 1 }).square().sum();
    loss.backward();
    expect(gpu.tuner.pendingCount).toBeGreaterThanOrEqual(2); // the forward conv and the weight gradient at least
    const grad = await w.grad!.toArray(); // tunes first
    expect(gpu.tuner.pendingCount).toBe(0);
    expect(store.saves).toBe(1);
    const file = JSON.parse(store.text!);
    expect(file).toMatchObject({ format: 'wgrad-tune', version: 1, wgrad: WGRAD_VERSION, adapter: gpu.tuner.adapter });
    const kernels = Object.values(file.results as Record<string, { kernel: string; ms: number; tableMs: number }>);
    expect(kernels.map((r) => r.kernel)).toEqual(expect.arrayContaining(['conv.forward', 'conv.weightGrad']));
    for (const result of kernels) {
      expect(result.ms).toBeGreaterThan(0);
      expect(result.ms).toBeLessThanOrEqual(result.tableMs); // never a choice slower than the table's
    }
    // the same step again runs the tuned choices: same gradient as the CPU reference
    const again = await wg.F.conv2d(x, w.detach(), null, { padding: 1 }).toArray();
    const reference = await withBackend('cpu', async () =>
      wg.F.conv2d(wg.tensor(values(2 * 3 * 12 * 12, 13), [2, 3, 12, 12]), wg.tensor(values(6 * 3 * 3 * 3, 14), [6, 3, 3, 3]), null, { padding: 1 }).toArray());
    expect(relativeError(again, reference)).toBeLessThan(1e-5);
    expect(grad.every(Number.isFinite)).toBe(true);
    wg.scope(() => [x, w, loss].forEach((t) => t.dispose()));
  });

  it("'cached' uses a cached choice without tuning; 'off' ignores it", async () => {
    const geo = geometry(2, 3, 5, 8, 3, 1, 1);
    const shapeKey = 'b2 3→5 8×8→8×8 k3×3 s1×1 p1×1 d1×1 g1';
    const wide = { tile: 'wide' };
    const file = {
      format: 'wgrad-tune', version: 1, wgrad: WGRAD_VERSION, adapter: gpu.tuner.adapter,
      results: { [`conv.forward ${shapeKey}`]: { kernel: 'conv.forward', shape: shapeKey, table: tableConvChoice('forward', geo), tableMs: 2, choice: wide, ms: 1, timed: 5 } },
    };
    await gpu.tuner.configure('cached', memoryStore(JSON.stringify(file)));
    const job = () => { throw new Error('no job should be made for a checked choice'); };
    expect(gpu.tuner.choose('conv.forward', shapeKey, () => ({ kernel: 'conv.forward', shape: shapeKey, candidates: convCandidates('forward', geo) as unknown as TuneChoice[], inputs: [], run: job }))).toEqual(wide);
    expect(gpu.tuner.choose('conv.forward', shapeKey, job)).toEqual(wide);
    expect(gpu.tuner.choose('conv.forward', 'another shape', () => { throw new Error('cached mode makes no job for an unknown shape'); })).toBeNull();
    expect(gpu.tuner.pendingCount).toBe(0);
    await gpu.tuner.configure('off', memoryStore(JSON.stringify(file)));
    expect(gpu.tuner.choose('conv.forward', shapeKey, job)).toBeNull();
  });

  it('a corrupt, foreign or stale cache is ignored with a warning that says why', async () => {
    const good = { format: 'wgrad-tune', version: 1, wgrad: WGRAD_VERSION, adapter: gpu.tuner.adapter, results: {} };
    const cases: Array<[string, RegExp]> = [
      ['{"format": "wgrad-tune", ', /not valid JSON/],
      [JSON.stringify({ ...good, format: 'something-else' }), /not a wgrad-tune file of version 1/],
      [JSON.stringify({ ...good, adapter: 'nvidia | hopper | 0x2335 | H200' }), /made on another adapter \("nvidia \| hopper/],
      [JSON.stringify({ ...good, wgrad: '0.0.1' }), /made by wgrad 0\.0\.1, this is /],
      [JSON.stringify({ ...good, results: { 'conv.forward x': { kernel: 'conv.forward', shape: 'x', choice: 'wide' } } }), /entry 'conv\.forward x' is malformed/],
    ];
    for (const [text, why] of cases) {
      const seen = warnings();
      await gpu.tuner.configure('cached', memoryStore(text));
      expect(seen, text).toHaveLength(1);
      expect(seen[0]).toMatch(/ignoring the tuning cache memory: /);
      expect(seen[0]).toMatch(why);
      expect(gpu.tuner.known).toEqual([]);
    }
  });

  it('a cached choice tuned against another table is dropped, and the table runs', async () => {
    const geo = geometry(2, 3, 5, 8, 3, 1, 1);
    const shapeKey = 'b2 3→5 8×8→8×8 k3×3 s1×1 p1×1 d1×1 g1';
    const table = tableConvChoice('forward', geo);
    const older = table.tile === 'wide' ? { tile: 'medium' } : { tile: 'wide' };
    const file = {
      format: 'wgrad-tune', version: 1, wgrad: WGRAD_VERSION, adapter: gpu.tuner.adapter,
      results: { [`conv.forward ${shapeKey}`]: { kernel: 'conv.forward', shape: shapeKey, table: older, tableMs: 2, choice: { tile: 'flat' }, ms: 1, timed: 5 } },
    };
    const seen = warnings();
    await gpu.tuner.configure('cached', memoryStore(JSON.stringify(file)));
    const job = () => ({ kernel: 'conv.forward', shape: shapeKey, candidates: convCandidates('forward', geo) as unknown as TuneChoice[], inputs: [], run: () => { throw new Error('not run'); } });
    expect(gpu.tuner.choose('conv.forward', shapeKey, job)).toBeNull();
    expect(gpu.tuner.known).toEqual([]);
    expect(seen).toEqual([]);
  });

  it('a cached choice that is no longer a candidate is dropped with a warning', async () => {
    const geo = geometry(2, 3, 5, 8, 3, 1, 1);
    const shapeKey = 'stale shape';
    const file = {
      format: 'wgrad-tune', version: 1, wgrad: WGRAD_VERSION, adapter: gpu.tuner.adapter,
      results: { [`conv.forward ${shapeKey}`]: { kernel: 'conv.forward', shape: shapeKey, table: { tile: 'narrow' }, tableMs: 2, choice: { tile: 'enormous' }, ms: 1, timed: 5 } },
    };
    const seen = warnings();
    await gpu.tuner.configure('cached', memoryStore(JSON.stringify(file)));
    const choice = gpu.tuner.choose('conv.forward', shapeKey, () => ({
      kernel: 'conv.forward', shape: shapeKey, candidates: convCandidates('forward', geo) as unknown as TuneChoice[], inputs: [], run: () => { throw new Error('not run'); },
    }));
    expect(choice).toBeNull();
    expect(seen.join('\n')).toMatch(/choice for conv\.forward stale shape \(tile enormous\) is not a candidate any more/);
  });

  it('WGRAD_VERSION is package.json\'s version', () => {
    expect(WGRAD_VERSION).toBe(JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version);
  });
});
