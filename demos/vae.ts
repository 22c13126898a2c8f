// The VAE page: train, then explore the latent space — a clickable map of
// decoded images over the latent plane (the plane of the first two
// principal directions when the latent has more than two dimensions), and
// a slider walking between the codes of two held-out images.
import { VAE_MODEL, decodeLatents, encodeImages, firstExamples, type VaeTrainer } from '../src/train/vae';
import { defaultInterpolationMode, latentMap, type LatentMap } from '../src/train/latent';
import { slerpRows } from '../src/random';
import { el, pageError, pageReady, startPage } from './common/page';
import { canvasPixels, drawImages, drawPicture, pixelCanvas } from './train/canvas';
import type { ModelKind } from './train/model-kind';
import { TrainingPage } from './train/training-page';

const vae: ModelKind<VaeTrainer> = {
  model: VAE_MODEL,
  cpuBatch: 32,
  defaultSampleEvery: (onCpu) => (onCpu ? 5 : 25),
};

const DOT_COLOURS = ['#e6194b', '#3cb44b', '#ffe119', '#4363d8', '#f58231', '#911eb4', '#46f0f0', '#f032e6', '#bcf60c', '#fabebe'];
/** held-out images offered for the interpolation */
const THUMBNAILS = 12;

function positiveParam(params: URLSearchParams, name: string, fallback: number): number {
  const n = Number(params.get(name));
  return Number.isInteger(n) && n >= 2 ? n : fallback;
}

