// A model through a safetensors file and back: the same eval outputs after
// a load, and a broken or mismatched file refused with the model untouched.
import { describe, it, expect, beforeAll } from 'vitest';
import * as wg from '../src/node/index';
import { DcganTrainer, dcganTrainConfig } from '../src/train/dcgan';

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

describe('a training checkpoint whose metadata was tampered with', () => {
  it('is refused on read, naming the file, the key and what was found, before the nets are made', async () => {
    const trainer = new DcganTrainer(dcganTrainConfig('tiny', { channels: 1, data: 'shapes', batch: 2, samples: 4 }));
    const good = await trainer.checkpoint();
    trainer.dispose();
    const tensors = wg.io.loadSafetensors(good);
    const metadata = wg.io.safetensorsMetadata(good);
    const tampered = async (key: string, value: string) => {
      const bytes = await wg.io.saveSafetensors(tensors, { ...metadata, [key]: value });
      const before = wg.memory().tensors;
      const started = performance.now();
      let message = '';
      try {
        DcganTrainer.fromCheckpoint(bytes, 'run/ckpt.safetensors').dispose();
      } catch (error) {
        message = (error as Error).message;
      }
      expect(performance.now() - started).toBeLessThan(10_000);
      expect(wg.memory().tensors).toBe(before);
      return message;
    };
    expect(await tampered('wgrad.parts', 'not json')).toMatch(
      /^run\/ckpt\.safetensors: the checkpoint's 'wgrad\.parts' metadata must be a JSON list of distinct, non-empty names .*, found "not json"$/,
    );
    expect(await tampered('wgrad.parts', '5')).toMatch(/run\/ckpt\.safetensors: the checkpoint's 'wgrad\.parts' metadata must be a JSON list.*found "5"/);
    expect(await tampered('wgrad.parts', '["generator", 7]')).toMatch(/'wgrad\.parts'/);
    expect(await tampered('wgrad.rng', '{}')).toMatch(/run\/ckpt\.safetensors: the checkpoint's 'wgrad\.rng' metadata must be a JSON list of four unsigned 32-bit integers .*found "\{\}"/);
    expect(await tampered('wgrad.rng', '[1, 2, 3, -4]')).toMatch(/'wgrad\.rng'/);
    expect(await tampered('wgrad.step', '1e3')).toMatch(/'wgrad\.step' metadata must be a whole number of steps, found "1e3"/);
    expect(await tampered('wgrad.config', '[]')).toMatch(/'wgrad\.config' metadata must be a JSON object/);
    expect(await tampered('wgrad.config', 'x'.repeat(500))).toMatch(/found "x{60}…"$/);
    const config = JSON.parse(metadata['wgrad.config']);
    expect(await tampered('wgrad.config', JSON.stringify({ ...config, samples: 1e8 }))).toMatch(
      /run\/ckpt\.safetensors: bad DCGAN config in the checkpoint: dcgan: samples must be an integer from 1 to 1024, got 100000000/,
    );
    for (const t of Object.values(tensors)) t.dispose();
  });
});
