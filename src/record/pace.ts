import { asyncScheduler, Observable, type SchedulerLike, type Subscription } from 'rxjs';
import type { ReplayCommand } from '../protocol.js';
import { type Batch, type Cursor, isPromise, type Seek, type Tape } from './tape.js';

export type Speed = number | 'max';

export type PaceState = {
  speed: Speed;
  paused: boolean;
  /** Recorded time of the replay head. */
  position: number;
  /** The head reached the end (of the range) and is not looping. */
  ended: boolean;
  /** How many times the head jumped (seeks, loops). */
  jumps: number;
};

export type PaceOptions<S> = {
  speed: Speed;
  /** A recorded silence longer than this is cut to this (so a lunch break does not stall a demo). */
  maxGapMs: number;
  loop?: boolean;
  /** Recorded time range to play, inclusive. */
  from?: number;
  to?: number;
  /** At `max` speed, records per scheduler turn (so the event loop still serves sockets). */
  maxBatch?: number;
  onState?: (state: PaceState) => void;
  /**
   * Each seek as it takes effect, before its state is emitted: the start (`jump` false), then every seek and
   * loop (`jump` true).
   */
  onSeek?: (seek: S, jump: boolean) => void;
  scheduler?: SchedulerLike;
};

/** Wall time before the range starts again when looping, in recorded ms (scaled by the speed, cut by maxGapMs). */
const LOOP_PAUSE_MS = 1000;

/**
 * Replays a tape at its recorded pace scaled by speed, obeying pause/resume/speed/seek from `controls$`.
 * Due times accumulate from the schedule, not from when a record went out, so a late turn of the event loop
 * does not push the rest of the replay later. Records come from the tape's cursor in batches; while one is
 * being read (or a seek is), the head waits. At the end it idles (a seek can restart it) unless `loop`,
 * which plays the range again from its start, opening with the same state as the first time.
 */
