import {
  asyncScheduler,
  catchError,
  EMPTY,
  exhaustMap,
  filter,
  from,
  merge,
  type Observable,
  type SchedulerLike,
  Subscription,
  timer,
} from 'rxjs';
import type { SymbolDirectory } from '../pipeline/symbolDirectory.js';
import type { SymbolInfo } from '../protocol.js';
import type { RedisLink } from './redisLink.js';

/**
 * Ingest side: publishes the symbol directory to the Redis hash `key` whenever it grew and whenever Redis
 * (re)connects (a restarted Redis may have lost it). Checked every `everyMs`.
 */
export function publishDirectory(
  directory: Pick<SymbolDirectory, 'list' | 'size'>,
  link: RedisLink,
  key: string,
  options: { everyMs: number; onFailure: (err: unknown) => void; scheduler?: SchedulerLike },
): Subscription {
  let written = -1;
  const subscription = new Subscription();
  subscription.add(link.up$.subscribe(() => (written = -1)));
  subscription.add(
    timer(0, options.everyMs, options.scheduler ?? asyncScheduler)
      .pipe(
        exhaustMap(() => {
          const size = directory.size;
          if (size === written || size === 0 || !link.isUp()) return EMPTY;
          const fields = Object.fromEntries(directory.list().map((info) => [info.symbol, JSON.stringify(info)]));
          return from(link.command.hSet(key, fields).then(() => size)).pipe(
            catchError((err: unknown) => {
              options.onFailure(err);
              return EMPTY;
            }),
          );
        }),
      )
      .subscribe((size) => (written = size)),
  );
  return subscription;
}

function parseInfo(text: string): SymbolInfo | undefined {
  try {
    const value = JSON.parse(text) as Partial<SymbolInfo>;
    return typeof value.symbol === 'string' ? (value as SymbolInfo) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Gateway side: a local mirror of the directory in Redis, refreshed every `everyMs`, so `has` and `list`
 * stay synchronous. While Redis is down the last copy is kept.
 */
export class RedisDirectoryMirror {
  private known = new Map<string, SymbolInfo>();
  private sorted: SymbolInfo[] = [];

  constructor(
    private readonly link: RedisLink,
    private readonly key: string,
  ) {}

  /** Refreshes now and then every `everyMs`; the first value is emitted once a refresh succeeded. */
  follow(everyMs: number, scheduler: SchedulerLike = asyncScheduler): Observable<number> {
    // Also at once whenever Redis (re)connects, rather than at the next tick of the timer.
    const ready$ = this.link.up$.pipe(filter(Boolean));
    return merge(timer(0, everyMs, scheduler), ready$).pipe(
      exhaustMap(() => (this.link.isUp() ? from(this.refresh()).pipe(catchError(() => EMPTY)) : EMPTY)),
    );
  }

  async refresh(): Promise<number> {
    const all = await this.link.command.hGetAll(this.key);
    const known = new Map<string, SymbolInfo>();
    for (const text of Object.values(all)) {
      const info = parseInfo(text);
      if (info) known.set(info.symbol, info);
    }
    this.known = known;
    this.sorted = [...known.values()].sort((a, b) => a.symbol.localeCompare(b.symbol));
    return known.size;
  }

  has(symbol: string): boolean {
    return this.known.has(symbol);
  }

  list(): SymbolInfo[] {
    return this.sorted;
  }
}
