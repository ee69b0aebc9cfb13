import { type MonoTypeOperatorFunction, tap } from 'rxjs';
import type { Quote } from '../protocol.js';

/** The newest quote of each symbol: what a new subscriber gets as its snapshot. */
export class LastValueCache {
  private readonly quotes = new Map<string, Quote>();

  get(symbol: string): Quote | undefined {
    return this.quotes.get(symbol);
  }

  set(quote: Quote): void {
    this.quotes.set(quote.symbol, quote);
  }

  /** The cached quotes of `symbols` (those with one), in the given order. */
  snapshot(symbols: readonly string[]): Quote[] {
    const out: Quote[] = [];
    for (const symbol of symbols) {
      const quote = this.quotes.get(symbol);
      if (quote) out.push(quote);
    }
    return out;
  }

  symbols(): string[] {
    return [...this.quotes.keys()];
  }

  clear(): void {
    this.quotes.clear();
  }
}

/** Records every value into `cache` as it passes. */
export function intoCache(cache: LastValueCache): MonoTypeOperatorFunction<Quote> {
  return tap((quote) => cache.set(quote));
}
