import {
  asyncScheduler,
  defer,
  filter,
  interval,
  type MonoTypeOperatorFunction,
  map,
  merge,
  type Observable,
  of,
  type SchedulerLike,
} from 'rxjs';
import type { Status } from '../protocol.js';

/** What makes a status worth sending again: a change of state, not a moving timestamp or replay position. */
function significant(status: Status): string {
  return JSON.stringify({
    feeds: status.feeds.map((f) => [f.id, f.state, f.gaps ?? 0]),
    session: status.session,
    replay: status.replay && { ...status.replay, position: undefined },
    cluster: status.cluster,
  });
}

/** A replay's position alone is worth a status this often (ms of the scheduler's clock, not the recording's). */
const POSITION_EVERY_MS = 1000;

/**
 * `status()` now, then each time it changes significantly, checked every `everyMs`; a replay position that
 * moved counts as a change once a second of wall time, whatever the replay's speed.
 */
export function statusChanges(
  status: () => Status,
  everyMs = 250,
  scheduler: SchedulerLike = asyncScheduler,
): Observable<Status> {
  return merge(of(0), interval(everyMs, scheduler)).pipe(
    map(() => status()),
    changedStatus(scheduler),
  );
}

/** Passes a status whose state changed, or whose replay position moved a second or more after the last one passed. */
function changedStatus(scheduler: SchedulerLike): MonoTypeOperatorFunction<Status> {
  return (source) =>
    defer(() => {
      let sent: { key: string; position: number | undefined; at: number } | undefined;
      return source.pipe(
        filter((status) => {
          const key = significant(status);
          const position = status.replay?.position;
          const now = scheduler.now();
          const moved = sent !== undefined && position !== sent.position && now - sent.at >= POSITION_EVERY_MS;
          if (sent && key === sent.key && !moved) return false;
          sent = { key, position, at: now };
          return true;
        }),
      );
    });
}
