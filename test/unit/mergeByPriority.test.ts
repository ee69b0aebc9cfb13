import fc from 'fast-check';
import { Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import { mergeByPriority } from '../../src/pipeline/mergeByPriority.js';

type Q = { symbol: string; ts: number; price: number; source: string };
const newScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

/**
 * Marble values whose ts is the frame they appear at (so time and ts agree), for symbol AAPL unless the
 * letter is upper case (MSFT). `source` tells which feed sent it.
 */
function valuesAt(marble: string, source: string): Record<string, Q> {
  const out: Record<string, Q> = {};
  let frame = 0;
  for (const ch of marble) {
    if (/[a-zA-Z]/.test(ch))
      out[ch] = { symbol: ch === ch.toUpperCase() ? 'MSFT' : 'AAPL', ts: frame, price: frame, source };
    if (ch !== ' ') frame++;
  }
  return out;
}

describe('mergeByPriority', () => {
  it('uses the primary while fresh, fails over after staleAfterMs of silence, and hands back', () => {
    const scheduler = newScheduler();
    scheduler.run(({ hot, expectObservable }) => {
      const p = '-a---b------------------c---d';
      const b = '--x---y---z---w---v------u---';
      const e = '-a---b--------w---v-----c---d';
      const primary = hot(p, valuesAt(p, 'primary'));
      const backup = hot(b, valuesAt(b, 'backup'));
      const merged = mergeByPriority(
        [
          { id: 'primary', quotes$: primary },
          { id: 'backup', quotes$: backup },
        ],
        { priority: { '*': ['primary', 'backup'] }, staleAfterMs: 8, scheduler },
      );
      expectObservable(merged).toBe(e, { ...valuesAt(p, 'primary'), ...valuesAt(b, 'backup') });
    });
  });

  it('judges freshness per symbol: a primary silent on one symbol does not block the backup for it', () => {
    const scheduler = newScheduler();
    scheduler.run(({ hot, expectObservable }) => {
      const p = '-a--b--c--d--e--f';
      const b = '--X--Y--Z--x--W--';
      const e = '-aX-bY-cZ-d--eW-f';
      const merged = mergeByPriority(
        [
          { id: 'primary', quotes$: hot(p, valuesAt(p, 'primary')) },
          { id: 'backup', quotes$: hot(b, valuesAt(b, 'backup')) },
        ],
        { priority: { '*': ['primary', 'backup'] }, staleAfterMs: 5, scheduler },
      );
      expectObservable(merged).toBe(e, { ...valuesAt(p, 'primary'), ...valuesAt(b, 'backup') });
    });
  });

  it('follows a per-symbol order over the default one', () => {
    const scheduler = newScheduler();
    scheduler.run(({ hot, expectObservable }) => {
      const p = 'a-A-b-B';
      const b = '-c-C-d-D';
      const feeds = [
        { id: 'primary', quotes$: hot(p, valuesAt(p, 'primary')) },
        { id: 'backup', quotes$: hot(b, valuesAt(b, 'backup')) },
      ];
      const values = { ...valuesAt(p, 'primary'), ...valuesAt(b, 'backup') };
      // MSFT prefers the backup: the primary's first MSFT passes (the backup has not ticked it yet), then only
      // the backup's; AAPL comes from the primary.
      const merged = mergeByPriority(feeds, {
        priority: { '*': ['primary', 'backup'], MSFT: ['backup', 'primary'] },
        staleAfterMs: 10,
        scheduler,
      });
      expectObservable(merged).toBe('a-ACb--D', values);
    });
  });

  it('stops ranking a feed that completed at once', () => {
    const scheduler = newScheduler();
    scheduler.run(({ hot, expectObservable }) => {
      const p = 'a-b|';
      const b = '-x--y-z';
      const merged = mergeByPriority(
        [
          { id: 'primary', quotes$: hot(p, valuesAt(p, 'primary')) },
          { id: 'backup', quotes$: hot(b, valuesAt(b, 'backup')) },
        ],
        { priority: {}, staleAfterMs: 100, scheduler },
      );
      expectObservable(merged).toBe('a-b-y-z', { ...valuesAt(p, 'primary'), ...valuesAt(b, 'backup') });
    });
  });

  it('never passes a quote older than the last passed for its symbol, nor the same ts from another feed', () => {
    const scheduler = newScheduler();
    scheduler.run(({ hot, expectObservable }) => {
      const q = (ts: number, source: string): Q => ({ symbol: 'AAPL', ts, price: ts, source });
      // The backup takes over after the primary's silence; then the primary comes back replaying old ticks.
      const primary = hot('a-----------bcd', { a: q(100, 'p'), b: q(150, 'p'), c: q(210, 'p'), d: q(220, 'p') });
      const backup = hot('---------wxy---', { w: q(200, 'b'), x: q(190, 'b'), y: q(210, 'b') });
      const merged = mergeByPriority(
        [
          { id: 'p', quotes$: primary },
          { id: 'b', quotes$: backup },
        ],
        { priority: { '*': ['p', 'b'] }, staleAfterMs: 5, scheduler },
      );
      expectObservable(merged).toBe('a--------w-y--d', {
        a: q(100, 'p'),
        w: q(200, 'b'),
        y: q(210, 'b'),
        d: q(220, 'p'),
      });
    });
  });

  // Found in review: once a single live feed was held to the rule, one tick an hour ahead (a wrong clock)
  // froze its symbol until the clock caught up.
  it('does not hold later quotes to one that was far ahead of the clock', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const v = {
        a: { symbol: 'AAPL', ts: 3_600_000, price: 1 },
        b: { symbol: 'AAPL', ts: 2, price: 2 },
        c: { symbol: 'AAPL', ts: 3, price: 3 },
        d: { symbol: 'AAPL', ts: 1, price: 4 },
      };
      // b and c pass; d is older than c, which was not ahead of the clock.
      expectObservable(
        mergeByPriority([{ id: 'only', quotes$: cold('abcd|', v) }], { priority: {}, staleAfterMs: 5, scheduler }),
      ).toBe('abc-|', v);
    });
  });

  it('lets equal timestamps from the same feed through (two trades in one millisecond)', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const v = { a: { symbol: 'AAPL', ts: 5, price: 1 }, b: { symbol: 'AAPL', ts: 5, price: 2 } };
      expectObservable(
        mergeByPriority([{ id: 'only', quotes$: cold('ab|', v) }], { priority: {}, staleAfterMs: 5, scheduler }),
      ).toBe('ab|', v);
    });
  });

  it('unsubscribes from every feed', () => {
    const scheduler = newScheduler();
    scheduler.run(({ hot, expectSubscriptions, expectObservable }) => {
      const one = hot<Q>('-----');
      const two = hot<Q>('-----');
      const merged = mergeByPriority(
        [
          { id: 'one', quotes$: one },
          { id: 'two', quotes$: two },
        ],
        { priority: {}, staleAfterMs: 5, scheduler },
      );
      expectObservable(merged, '^--!').toBe('----');
      expectSubscriptions(one.subscriptions).toBe('^--!');
      expectSubscriptions(two.subscriptions).toBe('^--!');
    });
  });

  it('property: per symbol, passed timestamps never go back and no (ts, feed) pair repeats across feeds', () => {
    const tick = fc.record({
      feed: fc.constantFrom('a', 'b', 'c'),
      symbol: fc.constantFrom('X', 'Y'),
      ts: fc.integer({ min: 0, max: 50 }),
      at: fc.integer({ min: 0, max: 5 }),
    });
    fc.assert(
      fc.property(fc.array(tick, { maxLength: 60 }), fc.integer({ min: 1, max: 20 }), (ticks, staleAfterMs) => {
        let now = 0;
        const passed: { symbol: string; ts: number; feed: string }[] = [];
        const sources = new Map<string, (q: { symbol: string; ts: number; feed: string }) => void>();
        const feeds = ['a', 'b', 'c'].map((id) => ({
          id,
          quotes$: new Observable<{ symbol: string; ts: number; feed: string }>((s) => {
            sources.set(id, (q) => s.next(q));
          }),
        }));
        const subscription = mergeByPriority(feeds, {
          priority: { '*': ['a', 'b', 'c'], Y: ['c', 'b'] },
          staleAfterMs,
          scheduler: { now: () => now, schedule: () => subscription },
        } as never).subscribe((q) => passed.push(q));
        for (const t of ticks) {
          now += t.at;
          const before = passed.length;
          const newest = Math.max(-1, ...passed.filter((q) => q.symbol === t.symbol).map((q) => q.ts));
          sources.get(t.feed)?.({ symbol: t.symbol, ts: t.ts, feed: t.feed });
          // The top-ranked feed's quote always passes when it is newer than what passed before.
          if (t.feed === 'a' && t.symbol === 'X' && t.ts > newest) expect(passed.length).toBe(before + 1);
        }
        subscription.unsubscribe();
        for (const symbol of ['X', 'Y']) {
          const mine = passed.filter((q) => q.symbol === symbol);
          for (let i = 1; i < mine.length; i++) {
            const [prev, cur] = [mine[i - 1]!, mine[i]!];
            expect(cur.ts).toBeGreaterThanOrEqual(prev.ts);
            if (cur.ts === prev.ts) expect(cur.feed).toBe(prev.feed);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('priority configuration', () => {
  const feeds = [
    { type: 'sse', id: 'primary', url: 'http://127.0.0.1:9201/events' },
    { type: 'sse', id: 'backup', url: 'http://127.0.0.1:9203/events' },
  ];

  it('accepts priority lists of configured feed ids', () => {
    const config = parseConfig({ feeds, priority: { '*': ['primary', 'backup'], AAPL: ['backup'] } });
    expect(config.priority).toEqual({ '*': ['primary', 'backup'], AAPL: ['backup'] });
  });

  it('names the field when a priority list names no feed, or two feeds share an id', () => {
    const error = (() => {
      try {
        parseConfig({ feeds: [...feeds, feeds[0]], priority: { AAPL: ['backup', 'primray'] } });
      } catch (err) {
        return err;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues).toEqual([
      'feeds.2.id: "primary" is used twice',
      'priority.AAPL.1: no feed has id "primray"',
    ]);
  });
});