export function pace<T, S extends Seek<T>>(
  tape: Tape<T, S>,
  controls$: Observable<ReplayCommand>,
  options: PaceOptions<S>,
): Observable<T> {
  const { maxGapMs } = options;
  const scheduler = options.scheduler ?? asyncScheduler;
  const maxBatch = options.maxBatch ?? 2000;
  const rangeStart = Math.max(tape.first, options.from ?? tape.first);
  const rangeEnd = Math.min(tape.last, options.to ?? tape.last);
  const gap = (recordedMs: number) => Math.min(Math.max(0, recordedMs), maxGapMs);

  return new Observable<T>((subscriber) => {
    let speed = options.speed;
    let paused = false;
    let pausedAt = 0;
    let jumps = 0;
    let cursor: Cursor<T> | undefined;
    let batch: Batch<T> | undefined;
    let next = 0;
    /** No record is left in the range. */
    let exhausted = false;
    /** A batch or a seek is being read: the head waits for it. */
    let waiting = false;
    /** Bumped by every seek, so that what an older one reads is dropped. */
    let generation = 0;
    /** The head was at recorded time `lastTime` (the last record out, or where a seek landed) at wall time `lastDue`. */
    let lastTime = rangeStart;
    let lastDue = scheduler.now();
    let action: Subscription | undefined;

    const scale = (recordedMs: number) => (speed === 'max' ? 0 : recordedMs / speed);
    const nextTime = () => (batch && next < batch.records.length ? (batch.times[next] as number) : undefined);
    const dueOf = (time: number) => lastDue + scale(gap(time - lastTime));
    const headPosition = () => {
      const time = nextTime();
      if (speed === 'max' || time === undefined) return lastTime;
      const elapsed = Math.max(0, ((paused ? pausedAt : scheduler.now()) - lastDue) * speed);
      const wait = gap(time - lastTime);
      // Across a cut silence the head moves over the whole recorded gap in the shortened wait.
      return wait === 0 ? time : lastTime + (time - lastTime) * Math.min(1, elapsed / wait);
    };
    const report = () =>
      options.onState?.({ speed, paused, position: headPosition(), ended: exhausted && !options.loop, jumps });

    const cancel = () => {
      action?.unsubscribe();
      action = undefined;
    };
    const fail = (err: unknown) => subscriber.error(err);
    const schedule = () => {
      cancel();
      if (paused || waiting || exhausted || subscriber.closed) return;
      const time = nextTime();
      const delay = time === undefined ? 0 : Math.max(0, dueOf(time) - scheduler.now());
      action = scheduler.schedule(run, delay);
    };
    const exhaust = () => {
      exhausted = true;
      cursor?.close();
      batch = undefined;
    };
    const accept = (read: Batch<T> | null) => {
      if (read === null) exhaust();
      else {
        batch = read;
        next = 0;
      }
    };
    /** The next batch: true when it (or the end) is here now, false when the head must wait for it. */
    const refill = (): boolean => {
      batch = undefined;
      if (!cursor) {
        exhaust();
        return true;
      }
      const read = cursor.next();
      if (!isPromise(read)) {
        accept(read);
        return true;
      }
      waiting = true;
      const reading = generation;
      read.then((b) => {
        if (reading !== generation) return;
        waiting = false;
        accept(b);
        run();
      }, fail);
      return false;
    };

    const startSeek = (target: number, inclusive: boolean, jump: boolean, leadMs: number) => {
      const seeking = ++generation;
      cancel();
      cursor?.close();
      cursor = undefined;
      batch = undefined;
      exhausted = false;
      waiting = true;
      const position = Math.min(Math.max(target, rangeStart), rangeEnd);
      const apply = (seek: S) => {
        if (seeking !== generation || subscriber.closed) {
          seek.cursor.close();
          return;
        }
        waiting = false;
        cursor = seek.cursor;
        if (jump) jumps++;
        options.onSeek?.(seek, jump);
        for (const record of seek.state) {
          subscriber.next(record);
          if (subscriber.closed) return;
        }
        const now = scheduler.now();
        lastTime = position;
        lastDue = now + scale(gap(leadMs));
        if (paused) pausedAt = now;
        report();
        schedule();
      };
      const seek = tape.seek(position, inclusive);
      if (isPromise(seek)) seek.then(apply, fail);
      else apply(seek);
    };

    function run(): void {
      action = undefined;
      if (waiting || paused) return;
      const now = scheduler.now();
      let emitted = 0;
      while (!exhausted) {
        const current = batch;
        if (!current || next >= current.records.length) {
          if (!refill()) return;
          continue;
        }
        const time = current.times[next] as number;
        if (time > rangeEnd) {
          exhaust();
          break;
        }
        if (speed === 'max' ? emitted >= maxBatch : dueOf(time) > now) break;
        const record = current.records[next++] as T;
        lastDue = speed === 'max' ? now : dueOf(time);
        lastTime = time;
        emitted++;
        subscriber.next(record);
        if (subscriber.closed) return;
      }
      if (exhausted && options.loop) {
        startSeek(rangeStart, false, true, LOOP_PAUSE_MS);
        return;
      }
      report();
      schedule();
    }

    const control = controls$.subscribe((command) => {
      const now = scheduler.now();
      switch (command.action) {
        case 'pause':
          if (!paused) {
            paused = true;
            pausedAt = now;
            cancel();
          }
          break;
        case 'resume':
          if (paused) {
            paused = false;
            lastDue += now - pausedAt;
          }
          break;
        case 'speed': {
          // The recorded time since the head's last step is kept; what is left of the wait is rescaled.
          const at = paused ? pausedAt : now;
          const elapsed = speed === 'max' ? 0 : (at - lastDue) * speed;
          speed = command.speed;
          lastDue = at - scale(elapsed);
          break;
        }
        case 'seek':
          startSeek(command.position, true, true, 0);
          return;
      }
      report();
      schedule();
    });

    startSeek(rangeStart, false, false, 0);
    return () => {
      generation++;
      control.unsubscribe();
      cancel();
      cursor?.close();
    };
  });
}
