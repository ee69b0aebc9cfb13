import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { axisTimeLabel, dayOpenings, formatUntil, speedText } from '../../web/src/format.js';

const seconds = (iso: string) => DateTime.fromISO(iso, { setZone: true }).toSeconds();

describe("the dashboard's own formatting", () => {
  it("labels the time axis in the exchange's zone, with the date at the zone's midnight, not at UTC's", () => {
    // UTC's midnight is 19:00 in New York in winter: a time like any other there.
    expect(axisTimeLabel(seconds('2026-12-08T00:00:00Z'), 'America/New_York')).toBe('19:00');
    expect(axisTimeLabel(seconds('2026-12-08T05:00:00Z'), 'America/New_York')).toBe('Tue 8');
    expect(axisTimeLabel(seconds('2026-12-08T14:30:00Z'), 'America/New_York')).toBe('09:30');
    // Summer time moves the zone's midnight to 04:00 UTC.
    expect(axisTimeLabel(seconds('2026-07-01T04:00:00Z'), 'America/New_York')).toBe('Wed 1');
    expect(axisTimeLabel(seconds('2026-12-08T00:00:00Z'), 'Asia/Tokyo')).toBe('09:00');
    expect(axisTimeLabel(seconds('2026-12-07T15:00:00Z'), 'Asia/Tokyo')).toBe('Tue 8');
  });

  it("dates a session's first bar after another day's, however many hours apart (no bar at midnight)", () => {
    // Monday 15:00-15:02 and Tuesday 09:30-09:31 in New York, 1-minute bars; then the same times in Tokyo.
    const monday = ['2026-12-07T20:00:00Z', '2026-12-07T20:01:00Z', '2026-12-07T20:02:00Z'].map(seconds);
    const tuesday = ['2026-12-08T14:30:00Z', '2026-12-08T14:31:00Z'].map(seconds);
    const bars = [...monday, ...tuesday];
    const openings = dayOpenings(bars, 'America/New_York');
    expect([...openings]).toEqual([tuesday[0]]);
    expect(bars.map((t) => axisTimeLabel(t, 'America/New_York', openings.has(t)))).toEqual([
      '15:00',
      '15:01',
      '15:02',
      'Tue 8',
      '09:31',
    ]);
    // In Tokyo the same instants are one day: 05:00-05:02 and 23:30-23:31 on Tuesday.
    expect([...dayOpenings(bars, 'Asia/Tokyo')]).toEqual([]);
    // The first bar of a history opens nothing: it has no day before it.
    expect([...dayOpenings(tuesday, 'America/New_York')]).toEqual([]);
  });

  it('writes the time to a session change in days, hours and minutes', () => {
    const now = DateTime.fromISO('2026-12-08T10:00:00Z');
    expect(formatUntil(now.plus({ seconds: 59 }), now)).toBe('<1m');
    expect(formatUntil(now.plus({ minutes: 4 }), now)).toBe('4m');
    expect(formatUntil(now.plus({ hours: 2, minutes: 5 }), now)).toBe('2h 05m');
    expect(formatUntil(now.plus({ days: 2, hours: 3 }), now)).toBe('2d 3h');
  });

  it('writes replay speeds as the controls show them', () => {
    expect(speedText(10)).toBe('10×');
    expect(speedText(0.5)).toBe('0.5×');
    expect(speedText('max')).toBe('max');
  });
});
