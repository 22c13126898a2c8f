// `wgrad tune [dcgan|vae|diffusion|all]`: tunes the kernels of a model's
// training step on this adapter ahead of time. One step runs on stand-in
// images with tuning on; every conv, matmul, batchnorm and reduction shape
// it meets is timed against its candidates (src/backend/webgpu/tune.ts) and
// the choices are cached, so later runs (WGRAD_TUNE=cached, the default)
// use them from their first step.
import * as wg from '../node';
import { getBackend } from '../runtime';
import type { WebGpuBackend } from '../backend/webgpu';
import { describeChoice, type TuneResult } from '../backend/webgpu/tune';
import { nodeTuneStore } from '../node/tune-store';
import { TUNABLE_MODELS, TUNABLE_CONFIGS, stepForTuning, type TunableModel } from '../train/tune-step';
import { parseFlags, type Flags } from './args';

export const TUNE_FLAGS: Flags = {
  config: { type: 'string', help: "the model's named size (default: tiny on a CPU adapter such as SwiftShader, else small)" },
  batch: { type: 'string', help: "images per step (default: the config's)" },
  force: { type: 'boolean', help: 'tune again the shapes the cache already has' },
};

function drawBar(label: string, done: number, total: number, result: TuneResult): void {
  if (!process.stderr.isTTY) return;
  const width = 30;
  const filled = Math.round((width * done) / Math.max(1, total));
  const text = `${label} ${'█'.repeat(filled)}${'░'.repeat(width - filled)} ${done}/${total} ${result.kernel} ${result.shape}`;
  process.stderr.write(`\r${text.slice(0, (process.stderr.columns || 120) - 1).padEnd(Math.min(120, (process.stderr.columns || 120) - 1))}`);
}

function speedUp(result: TuneResult): string {
  return result.ms > 0 ? `${(result.tableMs / result.ms).toFixed(2)}×` : '—';
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column])).join('  ').trimEnd()).join('\n');
}

export async function tuneCommand(args: string[]): Promise<number> {
  const command = 'wgrad tune';
  const [first, ...rest] = args[0] && !args[0].startsWith('-') ? args : ['all', ...args];
  if (first !== 'all' && !TUNABLE_MODELS.includes(first as TunableModel)) {
    throw new Error(`${command}: unknown model '${first}'; valid: ${TUNABLE_MODELS.join(', ')}, all`);
  }
  const values = parseFlags(command, rest, TUNE_FLAGS);
  const models = first === 'all' ? [...TUNABLE_MODELS] : [first as TunableModel];
  const batch = values.batch === undefined ? undefined : Number(values.batch);
  if (batch !== undefined && !(Number.isInteger(batch) && batch >= 2)) throw new Error(`${command}: --batch must be an integer ≥ 2, got '${values.batch}'`);
  const configFlag = values.config as string | undefined;
  if (configFlag !== undefined) {
    for (const model of models) {
      if (!TUNABLE_CONFIGS[model].includes(configFlag)) {
        throw new Error(`${command}: --config '${configFlag}' is not a ${model} size; valid: ${TUNABLE_CONFIGS[model].join(', ')}`);
      }
    }
  }

  await wg.init({ backend: 'webgpu', seed: 0, tune: 'on' });
  const gpu = getBackend('webgpu') as WebGpuBackend;
  const store = nodeTuneStore();
  gpu.tuner.retune = values.force === true;
  const adapter = wg.adapterInfo();
  console.log(`tuning for ${adapter.vendor} ${adapter.architecture} (${adapter.description || adapter.device}); cache: ${store.where(gpu.tuner.adapter)}`);

  for (const model of models) {
    const configName = configFlag ?? (wg.onCpuDevice() ? 'tiny' : 'small');
    gpu.tuner.asked.clear();
    const fresh = new Set<string>();
    const label = `${model} ${configName}`;
    gpu.tuner.onProgress = (done, total, result) => {
      fresh.add(`${result.kernel} ${result.shape}`);
      drawBar(label, done, total, result);
    };
    const started = performance.now();
    const described = await stepForTuning(model, configName, batch);
    if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
    const results = [...gpu.tuner.asked].map((key) => gpu.tuner.resultFor(key)).filter((r): r is TuneResult => r !== undefined);
    console.log(`\n${label} (${described}): ${fresh.size} shapes tuned, ${results.length - fresh.size} from the cache, ${((performance.now() - started) / 1000).toFixed(1)} s`);
    const rows = [['kernel', 'shape', 'table', 'ms', 'tuned', 'ms', 'speed-up', '']];
    for (const r of results.sort((a, b) => a.kernel.localeCompare(b.kernel))) {
      const same = describeChoice(r.choice) === describeChoice(r.table);
      rows.push([r.kernel, r.shape, describeChoice(r.table), r.tableMs.toFixed(3), same ? '(table)' : describeChoice(r.choice), r.ms.toFixed(3), speedUp(r), fresh.has(`${r.kernel} ${r.shape}`) ? '' : 'cached']);
    }
    console.log(table(rows));
    const tableTotal = results.reduce((sum, r) => sum + r.tableMs, 0);
    const tunedTotal = results.reduce((sum, r) => sum + r.ms, 0);
    console.log(`all ${results.length} kernels once: table ${tableTotal.toFixed(2)} ms, tuned ${tunedTotal.toFixed(2)} ms (${(tableTotal / Math.max(tunedTotal, 1e-9)).toFixed(2)}×)`);
  }
  gpu.tuner.onProgress = null;
  return 0;
}
