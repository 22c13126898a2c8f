// What a careless or hostile call must not do: poison the device with one
// oversized allocation, return numbers for indices PyTorch refuses, or lose
// a NaN that PyTorch would keep. Each on both backends where it applies.
import { describe, it, expect, beforeAll } from 'vitest';
import * as wg from '../src/node/index';
import { getBackend, withBackend, type BackendName } from '../src/runtime';
import type { WebGpuBackend } from '../src/backend/webgpu';
import { SAMPLE_PIECE, sampleInPieces } from '../src/train/fits';

beforeAll(async () => {
  await wg.init({ backend: 'webgpu', seed: 0 });
});

const BACKENDS: BackendName[] = ['webgpu', 'cpu'];

describe('an allocation over the limits is refused before anything is made', () => {
  it('names the op, the shape, the bytes and the limit, and the device stays usable (webgpu)', async () => {
    const before = wg.memory();
    expect(() => wg.zeros([2 ** 31])).toThrow(
      /zeros: \[2147483648\] is 2147483648 elements \(8\.00 GiB\), more than one storage can hold here: \d+ elements \([\d.]+ [MG]iB, this adapter's max(StorageBufferBinding|Buffer)Size\); nothing was allocated/,
    );
    expect(() => wg.zeros([2 ** 53 + 2])).toThrow(/zeros: \[9007199254740994\] is 9007199254740994 elements/);
    expect(() => wg.randn([2 ** 20, 2 ** 11])).toThrow(/randn: \[1048576, 2048\]/);
    const a = wg.zeros([65536, 1]);
    const b = wg.zeros([1, 65536]);
    expect(() => a.matmul(b)).toThrow(/matmul: \[65536, 65536\] is 4294967296 elements \(16\.0 GiB\)/);
    expect(() => a.add(b)).toThrow(/add: \[65536, 65536\]/);
    a.dispose();
    b.dispose();
    const after = wg.memory();
    expect(after.bytesInUse).toBe(before.bytesInUse);
    expect(after.tensors).toBe(before.tensors);
    expect(Array.from(await wg.ones([2]).add(1).toArray())).toEqual([2, 2]);
  });

  it('the CPU reference refuses past the longest typed array, and goes on', async () => {
    await withBackend('cpu', async () => {
      expect(() => wg.zeros([2 ** 33])).toThrow(/zeros: \[8589934592\] is 8589934592 elements \(64\.0 GiB\), more than one storage can hold here: 4294967296 elements .*the longest Float64Array/);
      expect(() => wg.zeros([2 ** 53 + 2])).toThrow(/zeros: \[9007199254740994\]/);
    });
    const x = withBackend('cpu', () => wg.ones([2]).add(1));
    expect(Array.from(await x.toArray())).toEqual([2, 2]);
  });
});

describe('indices out of range are refused, as PyTorch does', () => {
  for (const backend of BACKENDS) {
    it(`Embedding (${backend})`, async () => {
      const run = (ids: number[]) => withBackend(backend, () => wg.scope(() => {
        wg.seed(1);
        const embedding = new wg.nn.Embedding(4, 2);
        return wg.keep(embedding.forward(wg.tensor(ids)));
      }));
      // the CPU checks at the call; WebGPU at the next readback
      const check = async (ids: number[]) => (await run(ids).toArray(), undefined);
      await expect(check([7])).rejects.toThrow(/Embedding\(4, 2\): index 7 is out of range: valid indices are the integers 0 to 3/);
      await expect(check([1, -1])).rejects.toThrow(/Embedding\(4, 2\): index -1 at flat position 1 of indices \[2\] is out of range/);
      await expect(check([1.5])).rejects.toThrow(/index 1\.5 is out of range/);
      await expect(check([0, NaN, 2])).rejects.toThrow(/index NaN at flat position 1/);
      // the device is fine afterwards, and valid ids still work
      const good = run([3, 0]);
      expect((await good.toArray()).length).toBe(4);
    });

    it(`indices computed on the device (${backend}: ${backend === 'cpu' ? 'at once' : 'at the next readback'})`, async () => {
      const embedding = withBackend(backend, () => new wg.nn.Embedding(4, 2));
      const out = () => withBackend(backend, () => wg.scope(() => wg.keep(embedding.forward(wg.tensor([1.5, 0.5]).mul(2)))));
      // [3, 1] is fine, and costs one small extra readback on WebGPU
      expect((await out().toArray()).length).toBe(4);
      const bad = () => withBackend(backend, () => wg.scope(() => wg.keep(embedding.forward(wg.tensor([1, 2.5]).mul(2)))));
      // the error comes at the first readback of any tensor, here an unrelated one
      await expect((async () => {
        bad();
        await withBackend(backend, () => wg.ones([1])).toArray();
      })()).rejects.toThrow(/Embedding\(4, 2\): index 5 at flat position 1 of indices \[2\] is out of range: valid indices are the integers 0 to 3/);
      // and only once: the device and later readbacks are fine
      expect(Array.from(await withBackend(backend, () => wg.ones([1])).toArray())).toEqual([1]);
    });

    it(`crossEntropy (${backend})`, async () => {
      const loss = (targets: number[]) => withBackend(backend, () =>
        wg.F.crossEntropy(wg.tensor([[1, 2, 3], [0, 1, 0]]), wg.tensor(targets)));
      await expect((async () => loss([0, 5]).item())()).rejects.toThrow(
        /crossEntropy \(logits \[2, 3\]\): index 5 at flat position 1 of indices \[2\] is out of range: valid indices are the integers 0 to 2/,
      );
      await expect((async () => loss([-1, 0]).item())()).rejects.toThrow(/index -1 at flat position 0/);
      expect(await loss([2, 1]).item()).toBeCloseTo(0.4795, 3);
    });
  }
});

// PyTorch's answers, from its formulas in float64: NaN in gives NaN out
// everywhere (relu, max, clamp and softmax included), infinities as IEEE says.
const X = [NaN, -Infinity, -1, 0, 2, Infinity];
const PHI = new Map([[-1, 0.15865525393145707], [0, 0.5], [2, 0.9772498680518208]]);
const UNARY: [string, (x: wg.Tensor) => wg.Tensor, (x: number) => number][] = [
  ['neg', (x) => x.neg(), (x) => -x],
  ['exp', (x) => x.exp(), Math.exp],
  ['log', (x) => x.log(), Math.log],
  ['sqrt', (x) => x.sqrt(), Math.sqrt],
  ['abs', (x) => x.abs(), Math.abs],
  ['square', (x) => x.square(), (x) => x * x],
  ['relu', (x) => x.relu(), (x) => (Number.isNaN(x) ? NaN : Math.max(x, 0))],
  ['leakyRelu', (x) => x.leakyRelu(0.2), (x) => (x > 0 ? x : 0.2 * x)],
  ['tanh', (x) => x.tanh(), Math.tanh],
  ['sigmoid', (x) => x.sigmoid(), (x) => 1 / (1 + Math.exp(-x))],
  ['silu', (x) => x.silu(), (x) => x / (1 + Math.exp(-x))], // -inf / inf: NaN, as PyTorch
  ['gelu', (x) => x.gelu(), (x) => (Number.isFinite(x) ? x * PHI.get(x)! : x === Infinity ? x : NaN)],
  ['softplus', (x) => x.softplus(), (x) => (x > 20 ? x : Math.log1p(Math.exp(x)))],
  ['clamp', (x) => x.clamp(0, 1), (x) => (Number.isNaN(x) ? NaN : Math.min(Math.max(x, 0), 1))],
  ['add 1', (x) => x.add(1), (x) => x + 1],
  ['mul 0', (x) => x.mul(0), (x) => x * 0],
  ['pow 2', (x) => x.pow(2), (x) => x ** 2],
  ['pow 0', (x) => x.pow(0), (x) => x ** 0], // NaN ** 0 is 1 in C and PyTorch too
  ['pow 0.5', (x) => x.pow(0.5), (x) => x ** 0.5],
  ['div by itself', (x) => x.div(x), (x) => x / x],
];

function expectLike(got: ArrayLike<number>, want: number[], what: string): void {
  expect(got.length, what).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const g = got[i];
    const w = want[i];
    if (Number.isNaN(w) || !Number.isFinite(w)) {
      expect(Object.is(g, w) || (Number.isNaN(g) && Number.isNaN(w)) || g === w, `${what}[${i}]: got ${g}, want ${w}`).toBe(true);
    } else {
      expect(Math.abs(g - w), `${what}[${i}]: got ${g}, want ${w}`).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(w)));
    }
  }
}

