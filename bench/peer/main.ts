// `npm run bench`: every kernel case and the models' training steps, wgrad
// against tfjs-backend-webgpu on the same kind of adapter, in Node; with
// --browser, the same suite in headless Chromium (bench/browser/).
//
//   npm run bench -- [--quick] [--filter conv] [--json out.json] [--markdown out.md] [--rounds 5]
//                    [--browser [--browser-path /path/to/chrome]] [--tune on|off]
//
// wgrad's side runs the kernels' built-in table against tfjs; beside it
// each case is timed with the tuned configurations (tuned at the case's
// first run, cached per adapter like `wgrad tune`; --tune off skips this
// and leaves wgrad's side as WGRAD_TUNE says, as bench/device/run.sh uses it)
// and, where the device has subgroups, batchnorm and the training steps
// with the workgroup-memory kernels against the subgroup ones.
//
// --filter takes part of a case's "kind name", or several parts separated
// by commas. --json is rewritten after every case, so a run cut short
// still leaves what it measured.
import { parseArgs } from 'node:util';
import { writeFileSync } from 'node:fs';
import * as wg from '../../src/node/index';
import { countsTable, markdownTable, resultLine, summary, variantsTable, type CaseResult, type Variant } from './harness';
import { getBackend } from '../../src/runtime';
import type { WebGpuBackend } from '../../src/backend/webgpu';
import { sameChoice } from '../../src/backend/webgpu/tune';
import { runSuite } from './suite';
import { labelledShapes } from './shapes';
import { benchModelConfigs } from './models';
import { loadTfjs, unloadTfjs } from './tfjs';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    filter: { type: 'string', default: '' },
    json: { type: 'string' },
    markdown: { type: 'string' },
    rounds: { type: 'string' },
    browser: { type: 'boolean', default: false },
    'browser-path': { type: 'string' },
    tune: { type: 'string', default: 'on' },
  },
});
if (values.tune !== 'on' && values.tune !== 'off') throw new Error(`bench: --tune must be 'on' or 'off', got '${values.tune}'`);
const quick = values.quick!;
const rounds = Number(values.rounds ?? (quick ? 3 : 7));
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`bench: --rounds must be a positive integer, got '${values.rounds}'`);
if (values['browser-path'] && !values.browser) throw new Error('bench: --browser-path goes with --browser');

const results: CaseResult[] = [];
let header = '';
let device = '';
const date = new Date();

/** The results, and the shapes and model configs behind them (bench/device/torch_bench.py builds the same work from those). */
function writeJson(): void {
  if (!values.json) return;
  const json = { header, device, quick, date: date.toISOString(), results, shapes: labelledShapes(quick), models: benchModelConfigs(quick) };
  writeFileSync(values.json, `${JSON.stringify(json, null, 2)}\n`);
}

const onResult = (r: CaseResult) => {
  results.push(r);
  console.log(resultLine(r));
  writeJson();
};
const onFailure = (what: string, error: Error) => console.error(`FAILED ${what}: ${error.message}`);

/**
 * The tuned configurations against the table (every case), and the
 * subgroup kernels against the workgroup-memory ones (batchnorm and the
 * training steps, where the device has subgroups).
 */
function benchVariants(tune: boolean): Variant[] {
  const gpu = getBackend('webgpu') as WebGpuBackend;
  const variants: Variant[] = [];
  if (tune) {
    gpu.tuner.mode = 'off';
    variants.push({
      label: 'tuned', defaultOn: false, applies: () => true,
      prepare: async (runOurs) => {
        gpu.tuner.mode = 'on';
        gpu.tuner.asked.clear();
        await runOurs();
        await gpu.tuner.tunePending(); // the bench's sync reads past the backend's readback, where tuning happens
      },
      set: (on) => {
        gpu.tuner.mode = on ? 'cached' : 'off';
      },
      // the same kernels as the table's: the two columns differ by noise alone
      note: () => ([...gpu.tuner.asked].every((key) => {
        const result = gpu.tuner.resultFor(key);
        return !result || sameChoice(result.choice, result.table);
      }) ? '= table' : ''),
    });
  }
  if (gpu.subgroups) {
    variants.push({
      label: 'subgroups', defaultOn: true, applies: (c) => c.kind === 'batchnorm fwd+bwd' || c.kind === 'training step',
      set: (on) => {
        gpu.subgroups = on;
      },
    });
  }
  return variants;
}

let failures: number;
if (values.browser) {
  const { runInBrowser } = await import('../browser/drive');
  const run = await runInBrowser({
    quick,
    filter: values.filter!,
    rounds,
    browserPath: values['browser-path'],
    onHeader: (h, d) => {
      [header, device] = [h, d];
      console.log(header);
    },
    onResult,
    onFailure,
  });
  failures = run.failures;
} else {
  // Node's init: Dawn, and WGRAD_TUNE / WGRAD_LIMITS from the environment
  await wg.init({ backend: 'webgpu', seed: 0 });
  const tf = await loadTfjs();
  const adapter = wg.adapterInfo();
  device = `${adapter.vendor} ${adapter.architecture} (${adapter.description || adapter.device})`;
  header = `wgrad vs @tensorflow/tfjs-backend-webgpu ${tf.version.tfjs}, Node ${process.versions.node} on Dawn, adapter ${device}, ${date.toISOString().slice(0, 10)}${quick ? ', --quick sizes' : ''}`;
  console.log(header);
  ({ failures } = await runSuite(tf, { quick, filter: values.filter!, rounds, onResult, onFailure, variants: benchVariants(values.tune === 'on') }));
  unloadTfjs();
}

if (results.length === 0 && failures === 0) console.error(`bench: no case matches --filter '${values.filter}'`);
const counts = countsTable(results);
const variants = variantsTable(results);
const table = markdownTable(results) + (variants ? `\n\n${variants}` : '') + (counts ? `\n\n${counts}` : '');
console.log(`\n${table}\n\n${summary(results)}`);
if (values.json) {
  writeJson();
  console.log(`wrote ${values.json}`);
}
if (values.markdown) {
  writeFileSync(values.markdown, `${header}\n\n${table}\n\n\`\`\`\n${summary(results)}\n\`\`\`\n`);
  console.log(`wrote ${values.markdown}`);
}
process.exitCode = failures || results.length === 0 ? 1 : 0;
