/// <reference lib="dom" />
// The page functions below run in Chromium: they need the DOM types.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../../src/config/schema.js';
import type { Tickstream } from '../../src/roles/serve.js';
import { browserPerFile } from '../helpers/browser.js';
import { until } from '../helpers/lifecycle.js';
import { type ManualFeed, manualFeed } from '../helpers/manualFeed.js';
import { replayOfRecords } from '../helpers/recordings.js';
import { startTestService } from '../helpers/service.js';

const chromium = browserPerFile();
const recordingDir = mkdtempSync(join(tmpdir(), 'tickstream-dashboard-states-'));
let recordings = 0;
let service: Tickstream | undefined;
let ticking: ReturnType<typeof setInterval> | undefined;

afterEach(async () => {
  clearInterval(ticking);
  ticking = undefined;
  await service?.close();
  service = undefined;
});

afterAll(() => {
  rmSync(recordingDir, { recursive: true, force: true });
});

const SESSION_BASE = Date.UTC(2026, 0, 15, 15, 0, 0); // 10:00 New York

/** A real replay of ten recorded minutes of AAPL (a quote a second), playing at `speed`, and its dashboard. */
async function openReplay(speed: number, viewport = { width: 1280, height: 800 }) {
  const file = join(recordingDir, `session-${++recordings}.ndjson.gz`);
  const records = Array.from({ length: 600 }, (_, i) => {
    const ts = SESSION_BASE + i * 1000;
    return { symbol: 'AAPL', price: 230 + Math.sin(i / 20), ts, size: 100, source: 'rec', recvTs: ts };
  });
  const feed = await replayOfRecords(file, records, {
    symbols: ['AAPL'],
    from: SESSION_BASE,
    to: SESSION_BASE + 599_000,
    speed,
    loop: true,
  });
  service = await startTestService({}, { webRoot: chromium.webRoot(), feeds: [feed] });
  const page = await chromium.open(`${service.url}/?symbols=AAPL`, viewport);
  await page.waitForSelector('#replay:not([hidden])');
  return { page, feed };
}

