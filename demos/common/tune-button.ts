// "Tune for this GPU" in every page's header: runs the three models'
// training steps once with tuning on (src/train/tune-step.ts, what `wgrad
// tune` runs), shows each kernel shape as it is timed, and keeps the
// choices in this browser's IndexedDB, where every later page load finds
// them (init's default tune mode, 'cached'). A training page may name its
// own model and sizes, so the shapes tuned are the ones it will run.
import * as wg from '../../src/index';
import { getBackend } from '../../src/runtime';
import type { WebGpuBackend } from '../../src/backend/webgpu';
import { stepForTuning, type TunableModel } from '../../src/train/tune-step';
import { el } from './page';

export interface TuneTarget {
  model: TunableModel;
  config: string;
  batch?: number;
  imageSize?: number;
}

let pageTargets: (() => TuneTarget[]) | null = null;

/** A training page names the model and sizes it runs; other pages tune the three models at their default sizes. */
export function setTuneTargets(targets: () => TuneTarget[]): void {
  pageTargets = targets;
}

function defaultTargets(): TuneTarget[] {
  const config = wg.onCpuDevice() ? 'tiny' : 'small';
  return (['dcgan', 'vae', 'diffusion'] as const).map((model) => ({ model, config }));
}

/** The button and its status line, for the header of a page running on WebGPU. */
export function tuneControl(): HTMLElement {
  const gpu = getBackend('webgpu') as WebGpuBackend;
  const box = el('span', { class: 'tune' });
  const button = el('button', { type: 'button', 'data-testid': 'tune', title: 'Time each kernel configuration on this GPU and keep the fastest' }, 'Tune for this GPU');
  const status = el('span', { class: 'tune-status', 'data-testid': 'tune-status', role: 'status' });
  const cached = () => gpu.tuner.known.length;
  status.textContent = cached() ? `${cached()} kernel shapes tuned` : '';
  let running = false;
  button.addEventListener('click', async () => {
    if (running) {
      gpu.tuner.cancel();
      button.disabled = true;
      return;
    }
    running = true;
    button.textContent = 'Stop tuning';
    const mode = gpu.tuner.mode;
    gpu.tuner.mode = 'on';
    let tuned = 0;
    let tableMs = 0;
    let tunedMs = 0;
    try {
      for (const target of (pageTargets ?? defaultTargets)()) {
        gpu.tuner.onProgress = (done, total, result) => {
          tuned++;
          tableMs += result.tableMs;
          tunedMs += result.ms;
          status.textContent = `tuning ${target.model} ${target.config}: ${done}/${total} ${result.kernel} ${result.shape}`;
        };
        status.textContent = `tuning ${target.model} ${target.config}…`;
        await stepForTuning(target.model, target.config, target.batch, target.imageSize);
        if (button.disabled) break; // stopped
      }
      const speedUp = tunedMs > 0 ? ` (${(tableMs / tunedMs).toFixed(2)}× faster than the table on those)` : '';
      status.textContent = `${tuned} kernel shapes tuned${speedUp}; ${cached()} kept in this browser`;
    } catch (error) {
      status.textContent = `tuning failed: ${(error as Error).message}`;
    } finally {
      gpu.tuner.onProgress = null;
      gpu.tuner.mode = mode === 'off' ? 'off' : 'cached';
      running = false;
      button.disabled = false;
      button.textContent = 'Tune for this GPU';
    }
  });
  box.append(button, status);
  return box;
}
