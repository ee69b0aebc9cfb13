import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { QuoteOrder } from '../../packages/client/src/quoteOrder.js';

describe('QuoteOrder', () => {
  it('drops quotes not newer than the last delivered on the same connection', () => {
    const order = new QuoteOrder();
    expect(order.accept({ seq: 5, ts: 1000 }, 1)).toBe(true);
    expect(order.accept({ seq: 5, ts: 1000 }, 1)).toBe(false); // duplicate
    expect(order.accept({ seq: 4, ts: 1001 }, 1)).toBe(false); // older, whatever its time
    expect(order.accept({ seq: 6, ts: 1002 }, 1)).toBe(true);
  });

  it('after a reconnect to the same server drops the snapshot that was already delivered', () => {
    const order = new QuoteOrder();
    order.accept({ seq: 9, ts: 2000 }, 1);
    expect(order.accept({ seq: 9, ts: 2000 }, 2)).toBe(false);
    expect(order.accept({ seq: 10, ts: 2100 }, 2)).toBe(true);
  });

  it('after a reconnect to a restarted server (seq from 1 again) accepts the newer quote and counts from it', () => {
    const order = new QuoteOrder();
    order.accept({ seq: 500, ts: 2000 }, 1);
    expect(order.accept({ seq: 3, ts: 5000 }, 2)).toBe(true);
    expect(order.accept({ seq: 2, ts: 5100 }, 2)).toBe(false); // the snapshot that raced the first tick
    expect(order.accept({ seq: 4, ts: 5200 }, 2)).toBe(true);
  });

  it('on one connection delivers exactly the quotes whose seq beats every earlier one', () => {
    const quotes = fc.array(fc.record({ seq: fc.integer({ min: 0, max: 50 }), ts: fc.nat() }), { maxLength: 200 });
    fc.assert(
      fc.property(quotes, (list) => {
        const order = new QuoteOrder();
        let best = Number.NEGATIVE_INFINITY;
        for (const q of list) {
          expect(order.accept(q, 1)).toBe(q.seq > best);
          best = Math.max(best, q.seq);
        }
      }),
    );
  });

  it('across reconnections never delivers two quotes with the same seq and ts in a row', () => {
    const events = fc.array(
      fc.record({ seq: fc.integer({ min: 0, max: 20 }), ts: fc.integer({ min: 0, max: 20 }), connection: fc.nat(3) }),
      { maxLength: 200 },
    );
    fc.assert(
      fc.property(events, (list) => {
        const order = new QuoteOrder();
        let last: { seq: number; ts: number } | undefined;
        let connection = 0;
        for (const e of list) {
          connection = Math.max(connection, e.connection); // connections only move forward
          if (!order.accept(e, connection)) continue;
          if (last) expect(e.seq > last.seq || e.ts > last.ts).toBe(true);
          last = e;
        }
      }),
    );
  });
});