/** The seek slider's value and the position it shows. */
const slider = (page: Page) =>
  page.$eval('#replay-seek', (input) => ({
    value: Number((input as HTMLInputElement).value),
    position: document.querySelector('#replay-position')?.textContent ?? '',
  }));

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

  // Found on main: after a server restart the chart kept the old server's candles (its history was never asked
  // for again), and the new quotes went on over them.
  it('reloads the chart history from the server it connects to again', async () => {
    // The first server: the simulated feed, with its backfill of the hours before the start.
    service = await startTestService({ server: { host: '127.0.0.1', port: 0 } }, { webRoot: chromium.webRoot() });
    const { port } = service;
    const page = await chromium.open(`${service.url}/?symbols=AAPL`, { width: 1280, height: 800 });
    let seen = 0;
    const bars = async () => {
      seen = await page.$eval('#chart', (chart) => Number((chart as HTMLElement).dataset.bars));
      return seen;
    };
    await until(async () => (await bars()) >= 240, 10_000, 'the backfilled history');
    await service.close();
    await page.waitForFunction(() => document.querySelector('#connection')?.textContent !== 'connected');
    // The second, on the same port: a feed with no history before its first quote.
    const feed = manualFeed(['AAPL'], 'vendor');
    service = await startTestService(
      { server: { host: '127.0.0.1', port } },
      { webRoot: chromium.webRoot(), feeds: [feed] },
    );
    feed.push('AAPL', 500);
    await page.waitForFunction(() => document.querySelector('#connection')?.textContent === 'connected');
    await until(
      async () => (await bars()) <= 1,
      10_000,
      () => `the new server's history, got ${seen} bars`,
    );
  });

  it("dims the rows whose feed went stale, says so in their tooltip, and not the other feed's rows", async () => {
    const quiet = manualFeed(['MSFT'], 'quiet');
    const busy = manualFeed(['AAPL'], 'busy');
    service = await startTestService({ staleAfterMs: 1000 }, { webRoot: chromium.webRoot(), feeds: [busy, quiet] });
    const page = await chromium.open(`${service.url}/?symbols=AAPL,MSFT`);
    let quietTicks = true;
    ticking = setInterval(() => {
      busy.push('AAPL', 230 + Math.random());
      if (quietTicks) quiet.push('MSFT', 420 + Math.random());
    }, 100);
    const row = (symbol: string) =>
      page.$eval(`#grid tr[data-symbol="${symbol}"]`, (tr) => ({
        state: (tr as HTMLElement).dataset.feedState,
        title: tr.getAttribute('title'),
        opacity: Number(getComputedStyle(tr.querySelector('td[data-field="price"]') as Element).opacity),
      }));
    await page.waitForSelector('.feed[data-feed="quiet"][data-state="live"]');
    await page.waitForFunction(
      () => document.querySelector('#grid tr[data-symbol="MSFT"] .price-text')?.textContent !== '–',
    );
    expect(await row('MSFT')).toEqual({ state: undefined, title: null, opacity: 1 });

    quietTicks = false;
    await page.waitForSelector('.feed[data-feed="quiet"][data-state="stale"]');
    await page.waitForSelector('#grid tr[data-symbol="MSFT"][data-feed-state="stale"]', { timeout: 10_000 });
    await until(async () => (await row('MSFT')).opacity < 0.6, 5000, 'the stale row dimmed');
    expect((await row('MSFT')).title).toBe('MSFT: its feed quiet is stale, the price may be old');
    // AAPL's feed ticks on: its row is live.
    expect(await row('AAPL')).toEqual({ state: undefined, title: null, opacity: 1 });

    quietTicks = true;
    await page.waitForSelector('.feed[data-feed="quiet"][data-state="live"]');
    await page.waitForSelector('#grid tr[data-symbol="MSFT"]:not([data-feed-state])', { timeout: 10_000 });
    await until(async () => (await row('MSFT')).opacity === 1, 5000, 'the row live again');
  });

  it("after a click on the seek slider's thumb (no move), the slider follows the replay again", async () => {
    const { page, feed } = await openReplay(5);
    await page.waitForFunction(() =>
      /^2026-01-15 10:0/.test(document.querySelector('#replay-position')?.textContent ?? ''),
    );
    const jumps = feed.control.status().jumps;
    // Pressed and released on the thumb, where the value is now: the browser sends no change event.
    const box = await page.locator('#replay-seek').boundingBox();
    const range = await page.$eval('#replay-seek', (input) => {
      const { min, max, value } = input as HTMLInputElement;
      return { min: Number(min), max: Number(max), value: Number(value) };
    });
    if (!box) throw new Error('no seek slider on screen');
    const thumb = 16; // Chromium's range thumb, in CSS pixels
    const x = box.x + thumb / 2 + ((range.value - range.min) / (range.max - range.min)) * (box.width - thumb);
    await page.mouse.move(x, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.up();
    const released = await slider(page);
    // The replay plays on (5x): the slider and the position it shows move with it.
    await until(
      async () => {
        const now = await slider(page);
        return now.value > released.value && now.position !== released.position;
      },
      5000,
      'the slider to follow the replay after the click',
    );
    // The click was on the thumb: nothing was sought.
    expect(feed.control.status().jumps).toBe(jumps);
  });

  it('leaves the snapshot (a quote seconds old) out of the tick-to-screen latency', async () => {
    const feed = manualFeed(['AAPL', 'MSFT'], 'vendor');
    service = await startTestService({}, { webRoot: chromium.webRoot(), feeds: [feed] });
    // The last quotes the server has ticked 4 s before the page opens (a quiet symbol): its snapshot.
    const old = Date.now() - 4000;
    feed.input.next({ symbol: 'AAPL', price: 230, ts: old, size: 100 });
    feed.input.next({ symbol: 'MSFT', price: 420, ts: old, size: 100 });
    await until(() => service?.cache.get('MSFT')?.ts === old, 5000, 'the old quotes in the server cache');
    const page = await chromium.open(`${service.url}/?symbols=AAPL,MSFT`);
    await page.waitForFunction(
      () => document.querySelector('#grid tr[data-symbol="MSFT"] .price-text')?.textContent === '420.00',
    );
    ticking = setInterval(() => {
      feed.push('AAPL', 230 + Math.random());
      feed.push('MSFT', 420 + Math.random());
    }, 100);
    const reading = await page.waitForFunction(() => {
      const match = /p50 (\d+) ms · p99 (\d+) ms/.exec(document.querySelector('#latency')?.textContent ?? '');
      return match && { p50: Number(match[1]), p99: Number(match[2]) };
    });
    // Live ticks reach the screen in a few ms here; the 4 s of the snapshot were never a tick's delay.
    expect(((await reading.jsonValue()) as { p99: number }).p99).toBeLessThan(1000);
  });

  it('shows the replay position on one line, with the slider beside or under it, on a phone-sized screen', async () => {
    const { page } = await openReplay(1, { width: 390, height: 844 });
    await page.waitForFunction(() =>
      /^2026-01-15 10:0/.test(document.querySelector('#replay-position')?.textContent ?? ''),
    );
    const layout = await page.evaluate(() => {
      const position = document.querySelector('#replay-position') as HTMLElement;
      const seek = document.querySelector('#replay-seek') as HTMLElement;
      const lineHeight = Number.parseFloat(getComputedStyle(position).lineHeight) || 20;
      const box = position.getBoundingClientRect();
      return {
        lines: Math.round(box.height / lineHeight),
        right: box.right,
        sliderWidth: seek.getBoundingClientRect().width,
      };
    });
    expect(layout.lines).toBe(1);
    expect(layout.right).toBeLessThanOrEqual(390);
    // The slider keeps a usable width.
    expect(layout.sliderWidth).toBeGreaterThan(150);
  });

  it('keeps the replay bar and the rate selector in place as their words and digits change', async () => {
    const { page, feed } = await openReplay(1);
    const left = (selector: string) =>
      page.$eval(selector, (element) => Math.round(element.getBoundingClientRect().left));
    const slider = async () =>
      page.$eval('#replay-seek', (element) => {
        const { left, right } = element.getBoundingClientRect();
        return { left: Math.round(left), right: Math.round(right) };
      });
    await page.waitForFunction(() => document.querySelector('#replay-state')?.textContent === 'playing 1×');
    const playing = { speed: await left('#replay-speed'), slider: await slider() };
    await page.click('#replay-toggle');
    await until(() => feed.control.status().paused, 5000, 'the replay paused');
    await page.waitForFunction(() => document.querySelector('#replay-toggle')?.textContent === 'Resume');
    await page.waitForFunction(() => document.querySelector('#replay-state')?.textContent === 'paused');
    // "Pause" became "Resume", "playing 1×" became "paused": neither the speed nor the slider moved.
    expect({ speed: await left('#replay-speed'), slider: await slider() }).toEqual(playing);

    // The latency line as the page writes it, with few digits and with many: the rate selector stays put.
    const rateAt = (text: string) =>
      page.evaluate((t) => {
        const latency = document.querySelector('#latency') as HTMLElement;
        latency.textContent = t;
        return Math.round((document.querySelector('#rate') as HTMLElement).getBoundingClientRect().left);
      }, text);
    for (const width of [1280, 390]) {
      await page.setViewportSize({ width, height: 800 });
      expect(await rateAt('latency p50 2 ms · p99 9 ms')).toBe(await rateAt('latency p50 132 ms · p99 4194 ms'));
    }
  });
});
