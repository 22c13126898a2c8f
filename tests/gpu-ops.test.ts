// WebGPU (Dawn) against the CPU reference for every op, forward and every
// gradient: the shared cases of tests/cases/, one test each. The same cases
// run in Chromium through Playwright (tests/browser/), and under WebGPU's
// default limits in default-limits.test.ts.
import { describeGpuCases } from './gpu-cases';

describeGpuCases('WebGPU vs CPU reference');
