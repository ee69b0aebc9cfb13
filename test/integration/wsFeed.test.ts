import { BehaviorSubject, type Subscription } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import type { VendorFormat } from '../../src/feeds/vendors/index.js';
import { WsFeedError, type WsFeedEvent, type WsFeedOptions, wsFeed } from '../../src/feeds/wsFeed.js';
import { type InvalidReason, normalizeQuote } from '../../src/pipeline/normalizeQuote.js';
import type { RawQuote } from '../../src/protocol.js';
import { DEMO_KEY, DEMO_SECRET, startWsUpstream, type WsUpstream } from '../../src/upstream/wsUpstream.js';
import { quietFor, until } from '../helpers/lifecycle.js';
import { virtualClock } from '../helpers/virtualClock.js';

/** A feed under test: its validated quotes, refusals, events and how it ended. */
type Harness = {
  quotes: RawQuote[];
  invalid: InvalidReason[];
  events: WsFeedEvent[];
  error?: unknown;
  demand: BehaviorSubject<ReadonlySet<string>>;
};

const upstreams: WsUpstream[] = [];
const subscriptions: Subscription[] = [];
afterEach(async () => {
  for (const s of subscriptions.splice(0)) s.unsubscribe();
  await Promise.all(upstreams.splice(0).map((u) => u.close()));
});

async function upstream(format: VendorFormat, options: Parameters<typeof startWsUpstream>[1] = { port: 0 }) {
  const u = await startWsUpstream(format, { ticksPerSecond: 400, keepAliveMs: 200, ...options });
  upstreams.push(u);
  return u;
}

function runFeed(u: WsUpstream, symbols: string[], options: Partial<WsFeedOptions> = {}): Harness {
  const harness: Harness = {
    quotes: [],
    invalid: [],
    events: [],
    demand: new BehaviorSubject<ReadonlySet<string>>(new Set(symbols)),
  };
  const feed = wsFeed({
    id: `${u.format}-feed`,
    url: u.url,
    format: u.format,
    key: DEMO_KEY,
    secret: DEMO_SECRET,
    demand$: harness.demand,
    reconnect: { initialMs: 50, maxMs: 400 },
    heartbeatTimeoutMs: 3000,
    onEvent: (event) => harness.events.push(event),
    ...options,
  });
  subscriptions.push(
    feed.pipe(normalizeQuote((invalid) => harness.invalid.push(invalid.reason))).subscribe({
      next: (quote) => harness.quotes.push(quote),
      error: (err: unknown) => {
        harness.error = err;
      },
    }),
  );
  return harness;
}

const count = (h: Harness, kind: WsFeedEvent['kind']) => h.events.filter((e) => e.kind === kind).length;
const quotesOf = (h: Harness, symbol: string, from = 0) => h.quotes.slice(from).filter((q) => q.symbol === symbol);

const CASES: { format: VendorFormat; a: string; b: string; badValue: string }[] = [
  { format: 'polygon', a: 'AAPL', b: 'MSFT', badValue: '[{"ev":"T","sym":"AAPL","p":-5,"s":1,"t":1700000000000}]' },
  {
    format: 'alpaca',
    a: 'AAPL',
    b: 'MSFT',
    badValue: '[{"T":"t","S":"AAPL","p":"x","s":1,"t":"2026-01-01T00:00:00Z"}]',
  },
  { format: 'finnhub', a: 'AAPL', b: 'MSFT', badValue: '{"type":"trade","data":[{"s":"AAPL","p":null,"t":1}]}' },
  {
    format: 'coinbase',
    a: 'BTC-USD',
    b: 'ETH-USD',
    badValue: '{"type":"ticker","product_id":"BTC-USD","price":"lots","time":"2026-01-01T00:00:00Z","sequence":1}',
  },
  {
    format: 'binance',
    a: 'BTCUSDT',
    b: 'ETHUSDT',
    badValue: '{"stream":"btcusdt@trade","data":{"e":"trade","s":"BTCUSDT","p":"lots","q":"1","T":1700000000000}}',
  },
  {
    format: 'kraken',
    a: 'BTC/USD',
    b: 'ETH/USD',
    badValue:
      '{"channel":"ticker","type":"update","data":[{"symbol":"BTC/USD","last":-1,"timestamp":"2026-01-01T00:00:00Z"}]}',
  },
];

/** Vendors whose public market data needs no key: nothing to authenticate, nothing to refuse. */
const KEYLESS = new Set<VendorFormat>(['coinbase', 'binance', 'kraken']);

