import { firstValueFrom, NEVER, Subject, take, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ReplayCommand } from '../../src/protocol.js';
import { monotonicScheduler } from '../../src/record/monotonicScheduler.js';
import { type PaceState, pace } from '../../src/record/pace.js';
import { type Cursor, indexAfter, type Seek, type Tape } from '../../src/record/tape.js';
import { arrayTape } from '../helpers/arrayTape.js';

const scheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
const letters = (n: number) => 'abcdefghij'.slice(0, n).split('');
/** Records a, b, c... at `times`, in batches of two (so batch ends are crossed), `state<i` restated before record i. */
const tape = (times: number[], withState = false) =>
  arrayTape(letters(times.length), times, {
    batch: 2,
    ...(withState ? { stateBefore: (index: number) => [`state<${index}`] } : {}),
  });

/** Commands by marble letter: p pause, r resume, s speed 2, m speed max, k seek to 20. */
const COMMANDS: Record<string, ReplayCommand> = {
  p: { action: 'pause' },
  r: { action: 'resume' },
  s: { action: 'speed', speed: 2 },
  m: { action: 'speed', speed: 'max' },
  k: { action: 'seek', position: 20 },
};

describe('pace (replay pacing)', () => {
  it('emits records at their recorded offsets at 1x', () => {
    scheduler().run(({ expectObservable }) => {
      const out = pace(tape([1000, 1010, 1030]), NEVER, { speed: 1, maxGapMs: 5000 });
      expectObservable(out).toBe('a 9ms b 19ms c');
    });
  });

  it('divides the offsets by the speed', () => {
    scheduler().run(({ expectObservable }) => {
      const out = pace(tape([0, 20, 60, 100]), NEVER, { speed: 4, maxGapMs: 5000 });
      expectObservable(out).toBe('a 4ms b 9ms c 9ms d');
    });
  });

  it('emits records with the same time together', () => {
    scheduler().run(({ expectObservable }) => {
      const out = pace(tape([0, 0, 10, 10]), NEVER, { speed: 1, maxGapMs: 5000 });
      expectObservable(out).toBe('(ab) 6ms (cd)');
    });
  });

  it('cuts an idle gap longer than maxGapMs to maxGapMs', () => {
    scheduler().run(({ expectObservable }) => {
      const out = pace(tape([0, 3_600_000, 3_600_010]), NEVER, { speed: 1, maxGapMs: 20 });
      expectObservable(out).toBe('a 19ms b 9ms c');
    });
  });

  it('at max speed emits everything at once, in order, in batches', () => {
    scheduler().run(({ expectObservable }) => {
      const out = pace(tape([0, 1e6, 2e6, 3e6, 4e6]), NEVER, { speed: 'max', maxGapMs: 5000 });
      expectObservable(out).toBe('(abcde)');
      const batched = pace(tape([0, 1, 2, 3, 4]), NEVER, { speed: 'max', maxGapMs: 5000, maxBatch: 2 });
      expectObservable(batched).toBe('(abcde)');
    });
  });

  it('pause holds the next record; resume releases it after the time that was left', () => {
    scheduler().run(({ hot, expectObservable }) => {
      const controls = hot<ReplayCommand>('15ms p 24ms r', COMMANDS);
      // c was due at 20 (5 ms left at the pause at 15): after the resume at 40, it is due at 45.
      const out = pace(tape([0, 10, 20, 30]), controls, { speed: 1, maxGapMs: 5000 });
      expectObservable(out).toBe('a 9ms b 34ms c 9ms d');
    });
  });

  it('a speed change rescales what is left of the current wait', () => {
    scheduler().run(({ hot, expectObservable }) => {
      const controls = hot<ReplayCommand>('4ms s', COMMANDS);
      // At 4, b has 6 recorded ms left: 3 ms at 2x, so b at 7, then c 5 ms later.
      const out = pace(tape([0, 10, 20]), controls, { speed: 1, maxGapMs: 5000 });
      expectObservable(out).toBe('a 6ms b 4ms c');
    });
  });

  it('switching to max flushes the rest at once', () => {
    scheduler().run(({ hot, expectObservable }) => {
      const controls = hot<ReplayCommand>('4ms m', COMMANDS);
      const out = pace(tape([0, 100, 200, 300]), controls, { speed: 1, maxGapMs: 5000 });
      expectObservable(out).toBe('a 3ms (bcd)');
    });
  });

  it('seek emits the state before the position, then continues from there at the recorded pace', () => {
    scheduler().run(({ hot, expectObservable }) => {
      const controls = hot<ReplayCommand>('5ms k', COMMANDS);
      const out = pace(tape([0, 10, 20, 30, 40], true), controls, { speed: 1, maxGapMs: 5000 });
      // Seek to 20 at 5: state of a, b, c; d (time 30) 10 ms later, e 10 ms after it.
      expectObservable(out, '^ 40ms !').toBe('a 4ms x 9ms d 9ms e', { a: 'a', x: 'state<3', d: 'd', e: 'e' });
    });
  });

  it('plays only the from/to range, opening with the state before it', () => {
    scheduler().run(({ expectObservable }) => {
      const out = pace(tape([0, 10, 20, 30, 40], true), NEVER, { speed: 1, maxGapMs: 5000, from: 10, to: 30 });
      expectObservable(out).toBe('(xb) 6ms c 9ms d', { x: 'state<1', b: 'b', c: 'c', d: 'd' });
    });
  });

  it('loops: after the end, the range plays again from its start, with its opening state', () => {
    scheduler().run(({ expectObservable }) => {
      const out = pace(tape([0, 10, 20], true), NEVER, { speed: 1, maxGapMs: 100, loop: true, from: 10 }).pipe(take(6));
      // The state before 10, b, c; at the end the state again, and b after the restart pause (cut to 100 ms).
      expectObservable(out).toBe('(xb) 6ms (cx) 96ms b 9ms (c|)', { b: 'b', c: 'c', x: 'state<1' });
    });
  });

  it('tells each seek as it takes effect: the start, then seeks and loops as jumps', () => {
    scheduler().run(({ hot, flush }) => {
      const seeks: boolean[] = [];
      const controls = hot<ReplayCommand>('5ms k', COMMANDS);
      pace(tape([0, 10, 20, 30], true), controls, {
        speed: 1,
        maxGapMs: 5000,
        onSeek: (_seek, jump) => seeks.push(jump),
      }).subscribe();
      flush();
      expect(seeks).toEqual([false, true]);
    });
  });

  it('a loop is a jump too, counted in the state', () => {
    scheduler().run(({ flush }) => {
      const seeks: boolean[] = [];
      const states: PaceState[] = [];
      pace(tape([0, 10]), NEVER, {
        speed: 1,
        maxGapMs: 50,
        loop: true,
        onSeek: (_seek, jump) => seeks.push(jump),
        onState: (s) => states.push(s),
      })
        .pipe(take(5))
        .subscribe();
      flush();
      expect(seeks).toEqual([false, true, true]);
      expect(states.at(-1)).toMatchObject({ jumps: 2, ended: false });
    });
  });

  /** The states reported while records at 1000, 1010 and 1030 play at 1x under `commands` (marbles). */
  const statesUnder = (commands: string): PaceState[] => {
    const states: PaceState[] = [];
    scheduler().run(({ hot, flush }) => {
      const controls = hot<ReplayCommand>(commands, COMMANDS);
      pace(tape([1000, 1010, 1030]), controls, {
        speed: 1,
        maxGapMs: 5000,
        onState: (s) => states.push(s),
      }).subscribe();
      flush();
    });
    return states;
  };

  it('reports pause, speed, position, jumps and the end', () => {
    const states = statesUnder('15ms p 4ms s 4ms r');
    const paused = states.find((s) => s.paused);
    expect(paused).toMatchObject({ paused: true, speed: 1, position: 1015, ended: false, jumps: 0 });
    expect(states.at(-1)).toMatchObject({ paused: false, speed: 2, position: 1030, ended: true, jumps: 0 });
  });

  // Found on main: paused between two records, a switch to max speed reported the last record's time, an
  // earlier position than the pause's.
  it('keeps the position a paused head is at when the speed goes to max', () => {
    const paused = statesUnder('15ms p 4ms m').filter((s) => s.paused);
    expect(paused.map((s) => [s.speed, s.position])).toEqual([
      [1, 1015],
      ['max', 1015],
    ]);
  });

  it('indexAfter finds the first time past a value (or at or past it)', () => {
    const times = [1, 2, 2, 2, 5];
    expect(indexAfter(times, 2, false)).toBe(1);
    expect(indexAfter(times, 2, true)).toBe(4);
    expect(indexAfter(times, 0, false)).toBe(0);
    expect(indexAfter(times, 9, false)).toBe(5);
  });
});

