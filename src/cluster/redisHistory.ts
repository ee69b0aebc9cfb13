import { filter, interval, type Observable, type SchedulerLike, Subscription } from 'rxjs';
import type { IntradayHistory } from '../ingest/intradayHistory.js';
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
  const lists = new HistoryLists(history, link, keyOf, options.maxBars, options.onFailure);
  let changed = new Set<string>();

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
      for (const symbol of symbols) lists.writeChanges(symbol);
    }),
  );
  subscription.add(
    link.up$.pipe(filter(Boolean)).subscribe(() => {
      for (const symbol of history.symbols()) lists.writeWhole(symbol);
    }),
  );
  if (options.resets$) {
    subscription.add(
      options.resets$.subscribe(() => {
        // Rewritten at the next write from what the history says now (a replay's bars up to its position).
        for (const symbol of lists.forgetAll()) changed.add(symbol);
      }),
    );
  }
  return subscription;
}

/** Each symbol's bars in its Redis list: written whole, or only what changed since this process last wrote. */
class HistoryLists {
  /** The time of the newest bar in each symbol's Redis list, as far as this process wrote it. */
  private readonly written = new Map<string, number>();

  constructor(
    private readonly history: HistorySource,
    private readonly link: RedisLink,
    private readonly keyOf: (symbol: string) => string,
    private readonly maxBars: number,
    private readonly onFailure: (err: unknown) => void,
  ) {}

  writeWhole(symbol: string): void {
    const bars = this.history.bars(symbol);
    this.written.delete(symbol);
    this.link.replaceList(this.keyOf(symbol), bars.map(encodeBar)).then(() => {
      const last = bars.at(-1);
      if (last) this.written.set(symbol, last.time);
    }, this.onFailure);
  }

  writeChanges(symbol: string): void {
    const lastWritten = this.written.get(symbol);
    // Only the bar written last (it moved) and the newer ones: not a copy of the whole series every window.
    const bars = lastWritten === undefined ? undefined : this.history.barsFrom(symbol, lastWritten);
    if (!bars) {
      this.writeWhole(symbol);
      return;
    }
    const newer = bars.slice(1).map(encodeBar);
    this.written.set(symbol, (bars.at(-1) as Bar).time);
    this.link
      .updateListTail(this.keyOf(symbol), encodeBar(bars[0] as Bar), newer, this.maxBars)
      .catch((err: unknown) => {
        this.written.delete(symbol); // rewrite it whole next time (e.g. the list was gone: "no such key")
        this.onFailure(err);
      });
  }

  /** Forgets what was written (each is written whole next); the symbols it had written. */
  forgetAll(): string[] {
    const symbols = [...this.written.keys()];
    this.written.clear();
    return symbols;
  }
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