describe.each(CASES)('$format feed against its local upstream', ({ format, a, b, badValue }) => {
  it('authenticates, subscribes only to the demanded symbols and follows the demand, with source', async () => {
    const u = await upstream(format, { port: 0 });
    const h = runFeed(u, [a]);
    await until(() => quotesOf(h, a).length >= 3, 10_000, `quotes for ${a}`);
    expect(u.subscriptions()).toEqual([a]);
    expect(h.quotes.every((q) => q.symbol === a && q.source === `${format}-feed` && q.price > 0)).toBe(true);
    if (!KEYLESS.has(format)) expect(u.stats.authSuccesses).toBe(1);

    h.demand.next(new Set([b]));
    await until(() => u.subscriptions().join() === b, 10_000, `the upstream to follow the demand to ${b}`);
    await until(() => quotesOf(h, b).length >= 3, 10_000, `quotes for ${b}`);
    // Frames already on the wire when the unsubscribe went out may still arrive; after that, only b. The
    // upstream has dropped a (above), so once 20 quotes in a row since a's last one are b's, those in flight
    // are in; from there on no quote of a may come.
    const sinceA = () => h.quotes.length - 1 - h.quotes.findLastIndex((q) => q.symbol === a);
    await until(
      () => sinceA() >= 20,
      10_000,
      () => `20 quotes of ${b} after the last of ${a}, got ${sinceA()}`,
    );
    const mark = h.quotes.length;
    await until(() => quotesOf(h, b, mark).length >= 3, 10_000, `more quotes for ${b}`);
    expect(quotesOf(h, a, mark)).toEqual([]);

    h.demand.next(new Set());
    await until(() => u.subscriptions().length === 0, 10_000, 'the upstream to drop every subscription');
    expect(h.error).toBeUndefined();
    expect(h.invalid).toEqual([]);
    if (format === 'coinbase') {
      // The ticker's sequence counts the product's whole channel, so it jumps between tickers: not used for gaps.
      expect(quotesOf(h, b).every((q) => q.upstreamSeq === undefined)).toBe(true);
    }
  });

  it('reconnects after the upstream drops the connection, re-authenticates and re-subscribes', async () => {
    const u = await upstream(format, { port: 0 });
    const h = runFeed(u, [a, b]);
    await until(() => quotesOf(h, a).length > 0 && quotesOf(h, b).length > 0, 10_000, 'first quotes');
    u.dropConnections();
    await until(
      () => u.stats.connections >= 2 && u.subscriptions().join() === [a, b].sort().join(),
      10_000,
      'resubscribed',
    );
    const mark = h.quotes.length;
    await until(
      () => quotesOf(h, a, mark).length > 0 && quotesOf(h, b, mark).length > 0,
      10_000,
      'quotes after reconnect',
    );
    expect(count(h, 'reconnecting')).toBeGreaterThanOrEqual(1);
    if (!KEYLESS.has(format)) expect(u.stats.authSuccesses).toBeGreaterThanOrEqual(2);
    expect(h.error).toBeUndefined();
  });

  it('counts and skips malformed frames and bad values, and keeps going', async () => {
    const u = await upstream(format, { port: 0 });
    const h = runFeed(u, [a]);
    await until(() => quotesOf(h, a).length > 0, 10_000, 'first quotes');
    u.broadcastRaw('garbage {');
    u.broadcastRaw('\u0000\u00ff');
    u.broadcastRaw(badValue);
    await until(() => h.invalid.length >= 3, 10_000, 'the bad frames to be counted');
    const mark = h.quotes.length;
    await until(() => quotesOf(h, a, mark).length >= 3, 10_000, 'quotes after the garbage');
    expect(h.invalid.filter((r) => r === 'not_object')).toHaveLength(2);
    expect(h.invalid.filter((r) => r === 'bad_price')).toHaveLength(1);
    expect(count(h, 'malformed')).toBe(2);
    expect(u.stats.connections).toBe(1);
    expect(h.error).toBeUndefined();
  });

  it('replaces a connection that goes silent (no frames, heartbeats or pongs)', async () => {
    const u = await upstream(format, { port: 0 });
    const h = runFeed(u, [a], { heartbeatTimeoutMs: 600 });
    await until(() => quotesOf(h, a).length > 0, 10_000, 'first quotes');
    // Heartbeats and pongs keep an alive link up: no reconnect over more than the 600 ms timeout.
    await quietFor(1000, 'a reconnect of a live link', () => u.stats.connections > 1);
    expect(u.stats.connections).toBe(1);
    u.setSilent(true);
    await until(() => u.stats.connections >= 2, 10_000, 'a reconnect after the silence');
    u.setSilent(false);
    const mark = h.quotes.length;
    await until(() => quotesOf(h, a, mark).length > 0, 10_000, 'quotes after the link came back');
    expect(h.events.some((e) => e.kind === 'reconnecting' && /no traffic|no answer/.test(e.reason))).toBe(true);
  });

  if (!KEYLESS.has(format)) {
    it('stops with an auth error on a bad key, without a reconnect loop', async () => {
      const u = await upstream(format, { port: 0 });
      const h = runFeed(u, [a], { key: 'wrong-key', reconnect: { initialMs: 10, maxMs: 20 } });
      await until(() => h.error !== undefined, 10_000, 'the feed to fail');
      expect(h.error).toBeInstanceOf(WsFeedError);
      expect((h.error as WsFeedError).failure.kind).toBe('auth_failed');
      // At 10-20 ms backoff, a reconnect loop would have reconnected many times within 300 ms.
      await quietFor(300, 'a reconnect after the auth failure', () => u.stats.connections > 1);
      expect(u.stats.connections).toBeLessThanOrEqual(1);
      expect(u.stats.authFailures).toBe(1);
      expect(count(h, 'reconnecting')).toBe(0);
      expect(h.quotes).toEqual([]);
    });
  }
});

