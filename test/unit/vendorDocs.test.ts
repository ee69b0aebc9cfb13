import { firstValueFrom, from, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { type SessionOutput, type VendorEvent, vendorCodec } from '../../src/feeds/vendors/index.js';
import { withTradeAmendments } from '../../src/feeds/vendors/tradeAmendments.js';
import { validateQuote } from '../../src/pipeline/normalizeQuote.js';

/**
 * Each vendor's own documented messages, verbatim (where a doc block has `//` comments, they are taken out so the
 * text is JSON), decoded by the codec the feed uses.
 */
const quotesOf = (events: VendorEvent[]) =>
  events.flatMap((e) => (e.kind === 'tick' && e.tick.price !== undefined ? [validateQuote(e.tick)] : []));

describe('Coinbase Exchange (docs.cdp.coinbase.com/exchange/websocket-feed)', () => {
  const codec = vendorCodec('coinbase');

  it('subscribes the Exchange `heartbeat` channel (not `heartbeats`, the Advanced Trade one) and `ticker`', () => {
    const [ready] = codec.readyFrames?.(['ETH-EUR']) ?? [];
    // The documented heartbeat request (channels page, "Heartbeat Channel").
    expect(JSON.parse(ready ?? '')).toEqual({
      type: 'subscribe',
      channels: [{ name: 'heartbeat', product_ids: ['ETH-EUR'] }],
    });
    for (const frame of [...codec.subscribe(['BTC-USD']), ...codec.unsubscribe(['BTC-USD'])]) {
      expect(JSON.parse(frame).channels).toEqual(['ticker']);
      expect(frame).not.toContain('heartbeats');
    }
  });

  it('reads the documented heartbeat and ticker messages', () => {
    // channels page, "Heartbeat Channel".
    const heartbeat =
      '{"type":"heartbeat","sequence":90,"last_trade_id":20,"product_id":"BTC-USD","time":"2014-11-07T08:19:28.464459Z"}';
    expect(codec.decode(heartbeat)).toEqual([{ kind: 'heartbeat' }]);
    // channels page, "Ticker Channel".
    const ticker =
      '{"type":"ticker","sequence":37475248783,"product_id":"ETH-USD","price":"1285.22","open_24h":"1310.79","volume_24h":"245532.79269678","low_24h":"1280.52","high_24h":"1313.8","volume_30d":"9788783.60117027","best_bid":"1285.04","best_bid_size":"0.46688654","best_ask":"1285.27","best_ask_size":"1.56637040","side":"buy","time":"2022-10-19T23:28:22.061769Z","trade_id":370843401,"last_size":"11.4396987"}';
    expect(quotesOf(codec.decode(ticker))).toEqual([
      {
        symbol: 'ETH-USD',
        price: 1285.22,
        ts: Date.parse('2022-10-19T23:28:22.061769Z'),
        bid: 1285.04,
        ask: 1285.27,
        size: 11.4396987,
        volume: 245532.79269678,
        open: 1310.79,
        high: 1313.8,
        low: 1280.52,
        prevClose: 1310.79,
      },
    ]);
  });

  it('lists online products from GET /products (exchange REST reference, "Get all known trading pairs")', () => {
    const body = [
      {
        id: 'BTC-USD',
        base_currency: 'BTC',
        quote_currency: 'USD',
        quote_increment: '0.01000000',
        base_increment: '0.00000001',
        display_name: 'BTC/USD',
        min_market_funds: '10',
        margin_enabled: false,
        post_only: false,
        limit_only: false,
        cancel_only: false,
        status: 'online',
        status_message: '',
        auction_mode: true,
      },
      { id: 'OLD-USD', base_currency: 'OLD', quote_currency: 'USD', display_name: 'OLD/USD', status: 'delisted' },
    ];
    expect(codec.symbolListing?.decode(body)).toEqual([
      { symbol: 'BTC-USD', name: 'BTC/USD', exchange: 'Coinbase', currency: 'USD' },
    ]);
    expect(codec.symbolListing?.decode({ message: 'Not Found' })).toBeUndefined();
  });
});

describe('Binance Spot (binance-spot-api-docs, web-socket-streams.md)', () => {
  const codec = vendorCodec('binance');
  const wrap = (stream: string, data: string) => `{"stream":"${stream}","data":${data}}`;

  it('subscribes trade, bookTicker and miniTicker per symbol, lower case, in one documented SUBSCRIBE', () => {
    expect(codec.subscribe(['BNBBTC', 'BTCUSDT']).map((f) => JSON.parse(f))).toEqual([
      {
        method: 'SUBSCRIBE',
        params: [
          'bnbbtc@trade',
          'bnbbtc@bookTicker',
          'bnbbtc@miniTicker',
          'btcusdt@trade',
          'btcusdt@bookTicker',
          'btcusdt@miniTicker',
        ],
        id: null,
      },
    ]);
    // "Subscribe to a stream", Response.
    expect(codec.decode('{"result":null,"id":1}')).toEqual([]);
    // Keeps under the documented 5 messages a second and 1024 streams (3 per symbol) per connection.
    expect(codec.limits).toEqual({ framesPerSecond: 4, maxSymbols: 341, maxConnections: 5 });
  });

  it('reads the documented Trade, Book Ticker and Mini Ticker payloads, combined-stream wrapped', () => {
    const trade =
      '{"e":"trade","E":1672515782136,"s":"BNBBTC","t":12345,"p":"0.001","q":"100","T":1672515782136,"m":true,"M":true}';
    expect(quotesOf(codec.decode(wrap('bnbbtc@trade', trade)))).toEqual([
      { symbol: 'BNBBTC', price: 0.001, size: 100, ts: 1672515782136 },
    ]);
    const book =
      '{"u":400900217,"s":"BNBUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"}';
    // No event time in a bookTicker, and the receive time is not made one (the feed gives it the last trade's).
    const [bookTick] = codec.decode(wrap('bnbusdt@bookTicker', book), 1_700_000_000_000);
    expect(bookTick).toStrictEqual({
      kind: 'tick',
      tick: { symbol: 'BNBUSDT', bid: 25.3519, ask: 25.3652, ts: undefined },
    });
    const mini =
      '{"e":"24hrMiniTicker","E":1672515782136,"s":"BNBBTC","c":"0.0025","o":"0.0010","h":"0.0025","l":"0.0010","v":"10000","q":"18"}';
    expect(quotesOf(codec.decode(wrap('bnbbtc@miniTicker', mini)))).toEqual([
      {
        symbol: 'BNBBTC',
        price: 0.0025,
        ts: 1672515782136,
        open: 0.001,
        high: 0.0025,
        low: 0.001,
        prevClose: 0.001,
        volume: 10000,
      },
    ]);
  });

  it('takes serverShutdown as a notice to reconnect, and the documented errors as non-fatal', () => {
    const shutdown = '{"stream":"!serverShutdown","data":{"e":"serverShutdown","E":1770123456789}}';
    expect(codec.decode(shutdown)).toEqual([{ kind: 'closing', message: 'serverShutdown' }]);
    // "Error Messages".
    expect(codec.decode('{"code": 2, "msg": "Invalid request: too many parameters"}')).toEqual([
      { kind: 'vendor_error', code: 2, message: 'Invalid request: too many parameters', fatal: false },
    ]);
    expect(codec.decode('{"code":3,"msg":"Invalid JSON: expected value at line 1 column 1"}')).toMatchObject([
      { kind: 'vendor_error', code: 3 },
    ]);
  });

  it('lists TRADING symbols from exchangeInfo (rest-api.md, "Exchange information")', () => {
    const body = {
      timezone: 'UTC',
      serverTime: 1565246363776,
      rateLimits: [{}],
      exchangeFilters: [],
      symbols: [
        {
          symbol: 'ETHBTC',
          status: 'TRADING',
          baseAsset: 'ETH',
          baseAssetPrecision: 8,
          quoteAsset: 'BTC',
          quotePrecision: 8,
          quoteAssetPrecision: 8,
          isSpotTradingAllowed: true,
          isMarginTradingAllowed: true,
          permissions: [],
          permissionSets: [['SPOT', 'MARGIN']],
        },
        { symbol: 'OLDBTC', status: 'BREAK', baseAsset: 'OLD', quoteAsset: 'BTC' },
      ],
    };
    expect(codec.symbolListing?.decode(body)).toEqual([
      { symbol: 'ETHBTC', name: 'ETH/BTC', exchange: 'Binance', currency: 'BTC' },
    ]);
  });
});

describe('Kraken Spot WebSocket v2 (docs.kraken.com, spot-websocket-v2)', () => {
  const codec = vendorCodec('kraken');

  it('subscribes the ticker channel as documented and reads the documented ack and snapshot', () => {
    expect(codec.subscribe(['ALGO/USD']).map((f) => JSON.parse(f))).toEqual([
      { method: 'subscribe', params: { channel: 'ticker', symbol: ['ALGO/USD'] } },
    ]);
    const ack =
      '{"method":"subscribe","result":{"channel":"ticker","snapshot":true,"symbol":"ALGO/USD"},"success":true,"time_in":"2023-09-25T09:04:31.742599Z","time_out":"2023-09-25T09:04:31.742648Z"}';
    expect(codec.decode(ack)).toEqual([{ kind: 'subscribed', symbols: ['ALGO/USD'] }]);
    // ticker page, "Snapshot / Update" example.
    const snapshot =
      '{"channel":"ticker","type":"snapshot","data":[{"symbol":"ALGO/USD","bid":0.10025,"bid_qty":740.0,"ask":0.10036,"ask_qty":1361.44813783,"last":0.10035,"volume":997038.98383185,"vwap":0.10148,"low":0.09979,"high":0.10285,"change":-0.00017,"change_pct":-0.17,"timestamp":"2023-09-25T09:04:31.742648Z"}]}';
    const [quote] = quotesOf(codec.decode(snapshot));
    expect(quote).toMatchObject({
      symbol: 'ALGO/USD',
      price: 0.10035,
      bid: 0.10025,
      ask: 0.10036,
      volume: 997038.98383185,
      low: 0.09979,
      high: 0.10285,
      ts: Date.parse('2023-09-25T09:04:31.742648Z'),
    });
    // 24 hours ago: the last price less the 24 h change.
    expect(quote?.prevClose).toBeCloseTo(0.10052, 10);
  });

  it('reads heartbeat, status and a refused subscription', () => {
    expect(codec.decode('{"channel":"heartbeat"}')).toEqual([{ kind: 'heartbeat' }]);
    const status =
      '{"channel":"status","data":[{"api_version":"v2","connection_id":12393906104898154338,"system":"online","version":"2.0.0"}],"type":"update"}';
    expect(codec.decode(status)).toEqual([{ kind: 'connected' }]);
    const refused =
      '{"error":"Currency pair not supported ALGO/USDX","method":"subscribe","success":false,"symbol":"ALGO/USDX","time_in":"2023-09-25T09:04:31.742599Z","time_out":"2023-09-25T09:04:31.742648Z"}';
    expect(codec.decode(refused)).toEqual([
      { kind: 'vendor_error', message: 'Currency pair not supported ALGO/USDX', fatal: false },
    ]);
  });

  it('lists online pairs from the instrument channel snapshot', () => {
    expect(codec.listFrames?.().map((f) => JSON.parse(f))).toEqual([
      { method: 'subscribe', params: { channel: 'instrument', snapshot: true } },
    ]);
    const snapshot = JSON.stringify({
      channel: 'instrument',
      type: 'snapshot',
      data: {
        assets: [{ id: 'BTC', status: 'enabled', precision: 10, precision_display: 5, borrowable: true }],
        pairs: [
          { symbol: 'BTC/USD', base: 'BTC', quote: 'USD', status: 'online', qty_precision: 8 },
          { symbol: 'OLD/USD', base: 'OLD', quote: 'USD', status: 'delisted' },
        ],
      },
    });
    expect(codec.decode(snapshot)).toEqual([
      { kind: 'symbols', symbols: [{ symbol: 'BTC/USD', name: 'BTC/USD', exchange: 'Kraken', currency: 'USD' }] },
    ]);
  });
});

describe('Finnhub (finnhub.io/docs/api/websocket-trades)', () => {
  it('reads the documented trade of BINANCE:BTCUSDT', () => {
    const codec = vendorCodec('finnhub');
    expect(codec.subscribe(['BINANCE:BTCUSDT'])).toEqual(['{"type":"subscribe","symbol":"BINANCE:BTCUSDT"}']);
    const trade = '{"data":[{"p":7296.89,"s":"BINANCE:BTCUSDT","t":1575526691134,"v":0.011467}],"type":"trade"}';
    expect(quotesOf(codec.decode(trade))).toEqual([
      { symbol: 'BINANCE:BTCUSDT', price: 7296.89, ts: 1575526691134, size: 0.011467 },
    ]);
  });
});

describe('Polygon/Massive aggregates (massive.com/docs/websocket/stocks/aggregates-per-minute, -per-second)', () => {
  it('subscribes the configured channels and reads an AM aggregate as the close at the window end', () => {
    const codec = vendorCodec('polygon', { channels: ['AM', 'A'] });
    expect(codec.subscribe(['MSFT'])).toEqual(['{"action":"subscribe","params":"AM.MSFT,A.MSFT"}']);
    // The stocks aggregate example of Polygon's WebSocket docs.
    const am =
      '[{"ev":"AM","sym":"MSFT","v":10204,"av":200304,"op":114.04,"vw":114.4040,"o":114.11,"c":114.14,"h":114.19,"l":114.09,"a":114.1314,"s":1536036818784,"e":1536036818784}]';
    expect(quotesOf(codec.decode(am))).toEqual([
      { symbol: 'MSFT', price: 114.14, ts: 1536036818784, volume: 200304, open: 114.04 },
    ]);
    const a = am.replace('"ev":"AM"', '"ev":"A"');
    expect(quotesOf(codec.decode(a))).toHaveLength(1);
  });
});

describe('Alpaca (docs.alpaca.markets/docs/real-time-stock-pricing-data; alpaca-py tests/data/test_websockets.py)', () => {
  const codec = vendorCodec('alpaca');
  // The docs' trade example, then its correction and cancel examples (ids matched to the trades they amend).
  const trade = (id: number, price: number, symbol = 'EEM') =>
    `[{"T":"t","i":${id},"S":"${symbol}","x":"D","p":${price},"s":1,"t":"2023-04-06T14:25:06.000Z","c":["@","I"],"z":"B"}]`;
  const correction =
    '[{"T":"c","S":"EEM","x":"M","oi":52983525033527,"op":39.1582,"os":440000,"oc":[" ","7"],"ci":52983525034326,"cp":39.1809,"cs":440000,"cc":[" ","7"],"z":"B","t":"2023-04-06T14:25:06.542305024Z"}]';
  // alpaca-py's TradeCancel fixture.
  const cancel =
    '[{"T":"x","S":"DJT","i":4868,"x":"D","p":36.18,"s":31800,"a":"C","z":"C","t":"2024-06-17T14:11:00Z"}]';

  const run = async (frames: string[]) => {
    const outputs: SessionOutput[] = frames.flatMap((f) =>
      codec
        .decode(f)
        .flatMap((e): SessionOutput[] =>
          e.kind === 'tick' || e.kind === 'correction' || e.kind === 'cancel' ? [e] : [],
        ),
    );
    const got = await firstValueFrom(from(outputs).pipe(withTradeAmendments(), toArray()));
    return got.flatMap((o) => (o.kind === 'tick' ? [[o.tick.symbol, o.tick.price]] : []));
  };

  it('decodes the documented correction and cancel', () => {
    expect(codec.decode(correction)).toEqual([
      {
        kind: 'correction',
        symbol: 'EEM',
        originalId: 52983525033527,
        correctedId: 52983525034326,
        price: 39.1809,
        ts: Date.parse('2023-04-06T14:25:06.542305024Z'),
      },
    ]);
    expect(codec.decode(cancel)).toEqual([
      { kind: 'cancel', symbol: 'DJT', tradeId: 4868, ts: Date.parse('2024-06-17T14:11:00Z') },
    ]);
  });

  it('a correction of the latest trade applies its corrected price; of an older trade, nothing', async () => {
    expect(await run([trade(52983525033527, 39.1582), correction])).toEqual([
      ['EEM', 39.1582],
      ['EEM', 39.1809],
    ]);
    expect(await run([trade(52983525033527, 39.1582), trade(7, 39.2), correction])).toEqual([
      ['EEM', 39.1582],
      ['EEM', 39.2],
    ]);
  });

  it('a cancel of the latest trade restores the price before it; a correction of an unknown trade is dropped', async () => {
    expect(await run([trade(4867, 36.1, 'DJT'), trade(4868, 36.18, 'DJT'), cancel])).toEqual([
      ['DJT', 36.1],
      ['DJT', 36.18],
      ['DJT', 36.1],
    ]);
    expect(await run([correction, cancel])).toEqual([]);
  });

  it('reads the crypto stream (v1beta3/crypto/us), whose symbols are BTC/USD', () => {
    // Shaped by the crypto docs' trade schema (T, S, p, s, t, i, tks); the values are ours, not a doc example.
    const crypto =
      '[{"T":"t","S":"BTC/USD","p":29337.1,"s":0.0006,"t":"2023-03-28T13:58:00.853Z","i":5185407,"tks":"B"}]';
    expect(quotesOf(codec.decode(crypto))).toEqual([
      { symbol: 'BTC/USD', price: 29337.1, size: 0.0006, ts: Date.parse('2023-03-28T13:58:00.853Z') },
    ]);
  });
});
