import { asyncScheduler, filter, merge, type SchedulerLike, Subscription, timer } from 'rxjs';
import { z } from 'zod';
import type { SymbolDirectory } from '../ingest/symbolDirectory.js';
import type { SymbolInfo } from '../protocol.js';
import type { RedisLink } from './redisLink.js';
import { whileRedisUp } from './whileRedisUp.js';

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
        whileRedisUp(
          link,
          'directory write',
          () => {
            const size = directory.size;
            if (size === written || size === 0) return undefined;
            const fields = Object.fromEntries(directory.list().map((info) => [info.symbol, JSON.stringify(info)]));
            return link.command.hSet(key, fields).then(() => size);
          },
          options.onFailure,
        ),
      )
      .subscribe((size) => (written = size)),
  );
  return subscription;
}

/** A directory entry as the ingest writes it. */
const symbolInfo = z.object({
  symbol: z.string(),
  name: z.string().optional(),
  exchange: z.string().optional(),
  currency: z.string().optional(),
});

/** A directory entry, or nothing for one that is not (another writer, a damaged value). */
function parseInfo(text: string): SymbolInfo | undefined {
  try {
    const parsed = symbolInfo.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Gateway side: a local mirror of the directory in Redis, refreshed every `everyMs`, so `has` and `list`
 * stay synchronous. While Redis is down the last copy is kept. Until the first copy arrives the directory
 * is not known: the gateway is not ready, and a subscribe waits for it (up to `waitMs`).
 */
export class RedisDirectoryMirror {
  private symbols = new Map<string, SymbolInfo>();
  private sorted: SymbolInfo[] = [];
  private loaded = false;
  private readonly whenLoaded: Promise<void>;
  private readonly markLoaded: () => void;

  constructor(
    private readonly link: RedisLink,
    private readonly key: string,
    private readonly waitMs = 2000,
  ) {
    // The executor runs at once, so markLoaded is the promise's resolve before the constructor returns.
    let markLoaded = () => {};
    this.whenLoaded = new Promise((resolve) => {
      markLoaded = resolve;
    });
    this.markLoaded = markLoaded;
  }

  /** Whether a copy of the directory (with at least one symbol) has arrived. */
  get isLoaded(): boolean {
    return this.loaded;
  }

  /** Resolves once the directory has arrived, or after `waitMs` (the caller then answers with what it has). */
  known(): Promise<void> {
    if (this.loaded) return Promise.resolve();
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([
      this.whenLoaded,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.waitMs);
      }),
    ]).finally(() => clearTimeout(timer));
  }

  /**
   * Refreshes now and then every `everyMs` (every 200 ms until it first arrives: a gateway that starts before
   * its ingest is not ready, and holds subscribes, for as short a time as it can), until unsubscribed.
   */
  follow(everyMs: number, scheduler: SchedulerLike = asyncScheduler): Subscription {
    // Also at once whenever Redis (re)connects, rather than at the next tick of the timer.
    const ready$ = this.link.up$.pipe(filter(Boolean));
    const waiting = Math.min(everyMs, 200);
    return merge(
      timer(0, waiting, scheduler).pipe(filter((tick) => !this.loaded || tick % Math.round(everyMs / waiting) === 0)),
      ready$,
    )
      .pipe(whileRedisUp(this.link, 'directory read', () => this.refresh()))
      .subscribe();
  }

  private async refresh(): Promise<number> {
    const all = await this.link.command.hGetAll(this.key);
    const symbols = new Map<string, SymbolInfo>();
    for (const text of Object.values(all)) {
      const info = parseInfo(text);
      if (info) symbols.set(info.symbol, info);
    }
    this.symbols = symbols;
    this.sorted = [...symbols.values()].sort((a, b) => a.symbol.localeCompare(b.symbol));
    if (symbols.size > 0 && !this.loaded) {
      this.loaded = true;
      this.markLoaded();
    }
    return symbols.size;
  }

  has(symbol: string): boolean {
    return this.symbols.has(symbol);
  }

  list(): SymbolInfo[] {
    return this.sorted;
  }
}
