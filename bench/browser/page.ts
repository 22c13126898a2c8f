// The page `npm run bench -- --browser` opens (drive.ts serves it and
// drives it): the bench suite (../peer/suite.ts) on this browser's WebGPU,
// with the options from the query string (?quick=1&filter=…&rounds=3).
// Every event goes back to Node through window.__benchReport, which the
// driver exposes before the page loads.
import * as wg from '../../src/index';
import { runSuite } from '../peer/suite';
import { loadTfjs } from '../peer/tfjs';
import type { CaseResult } from '../peer/harness';
import { adapterName, browserHeader } from './describe';

export type BenchEvent =
  | { type: 'header'; header: string; device: string }
  | { type: 'result'; result: CaseResult }
  | { type: 'failure'; what: string; message: string }
  | { type: 'done'; failures: number }
  | { type: 'error'; message: string };

declare global {
  interface Window {
    __benchReport?: (event: BenchEvent) => Promise<void>;
  }
}

const status = document.getElementById('status')!;

// Events go out one after the other, in order.
let sent: Promise<void> = Promise.resolve();
function report(event: BenchEvent): Promise<void> {
  if (!window.__benchReport) throw new Error('this page is driven by `npm run bench -- --browser`: window.__benchReport is missing');
  const send = window.__benchReport;
  sent = sent.then(() => send(event));
  return sent;
}

async function main(): Promise<void> {
  const query = new URLSearchParams(location.search);
  const quick = query.get('quick') === '1';
  const filter = query.get('filter') ?? '';
  const rounds = Number(query.get('rounds') ?? (quick ? 3 : 7));
  await wg.init({ backend: 'webgpu', seed: 0 });
  const tf = await loadTfjs();
  await report({ type: 'header', header: browserHeader(tf.version.tfjs, quick, new Date()), device: adapterName() });
  let done = 0;
  const { failures } = await runSuite(tf, {
    quick,
    filter,
    rounds,
    onResult: (result) => {
      status.textContent = `${++done} measured: ${result.kind} ${result.name}`;
      void report({ type: 'result', result });
    },
    onFailure: (what, error) => void report({ type: 'failure', what, message: error.message }),
  });
  status.textContent = `Done: ${done} measured, ${failures} failed.`;
  await report({ type: 'done', failures });
}

main().catch((error: Error) => {
  status.textContent = `The run stopped: ${error.message}`;
  void report({ type: 'error', message: error.stack ?? error.message });
});
