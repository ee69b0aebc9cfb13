import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../src/delivery/tokenBucket.js';

/** The request rate limit's bucket on a clock the test moves: what it grants depends on time alone. */
function bucketAt(rate: number, burst: number) {
  let now = 0;
  const bucket = new TokenBucket(rate, burst, () => now);
  return {
    take: () => bucket.take(),
    wait: (ms: number) => {
      now += ms;
    },
    /** How many of `n` takes in a row, with no time between them, it grants. */
    burstOf: (n: number) => Array.from({ length: n }, () => bucket.take()).filter(Boolean).length,
  };
}

const rate = fc.integer({ min: 1, max: 1000 });
const burst = fc.integer({ min: 1, max: 100 });

describe('TokenBucket', () => {
  it('grants a full burst at once, then nothing until time passes', () => {
    fc.assert(
      fc.property(rate, burst, (r, b) => {
        const bucket = bucketAt(r, b);
        expect(bucket.burstOf(b + 5)).toBe(b);
        expect(bucket.take()).toBe(false);
      }),
    );
  });

  it('refills at its rate: one token per 1/rate s, whole tokens only', () => {
    fc.assert(
      fc.property(rate, burst, fc.integer({ min: 1, max: 100 }), (r, b, k) => {
        const bucket = bucketAt(r, b);
        bucket.burstOf(b);
        const tokens = Math.min(k, b);
        // Just short of `tokens` tokens' worth of time: one fewer.
        bucket.wait((tokens * 1000) / r - 0.5);
        expect(bucket.burstOf(b + 1)).toBe(tokens - 1);
        bucket.wait(0.5 + 1e-3);
        expect(bucket.burstOf(b + 1)).toBe(1);
      }),
    );
  });

  it('keeps no more than its burst however long it was idle', () => {
    fc.assert(
      fc.property(rate, burst, fc.integer({ min: 0, max: 1e9 }), (r, b, idle) => {
        const bucket = bucketAt(r, b);
        bucket.wait(idle);
        expect(bucket.burstOf(b + 1)).toBe(b);
      }),
    );
  });

  it('over any schedule of requests, grants at most burst + rate x elapsed', () => {
    fc.assert(
      fc.property(rate, burst, fc.array(fc.integer({ min: 0, max: 200 }), { maxLength: 300 }), (r, b, gaps) => {
        const bucket = bucketAt(r, b);
        let elapsed = 0;
        let granted = 0;
        for (const gap of gaps) {
          bucket.wait(gap);
          elapsed += gap;
          if (bucket.take()) granted++;
          expect(granted).toBeLessThanOrEqual(b + (r * elapsed) / 1000 + 1e-9);
        }
      }),
    );
  });
});
