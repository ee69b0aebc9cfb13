import { concatMap, defer, EMPTY, type MonoTypeOperatorFunction, of } from 'rxjs';
import type { SessionOutput } from './types.js';

/**
 * Gives bid/ask-only ticks (Polygon `Q`, Alpaca `q`) the symbol's last trade price, since a Quote always
 * carries a price; such ticks before the symbol's first trade are dropped (there is no price to show yet).
 * Other outputs pass through.
 */
export function withLastTradePrice(): MonoTypeOperatorFunction<SessionOutput> {
  return (source) =>
    defer(() => {
      const lastPrice = new Map<unknown, unknown>();
      return source.pipe(
        concatMap((output) => {
          if (output.kind !== 'tick') return of(output);
          const { tick } = output;
          if (tick.price !== undefined) {
            lastPrice.set(tick.symbol, tick.price);
            return of(output);
          }
          const price = lastPrice.get(tick.symbol);
          return price === undefined ? EMPTY : of({ kind: 'tick' as const, tick: { ...tick, price } });
        }),
      );
    });
}
