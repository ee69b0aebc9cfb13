import { asyncScheduler, Observable, type SchedulerLike, type Subscriber, type Subscription } from 'rxjs';
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
  return new Observable<T>((subscriber) => {
    const replay = new PacedReplay(tape, options, subscriber);
    const control = controls$.subscribe((command) => replay.command(command));
    replay.start();
    return () => {
      control.unsubscribe();
      replay.close();
    };
  });
}

/**
 * The head's timing: the recorded time it was at (`lastTime`: the last record out, or where a seek landed) at
 * wall time `lastDue`, the speed, and whether (since when) it is paused.
 */
class PaceClock {
  paused = false;
  lastTime: number;
  lastDue: number;
  private pausedAt = 0;

  constructor(
    public speed: Speed,
    private readonly maxGapMs: number,
    private readonly scheduler: SchedulerLike,
    start: number,
  ) {
    this.lastTime = start;
    this.lastDue = scheduler.now();
  }

  /** A recorded wait, a cut silence cut to `maxGapMs`. */
  gap(recordedMs: number): number {
    return Math.min(Math.max(0, recordedMs), this.maxGapMs);
  }

  /** A recorded duration in wall time at the speed. */
  scale(recordedMs: number): number {
    return this.speed === 'max' ? 0 : recordedMs / this.speed;
  }

  /** The wall time a record at recorded `time` is due. */
  dueOf(time: number): number {
    return this.lastDue + this.scale(this.gap(time - this.lastTime));
  }

  /** Where the head is now on its way to the next record at `nextTime`. */
  position(nextTime: number | undefined): number {
    const { speed, lastTime } = this;
    if (speed === 'max' || nextTime === undefined) return lastTime;
    const elapsed = Math.max(0, ((this.paused ? this.pausedAt : this.scheduler.now()) - this.lastDue) * speed);
    const wait = this.gap(nextTime - lastTime);
    // Across a cut silence the head moves over the whole recorded gap in the shortened wait.
    return wait === 0 ? nextTime : lastTime + (nextTime - lastTime) * Math.min(1, elapsed / wait);
  }

  /** A record at `time` went out at `now`. */
  stepped(time: number, now: number): void {
    this.lastDue = this.speed === 'max' ? now : this.dueOf(time);
    this.lastTime = time;
  }

  /** A seek landed at `position` at `now`; the next record waits `leadMs` recorded ms more (a loop's pause). */
  landed(position: number, now: number, leadMs: number): void {
    this.lastTime = position;
    this.lastDue = now + this.scale(this.gap(leadMs));
    if (this.paused) this.pausedAt = now;
  }

  /** Whether it was playing (and now is paused). */
  pause(now: number): boolean {
    if (this.paused) return false;
    this.paused = true;
    this.pausedAt = now;
    return true;
  }

  resume(now: number): void {
    if (!this.paused) return;
    this.paused = false;
    this.lastDue += now - this.pausedAt;
  }

  /**
   * The recorded time since the head's last step is kept; what is left of the wait is rescaled. At max speed
   * the head stands at its last step, so it steps to where it is on its way to the record at `nextTime`.
   */
  setSpeed(speed: Speed, now: number, nextTime: number | undefined): void {
    if (speed === 'max' && this.speed !== 'max') this.lastTime = this.position(nextTime);
    const at = this.paused ? this.pausedAt : now;
    const elapsed = this.speed === 'max' ? 0 : (at - this.lastDue) * this.speed;
    this.speed = speed;
    this.lastDue = at - this.scale(elapsed);
  }
}

/** The records ahead of the head: the tape's cursor, read a batch at a time, with a read under way marked. */
class TapeReader<T> {
  cursor: Cursor<T> | undefined;
  /** No record is left in the range. */
  exhausted = false;
  /** A batch or a seek is being read: the head waits for it. */
  waiting = false;
  /** Bumped by every seek, so that what an older one reads is dropped. */
  generation = 0;
  private batch: Batch<T> | undefined;
  private next = 0;

  constructor(
    /** A batch that had to be waited for is here. */
    private readonly onArrived: () => void,
    private readonly fail: (err: unknown) => void,
  ) {}

  /** The pacing time of the next record, if one is read. */
  nextTime(): number | undefined {
    const { batch, next } = this;
    return batch && next < batch.records.length ? (batch.times[next] as number) : undefined;
  }

  /** The next record (there is one: nextTime() said when). */
  take(): T {
    return this.batch?.records[this.next++] as T;
  }

  exhaust(): void {
    this.exhausted = true;
    this.cursor?.close();
    this.batch = undefined;
  }

  /** The next batch: true when it (or the end) is here now, false when the head must wait for it. */
  refill(): boolean {
    this.batch = undefined;
    if (!this.cursor) {
      this.exhaust();
      return true;
    }
    const read = this.cursor.next();
    if (!isPromise(read)) {
      this.accept(read);
      return true;
    }
    this.waiting = true;
    const reading = this.generation;
    read.then((b) => {
      if (reading !== this.generation) return;
      this.waiting = false;
      this.accept(b);
      this.onArrived();
    }, this.fail);
    return false;
  }