describe('vendor limits', () => {
  it('alpaca: a symbol limit (405) is reported and the allowed symbols still flow', async () => {
    const u = await upstream('alpaca', { port: 0, maxSymbols: 1 });
    const h = runFeed(u, ['AAPL']);
    await until(() => quotesOf(h, 'AAPL').length > 0, 10_000, 'quotes for AAPL');
    h.demand.next(new Set(['AAPL', 'MSFT', 'NVDA']));
    await until(() => h.events.some((e) => e.kind === 'vendor_error' && e.code === 405), 10_000, 'a 405');
    expect(u.subscriptions()).toEqual(['AAPL']);
    const mark = h.quotes.length;
    await until(() => quotesOf(h, 'AAPL', mark).length > 0, 10_000, 'AAPL still flowing');
    expect(h.error).toBeUndefined();
  });

  it('alpaca: a connection limit (406) backs off and retries; the feed gets in once the slot is free', async () => {
    const u = await upstream('alpaca', { port: 0, maxConnections: 1 });
    const first = runFeed(u, ['AAPL']);
    await until(() => quotesOf(first, 'AAPL').length > 0, 10_000, 'the first feed');
    const second = runFeed(u, ['MSFT']);
    await until(() => second.events.some((e) => e.kind === 'vendor_error' && e.code === 406), 10_000, 'a 406');
    await until(() => count(second, 'reconnecting') >= 2, 10_000, 'retries');
    expect(second.error).toBeUndefined();
    (subscriptions[0] as Subscription).unsubscribe(); // the first feed leaves
    await until(() => quotesOf(second, 'MSFT').length > 0, 10_000, 'the second feed to get in');
  });

  it('finnhub: too many connections are refused at the upgrade (429), retried, not fatal', async () => {
    const u = await upstream('finnhub', { port: 0, maxConnections: 0 });
    const h = runFeed(u, ['AAPL']);
    await until(() => count(h, 'reconnecting') >= 2, 10_000, 'retries');
    expect(h.events.find((e) => e.kind === 'reconnecting')).toMatchObject({ reason: expect.stringMatching(/429/) });
    expect(h.error).toBeUndefined();
  });

  it('waits each reconnect delay on its scheduler: no attempt before it is up, one when it is', async () => {
    // Every upgrade refused (429, retryable); delays of 10, 20, 40 s, then the 40 s cap: longer than any wait
    // below, so only the virtual clock can bring the next attempt in time.
    const u = await upstream('finnhub', { port: 0, maxConnections: 0 });
    const { scheduler, runTo } = virtualClock();
    const h = runFeed(u, ['AAPL'], { reconnect: { initialMs: 10_000, maxMs: 40_000 }, random: () => 1, scheduler });
    const delays = () => h.events.flatMap((e) => (e.kind === 'reconnecting' ? [e.delayMs] : []));
    const attempts = () => count(h, 'connecting');
    let at = 0;
    for (const [k, delay] of [10_000, 20_000, 40_000, 40_000].entries()) {
      await until(() => delays().length === k + 1, 5000, `reconnect ${k + 1} scheduled`);
      expect(delays()[k]).toBe(delay);
      runTo(at + delay - 1);
      await quietFor(50, `an attempt before the ${delay} ms delay is up`, () => attempts() > k + 1);
      runTo(at + delay);
      await until(() => attempts() === k + 2, 5000, `attempt ${k + 2} once the ${delay} ms are up`);
      at += delay;
    }
    expect(h.error).toBeUndefined();
  });
});
