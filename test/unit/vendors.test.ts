import fc from 'fast-check';
import { firstValueFrom, from, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfig } from '../../src/config/load.js';
import { ALPACA_ERRORS } from '../../src/feeds/vendors/alpaca.js';
import {
  type SessionOutput,
  VENDOR_FORMATS,
  type VendorEvent,
  type VendorFormat,
  vendorCodec,
} from '../../src/feeds/vendors/index.js';
import { withLastTradePrice } from '../../src/feeds/vendors/lastTradePrice.js';
import { validateQuote } from '../../src/pipeline/normalizeQuote.js';
import { type UpstreamTick, vendorServer } from '../../src/upstream/vendors/index.js';

const symbolArb = fc.stringMatching(/^[A-Z][A-Z0-9]{0,4}([.-][A-Z]{1,3})?$/);

/** JSON shaped like each vendor's messages, with arbitrary values where the numbers and names should be. */
const vendorShaped: Record<VendorFormat, fc.Arbitrary<unknown>> = {
  polygon: fc.array(
    fc.record(
      {
        ev: fc.oneof(fc.constantFrom('T', 'Q', 'status', 'A'), fc.jsonValue()),
        sym: fc.jsonValue(),
        p: fc.jsonValue(),
        bp: fc.jsonValue(),
        t: fc.jsonValue(),
        status: fc.oneof(fc.constantFrom('connected', 'auth_success', 'auth_failed', 'success'), fc.jsonValue()),
        message: fc.jsonValue(),
      },
      { requiredKeys: [] },
    ),
  ),
  alpaca: fc.array(
    fc.record(
      {
        T: fc.oneof(fc.constantFrom('t', 'q', 'success', 'error', 'subscription'), fc.jsonValue()),
        S: fc.jsonValue(),
        p: fc.jsonValue(),
        t: fc.jsonValue(),
        code: fc.jsonValue(),
        msg: fc.jsonValue(),
        trades: fc.jsonValue(),
        quotes: fc.jsonValue(),
      },
      { requiredKeys: [] },
    ),
  ),
  finnhub: fc.record(
    {
      type: fc.oneof(fc.constantFrom('trade', 'ping', 'error'), fc.jsonValue()),
      data: fc.oneof(fc.array(fc.record({ s: fc.jsonValue(), p: fc.jsonValue(), t: fc.jsonValue() })), fc.jsonValue()),
      msg: fc.jsonValue(),
    },
    { requiredKeys: [] },
  ),
  binance: fc.record(
    {
      stream: fc.oneof(fc.constantFrom('btcusdt@trade', 'btcusdt@bookTicker', 'btcusdt@miniTicker'), fc.jsonValue()),
      data: fc.oneof(
        fc.record(
          {
            e: fc.oneof(fc.constantFrom('trade', '24hrMiniTicker', 'serverShutdown'), fc.jsonValue()),
            s: fc.jsonValue(),
            p: fc.oneof(fc.string(), fc.jsonValue()),
            b: fc.oneof(fc.string(), fc.jsonValue()),
            c: fc.oneof(fc.string(), fc.jsonValue()),
            T: fc.jsonValue(),
          },
          { requiredKeys: [] },
        ),
        fc.jsonValue(),
      ),
      result: fc.jsonValue(),
      code: fc.jsonValue(),
      error: fc.jsonValue(),
    },
    { requiredKeys: [] },
  ),
  kraken: fc.record(
    {
      channel: fc.oneof(fc.constantFrom('ticker', 'heartbeat', 'status', 'instrument'), fc.jsonValue()),
      method: fc.oneof(fc.constantFrom('subscribe', 'unsubscribe', 'pong'), fc.jsonValue()),
      type: fc.oneof(fc.constantFrom('snapshot', 'update'), fc.jsonValue()),
      data: fc.oneof(
        fc.array(fc.record({ symbol: fc.jsonValue(), last: fc.jsonValue(), timestamp: fc.jsonValue() })),
        fc.jsonValue(),
      ),
      result: fc.jsonValue(),
      success: fc.jsonValue(),
      error: fc.jsonValue(),
    },
    { requiredKeys: [] },
  ),
  coinbase: fc.record(
    {
      type: fc.oneof(fc.constantFrom('ticker', 'heartbeat', 'subscriptions', 'error'), fc.jsonValue()),
      product_id: fc.jsonValue(),
      price: fc.oneof(fc.string(), fc.jsonValue()),
      time: fc.oneof(fc.string(), fc.jsonValue()),
      sequence: fc.jsonValue(),
      channels: fc.jsonValue(),
    },
    { requiredKeys: [] },
  ),
};

