import {
  asyncScheduler,
  distinctUntilChanged,
  interval,
  map,
  merge,
  type Observable,
  of,
  type SchedulerLike,
} from 'rxjs';
import type { MarketCalendarConfig } from '../config/schema.js';
import { marketSession } from '../market/session.js';
import type { FeedHealth } from '../pipeline/feedHealth.js';
import type { ReplayStatus, Status } from '../protocol.js';

export type StatusSources = {
  health: FeedHealth;
  market: MarketCalendarConfig;
  now?: () => number;
  replay?: () => ReplayStatus | undefined;
};

/** The service's status as the protocol's `status` payload. */
export function currentStatus(sources: StatusSources): Status {
  const now = sources.now ?? Date.now;
  const replay = sources.replay?.();
  const status: Status = {
    feeds: sources.health.statuses(),
    // A replay shows the session of the recorded moment, not of the wall clock.
    session: marketSession(sources.market, replay?.position || now()),
  };
  if (replay) status.replay = replay;
  return status;
}

/** What makes a status worth sending again: a state change, not a moving timestamp. */
function significant(status: Status): string {
  return JSON.stringify({
    feeds: status.feeds.map((f) => [f.id, f.state, f.gaps ?? 0]),
    session: status.session,
    replay: status.replay && { ...status.replay, position: Math.floor(status.replay.position / 1000) },
  });
}

/** Status now, then each time it changes, checked every `everyMs`. */
export function statusChanges(
  sources: StatusSources,
  everyMs = 250,
  scheduler: SchedulerLike = asyncScheduler,
): Observable<Status> {
  return merge(of(0), interval(everyMs, scheduler)).pipe(
    map(() => currentStatus(sources)),
    distinctUntilChanged((a, b) => significant(a) === significant(b)),
  );
}
