import {
  asyncScheduler,
  catchError,
  EMPTY,
  exhaustMap,
  filter,
  from,
  merge,
  type SchedulerLike,
  type Subscription,
  timer,
} from 'rxjs';
import type { MarketCalendarConfig } from '../config/schema.js';
import { marketSession } from '../market/session.js';
import type { FeedStatus, Status } from '../protocol.js';
import type { RedisLink } from './redisLink.js';

/** Ingest side: writes the feed statuses to `key` every `everyMs`, valid for `ttlMs` (a dead ingest expires). */
export function publishFeedStatus(
  feeds: () => FeedStatus[],
  link: RedisLink,
  key: string,
  options: { everyMs: number; ttlMs: number; onFailure: (err: unknown) => void; scheduler?: SchedulerLike },
): Subscription {
  return timer(0, options.everyMs, options.scheduler ?? asyncScheduler)
    .pipe(
      exhaustMap(() => {
        if (!link.isUp()) return EMPTY;
        return from(link.command.set(key, JSON.stringify(feeds()), { PX: options.ttlMs })).pipe(
          catchError((err: unknown) => {
            options.onFailure(err);
            return EMPTY;
          }),
        );
      }),
    )
    .subscribe();
}

/** What a gateway shows while it has no word from any ingest (none running, or Redis down). */
const NO_INGEST: FeedStatus[] = [{ id: 'ingest', state: 'down' }];

function parseFeeds(text: string | null): FeedStatus[] | undefined {
  if (!text) return undefined;
  try {
    const value = JSON.parse(text) as unknown;
    return Array.isArray(value) ? (value as FeedStatus[]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Gateway side: the status its clients see: the ingest's feeds as last read from Redis, the market session
 * from its own calendar, and its Redis connection (`cluster.redis`; readyz is 503 while it is down).
 */
export class GatewayStatus {
  private feeds: FeedStatus[] = NO_INGEST;

  constructor(
    private readonly link: RedisLink,
    private readonly key: string,
    private readonly market: MarketCalendarConfig,
    private readonly now: () => number = Date.now,
  ) {}

  follow(everyMs: number, scheduler: SchedulerLike = asyncScheduler): Subscription {
    return merge(timer(0, everyMs, scheduler), this.link.up$.pipe(filter(Boolean)))
      .pipe(
        exhaustMap(() =>
          this.link.isUp() ? from(this.link.command.get(this.key)).pipe(catchError(() => EMPTY)) : EMPTY,
        ),
      )
      .subscribe((text) => {
        this.feeds = parseFeeds(text) ?? NO_INGEST;
      });
  }

  current(): Status {
    const up = this.link.isUp();
    return {
      feeds: this.feeds,
      session: marketSession(this.market, this.now()),
      cluster: { role: 'gateway', redis: up ? 'up' : 'down' },
    };
  }
}
