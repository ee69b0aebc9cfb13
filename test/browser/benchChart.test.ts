/// <reference lib="dom" />
// The page function below runs in Chromium: it needs the DOM types.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Chart, renderChart } from '../../bench/chart.js';
import { launchChromium } from '../helpers/chromium.js';

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

type Parsed = {
  error?: string;
  root: string;
  namespace: string | null;
  polylines: { points: number; title: string }[];
  /** Fill of each point marker, in document order. */
  markers: string[];
};

/** Parses `svg` with Chromium's XML parser (the one a browser renders the README's chart with). */
async function parseInBrowser(svg: string): Promise<Parsed> {
  const page = await browser.newPage();
  try {
    return await page.evaluate((text) => {
      const doc = new DOMParser().parseFromString(text, 'image/svg+xml');
      const error = doc.querySelector('parsererror')?.textContent ?? undefined;
      const polylines = [...doc.querySelectorAll('polyline')].map((p) => ({
        points: (p.getAttribute('points') ?? '').split(' ').filter(Boolean).length,
        title: p.querySelector('title')?.textContent ?? '',
      }));
      const markers = [...doc.querySelectorAll('circle')].map((c) => c.getAttribute('fill') ?? '');
      return {
        error,
        root: doc.documentElement.localName,
        namespace: doc.documentElement.namespaceURI,
        polylines,
        markers,
      };
    }, svg);
  } finally {
    await page.close();
  }
}

const chart: Chart = {
  title: 'npm run bench <step search> & "friends"',
  subtitle: "2 cores, it's a test",
  xLabel: 'sockets',
  series: [
    { label: 'tickstream <uniform>', color: '#1f77b4', dashed: false },
    { label: 'raw ws & realistic', color: '#2ca02c', dashed: true },
    { label: 'naive (no point in time)', color: '#d62728', dashed: false },
  ],
  panels: [
    {
      title: 'frame lag p99 (ms)',
      threshold: { y: 100, label: '100 ms' },
      points: [
        [
          { x: 2000, y: 30 },
          { x: 1000, y: 20 },
          { x: 5000, y: 140 },
        ],
        [
          { x: 1000, y: 25 },
          { x: 2000, y: 45, hollow: true },
        ],
        // Nothing arrived in time: no finite point to draw, the series still has its (empty) line.
        [{ x: 1000, y: Number.POSITIVE_INFINITY }],
      ],
    },
    {
      title: 'CPU ms per 1,000 delivered updates',
      points: [[{ x: 1000, y: 3.9 }], [{ x: 1000, y: 2.8 }], [{ x: 250, y: 0 }]],
    },
  ],
};

describe('the bench chart', () => {
  it('is well-formed SVG with one polyline per series and panel, a point per finite value', async () => {
    const parsed = await parseInBrowser(renderChart(chart));
    expect(parsed.error).toBeUndefined();
    expect(parsed.root).toBe('svg');
    expect(parsed.namespace).toBe('http://www.w3.org/2000/svg');
    expect(parsed.polylines).toEqual([
      { points: 3, title: 'tickstream <uniform>' },
      { points: 2, title: 'raw ws & realistic' },
      { points: 0, title: 'naive (no point in time)' },
      { points: 1, title: 'tickstream <uniform>' },
      { points: 1, title: 'raw ws & realistic' },
      { points: 0, title: 'naive (no point in time)' },
    ]);
    // A marker per drawn point; the step that does not hold is a ring.
    expect(parsed.markers).toEqual(['#1f77b4', '#1f77b4', '#1f77b4', '#2ca02c', '#ffffff', '#1f77b4', '#2ca02c']);
  });

  it('draws each line in the order of sockets, whatever the order of the steps', () => {
    const svg = renderChart(chart);
    const first = /<polyline[^>]* points="([^"]*)"/.exec(svg)?.[1] ?? '';
    const xs = first.split(' ').map((pair) => Number(pair.split(',')[0]));
    expect(xs).toEqual([...xs].sort((a, b) => a - b));
    expect(xs).toHaveLength(3);
  });
});
