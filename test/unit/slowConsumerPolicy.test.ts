import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type SlowConsumerVerdict, slowConsumerVerdict } from '../../src/delivery/slowConsumerPolicy.js';

const CONFIG = { maxPendingBytes: 1000, throttleBytes: 500, recoverBytes: 100, recoverAfterMs: 2000 };

/** A socket's checks (time since the previous one, bytes pending), through the policy as the monitor applies it. */
function run(checks: { dt: number; bytes: number }[]) {
  let now = 0;
  let throttled = false;
  let calmSince: number | undefined;
  const log: { now: number; bytes: number; throttled: boolean; verdict: SlowConsumerVerdict }[] = [];
  for (const { dt, bytes } of checks) {
    now += dt;
    const verdict = slowConsumerVerdict(CONFIG, { pendingBytes: bytes, throttled, calmSince }, now);
    log.push({ now, bytes, throttled, verdict });
    if (verdict.action === 'cut') break;
    if (verdict.action === 'throttle') {
      throttled = true;
      calmSince = undefined;
    } else if (verdict.action === 'restore') {
      throttled = false;
      calmSince = undefined;
    } else if (verdict.action === 'calm') calmSince = verdict.since;
    else if (verdict.action === 'busy') calmSince = undefined;
  }
  return log;
}

const checks = fc.array(
  fc.record({
    dt: fc.integer({ min: 1, max: 1500 }),
    bytes: fc.oneof(fc.integer({ min: 0, max: 150 }), fc.integer({ min: 0, max: 1200 })),
  }),
  { maxLength: 60 },
);

describe('slow-consumer policy', () => {
  it('draws each line where the config does: strictly past a bound, and calm for at least recoverAfterMs', () => {
    const verdict = (pendingBytes: number, throttled = false, calmSince?: number, now = 10_000) =>
      slowConsumerVerdict(CONFIG, { pendingBytes, throttled, calmSince }, now).action;
    expect([verdict(500), verdict(501), verdict(1000), verdict(1001)]).toEqual(['none', 'throttle', 'throttle', 'cut']);
    expect([verdict(100, true), verdict(101, true), verdict(1001, true)]).toEqual(['calm', 'busy', 'cut']);
    // Calm since 8000: at 9999 not yet, at 10000 (recoverAfterMs exactly) restored.
    expect([verdict(0, true, 8000, 9999), verdict(0, true, 8000, 10_000)]).toEqual(['calm', 'restore']);
    expect(slowConsumerVerdict(CONFIG, { pendingBytes: 50, throttled: true, calmSince: undefined }, 123)).toEqual({
      action: 'calm',
      since: 123,
    });
  });

  it('cuts exactly a socket past maxPendingBytes, and throttles only an unthrottled one past throttleBytes', () => {
    fc.assert(
      fc.property(checks, (list) => {
        for (const { bytes, throttled, verdict } of run(list)) {
          expect(verdict.action === 'cut').toBe(bytes > CONFIG.maxPendingBytes);
          if (verdict.action === 'throttle') expect(!throttled && bytes > CONFIG.throttleBytes).toBe(true);
          if (!throttled && bytes > CONFIG.throttleBytes && bytes <= CONFIG.maxPendingBytes)
            expect(verdict.action).toBe('throttle');
        }
      }),
    );
  });

  it('restores a throttled socket only after recoverAfterMs of checks all under recoverBytes', () => {
    fc.assert(
      fc.property(checks, (list) => {
        const log = run(list);
        log.forEach(({ now, verdict }, i) => {
          if (verdict.action !== 'restore') return;
          // Back to the throttle (or the last check above recoverBytes): every check after it was calm, and
          // the first of them was at least recoverAfterMs ago.
          let first = i;
          while (first > 0) {
            const before = log[first - 1];
            if (!before?.throttled || before.bytes > CONFIG.recoverBytes) break;
            first--;
          }
          const start = log[first];
          expect(start && now - start.now).toBeGreaterThanOrEqual(CONFIG.recoverAfterMs);
        });
      }),
    );
  });

  it('restores a throttled socket that stays calm at its first check recoverAfterMs after the calm began', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ dt: fc.integer({ min: 1, max: 1500 }), bytes: fc.integer({ min: 0, max: 100 }) }), {
          minLength: 1,
          maxLength: 40,
        }),
        (calm) => {
          const log = run([{ dt: 1, bytes: 600 }, ...calm]);
          expect(log[0]?.verdict.action).toBe('throttle');
          const start = log[1]?.now ?? 0;
          const due = log.findIndex((entry, i) => i > 0 && entry.now - start >= CONFIG.recoverAfterMs);
          const restores = log.flatMap((entry, i) => (entry.verdict.action === 'restore' ? [i] : []));
          expect(restores[0]).toBe(due === -1 ? undefined : due);
        },
      ),
    );
  });
});
