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
import type { Status } from '../protocol.js';

/** What makes a status worth sending again: a change of state, not a moving timestamp. */
export function significant(status: Status): string {
  return JSON.stringify({
    feeds: status.feeds.map((f) => [f.id, f.state, f.gaps ?? 0]),
    session: status.session,
    replay: status.replay && { ...status.replay, position: Math.floor(status.replay.position / 1000) },
    cluster: status.cluster,
  });
}

/** `status()` now, then each time it changes significantly, checked every `everyMs`. */
export function statusChanges(
  status: () => Status,
  everyMs = 250,
  scheduler: SchedulerLike = asyncScheduler,
): Observable<Status> {
  return merge(of(0), interval(everyMs, scheduler)).pipe(
    map(() => status()),
    distinctUntilChanged((a, b) => significant(a) === significant(b)),
  );
}
