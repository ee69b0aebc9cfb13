import { DateTime } from 'luxon';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { statusChanges } from '../../src/delivery/statusBoard.js';
import { FeedHealth } from '../../src/ingest/feedHealth.js';
import { currentStatus } from '../../src/ingest/serviceStatus.js';
import type { ReplayStatus } from '../../src/protocol.js';

const market = {
  exchange: 'NYSE/Nasdaq',
  zone: 'America/New_York',
  preOpen: '04:00',
  open: '09:30',
  close: '16:00',
  postClose: '20:00',
  holidays: [],
  earlyCloses: [],
  earlyClose: '13:00',
  earlyPostClose: '17:00',
};
const nySaturday = DateTime.fromISO('2026-11-21T12:00', { zone: 'America/New_York' }).toMillis();

describe('currentStatus', () => {
  it('gives feed states and the session at the wall clock', () => {
    const health = new FeedHealth(1000, () => nySaturday);
    health.markSeen('sim', nySaturday);
    // Strict: no replay key (not even undefined) outside a replay.
    expect(currentStatus({ health, market, now: () => nySaturday })).toStrictEqual({
      feeds: [{ id: 'sim', state: 'live', lastTs: nySaturday }],
      session: {
        exchange: 'NYSE/Nasdaq',
        state: 'closed',
        nextChange: '2026-11-23T04:00:00.000-05:00',
        zone: 'America/New_York',
      },
    });
  });

  it('shows the session of the recorded moment during a replay', () => {
    const health = new FeedHealth(1000, () => nySaturday);
    health.register('replay', { replay: true });
    const position = DateTime.fromISO('2026-11-20T10:15', { zone: 'America/New_York' }).toMillis();
    const replay: ReplayStatus = { speed: 10, paused: false, position };
    const status = currentStatus({ health, market, now: () => nySaturday, replay: () => replay });
    expect(status.session?.state).toBe('open');
    expect(status.replay).toEqual(replay);
    expect(status.feeds).toEqual([{ id: 'replay', state: 'replay' }]);
  });
});

describe('statusChanges', () => {
  it('emits the status at once, then only when a state changes (not when timestamps move)', () => {
    const scheduler = new TestScheduler((a, e) => expect(a).toEqual(e));
    const observed: [number, string | undefined][] = [];
    scheduler.run(({ flush }) => {
      const now = () => scheduler.now();
      const health = new FeedHealth(300, now);
      // The feed ticks every 100 ms until 1 s, then falls silent: stale 300 ms after its last tick.
      health.markSeen('sim', now());
      for (let t = 100; t <= 1000; t += 100) scheduler.schedule(() => health.markSeen('sim', now()), t);
      const subscription = statusChanges(
        () => currentStatus({ health, market, now: () => nySaturday + now() }),
        250,
        scheduler,
      ).subscribe((s) => observed.push([scheduler.now(), s.feeds[0]?.state]));
      scheduler.schedule(() => subscription.unsubscribe(), 3000);
      flush();
    });
    // Checked every 250 ms: live from the start, stale at the first check past 1000 + 300 ms, nothing else.
    expect(observed).toEqual([
      [0, 'live'],
      [1500, 'stale'],
    ]);
  });

  // Found on main: the position was compared in whole recorded seconds, so at 4x and more every 250 ms check
  // sent a status (20 in 5 s at 10x) where the protocol says once a second.
  it('sends a moving replay position once a second of wall time at any speed, and a pause at once', () => {
    const scheduler = new TestScheduler((a, e) => expect(a).toEqual(e));
    const observed: [number, number, boolean][] = [];
    scheduler.run(({ flush }) => {
      const health = new FeedHealth(300, () => scheduler.now());
      health.register('replay', { replay: true });
      const startedAt = DateTime.fromISO('2026-11-20T10:15', { zone: 'America/New_York' }).toMillis();
      let paused = false;
      let position = startedAt;
      // 10x: every 250 ms of wall time the recording moves 2.5 s, until the pause at 2600 ms.
      for (let t = 250; t <= 4000; t += 250)
        scheduler.schedule(() => {
          if (!paused) position += 2500;
        }, t);
      scheduler.schedule(() => {
        paused = true;
      }, 2600);
      const replay = (): ReplayStatus => ({ speed: 10, paused, position });
      const subscription = statusChanges(
        () => currentStatus({ health, market, now: () => nySaturday, replay }),
        250,
        scheduler,
      ).subscribe((s) =>
        observed.push([scheduler.now(), (s.replay?.position ?? 0) - startedAt, s.replay?.paused ?? false]),
      );
      scheduler.schedule(() => subscription.unsubscribe(), 4000);
      flush();
    });
    expect(observed).toEqual([
      [0, 0, false],
      [1000, 10_000, false],
      [2000, 20_000, false],
      [2750, 25_000, true],
    ]);
  });
});
