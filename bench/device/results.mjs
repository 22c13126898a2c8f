#!/usr/bin/env node
// Writes bench/RESULTS-<gpu>.md from what run.sh measured: wgrad against
// tfjs (the table run), wgrad against PyTorch eager, the autotuned run
// against the table, and the 4096³ matmul against the GPU's float32 peak.
// Plain JavaScript with no imports beyond Node's, so the device's bare
// `node` runs it.
//
//   node results.mjs --table wgrad-table.json [--tuned wgrad-tuned.json] [--torch torch.json]
//                    --gpu "NVIDIA H200" [--driver 560.35] [--seconds 512] [--note "…"]… [--out bench/RESULTS-h200.md] [--also DIR]
// --out defaults to bench/RESULTS-<gpu>.md ("NVIDIA H200" → h200); --also writes the same file into DIR too.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';

/**
 * float32 peak (non-tensor-core FMA) in TFLOP/s, from NVIDIA's data sheets,
 * matched against nvidia-smi's name in this order (more specific first).
 */
const F32_PEAK_TFLOPS = [
  [/GH200/i, 67],
  [/H200/i, 67], // SXM; the NVL is 60
  [/H100.*PCIe/i, 51],
  [/H100.*NVL/i, 60],
  [/H100/i, 67], // SXM
  [/B200/i, 80],
  [/A100/i, 19.5],
  [/L40S/i, 91.6],
  [/L40/i, 90.5],
  [/L4\b/i, 30.3],
  [/A10G?\b/i, 31.2],
  [/RTX 6000 Ada/i, 91.1],
  [/RTX A6000/i, 38.7],
  [/RTX 4090/i, 82.6],
  [/RTX 3090/i, 35.6],
  [/V100.*PCIe/i, 14],
  [/V100/i, 15.7],
  [/T4\b/i, 8.1],
];

function f32PeakTflops(gpu) {
  for (const [pattern, tflops] of F32_PEAK_TFLOPS) if (pattern.test(gpu)) return tflops;
  return null;
}

/** "NVIDIA H200" → "h200", "NVIDIA A100-SXM4-80GB" → "a100-sxm4-80gb". */
function gpuSlug(gpu) {
  return gpu.replace(/^\s*(nvidia|tesla)\s+/i, '').replace(/^geforce\s+/i, '').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'gpu';
}

/** Training steps join on the model (DCGAN, VAE, U-Net), kernels on the case's label. */
function key(r) {
  return r.kind === 'training step' ? `${r.kind} ${r.name.split(' ')[0]}` : `${r.kind} ${r.name}`;
}

const fmt = (v, digits = 2) => (v === undefined || v === null || !Number.isFinite(v) ? '–' : v.toFixed(digits));

function rate(r) {
  if (r.gflops !== undefined) return `${fmt(r.gflops, r.gflops < 10 ? 3 : 1)} GFLOP/s`;
  if (r.gbps !== undefined) return `${fmt(r.gbps, r.gbps < 10 ? 3 : 1)} GB/s`;
  return '';
}

/** Geometric mean and worst of `ratio(row)` per kind, as lines. */
function summary(rows, ratio) {
  const kinds = [...new Set(rows.map((r) => r.kind))];
  return kinds
    .map((kind) => {
      const rs = rows.filter((r) => r.kind === kind).map(ratio).filter((v) => Number.isFinite(v) && v > 0);
      if (rs.length === 0) return null;
      const geo = Math.exp(rs.reduce((a, v) => a + Math.log(v), 0) / rs.length);
      return `${kind.padEnd(20)} geomean ${geo.toFixed(2)}, worst ${Math.min(...rs).toFixed(2)}, best ${Math.max(...rs).toFixed(2)} over ${rs.length}`;
    })
    .filter(Boolean)
    .join('\n');
}

function readJson(path) {
  return path && existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) : null;
}

