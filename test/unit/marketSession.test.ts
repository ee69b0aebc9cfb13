import fc from 'fast-check';
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { marketSession, tradingDay } from '../../src/market/session.js';

const calendar = {
  exchange: 'NYSE/Nasdaq',
  zone: 'America/New_York',
  preOpen: '04:00',
  open: '09:30',
  close: '16:00',
  postClose: '20:00',
  holidays: ['2026-11-26'],
  earlyCloses: ['2026-11-27'],
  earlyClose: '13:00',
  earlyPostClose: '17:00',
};
const at = (iso: string) => DateTime.fromISO(iso, { zone: 'America/New_York' }).toMillis();

describe('marketSession', () => {
  it('answers a calendar asked again and again, in any order, as a calendar asked once', () => {
    const start = at('2026-11-20T00:00');
    const week = 10 * 24 * 3600_000;
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: week }), { minLength: 1, maxLength: 40 }), (offsets) => {
        const askedOften = { ...calendar };
        for (const offset of offsets)
          expect(marketSession(askedOften, start + offset)).toEqual(marketSession({ ...calendar }, start + offset));
      }),
    );
  });

  it.each([
    ['2026-11-24T03:59', 'closed', '2026-11-24T04:00:00.000-05:00'],
    ['2026-11-24T04:00', 'pre', '2026-11-24T09:30:00.000-05:00'],
    ['2026-11-24T09:30', 'open', '2026-11-24T16:00:00.000-05:00'],
    ['2026-11-24T15:59', 'open', '2026-11-24T16:00:00.000-05:00'],
    ['2026-11-24T16:00', 'post', '2026-11-24T20:00:00.000-05:00'],
    ['2026-11-24T20:00', 'closed', '2026-11-25T04:00:00.000-05:00'],
    // Thanksgiving is a holiday: closed from Wednesday night until Friday's pre-market.
    ['2026-11-25T21:00', 'closed', '2026-11-27T04:00:00.000-05:00'],
    ['2026-11-26T11:00', 'closed', '2026-11-27T04:00:00.000-05:00'],
    // The Friday after closes early: the session at 13:00, after-hours at 17:00.
    ['2026-11-27T12:59', 'open', '2026-11-27T13:00:00.000-05:00'],
    ['2026-11-27T13:00', 'post', '2026-11-27T17:00:00.000-05:00'],
    ['2026-11-27T15:00', 'post', '2026-11-27T17:00:00.000-05:00'],
    ['2026-11-27T17:00', 'closed', '2026-11-30T04:00:00.000-05:00'],
    // Weekend: Friday night to Monday 04:00.
    ['2026-11-27T20:30', 'closed', '2026-11-30T04:00:00.000-05:00'],
    ['2026-11-29T12:00', 'closed', '2026-11-30T04:00:00.000-05:00'],
  ])('at %s New York time the session is %s until %s', (time, state, next) => {
    expect(marketSession(calendar, at(time))).toEqual({
      exchange: 'NYSE/Nasdaq',
      state,
      nextChange: next,
      zone: 'America/New_York',
    });
  });

  it('follows daylight saving time: the open is 09:30 local in summer too', () => {
    const summerOpen = DateTime.fromISO('2026-07-15T13:30:00Z').toMillis(); // 09:30 EDT
    expect(marketSession(calendar, summerOpen).state).toBe('open');
    expect(marketSession(calendar, summerOpen - 1).state).toBe('pre');
  });

  it('works for another exchange and zone', () => {
    const lse = {
      ...calendar,
      exchange: 'LSE',
      zone: 'Europe/London',
      preOpen: '07:00',
      open: '08:00',
      close: '16:30',
      postClose: '17:00',
      holidays: [],
      earlyCloses: [],
    };
    const noonLondon = DateTime.fromISO('2026-11-24T12:00', { zone: 'Europe/London' }).toMillis();
    expect(marketSession(lse, noonLondon)).toEqual({
      exchange: 'LSE',
      state: 'open',
      nextChange: '2026-11-24T16:30:00.000+00:00',
      zone: 'Europe/London',
    });
  });

  it.each([
    // Spring forward on a Sunday at 02:00: pre-market and the open on the Monday are 04:00 and 09:30 EDT.
    ['America/New_York', '2026-03-06T20:00', 'closed', '2026-03-09T04:00:00.000-04:00'],
    ['America/New_York', '2026-03-08T02:30', 'closed', '2026-03-09T04:00:00.000-04:00'],
    ['America/New_York', '2026-03-09T09:29:59.999', 'pre', '2026-03-09T09:30:00.000-04:00'],
    ['America/New_York', '2026-03-09T09:30', 'open', '2026-03-09T16:00:00.000-04:00'],
    // Fall back on a Sunday at 02:00 (01:30 happens twice): the Monday is on EST again.
    ['America/New_York', '2026-10-30T20:00', 'closed', '2026-11-02T04:00:00.000-05:00'],
    ['America/New_York', '2026-11-01T01:30', 'closed', '2026-11-02T04:00:00.000-05:00'],
    ['America/New_York', '2026-11-02T16:00', 'post', '2026-11-02T20:00:00.000-05:00'],
    // London changes on other Sundays (29 March, 25 October) than New York.
    ['Europe/London', '2026-03-27T17:00', 'closed', '2026-03-30T07:00:00.000+01:00'],
    ['Europe/London', '2026-03-30T08:00', 'open', '2026-03-30T16:30:00.000+01:00'],
    ['Europe/London', '2026-10-23T17:00', 'closed', '2026-10-26T07:00:00.000+00:00'],
    ['Europe/London', '2026-10-26T07:59', 'pre', '2026-10-26T08:00:00.000+00:00'],
    // Tokyo has no daylight saving; its close is its post-market's end (no post session).
    ['Asia/Tokyo', '2026-03-09T08:59', 'pre', '2026-03-09T09:00:00.000+09:00'],
    ['Asia/Tokyo', '2026-03-09T15:30', 'closed', '2026-03-10T08:00:00.000+09:00'],
  ])('in %s at %s the session is %s until %s', (zone, time, state, next) => {
    const hours: Record<string, { preOpen: string; open: string; close: string; postClose: string }> = {
      'America/New_York': { preOpen: '04:00', open: '09:30', close: '16:00', postClose: '20:00' },
      'Europe/London': { preOpen: '07:00', open: '08:00', close: '16:30', postClose: '17:00' },
      'Asia/Tokyo': { preOpen: '08:00', open: '09:00', close: '15:30', postClose: '15:30' },
    };
    const exchange = { ...calendar, ...hours[zone], zone, holidays: [], earlyCloses: [] };
    const session = marketSession(exchange, DateTime.fromISO(time, { zone }).toMillis());
    expect({ state: session.state, nextChange: session.nextChange }).toEqual({ state, nextChange: next });
  });
});

