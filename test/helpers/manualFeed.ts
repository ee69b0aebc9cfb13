import { Subject } from 'rxjs';
import type { FeedSource } from '../../src/feeds/index.js';

export type ManualFeed = FeedSource & {
  /** Raw upstream values, valid or not, as an adapter would emit them. */
  input: Subject<unknown>;
  /** A valid quote for `symbol` at `price`, timestamped now. */
  push(symbol: string, price: number): void;
};

/** A feed the test drives by hand: a real Observable source, so it knows exactly what went in. */
export function manualFeed(symbols: string[], id = 'manual'): ManualFeed {
  const input = new Subject<unknown>();
  return {
    id,
    quotes$: input,
    symbols: symbols.map((symbol) => ({ symbol })),
    input,
    push: (symbol, price) => input.next({ symbol, price, ts: Date.now(), size: 100 }),
  };
}
