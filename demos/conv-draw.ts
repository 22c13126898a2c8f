// Drawing for the conv explainer: cell grids on a canvas (an image in gray,
// signed values in a blue–white–red scale), the padding frame, the cells a
// kernel window reads, and numbers written into cells. Plain 2-D canvas.

export const ACCENT = '#2f6fdf';
const NEGATIVE = [33, 102, 172]; // blue
const POSITIVE = [215, 48, 31]; // red
// padding holds zeros: drawn as a 0 pixel (mid gray), hatched so it reads as "not the image"
const PAD_FILL = 'rgb(128, 128, 128)';
const PAD_HATCH = '#b8c4d6';

/** Blue (negative) → white (0) → red (positive), `scale` mapping to the full colour. */
export function signedColour(v: number, scale: number): string {
  const t = scale > 0 ? Math.max(-1, Math.min(1, v / scale)) : 0;
  const end = t < 0 ? NEGATIVE : POSITIVE;
  const a = Math.abs(t);
  const mix = (i: number) => Math.round(255 + (end[i] - 255) * a);
  return `rgb(${mix(0)}, ${mix(1)}, ${mix(2)})`;
}

/** An image value in [-1, 1] as gray. */
export function grayColour(v: number): string {
  const g = Math.round(Math.max(0, Math.min(1, (v + 1) / 2)) * 255);
  return `rgb(${g}, ${g}, ${g})`;
}

export function maxAbs(values: ArrayLike<number>, start = 0, end = values.length): number {
  let m = 0;
  for (let i = start; i < end; i++) m = Math.max(m, Math.abs(values[i]));
  return m;
}

export interface Grid {
  rows: number;
  cols: number;
  /** side of a cell in canvas pixels (the CSS size scales the canvas) */
  cell: number;
}

/** Sizes `canvas` for a grid whose cells fit `targetPx` across, and returns the grid. */
export function sizeGrid(canvas: HTMLCanvasElement, rows: number, cols: number, targetPx: number, minCell = 6, maxCell = 48): Grid {
  const cell = Math.max(minCell, Math.min(maxCell, Math.floor(targetPx / Math.max(rows, cols))));
  canvas.width = cols * cell;
  canvas.height = rows * cell;
  return { rows, cols, cell };
}

/** Fills every cell with colourAt(r, c), then thin grid lines when the cells are big enough to show them. */
export function drawCells(ctx: CanvasRenderingContext2D, g: Grid, colourAt: (r: number, c: number) => string): void {
  for (let r = 0; r < g.rows; r++) {
    for (let c = 0; c < g.cols; c++) {
      ctx.fillStyle = colourAt(r, c);
      ctx.fillRect(c * g.cell, r * g.cell, g.cell, g.cell);
    }
  }
  if (g.cell >= 10) {
    ctx.strokeStyle = 'rgba(0, 0, 0, 0.12)';
    ctx.lineWidth = 1;
    ctx.beginPath();
    for (let r = 0; r <= g.rows; r++) {
      ctx.moveTo(0, r * g.cell + 0.5);
      ctx.lineTo(g.cols * g.cell, r * g.cell + 0.5);
    }
    for (let c = 0; c <= g.cols; c++) {
      ctx.moveTo(c * g.cell + 0.5, 0);
      ctx.lineTo(c * g.cell + 0.5, g.rows * g.cell);
    }
    ctx.stroke();
  }
}

/** A padding cell: the gray of a 0 with a diagonal hatch. */
export function drawPadCell(ctx: CanvasRenderingContext2D, g: Grid, r: number, c: number): void {
  const x = c * g.cell;
  const y = r * g.cell;
  ctx.fillStyle = PAD_FILL;
  ctx.fillRect(x, y, g.cell, g.cell);
  ctx.strokeStyle = PAD_HATCH;
  ctx.lineWidth = Math.max(1, g.cell / 12);
  ctx.beginPath();
  ctx.moveTo(x, y + g.cell);
  ctx.lineTo(x + g.cell, y);
  ctx.stroke();
}

/** Marks one cell: a translucent fill and a border (the kernel's taps, the current output). */
export function markCell(ctx: CanvasRenderingContext2D, g: Grid, r: number, c: number, colour: string, fill: string | null): void {
  const x = c * g.cell;
  const y = r * g.cell;
  if (fill) {
    ctx.fillStyle = fill;
    ctx.fillRect(x, y, g.cell, g.cell);
  }
  const w = Math.max(2, Math.round(g.cell / 8));
  ctx.strokeStyle = colour;
  ctx.lineWidth = w;
  ctx.strokeRect(x + w / 2, y + w / 2, g.cell - w, g.cell - w);
}

/** A dashed box around rows r0..r1 and columns c0..c1 (inclusive): the window's extent. */
export function outlineBox(ctx: CanvasRenderingContext2D, g: Grid, r0: number, c0: number, r1: number, c1: number): void {
  ctx.save();
  ctx.setLineDash([g.cell / 3, g.cell / 4]);
  ctx.strokeStyle = '#1d1d1f';
  ctx.lineWidth = Math.max(1, g.cell / 14);
  ctx.strokeRect(c0 * g.cell, r0 * g.cell, (c1 - c0 + 1) * g.cell, (r1 - r0 + 1) * g.cell);
  ctx.restore();
}

/** Writes a number centred in a cell, dark or light to stand out from the cell's colour. */
export function writeInCell(ctx: CanvasRenderingContext2D, g: Grid, r: number, c: number, text: string, light: boolean): void {
  ctx.fillStyle = light ? '#ffffff' : '#1d1d1f';
  ctx.font = `${Math.round(g.cell * 0.3)}px system-ui, sans-serif`;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  ctx.fillText(text, c * g.cell + g.cell / 2, r * g.cell + g.cell / 2);
}

/** One small canvas of a signed map (h×w values from `values` at `offset`), scaled to its own largest magnitude. */
export function signedMapCanvas(values: ArrayLike<number>, offset: number, h: number, w: number, targetPx: number, scale?: number): HTMLCanvasElement {
  const canvas = document.createElement('canvas');
  canvas.className = 'pixels map';
  const g = sizeGrid(canvas, h, w, targetPx, 2, 24);
  const s = scale ?? maxAbs(values, offset, offset + h * w);
  const ctx = canvas.getContext('2d')!;
  drawCells(ctx, { ...g, cell: g.cell }, (r, c) => signedColour(values[offset + r * w + c], s));
  return canvas;
}
