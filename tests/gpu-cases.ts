// The GPU-vs-CPU comparison of every shared case (tests/cases/), as one
// vitest suite: run with the adapter's own limits (gpu-ops.test.ts) and with
// WebGPU's defaults only (default-limits.test.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as wg from '../src/node/index';
import { nodeInitOptions } from '../src/node/init';
import { gpuCases, setupCases } from './cases/index';
import type { InitOptions } from '../src/runtime';
import type { CaseResult } from './cases/types';

function fmt(x: number): string {
  return Number.isFinite(x) ? x.toExponential(2) : String(x);
}

function table(results: CaseResult[]): string {
  const rows = [['case', 'ok', 'maxAbs', 'maxRel'], ...results.map((r) => [r.name, r.ok ? 'ok' : 'FAIL', fmt(r.maxAbs), fmt(r.maxRel)])];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  const line = (row: string[]) => row.map((cell, c) => (c >= 2 ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ');
  return [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

export function describeGpuCases(title: string, options: Pick<InitOptions, 'limits'> = {}): void {
  describe(title, () => {
    const results: CaseResult[] = [];
    let tensorsBefore = 0;

    beforeAll(async () => {
      await setupCases({ ...nodeInitOptions(), ...options });
      tensorsBefore = wg.memory().tensors;
    });

    afterAll(() => {
      console.log(`\n${title} (${results.length} cases)\n${table(results)}\n`);
    });

    for (const c of gpuCases) {
      it(c.name, async () => {
        const r = await c.run();
        results.push(r);
        expect(r.ok, `${r.name}: maxAbs=${fmt(r.maxAbs)} maxRel=${fmt(r.maxRel)} ${r.message ?? ''}`).toBe(true);
      });
    }

    it('leaves no tensors behind', () => {
      expect(wg.memory().tensors, 'wg.memory().tensors after all cases').toBe(tensorsBefore);
    });
  });
}