/** The markdown, from the parsed JSONs (table required; tuned and torch may be null). */
function resultsMarkdown({ table, tuned, torch, gpu, driver, seconds, notes }) {
  const peak = f32PeakTflops(gpu);
  const date = (table.date ?? new Date().toISOString()).slice(0, 10);
  const tunedBy = new Map((tuned?.results ?? []).map((r) => [key(r), r]));
  const torchBy = new Map((torch?.results ?? []).map((r) => [key(r), r]));
  const out = [];
  out.push(`# wgrad on ${gpu} — ${date}`, '');
  out.push(`- GPU: ${gpu}${driver ? `, driver ${driver}` : ''}; float32 peak ${peak ? `${peak} TFLOP/s (data sheet, non-tensor-core FMA)` : 'unknown for this name (not in bench/device/results.mjs)'}.`);
  out.push(`- wgrad and tfjs: ${table.header}. Both on Dawn (npm \`webgpu\`) in one Node process, ${table.quick ? '--quick sizes' : 'full sizes'} (bench/peer/shapes.ts); every case checked against the other side before timing.`);
  out.push(`- Table run: \`WGRAD_TUNE=off\` (the kernels' built-in tile table). Tuned run: \`WGRAD_TUNE=on\` (the autotuner times candidates on this adapter first).`);
  if (torch) out.push(`- PyTorch ${torch.torch} eager, CUDA ${torch.cuda ?? '–'}, cuDNN ${torch.cudnn ?? '–'}, on ${torch.device}; float32 with TF32 off, cudnn.benchmark ${torch.cudnnBenchmark ? 'on' : 'off'} (the default).`);
  else out.push('- PyTorch: no results (see the log).');
  out.push(`- Command: \`bash bench/device/run.sh\` (bench/device/README.md)${seconds ? `, ${seconds} s in all` : ''}. Ratios above 1: wgrad is faster.`);
  for (const note of notes) out.push(`- ${note}`);
  out.push('');

  // ---- matmul against the peak
  const name = 'square 4096';
  const flops = 2 * 4096 ** 3;
  const m = table.results.find((r) => r.kind === 'matmul' && r.name === name);
  const mt = tunedBy.get(`matmul ${name}`);
  const mp = torchBy.get(`matmul ${name}`);
  out.push('## 4096³ float32 matmul against the peak', '');
  out.push('| who | ms | GFLOP/s | of the f32 peak |', '|---|---:|---:|---:|');
  const peakRow = (who, ms) => {
    const g = ms ? flops / ms / 1e6 : undefined;
    out.push(`| ${who} | ${fmt(ms, 3)} | ${fmt(g, 0)} | ${peak && g ? `${((100 * g) / (peak * 1000)).toFixed(1)} %` : '–'} |`);
  };
  peakRow('wgrad (table)', m?.ms);
  peakRow('wgrad (tuned)', mt?.ms);
  peakRow('tfjs-backend-webgpu', m?.peerMs);
  peakRow('PyTorch eager (cuBLAS)', mp?.ms);
  out.push('');

  // ---- wgrad against tfjs
  out.push('## wgrad against tfjs-backend-webgpu (table run)', '');
  out.push('| kernel | case | wgrad ms | wgrad rate | tfjs ms | ratio (tfjs / wgrad) | first run ms (wgrad / tfjs) |', '|---|---|---:|---:|---:|---:|---:|');
  for (const r of table.results) {
    out.push(`| ${r.kind} | ${r.name} | ${fmt(r.ms, 3)} | ${rate(r)} | ${fmt(r.peerMs, 3)} | **${fmt(r.ratio)}** | ${fmt(r.firstMs, 0)} / ${fmt(r.peerFirstMs, 0)} |`);
  }
  out.push('', '```', summary(table.results, (r) => r.ratio), '```', '');

  // ---- wgrad against PyTorch
  out.push('## wgrad against PyTorch eager', '');
  if (!torch) out.push('No PyTorch results.', '');
  else {
    out.push('wgrad\'s time is the tuned run\'s where it measured the case, else the table run\'s.', '');
    out.push('| kernel | case | wgrad ms | PyTorch ms | ratio (PyTorch / wgrad) |', '|---|---|---:|---:|---:|');
    const rows = [];
    for (const r of table.results) {
      const p = torchBy.get(key(r));
      if (!p) continue;
      const ours = tunedBy.get(key(r))?.ms ?? r.ms;
      rows.push({ kind: r.kind, ratio: p.ms / ours });
      out.push(`| ${r.kind} | ${r.name} | ${fmt(ours, 3)} | ${fmt(p.ms, 3)} | **${fmt(p.ms / ours)}** |`);
    }
    out.push('', '```', summary(rows, (r) => r.ratio), '```', '');
    if (torch.skipped?.length) out.push(`PyTorch ran out of its time budget before: ${torch.skipped.map((s) => `${s.kind} ${s.name}`).join('; ')}.`, '');
    if (torch.failed?.length) out.push(`PyTorch failed: ${torch.failed.map((s) => `${s.kind} ${s.name} (${s.error})`).join('; ')}.`, '');
  }

  // ---- tuned against the table
  out.push('## Autotuned against the tile table (wgrad)', '');
  if (!tuned) out.push('No tuned run.', '');
  else {
    out.push('| kernel | case | table ms | tuned ms | speed-up (table / tuned) | first run ms (table / tuned) |', '|---|---|---:|---:|---:|---:|');
    const rows = [];
    for (const r of table.results) {
      const t = tunedBy.get(key(r));
      if (!t) continue;
      rows.push({ kind: r.kind, ratio: r.ms / t.ms });
      out.push(`| ${r.kind} | ${r.name} | ${fmt(r.ms, 3)} | ${fmt(t.ms, 3)} | **${fmt(r.ms / t.ms)}** | ${fmt(r.firstMs, 0)} / ${fmt(t.firstMs, 0)} |`);
    }
    out.push('', '```', summary(rows, (r) => r.ratio), '```', '');
    const missing = table.results.filter((r) => !tunedBy.has(key(r))).length;
    if (missing) out.push(`The tuned run did not reach ${missing} of the table run's ${table.results.length} cases (its time budget).`, '');
  }
  return `${out.join('\n')}\n`;
}

const { values } = parseArgs({
  options: {
    table: { type: 'string' }, tuned: { type: 'string' }, torch: { type: 'string' },
    gpu: { type: 'string' }, driver: { type: 'string' }, seconds: { type: 'string' },
    note: { type: 'string', multiple: true, default: [] }, out: { type: 'string' }, also: { type: 'string' },
  },
});
const table = readJson(values.table);
if (!table) {
  console.error(`results.mjs: no table run (${values.table ?? 'pass --table'}): nothing to write`);
  process.exit(1);
}
const gpu = values.gpu || table.device;
const markdown = resultsMarkdown({
  table, tuned: readJson(values.tuned), torch: readJson(values.torch), gpu, driver: values.driver, seconds: values.seconds, notes: values.note,
});
const out = values.out ?? `bench/RESULTS-${gpuSlug(gpu)}.md`;
for (const path of [out, ...(values.also ? [join(values.also, basename(out))] : [])]) {
  writeFileSync(path, markdown);
  console.log(`wrote ${path}`);
}