async function main(): Promise<void> {
  await startPage({ file: 'vae.html', cpuFallback: true });
  const page = new TrainingPage(vae, document.getElementById('main')!);
  const gridSize = positiveParam(page.params, 'map', page.onCpu ? 10 : 16);
  const mapCount = positiveParam(page.params, 'count', page.onCpu ? 256 : 1000);

  // The walk sits beside the samples and the losses; the map gets a wide row of its own.
  const walkPanel = page.addPanel('Interpolation', 'walk-panel');
  const mapPanel = page.addPanel('Latent map', 'map-panel');
  mapPanel.classList.add('wide');

  // ---------------------------------------------------------------- the latent map
  const mapNote = el('p', { class: 'note' }, 'Train a little, then the map shows what the decoder draws across the latent plane. Click a point to decode it.');
  const mapCanvas = pixelCanvas('decoded images over the latent plane; click to decode a point', 'map');
  const mapWrap = el('div', { class: 'map-wrap' });
  mapWrap.append(mapCanvas);
  const showPoints = el('input', { type: 'checkbox', checked: '' });
  const pointsLabel = el('label', { class: 'inline' }, ' held-out codes as dots');
  pointsLabel.prepend(showPoints);
  const updateMap = el('button', { type: 'button', 'data-testid': 'update-map' }, 'Update map');
  const mapControls = el('div', { class: 'controls' });
  mapControls.append(updateMap, pointsLabel);
  const preview = pixelCanvas('the image decoded at the clicked point', 'map-preview');
  const previewCaption = el('figcaption', {}, 'Click the map');
  const previewFigure = el('figure');
  previewFigure.append(preview, previewCaption);
  const mapLayout = el('div', { class: 'map-layout' });
  mapLayout.append(mapWrap, previewFigure);
  mapPanel.append(mapNote, mapControls, mapLayout);

  let map: LatentMap | null = null;
  let marker: [number, number] | null = null;
  let mapDraws = 0;
  let previewDraws = 0;

  /** Where plane point (x, y) is on the map canvas, in its pixels. */
  const toPixel = (m: LatentMap, x: number, y: number): [number, number] => {
    const tile = m.grid.width / gridSize;
    const span = (gridSize - 1) * tile;
    return [
      tile / 2 + ((x - m.extent.x[0]) / (m.extent.x[1] - m.extent.x[0])) * span,
      tile / 2 + ((m.extent.y[1] - y) / (m.extent.y[1] - m.extent.y[0])) * span,
    ];
  };
  const toPlane = (m: LatentMap, px: number, py: number): [number, number] => {
    const tile = m.grid.width / gridSize;
    const span = (gridSize - 1) * tile;
    return [
      m.extent.x[0] + ((px - tile / 2) / span) * (m.extent.x[1] - m.extent.x[0]),
      m.extent.y[1] - ((py - tile / 2) / span) * (m.extent.y[1] - m.extent.y[0]),
    ];
  };

  const drawMap = () => {
    if (!map) return;
    drawPicture(mapCanvas, map.grid);
    const context = mapCanvas.getContext('2d')!;
    if (showPoints.checked) {
      const labels = [...new Set(map.points.map((p) => p.label))];
      for (const point of map.points) {
        const [px, py] = toPixel(map, point.x, point.y);
        context.fillStyle = DOT_COLOURS[labels.indexOf(point.label) % DOT_COLOURS.length];
        context.fillRect(px - 1, py - 1, 2, 2);
      }
    }
    if (marker) {
      const [px, py] = toPixel(map, marker[0], marker[1]);
      context.strokeStyle = '#ffffff';
      context.lineWidth = 1.5;
      context.strokeRect(px - 5, py - 5, 10, 10);
    }
  };
  showPoints.addEventListener('change', drawMap);

  const refreshMap = async () => {
    const result = await page.withModel(async (trainer) => latentMap(trainer, await page.heldOut(), { gridSize, count: mapCount }));
    if (!result) return;
    map = result;
    marker = null;
    mapDraws++;
    drawMap();
    const range = (r: [number, number]) => `${r[0].toFixed(2)} … ${r[1].toFixed(2)}`;
    mapNote.textContent = map.axes === 'latent'
      ? `The 2-D latent itself: z₁ ${range(map.extent.x)} left to right, z₂ ${range(map.extent.y)} bottom to top (±3 std of the held-out codes). Click a point to decode it.`
      : `The plane of the first two principal directions of the ${page.trainer!.config.latent}-D codes ` +
        `(${map.explained!.map((f) => `${Math.round(100 * f)}%`).join(' + ')} of their variance), ±3 std. Click a point to decode it.`;
  };
  updateMap.addEventListener('click', () => void page.guard(refreshMap));

  const decodeAt = async (x: number, y: number) => {
    if (!map) return;
    const m = map;
    const { center, directions } = m.plane;
    const decoded = await page.withModel(async (trainer) => {
      const latent = trainer.config.latent;
      const z = new Float32Array(latent);
      for (let j = 0; j < latent; j++) z[j] = center[j] + x * directions[0][j] + y * directions[1][j];
      return { images: await decodeLatents(trainer, z, 1), shape: [1, trainer.config.channels, trainer.config.imageSize, trainer.config.imageSize] };
    });
    if (!decoded || map !== m) return;
    marker = [x, y];
    drawMap();
    drawImages(preview, decoded.images, decoded.shape, { padding: 0 });
    previewDraws++;
    previewCaption.textContent = `(${x.toFixed(2)}, ${y.toFixed(2)})`;
  };
  mapCanvas.addEventListener('click', (event) => {
    if (!map) return;
    const box = mapCanvas.getBoundingClientRect();
    const px = ((event.clientX - box.left) / box.width) * mapCanvas.width;
    const py = ((event.clientY - box.top) / box.height) * mapCanvas.height;
    const [x, y] = toPlane(map, px, py);
    void page.guard(() => decodeAt(x, y));
  });

  // ---------------------------------------------------------------- interpolation
  const walkNote = el('p', { class: 'note' }, 'Pick two held-out images (A, then B) and slide from one code to the other.');
  const thumbs = el('div', { class: 'thumbs', 'data-testid': 'thumbs' });
  const slider = el('input', { type: 'range', min: '0', max: '1', step: '0.05', value: '0.5', 'data-testid': 'slider', 'aria-label': 'position between A and B' });
  const [canvasA, canvasMix, canvasB] = [pixelCanvas('image A'), pixelCanvas('the decoded mix', 'mix'), pixelCanvas('image B')];
  const mixCaption = el('figcaption', {}, 't = 0.5');
  const walkRow = el('div', { class: 'pair' });
  for (const [canvas, caption] of [[canvasA, el('figcaption', {}, 'A')], [canvasMix, mixCaption], [canvasB, el('figcaption', {}, 'B')]] as const) {
    const figure = el('figure');
    figure.append(canvas, caption);
    walkRow.append(figure);
  }
  walkPanel.append(walkNote, thumbs, walkRow, slider);

  let heldOutImages: { images: Float32Array; count: number; shape: number[] } | null = null;
  let pair: [number, number] = [0, 1];
  let nextPick: 0 | 1 = 0;
  let codes: { a: Float32Array; b: Float32Array } | null = null;
  let mixDraws = 0;
  let wantedT: number | null = null;
  let decoding = false;

  const imageAt = (index: number): Float32Array => {
    const per = heldOutImages!.shape[1] * heldOutImages!.shape[2] * heldOutImages!.shape[3];
    return heldOutImages!.images.subarray(index * per, (index + 1) * per);
  };
  const markPair = () => {
    Array.from(thumbs.children).forEach((button, i) => {
      const role = i === pair[0] ? 'A' : i === pair[1] ? 'B' : null;
      if (role) button.setAttribute('data-role', role);
      else button.removeAttribute('data-role');
    });
  };

  /** Decodes the point t of the way from A's code to B's; slider moves during a decode collapse into one. */
  const showMix = async (t: number) => {
    wantedT = t;
    if (decoding) return;
    decoding = true;
    try {
      while (wantedT !== null && codes) {
        const at = wantedT;
        wantedT = null;
        const { a, b } = codes;
        const decoded = await page.withModel(async (trainer) => {
          const latent = trainer.config.latent;
          const z = defaultInterpolationMode(latent) === 'slerp'
            ? slerpRows(a, b, latent, at)
            : a.map((v, j) => (1 - at) * v + at * b[j]);
          return decodeLatents(trainer, z, 1);
        });
        if (!decoded || !heldOutImages) return;
        drawImages(canvasMix, decoded, [1, ...heldOutImages.shape.slice(1)], { padding: 0 });
        mixCaption.textContent = `t = ${at.toFixed(2)}`;
        mixDraws++;
      }
    } finally {
      decoding = false;
    }
  };

  const choosePair = async () => {
    if (!heldOutImages) return;
    markPair();
    const shape = [1, ...heldOutImages.shape.slice(1)];
    drawImages(canvasA, imageAt(pair[0]), shape, { padding: 0 });
    drawImages(canvasB, imageAt(pair[1]), shape, { padding: 0 });
    const both = new Float32Array(2 * imageAt(0).length);
    both.set(imageAt(pair[0]), 0);
    both.set(imageAt(pair[1]), imageAt(0).length);
    const encoded = await page.withModel((trainer) => encodeImages(trainer, both, 2));
    if (!encoded) return;
    const latent = encoded.mean.length / 2;
    codes = { a: encoded.mean.slice(0, latent), b: encoded.mean.slice(latent) };
    await showMix(Number(slider.value));
  };
  slider.addEventListener('input', () => void page.guard(() => showMix(Number(slider.value))));

  const loadThumbnails = async () => {
    const trainer = page.trainer;
    if (!trainer) return;
    const { channels, imageSize } = trainer.config;
    const examples = firstExamples(await page.heldOut(), THUMBNAILS);
    heldOutImages = { images: examples.images, count: examples.count, shape: [examples.count, channels, imageSize, imageSize] };
    thumbs.replaceChildren();
    for (let i = 0; i < examples.count; i++) {
      const button = el('button', { type: 'button', 'aria-label': `held-out image ${i}` });
      const canvas = pixelCanvas(`held-out image ${i}`);
      drawImages(canvas, imageAt(i), [1, channels, imageSize, imageSize], { padding: 0 });
      button.append(canvas);
      button.addEventListener('click', () => {
        if (i === pair[1 - nextPick]) return; // A and B must differ
        pair[nextPick] = i;
        nextPick = nextPick === 0 ? 1 : 0;
        void page.guard(choosePair);
      });
      thumbs.append(button);
    }
    pair = [0, Math.min(1, examples.count - 1)];
    nextPick = 0;
  };

  // A new model: new thumbnails (its data), a fresh map and walk.
  page.onTrainerChange((trainer) => {
    map = null;
    codes = null;
    heldOutImages = null;
    for (const canvas of [mapCanvas, preview, canvasA, canvasMix, canvasB]) {
      canvas.width = 0;
      canvas.height = 0;
    }
    thumbs.replaceChildren();
    if (trainer) void page.guard(async () => {
      await loadThumbnails();
      await choosePair();
    });
  });
  // Training stopped: the map and the walk catch up with the weights.
  page.onStop(() => void page.guard(async () => {
    await refreshMap();
    await choosePair();
  }));

  pageReady({
    ...page.hooks(),
    updateMap: refreshMap,
    mapDraws: () => mapDraws,
    mapPixels: () => canvasPixels(mapCanvas),
    previewDraws: () => previewDraws,
    previewPixels: () => canvasPixels(preview),
    mixDraws: () => mixDraws,
    mixPixels: () => canvasPixels(canvasMix),
    mapAxes: () => map?.axes ?? null,
  });
}

main().catch(pageError);
