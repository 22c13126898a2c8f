// `npm run bench`: every kernel case and the models' training steps, wgrad
// against tfjs-backend-webgpu on the same kind of adapter, in Node.
//
//   npm run bench -- [--quick] [--filter conv] [--json out.json] [--markdown out.md] [--rounds 5]
import { parseArgs } from 'node:util';
import { writeFileSync } from 'node:fs';
import * as wg from '../../src/index';
import { kernelCases, type Case } from './cases';
import { dcganStepCase } from './models';
import { measure, markdownTable, summary, type CaseResult } from './harness';
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

const filter = values.filter!.toLowerCase();
const builders: { name: string; kind: string; build(): Case[] }[] = [
  ...kernelCases(tf, quick),
  { name: 'DCGAN step', kind: 'training step', build: () => [dcganStepCase(tf, quick)] },
];
// --filter matches a case's "kind name" (e.g. 'wgrad', 'U-Net', 'conv2d dgrad DCGAN64')
const matches = (text: string) => text.toLowerCase().includes(filter);
const convKinds = ['conv2d', 'conv2d dgrad', 'conv2d wgrad'];

const results: CaseResult[] = [];
let failures = 0;
for (const builder of builders) {
  const candidates = builder.kind === 'conv2d ×3' ? convKinds.map((k) => `${k} ${builder.name}`) : [`${builder.kind} ${builder.name}`];
  if (!candidates.some(matches)) continue;
  let cases: Case[];
  try {
    cases = builder.build();
  } catch (error) {
    failures++;
    console.error(`FAILED to build ${builder.kind} ${builder.name}: ${(error as Error).message}`);
    continue;
  }
  for (const c of cases) {
    if (!matches(`${c.kind} ${c.name}`)) {
      c.dispose();
      continue;
    }
    try {
      const r = await measure(c, { rounds, warmup: quick ? 1 : 3, minRoundMs: quick ? 0 : 50 });
      results.push(r);
      console.log(`${r.kind.padEnd(18)} ${r.name.padEnd(44)} wgrad ${r.ms.toFixed(2).padStart(9)} ms   tfjs ${r.peerMs.toFixed(2).padStart(9)} ms   ratio ${r.ratio.toFixed(2)}`);
    } catch (error) {
      failures++;
      console.error(`FAILED ${c.kind} ${c.name}: ${(error as Error).message}`);
    } finally {
      c.dispose();
    }
  }
}

const table = markdownTable(results);
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
