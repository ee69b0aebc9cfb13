import { concatMap, defer, EMPTY, type MonoTypeOperatorFunction, of } from 'rxjs';
import type { SessionOutput } from './types.js';

/**
 * Vendors that send trades and the best bid/ask as separate events (Polygon `T`/`Q`, Alpaca `t`/`q`, Binance
 * `@trade`/`@bookTicker`): gives bid/ask-only ticks the symbol's last trade price, since a Quote always carries a
 * price, and trades without a bid/ask the symbol's latest one, so each quote states the whole top of the book
 * (a row or a snapshot never loses its bid because a trade came last). A bid/ask tick with no time of its own
 * (Binance `bookTicker`) takes the last trade's too, so a feed's times all come from the exchange's clock (a
 * receive time ran ahead of the next trade's, which the merge of several feeds dropped as older). Bid/ask ticks
 * before the symbol's first trade are dropped (there is no price to show yet), their bid/ask kept for it. Other
 * outputs pass through.
 */
export function withLastTradePrice(): MonoTypeOperatorFunction<SessionOutput> {
  return (source) =>
    defer(() => {
      const lastTrade = new Map<unknown, { price: unknown; ts: unknown }>();
      const lastTouch = new Map<unknown, { bid?: unknown; ask?: unknown }>();
      return source.pipe(
        concatMap((output) => {
          if (output.kind !== 'tick') return of(output);
          const { tick } = output;
          if (tick.bid !== undefined || tick.ask !== undefined)
            lastTouch.set(tick.symbol, { bid: tick.bid, ask: tick.ask });
          if (tick.price !== undefined) {
            lastTrade.set(tick.symbol, { price: tick.price, ts: tick.ts });
            const touch = lastTouch.get(tick.symbol);
            if (touch === undefined || tick.bid !== undefined || tick.ask !== undefined) return of(output);
            return of({ kind: 'tick' as const, tick: { ...tick, ...touch } });
          }
          const trade = lastTrade.get(tick.symbol);
          if (trade === undefined) return EMPTY;
          const ts = tick.ts === undefined ? trade.ts : tick.ts;
          return of({ kind: 'tick' as const, tick: { ...tick, price: trade.price, ts } });
        }),
      );
    });
}