describe('tradingDay', () => {
  const zones = ['America/New_York', 'Europe/London', 'Asia/Tokyo', 'America/Santiago', 'Asia/Beirut', 'Africa/Cairo'];

  it.each([
    // Days whose midnight does not exist (clocks go forward at 00:00): they start at 01:00 and last 23 hours.
    [
      'America/Santiago',
      '2026-09-06T12:00',
      '2026-09-06',
      '2026-09-06T01:00:00.000-03:00',
      '2026-09-07T00:00:00.000-03:00',
    ],
    ['Asia/Beirut', '2026-03-29T12:00', '2026-03-29', '2026-03-29T01:00:00.000+03:00', '2026-03-30T00:00:00.000+03:00'],
    [
      'Africa/Cairo',
      '2026-04-24T12:00',
      '2026-04-24',
      '2026-04-24T01:00:00.000+03:00',
      '2026-04-25T00:00:00.000+03:00',
    ],
    // New York's change days: 23 and 25 hours, midnight to midnight.
    [
      'America/New_York',
      '2026-03-08T12:00',
      '2026-03-08',
      '2026-03-08T00:00:00.000-05:00',
      '2026-03-09T00:00:00.000-04:00',
    ],
    [
      'America/New_York',
      '2026-11-01T12:00',
      '2026-11-01',
      '2026-11-01T00:00:00.000-04:00',
      '2026-11-02T00:00:00.000-05:00',
    ],
  ])('in %s, %s is on %s, from %s to %s', (zone, time, key, start, end) => {
    const day = tradingDay(zone, DateTime.fromISO(time, { zone }).toMillis());
    const iso = (ms: number) => DateTime.fromMillis(ms, { zone }).toISO();
    expect({ key: day.key, start: iso(day.start), end: iso(day.end) }).toEqual({ key, start, end });
  });

  it("property: an instant's day holds it, ends where the next day starts, and is its date in the zone", () => {
    const from2020 = Date.UTC(2020, 0, 1);
    const to2030 = Date.UTC(2030, 0, 1);
    fc.assert(
      fc.property(fc.constantFrom(...zones), fc.integer({ min: from2020, max: to2030 }), (zone, instant) => {
        const day = tradingDay(zone, instant);
        expect(day.start).toBeLessThanOrEqual(instant);
        expect(day.end).toBeGreaterThan(instant);
        expect(day.key).toBe(DateTime.fromMillis(instant, { zone }).toISODate());
        expect(tradingDay(zone, day.end).start).toBe(day.end);
        expect(tradingDay(zone, day.end - 1).key).toBe(day.key);
      }),
      { numRuns: 2000 },
    );
  });
});
