import { asyncScheduler, interval, type Observable, type SchedulerLike, Subject, type Subscription, share } from 'rxjs';
import type { Quote } from '../protocol.js';
import { conflate } from './conflate.js';
import { conflateOnClock } from './conflateOnClock.js';

/**
 * How a symbol-tier stream is conflated: `throttle` (per symbol, a leading edge at once then the newest at
 * each trailing edge: lowest latency) or `clock` (one clock per tier: every symbol of the tier falls due on
 * the same tick, so each socket gets one frame per interval: cheapest fan-out).
 */
export type ConflationMode = 'throttle' | 'clock';

/**
 * One conflated stream per symbol and rate tier, shared by every subscriber of that pair, so conflation
 * work is per symbol and tier, never per client. A pair's throttle (or its share of the tier clock) runs
 * only while someone listens.
 */
export class ConflatedStreams {
  // The per-symbol hub demultiplexes the single merged stream: one map lookup per tick.
  private readonly bySymbol = new Map<string, Subject<Quote>>();
  private readonly byPair = new Map<string, Observable<Quote>>();
  private readonly clocks = new Map<number, Observable<number>>();

  constructor(
    private readonly scheduler: SchedulerLike = asyncScheduler,
    private readonly mode: ConflationMode = 'throttle',
  ) {}

  /** Routes `quotes$` to the per-symbol streams; the returned subscription owns the routing. */
  connect(quotes$: Observable<Quote>): Subscription {
    return quotes$.subscribe((quote) => this.bySymbol.get(quote.symbol)?.next(quote));
  }

  stream(symbol: string, hz: number): Observable<Quote> {
    const key = `${symbol}@${hz}`;
    let stream = this.byPair.get(key);
    if (!stream) {
      const conflation =
        this.mode === 'clock' ? conflateOnClock<Quote>(this.clock(hz)) : conflate<Quote>(hz, this.scheduler);
      stream = this.symbol$(symbol).pipe(conflation, share());
      this.byPair.set(key, stream);
    }
    return stream;
  }

  /** The tier's clock, shared by all its symbols; it stops when no symbol of the tier is watched. */
  private clock(hz: number): Observable<number> {
    let clock = this.clocks.get(hz);
    if (!clock) {
      clock = interval(1000 / hz, this.scheduler).pipe(share());
      this.clocks.set(hz, clock);
    }
    return clock;
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
