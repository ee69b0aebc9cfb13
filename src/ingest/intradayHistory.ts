import { type MonoTypeOperatorFunction, tap } from 'rxjs';
import type { FeedSource } from '../feeds/types.js';
import { BAR_MS, type Bar, type Quote } from '../protocol.js';

export type IntradayHistoryOptions = {
  /** Bars kept per symbol; the oldest go first. */
  maxBars: number;
  /** Bars before the stream started (a feed's backfill), asked on a symbol's first use and again after `clear`. */
  backfill?: (symbol: string) => readonly Bar[];
  /** A quote this far before the newest bar means the clock went back (replay seek or loop): start over. */
  resetAfterMs?: number;
};

/** What a quote did to its symbol's bars: merged into the last one, opened the next, came late (ignored), or reset them. */
export type BarFold = 'merged' | 'opened' | 'late' | 'reset';

/** The fields of a quote that bars are made of. */
export type BarQuote = Pick<Quote, 'price' | 'ts' | 'size' | 'volume'>;

/**
 * One symbol's 1-minute bars as quotes fold into them: the one place the server's bar rules live (the chart
 * history and the recording index both fold with it). The dashboard's live candle (web/src/chartPanel.ts)
 * folds conflated quotes, so it grows volume by the day's cumulative volume first; see its comment.
 */
export class BarSeries {
  constructor(
    public bars: Bar[] = [],
    /** The day's cumulative volume of the last quote that had one (a bar grows by its increase). */
    public lastVolume: number | undefined = undefined,
    private readonly maxBars = Number.POSITIVE_INFINITY,
    private readonly resetAfterMs = 5 * BAR_MS,
  ) {}

  get last(): Bar | undefined {
    return this.bars[this.bars.length - 1];
  }

  add(quote: BarQuote): BarFold {
    const time = Math.floor(quote.ts / BAR_MS) * BAR_MS;
    let fold: BarFold = 'opened';
    const last = this.last;
    if (last && time < last.time) {
      // A late tick belongs to a closed bar: leave the bars as they were, and the day's volume the next bar
      // grows from (the late tick's is older), unless time jumped back for good.
      if (last.time - time < this.resetAfterMs) return 'late';
      this.bars = [];
      fold = 'reset';
    }
    const volume = this.volumeOf(quote);
    const current = this.last;
    if (current && current.time === time) {
      current.high = Math.max(current.high, quote.price);
      current.low = Math.min(current.low, quote.price);
      current.close = quote.price;
      current.volume += volume;
      return 'merged';
    }
    this.bars.push({ time, open: quote.price, high: quote.price, low: quote.price, close: quote.price, volume });
    if (this.bars.length > this.maxBars) this.bars.splice(0, this.bars.length - this.maxBars);
    return fold;
  }

  /** The traded volume a quote adds: its size, else the growth of the day's cumulative volume. */
  private volumeOf(quote: BarQuote): number {
    const previous = this.lastVolume;
    if (quote.volume !== undefined) this.lastVolume = quote.volume;
    if (quote.size !== undefined) return quote.size;
    if (quote.volume === undefined || previous === undefined) return 0;
    return Math.max(0, quote.volume - previous);
  }
}

/** Per-symbol bounded 1-minute bars built from the quote stream, seeded with a backfill when there is one. */
export class IntradayHistory {
  private readonly series = new Map<string, BarSeries>();
  private readonly resetAfterMs: number;

  constructor(private readonly options: IntradayHistoryOptions) {
    this.resetAfterMs = options.resetAfterMs ?? 5 * BAR_MS;
  }

  /** The symbol's bars, oldest first (a copy). */
  bars(symbol: string): Bar[] {
    return this.seriesOf(symbol).bars.map((bar) => ({ ...bar }));
  }

  /**
   * The bar that starts at `time` and every newer one (copies), or undefined when the series has no bar at
   * `time` (it started over). What a mirror that wrote up to `time` needs, without copying the whole series.
   */
  barsFrom(symbol: string, time: number): Bar[] | undefined {
    const { bars } = this.seriesOf(symbol);
    for (let i = bars.length - 1; i >= 0; i--) {
      const bar = bars[i] as Bar;
      if (bar.time === time) return bars.slice(i).map((b) => ({ ...b }));
      if (bar.time < time) return undefined;
    }
    return undefined;
  }

  add(quote: BarQuote & { symbol: string }): void {
    this.seriesOf(quote.symbol).add(quote);
  }

  symbols(): string[] {
    return [...this.series.keys()];
  }

  /**
   * Forgets every series, so each is seeded again from the backfill on its next use: after a feed jumped in
   * time (a replay seek or loop), whose backfill then tells the story up to the new position.
   */
  clear(): void {
    this.series.clear();
  }

  private seriesOf(symbol: string): BarSeries {
    let series = this.series.get(symbol);
    if (!series) {
      const backfill = this.options.backfill?.(symbol) ?? [];
      const bars = backfill.slice(-this.options.maxBars).map((bar) => ({ ...bar }));
      series = new BarSeries(bars, undefined, this.options.maxBars, this.resetAfterMs);
      this.series.set(symbol, series);
    }
    return series;
  }
}

/** Records every quote into `history` as it passes. */
export function intoHistory(history: IntradayHistory): MonoTypeOperatorFunction<Quote> {
  return tap((quote) => history.add(quote));
}

/** Bars kept per symbol for charts: 12 hours of 1-minute bars. */
export const CHART_BARS = 720;

/** The history charts are drawn from: the feeds' backfill (the first feed that has one for the symbol), then live bars. */
export function chartHistory(feeds: readonly Pick<FeedSource, 'history'>[]): IntradayHistory {
  return new IntradayHistory({
    maxBars: CHART_BARS,
    backfill: (symbol) => feeds.map((feed) => feed.history?.(symbol) ?? []).find((bars) => bars.length > 0) ?? [],
  });
}