const tickArb = (format: VendorFormat): fc.Arbitrary<UpstreamTick> =>
  fc
    .record({
      symbol: symbolArb,
      cents: fc.integer({ min: 1, max: 100_000_000 }),
      spread: fc.integer({ min: 1, max: 100 }),
      ts: fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2099, 0, 1) }),
      size: fc.integer({ min: 1, max: 1_000_000 }),
      volume: fc.integer({ min: 0, max: 1e12 }),
      sequence: fc.integer({ min: 0, max: 2 ** 48 }),
    })
    .map(({ symbol, cents, spread, ts, size, volume, sequence }) => {
      const price = cents / 100;
      const base = symbol.replace(/[.-].*/, '');
      const spelled = { coinbase: `${base}-USD`, kraken: `${base}/USD`, binance: `${base}USDT` } as const;
      return {
        symbol: format === 'coinbase' || format === 'kraken' || format === 'binance' ? spelled[format] : symbol,
        price,
        bid: Math.max(0.01, (cents - spread) / 100),
        ask: (cents + spread) / 100,
        ts,
        size,
        volume,
        open: price,
        high: price,
        low: price,
        sequence,
      };
    });

const ticksOf = (events: VendorEvent[]) => events.flatMap((e) => (e.kind === 'tick' ? [e.tick] : []));

describe.each(VENDOR_FORMATS)('%s codec', (format) => {
  const codec = vendorCodec(format);
  const server = vendorServer(format);

  it('never throws, whatever the frame: text, any JSON, or vendor-shaped JSON with bad values', () => {
    fc.assert(
      fc.property(fc.string(), (frame) => {
        expect(Array.isArray(codec.decode(frame))).toBe(true);
      }),
    );
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        codec.decode(JSON.stringify(value));
      }),
    );
    fc.assert(
      fc.property(vendorShaped[format], (value) => {
        for (const event of codec.decode(JSON.stringify(value), Date.UTC(2026, 0, 1))) {
          // Whatever a tick carries, validation decides without throwing.
          if (event.kind === 'tick' && event.tick.price !== undefined) validateQuote(event.tick);
        }
      }),
    );
    expect(codec.decode('not json {')).toEqual([{ kind: 'malformed', reason: 'not JSON' }]);
  });

  it('never throws on values String() cannot convert ({"toString":0}, found by the property above)', () => {
    // Each name or message a codec or its stand-in reads, as an object whose toString is not a function.
    const odd = { toString: 0 };
    const frames = [
      [{ ev: 'status', status: odd, message: odd }],
      { type: odd, channels: [odd, { name: odd }], product_ids: ['BTC-USD'] },
      { method: odd, params: [odd], id: 1 },
      { action: odd, trades: [odd] },
      { T: odd, msg: odd },
      { channel: odd, type: odd, data: [odd] },
    ].map((frame) => JSON.stringify(frame));
    for (const frame of frames) {
      expect(Array.isArray(codec.decode(frame, Date.UTC(2026, 0, 1)))).toBe(true);
      expect(() => server.decodeRequest(frame)).not.toThrow();
    }
    const listing = codec.symbolListing;
    if (listing)
      expect(() =>
        listing.decode({ symbols: [{ symbol: 'BTCUSDT', status: 'TRADING', baseAsset: odd }] }),
      ).not.toThrow();
  });

  it('decodes what the upstream encodes: ticks round-trip to valid quotes with the same values', () => {
    fc.assert(
      fc.property(fc.array(tickArb(format), { minLength: 1, maxLength: 5 }), (sent) => {
        const receivedAt = Date.UTC(2026, 0, 1);
        const got = server.ticks(sent).flatMap((frame) => ticksOf(codec.decode(frame, receivedAt)));
        // Binance's miniTicker carries the last price too, every second: the trades are those with a size.
        const trades = got.filter((t) => t.price !== undefined && (format !== 'binance' || t.size !== undefined));
        expect(trades).toHaveLength(sent.length);
        trades.forEach((tick, i) => {
          const expected = sent[i] as UpstreamTick;
          const quote = validateQuote(tick);
          expect(quote).toMatchObject({ symbol: expected.symbol, price: expected.price, ts: expected.ts });
          if (format !== 'kraken') expect(quote?.size).toBe(expected.size);
          if (format === 'coinbase' || format === 'kraken') {
            expect(quote).toMatchObject({ bid: expected.bid, ask: expected.ask, volume: expected.volume });
            // Its sequence jumps between tickers by design: not a gap counter.
            expect(quote?.upstreamSeq).toBeUndefined();
          }
        });
        // Polygon, Alpaca and Binance send a bid/ask event per trade, without a price.
        const quotes = got.filter((t) => t.price === undefined);
        if (format === 'polygon' || format === 'alpaca' || format === 'binance') {
          expect(quotes.map((q) => [q.symbol, q.bid, q.ask])).toEqual(sent.map((t) => [t.symbol, t.bid, t.ask]));
        } else {
          expect(quotes).toEqual([]);
        }
      }),
    );
  });

  it('encodes subscriptions the upstream reads back as the same symbols', () => {
    fc.assert(
      fc.property(fc.uniqueArray(symbolArb, { minLength: 1, maxLength: 20 }), (symbols) => {
        for (const [encode, kind] of [
          [codec.subscribe, 'subscribe'],
          [codec.unsubscribe, 'unsubscribe'],
        ] as const) {
          const requests = encode(symbols).map((frame) => server.decodeRequest(frame));
          expect(new Set(requests.map((r) => r.kind))).toEqual(new Set([kind]));
          const back = requests.flatMap((r) => (r.kind === kind ? r.symbols : []));
          expect(new Set(back)).toEqual(new Set(symbols));
        }
      }),
    );
    expect(codec.subscribe([])).toEqual([]);
  });

  it('reads its own control messages', () => {
    if (server.auth === 'frame') {
      const auth = codec.authFrame({ key: 'k1', secret: 's1' });
      expect(auth && server.decodeRequest(auth)).toMatchObject({ kind: 'auth', key: 'k1' });
      expect(codec.decode(server.authSucceeded())).toContainEqual({ kind: 'authenticated' });
      expect(codec.decode(server.authFailed())).toContainEqual(expect.objectContaining({ kind: 'auth_failed' }));
    } else {
      expect(codec.authFrame({ key: 'k1' })).toBeUndefined();
    }
    const session = {
      authenticated: true,
      symbols: new Set(['AAPL', 'MSFT']),
      heartbeats: new Set<string>(),
      subscribedOnce: true,
    };
    const acks = server.subscribed(['AAPL', 'MSFT'], session, 'subscribe').flatMap((ack) => codec.decode(ack));
    const acked = acks.flatMap((e) => (e.kind === 'subscribed' ? e.symbols : []));
    // Binance acks without naming streams; Finnhub sends no ack.
    if (format !== 'binance' && format !== 'finnhub') expect(new Set(acked)).toEqual(new Set(['AAPL', 'MSFT']));
    else expect(acks.filter((e) => e.kind !== 'subscribed')).toEqual([]);
    const refused = codec.decode(server.subscriptionRefused('symbol_limit', 'at most 1'));
    expect(refused).toContainEqual(expect.objectContaining({ kind: 'vendor_error', fatal: false }));
    const watching = { ...session, symbols: new Set(['BTC-USD']), heartbeats: new Set(['BTC-USD']) };
    for (const frame of server.keepAlive(watching, Date.UTC(2026, 0, 1), () => 7)) {
      expect(codec.decode(frame)).toEqual([{ kind: 'heartbeat' }]);
    }
  });
});

