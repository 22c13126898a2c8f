// The diffusion page: train the U-Net, and watch one sample being denoised,
// x_t and the predicted x̂_0 at every step, with DDPM or DDIM. Sampling with
// a seed draws the same noise as `wgrad sample diffusion --seed`.
import * as wg from '../src/index';
import { sampleDdim, sampleDdpm, type SampleResult } from '../src/models/diffusion';
import { DIFFUSION_MODEL, classRows, gridColumns, type DiffusionSetup, type DiffusionTrainer } from '../src/train/diffusion';
import { imageGrid } from '../src/io/picture';
import { el, pageError, pageReady, startPage } from './common/page';
import { canvasPixels, drawImages, drawPicture, pixelCanvas } from './train/canvas';
import { baseSetup, optionalNumber, type ModelKind } from './train/model-kind';
import { TrainingPage } from './train/training-page';

const diffusion: ModelKind<DiffusionTrainer> = {
  model: DIFFUSION_MODEL,
  cpuBatch: 16,
  defaultSampleEvery: (onCpu) => (onCpu ? 20 : 200),
  imageSize: (_name, extra) => Number(extra.size),
  extraSettings: (onCpu, params) => [
    { name: 'size', label: 'Image size', choices: [['16', '16 × 16'], ['32', '32 × 32'], ['64', '64 × 64']], initial: params.get('size') ?? (onCpu ? '16' : '32') },
    { name: 'cond', label: 'Labels', choices: [['on', 'class-conditional'], ['off', 'unconditional']], initial: params.get('cond') === 'off' ? 'off' : 'on' },
  ],
  extraOf: (trainer) => ({ size: String(trainer.config.imageSize), cond: trainer.config.classes > 0 ? 'on' : 'off' }),
  setup: (page): DiffusionSetup => {
    const { dataset, params, extra, onCpu } = page;
    const classes = extra.cond === 'on' ? dataset.classNames.length : 0;
    // On a CPU adapter a grid of 16+ samples costs more than many training steps: a row per class, or 8.
    let samples = optionalNumber(params, 'samples') ?? (onCpu ? classes || 8 : undefined);
    if (samples !== undefined && classes > 0) samples = Math.ceil(samples / classes) * classes;
    return { ...baseSetup(page), imageSize: dataset.size, classes, samples, sampleSteps: optionalNumber(params, 'sampleSteps') };
  },
};

/** Thrown from onStep to stop a sampler run. */
class Stopped extends Error {}

/** Evenly spaced picks from 0..last, both ends included (as the CLI's strip). */
function evenlySpaced(last: number, count: number): number[] {
  if (last + 1 <= count) return Array.from({ length: last + 1 }, (_, i) => i);
  return Array.from({ length: count }, (_, i) => Math.round((i * last) / (count - 1)));
}

const STRIP_FRAMES = 8;

interface SampleRequest {
  seed: number;
  n: number;
  sampler: 'ddim' | 'ddpm';
  steps: number;
  eta: number;
  /** a class id, or null for "no label" */
  label: number | null;
  onStep?: (step: number, xt: wg.Tensor, x0: wg.Tensor) => Promise<void>;
}

/** The sampler run `wgrad sample diffusion` does for the same options (EMA weights). */
function runSampler(trainer: DiffusionTrainer, request: SampleRequest): Promise<SampleResult> {
  const { classes } = trainer.config;
  const labels = classes > 0 && request.label !== null ? new Array<number>(request.n).fill(request.label) : null;
  const options = { n: request.n, seed: request.seed, labels, onStep: request.onStep };
  return request.sampler === 'ddpm'
    ? sampleDdpm(trainer.denoiser, options)
    : sampleDdim(trainer.denoiser, { ...options, steps: request.steps, eta: request.eta });
}

