// The live loss chart: a line per loss over the steps, on chart.js. Points
// arrive every step; the chart redraws at most a few times a second, with
// animation off, so drawing never slows training down.
import { Chart, Legend, LineController, LineElement, LinearScale, PointElement, Tooltip } from 'chart.js';

Chart.register(LineController, LineElement, PointElement, LinearScale, Legend, Tooltip);

const COLOURS = ['#2f6fdf', '#d9480f', '#2b8a3e', '#862e9c', '#c92a2a'];
const REDRAW_MS = 300;

export class LossChart {
  private readonly chart: Chart<'line', { x: number; y: number }[]>;
  private redrawTimer: number | null = null;

  constructor(canvas: HTMLCanvasElement, readonly names: readonly string[]) {
    this.chart = new Chart(canvas, {
      type: 'line',
      data: {
        datasets: names.map((name, i) => ({
          label: name,
          data: [],
          borderColor: COLOURS[i % COLOURS.length],
          backgroundColor: COLOURS[i % COLOURS.length],
          borderWidth: 1.5,
          pointRadius: 0,
          tension: 0,
        })),
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        normalized: true,
        parsing: false,
        interaction: { mode: 'nearest', axis: 'x', intersect: false },
        scales: {
          x: { type: 'linear', title: { display: true, text: 'step' }, ticks: { precision: 0 } },
          y: { type: 'linear', title: { display: true, text: 'loss' } },
        },
        plugins: { legend: { position: 'bottom', labels: { boxWidth: 12 } } },
      },
    });
  }

  /** One step's losses; names missing from `metrics` (or not finite) are skipped. */
  add(step: number, metrics: Record<string, number>): void {
    this.names.forEach((name, i) => {
      const y = metrics[name];
      if (Number.isFinite(y)) this.chart.data.datasets[i].data.push({ x: step, y });
    });
    this.redrawSoon();
  }

  clear(): void {
    for (const dataset of this.chart.data.datasets) dataset.data = [];
    this.chart.update();
  }

  /** Points per series, for the tests. */
  pointCounts(): Record<string, number> {
    return Object.fromEntries(this.chart.data.datasets.map((d) => [d.label as string, d.data.length]));
  }

  private redrawSoon(): void {
    if (this.redrawTimer !== null) return;
    this.redrawTimer = window.setTimeout(() => {
      this.redrawTimer = null;
      this.chart.update();
    }, REDRAW_MS);
  }
}
