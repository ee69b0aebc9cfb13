import { asyncScheduler, filter, type Observable, type SchedulerLike, Subject, type Subscription, share } from 'rxjs';
import type { Quote } from '../protocol.js';
import { conflate } from './conflate.js';
import { latestOnClock } from './latestOnClock.js';
import { steadyClock } from './steadyClock.js';

/**
 * How a symbol-tier stream is conflated: `throttle` (per symbol, a leading edge at once then the newest at
 * each trailing edge: lowest latency) or `clock` (one clock per tier: every symbol of the tier falls due on
 * the same tick, so each socket gets one frame per interval: cheapest fan-out).
 */
export type ConflationMode = 'throttle' | 'clock';

const MIN_LANE_SPACING_MS = 5;

/**
 * The lane of a socket among `lanes`: a hash of its id, so it needs no bookkeeping and is the same for
 * every room the socket is in (one frame per interval, whatever it watches).
 */
export function laneOf(socketId: string, lanes: number): number {
  if (lanes <= 1) return 0;
  let hash = 0x811c9dc5; // FNV-1a
  for (let i = 0; i < socketId.length; i++) hash = Math.imul(hash ^ socketId.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % lanes;
}

/**
 * One conflated stream per symbol and rate tier, shared by every subscriber of that pair, so conflation
 * work is per symbol and tier, never per client. A pair's throttle (or its share of the tier clock) runs
 * only while someone listens.
 */
export class ConflatedStreams {
  // `throttle` mode: the per-symbol hub demultiplexes the single merged stream (one map lookup per tick).
  private readonly bySymbol = new Map<string, Subject<Quote>>();
  // `clock` mode: the newest quote per symbol, read by each lane at its tick (one map write per tick).
  private readonly latest = new Map<string, Quote>();
  private readonly byPair = new Map<string, Observable<Quote>>();
  private readonly clocks = new Map<string, Observable<number>>();
  private readonly tierTicks = new Map<number, Observable<number>>();

  /**
   * @param lanes In `clock` mode, how many evenly spaced phases each tier's interval is split into. A socket
   *   belongs to one lane (`laneOf`) and gets its frame on that lane's tick, so a tick writes to a lane's
   *   sockets rather than to every socket of the tier at once: shorter write bursts, a shorter tail of
   *   delivery delay, the same frames per second. Capped so that lanes stay at least 5 ms apart.
   */
  constructor(
    private readonly scheduler: SchedulerLike = asyncScheduler,
    private readonly mode: ConflationMode = 'throttle',
    private readonly lanes = 1,
  ) {}

  /** How many lanes the tier at `hz` has (1 in `throttle` mode: each symbol keeps its own phase there). */
  lanesOf(hz: number): number {
    if (this.mode !== 'clock') return 1;
    return Math.max(1, Math.min(this.lanes, Math.floor(1000 / hz / MIN_LANE_SPACING_MS)));
  }

  /** Routes `quotes$` to the per-symbol streams; the returned subscription owns the routing. */
  connect(quotes$: Observable<Quote>): Subscription {
    if (this.mode === 'clock') return quotes$.subscribe((quote) => this.latest.set(quote.symbol, quote));
    return quotes$.subscribe((quote) => this.bySymbol.get(quote.symbol)?.next(quote));
  }

  /** The symbol conflated to `hz`; in `clock` mode, on the tick of `lane` (0 to `lanesOf(hz) - 1`). */
  stream(symbol: string, hz: number, lane = 0): Observable<Quote> {
    const key = `${symbol}@${hz}#${lane}`;
    let stream = this.byPair.get(key);
    if (!stream) {
      stream =
        this.mode === 'clock'
          ? this.clock(hz, lane).pipe(
              latestOnClock(() => this.latest.get(symbol)),
              share(),
            )
          : this.symbol$(symbol).pipe(conflate<Quote>(hz, this.scheduler), share());
      this.byPair.set(key, stream);
    }
    return stream;
  }

  /**
   * A lane's clock, shared by all its symbols: every `lanes`-th tick of the tier's fast clock. One steady
   * fast clock per tier (not one timer per lane, not `interval`) keeps the lanes evenly spaced and each at the
   * tier's rate however late the timers fire. Each stops when nothing of it is watched.
   */
  private clock(hz: number, lane: number): Observable<number> {
    const key = `${hz}#${lane}`;
    let clock = this.clocks.get(key);
    if (!clock) {
      const lanes = this.lanesOf(hz);
      clock = this.tierTick(hz, lanes).pipe(
        filter((tick) => tick % lanes === lane),
        share(),
      );
      this.clocks.set(key, clock);
    }
    return clock;
  }

  private tierTick(hz: number, lanes: number): Observable<number> {
    let tick = this.tierTicks.get(hz);
    if (!tick) {
      tick = steadyClock(1000 / hz / lanes, this.scheduler, lanes).pipe(share());
      this.tierTicks.set(hz, tick);
    }
    return tick;
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
