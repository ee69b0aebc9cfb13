import { filter, type Observable, type SchedulerLike, type Subscription } from 'rxjs';
import type { LastValueCache } from '../ingest/lastValueCache.js';
import type { Quote } from '../protocol.js';
import { quoteJson } from '../quoteJson.js';
import { latestBySymbol } from './latestBySymbol.js';
import { decodeQuote } from './quoteCodec.js';
import type { RedisLink } from './redisLink.js';

/**
 * Ingest side: keeps the Redis hash `key` (symbol -> Quote JSON) up to date, one write per window. A write
 * while Redis is down is dropped and reported. Each time Redis becomes ready (start-up, or back after an
 * outage that may have wiped it) the whole local cache is written again, so quiet symbols have a snapshot too.
 * After a reset (a replay seek or loop: a new epoch) the hash is emptied first, and a window's quotes from
 * before the reset are not written: a symbol first seen after the new position must have no value.
 */
export function writeLastValues(
  quotes$: Observable<Quote>,
  link: RedisLink,
  key: string,
  options: {
    windowMs: number;
    onFailure: (err: unknown) => void;
    scheduler?: SchedulerLike;
    cache?: Pick<LastValueCache, 'symbols' | 'snapshot'>;
    resets$?: Observable<unknown>;
  },
): Subscription {
  let epoch = Number.NEGATIVE_INFINITY;
  const write = (batch: readonly Quote[]) => {
    const current = batch.filter((quote) => quote.epoch >= epoch);
    if (current.length === 0) return;
    if (!link.isUp()) {
      options.onFailure(new Error('redis unavailable'));
      return;
    }
    const fields = Object.fromEntries(current.map((quote) => [quote.symbol, quoteJson(quote)]));
    link.command.hSet(key, fields).catch(options.onFailure);
  };
  const subscription = quotes$.pipe(latestBySymbol(options.windowMs, options.scheduler)).subscribe(write);
  subscription.add(
    quotes$.subscribe((quote) => {
      if (quote.epoch > epoch) epoch = quote.epoch;
    }),
  );
  const { cache, resets$ } = options;
  if (resets$) {
    subscription.add(
      resets$.subscribe(() => {
        if (link.isUp()) link.command.del(key).catch(options.onFailure);
      }),
    );
  }
  if (cache) {
    subscription.add(link.up$.pipe(filter(Boolean)).subscribe(() => write(cache.snapshot(cache.symbols()))));
  }
  return subscription;
}

/**
 * Gateway side: the last-value cache read from Redis, so any gateway answers a snapshot. While Redis is
 * unreachable a snapshot is empty (the subscription itself still holds and ticks resume with Redis);
 * `onFailure` hears why.
 */
export class RedisLastValues {
  constructor(
    private readonly link: RedisLink,
    private readonly key: string,
    private readonly onFailure: (err: unknown) => void = () => {},
    private readonly timeoutMs = 1000,
  ) {}

  async snapshot(symbols: readonly string[]): Promise<Quote[]> {
    if (symbols.length === 0) return [];
    const values = await this.link.read((command) => command.hmGet(this.key, [...symbols]), {
      what: 'redis snapshot',
      timeoutMs: this.timeoutMs,
      onFailure: this.onFailure,
    });
    return (values ?? []).map(decodeQuote).filter((quote): quote is Quote => quote !== undefined);
  }
}