async function main(): Promise<void> {
  await startPage({ file: 'diffusion.html', cpuFallback: true });
  const page = new TrainingPage(diffusion, document.getElementById('main')!);

  const panel = page.addPanel('Denoising, step by step', 'denoise-panel');
  panel.classList.add('wide');
  const samplerSelect = el('select', { 'data-testid': 'sampler' });
  samplerSelect.append(el('option', { value: 'ddim' }, 'DDIM'), el('option', { value: 'ddpm' }, 'DDPM (all T steps)'));
  const stepsInput = el('input', { type: 'number', min: '1', step: '1', value: page.onCpu ? '10' : '50', 'data-testid': 'sample-steps' });
  const etaInput = el('input', { type: 'number', min: '0', step: '0.1', value: '0', 'data-testid': 'eta' });
  const classSelect = el('select', { 'data-testid': 'class' });
  const seedInput = el('input', { type: 'number', step: '1', value: '0', 'data-testid': 'sample-seed' });
  const denoise = el('button', { type: 'button', class: 'primary', 'data-testid': 'denoise' }, 'Denoise');
  const stop = el('button', { type: 'button', 'data-testid': 'stop-denoise' }, 'Stop');
  stop.disabled = true;
  const controls = el('div', { class: 'controls' });
  const labelled = (text: string, control: HTMLElement) => {
    const label = el('label', {}, text);
    label.append(control);
    return label;
  };
  const stepsLabel = labelled('DDIM steps', stepsInput);
  const etaLabel = labelled('η (DDIM noise)', etaInput);
  controls.append(labelled('Sampler', samplerSelect), stepsLabel, etaLabel, labelled('Class', classSelect), labelled('Seed', seedInput), denoise, stop);
  samplerSelect.addEventListener('change', () => {
    const ddpm = samplerSelect.value === 'ddpm';
    stepsLabel.hidden = ddpm;
    etaLabel.hidden = ddpm;
  });

  const xtCanvas = pixelCanvas('the noisy image x_t', 'xt');
  const x0Canvas = pixelCanvas('the predicted clean image', 'x0');
  const xtCaption = el('figcaption', {}, 'xₜ');
  const x0Caption = el('figcaption', {}, 'predicted x̂₀');
  const views = el('div', { class: 'pair denoise-views' });
  for (const [canvas, caption] of [[xtCanvas, xtCaption], [x0Canvas, x0Caption]] as const) {
    const figure = el('figure');
    figure.append(canvas, caption);
    views.append(figure);
  }
  const strip = pixelCanvas('the run at evenly spaced steps: x_t above, predicted x_0 below', 'strip');
  strip.classList.add('strip');
  const progress = el('p', { class: 'note', 'data-testid': 'denoise-progress' }, 'Train a little (or load a checkpoint), then press Denoise.');
  panel.append(
    el('p', { class: 'note' }, 'One sample from the EMA weights. The strip below shows the run at evenly spaced steps: xₜ above, x̂₀ below. Training waits while it runs.'),
    controls, progress, views, strip,
  );

  let stopRequested = false;
  let stepsShown = 0;

  const fillClasses = (trainer: DiffusionTrainer | null) => {
    classSelect.replaceChildren(el('option', { value: 'none' }, 'no label'));
    const classes = trainer?.config.classes ?? 0;
    for (let k = 0; k < classes; k++) classSelect.append(el('option', { value: String(k) }, `class ${k}`));
    classSelect.disabled = classes === 0;
    if (trainer) stepsInput.max = String(trainer.config.timesteps);
  };
  page.onTrainerChange(fillClasses);
  fillClasses(null);

  const denoiseOne = async () => {
    const trainer = page.requireTrainer();
    const { channels, imageSize, timesteps } = trainer.config;
    const sampler = samplerSelect.value as 'ddim' | 'ddpm';
    const steps = sampler === 'ddpm' ? timesteps : Math.trunc(Number(stepsInput.value));
    if (!(steps >= 1 && steps <= timesteps)) throw new Error(`DDIM steps must be from 1 to T = ${timesteps}`);
    const eta = Number(etaInput.value);
    if (!(eta >= 0)) throw new Error('η must be a number ≥ 0');
    const shape = [1, channels, imageSize, imageSize];
    const imageLength = channels * imageSize * imageSize;
    const shown = new Set(evenlySpaced(steps, STRIP_FRAMES));
    const stripXt: Float32Array[] = [];
    const stripX0: Float32Array[] = [];
    const drawStrip = () => {
      const frames = stripXt.length;
      const data = new Float32Array(2 * frames * imageLength);
      [...stripXt, ...stripX0].forEach((image, i) => data.set(image, i * imageLength));
      drawPicture(strip, imageGrid(data, [2 * frames, channels, imageSize, imageSize], { columns: frames }));
      strip.style.width = `${frames * 72}px`; // about 64 px a frame; max-width keeps it inside a phone
    };
    stopRequested = false;
    stepsShown = 0;
    denoise.disabled = true;
    stop.disabled = false;
    progress.textContent = page.isRunning() ? 'Waiting for the training step in progress…' : 'Starting…';
    try {
      const result = await page.withModel((model) => runSampler(model, {
        seed: Math.trunc(Number(seedInput.value)), n: 1, sampler, steps, eta,
        label: classSelect.value === 'none' ? null : Number(classSelect.value),
        onStep: async (step, xt, x0) => {
          if (stopRequested) throw new Stopped();
          const xtData = await xt.toArray();
          const x0Data = await x0.toArray();
          drawImages(xtCanvas, xtData, shape, { padding: 0 });
          drawImages(x0Canvas, x0Data, shape, { padding: 0 });
          if (shown.has(step)) {
            stripXt.push(xtData);
            stripX0.push(x0Data);
            drawStrip();
          }
          stepsShown = step + 1;
          progress.textContent = `${sampler.toUpperCase()} step ${step + 1} of ${steps}`;
          await new Promise((resolve) => setTimeout(resolve, 0)); // let the page paint this step
        },
      }));
      if (!result) return;
      drawImages(xtCanvas, result.data, shape, { padding: 0 });
      if (shown.has(steps)) {
        stripXt.push(result.data);
        stripX0.push(result.data);
        drawStrip();
      }
      progress.textContent = `Done: ${steps} ${sampler.toUpperCase()} steps` +
        (Number.isFinite(result.msPerStep) ? `, ${result.msPerStep.toFixed(0)} ms per step.` : '.');
    } catch (error) {
      if (!(error instanceof Stopped)) throw error;
      progress.textContent = `Stopped after ${stepsShown} steps.`;
    } finally {
      denoise.disabled = false;
      stop.disabled = true;
    }
  };
  denoise.addEventListener('click', () => void page.guard(denoiseOne));
  stop.addEventListener('click', () => {
    stopRequested = true;
  });

  pageReady({
    ...page.hooks(),
    denoiseSteps: () => stepsShown,
    stripPixels: () => canvasPixels(strip),
    /** n samples as `wgrad sample diffusion --class none` gives them (a row per class with --class rows) */
    sample: async (request: { seed: number; n: number; sampler?: 'ddim' | 'ddpm'; steps?: number; eta?: number; rows?: boolean }) => {
      const result = await page.withModel((trainer) => {
        const { classes } = trainer.config;
        const rows = request.rows === true && classes > 0;
        const n = rows ? Math.ceil(request.n / classes) * classes : request.n;
        const labels = rows ? classRows(classes, n) : null;
        const options = { n, seed: request.seed, labels };
        return (request.sampler ?? 'ddim') === 'ddpm'
          ? sampleDdpm(trainer.denoiser, options)
          : sampleDdim(trainer.denoiser, { ...options, steps: request.steps ?? 50, eta: request.eta ?? 0 });
      });
      if (!result) throw new Error('no model');
      const classes = page.trainer!.config.classes;
      return { data: Array.from(result.data), shape: result.shape, columns: gridColumns(request.rows ? classes : 0, result.shape[0]) };
    },
  });
}

main().catch(pageError);