describe('vendor specifics', () => {
  it('Finnhub puts the token in the URL', () => {
    const url = vendorCodec('finnhub').connectUrl('ws://127.0.0.1:9000/', { key: 'abc 1' });
    expect(new URL(url).searchParams.get('token')).toBe('abc 1');
  });

  it('Alpaca: 402 is an auth failure, 409 is fatal, the others (401, 405, 406...) are not', () => {
    const decode = (code: number) =>
      vendorCodec('alpaca').decode(JSON.stringify([{ T: 'error', code, msg: 'x' }]))[0] as VendorEvent;
    expect(decode(402)).toMatchObject({ kind: 'auth_failed', code: 402 });
    expect(decode(409)).toMatchObject({ kind: 'vendor_error', fatal: true });
    for (const code of [401, 405, 406, 407, 500])
      expect(decode(code)).toMatchObject({ kind: 'vendor_error', fatal: false });
    expect(Object.keys(ALPACA_ERRORS)).toEqual(expect.arrayContaining(['401', '402', '405', '406']));
  });

  it('Coinbase: decimal strings become numbers, a bad one becomes a value validation refuses', () => {
    const frame = (price: string) =>
      JSON.stringify({
        type: 'ticker',
        product_id: 'BTC-USD',
        price,
        time: '2026-01-02T03:04:05.123456Z',
        sequence: 9,
      });
    const [ok] = ticksOf(vendorCodec('coinbase').decode(frame('97000.5')));
    expect(validateQuote(ok)).toMatchObject({
      symbol: 'BTC-USD',
      price: 97000.5,
      ts: Date.UTC(2026, 0, 2, 3, 4, 5, 123),
    });
    const [bad] = ticksOf(vendorCodec('coinbase').decode(frame('lots')));
    const reasons: string[] = [];
    expect(validateQuote(bad, (i) => reasons.push(i.reason))).toBeUndefined();
    expect(reasons).toEqual(['bad_price']);
  });

  it('Polygon: other channels are ignored, not counted as malformed', () => {
    expect(vendorCodec('polygon').decode('[{"ev":"LULD","T":"AAPL","h":190.5,"l":170.2}]')).toEqual([]);
    expect(vendorCodec('polygon').decode('[42]')).toEqual([{ kind: 'malformed', reason: 'event is not an object' }]);
  });
});

