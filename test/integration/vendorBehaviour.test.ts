import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BehaviorSubject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ConfigInput } from '../../src/config/schema.js';
import { listings } from '../../src/feeds/universe.js';
import { cryptoListings } from '../../src/feeds/vendors/cryptoListings.js';
import type { VendorFormat } from '../../src/feeds/vendors/index.js';
import { type WsFeedEvent, wsFeedOutputs } from '../../src/feeds/wsFeed.js';
import type { Quote, SubscribeAck, SymbolsAck } from '../../src/protocol.js';
import { DEMO_KEY, DEMO_SECRET, startWsUpstream, type WsUpstreamOptions } from '../../src/upstream/wsUpstream.js';
import { ownedPerTest, until } from '../helpers/lifecycle.js';
import { connectTestClient, startTestService, type TestClient } from '../helpers/service.js';

const { owned, ownedSubscription } = ownedPerTest();

const upstream = async (format: VendorFormat, options: Partial<WsUpstreamOptions> = {}) =>
  owned(await startWsUpstream(format, { port: 0, ticksPerSecond: 300, keepAliveMs: 100, ...options }));

/** A raw client of a demo upstream, as a vendor's other clients would be: what it receives and how it ended. */
async function rawClient(url: string) {
  const socket = new WebSocket(url);
  const frames: string[] = [];
  let closed: number | undefined;
  socket.on('message', (data) => frames.push(data.toString()));
  socket.on('close', (code) => {
    closed = code;
  });
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  owned({ close: async () => socket.terminate() });
  return { socket, frames, closed: () => closed };
}

function runFeed(format: VendorFormat, url: string, demand: ReadonlySet<string>, symbols?: string[]) {
  const events: WsFeedEvent[] = [];
  const quotes: { symbol?: unknown; price?: unknown }[] = [];
  let traffic = 0;
  const demand$ = new BehaviorSubject(demand);
  ownedSubscription(
    wsFeedOutputs({
      id: format,
      url,
      format,
      key: DEMO_KEY,
      secret: DEMO_SECRET,
      demand$,
      symbols,
      reconnect: { initialMs: 50, maxMs: 400 },
      heartbeatTimeoutMs: 3000,
      onEvent: (event) => events.push(event),
    }).subscribe((output) => {
      if (output.kind === 'alive') traffic++;
      else if (output.kind === 'quote') quotes.push(output.value as { symbol?: unknown });
    }),
  );
  return { events, quotes, demand$, traffic: () => traffic };
}

async function service(feeds: ConfigInput['feeds']) {
  const tickstream = owned(await startTestService({ feeds }));
  const client = await connectTestClient(tickstream.url);
  owned({ close: async () => void client.close() });
  const ticks: Quote[] = [];
  client.on('ticks', (quotes) => ticks.push(...quotes));
  return { tickstream, client, ticks };
}

const subscribe = (client: TestClient, symbols: string[]) =>
  client.emitWithAck('subscribe', { symbols, maxHz: 20 }) as Promise<SubscribeAck>;

