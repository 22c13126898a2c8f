// The bench page: the Node bench's suite (bench/peer/suite.ts) run in this
// browser, wgrad against tfjs-backend-webgpu on this page's GPU. Results
// fill the table and the ratio chart as they arrive; the JSON download has
// the shape `npm run bench -- --json` writes.
import { BarController, BarElement, CategoryScale, Chart, LinearScale, Tooltip } from 'chart.js';
import type { CaseResult } from '../bench/peer/harness';
import { markdownTable, summary } from '../bench/peer/harness';
import { benchBuilders, runSuite } from '../bench/peer/suite';
import { loadTfjs, type Tfjs } from '../bench/peer/tfjs';
import { adapterName, browserHeader } from '../bench/browser/describe';
import { el, pageError, pageReady, startPage } from './common/page';
import './bench.css';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip);

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

interface BenchJson {
  header: string;
  device: string;
  quick: boolean;
  date: string;
  results: CaseResult[];
}

let results: CaseResult[] = [];
let lastRun: BenchJson | null = null;
let running = false;
let chart: Chart<'bar', number[], string> | null = null;

/** The filter box: several terms separated by commas, each as `npm run bench -- --filter` takes it. */
function filterTerms(text: string): string[] {
  const terms = text.split(',').map((t) => t.trim()).filter((t) => t.length > 0);
  return terms.length ? terms : [''];
}

/** The cases a run will measure, in order, from the builders' names (for the progress line; nothing is built). */
function plannedCases(tf: Tfjs, quick: boolean, terms: string[]): string[] {
  const planned: string[] = [];
  for (const term of terms) {
    const match = (s: string) => s.toLowerCase().includes(term.toLowerCase());
    for (const b of benchBuilders(tf, quick)) {
      const names = b.kind === 'conv2d ×3'
        ? ['conv2d', 'conv2d dgrad', 'conv2d wgrad'].map((k) => `${k} ${b.name}`)
        : [`${b.kind} ${b.name}`];
      for (const n of names) if (match(n) && !planned.includes(n)) planned.push(n);
    }
  }
  return planned;
}

// ---- the table, the chart, the summary

function rate(r: CaseResult, peer: boolean): string {
  const g = peer ? r.peerGflops : r.gflops;
  if (g !== undefined) return `${g.toFixed(g < 10 ? 3 : 1)} GFLOP/s`;
  const b = peer ? r.peerGbps : r.gbps;
  return b !== undefined ? `${b.toFixed(b < 10 ? 3 : 1)} GB/s` : '';
}

function ms(value: number, spread: number): string {
  return `${value.toFixed(2)} ± ${(spread / 2).toFixed(2)}`;
}

function addRow(r: CaseResult): void {
  const tr = el('tr', { 'data-testid': 'bench-row' });
  const cells = [
    r.kind,
    r.name,
    ms(r.ms, r.spread),
    rate(r, false),
    ms(r.peerMs, r.peerSpread),
    rate(r, true),
    r.ratio.toFixed(2),
    `${r.firstMs.toFixed(0)} / ${r.peerFirstMs.toFixed(0)}`,
    `${r.peerDiff.toExponential(1)}${r.referenceDiff !== undefined ? ` / ${r.referenceDiff.toExponential(1)}` : ''}`,
  ];
  cells.forEach((text, i) => {
    const td = el('td', {}, text);
    if (i === 6) td.className = `ratio ${r.ratio >= 1 ? 'faster' : 'slower'}`;
    tr.append(td);
  });
  $('bench-table').querySelector('tbody')!.append(tr);
}

const log2 = (v: number) => Math.log(v) / Math.LN2;

function ratioLabel(log: number): string {
  const v = 2 ** log;
  return `${v >= 1 ? v.toFixed(v >= 10 ? 0 : 1) : v.toPrecision(2)}×`;
}

function shorten(label: string, narrow: boolean): string {
  const max = narrow ? 22 : 48;
  return label.length > max ? `${label.slice(0, max - 1)}…` : label;
}

