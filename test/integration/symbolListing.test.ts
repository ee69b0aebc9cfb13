import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { fetchSymbolListing } from '../../src/feeds/symbolListing.js';
import type { SymbolInfo } from '../../src/protocol.js';
import { ownedPerTest, quietFor, until } from '../helpers/lifecycle.js';
import { virtualClock } from '../helpers/virtualClock.js';

const { owned, ownedSubscription } = ownedPerTest();

/** A real listing endpoint whose n-th request (0-based) is answered by `respond`. */
async function listingServer(respond: (n: number, res: ServerResponse) => void) {
  let requests = 0;
  const server = createServer((_req, res) => respond(requests++, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return owned({
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/products`,
    requests: () => requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  });
}

const LISTING = [{ id: 'BTC-USD' }, { id: 'ETH-USD' }];
const decode = (body: unknown): SymbolInfo[] | undefined =>
  Array.isArray(body) ? body.map((p: { id: string }) => ({ symbol: p.id })) : undefined;

/**
 * The listing's retries on a TestScheduler clock, against a real endpoint: delays of 10 s and 20 s, longer than
 * any wait below, so only the virtual clock can bring the next request in time.
 */
async function virtualListing(respond: (n: number, res: ServerResponse) => void, attempts: number) {
  const server = await listingServer(respond);
  const { scheduler, runTo } = virtualClock();
  const listed: SymbolInfo[][] = [];
  const failures: number[] = [];
  let completed = false;
  ownedSubscription(
    fetchSymbolListing({
      url: server.url,
      decode,
      attempts,
      retry: { initialMs: 10_000, maxMs: 60_000 },
      random: () => 1,
      scheduler,
      onFailure: (_reason, attempt) => failures.push(attempt),
    }).subscribe({ next: (symbols) => listed.push(symbols), complete: () => (completed = true) }),
  );
  return { server, listed, failures, completed: () => completed, runTo };
}

describe('fetchSymbolListing on a TestScheduler clock (a real endpoint)', () => {
  it('retries a failed listing after each backoff delay, not before, and emits the listing once it comes', async () => {
    const v = await virtualListing((n, res) => {
      if (n < 2) res.writeHead(503).end();
      else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(LISTING));
    }, 5);
    await until(() => v.failures.length === 1, 5000, 'the first failure');
    for (const [k, at] of [10_000, 30_000].entries()) {
      v.runTo(at - 1);
      await quietFor(50, `request ${k + 2} before ${at} ms`, () => v.server.requests() > k + 1);
      v.runTo(at);
      await until(() => v.server.requests() === k + 2, 5000, `request ${k + 2} at ${at} ms`);
    }
    await until(() => v.completed(), 5000, 'the listing');
    expect(v.listed).toEqual([[{ symbol: 'BTC-USD' }, { symbol: 'ETH-USD' }]]);
    expect(v.failures).toEqual([1, 2]);
  });

  it('gives up after its attempts without an error, and asks no more', async () => {
    const v = await virtualListing((_n, res) => res.writeHead(503).end(), 3);
    await until(() => v.failures.length === 1, 5000, 'the first failure');
    v.runTo(10_000);
    await until(() => v.failures.length === 2, 5000, 'the second failure');
    v.runTo(30_000);
    await until(() => v.completed(), 5000, 'the listing given up');
    // The last failure is reported with the number of attempts, and nothing is listed.
    expect(v.failures).toEqual([1, 2, 3]);
    expect(v.listed).toEqual([]);
    v.runTo(600_000);
    await quietFor(50, 'a request after giving up', () => v.server.requests() > 3);
  });
});
