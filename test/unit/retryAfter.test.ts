import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_RETRY_AFTER_MS, retryAfterMs } from '../../src/feeds/retryAfter.js';

const NOW = Date.parse('1999-12-31T23:57:59Z');

describe('retryAfterMs', () => {
  it("reads RFC 9110's own examples (section 10.2.3): an HTTP-date and delay-seconds", () => {
    expect(retryAfterMs('Fri, 31 Dec 1999 23:59:59 GMT', NOW)).toBe(120_000);
    expect(retryAfterMs('120', NOW)).toBe(120_000);
  });

  it('reads the obsolete date forms too, and a date already past as no wait', () => {
    expect(retryAfterMs('Friday, 31-Dec-99 23:59:59 GMT', NOW)).toBe(120_000);
    // asctime has no zone, and is GMT all the same (whatever the machine's zone).
    expect(retryAfterMs('Fri Dec 31 23:59:59 1999', NOW)).toBe(120_000);
    expect(retryAfterMs('Fri Dec  3 23:59:59 1999', NOW)).toBe(0);
    expect(retryAfterMs('Fri, 31 Dec 1999 23:00:00 GMT', NOW)).toBe(0);
  });

  it('gives nothing for an absent or unreadable header', () => {
    for (const header of [
      null,
      undefined,
      '',
      'soon',
      '-5',
      '1.5',
      '0x10',
      'Fri, 99 Foo 1999 GMT',
      'Mon 5',
      'Fri, 31 Dec 1999 23:59:59 +0100',
      'Fri, 32 Dec 1999 23:59:59 GMT',
      'Wed, 31 Feb 1999 23:59:59 GMT',
      'Mon, 00 Dec 1999 10:00:00 GMT',
    ]) {
      expect(retryAfterMs(header, NOW)).toBeUndefined();
    }
  });

  it('delay-seconds: that many seconds, at most the cap', () => {
    fc.assert(
      fc.property(fc.nat(), (seconds) => {
        expect(retryAfterMs(String(seconds), NOW)).toBe(Math.min(MAX_RETRY_AFTER_MS, seconds * 1000));
      }),
    );
  });

  it('an HTTP-date: the time until it, within 0 and the cap', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -1e10, max: 1e10 }).map((s) => s * 1000),
        // Whole seconds, as an HTTP-date has.
        fc.integer({ min: 0, max: 2e9 }).map((s) => s * 1000),
        (offsetMs, nowMs) => {
          const header = new Date(nowMs + offsetMs).toUTCString();
          expect(retryAfterMs(header, nowMs)).toBe(Math.min(MAX_RETRY_AFTER_MS, Math.max(0, offsetMs)));
        },
      ),
    );
  });

  it('never throws, and any wait it gives is within 0 and the cap', () => {
    fc.assert(
      fc.property(fc.string(), fc.integer({ min: 0, max: 4e12 }), (header, nowMs) => {
        const waitMs = retryAfterMs(header, nowMs);
        if (waitMs !== undefined) expect(waitMs >= 0 && waitMs <= MAX_RETRY_AFTER_MS).toBe(true);
      }),
    );
  });
});
