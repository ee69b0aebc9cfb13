import { asyncScheduler, Observable, type SchedulerLike, type Subscription } from 'rxjs';
import type { ReplayCommand } from '../protocol.js';

export type Speed = number | 'max';

export type PaceState = {
  speed: Speed;
  paused: boolean;
  /** Recorded time of the replay head. */
  position: number;
  /** The head reached the end (of the range) and is not looping. */
  ended: boolean;
};

export type PaceOptions<T> = {
  /** Recorded time of each record; must not decrease (use a running maximum if the source can). */
  times: readonly number[];
  speed: Speed;
  /** A recorded silence longer than this is cut to this (so a lunch break does not stall a demo). */
  maxGapMs: number;
  loop?: boolean;
  /** Recorded time range to play, inclusive. */
  from?: number;
  to?: number;
  /** Records emitted at once when a seek (or `from`) lands at index i: the state built by records [0, i). */
  stateBefore?: (index: number) => T[];
  /** At `max` speed, records per scheduler turn (so the event loop still serves sockets). */
  maxBatch?: number;
  onState?: (state: PaceState) => void;
  scheduler?: SchedulerLike;
};

/** First index whose time is >= t (or > t when `strict`), by binary search. */
export function boundIndex(times: readonly number[], t: number, strict = false): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const v = times[mid] as number;
    if (v < t || (strict && v === t)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Replays `records` at their recorded pace scaled by speed, obeying pause/resume/speed/seek from
 * `controls$`. Due times accumulate from the schedule, not from when a record went out, so a late turn of
 * the event loop does not push the rest of the replay later. At the end it idles (a seek can restart it)
 * unless `loop`, which seeks back to the start of the range.
 */
export function pace<T>(
  records: readonly T[],
  controls$: Observable<ReplayCommand>,
  options: PaceOptions<T>,
): Observable<T> {
  const { times, maxGapMs } = options;
  const scheduler = options.scheduler ?? asyncScheduler;
  const maxBatch = options.maxBatch ?? 2000;
  const n = Math.min(records.length, times.length);
  const first = n ? (times[0] as number) : 0;
  const last = n ? (times[n - 1] as number) : 0;
  const rangeStart = Math.max(first, options.from ?? first);
  const rangeEnd = Math.min(last, options.to ?? last);
  const startIndex = boundIndex(times, rangeStart);
  const endIndex = Math.min(n, boundIndex(times, rangeEnd, true));
  const timeAt = (i: number) => times[i] as number;
  const gap = (recordedMs: number) => Math.min(Math.max(0, recordedMs), maxGapMs);

  return new Observable<T>((subscriber) => {
    let speed = options.speed;
    let paused = false;
    let index = startIndex;
    /** Wall time at which records[index] is due (running) / recorded ms left until it (paused). */
    let due = scheduler.now();
    let remaining = 0;
    let position = rangeStart;
    let action: Subscription | undefined;

    const ended = () => index >= endIndex && !options.loop;
    const scale = (recordedMs: number) => (speed === 'max' ? 0 : recordedMs / speed);
    const headPosition = () => {
      if (paused || speed === 'max' || index >= endIndex) return position;
      const ahead = Math.max(0, due - scheduler.now()) * speed;
      return Math.max(position, timeAt(index) - ahead);
    };
    const report = () => options.onState?.({ speed, paused, position: headPosition(), ended: ended() });

    const cancel = () => {
      action?.unsubscribe();
      action = undefined;
    };
    const schedule = () => {
      cancel();
      if (paused || ended()) return;
      action = scheduler.schedule(run, Math.max(0, due - scheduler.now()));
    };
    const emitState = (at: number) => {
      for (const record of options.stateBefore?.(at) ?? []) subscriber.next(record);
    };

    const seek = (target: number, recordedLead: number) => {
      position = Math.min(Math.max(target, rangeStart), rangeEnd);
      index = Math.max(startIndex, Math.min(endIndex, boundIndex(times, position, true)));
      emitState(index);
      const lead = index < endIndex ? gap(timeAt(index) - position) : recordedLead;
      if (paused) remaining = lead;
      else due = scheduler.now() + scale(lead);
    };

    const run = () => {
      action = undefined;
      const now = scheduler.now();
      let emitted = 0;
      while (index < endIndex && (speed === 'max' ? emitted < maxBatch : due <= now)) {
        subscriber.next(records[index] as T);
        position = timeAt(index);
        emitted++;
        index++;
        if (index < endIndex) due += scale(gap(timeAt(index) - position));
        if (subscriber.closed) return;
      }
      if (speed === 'max') due = now;
      if (index >= endIndex && options.loop) {
        // Start the range again after a short pause, with its opening state (like a seek).
        seek(rangeStart, 0);
        due = now + scale(gap(1000));
      }
      report();
      schedule();
    };

    const control = controls$.subscribe((command) => {
      const now = scheduler.now();
      switch (command.action) {
        case 'pause':
          if (!paused) {
            position = headPosition();
            remaining = speed === 'max' ? 0 : Math.max(0, due - now) * speed;
            paused = true;
            cancel();
          }
          break;
        case 'resume':
          if (paused) {
            paused = false;
            due = now + scale(remaining);
          }
          break;
        case 'speed': {
          const recordedLeft = paused ? remaining : speed === 'max' ? 0 : Math.max(0, due - now) * speed;
          if (!paused) position = headPosition();
          speed = command.speed;
          if (paused) remaining = recordedLeft;
          else due = now + scale(recordedLeft);
          break;
        }
        case 'seek':
          seek(command.position, 0);
          break;
      }
      report();
      schedule();
    });

    if (options.from !== undefined) emitState(startIndex);
    report();
    schedule();
    return () => {
      control.unsubscribe();
      cancel();
    };
  });
}
