// `npm run bench`: every kernel case and the models' training steps, wgrad
// against tfjs-backend-webgpu on the same kind of adapter, in Node.
//
//   npm run bench -- [--quick] [--filter conv] [--json out.json] [--markdown out.md] [--rounds 5]
import { parseArgs } from 'node:util';
import { writeFileSync } from 'node:fs';
import * as wg from '../../src/node/index';
import { countsTable, markdownTable, summary } from './harness';
import { runSuite } from './suite';
import { loadTfjs, unloadTfjs } from './tfjs';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    filter: { type: 'string', default: '' },
    json: { type: 'string' },
    markdown: { type: 'string' },
    rounds: { type: 'string' },
  },
});
const quick = values.quick!;
const rounds = Number(values.rounds ?? (quick ? 3 : 7));
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`bench: --rounds must be a positive integer, got '${values.rounds}'`);

await wg.init({ backend: 'webgpu', seed: 0 });
const tf = await loadTfjs();
const adapter = wg.adapterInfo();
const device = `${adapter.vendor} ${adapter.architecture} (${adapter.description || adapter.device})`;
const header = `wgrad vs @tensorflow/tfjs-backend-webgpu ${tf.version.tfjs}, Node ${process.versions.node} on Dawn, adapter ${device}, ${new Date().toISOString().slice(0, 10)}${quick ? ', --quick sizes' : ''}`;
console.log(header);

const { results, failures } = await runSuite(tf, {
  quick,
  filter: values.filter!,
  rounds,
  onResult: (r) =>
    console.log(`${r.kind.padEnd(18)} ${r.name.padEnd(44)} wgrad ${r.ms.toFixed(2).padStart(9)} ms   tfjs ${r.peerMs.toFixed(2).padStart(9)} ms   ratio ${r.ratio.toFixed(2)}`),
  onFailure: (what, error) => console.error(`FAILED ${what}: ${error.message}`),
});

const counts = countsTable(results);
const table = markdownTable(results) + (counts ? `\n\n${counts}` : '');
console.log(`\n${table}\n\n${summary(results)}`);
if (values.json) {
  writeFileSync(values.json, `${JSON.stringify({ header, device, quick, date: new Date().toISOString(), results }, null, 2)}\n`);
  console.log(`wrote ${values.json}`);
}
if (values.markdown) {
  writeFileSync(values.markdown, `${header}\n\n${table}\n\n\`\`\`\n${summary(results)}\n\`\`\`\n`);
  console.log(`wrote ${values.markdown}`);
}
unloadTfjs();
process.exitCode = failures ? 1 : 0;
