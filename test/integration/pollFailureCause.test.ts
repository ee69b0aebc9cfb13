import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { pollFeedFromConfig } from '../../src/feeds/poll.js';
import { fetchSymbolListing } from '../../src/feeds/symbolListing.js';
import { until } from '../helpers/lifecycle.js';

// Found on main: a failed poll logged only "fetch failed". These are real failures on this machine: a port
// nothing listens on, a host name that cannot resolve (.invalid, RFC 6761), a certificate nobody signed.

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Polls `url` with the feed a config file makes, and returns the lines it logs. */
function pollAndLog(url: string): { lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  const config = parseConfig({ feeds: [{ type: 'poll', id: 'p', url, intervalMs: 100, timeoutMs: 2000 }] });
  const [feedConfig] = config.feeds;
  if (feedConfig?.type !== 'poll') throw new Error('expected the poll feed');
  const feed = pollFeedFromConfig(feedConfig, { market: config.market, logger });
  const subscription = feed.quotes$.subscribe();
  cleanups.push(() => subscription.unsubscribe());
  return { lines };
}

async function firstFailure(url: string): Promise<string> {
  const { lines } = pollAndLog(url);
  await until(() => lines.length > 0, 10_000, `a logged poll failure for ${url}`);
  expect(lines[0]).toMatchObject({ feed: 'p', msg: 'poll failed; retrying at the next interval' });
  return String(lines[0]?.reason);
}

/** A port that was just free: listen, note it, close. */
async function refusedPort(): Promise<number> {
  const server = createHttpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('a failed poll logs why', () => {
  it('connection refused', async () => {
    const port = await refusedPort();
    expect(await firstFailure(`http://127.0.0.1:${port}/quotes`)).toBe(
      `poll http://127.0.0.1:${port}/quotes: network error: fetch failed (ECONNREFUSED)`,
    );
  });

  it('a host name that does not resolve', async () => {
    // NXDOMAIN is ENOTFOUND; a machine with no resolver at all says EAI_AGAIN. Either way, a DNS failure named.
    expect(await firstFailure('http://nonexistent.invalid/quotes')).toMatch(
      /^poll http:\/\/nonexistent\.invalid\/quotes: network error: fetch failed \((ENOTFOUND|EAI_AGAIN)\)$/,
    );
  });

  it.skipIf(spawnSync('openssl', ['version']).status !== 0)('a certificate nobody signed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tickstream-tls-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const made = spawnSync('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ]);
    expect(made.status, made.stderr.toString()).toBe(0);
    const server = createHttpsServer(
      { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) },
      (_req, res) => res.end('[]'),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const { port } = server.address() as AddressInfo;
    expect(await firstFailure(`https://127.0.0.1:${port}/quotes`)).toMatch(
      /network error: fetch failed \((DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN)\)$/,
    );
  });
});

describe('a failed symbol listing says why', () => {
  it('connection refused', async () => {
    const port = await refusedPort();
    const reasons: string[] = [];
    const listing = fetchSymbolListing({
      url: `http://127.0.0.1:${port}/api/v3/exchangeInfo`,
      decode: () => [],
      attempts: 1,
      onFailure: (reason) => reasons.push(reason),
    }).subscribe();
    cleanups.push(() => listing.unsubscribe());
    await until(() => reasons.length > 0, 10_000, 'the listing failure');
    expect(reasons).toEqual(['fetch failed (ECONNREFUSED)']);
  });
});
