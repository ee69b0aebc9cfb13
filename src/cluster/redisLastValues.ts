import type { Observable, SchedulerLike, Subscription } from 'rxjs';
import type { Quote } from '../protocol.js';
import { latestBySymbol } from './latestBySymbol.js';
import type { RedisLink } from './redisLink.js';

/**
 * Ingest side: keeps the Redis hash `key` (symbol -> Quote JSON) up to date, one write per window. A write
 * while Redis is down is dropped and reported: the next window rewrites every symbol that ticked since.
 */
export function writeLastValues(
  quotes$: Observable<Quote>,
  link: RedisLink,
  key: string,
  options: { windowMs: number; onFailure: (err: unknown) => void; scheduler?: SchedulerLike },
): Subscription {
  return quotes$.pipe(latestBySymbol(options.windowMs, options.scheduler)).subscribe((batch) => {
    if (!link.isUp()) {
      options.onFailure(new Error('redis unavailable'));
      return;
    }
    const fields = Object.fromEntries(batch.map((quote) => [quote.symbol, JSON.stringify(quote)]));
    link.command.hSet(key, fields).catch(options.onFailure);
  });
}

function parseQuote(text: string | null): Quote | undefined {
  if (!text) return undefined;
  try {
    const value = JSON.parse(text) as Partial<Quote>;
    return typeof value.symbol === 'string' && typeof value.price === 'number' && typeof value.seq === 'number'
      ? (value as Quote)
      : undefined;
  } catch {
    return undefined;
  }
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
    if (!this.link.isUp()) return [];
    let timer: NodeJS.Timeout | undefined;
    try {
      const values = await Promise.race([
        this.link.command.hmGet(this.key, [...symbols]),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`redis snapshot timed out after ${this.timeoutMs} ms`)),
            this.timeoutMs,
          );
        }),
      ]);
      return values.map(parseQuote).filter((quote): quote is Quote => quote !== undefined);
    } catch (err) {
      this.onFailure(err);
      return [];
    } finally {
      clearTimeout(timer);
    }
  }
}
