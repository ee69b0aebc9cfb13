import type { Quote } from './protocol.js';
import { isNewer } from './wire.js';

/**
 * Decides, per symbol, whether a quote is newer than the last one delivered, across reconnections.
 *
 * A quote is newer when its (epoch, seq) is: a later epoch (the server restarted, or a replay seeked) is a new
 * baseline at once, and within an epoch a higher `seq` wins. This drops the snapshot that races the first
 * ticks after a (re)subscribe, and any duplicate.
 *
 * A server older than epochs sends none; then, as before, a higher `seq` wins within one connection, and the
 * first quote of a symbol on a new connection is also taken when its `ts` is newer (a restart counts from 1).
 */
export class QuoteOrder {
  private last: Pick<Quote, 'seq' | 'ts'> & { epoch?: number } = {
    seq: Number.NEGATIVE_INFINITY,
    ts: Number.NEGATIVE_INFINITY,
  };
  private connection = -1;

  /** Whether `quote`, received on connection number `connection`, should be delivered; remembers it if so. */
  accept(quote: Pick<Quote, 'seq' | 'ts'> & { epoch?: number }, connection: number): boolean {
    const { last } = this;
    const newer =
      quote.epoch !== undefined && last.epoch !== undefined
        ? isNewer([quote.epoch, quote.seq], [last.epoch, last.seq])
        : quote.seq > last.seq || (connection !== this.connection && quote.ts > last.ts);
    if (!newer) return false;
    this.last = { epoch: quote.epoch, seq: quote.seq, ts: quote.ts };
    this.connection = connection;
    return true;
  }
}
