import { type MonoTypeOperatorFunction, tap } from 'rxjs';
import type { FeedSource } from '../feeds/types.js';
import { BAR_MS, type Bar, type Quote } from '../protocol.js';

export type { Bar };
export { BAR_MS };

export type IntradayHistoryOptions = {
  /** Bars kept per symbol; the oldest go first. */
  maxBars: number;
  /** Bars before the stream started (a feed's backfill), asked once per symbol on first use. */
  backfill?: (symbol: string) => readonly Bar[];
  /** A quote this far before the newest bar means the clock went back (replay seek or loop): start over. */
  resetAfterMs?: number;
};

type Series = { bars: Bar[]; lastVolume?: number };

/** Per-symbol bounded 1-minute bars built from the quote stream, seeded with a backfill when there is one. */
export class IntradayHistory {
  private readonly series = new Map<string, Series>();
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

  add(quote: Quote): void {
    const series = this.seriesOf(quote.symbol);
    const time = Math.floor(quote.ts / BAR_MS) * BAR_MS;
    const volume = this.volumeOf(series, quote);
    const last = series.bars[series.bars.length - 1];
    if (last && time < last.time) {
      // A late tick belongs to a closed bar: leave history as it was, unless time jumped back for good.
      if (last.time - time < this.resetAfterMs) return;
      series.bars = [];
    }
    const current = series.bars[series.bars.length - 1];
    if (current && current.time === time) {
      current.high = Math.max(current.high, quote.price);
      current.low = Math.min(current.low, quote.price);
      current.close = quote.price;
      current.volume += volume;
      return;
    }
    series.bars.push({ time, open: quote.price, high: quote.price, low: quote.price, close: quote.price, volume });
    if (series.bars.length > this.options.maxBars) series.bars.splice(0, series.bars.length - this.options.maxBars);
  }

  symbols(): string[] {
    return [...this.series.keys()];
  }

  /** Drops every series: each starts again from the backfill (a replay's, after a seek) on its next use. */
  clear(): void {
    this.series.clear();
  }

  private seriesOf(symbol: string): Series {
    let series = this.series.get(symbol);
    if (!series) {
      const backfill = this.options.backfill?.(symbol) ?? [];
      series = { bars: backfill.slice(-this.options.maxBars).map((bar) => ({ ...bar })) };
      this.series.set(symbol, series);
    }
    return series;
  }

  /** The traded volume a quote adds: its size, else the growth of the day's cumulative volume. */
  private volumeOf(series: Series, quote: Quote): number {
    const previous = series.lastVolume;
    if (quote.volume !== undefined) series.lastVolume = quote.volume;
    if (quote.size !== undefined) return quote.size;
    if (quote.volume === undefined || previous === undefined) return 0;
    return Math.max(0, quote.volume - previous);
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