/** A tape whose reads and seeks answer later (as a file does), over the records a, b, c... at `times`. */
function slowTape(times: number[]): Tape<string> {
  const inner = arrayTape(letters(times.length), times, { batch: 2, stateBefore: (i) => [`state<${i}`] });
  const later = <T>(value: T) => new Promise<T>((resolve) => setTimeout(() => resolve(value), 5));
  return {
    first: inner.first,
    last: inner.last,
    async seek(position, inclusive) {
      const seek: Seek<string> = await later(await inner.seek(position, inclusive));
      const cursor: Cursor<string> = {
        next: async () => later(await seek.cursor.next()),
        close: () => seek.cursor.close(),
      };
      return { state: seek.state, cursor };
    },
  };
}

describe('pace over a tape that answers later', () => {
  it('plays every record in order at max speed, across batches', async () => {
    const out = await firstValueFrom(
      pace(slowTape([0, 1, 2, 3, 4]), NEVER, { speed: 'max', maxGapMs: 5000 }).pipe(take(5), toArray()),
    );
    expect(out).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('a seek while the start is being read drops what that read brings', async () => {
    const controls = new Subject<ReplayCommand>();
    const seen: string[] = [];
    const done = new Promise<void>((resolve) => {
      pace(slowTape([0, 10, 20, 30, 40]), controls, { speed: 'max', maxGapMs: 5000 })
        .pipe(take(2))
        .subscribe({ next: (r) => seen.push(r), complete: resolve });
    });
    controls.next({ action: 'seek', position: 30 });
    await done;
    expect(seen).toEqual(['state<4', 'e']);
  });
});

describe('pace on the real clock', () => {
  afterEach(() => vi.restoreAllMocks());

  it('on monotonicScheduler (what the replay feed runs on), keeps its schedule when the wall clock steps', async () => {
    const arrivals: number[] = [];
    const wall = Date.now.bind(Date);
    await new Promise<void>((resolve, reject) =>
      pace(tape([0, 150, 300]), NEVER, { speed: 1, maxGapMs: 5000, scheduler: monotonicScheduler })
        .pipe(take(3))
        .subscribe({
          next: () => {
            arrivals.push(performance.now());
            // After the first record the wall clock jumps 10 s ahead (NTP, a resumed VM): paced by it, b and c
            // would come at once.
            if (arrivals.length === 1) vi.spyOn(Date, 'now').mockImplementation(() => wall() + 10_000);
          },
          complete: resolve,
          error: reject,
        }),
    );
    const [a = 0, b = 0, c = 0] = arrivals;
    expect(b - a).toBeGreaterThanOrEqual(140);
    expect(c - a).toBeGreaterThanOrEqual(290);
  });
});
