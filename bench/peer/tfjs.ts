// The peer: @tensorflow/tfjs with its WebGPU backend, on the same kind of
// adapter wgrad uses. In Node it runs on Dawn this way:
// Dawn's globals on globalThis and a `navigator.gpu` before the backend is
// set; the union package `@tensorflow/tfjs` (it registers the gradients)
// loaded with require, since its ESM build does not resolve in Node. In a
// browser the page imports it and navigator.gpu is the browser's.
import type * as TF from '@tensorflow/tfjs';

export type Tfjs = typeof TF;

// The device bundle (bench/device/vite.config.ts) defines this as true and
// inlines tfjs: a bundler resolves tfjs's ESM build, which Node alone does not.
declare const __BENCH_INLINE_TFJS__: boolean;
const inlineTfjs = typeof __BENCH_INLINE_TFJS__ !== 'undefined' && __BENCH_INLINE_TFJS__;

let loaded: Tfjs | null = null;

/** tfjs on its WebGPU backend; throws naming what is missing if that backend does not start. */
export async function loadTfjs(): Promise<Tfjs> {
  if (loaded) return loaded;
  let tf: Tfjs;
  if (typeof window === 'undefined') {
    const { createRequire } = await import('node:module');
    const require = createRequire(import.meta.url);
    const { create, globals } = require('webgpu') as { create(flags: string[]): GPU; globals: object };
    Object.assign(globalThis, globals);
    // The adapter the wgrad runtime found: init() has already set VK_ICD_FILENAMES when it needed to.
    (globalThis as { navigator?: unknown }).navigator = { gpu: create([]) };
    if (inlineTfjs) {
      tf = await import('@tensorflow/tfjs');
      await import('@tensorflow/tfjs-backend-webgpu');
    } else {
      tf = require('@tensorflow/tfjs') as Tfjs;
      require('@tensorflow/tfjs-backend-webgpu');
    }
  } else {
    tf = await import('@tensorflow/tfjs');
    await import('@tensorflow/tfjs-backend-webgpu');
  }
  const ok = await tf.setBackend('webgpu');
  if (!ok || tf.getBackend() !== 'webgpu') throw new Error(`tfjs: the webgpu backend did not start (got '${tf.getBackend()}')`);
  await tf.ready();
  loaded = tf;
  return tf;
}

/** Lets Node exit: tfjs keeps the navigator's GPU object alive otherwise. */
export function unloadTfjs(): void {
  if (typeof window === 'undefined') delete (globalThis as { navigator?: unknown }).navigator;
}

/** Waits until tfjs's queued work on `t` is done, reading back a single element. */
export async function tfjsSync(tf: Tfjs, t: TF.Tensor): Promise<void> {
  const one = tf.tidy(() => t.reshape([-1]).slice(0, 1));
  await one.data();
  one.dispose();
}
