import { concatMap, defer, EMPTY, type MonoTypeOperatorFunction, of } from 'rxjs';
import type { SessionOutput } from './types.js';

/** Trades remembered per symbol: a correction or cancel of an older one cannot change the last price. */
const REMEMBERED = 32;

type Trade = { id: unknown; price: unknown };

/**
 * Applies a vendor's corrections and cancels of trades it sent before (Alpaca `c` and `x`) to the last price:
 * a correction of the symbol's latest trade emits its corrected price; a cancel of it emits the price of the
 * trade before (none when that is not known). Amendments of older trades only fix the memory. Ticks and other
 * outputs pass through; the amendments themselves never do.
 */
export function withTradeAmendments(): MonoTypeOperatorFunction<SessionOutput> {
  return (source) =>
    defer(() => {
      const recent = new Map<unknown, Trade[]>();
      return source.pipe(
        concatMap((output) => {
          switch (output.kind) {
            case 'tick': {
              const { tick } = output;
              if (tick.price !== undefined && tick.tradeId !== undefined) {
                const trades = recent.get(tick.symbol) ?? [];
                trades.push({ id: tick.tradeId, price: tick.price });
                if (trades.length > REMEMBERED) trades.shift();
                recent.set(tick.symbol, trades);
              }
              return of(output);
            }
            case 'correction': {
              const trades = recent.get(output.symbol) ?? [];
              const at = trades.findIndex((t) => t.id === output.originalId);
              if (at < 0) return EMPTY;
              trades[at] = { id: output.correctedId, price: output.price };
              if (at !== trades.length - 1) return EMPTY;
              return of({ kind: 'tick' as const, tick: { symbol: output.symbol, price: output.price, ts: output.ts } });
            }
            case 'cancel': {
              const trades = recent.get(output.symbol) ?? [];
              const at = trades.findIndex((t) => t.id === output.tradeId);
              if (at < 0) return EMPTY;
              trades.splice(at, 1);
              const before = trades[trades.length - 1];
              if (at !== trades.length || before === undefined) return EMPTY;
              return of({ kind: 'tick' as const, tick: { symbol: output.symbol, price: before.price, ts: output.ts } });
            }
            default:
              return of(output);
          }
        }),
      );
    });
}
