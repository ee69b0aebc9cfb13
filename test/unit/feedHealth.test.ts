import { concat, lastValueFrom, of, Subject, throwError } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { FeedHealth } from '../../src/ingest/feedHealth.js';
import { feedsReadiness } from '../../src/roles/readiness.js';

const tick = (ts: number) => ({ symbol: 'AAPL', ts });

/** A FeedHealth on a clock the test sets. */
function health(staleAfterMs = 1000) {
  const clock = { now: 10_000 };
  return { clock, health: new FeedHealth(staleAfterMs, () => clock.now) };
}

describe('FeedHealth', () => {
  it('a registered feed is stale until it ticks, live while it ticks, stale once silent longer than staleAfterMs', () => {
    const { clock, health: h } = health(1000);
    h.register('sim');
    expect(h.state('sim')).toBe('stale');
    expect(h.statuses()).toStrictEqual([{ id: 'sim', state: 'stale' }]); // no lastTs before a tick
    h.markSeen('sim', 5);
    expect(h.state('sim')).toBe('live');
    clock.now += 1000;
    expect(h.state('sim')).toBe('live'); // exactly staleAfterMs: still live
    clock.now += 1;
    expect(h.state('sim')).toBe('stale');
    expect(h.statuses()).toStrictEqual([{ id: 'sim', state: 'stale', lastTs: 5 }]);
  });

  it('marks a tracked feed seen on each value (with its ts), down when it errors or completes, without failing', async () => {
    const { health: h } = health();
    const errors: unknown[] = [];
    const failing = concat(
      of(tick(7)),
      throwError(() => new Error('upstream went away')),
    );
    await expect(lastValueFrom(failing.pipe(h.track('a', (err) => errors.push(err))))).resolves.toEqual(tick(7));
    expect(h.state('a')).toBe('down');
    expect(errors).toEqual([new Error('upstream went away')]);
    expect(h.statuses()).toStrictEqual([{ id: 'a', state: 'down', lastTs: 7 }]);

    const ending = new Subject<{ symbol: string; ts: number }>();
    ending.pipe(h.track('b')).subscribe();
    ending.next(tick(8));
    expect(h.state('b')).toBe('live');
    ending.complete();
    expect(h.state('b')).toBe('down');
    // A failing feed without an onError: down all the same.
    await lastValueFrom(throwError(() => 'no reason').pipe(h.track('c')), { defaultValue: undefined });
    expect(h.state('c')).toBe('down');
  });

  it('a down feed is live again when it is seen', () => {
    const { clock, health: h } = health();
    h.markSeen('a', 1);
    h.markDown('a');
    expect(h.state('a')).toBe('down');
    h.markSeen('a'); // seen without a ts: the last ts stays
    expect(h.state('a')).toBe('live');
    expect(h.statuses()).toStrictEqual([{ id: 'a', state: 'live', lastTs: 1 }]);
    clock.now += 5000;
    expect(h.state('a')).toBe('stale');
  });

  it('counts gaps, shown once there is one', () => {
    const { health: h } = health();
    h.markSeen('a', 1);
    expect(h.statuses()).toStrictEqual([{ id: 'a', state: 'live', lastTs: 1 }]);
    h.recordGap('a');
    h.recordGap('a');
    expect(h.statuses()).toStrictEqual([{ id: 'a', state: 'live', lastTs: 1, gaps: 2 }]);
  });

  it('a replay feed is in state replay whatever its ticks, down if it fails; ready means live or replay', () => {
    const { clock, health: h } = health();
    h.register('rec', { replay: true });
    h.register('rec'); // registering again keeps what it was
    h.register('sim');
    h.markSeen('sim', 1);
    expect(h.state('rec')).toBe('replay');
    const ready = () => feedsReadiness(h.statuses()).ready;
    expect(ready()).toBe(true);
    clock.now += 5000;
    expect(h.state('rec')).toBe('replay');
    expect(h.state('sim')).toBe('stale');
    expect(ready()).toBe(true);
    h.markDown('rec');
    expect(h.state('rec')).toBe('down');
    expect(feedsReadiness(h.statuses())).toEqual({ ready: false, reason: 'no feed is live' });
    expect(h.statuses().map((s) => s.id)).toEqual(['rec', 'sim']);
  });

  it('an unknown feed seen first is a plain (not replay) feed with no gaps', () => {
    const { health: h } = health();
    expect(h.state('never')).toBe('stale'); // asked about before anything: not down, not replay
    h.markSeen('new', 3);
    expect(h.state('new')).toBe('live');
    expect(h.statuses()).toStrictEqual([
      { id: 'never', state: 'stale' },
      { id: 'new', state: 'live', lastTs: 3 },
    ]);
  });
});
