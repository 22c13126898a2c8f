// wg.summary: the layer table, as data and as text.
import { describe, it, expect, beforeAll } from 'vitest';
import * as wg from '../src/node/index';

const { nn } = wg;

beforeAll(async () => {
  await wg.init({ backend: 'webgpu', seed: 0 });
});

describe('summary', () => {
  it('lists each layer with output shape, params, FLOPs and activation memory', () => {
    const model = new nn.Sequential(
      new nn.Conv2d(3, 8, 4, { stride: 2, padding: 1 }),
      new nn.BatchNorm2d(8),
      new nn.LeakyReLU(0.2),
      new nn.ConvTranspose2d(8, 4, 4, { stride: 2, padding: 1, bias: false }),
      new nn.Flatten(),
      new nn.Linear(4 * 16 * 16, 10),
    );
    const before = wg.memory().tensors;
    const s = wg.summary(model, [2, 3, 16, 16]);
    console.log(s.toString());
    expect(wg.memory().tensors).toBe(before);
    expect(s.rows.map((r) => r.name)).toEqual(['0', '1', '2', '3', '4', '5']);
    expect(s.rows.map((r) => r.outputShape)).toEqual([
      [2, 8, 8, 8], [2, 8, 8, 8], [2, 8, 8, 8], [2, 4, 16, 16], [2, 1024], [2, 10],
    ]);
    expect(s.rows[0].params).toBe(8 * 3 * 16 + 8);
    expect(s.rows[0].flops).toBe(2 * 2 * 8 * 8 * 8 * 3 * 16);
    expect(s.rows[3].flops).toBe(2 * (2 * 8 * 8 * 8) * 4 * 16); // every input pixel meets every output tap
    expect(s.rows[5].flops).toBe(2 * 2 * 1024 * 10);
    expect(s.totalParams).toBe(model.parameters().reduce((n, p) => n + p.size, 0));
    expect(s.activationBytes).toBe(4 * (2 * 3 * 16 * 16) + s.rows.reduce((n, r) => n + r.activationBytes, 0));
    expect(s.toString()).toMatch(/params: /);
    // running statistics did not move, training mode is restored
    expect(model.training).toBe(true);
  });
});