/** A horizontal bar per case: log2(ratio), so 1× is the zero line and 2× and ½× are equally far from it. */
function drawChart(): void {
  const box = $('chart-box');
  box.hidden = results.length === 0;
  if (results.length === 0) return;
  box.style.height = `${Math.max(160, 70 + 30 * results.length)}px`;
  const labels = results.map((r) => `${r.kind} ${r.name}`);
  const data = results.map((r) => log2(r.ratio));
  const colours = results.map((r) => (r.ratio >= 1 ? '#2e8b57' : '#e07b39'));
  const extent = Math.max(1, Math.ceil(Math.max(...data.map(Math.abs))));
  if (chart) {
    chart.data.labels = labels;
    chart.data.datasets[0].data = data;
    chart.data.datasets[0].backgroundColor = colours;
    chart.options.scales!.x!.min = -extent;
    chart.options.scales!.x!.max = extent;
    chart.update();
    return;
  }
  chart = new Chart($<HTMLCanvasElement>('bench-chart'), {
    type: 'bar',
    data: { labels, datasets: [{ label: 'tfjs ms ÷ wgrad ms', data, backgroundColor: colours, barPercentage: 0.8 }] },
    options: {
      indexAxis: 'y',
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      scales: {
        x: {
          type: 'linear',
          min: -extent,
          max: extent,
          ticks: { stepSize: 1, callback: (v) => ratioLabel(Number(v)) },
          // the 1× line: the zero of log2(ratio), drawn dark and thick
          grid: { color: (c) => (c.tick?.value === 0 ? '#1d1d1f' : '#e4e4de'), lineWidth: (c) => (c.tick?.value === 0 ? 2 : 1) },
          title: { display: true, text: '← tfjs faster   ratio (log scale)   wgrad faster →' },
        },
        y: {
          ticks: { autoSkip: false, callback: (_v, i) => shorten(String(chart?.data.labels?.[i] ?? labels[i] ?? ''), window.innerWidth < 600), font: { size: 11 } },
          grid: { display: false },
        },
      },
      plugins: {
        tooltip: {
          callbacks: {
            title: (items) => String(chart?.data.labels?.[items[0].dataIndex] ?? ''),
            label: (item) => `ratio ${results[item.dataIndex]?.ratio.toFixed(2)} (tfjs ${results[item.dataIndex]?.peerMs.toFixed(2)} ms, wgrad ${results[item.dataIndex]?.ms.toFixed(2)} ms)`,
          },
        },
      },
    },
  });
}

function showSummary(): void {
  const pre = $('bench-summary');
  pre.hidden = results.length === 0;
  pre.textContent = results.length ? summary(results) : '';
  $('bench-markdown').textContent = results.length ? markdownTable(results) : '';
}

// ---- running