describe('Coinbase Exchange: the 5 s subscribe deadline and the heartbeat channel', () => {
  it('the demo upstream behaves as the docs say: no subscribe in time closes, `heartbeats` is refused', async () => {
    const u = await upstream('coinbase', { limits: { subscribeDeadlineMs: 200 } });
    const idle = await rawClient(u.url);
    await until(() => idle.closed() !== undefined, 5000, 'the idle connection to be closed');
    expect(u.stats.cut.deadline).toBe(1);
    // What main subscribed: the Advanced Trade channel name, refused whole by the Exchange.
    const main = await rawClient(u.url);
    main.socket.send('{"type":"subscribe","product_ids":["BTC-USD"],"channels":["ticker","heartbeats"]}');
    await until(() => main.frames.length > 0, 5000, 'an answer');
    expect(JSON.parse(main.frames[0] ?? '')).toEqual({
      type: 'error',
      message: 'Failed to subscribe',
      reason: 'heartbeats is not a valid channel',
    });
    expect(u.subscriptions()).toEqual([]);
  });

  it('with no client watching anything, the feed stays on one connection, kept alive by heartbeats', async () => {
    const u = await upstream('coinbase', { limits: { subscribeDeadlineMs: 200 } });
    const feed = runFeed('coinbase', u.url, new Set(), ['ETH-USD']);
    // Heartbeats every 100 ms: ten of them take well past the 200 ms deadline.
    await until(() => feed.traffic() >= 10, 10_000, 'ten heartbeats');
    expect(u.stats.connections).toBe(1);
    expect(u.stats.cut.deadline).toBe(0);
    expect(feed.events.filter((e) => e.kind === 'reconnecting')).toEqual([]);
    expect(u.subscriptions()).toEqual([]);
    // Then a client watches: its ticker comes on the same connection.
    feed.demand$.next(new Set(['BTC-USD']));
    await until(() => feed.quotes.some((q) => q.symbol === 'BTC-USD'), 10_000, 'BTC-USD quotes');
    expect(u.stats.connections).toBe(1);
  });
});

describe('Binance: documented limits', () => {
  it('a demand that changes many times at once is sent within 5 messages a second, never cut', async () => {
    const u = await upstream('binance', { listings: listings(40) });
    const feed = runFeed('binance', u.url, new Set());
    const symbols = listings(40).map((l) => l.symbol);
    await until(() => feed.events.some((e) => e.kind === 'ready'), 5000, 'ready');
    // Forty changes in one turn: forty SUBSCRIBEs, which unpaced would be cut at the sixth.
    for (let i = 1; i <= symbols.length; i++) feed.demand$.next(new Set(symbols.slice(0, i)));
    await until(() => u.subscriptions().length === symbols.length, 20_000, 'all forty subscribed');
    expect(u.stats.cut.rate).toBe(0);
    expect(u.stats.connections).toBe(1);
  });

  it('demand past 1024 streams (341 symbols of 3) goes over a second connection, each under the limit', async () => {
    const many = listings(400);
    const u = await upstream('binance', { listings: many });
    const feed = runFeed('binance', u.url, new Set(many.map((l) => l.symbol)));
    // The stand-in refuses a SUBSCRIBE past 1024 streams on a connection, as Binance does.
    await until(() => u.subscriptions().length === 400, 15_000, 'all 400 symbols subscribed');
    expect(u.stats.connections).toBe(2);
    expect(feed.events.filter((e) => e.kind === 'over_limit' || e.kind === 'vendor_error')).toEqual([]);
    // A smaller demand unsubscribes on the connections it had: nothing reconnects.
    feed.demand$.next(new Set(many.slice(0, 100).map((l) => l.symbol)));
    await until(() => u.subscriptions().length === 100, 15_000, '100 symbols left subscribed');
    expect(u.stats.connections).toBe(2);
  });

  it('past 5 connections (1,705 symbols) the rest of the demand is reported, not subscribed', async () => {
    const many = listings(1800);
    const u = await upstream('binance', { listings: many });
    const feed = runFeed('binance', u.url, new Set(many.map((l) => l.symbol)));
    await until(() => u.subscriptions().length === 1705, 20_000, '1,705 symbols subscribed');
    expect(u.stats.connections).toBe(5);
    await until(() => feed.events.some((e) => e.kind === 'over_limit'), 10_000, 'the over-limit report');
    expect(feed.events.find((e) => e.kind === 'over_limit')).toMatchObject({ limit: 341, symbols: expect.any(Array) });
    expect(feed.events.find((e) => e.kind === 'over_limit' && e.symbols.length === 95)).toBeDefined();
  });

  it('at the connection lifetime (24 h, shrunk here) serverShutdown comes, and the feed reconnects and resubscribes', async () => {
    const u = await upstream('binance', { limits: { maxConnectionMs: 500 } });
    const feed = runFeed('binance', u.url, new Set(['BTCUSDT']));
    await until(() => u.stats.cut.lifetime >= 1, 10_000, 'the lifetime cut');
    await until(() => u.stats.connections >= 2 && u.subscriptions().join() === 'BTCUSDT', 10_000, 'resubscribed');
    const mark = feed.quotes.length;
    await until(() => feed.quotes.length > mark + 3, 10_000, 'quotes on the new connection');
    expect(
      feed.events.some((e) => e.kind === 'reconnecting' && /closing the connection \(serverShutdown\)/.test(e.reason)),
    ).toBe(true);
  });

  it('answers the server pings (every 20 s, a pong within a minute; shrunk here)', async () => {
    // Pongs count in the 5 messages a second too: pings 3 a second leave room for the feed's own frames.
    const u = await upstream('binance', { limits: { pingEveryMs: 300, pongTimeoutMs: 500 } });
    const feed = runFeed('binance', u.url, new Set(['BTCUSDT']));
    await until(() => u.stats.pings >= 6 && feed.quotes.length > 0, 10_000, 'six pings, past several pong deadlines');
    expect(u.stats.cut.pong).toBe(0);
    expect(u.stats.connections).toBe(1);
  });
});

