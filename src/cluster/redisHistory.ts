import { filter, interval, type Observable, type SchedulerLike, Subscription } from 'rxjs';
import type { IntradayHistory } from '../pipeline/intradayHistory.js';
import type { Bar, Quote } from '../protocol.js';
import type { RedisLink } from './redisLink.js';

type HistorySource = Pick<IntradayHistory, 'bars' | 'barsFrom' | 'symbols'>;

/**
 * Ingest side: mirrors the 1-minute bars into one Redis list per symbol (`keyOf(symbol)`, oldest first),
 * so that any gateway answers /api/history. Every `everyMs`, for each symbol that ticked, only what changed
 * is written: the bar last written is set again in place (its close, high, low and volume moved), newer bars
 * are pushed, and the list is trimmed to `maxBars`. A series that no longer lines up with what was written
 * (the history started over after a replay seek, or a write failed) is written whole, and so is every series
 * each time Redis becomes ready (start-up, or back after an outage that may have wiped it). While Redis is
 * down nothing is queued: the rewrite on its return covers the gap.
 */
export function writeHistory(
  quotes$: Observable<Quote>,
  history: HistorySource,
  link: RedisLink,
  keyOf: (symbol: string) => string,
  options: {
    everyMs: number;
    maxBars: number;
    onFailure: (err: unknown) => void;
    scheduler?: SchedulerLike;
    /** The history started over (a replay seek or loop): every series written so far is written whole again. */
    resets$?: Observable<unknown>;
  },
): Subscription {
  // The time of the newest bar in each symbol's Redis list, as far as this process wrote it.
  const written = new Map<string, number>();
  let changed = new Set<string>();

  const writeWhole = (symbol: string) => {
    const bars = history.bars(symbol);
    written.delete(symbol);
    link.replaceList(keyOf(symbol), bars.map(encodeBar)).then(() => {
      const last = bars.at(-1);
      if (last) written.set(symbol, last.time);
    }, options.onFailure);
  };

  const writeChanges = (symbol: string) => {
    const lastWritten = written.get(symbol);
    if (lastWritten === undefined) return writeWhole(symbol);
    // Only the bar written last (it moved) and the newer ones: not a copy of the whole series every window.
    const bars = history.barsFrom(symbol, lastWritten);
    if (!bars) return writeWhole(symbol);
    const newer = bars.slice(1).map(encodeBar);
    written.set(symbol, (bars.at(-1) as Bar).time);
    link.updateListTail(keyOf(symbol), encodeBar(bars[0] as Bar), newer, options.maxBars).catch((err: unknown) => {
      written.delete(symbol); // rewrite it whole next time (e.g. the list was gone: "no such key")
      options.onFailure(err);
    });
  };

  const subscription = new Subscription();
  subscription.add(quotes$.subscribe((quote) => changed.add(quote.symbol)));
  subscription.add(
    interval(options.everyMs, options.scheduler).subscribe(() => {
      if (changed.size === 0) return;
      const symbols = changed;
      changed = new Set();
      if (!link.isUp()) {
        options.onFailure(new Error('redis unavailable'));
        return;
      }
      for (const symbol of symbols) writeChanges(symbol);
    }),
  );
  subscription.add(
    link.up$.pipe(filter(Boolean)).subscribe(() => {
      for (const symbol of history.symbols()) writeWhole(symbol);
    }),
  );
  if (options.resets$) {
    subscription.add(
      options.resets$.subscribe(() => {
        // Rewritten at the next write from what the history says now (a replay's bars up to its position).
        for (const symbol of written.keys()) changed.add(symbol);
        written.clear();
      }),
    );
  }
  return subscription;
}

function encodeBar(bar: Bar): string {
  return JSON.stringify(bar);
}

function decodeBar(text: string): Bar | undefined {
  try {
    const bar = JSON.parse(text) as Partial<Bar>;
    const numbers = [bar.time, bar.open, bar.high, bar.low, bar.close, bar.volume];
    return numbers.every((n) => typeof n === 'number' && Number.isFinite(n)) ? (bar as Bar) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Gateway side: a symbol's 1-minute bars read from Redis. Empty while Redis is unreachable or slow (the chart
 * then fills from live ticks); `onFailure` hears why.
 */
export class RedisHistory {
  constructor(
    private readonly link: RedisLink,
    private readonly keyOf: (symbol: string) => string,
    private readonly onFailure: (err: unknown) => void = () => {},
    private readonly timeoutMs = 1000,
  ) {}

  async bars(symbol: string): Promise<Bar[]> {
    const texts = await this.link.read((command) => command.lRange(this.keyOf(symbol), 0, -1), {
      what: 'redis history',
      timeoutMs: this.timeoutMs,
      onFailure: this.onFailure,
    });
    return (texts ?? []).map(decodeBar).filter((bar): bar is Bar => bar !== undefined);
  }
}
