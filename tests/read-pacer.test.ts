// The readback pacer (src/backend/webgpu/read-pacer.ts): on a fake clock,
// what it sleeps and what it learns; on Dawn in Node with SwiftShader, that
// the backend has one and a loop of reads stays exact while it learns.
import { describe, it, expect } from 'vitest';
import * as wg from '../src/node/index';
import { getBackend, withBackend } from '../src/runtime';
import type { WebGpuBackend } from '../src/backend/webgpu';
import { ReadPacer, type PacerClock } from '../src/backend/webgpu/read-pacer';

/** A clock that only moves when slept on, and work that finishes `workMs` after it was submitted. */
function fakeHost() {
  const host = { t: 0, slept: [] as number[], workMs: 0 };
  const clock: PacerClock = {
    now: () => host.t,
    sleep: async (ms) => {
      host.slept.push(ms);
      host.t += ms;
    },
  };
  /** A wait on work submitted now: the map resolves when the work is done, or at once if it already is. */
  const readback = (pacer: ReadPacer, work: string) => {
    const submitted = host.t;
    return pacer.wait(work, async () => {
      host.t = Math.max(host.t, submitted + host.workMs);
      return work;
    });
  };
  return { host, clock, readback };
}

describe('ReadPacer, on a fake clock', () => {
  it('polls until two waits of the same work agree, then naps for 85% of the shorter', async () => {
    const { host, clock, readback } = fakeHost();
    const pacer = new ReadPacer(clock);
    host.workMs = 100;
    expect(await readback(pacer, 'work 120')).toBe('work 120');
    expect(pacer.expected('work 120')).toBe(0);
    host.workMs = 90;
    await readback(pacer, 'work 120');
    expect(host.slept).toEqual([]);
    expect(pacer.expected('work 120')).toBe(90);
    await readback(pacer, 'work 120');
    expect(host.slept).toEqual([0.85 * 90]);
  });

  it('learns a shorter wait when the work was done before the nap ended, and stops napping when it was far from done', async () => {
    const { host, clock, readback } = fakeHost();
    const pacer = new ReadPacer(clock);
    host.workMs = 100;
    await readback(pacer, 'work 7');
    await readback(pacer, 'work 7');
    host.workMs = 40;   // the same work got faster
    const naps: number[] = [];
    for (let i = 0; i < 12; i++) {
      host.slept = [];
      await readback(pacer, 'work 7');
      naps.push(host.slept[0] ?? 0);
    }
    expect(naps[0]).toBe(85);
    expect(naps[1]).toBeCloseTo(0.85 * 0.9 * 85, 10);
    // it settles at 85% of the new 40 ms, never sleeping past the work for long
    expect(naps.at(-1)).toBeGreaterThanOrEqual(0.85 * 40 - 1e-9);
    expect(naps.at(-1)).toBeLessThanOrEqual(40);
    host.workMs = 200;  // 5× slower: the poll after the nap finds it out, and the two waits disagree
    await readback(pacer, 'work 7');
    expect(pacer.expected('work 7')).toBe(0);
    await readback(pacer, 'work 7');
    expect(pacer.expected('work 7')).toBe(200);
  });

  it('never naps on a key whose waits disagree: different work sharing a key, or a first use that compiled its pipelines', async () => {
    const { host, clock, readback } = fakeHost();
    const pacer = new ReadPacer(clock);
    for (let i = 0; i < 6; i++) {
      host.workMs = i % 2 ? 2 : 300;
      await readback(pacer, 'one dispatch, 64 workgroups');
    }
    expect(host.slept).toEqual([]);
  });

  it('keeps its learning per amount of work, and never naps for waits too short for a timer', async () => {
    const { host, clock, readback } = fakeHost();
    const pacer = new ReadPacer(clock);
    host.workMs = 100;
    await readback(pacer, 'work 50');
    await readback(pacer, 'work 50');
    host.workMs = 2;
    for (let i = 0; i < 3; i++) await readback(pacer, 'work 0');
    expect(host.slept).toEqual([]);
    expect(pacer.expected('work 0')).toBe(2);
    expect(pacer.expected('work 50')).toBe(100);
  });

  it('passes a failed map on and learns nothing from it', async () => {
    const { clock } = fakeHost();
    const pacer = new ReadPacer(clock);
    await expect(pacer.wait('work 3', async () => { throw new Error('mapAsync: the buffer was destroyed'); })).rejects.toThrow(/destroyed/);
    expect(pacer.expected('work 3')).toBe(0);
  });
});

describe('readbacks through Dawn in Node', () => {
  it("a CPU adapter gets a pacer, and a loop of reads through it gives the CPU reference's numbers every time", async () => {
    await wg.init({ backend: 'webgpu', seed: 0 });
    const gpu = getBackend('webgpu') as WebGpuBackend;
    expect(gpu.ctx.pacer !== null).toBe(gpu.adapterKind === 'cpu');
    const a = wg.keep(wg.randn([96, 96]));
    const results: Float32Array[] = [];
    for (let i = 0; i < 5; i++) {
      const row = wg.scope(() => a.matmul(a).relu().sum([1]));
      results.push(await row.toArray());
      row.dispose();
    }
    for (const r of results) expect(Array.from(r)).toEqual(Array.from(results[0]));
    const data = await a.toArray();
    const reference = await withBackend('cpu', () => {
      const x = wg.tensor(data, [96, 96]);
      return x.matmul(x).relu().sum([1]);
    }).toArray();
    let worst = 0;
    for (let i = 0; i < 96; i++) worst = Math.max(worst, Math.abs(results[0][i] - reference[i]) / Math.max(1, Math.abs(reference[i])));
    expect(worst).toBeLessThan(1e-5);
    a.dispose();
  });
});