describe('NaN and ±Inf follow PyTorch on both backends', () => {
  for (const backend of BACKENDS) {
    const on = <T>(fn: () => T) => withBackend(backend, fn);

    it(`elementwise ops (${backend})`, async () => {
      for (const [name, op, reference] of UNARY) {
        const out = on(() => op(wg.tensor(X)));
        expectLike(await out.toArray(), X.map(reference), `${name}(${X.join(', ')})`);
      }
    });

    it(`relu passes the gradient at NaN as PyTorch (its test is y <= 0) (${backend})`, async () => {
      const x = on(() => wg.tensor([NaN, -1, 0, 2], null, { requiresGrad: true }));
      on(() => x.relu().sum().backward());
      expectLike(await x.grad!.toArray(), [1, 0, 0, 1], 'relu grad');
    });

    it(`reductions keep a NaN; max and min see infinities (${backend})`, async () => {
      const x = on(() => wg.tensor([[NaN, -1, 2], [-Infinity, 1, Infinity], [3, -2, 1]]));
      expectLike(await on(() => x.max()).toArray(), [NaN], 'max');
      expectLike(await on(() => x.min()).toArray(), [NaN], 'min');
      expectLike(await on(() => x.sum()).toArray(), [NaN], 'sum');
      expectLike(await on(() => x.max(1)).toArray(), [NaN, Infinity, 3], 'max(1)');
      expectLike(await on(() => x.min(1)).toArray(), [NaN, -Infinity, -2], 'min(1)');
      expectLike(await on(() => x.mean(1)).toArray(), [NaN, NaN, 2 / 3], 'mean(1)');
      expectLike(await on(() => x.max(0)).toArray(), [NaN, 1, Infinity], 'max(0)');
      // a long row takes the workgroup path
      const long = on(() => wg.tensor(Array.from({ length: 5000 }, (_, i) => (i === 4321 ? NaN : i))));
      expectLike(await on(() => long.max()).toArray(), [NaN], 'max of a long row');
      expectLike(await on(() => long.min()).toArray(), [NaN], 'min of a long row');
    });

    it(`softmax and logSoftmax (${backend})`, async () => {
      const x = on(() => wg.tensor([[NaN, -1, 2], [-Infinity, 0, 0], [1, 2, Infinity]]));
      expectLike(await on(() => wg.F.softmax(x, 1)).toArray(), [NaN, NaN, NaN, 0, 0.5, 0.5, NaN, NaN, NaN], 'softmax');
      expectLike(await on(() => wg.F.logSoftmax(x, 1)).toArray(),
        [NaN, NaN, NaN, -Infinity, Math.log(0.5), Math.log(0.5), NaN, NaN, NaN], 'logSoftmax');
      // a long row: the workgroup combine
      const long = on(() => wg.tensor(Array.from({ length: 3000 }, (_, i) => (i === 2999 ? NaN : 0)), [1, 3000]));
      const out = await on(() => wg.F.softmax(long, 1)).toArray();
      expect(out.every(Number.isNaN)).toBe(true);
    });

    it(`pooling (${backend})`, async () => {
      const x = on(() => wg.tensor([NaN, 1, 2, 3, -Infinity, -5, 7, Infinity, 0, 4, NaN, 6, 1, 1, 1, 1], [1, 1, 4, 4]));
      expectLike(await on(() => wg.F.maxPool2d(x, 2)).toArray(), [NaN, Infinity, 4, NaN], 'maxPool2d');
      expectLike(await on(() => wg.F.avgPool2d(x, 2)).toArray(), [NaN, Infinity, 1.5, NaN], 'avgPool2d');
    });
  }
});

