import { describe, it, expect } from 'vitest';
import * as wg from '../src/index';

describe('smoke', () => {
  it('runs on webgpu', async () => {
    await wg.init({ backend: 'webgpu', seed: 1 });
    const a = wg.tensor([[1, 2], [3, 4]], null, { requiresGrad: true });
    const b = wg.tensor([[5, 6], [7, 8]], null, { requiresGrad: true });
    const c = a.matmul(b).add(1).relu().sum();
    console.log(await c.toArray());
    c.backward();
    console.log(await a.grad!.toArray(), await b.grad!.toArray());
    const s = wg.F.softmax(wg.tensor([1, 2, 3]), 0);
    console.log(await s.toArray());
    console.log(wg.memory());
    expect(await c.item()).toBe(19+22+43+50+4);
  });
});
