import { isRecord, jsonText, parseJson, symbolList } from '../../feeds/vendors/types.js';
import type { UpstreamTick, VendorRequest, VendorServer } from './types.js';

/**
 * The server half of the Coinbase stream, for the demo upstream (src/upstream/wsUpstream.ts). The wire format is
 * described with the client codec, src/feeds/vendors/coinbase.ts; test/unit/vendors.test.ts tests the two halves
 * against each other.
 */

/** The Exchange feed's channels: the demo upstream refuses a subscribe that names another, as the Exchange does. */
const EXCHANGE_CHANNELS = new Set([
  'heartbeat',
  'status',
  'auction',
  'ticker',
  'ticker_batch',
  'level2',
  'level2_batch',
  'matches',
  'full',
  'user',
  'rfq_matches',
  'balance',
]);

const error = (reason: string) => JSON.stringify({ type: 'error', message: 'Failed to subscribe', reason });
const decimalString = (value: number | undefined) => (value === undefined ? undefined : String(value));

export const coinbaseServer: VendorServer = {
  format: 'coinbase',
  path: '/',
  auth: 'none',
  decodeRequest(frame): VendorRequest {
    const value = parseJson(frame);
    if (!isRecord(value) || !Array.isArray(value.channels)) {
      return { kind: 'invalid', reason: 'expected {type, product_ids, channels}' };
    }
    if (value.type !== 'subscribe' && value.type !== 'unsubscribe') {
      return { kind: 'invalid', reason: `unknown type ${jsonText(value.type)}` };
    }
    // A channel is a name (for the top-level product_ids) or {name, product_ids}.
    const named = value.channels.map((c: unknown) =>
      typeof c === 'string'
        ? { name: c, products: symbolList(value.product_ids) }
        : isRecord(c)
          ? { name: jsonText(c.name), products: symbolList(c.product_ids ?? value.product_ids) }
          : { name: jsonText(c), products: [] },
    );
    const unknown = named.find((c) => !EXCHANGE_CHANNELS.has(c.name));
    if (unknown) return { kind: 'invalid', reason: `${unknown.name} is not a valid channel` };
    const empty = named.find((c) => c.products.length === 0 && c.name !== 'status');
    if (empty)
      return { kind: 'invalid', reason: `You need to specify at least one product ID for channel ${empty.name}` };
    const of = (name: string) => named.filter((c) => c.name === name).flatMap((c) => c.products);
    return { kind: value.type, symbols: of('ticker'), heartbeats: of('heartbeat') };
  },
  hello: () => undefined,
  authSucceeded: () => error('unexpected'),
  authFailed: () => error('authentication failed'),
  notAuthenticated: () => error('authentication required'),
  subscribed: (_request, session) => [
    JSON.stringify({
      type: 'subscriptions',
      channels: [
        { name: 'ticker', product_ids: [...session.symbols].sort() },
        { name: 'heartbeat', product_ids: [...session.heartbeats].sort() },
      ].filter((c) => c.product_ids.length > 0),
    }),
  ],
  subscriptionRefused: (reason, detail) =>
    error(reason === 'symbol_limit' ? 'too many product_ids' : `${detail} is not a valid product`),
  connectionLimitExceeded: () => undefined,
  badRequest: (reason) => error(reason),
  restListing: {
    path: '/products',
    // GET /products (docs.cdp.coinbase.com/exchange/reference/exchangerestapi_getproducts), the fields used.
    body: (universe) =>
      universe.map((l) => {
        const [base, quote] = l.symbol.split('-');
        return {
          id: l.symbol,
          base_currency: base,
          quote_currency: quote,
          display_name: `${base}/${quote}`,
          status: 'online',
          trading_disabled: false,
        };
      }),
  },
  limits: { subscribeDeadlineMs: 5000 },
  ticks(ticks: readonly UpstreamTick[]) {
    return ticks.map((t) =>
      JSON.stringify({
        type: 'ticker',
        sequence: t.sequence,
        product_id: t.symbol,
        price: String(t.price),
        open_24h: decimalString(t.open),
        volume_24h: decimalString(t.volume),
        low_24h: decimalString(t.low),
        high_24h: decimalString(t.high),
        best_bid: decimalString(t.bid),
        best_ask: decimalString(t.ask),
        side: 'buy',
        time: new Date(t.ts).toISOString(),
        trade_id: t.sequence,
        last_size: decimalString(t.size),
      }),
    );
  },
  keepAlive: (session, now, lastSequence) =>
    [...session.heartbeats].sort().map((product_id) =>
      JSON.stringify({
        type: 'heartbeat',
        sequence: lastSequence(product_id),
        last_trade_id: lastSequence(product_id),
        product_id,
        time: new Date(now).toISOString(),
      }),
    ),
};