describe('work over one dispatch\'s workgroups per axis runs in pieces', () => {
  // The device allows 65535 workgroups along an axis; lowered here to 3 so
  // small convs (forward, strided input gradient, weight gradient, thin and
  // tiled GEMMs) need several dispatches, and checked against the CPU.
  const cases = [
    { name: 'thin forward 3→1', x: [5, 3, 16, 16], w: [1, 3, 3, 3], stride: 1, padding: 1 },
    { name: 'tiled forward 3→8', x: [5, 3, 16, 16], w: [8, 3, 3, 3], stride: 1, padding: 1 },
    { name: 'strided 4→6 (input gradient by phase)', x: [3, 4, 32, 32], w: [6, 4, 4, 4], stride: 2, padding: 1 },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const ctx = (getBackend('webgpu') as WebGpuBackend).ctx;
      const run = (backend: BackendName) => withBackend(backend, () => wg.scope(() => {
        wg.seed(3);
        const x = wg.randn(c.x, { requiresGrad: true });
        const w = wg.randn(c.w, { requiresGrad: true });
        const y = wg.F.conv2d(x, w, null, { stride: c.stride, padding: c.padding });
        y.square().sum().backward();
        return [y, x.grad!, w.grad!].map((t) => wg.keep(t));
      }));
      const want = await Promise.all(run('cpu').map((t) => t.toArray()));
      const counted = async () => {
        const before = ctx.dispatches;
        const values = await Promise.all(run('webgpu').map((t) => t.toArray()));
        return { values, dispatches: ctx.dispatches - before };
      };
      const whole = await counted();
      const normal = ctx.maxGroupsPerAxis;
      ctx.maxGroupsPerAxis = 3;
      let pieces: Awaited<ReturnType<typeof counted>>;
      try {
        pieces = await counted();
      } finally {
        ctx.maxGroupsPerAxis = normal;
      }
      expect(pieces.dispatches).toBeGreaterThan(whole.dispatches);
      const got = pieces.values;
      for (let i = 0; i < 3; i++) {
        const scale = Math.max(...want[i].map(Math.abs));
        const err = Math.max(...got[i].map((g, j) => Math.abs(g - want[i][j])));
        expect(err / scale, ['output', 'input gradient', 'weight gradient'][i]).toBeLessThan(1e-5);
      }
    });
  }
});

