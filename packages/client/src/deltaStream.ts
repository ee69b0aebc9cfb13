import type { Quote } from './protocol.js';
import { applyDelta, type QuoteDelta } from './wire.js';

/**
 * Field deltas back into quotes (docs/PROTOCOL.md, "Field deltas"): per symbol, the last update the server's
 * stream sent this connection, which the next delta applies to. A snapshot is not a base: the server builds
 * its deltas on what it sent, and a new connection starts from nothing (its first update of each symbol is whole).
 */
export class DeltaStream {
  private readonly bases = new Map<string, Quote>();

  /** A new connection: the server sends each symbol whole again first. */
  reset(): void {
    this.bases.clear();
  }

  /** The quotes these deltas make; one whose base this connection never received is dropped. */
  apply(deltas: readonly QuoteDelta[]): Quote[] {
    const quotes: Quote[] = [];
    for (const delta of deltas) {
      const quote = applyDelta(delta, this.bases.get(delta.s));
      if (!quote) continue;
      this.bases.set(quote.symbol, quote);
      quotes.push(quote);
    }
    return quotes;
  }
}