  /** Drops everything read for a seek, which waits; its generation. */
  startSeek(): number {
    const seeking = ++this.generation;
    this.cursor?.close();
    this.cursor = undefined;
    this.batch = undefined;
    this.exhausted = false;
    this.waiting = true;
    return seeking;
  }

  /** The seek's cursor, to read on from. */
  landed(cursor: Cursor<T>): void {
    this.waiting = false;
    this.cursor = cursor;
  }

  close(): void {
    this.generation++;
    this.cursor?.close();
  }

  private accept(read: Batch<T> | null): void {
    if (read === null) this.exhaust();
    else {
      this.batch = read;
      this.next = 0;
    }
  }
}

/** One subscription's replay: records out when due, the controls obeyed, seeks and loops, the state reported. */
class PacedReplay<T, S extends Seek<T>> {
  private readonly scheduler: SchedulerLike;
  private readonly maxBatch: number;
  private readonly rangeStart: number;
  private readonly rangeEnd: number;
  private readonly clock: PaceClock;
  private readonly reader: TapeReader<T>;
  private jumps = 0;
  private action: Subscription | undefined;

  constructor(
    private readonly tape: Tape<T, S>,
    private readonly options: PaceOptions<S>,
    private readonly subscriber: Subscriber<T>,
  ) {
    this.scheduler = options.scheduler ?? asyncScheduler;
    this.maxBatch = options.maxBatch ?? 2000;
    this.rangeStart = Math.max(tape.first, options.from ?? tape.first);
    this.rangeEnd = Math.min(tape.last, options.to ?? tape.last);
    this.clock = new PaceClock(options.speed, options.maxGapMs, this.scheduler, this.rangeStart);
    this.reader = new TapeReader<T>(
      () => this.run(),
      (err) => subscriber.error(err),
    );
  }

  start(): void {
    this.seek(this.rangeStart, false, false, 0);
  }

  command(command: ReplayCommand): void {
    const now = this.scheduler.now();
    switch (command.action) {
      case 'pause':
        if (this.clock.pause(now)) this.cancel();
        break;
      case 'resume':
        this.clock.resume(now);
        break;
      case 'speed':
        this.clock.setSpeed(command.speed, now, this.reader.nextTime());
        break;
      case 'seek':
        this.seek(command.position, true, true, 0);
        return;
    }
    this.report();
    this.schedule();
  }

  close(): void {
    this.cancel();
    this.reader.close();
  }

  private report(): void {
    const { clock, reader } = this;
    this.options.onState?.({
      speed: clock.speed,
      paused: clock.paused,
      position: clock.position(reader.nextTime()),
      ended: reader.exhausted && !this.options.loop,
      jumps: this.jumps,
    });
  }

  private cancel(): void {
    this.action?.unsubscribe();
    this.action = undefined;
  }

  private schedule(): void {
    this.cancel();
    const { reader } = this;
    if (this.clock.paused || reader.waiting || reader.exhausted || this.subscriber.closed) return;
    const time = reader.nextTime();
    const delay = time === undefined ? 0 : Math.max(0, this.clock.dueOf(time) - this.scheduler.now());
    this.action = this.scheduler.schedule(() => this.run(), delay);
  }

  private seek(target: number, inclusive: boolean, jump: boolean, leadMs: number): void {
    const seeking = this.reader.startSeek();
    this.cancel();
    const position = Math.min(Math.max(target, this.rangeStart), this.rangeEnd);
    const apply = (seek: S) => {
      if (seeking !== this.reader.generation || this.subscriber.closed) {
        seek.cursor.close();
        return;
      }
      this.reader.landed(seek.cursor);
      if (jump) this.jumps++;
      this.options.onSeek?.(seek, jump);
      for (const record of seek.state) {
        this.subscriber.next(record);
        if (this.subscriber.closed) return;
      }
      this.clock.landed(position, this.scheduler.now(), leadMs);
      this.report();
      this.schedule();
    };
    const seek = this.tape.seek(position, inclusive);
    if (isPromise(seek)) seek.then(apply, (err) => this.subscriber.error(err));
    else apply(seek);
  }

  /** Sends every record now due (at `max` speed, a batch of them), then waits for the next. */
  private run(): void {
    this.action = undefined;
    const { reader, clock, subscriber } = this;
    if (reader.waiting || clock.paused) return;
    const now = this.scheduler.now();
    let emitted = 0;
    while (!reader.exhausted) {
      const time = reader.nextTime();
      if (time === undefined) {
        if (!reader.refill()) return;
        continue;
      }
      if (time > this.rangeEnd) {
        reader.exhaust();
        break;
      }
      if (clock.speed === 'max' ? emitted >= this.maxBatch : clock.dueOf(time) > now) break;
      const record = reader.take();
      clock.stepped(time, now);
      emitted++;
      subscriber.next(record);
      if (subscriber.closed) return;
    }
    if (reader.exhausted && this.options.loop) {
      this.seek(this.rangeStart, false, true, LOOP_PAUSE_MS);
      return;
    }
    this.report();
    this.schedule();
  }
}