describe('a matmul grid over the per-axis workgroup limit runs as several dispatches', () => {
  it('batched, with row and column blocks over the limit, matches the CPU reference (limit lowered to 3)', async () => {
    const gpu = getBackend('webgpu') as WebGpuBackend;
    const ctx = gpu.ctx;
    // [5, 300, 20] @ [20, 200]: 5 batch entries, 300 rows (5 blocks of 64), 200 columns (4 blocks of 64), B shared
    const run = (backend: BackendName) => withBackend(backend, () => wg.scope(() => {
      wg.seed(4);
      return wg.keep(wg.randn([5, 300, 20]).matmul(wg.randn([20, 200])));
    }));
    const want = await run('cpu').toArray();
    const normal = ctx.maxGroupsPerAxis;
    ctx.maxGroupsPerAxis = 3;
    const before = ctx.dispatches;
    let got: Float32Array;
    try {
      got = await run('webgpu').toArray();
    } finally {
      ctx.maxGroupsPerAxis = normal;
    }
    expect(ctx.dispatches - before).toBeGreaterThanOrEqual(8); // 2 × 2 × 2 pieces, and the randn fills
    let [scale, err] = [0, 0];
    want.forEach((w, j) => {
      scale = Math.max(scale, Math.abs(w));
      err = Math.max(err, Math.abs(got[j] - w));
    });
    expect(err / scale).toBeLessThan(1e-5);
  });
});

