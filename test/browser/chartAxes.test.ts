/// <reference lib="dom" />
// The page functions below run in Chromium: they need the DOM types.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { browserPerFile } from '../helpers/browser.js';
import { ownedPerTest, until } from '../helpers/lifecycle.js';
import { replayOfRecords } from '../helpers/recordings.js';
import { startTestService } from '../helpers/service.js';

const chromium = browserPerFile();
const recordingDir = mkdtempSync(join(tmpdir(), 'tickstream-chart-axes-'));
const { owned } = ownedPerTest();

afterAll(() => {
  rmSync(recordingDir, { recursive: true, force: true });
});

const BASE = Date.UTC(2026, 0, 15, 15, 0, 0); // 10:00 New York: the first bar is on an hour, which gets a label
const HOURS = 2;

/**
 * A replay of two recorded hours of AAPL, paused at their end: the chart opens with 120 bars of history, more
 * than its hour's minimum width, so the first bar (10:00) is at the chart's left edge.
 */
async function openTwoHours(): Promise<Page> {
  const file = join(recordingDir, 'two-hours.ndjson.gz');
  const records = Array.from({ length: (HOURS * 3600) / 15 }, (_, i) => {
    const ts = BASE + i * 15_000;
    const price = Math.round((230 + 2 * Math.sin(i / 40)) * 100) / 100;
    return { symbol: 'AAPL', price, ts, size: 100 + (i % 7) * 50, source: 'rec', recvTs: ts };
  });
  const end = BASE + HOURS * 3_600_000 - 15_000;
  const feed = await replayOfRecords(file, records, { symbols: ['AAPL'], from: BASE, to: end, speed: 1, loop: false });
  const service = owned(await startTestService({}, { webRoot: chromium.webRoot(), feeds: [feed] }));
  await feed.control.command({ action: 'pause' });
  await feed.control.command({ action: 'seek', position: end });
  const page = await chromium.open(`${service.url}/?symbols=AAPL`, { width: 1280, height: 800 });
  await page.waitForFunction(() => Number(document.querySelector<HTMLElement>('#chart')?.dataset.bars) >= 110);
  return page;
}

/**
 * The chart's layout as drawn: its panes (the library lays the chart out as a table: a row per pane, a
 * separator row between panes, the time axis last) and, on the time axis canvas, each label's left and right
 * edge in CSS pixels, read from the pixels that differ from the background.
 */
function chartLayout(page: Page) {
  return page.waitForFunction(() => {
    const table = document.querySelector('#chart table');
    if (!(table instanceof HTMLTableElement)) return undefined;
    const rows = [...table.rows];
    const paneRows = rows.slice(0, -1).filter((row) => row.cells.length > 1);
    const panes = paneRows.map((row) => Math.round(row.getBoundingClientRect().height));
    const axis = rows.at(-1)?.cells[1]?.querySelector('canvas');
    const ctx = axis?.getContext('2d');
    if (!axis || !ctx || axis.width === 0) return undefined;
    const { width, height } = axis;
    const ratio = width / axis.getBoundingClientRect().width;
    const pixels = ctx.getImageData(0, 0, width, height).data;
    // Below the axis' border line and tick marks: only the labels' text is drawn there.
    const top = Math.round(8 * ratio);
    const ink: boolean[] = [];
    for (let x = 0; x < width; x++) {
      let inked = false;
      for (let y = top; y < height && !inked; y++) {
        const i = (y * width + x) * 4;
        // The background is #0f141b; the labels are light (#c9d4e0).
        inked = (pixels[i] ?? 0) + (pixels[i + 1] ?? 0) + (pixels[i + 2] ?? 0) > 3 * 90;
      }
      ink.push(inked);
    }
    // Runs of inked columns, those less than 4 px apart being one label's characters.
    const labels: { left: number; right: number }[] = [];
    ink.forEach((inked, x) => {
      if (!inked) return;
      const last = labels.at(-1);
      if (last && x - last.right <= 4 * ratio) last.right = x;
      else labels.push({ left: x, right: x });
    });
    if (labels.length < 3) return undefined;
    return {
      panes,
      labels: labels.map(({ left, right }) => ({ left: left / ratio, width: (right - left + 1) / ratio })),
    };
  });
}

describe('dashboard chart axes', () => {
  it('draws the volume in a pane of its own, under the candles and their price scale', async () => {
    const page = await openTwoHours();
    const { panes } = (await (await chartLayout(page)).jsonValue()) as { panes: number[] };
    // Two panes: the candles' price scale ends above the volume bars (as an overlay in the candles' pane, the
    // volume had the candles' price labels and grid lines drawn over it).
    expect(panes).toHaveLength(2);
    const [candles = 0, volume = 0] = panes;
    expect(volume).toBeGreaterThan(50);
    expect(candles).toBeGreaterThan(3 * volume);
  });

  it('keeps the time label of the first bar whole at the left edge', async () => {
    const page = await openTwoHours();
    const { labels } = (await (await chartLayout(page)).jsonValue()) as {
      labels: { left: number; width: number }[];
    };
    const [first, ...others] = labels;
    // The first bar's label (10:00) is at the edge...
    expect(first?.left).toBeLessThan(12);
    // ...and as wide as the other labels (HH:mm each), not cut in half by the edge.
    const narrowest = Math.min(...others.map((label) => label.width));
    expect(first?.width).toBeGreaterThan(0.85 * narrowest);
  });

  it('keeps the newest bar in view when the window narrows', async () => {
    const page = await openTwoHours();
    // The newest bar's time and the newest in view (epoch ms), as the chart last said.
    let seen: { newest?: string; inView?: string } = {};
    const newestInView = async () => {
      seen = await page.$eval('#chart', (chart) => ({
        newest: (chart as HTMLElement).dataset.historyLast,
        inView: (chart as HTMLElement).dataset.visibleLast,
      }));
      return seen.newest !== undefined && seen.newest !== '' && seen.newest === seen.inView;
    };
    await until(newestInView, 5000, () => `the newest bar in view at 1280 px, got ${JSON.stringify(seen)}`);
    // A phone's width: the chart goes under the watchlist, a third as wide, and its newest bar stays at the right
    // edge (the library kept the first bar in place instead, and the newest hour went off the right).
    await page.setViewportSize({ width: 390, height: 844 });
    await until(newestInView, 5000, () => `the newest bar in view at 390 px, got ${JSON.stringify(seen)}`);
  });
});
