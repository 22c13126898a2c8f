// The panels under the settings: the live sample grid (from the run's
// fixed noise) and the loss chart, then whatever panels the page adds
// (addPanel). They only draw what they are given; when to sample is the
// page's and the loop's business.
import { el } from '../common/page';
import { canvasPixels, drawImages, pixelCanvas } from './canvas';
import { LossChart } from './loss-chart';

export interface SampleGrid {
  /** images [n, C, s, s] in [-1, 1] */
  data: Float32Array;
  shape: number[];
  columns?: number;
}

export class TrainingCharts {
  readonly panels: HTMLElement;
  /** sample grids drawn so far, for the tests */
  gridDraws = 0;
  private readonly grid: HTMLCanvasElement;
  private readonly gridCaption: HTMLElement;
  private readonly chart: LossChart;

  /** `sampleEvery`: the steps between sample grids, for the caption */
  constructor(lossNames: readonly string[], private readonly sampleEvery: number) {
    this.panels = el('div', { class: 'panels' });
    const samples = this.addPanel('Samples', 'samples-panel');
    this.grid = pixelCanvas('sample grid', 'grid');
    this.gridCaption = el('p', { class: 'note' }, this.everyText());
    samples.append(this.grid, this.gridCaption);
    const losses = this.addPanel('Losses', 'loss-panel');
    const box = el('div', { class: 'chart-box' });
    const chartCanvas = el('canvas', { 'data-testid': 'loss-chart', role: 'img', 'aria-label': 'loss chart' });
    box.append(chartCanvas);
    losses.append(box);
    this.chart = new LossChart(chartCanvas, lossNames);
  }

  /** A panel in the page's grid of panels; pages put their own views in these. */
  addPanel(title: string, testId: string): HTMLElement {
    const panel = el('section', { class: 'panel', 'data-testid': testId });
    panel.append(el('h2', {}, title));
    this.panels.append(panel);
    return panel;
  }

  showSamples(step: number, { data, shape, columns }: SampleGrid): void {
    drawImages(this.grid, data, shape, { columns });
    this.gridDraws++;
    this.gridCaption.textContent = `Step ${step}: ${shape[0]} samples. ${this.everyText()}`;
  }

  /** No model: an empty grid, the caption as at first. */
  clearSamples(): void {
    this.grid.width = 0;
    this.grid.height = 0;
    this.gridCaption.textContent = this.everyText();
  }

  addLosses(step: number, metrics: Record<string, number>): void {
    this.chart.add(step, metrics);
  }

  clearLosses(): void {
    this.chart.clear();
  }

  /** Points per loss in the chart, for the tests. */
  pointCounts(): Record<string, number> {
    return this.chart.pointCounts();
  }

  /** The sample grid's RGBA bytes, for the tests. */
  gridPixels(): number[] {
    return canvasPixels(this.grid);
  }

  private everyText(): string {
    return this.sampleEvery === 1 ? 'Fixed noise, redrawn after every step.' : `Fixed noise, redrawn every ${this.sampleEvery} steps.`;
  }
}