describe('batchnorm with more channels than one grid axis takes', () => {
  it('folds the channels into the grid\'s y and matches the CPU reference (limit lowered to 3), with and without subgroups', async () => {
    const gpu = getBackend('webgpu') as WebGpuBackend;
    const ctx = gpu.ctx;
    const run = (backend: BackendName) => withBackend(backend, () => wg.scope(() => {
      wg.seed(5);
      const x = wg.randn([3, 8, 4, 5], { requiresGrad: true }); // 8 channels: a 3 × 3 grid at 3 per axis, one workgroup idle
      const w = wg.randn([8], { requiresGrad: true });
      const y = wg.F.batchNorm(x, wg.zeros([8]), wg.ones([8]), w, null, { training: true });
      y.square().mul(wg.randn([3, 8, 4, 5])).sum().backward();
      return [y, x.grad!, w.grad!].map((t) => wg.keep(t));
    }));
    const want = await Promise.all(run('cpu').map((t) => t.toArray()));
    const normal = ctx.maxGroupsPerAxis;
    const subgroups = gpu.subgroups;
    try {
      ctx.maxGroupsPerAxis = 3;
      for (const path of subgroups ? [true, false] : [false]) {
        gpu.subgroups = path;
        // every batchnorm dispatch keeps within the lowered limit on each axis
        const widest: number[] = [];
        const dispatch = ctx.dispatch.bind(ctx);
        ctx.dispatch = (spec) => {
          if (spec.shader.startsWith('batchnorm')) widest.push(Math.max(...spec.groups));
          dispatch(spec);
        };
        let got: Float32Array[];
        try {
          got = await Promise.all(run('webgpu').map((t) => t.toArray()));
        } finally {
          ctx.dispatch = dispatch;
        }
        expect(widest.length).toBe(2); // forward and backward
        expect(Math.max(...widest)).toBeLessThanOrEqual(3);
        for (let i = 0; i < 3; i++) {
          let [scale, err] = [0, 0];
          want[i].forEach((v, j) => {
            scale = Math.max(scale, Math.abs(v));
            err = Math.max(err, Math.abs(got[i][j] - v));
          });
          expect(err / scale, `${['output', 'input gradient', 'weight gradient'][i]}, subgroups ${path}`).toBeLessThan(1e-5);
        }
      }
    } finally {
      ctx.maxGroupsPerAxis = normal;
      gpu.subgroups = subgroups;
    }
  });
});

describe('sampling many images is a loop, not one buffer', () => {
  it('sampleInPieces draws SAMPLE_PIECE latents at a time and keeps their order', async () => {
    const counts: number[] = [];
    // a "generator" whose image is its latent's first number, 1×1×1
    const model = {
      config: { latent: 2, channels: 1, imageSize: 1 },
      async sample(z: wg.Tensor) {
        counts.push(z.shape[0]);
        const rows = await z.toArray();
        return { data: Float32Array.from({ length: z.shape[0] }, (_, i) => rows[2 * i]), shape: [z.shape[0], 1, 1, 1] };
      },
    };
    const n = 2 * SAMPLE_PIECE + 88;
    const noise = Float32Array.from({ length: 2 * n }, (_, i) => i);
    const before = wg.memory().tensors;
    const { data, shape } = await sampleInPieces(model, noise);
    expect(counts).toEqual([SAMPLE_PIECE, SAMPLE_PIECE, 88]);
    expect(shape).toEqual([n, 1, 1, 1]);
    expect(Array.from(data)).toEqual(Array.from({ length: n }, (_, i) => 2 * i));
    expect(wg.memory().tensors).toBe(before);
  });
});