describe('symbols a vendor lists are subscribable from start-up', () => {
  it.each([
    ['binance', 'DOTUSDT', (u: string) => ({ symbolsUrl: `${u}/api/v3/exchangeInfo?symbolStatus=TRADING` })],
    ['coinbase', 'DOT-USD', (u: string) => ({ symbolsUrl: `${u}/products` })],
    ['kraken', 'DOT/USD', () => ({})],
  ] as const)('%s: %s, from its listing, before any tick', async (format, extra, urls) => {
    const base = cryptoListings(format);
    const u = await upstream(format, { listings: [...base, { ...(base[0] as (typeof base)[number]), symbol: extra }] });
    const http = `http://127.0.0.1:${u.port}`;
    const { client, ticks } = await service([{ type: 'ws', id: format, url: u.url, format, ...urls(http) }]);
    await until(() => u.stats.listings >= 1, 10_000, 'the listing to be asked for');
    let listed: string[] = [];
    await until(
      () => {
        void (client.emitWithAck('symbols', {}) as Promise<SymbolsAck>).then((ack) => {
          if (ack.ok) listed = ack.symbols.map((s) => s.symbol);
        });
        return listed.includes(extra);
      },
      10_000,
      `${extra} in the directory`,
    );
    const ack = await subscribe(client, [extra]);
    expect(ack).toMatchObject({ ok: true, subscribed: [extra], rejected: [], snapshot: [] });
    await until(() => ticks.some((q) => q.symbol === extra), 10_000, `the first ${extra} quote`);
  });
});

describe('symbols with ":" and "/" end to end', () => {
  it('Finnhub BINANCE:BTCUSDT (its documented example), subscribed in lower case', async () => {
    const u = await upstream('finnhub', {
      listings: [
        { ...(cryptoListings('binance')[0] as ReturnType<typeof listings>[number]), symbol: 'BINANCE:BTCUSDT' },
      ],
    });
    const { client, ticks } = await service([
      { type: 'ws', id: 'finnhub', url: u.url, format: 'finnhub', key: DEMO_KEY, symbols: ['BINANCE:BTCUSDT'] },
    ]);
    const ack = await subscribe(client, ['binance:btcusdt']);
    expect(ack).toMatchObject({ ok: true, subscribed: ['BINANCE:BTCUSDT'], rejected: [] });
    await until(() => ticks.some((q) => q.symbol === 'BINANCE:BTCUSDT'), 10_000, 'BINANCE:BTCUSDT quotes');
    expect(u.subscriptions()).toEqual(['BINANCE:BTCUSDT']);
  });

  it('Alpaca crypto BTC/USD (v1beta3/crypto/us): declared by default for a crypto URL, quotes delivered', async () => {
    const u = await upstream('alpaca', { listings: cryptoListings('alpaca') });
    const url = `ws://127.0.0.1:${u.port}/v1beta3/crypto/us`;
    const { client, ticks } = await service([
      { type: 'ws', id: 'alpaca', url, format: 'alpaca', key: DEMO_KEY, secret: DEMO_SECRET },
    ]);
    const ack = await subscribe(client, ['BTC/USD']);
    expect(ack).toMatchObject({ ok: true, subscribed: ['BTC/USD'], rejected: [] });
    await until(() => ticks.some((q) => q.symbol === 'BTC/USD'), 10_000, 'BTC/USD quotes');
  });
});

