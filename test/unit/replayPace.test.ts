import { NEVER, take } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import type { ReplayCommand } from '../../src/protocol.js';
import { boundIndex, type PaceState, pace } from '../../src/record/pace.js';

const scheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
const letters = (n: number) => 'abcdefghij'.slice(0, n).split('');

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
      const out = pace(letters(3), NEVER, { times: [1000, 1010, 1030], speed: 1, maxGapMs: 5000 });
      expectObservable(out).toBe('a 9ms b 19ms c');
    });
  });

  it('divides the offsets by the speed', () => {
    scheduler().run(({ expectObservable }) => {
      const out = pace(letters(4), NEVER, { times: [0, 20, 60, 100], speed: 4, maxGapMs: 5000 });
      expectObservable(out).toBe('a 4ms b 9ms c 9ms d');
    });
  });

  it('emits records with the same time together', () => {
    scheduler().run(({ expectObservable }) => {
      const out = pace(letters(4), NEVER, { times: [0, 0, 10, 10], speed: 1, maxGapMs: 5000 });
      expectObservable(out).toBe('(ab) 6ms (cd)');
    });
  });

  it('cuts an idle gap longer than maxGapMs to maxGapMs', () => {
    scheduler().run(({ expectObservable }) => {
      const out = pace(letters(3), NEVER, { times: [0, 3_600_000, 3_600_010], speed: 1, maxGapMs: 20 });
      expectObservable(out).toBe('a 19ms b 9ms c');
    });
  });

  it('at max speed emits everything at once, in order, in batches', () => {
    scheduler().run(({ expectObservable }) => {
      const out = pace(letters(5), NEVER, { times: [0, 1e6, 2e6, 3e6, 4e6], speed: 'max', maxGapMs: 5000 });
      expectObservable(out).toBe('(abcde)');
      const batched = pace(letters(5), NEVER, { times: [0, 1, 2, 3, 4], speed: 'max', maxGapMs: 5000, maxBatch: 2 });
      expectObservable(batched).toBe('(abcde)');
    });
  });

  it('pause holds the next record; resume releases it after the time that was left', () => {
    scheduler().run(({ hot, expectObservable }) => {
      const controls = hot<ReplayCommand>('15ms p 24ms r', COMMANDS);
      // c was due at 20 (5 ms left at the pause at 15): after the resume at 40, it is due at 45.
      const out = pace(letters(4), controls, { times: [0, 10, 20, 30], speed: 1, maxGapMs: 5000 });
      expectObservable(out).toBe('a 9ms b 34ms c 9ms d');
    });
  });

  it('a speed change rescales what is left of the current wait', () => {
    scheduler().run(({ hot, expectObservable }) => {
      const controls = hot<ReplayCommand>('4ms s', COMMANDS);
      // At 4, b has 6 recorded ms left: 3 ms at 2x, so b at 7, then c 5 ms later.
      const out = pace(letters(3), controls, { times: [0, 10, 20], speed: 1, maxGapMs: 5000 });
      expectObservable(out).toBe('a 6ms b 4ms c');
    });
  });

  it('switching to max flushes the rest at once', () => {
    scheduler().run(({ hot, expectObservable }) => {
      const controls = hot<ReplayCommand>('4ms m', COMMANDS);
      const out = pace(letters(4), controls, { times: [0, 100, 200, 300], speed: 1, maxGapMs: 5000 });
      expectObservable(out).toBe('a 3ms (bcd)');
    });
  });

  it('seek emits the state before the position, then continues from there at the recorded pace', () => {
    scheduler().run(({ hot, expectObservable }) => {
      const controls = hot<ReplayCommand>('5ms k', COMMANDS);
      const out = pace(letters(5), controls, {
        times: [0, 10, 20, 30, 40],
        speed: 1,
        maxGapMs: 5000,
        stateBefore: (index) => [`state<${index}`],
      });
      // Seek to 20 at 5: state of a, b, c; d (time 30) 10 ms later, e 10 ms after it.
      expectObservable(out, '^ 40ms !').toBe('a 4ms x 9ms d 9ms e', { a: 'a', x: 'state<3', d: 'd', e: 'e' });
    });
  });

  it('plays only the from/to range, opening with the state before it', () => {
    scheduler().run(({ expectObservable }) => {
      const out = pace(letters(5), NEVER, {
        times: [0, 10, 20, 30, 40],
        speed: 1,
        maxGapMs: 5000,
        from: 10,
        to: 30,
        stateBefore: (index) => [`state<${index}`],
      });
      expectObservable(out).toBe('(xb) 6ms c 9ms d', { x: 'state<1', b: 'b', c: 'c', d: 'd' });
    });
  });

  it('loops: after the end, the range starts again with its opening state', () => {
    scheduler().run(({ expectObservable }) => {
      const out = pace(letters(2), NEVER, {
        times: [0, 10],
        speed: 1,
        maxGapMs: 100,
        loop: true,
        stateBefore: (index) => [`state<${index}`],
      }).pipe(take(5));
      // After b at 10: the state at the start (a), then b again after the 100 ms restart pause.
      expectObservable(out).toBe('a 9ms (bx) 96ms (bx|)', { a: 'a', b: 'b', x: 'state<1' });
    });
  });

  it('reports pause, speed, position and the end', () => {
    scheduler().run(({ hot, flush }) => {
      const states: PaceState[] = [];
      const controls = hot<ReplayCommand>('15ms p 4ms s 4ms r', COMMANDS);
      pace(letters(3), controls, {
        times: [1000, 1010, 1030],
        speed: 1,
        maxGapMs: 5000,
        onState: (s) => states.push(s),
      }).subscribe();
      flush();
      const paused = states.find((s) => s.paused);
      expect(paused).toMatchObject({ paused: true, speed: 1, position: 1015, ended: false });
      expect(states.at(-1)).toMatchObject({ paused: false, speed: 2, position: 1030, ended: true });
    });
  });

  it('boundIndex finds the first time at or after (or strictly after) a value', () => {
    const times = [1, 2, 2, 2, 5];
    expect(boundIndex(times, 2)).toBe(1);
    expect(boundIndex(times, 2, true)).toBe(4);
    expect(boundIndex(times, 0)).toBe(0);
    expect(boundIndex(times, 9)).toBe(5);
  });
});
