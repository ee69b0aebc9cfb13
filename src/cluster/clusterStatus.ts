import { asyncScheduler, filter, merge, type SchedulerLike, type Subscription, timer } from 'rxjs';
import type { MarketCalendarConfig } from '../config/schema.js';
import { shownSession } from '../market/session.js';
import type { FeedStatus, Status } from '../protocol.js';
import type { RedisLink } from './redisLink.js';
import { whileRedisUp } from './whileRedisUp.js';

/** What the ingest tells the gateways of itself: its feeds, and a replay's state. */
export type IngestStatus = Pick<Status, 'feeds' | 'replay'>;

/**
 * How often a status key of `ttlMs` is written: every second, or twice per TTL when that is shorter (a write
 * per TTL would let the key lapse between writes, and a gateway reading then would see no ingest).
 */
export function statusWriteEveryMs(ttlMs: number): number {
  return Math.min(1000, ttlMs / 2);
}

/** Ingest side: writes its status to `key`, valid for `ttlMs` (a dead ingest expires), often enough to stay. */
export function publishIngestStatus(
  status: () => IngestStatus,
  link: RedisLink,
  key: string,
  options: { ttlMs: number; onFailure: (err: unknown) => void; scheduler?: SchedulerLike },
): Subscription {
  return timer(0, statusWriteEveryMs(options.ttlMs), options.scheduler ?? asyncScheduler)
    .pipe(
      whileRedisUp(
        link,
        'status write',
        () => {
          const { feeds, replay } = status();
          return link.command.set(key, JSON.stringify({ feeds, replay }), { PX: options.ttlMs });
        },
        options.onFailure,
      ),
    )
    .subscribe();
}

/** What a gateway shows while it has no word from any ingest (none running, or Redis down). */
const NO_INGEST: FeedStatus[] = [{ id: 'ingest', state: 'down' }];

function parseStatus(text: string | null): IngestStatus | undefined {
  if (!text) return undefined;
  try {
    // Written by an ingest's publishStatus (same code, same shape); anything else reads as no status.
    const value: Partial<IngestStatus> = JSON.parse(text);
    return value && Array.isArray(value.feeds) ? { feeds: value.feeds, replay: value.replay } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Gateway side: the status its clients see: the ingest's feeds (and replay) as last read from Redis, the
 * market session from its own calendar (of the recorded moment during a replay), and its Redis connection.
 */
export class GatewayStatus {
  private ingest: IngestStatus = { feeds: NO_INGEST };
  /** When the status key was last read. With Redis down nothing is read, and the last copy must age out too. */
  private readAt = Number.NEGATIVE_INFINITY;
  /** How often the key is read: a copy is stale once the key would have expired and a read since was due. */
  private readEveryMs = 0;

  constructor(
    private readonly link: RedisLink,
    private readonly key: string,
    private readonly market: MarketCalendarConfig,
    /** How long a status the ingest wrote is valid (cluster.statusTtlMs): the key's TTL, and this copy's. */
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  follow(everyMs: number, scheduler: SchedulerLike = asyncScheduler): Subscription {
    this.readEveryMs = everyMs;
    return merge(timer(0, everyMs, scheduler), this.link.up$.pipe(filter(Boolean)))
      .pipe(whileRedisUp(this.link, 'status read', () => this.link.command.get(this.key)))
      .subscribe((text) => {
        this.ingest = parseStatus(text) ?? { feeds: NO_INGEST };
        this.readAt = this.now();
      });
  }

  current(): Status {
    const fresh = this.now() - this.readAt <= this.ttlMs + this.readEveryMs;
    const { feeds, replay } = fresh ? this.ingest : { feeds: NO_INGEST };
    const status: Status = {
      feeds,
      session: shownSession(this.market, replay, this.now()),
      cluster: { role: 'gateway', redis: this.link.isUp() ? 'up' : 'down' },
    };
    if (replay) status.replay = replay;
    return status;
  }
}
