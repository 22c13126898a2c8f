// Charts: SVG text from vega-lite + vega, rendered headless with no network.
import { describe, it, expect, vi, afterEach } from 'vitest';
import { lineChartSvg, scatterSvg } from '../src/io/plot';
import type { Series } from '../src/io/plot';

/** The text of every <text> element, in document order. */
function texts(svg: string): string[] {
  return [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
}

/** The fill colours of the plotted dots (not of the legend's symbols). */
function dotFills(svg: string): Set<string> {
  const start = svg.indexOf('<g class="mark-symbol role-mark');
  if (start < 0) return new Set();
  const group = svg.slice(start, svg.indexOf('</g>', start));
  return new Set([...group.matchAll(/ fill="(#[0-9a-f]{6})"/g)].map((m) => m[1]));
}

function curve(name: string, n: number, f: (i: number) => number): Series {
  return { name, points: Array.from({ length: n }, (_, i) => [i, f(i)] as [number, number]) };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('lineChartSvg', () => {
  it('draws titled, labelled series with a legend, without touching the network', async () => {
    const fetchSpy = vi.spyOn(globalThis, 'fetch');
    const svg = await lineChartSvg(
      [curve('generator', 500, (i) => 2 * Math.exp(-i / 100) + 0.1), curve('discriminator', 500, (i) => 0.7 + 0.1 * Math.sin(i / 20))],
      { title: 'GAN losses', xLabel: 'step', yLabel: 'loss' },
    );
    console.log(`two 500-point series: ${svg.length} characters of SVG`);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    const words = texts(svg);
    for (const expected of ['GAN losses', 'step', 'loss', 'generator', 'discriminator']) expect(words).toContain(expected);
    expect(svg).toMatch(/width="640" height="360"/);
    expect(svg).not.toContain('NaN');
    expect(fetchSpy).not.toHaveBeenCalled();
  });

  it('takes a size and a log y axis, leaving out y ≤ 0', async () => {
    const svg = await lineChartSvg([curve('mse', 50, (i) => (i === 3 ? 0 : 10 ** (-i / 10)))], { logY: true, width: 400, height: 200 });
    expect(svg).toMatch(/width="400" height="200"/);
    expect(svg).not.toContain('NaN');
    expect(svg).not.toContain('Infinity');
    expect(texts(svg)).toContain('mse');
  });

  it('survives empty and all-NaN series, still naming them', async () => {
    const empty = await lineChartSvg([], { title: 'Nothing yet' });
    expect(empty.startsWith('<svg')).toBe(true);
    expect(texts(empty)).toContain('Nothing yet');

    const svg = await lineChartSvg([{ name: 'diverged', points: [[0, NaN], [1, Infinity], [2, NaN]] }, { name: 'pending', points: [] }]);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(texts(svg)).toEqual(expect.arrayContaining(['diverged', 'pending']));
  });

  it('skips non-finite points inside a series', async () => {
    const withGaps = curve('loss', 100, (i) => (i % 7 === 0 ? NaN : 1 / (i + 1)));
    const svg = await lineChartSvg([withGaps]);
    expect(svg).not.toContain('NaN');
  });

  it('keeps a 20,000-point series to a bounded size', async () => {
    const long = await lineChartSvg([curve('loss', 20_000, (i) => Math.exp(-i / 5000) + 0.05 * Math.sin(i))]);
    const short = await lineChartSvg([curve('loss', 1000, (i) => Math.exp(-i / 250) + 0.05 * Math.sin(i * 20))]);
    console.log(`20,000 points: ${long.length} characters; 1,000 points: ${short.length}`);
    expect(long.length).toBeLessThan(60_000);
    expect(long.length).toBeLessThan(1.5 * short.length);
  });
});

describe('scatterSvg', () => {
  it('colours points by label with a legend entry for each', async () => {
    const labels = ['cat', 'dog', 'bird'];
    const points = Array.from({ length: 300 }, (_, i) => ({
      x: Math.cos(i) * (1 + (i % 3)),
      y: Math.sin(i) * (1 + (i % 3)),
      label: labels[i % 3],
    }));
    points.push({ x: NaN, y: 0, label: 'cat' });
    const svg = await scatterSvg(points, { title: 'Latent space', xLabel: 'z₀', yLabel: 'z₁' });
    expect(svg.startsWith('<svg')).toBe(true);
    const words = texts(svg);
    for (const expected of ['Latent space', 'z₀', 'z₁', ...labels]) expect(words).toContain(expected);
    // Three colours among the dots.
    expect(dotFills(svg).size).toBe(3);
  });

  it('thins many points without losing a label', async () => {
    // Labels cycle 0..9: a plain stride would keep only some of them.
    const points = Array.from({ length: 20_000 }, (_, i) => ({ x: i % 97, y: i % 89, label: String(i % 10) }));
    const svg = await scatterSvg(points);
    console.log(`20,000 scatter points: ${svg.length} characters`);
    expect(svg.length).toBeLessThan(600_000);
    expect(dotFills(svg).size).toBe(10);
  });
});