describe('withLastTradePrice', () => {
  it("stamps a bid/ask tick with no time of its own with the last trade's, and leaves one that has a time alone", async () => {
    const outputs: SessionOutput[] = [
      { kind: 'tick', tick: { symbol: 'BTCUSDT', price: 101.1, ts: 1_000 } },
      { kind: 'tick', tick: { symbol: 'BTCUSDT', bid: 101, ask: 101.2, ts: undefined } },
      { kind: 'tick', tick: { symbol: 'BTCUSDT', price: 101.3, ts: 1_005 } },
      { kind: 'tick', tick: { symbol: 'BTCUSDT', bid: 101.2, ask: 101.4, ts: undefined } },
      { kind: 'tick', tick: { symbol: 'BTCUSDT', bid: 101.3, ask: 101.5, ts: 1_009 } },
    ];
    const got = await firstValueFrom(from(outputs).pipe(withLastTradePrice(), toArray()));
    expect(got.map((o) => (o.kind === 'tick' ? o.tick.ts : o.kind))).toEqual([1_000, 1_000, 1_005, 1_005, 1_009]);
  });

  it('gives bid/ask ticks the last trade price, trades the last bid/ask, and drops bid/asks before a first trade', async () => {
    const outputs: SessionOutput[] = [
      { kind: 'ready' },
      { kind: 'tick', tick: { symbol: 'AAPL', bid: 1, ask: 2, ts: 1 } },
      { kind: 'tick', tick: { symbol: 'AAPL', price: 1.5, ts: 2 } },
      { kind: 'tick', tick: { symbol: 'MSFT', bid: 3, ask: 4, ts: 3 } },
      { kind: 'tick', tick: { symbol: 'AAPL', bid: 1.4, ask: 1.6, ts: 4 } },
      { kind: 'tick', tick: { symbol: 'AAPL', price: 1.55, ts: 5 } },
      { kind: 'tick', tick: { symbol: 'MSFT', price: 3.5, ts: 6 } },
    ];
    const got = await firstValueFrom(from(outputs).pipe(withLastTradePrice(), toArray()));
    expect(got).toEqual([
      { kind: 'ready' },
      { kind: 'tick', tick: { symbol: 'AAPL', price: 1.5, ts: 2, bid: 1, ask: 2 } },
      { kind: 'tick', tick: { symbol: 'AAPL', bid: 1.4, ask: 1.6, ts: 4, price: 1.5 } },
      { kind: 'tick', tick: { symbol: 'AAPL', price: 1.55, ts: 5, bid: 1.4, ask: 1.6 } },
      { kind: 'tick', tick: { symbol: 'MSFT', price: 3.5, ts: 6, bid: 3, ask: 4 } },
    ]);
  });
});

describe('ws feed config', () => {
  const parse = (feed: Record<string, unknown>) =>
    parseConfig({ feeds: [{ type: 'ws', id: 'v', url: 'ws://127.0.0.1:1/', ...feed }] });

  it('names a missing credential', () => {
    expect(() => parse({ format: 'polygon' })).toThrow(/feeds\.0\.key: required for format "polygon"/);
    expect(() => parse({ format: 'alpaca', key: 'k' })).toThrow(/feeds\.0\.secret: required for format "alpaca"/);
    expect(() => parse({ format: 'finnhub', url: 'http://x' })).toThrow(ConfigError);
    expect(parse({ format: 'coinbase' }).feeds[0]).toMatchObject({ format: 'coinbase', heartbeatTimeoutMs: 30_000 });
  });

  it.each(['binance', 'kraken', 'coinbase'] as const)(
    'config/examples/live-%s.json (the public endpoint) is valid',
    (format) => {
      const config = loadConfig({ file: `config/examples/live-${format}.json` });
      expect(config.feeds).toEqual([
        expect.objectContaining({ type: 'ws', format, url: expect.stringMatching(/^wss:/) }),
      ]);
    },
  );

  it('names a misplaced channels or symbolsUrl', () => {
    expect(() => parse({ format: 'binance', channels: ['A'] })).toThrow(
      /feeds\.0\.channels: only for format "polygon"/,
    );
    expect(() => parse({ format: 'kraken', symbolsUrl: 'http://127.0.0.1:1/x' })).toThrow(/feeds\.0\.symbolsUrl/);
    expect(parse({ format: 'polygon', key: 'k', channels: ['AM'] }).feeds[0]).toMatchObject({ channels: ['AM'] });
  });

  it.each(VENDOR_FORMATS)('config/examples/ws-%s.json is valid', (format) => {
    const config = loadConfig({ file: `config/examples/ws-${format}.json` });
    expect(config.feeds).toEqual([expect.objectContaining({ type: 'ws', format })]);
  });
});
