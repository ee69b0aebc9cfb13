import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { ensureDashboardBuilt } from '../../src/cli/webBuild.js';
import { createLogger } from '../../src/log.js';
import { launchChromium } from './chromium.js';

/**
 * For a browser test file: builds the dashboard and launches Chromium once, and closes each test's browser
 * context after it (and Chromium after the file). Call once at the top of the file.
 */
export function browserPerFile() {
  let browser: Browser | undefined;
  let webRoot = '';
  let context: BrowserContext | undefined;
  beforeAll(async () => {
    webRoot = await ensureDashboardBuilt(createLogger('silent'));
    browser = await launchChromium();
  });
  afterEach(async () => {
    await context?.close();
    context = undefined;
  });
  afterAll(async () => {
    await browser?.close();
  });
  return {
    /** The built dashboard's folder, for the server's `webRoot`. */
    webRoot: () => webRoot,
    /** A new page in this test's context (a fresh one per test), at `url`; page errors are printed. */
    async open(url: string, viewport = { width: 1280, height: 800 }): Promise<Page> {
      if (!browser) throw new Error('Chromium is not running (browserPerFile must be called at the top level)');
      context = await browser.newContext({ viewport });
      const page = await context.newPage();
      page.on('pageerror', (err) => console.error('page error:', err));
      await page.goto(url);
      return page;
    },
    /** Another context of the same browser (another visitor), to close by the test. */
    otherContext(): Promise<BrowserContext> {
      if (!browser) throw new Error('Chromium is not running');
      return browser.newContext();
    },
  };
}
