// The subgroup kernels (shaders/*_subgroups.wgsl) against the CPU
// reference, and the workgroup-memory kernels beside them on the same
// device: long-row reductions (NaN kept by max and min), softmax and
// log-softmax, batchnorm forward and backward. SwiftShader has the
// 'subgroups' feature (4-wide subgroups), so both paths run here; under
// WGRAD_LIMITS=default no feature is asked for and only the
// workgroup-memory path exists.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as wg from '../src/node';
import { getBackend } from '../src/runtime';
import type { Activation, Backend, NormGeometry, Storage } from '../src/backend/backend';
import type { WebGpuBackend } from '../src/backend/webgpu';
import { convCandidates, planConv, tableConvChoice } from '../src/backend/webgpu/conv';

let gpu: WebGpuBackend;
let hasSubgroups = false;
const cpu = (): Backend => getBackend('cpu');

beforeAll(async () => {
  await wg.init({ backend: 'webgpu', seed: 0 });
  gpu = getBackend('webgpu') as WebGpuBackend;
  hasSubgroups = gpu.subgroups;
});

afterAll(() => {
  gpu.subgroups = hasSubgroups;
});

function values(count: number, salt: number, low = -3, span = 6): number[] {
  return Array.from({ length: count }, (_, i) => low + span * (((i * 7919 + salt * 104729) % 997) / 997));
}

/** max |got - want| / max(1, |want|) elementwise, NaN where they disagree on NaN-ness. */
function error(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    if (Number.isNaN(want[i]) || Number.isNaN(got[i])) {
      if (Number.isNaN(want[i]) !== Number.isNaN(got[i])) return Number.NaN;
      continue;
    }
    worst = Math.max(worst, Math.abs(got[i] - want[i]) / Math.max(1, Math.abs(want[i])));
  }
  return worst;
}

async function compare(run: (backend: Backend, inputs: Storage[]) => Storage, inputs: number[][]): Promise<number> {
  const onGpu = inputs.map((data) => gpu.fromArray(data));
  const got = await gpu.read(run(gpu, onGpu));
  const want = await cpu().read(run(cpu(), inputs.map((data) => cpu().fromArray(data))));
  for (const s of onGpu) gpu.release(s);
  return error(got, want);
}

const PATHS = [['subgroups', true], ['workgroup memory', false]] as const;

/** The shaders whose pipelines were made so far: which kernels really ran. */
function shadersUsed(): string[] {
  const kernels = (gpu.ctx.pipelines as unknown as { kernels: Map<string, unknown> }).kernels;
  return [...kernels.keys()].map((key) => key.split(':')[0]);
}

it('the device has subgroups here, laid out as the kernels assume', () => {
  expect(hasSubgroups).toBe(gpu.ctx.device.features.has('subgroups'));
  if (gpu.limits === 'adapter') expect(hasSubgroups).toBe(true); // SwiftShader's 'subgroups', checked by subgroup_layout
});

for (const [path, on] of PATHS) {
  describe(`${path} kernels match the CPU reference`, () => {
    const skip = () => on && !hasSubgroups;

    it('sum, max and min of long rows, NaN kept', async () => {
      if (skip()) return;
      gpu.subgroups = on;
      for (const [rows, cols] of [[3, 1500], [2, 70000], [1, 1025]]) {
        const x = values(rows * cols, rows);
        if (rows > 1) x[cols + 17] = Number.NaN; // row 1 has a NaN
        for (const op of ['sum', 'max', 'min'] as const) {
          const e = await compare((b, [t]) => b.reduce(op, t, rows, cols), [x]);
          expect(e, `${op} ${rows}×${cols}`).toBeLessThan(1e-5);
        }
      }
    });

    it('softmax and log-softmax rows, NaN kept', async () => {
      if (skip()) return;
      gpu.subgroups = on;
      for (const [rows, cols] of [[4, 1000], [3, 7]]) {
        const x = values(rows * cols, cols);
        x[cols + 2] = Number.NaN;
        for (const log of [false, true]) {
          const e = await compare((b, [t]) => b.softmax(t, rows, cols, log), [x]);
          expect(e, `${log ? 'log-' : ''}softmax ${rows}×${cols}`).toBeLessThan(1e-5);
        }
      }
    });

    it('batchnorm forward and backward, every thread count, with and without an activation after it', async () => {
      if (skip()) return;
      gpu.subgroups = on;
      const geo: NormGeometry = { batch: 5, channels: 3, spatial: 61 };
      const size = geo.batch * geo.channels * geo.spatial;
      const [x, dy] = [values(size, 1), values(size, 2)];
      const [weight, bias] = [values(3, 3, 0.5, 1), values(3, 4)];
      const [mean, variance] = [values(3, 5, -0.5, 1), values(3, 6, 0.5, 1)];
      const activations: Array<Activation | null> = [null, { op: 'leakyRelu', alpha: 0.2 }, { op: 'silu', alpha: 0 }];
      for (const threads of [32, 256]) {
        for (const activation of activations) {
          const what = `${activation?.op ?? 'no activation'}, ${threads} threads`;
          const forward = await compare((b, [tx, tw, tb]) =>
            (b === gpu ? gpu.batchNorm(tx, tw, tb, geo, 1e-5, activation, threads) : b.batchNorm(tx, tw, tb, geo, 1e-5, activation)).out, [x, weight, bias]);
          expect(forward, `forward, ${what}`).toBeLessThan(1e-5);
          const backward = await compare((b, [tdy, tx, tm, tv, tw, tb]) =>
            (b === gpu
              ? gpu.batchNormGrad(tdy, tx, tm, tv, tw, geo, 1e-5, activation, tb, threads)
              : b.batchNormGrad(tdy, tx, tm, tv, tw, geo, 1e-5, activation, tb)).dx,
          [dy, x, mean, variance, weight, bias]);
          expect(backward, `backward, ${what}`).toBeLessThan(1e-5);
        }
      }
    });
  });
}

describe('split-K sums with a subgroup per weight (a tuning candidate)', () => {
  it('adds the same weight gradient as the CPU reference', async () => {
    if (!hasSubgroups) return;
    gpu.subgroups = true;
    const geo = {
      batch: 4, inChannels: 2, inH: 32, inW: 32, outChannels: 4, outH: 32, outW: 32,
      kernelH: 3, kernelW: 3, strideH: 1, strideW: 1, padH: 1, padW: 1, dilationH: 1, dilationW: 1, groups: 1,
    };
    const table = tableConvChoice('weightGrad', geo);
    expect(planConv('weightGrad', geo, table).splits).toBeGreaterThan(1);
    const withSubgroups = { ...table, sum: 'subgroups' as const };
    expect(convCandidates('weightGrad', geo, true)).toContainEqual(withSubgroups);
    expect(convCandidates('weightGrad', geo, false)).not.toContainEqual(withSubgroups);
    const x = values(4 * 2 * 32 * 32, 7);
    const dy = values(4 * 4 * 32 * 32, 8);
    const e = await compare((b, [tdy, tx]) => (b === gpu ? gpu.conv('weightGrad', tdy, tx, geo, withSubgroups) : b.conv2dWeightGrad(tx, tdy, geo)), [dy, x]);
    expect(e).toBeLessThan(1e-5);
  });
});

it('the subgroup kernels are the ones that ran above', () => {
  if (!hasSubgroups) return;
  expect(shadersUsed()).toEqual(expect.arrayContaining(['reduce_subgroups', 'softmax_subgroups', 'batchnorm_subgroups', 'sum_splits_subgroups']));
});
