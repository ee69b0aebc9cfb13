import type { Quote } from '../protocol.js';

/**
 * Decides, per symbol, whether a quote is newer than the last one delivered, across reconnections.
 *
 * Within one connection a quote is newer when its `seq` is higher: this drops the snapshot that races the
 * first ticks after a (re)subscribe, and any duplicate. A server that restarted counts `seq` from 1 again,
 * so the first quote of a symbol on a new connection is also accepted when its `ts` is newer than the last
 * delivered one; from then on `seq` counts from that quote.
 */
export class QuoteOrder {
  private seq = Number.NEGATIVE_INFINITY;
  private ts = Number.NEGATIVE_INFINITY;
  private connection = -1;

  /** Whether `quote`, received on connection number `connection`, should be delivered; remembers it if so. */
  accept(quote: Pick<Quote, 'seq' | 'ts'>, connection: number): boolean {
    const newer = quote.seq > this.seq || (connection !== this.connection && quote.ts > this.ts);
    if (!newer) return false;
    this.seq = quote.seq;
    this.ts = quote.ts;
    this.connection = connection;
    return true;
  }
}