async function run(quick: boolean, filterText: string, rounds: number): Promise<void> {
  if (running) return;
  running = true;
  const button = $<HTMLButtonElement>('run');
  const download = $<HTMLButtonElement>('download');
  const status = $('bench-status');
  const progress = $<HTMLProgressElement>('bench-progress');
  const failures = $('bench-failures');
  button.disabled = true;
  download.disabled = true;
  results = [];
  lastRun = null;
  $('bench-table').querySelector('tbody')!.replaceChildren();
  failures.replaceChildren();
  drawChart();
  showSummary();
  try {
    status.textContent = 'Loading TensorFlow.js and its WebGPU backend…';
    const tf = await loadTfjs();
    const terms = filterTerms(filterText);
    const planned = plannedCases(tf, quick, terms);
    if (planned.length === 0) {
      status.textContent = `No case matches '${filterText}'. Try 'matmul', 'conv2d', 'wgrad', 'U-Net' or leave it empty for all.`;
      return;
    }
    progress.hidden = false;
    progress.max = planned.length;
    progress.value = 0;
    let done = 0;
    let failed = 0;
    const showProgress = () => {
      progress.value = done;
      const next = planned[Math.min(done, planned.length - 1)];
      status.textContent = `Case ${Math.min(done + 1, planned.length)} of ${planned.length}: ${next} (checking, then ${rounds} round${rounds > 1 ? 's' : ''})…`;
    };
    showProgress();
    const seen = new Set<string>();
    const date = new Date();
    for (const term of terms) {
      await runSuite(tf, {
        quick,
        filter: term,
        rounds,
        onResult: (r) => {
          const key = `${r.kind} ${r.name}`;
          done++;
          if (!seen.has(key)) {
            seen.add(key);
            results.push(r);
            addRow(r);
            drawChart();
            showSummary();
          }
          showProgress();
        },
        onFailure: (what, error) => {
          done++;
          failed++;
          failures.append(el('li', {}, `${what}: ${error.message}`));
          showProgress();
        },
      });
    }
    progress.value = progress.max;
    const header = browserHeader(tf.version.tfjs, quick, date);
    lastRun = { header, device: adapterName(), quick, date: date.toISOString(), results: [...results] };
    status.textContent = `Done: ${results.length} case${results.length === 1 ? '' : 's'} measured${failed ? `, ${failed} failed (below)` : ''}. ${header}.`;
    download.disabled = results.length === 0;
  } catch (error) {
    status.textContent = `The run stopped: ${(error as Error).message}`;
    console.error(error);
  } finally {
    running = false;
    button.disabled = false;
  }
}

function downloadJson(): void {
  if (!lastRun) return;
  const blob = new Blob([`${JSON.stringify(lastRun, null, 2)}\n`], { type: 'application/json' });
  const url = URL.createObjectURL(blob);
  const a = el('a', { href: url, download: `wgrad-bench-${lastRun.date.slice(0, 10)}.json` });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function buildControls(canRun: boolean): void {
  const box = $('bench-controls');
  const quickLabel = el('label', { class: 'check' });
  const quick = el('input', { type: 'checkbox', name: 'quick', 'data-testid': 'bench-quick' });
  quick.checked = true;
  quickLabel.append(quick, document.createTextNode(' quick sizes (small, for a slow GPU)'));
  const filterLabel = el('label', { class: 'grow' }, 'Filter (part of a case name; several with commas)');
  const filter = el('input', { type: 'text', name: 'filter', placeholder: 'e.g. matmul, conv2d wgrad, U-Net', 'data-testid': 'bench-filter' });
  filterLabel.append(filter);
  const roundsLabel = el('label', {}, 'Rounds');
  const rounds = el('input', { type: 'number', name: 'rounds', min: '1', max: '50', value: '3', 'data-testid': 'bench-rounds' });
  roundsLabel.append(rounds);
  const runButton = el('button', { id: 'run', type: 'button', class: 'primary', 'data-testid': 'bench-run' }, 'Run');
  const download = el('button', { id: 'download', type: 'button', 'data-testid': 'bench-download' }, 'Download JSON');
  download.disabled = true;
  box.append(quickLabel, filterLabel, roundsLabel, runButton, download);
  runButton.disabled = !canRun;
  runButton.addEventListener('click', () => {
    const n = Math.round(Number(rounds.value));
    if (!Number.isFinite(n) || n < 1) {
      $('bench-status').textContent = `Rounds must be a whole number ≥ 1, got '${rounds.value}'.`;
      return;
    }
    void run(quick.checked, filter.value, n);
  });
  download.addEventListener('click', downloadJson);
}

async function main(): Promise<void> {
  const info = await startPage({ file: 'bench.html', cpuFallback: false });
  const canRun = info.backend === 'webgpu';
  buildControls(canRun);
  if (!canRun) $('bench-status').textContent = 'The bench needs WebGPU: there is nothing to time on the CPU reference.';
  // redraw the chart's labels when the width crosses the phone/laptop line
  window.addEventListener('resize', () => chart?.update());
  pageReady({
    results: () => results,
    running: () => running,
  });
}

main().catch(pageError);
