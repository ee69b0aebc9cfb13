import { asyncScheduler, type Observable, type SchedulerLike, Subject, type Subscription, share } from 'rxjs';
import type { Quote } from '../protocol.js';
import { conflate } from './conflate.js';

/**
 * One conflated stream per symbol and rate tier, shared by every subscriber of that pair, so conflation
 * work is per symbol and tier, never per client. A pair's throttle runs only while someone listens.
 */
export class ConflatedStreams {
  // The per-symbol hub demultiplexes the single merged stream: one map lookup per tick.
  private readonly bySymbol = new Map<string, Subject<Quote>>();
  private readonly byPair = new Map<string, Observable<Quote>>();

  constructor(private readonly scheduler: SchedulerLike = asyncScheduler) {}

  /** Routes `quotes$` to the per-symbol streams; the returned subscription owns the routing. */
  connect(quotes$: Observable<Quote>): Subscription {
    return quotes$.subscribe((quote) => this.bySymbol.get(quote.symbol)?.next(quote));
  }

  stream(symbol: string, hz: number): Observable<Quote> {
    const key = `${symbol}@${hz}`;
    let stream = this.byPair.get(key);
    if (!stream) {
      stream = this.symbol$(symbol).pipe(conflate(hz, this.scheduler), share());
      this.byPair.set(key, stream);
    }
    return stream;
  }

  private symbol$(symbol: string): Observable<Quote> {
    let hub = this.bySymbol.get(symbol);
    if (!hub) {
      hub = new Subject<Quote>();
      this.bySymbol.set(symbol, hub);
    }
    return hub;
  }
}
