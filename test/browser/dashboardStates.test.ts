/// <reference lib="dom" />
// The page functions below run in Chromium: they need the DOM types.
import type { Page } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../../src/config/schema.js';
import type { Tickstream } from '../../src/roles/serve.js';
import { browserPerFile } from '../helpers/browser.js';
import { until } from '../helpers/lifecycle.js';
import { type ManualFeed, manualFeed } from '../helpers/manualFeed.js';
import { startTestService } from '../helpers/service.js';

const chromium = browserPerFile();
let service: Tickstream | undefined;
let ticking: ReturnType<typeof setInterval> | undefined;

afterEach(async () => {
  clearInterval(ticking);
  ticking = undefined;
  await service?.close();
  service = undefined;
});

/** A server with a feed the test drives, AAPL and MSFT ticking every 100 ms, and the dashboard of both. */
async function openTicking(
  overrides: Partial<ConfigInput> = {},
  viewport = { width: 1280, height: 800 },
): Promise<{ page: Page; feed: ManualFeed }> {
  const feed = manualFeed(['AAPL', 'MSFT'], 'vendor');
  service = await startTestService(overrides, { webRoot: chromium.webRoot(), feeds: [feed] });
  const page = await chromium.open(`${service.url}/?symbols=AAPL,MSFT`, viewport);
  ticking = setInterval(() => {
    feed.push('AAPL', 230 + Math.random());
    feed.push('MSFT', 420 + Math.random());
  }, 100);
  return { page, feed };
}

describe('dashboard states a user must be able to tell apart', () => {
  it('with the connection lost, the feed is no longer shown live and the frozen prices are dimmed', async () => {
    const { page } = await openTicking();
    await page.waitForSelector('.feed[data-feed="vendor"][data-state="live"]');
    await page.waitForFunction(
      () => document.querySelector('#grid tr[data-symbol="AAPL"] .price-text')?.textContent !== '–',
    );
    expect(await page.$eval('#grid', (grid) => grid.hasAttribute('data-offline'))).toBe(false);
    const opacity = () =>
      page.$eval('#grid tr[data-symbol="AAPL"] td[data-field="price"]', (cell) =>
        Number(getComputedStyle(cell).opacity),
      );
    expect(await opacity()).toBe(1);

    await service?.close();
    await page.waitForFunction(() => document.querySelector('#connection')?.textContent !== 'connected');
    // The last status said "live"; with no connection that is not known any more: not green, not "live".
    await page.waitForSelector('.feed[data-feed="vendor"][data-state="unknown"]');
    expect(await page.textContent('.feed[data-feed="vendor"]')).toBe('vendor: unknown');
    expect(await page.$('.feed[data-state="live"]')).toBeNull();
    // The prices stay (the last known), dimmed so they do not pass for live ones.
    expect(await page.$eval('#grid', (grid) => grid.hasAttribute('data-offline'))).toBe(true);
    await until(async () => (await opacity()) < 0.6, 5000, 'the frozen price dimmed');
  });
});