describe('Alpaca corrections through the real feed', () => {
  it('the documented correction of the last trade becomes the last price clients get', async () => {
    const u = await upstream('alpaca', { listings: listings(1), ticksPerSecond: 1 });
    const { client, ticks } = await service([
      { type: 'ws', id: 'alpaca', url: u.url, format: 'alpaca', key: DEMO_KEY, secret: DEMO_SECRET, symbols: ['AAPL'] },
    ]);
    await subscribe(client, ['AAPL']);
    await until(() => u.subscriptions().join() === 'AAPL', 10_000, 'the upstream subscription');
    // The docs' correction example, on a trade the test sends first with the id it names.
    u.broadcastRaw(
      '[{"T":"t","i":52983525033527,"S":"AAPL","x":"D","p":39.1582,"s":1,"t":"2099-04-06T14:25:06.000Z","c":["@","I"],"z":"B"}]',
    );
    u.broadcastRaw(
      '[{"T":"c","S":"AAPL","x":"M","oi":52983525033527,"op":39.1582,"os":440000,"oc":[" ","7"],"ci":52983525034326,"cp":39.1809,"cs":440000,"cc":[" ","7"],"z":"B","t":"2099-04-06T14:25:06.542305024Z"}]',
    );
    await until(() => ticks.some((q) => q.symbol === 'AAPL' && q.price === 39.1809), 10_000, 'the corrected price');
  });
});

describe('a declared symbol that has not ticked yet (SSE)', () => {
  /** An SSE upstream that sends a quote only when told. */
  async function quietSse() {
    const streams = new Set<ServerResponse>();
    const http = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write(': hello\n\n');
      streams.add(res);
      res.on('close', () => streams.delete(res));
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    owned({
      close: async () => {
        http.closeAllConnections();
        await new Promise((resolve) => http.close(resolve));
      },
    });
    const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/events`;
    const send = (quote: object) => {
      for (const res of streams) res.write(`data: ${JSON.stringify(quote)}\n\n`);
    };
    return { url, send, connected: () => streams.size > 0 };
  }

  it('is accepted at start-up with no snapshot entry, and its first quote arrives when it comes', async () => {
    const sse = await quietSse();
    const { client, ticks } = await service([{ type: 'sse', id: 'sse', url: sse.url, symbols: ['AAPL', 'QUIET'] }]);
    const ack = await subscribe(client, ['quiet']);
    expect(ack).toEqual({ ok: true, subscribed: ['QUIET'], hz: 20, snapshot: [], rejected: [] });
    await until(sse.connected, 10_000, 'the feed to connect');
    sse.send({ symbol: 'QUIET', price: 12.5, ts: Date.now() });
    await until(() => ticks.some((q) => q.symbol === 'QUIET'), 10_000, 'the first QUIET quote');
    expect(ticks.find((q) => q.symbol === 'QUIET')).toMatchObject({ price: 12.5, seq: 1 });
  });

  it('(what main did) undeclared, it is refused until it ticks: the example configs declare their symbols', async () => {
    const sse = await quietSse();
    const { client } = await service([{ type: 'sse', id: 'sse', url: sse.url }]);
    const ack = await subscribe(client, ['QUIET']);
    expect(ack).toMatchObject({ ok: true, rejected: [{ symbol: 'QUIET', code: 'UNKNOWN_SYMBOL' }] });
  });
});
