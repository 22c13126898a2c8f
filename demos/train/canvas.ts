// Pictures (src/io/picture.ts: RGBA bytes) onto canvases, and back: the
// pages draw sample grids with the same imageGrid the CLI writes PNGs with.
import { imageGrid, type ImageGridOptions, type Picture } from '../../src/io/picture';

/** Sizes `canvas` to the picture and paints it, pixel for pixel (CSS scales it up, pixelated). */
export function drawPicture(canvas: HTMLCanvasElement, picture: Picture): void {
  canvas.width = picture.width;
  canvas.height = picture.height;
  const pixels = new Uint8ClampedArray(picture.width * picture.height * 4);
  pixels.set(picture.rgba);
  canvas.getContext('2d', { willReadFrequently: true })!.putImageData(new ImageData(pixels, picture.width, picture.height), 0, 0);
}

/** Images [n, C, s, s] in [-1, 1] as a grid on `canvas`. */
export function drawImages(canvas: HTMLCanvasElement, data: Float32Array, shape: readonly number[], options: ImageGridOptions = {}): void {
  drawPicture(canvas, imageGrid(data, shape, options));
}

/** The canvas's RGBA bytes, for the tests. */
export function canvasPixels(canvas: HTMLCanvasElement): number[] {
  if (canvas.width === 0 || canvas.height === 0) return [];
  return Array.from(canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data);
}

/** A blank canvas of the shared pixel-art style. */
export function pixelCanvas(label: string, testId?: string): HTMLCanvasElement {
  const canvas = document.createElement('canvas');
  canvas.className = 'pixels';
  canvas.width = 0;
  canvas.height = 0;
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', label);
  if (testId) canvas.dataset.testid = testId;
  return canvas;
}
