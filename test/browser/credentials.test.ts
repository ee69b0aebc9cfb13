/// <reference lib="dom" />
// The page functions below run in Chromium: they need the DOM types.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ensureDashboardBuilt } from '../../src/cli/webBuild.js';
import { createLogger } from '../../src/log.js';
import type { Tickstream } from '../../src/roles/serve.js';
import { launchChromium } from '../helpers/browser.js';
import { manualFeed } from '../helpers/manualFeed.js';
import { startTestService } from '../helpers/service.js';

const TOKEN = 'dashboard-user-token-0123456789';
const WRONG = 'not-the-token-0123456789-abcdef';

let browser: Browser;
let webRoot: string;
let service: Tickstream | undefined;
let context: BrowserContext | undefined;

beforeAll(async () => {
  webRoot = await ensureDashboardBuilt(createLogger('silent'));
  browser = await launchChromium();
});
afterEach(async () => {
  await context?.close();
  context = undefined;
  await service?.close();
  service = undefined;
});
afterAll(async () => {
  await browser?.close();
});

/** A server that requires a token, with AAPL priced; and a page of it with no token yet. */
async function refusedPage(): Promise<Page> {
  const feed = manualFeed(['AAPL', 'MSFT']);
  service = await startTestService(
    { auth: { required: true, tokens: [{ token: TOKEN }] } },
    { feeds: [feed], webRoot },
  );
  feed.push('AAPL', 231.5);
  feed.push('MSFT', 420.25);
  context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  page.on('pageerror', (err) => console.error('page error:', err));
  await page.goto(`${service.url}/?symbols=AAPL`);
  return page;
}

const noticeText = (page: Page) =>
  page.waitForFunction(() => {
    const notice = document.querySelector<HTMLElement>('#access');
    return notice && !notice.hidden ? notice.textContent : undefined;
  });

/** Puts `#token=...` in the address of the open tab (what a user does by hand) and waits for the page to take it. */
async function giveToken(page: Page, token: string): Promise<void> {
  await Promise.all([
    page.waitForEvent('load', { timeout: 10_000 }),
    page.evaluate((t) => {
      location.hash = `#token=${t}`;
    }, token),
  ]);
}

describe('dashboard credentials', () => {
  it('says the server needs a token and how to pass one, then connects when #token= is added to the tab', async () => {
    const page = await refusedPage();
    const text = String(await (await noticeText(page)).jsonValue());
    expect(text).toMatch(/needs an access token/);
    expect(text).toContain('#token=');
    expect(await page.textContent('#connection')).toBe('disconnected');
    // Refused means refused: no prices, no chart drawn from the history.
    expect(
      await page.$$eval('#grid tbody td[data-field="price"] span:last-child', (c) => c.map((e) => e.textContent)),
    ).not.toContain('231.50');
    expect(await page.$eval('#chart', (e) => e.dataset.bars)).toBeUndefined();

    await giveToken(page, TOKEN);
    await page.waitForFunction(
      () =>
        document.querySelector('#grid tbody tr[data-symbol="AAPL"] td[data-field="price"] span:last-child')
          ?.textContent === '231.50',
    );
    expect(await page.textContent('#connection')).toBe('connected');
    expect(await page.$eval('#access', (e) => (e as HTMLElement).hidden)).toBe(true);
    expect(new URL(page.url()).hash).toBe(''); // taken out of the address bar
    expect(await page.evaluate(() => localStorage.getItem('tickstream.token'))).toBe(TOKEN);
    expect(await page.content()).not.toContain(TOKEN);
  });

  it('says a saved token was refused, never showing it, and takes a better one from the address', async () => {
    const page = await refusedPage();
    await noticeText(page);
    await giveToken(page, WRONG);
    await page.waitForFunction(() =>
      /refused the access token/.test(document.querySelector('#access')?.textContent ?? ''),
    );
    const text = (await page.textContent('#access')) ?? '';
    expect(text).toContain('#token=');
    expect(await page.content()).not.toContain(WRONG);
    expect(new URL(page.url()).hash).toBe('');

    await giveToken(page, TOKEN);
    await page.waitForFunction(() => document.querySelector('#connection')?.textContent === 'connected');
    expect(await page.content()).not.toContain(TOKEN);
  });
});
