/// <reference lib="dom" />
// The page functions below run in Chromium: they need the DOM types.
import type { Page } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import type { RawQuote } from '../../src/protocol.js';
import type { Tickstream } from '../../src/roles/serve.js';
import { browserPerFile } from '../helpers/browser.js';
import { type ManualFeed, manualFeed } from '../helpers/manualFeed.js';
import { startTestService } from '../helpers/service.js';

/** Real prices from a fraction of a cent to 99,999, volumes to the hundreds of billions, long symbols. */
const WIDE: Omit<RawQuote, 'ts'>[] = [
  { symbol: 'TINY', price: 0.0001, bid: 0.0001, ask: 0.0002, prevClose: 0.0002, volume: 12_345_678_901 },
  { symbol: 'NFLX', price: 1_184.52, bid: 1_184.4, ask: 1_184.66, prevClose: 1_170.2, volume: 3_456_789 },
  { symbol: 'BIG', price: 99_999, bid: 99_998.5, ask: 99_999.5, prevClose: 95_000, volume: 1_234_567_890 },
  { symbol: 'BIGDOWN', price: 99_999, bid: 99_998, ask: 99_999.99, prevClose: 104_000, volume: 999_990_000_000 },
  { symbol: 'SYM0200', price: 87_654.32, bid: 87_654.3, ask: 87_654.34, prevClose: 78_000, volume: 987_654_321 },
  { symbol: 'BTC-USD', price: 98_765.43, bid: 98_765.4, ask: 98_765.5, prevClose: 99_999.99, volume: 54_321 },
];

/** Allowed by the protocol (up to 20 characters), wider than any in the list above. */
const LONG_SYMBOL = 'WWW.LONGER.SYMBOL';

const chromium = browserPerFile();
let service: Tickstream | undefined;

afterEach(async () => {
  await service?.close();
  service = undefined;
});

/** Every watchlist cell whose text is cut off (scrollWidth over clientWidth), and how far the page scrolls sideways. */
function overflow(page: Page) {
  return page.evaluate(() => ({
    clipped: [...document.querySelectorAll<HTMLElement>('#grid > thead :is(th, td), #grid > tbody :is(th, td)')]
      .filter((cell) => cell.scrollWidth > cell.clientWidth)
      .map(
        (cell) =>
          `${cell.closest('tr')?.dataset.symbol ?? 'header'} ${cell.dataset.field ?? cell.className}: ${cell.textContent}`,
      ),
    sideways: document.documentElement.scrollWidth - window.innerWidth,
  }));
}

async function openWide(width: number): Promise<{ page: Page; feed: ManualFeed }> {
  const feed = manualFeed([...WIDE.map((q) => q.symbol), LONG_SYMBOL]);
  service = await startTestService({}, { webRoot: chromium.webRoot(), feeds: [feed] });
  const page = await chromium.open(`${service.url}/?symbols=${WIDE.map((q) => q.symbol).join(',')}`, {
    width,
    height: 800,
  });
  await page.waitForFunction((n) => document.querySelectorAll('#grid tbody tr').length === n, WIDE.length);
  // Two quotes each: the second one moves the price, so the tick arrow shows too.
  for (const step of [0.99, 1]) {
    for (const quote of WIDE) feed.input.next({ ...quote, price: quote.price * step, ts: Date.now() });
  }
  await page.waitForFunction(
    (quotes) => {
      const cell = (symbol: string, field: string) =>
        document.querySelector(`#grid tr[data-symbol="${symbol}"] td[data-field="${field}"]`)?.textContent ?? '';
      return quotes.every((q) => cell(q.symbol, 'price').includes(q.text) && cell(q.symbol, 'volume') !== '–');
    },
    WIDE.map((q) => ({
      symbol: q.symbol,
      text: q.price < 1 ? q.price.toFixed(4) : q.price.toLocaleString('en-US', { minimumFractionDigits: 2 }),
    })),
  );
  return { page, feed };
}

describe('watchlist columns fit the widest values', () => {
  it('at 1280 px no cell is cut off, for prices from 0.0001 to 99,999 and volumes in the billions', async () => {
    const { page } = await openWide(1280);
    expect(await page.textContent('#grid tr[data-symbol="BIG"] td[data-field="price"]')).toContain('99,999.00');
    expect(await page.textContent('#grid tr[data-symbol="BIGDOWN"] td[data-field="volume"]')).toBe('999.99B');
    expect(await overflow(page)).toEqual({ clipped: [], sideways: 0 });
    // Sorted: the header's ▲/▼ still fits.
    for (const key of ['price', 'changePct', 'volume']) {
      await page.click(`#grid th[data-key="${key}"] button`);
      await page.click(`#grid th[data-key="${key}"] button`);
    }
    expect((await overflow(page)).clipped).toEqual([]);
  });

  it('in the narrow layout (390 px) no cell is cut off either, and the page does not scroll sideways', async () => {
    const { page } = await openWide(1280);
    await page.setViewportSize({ width: 390, height: 800 });
    await page.waitForFunction(
      () => getComputedStyle(document.querySelector('#grid th[data-key="bid"]') as Element).display === 'none',
    );
    expect(await page.isVisible('#grid tr[data-symbol="BIG"] td[data-field="changePct"]')).toBe(true);
    expect(await overflow(page)).toEqual({ clipped: [], sideways: 0 });
  });

  // Found on main: between the phone layout (it began at 600 px) and the wide one, the page scrolled sideways (the grid
  // kept all nine columns: 824 px of them in an 800 px window).
  it('between the phone and the wide layout the page does not scroll sideways, and no cell is cut off', async () => {
    const { page } = await openWide(1280);
    const seen: Record<number, Awaited<ReturnType<typeof overflow>>> = {};
    for (const width of [1180, 1000, 881, 880, 800, 681, 680, 640, 601]) {
      await page.setViewportSize({ width, height: 800 });
      await page.waitForFunction((w) => window.innerWidth === w, width);
      seen[width] = await overflow(page);
    }
    const clean = { clipped: [], sideways: 0 };
    expect(seen).toEqual(Object.fromEntries(Object.keys(seen).map((width) => [width, clean])));
  });

  it('a symbol longer than the sample widens its column', async () => {
    const { page } = await openWide(1280);
    const before = await page.$eval('#grid th[data-key="symbol"]', (th) => th.getBoundingClientRect().width);
    await page.fill('#add-symbol', LONG_SYMBOL);
    await page.press('#add-symbol', 'Enter');
    await page.waitForFunction((s) => document.querySelector(`#grid tr[data-symbol="${s}"]`), LONG_SYMBOL);
    const after = await page.$eval('#grid th[data-key="symbol"]', (th) => th.getBoundingClientRect().width);
    expect(after).toBeGreaterThan(before);
    expect((await overflow(page)).clipped).toEqual([]);
  });
});
