// The shared GPU check cases (WebGPU vs the CPU reference), run by vitest in
// Node (tests/gpu-ops.test.ts) and by Playwright in Chromium (tests/browser/).
import * as wg from '../../src/index';
import type { Case } from './types';
import { opCases } from './ops';
import { convCases } from './conv';

export type { Case, CaseResult } from './types';

/** options: Node's tests pass Dawn as the GPU (gpu-cases.ts); a page has navigator.gpu. */
export async function setupCases(options: Pick<wg.InitOptions, 'limits' | 'gpu'> = {}): Promise<void> {
  await wg.init({ backend: 'webgpu', seed: 0, ...options });
}

export const gpuCases: Case[] = [...opCases, ...convCases];
