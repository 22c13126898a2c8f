// A model through a safetensors file and back: the same eval outputs after
// a load, and a broken or mismatched file refused with the model untouched.
import { describe, it, expect, beforeAll } from 'vitest';
import * as wg from '../src/index';

const { nn } = wg;

beforeAll(async () => {
  await wg.init({ backend: 'webgpu', seed: 0 });
});

function makeModel(width = 8): wg.nn.Sequential {
  return new nn.Sequential(
    new nn.Conv2d(3, width, 3, { padding: 1 }),
    new nn.BatchNorm2d(width),
    new nn.LeakyReLU(0.2),
    new nn.ConvTranspose2d(width, 4, 4, { stride: 2, padding: 1 }),
    new nn.Flatten(),
    new nn.Linear(4 * 12 * 12, 5),
  );
}

async function values(model: wg.nn.Module): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {};
  for (const [k, t] of Object.entries(model.stateDict())) out[k] = Array.from(await t.toArray());
  return out;
}

describe('checkpoints', () => {
  it('save → load gives identical tensors and identical eval outputs', async () => {
    wg.seed(3);
    const a = makeModel();
    const x = wg.randn([2, 3, 6, 6]);
    // one training-mode pass moves the running statistics away from their init
    wg.scope(() => {
      a.forward(x);
    });
    a.eval();
    const expected = await wg.scope(() => a.forward(x)).toArray();
    const bytes = await wg.io.saveSafetensors(a, { note: 'test' });
    expect(wg.io.safetensorsMetadata(bytes)).toEqual({ note: 'test' });

    const b = makeModel();
    const loaded = wg.io.loadSafetensors(bytes, 'model.safetensors');
    b.loadStateDict(loaded);
    for (const t of Object.values(loaded)) t.dispose();
    b.eval();
    expect(await values(b)).toEqual(await values(a));
    expect(Array.from(await wg.scope(() => b.forward(x)).toArray())).toEqual(Array.from(expected));
  });

  it('a broken file or a mismatched checkpoint leaves the model untouched', async () => {
    const model = makeModel();
    const before = await values(model);
    const good = await wg.io.saveSafetensors(makeModel());

    const truncated = good.slice(0, good.length - 4);
    expect(() => model.loadStateDict(wg.io.loadSafetensors(truncated, 'ckpt.safetensors'))).toThrow(/ckpt\.safetensors/);
    expect(await values(model)).toEqual(before);

    const wider = await wg.io.saveSafetensors(makeModel(16));
    const tensors = wg.io.loadSafetensors(wider);
    expect(() => model.loadStateDict(tensors)).toThrow(/shape mismatches: 0\.weight: checkpoint \[16, 3, 3, 3\] vs model \[8, 3, 3, 3\]/);
    expect(await values(model)).toEqual(before);
    for (const t of Object.values(tensors)) t.dispose();
  });
});
