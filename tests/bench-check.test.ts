// The peer benchmark's correctness check, on one tiny case of each kernel:
// wgrad and tfjs-backend-webgpu agree on the same inputs, and wgrad agrees
// with its CPU reference. Agreement only: speed lives in `npm run bench`.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as wg from '../src/node/index';
import { kernelCases, nchwToNhwc, nhwcToNchw, permute4 } from '../bench/peer/cases';
import { checkCase } from '../bench/peer/harness';
import { loadTfjs, unloadTfjs, type Tfjs } from '../bench/peer/tfjs';
import { unetAgreement } from '../bench/peer/unet-tfjs';

let tf: Tfjs;

beforeAll(async () => {
  await wg.init({ backend: 'webgpu', seed: 0 });
  tf = await loadTfjs();
});

afterAll(() => unloadTfjs());

describe('layout helpers', () => {
  it('NCHW ↔ NHWC and permute4 are inverse where they should be', () => {
    const a = Float32Array.from({ length: 2 * 3 * 4 * 5 }, (_, i) => i);
    expect(Array.from(nhwcToNchw(nchwToNhwc(a, 2, 3, 4, 5), 2, 3, 4, 5))).toEqual(Array.from(a));
    expect(Array.from(permute4(a, [2, 3, 4, 5], [0, 2, 3, 1]))).toEqual(Array.from(nchwToNhwc(a, 2, 3, 4, 5)));
    expect(Array.from(permute4(permute4(a, [2, 3, 4, 5], [2, 3, 1, 0]), [4, 5, 3, 2], [3, 2, 0, 1]))).toEqual(Array.from(a));
  });
});

describe('wgrad and tfjs-backend-webgpu agree', () => {
  it('on one small case of each kernel, and wgrad with its CPU reference', async () => {
    const builders = kernelCases(tf, true);
    const picked = new Map<string, (typeof builders)[number]>();
    for (const b of builders) if (!picked.has(b.kind)) picked.set(b.kind, b);
    // a strided 3×3 conv too: tfjs's explicit padding and ours must line up
    const strided = builders.find((b) => b.name.includes('down'));
    if (strided) picked.set('strided', strided);
    const kinds = new Set<string>();
    for (const builder of picked.values()) {
      for (const c of builder.build()) {
        try {
          const { peerDiff, referenceDiff } = await checkCase(c);
          console.log(`${c.kind} ${c.name}: vs tfjs ${peerDiff.toExponential(1)}, vs CPU reference ${referenceDiff?.toExponential(1)}`);
          expect(peerDiff).toBeLessThanOrEqual(1e-3);
          expect(referenceDiff).toBeDefined();
          expect(referenceDiff!).toBeLessThanOrEqual(1e-3);
          kinds.add(c.kind);
        } finally {
          c.dispose();
        }
      }
    }
    expect([...kinds].sort()).toEqual(['batchnorm fwd+bwd', 'conv2d', 'conv2d dgrad', 'conv2d wgrad', 'convTranspose2d', 'matmul']);
  });
});

describe('the training-step peers run the same architecture', () => {
  it('tfjs\'s U-Net with our weights copied in computes our ε̂ (attention, classes, 2 levels)', async () => {
    const config = { imageSize: 8, channels: 1 as const, baseChannels: 8, channelMults: [1, 2], resBlocks: 1, attention: true, classes: 3 };
    const { maxAbs, scale } = await unetAgreement(tf, config);
    console.log(`U-Net ε̂, wgrad vs tfjs: max abs difference ${maxAbs.toExponential(2)} (largest |ε̂| ${scale.toFixed(2)})`);
    expect(scale).toBeGreaterThan(0.1);
    expect(maxAbs).toBeLessThanOrEqual(1e-4 * Math.max(1, scale));
  });
});
