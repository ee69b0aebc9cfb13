import fc from 'fast-check';
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { marketSession } from '../../src/market/session.js';

const calendar = {
  exchange: 'NYSE/Nasdaq',
  zone: 'America/New_York',
  preOpen: '04:00',
  open: '09:30',
  close: '16:00',
  postClose: '20:00',
  holidays: ['2026-11-26'],
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
    };
    const noonLondon = DateTime.fromISO('2026-11-24T12:00', { zone: 'Europe/London' }).toMillis();
    expect(marketSession(lse, noonLondon)).toEqual({
      exchange: 'LSE',
      state: 'open',
      nextChange: '2026-11-24T16:30:00.000+00:00',
      zone: 'Europe/London',
    });
  });
});
