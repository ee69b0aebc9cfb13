import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DeltaStream } from '../../packages/client/src/deltaStream.js';
import { applyDelta, type Quote, toDelta } from '../../src/protocol.js';

const optional = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
const price = fc.double({ min: 0.0001, max: 1e5, noNaN: true, noDefaultInfinity: true });
/** A quote with any of the optional fields present or not. */
const quoteOf = (symbol: string) =>
  fc
    .record({
      price,
      ts: fc.integer({ min: 1, max: 2 ** 42 }),
      epoch: fc.integer({ min: 1, max: 2 ** 42 }),
      seq: fc.integer({ min: 1, max: 2 ** 31 }),
      bid: optional(price),
      ask: optional(price),
      size: optional(fc.nat()),
      volume: optional(fc.nat()),
      open: optional(price),
      high: optional(price),
      low: optional(price),
      prevClose: optional(price),
      change: optional(fc.double({ min: -1e4, max: 1e4, noNaN: true })),
      changePct: optional(fc.double({ min: -100, max: 1e3, noNaN: true })),
      source: optional(fc.string({ maxLength: 8 })),
    })
    .map((r): Quote => {
      const quote: Quote = { symbol, price: r.price, ts: r.ts, epoch: r.epoch, seq: r.seq };
      for (const [key, value] of Object.entries(r)) if (value !== undefined) Object.assign(quote, { [key]: value });
      return quote;
    });
/** Through JSON, as on the wire (-0 becomes 0 there). */
const wire = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

describe('field deltas', () => {
  it('rebuild every quote of a stream exactly, from the previous one or from nothing', () => {
    fc.assert(
      fc.property(fc.array(quoteOf('AAPL'), { minLength: 1, maxLength: 30 }), (stream) => {
        let previous: Quote | undefined;
        for (const quote of stream.map(wire)) {
          const rebuilt = applyDelta(wire(toDelta(quote, previous)), previous);
          expect(rebuilt).toEqual(quote);
          previous = rebuilt;
        }
      }),
    );
  });

  it('carry only what changed: an unchanged field is absent, a field gone is null', () => {
    const before: Quote = { symbol: 'AAPL', price: 100, ts: 1000, epoch: 7, seq: 1, bid: 99.9, volume: 500 };
    const after: Quote = { symbol: 'AAPL', price: 100.5, ts: 1040, epoch: 7, seq: 2, volume: 600 };
    expect(toDelta(after, before)).toEqual({ s: 'AAPL', q: 2, t: 40, p: 100.5, b: null, v: 600 });
    expect(toDelta(after)).toEqual({ s: 'AAPL', q: 2, e: 7, T: 1040, p: 100.5, v: 600 });
    expect(toDelta({ ...after, epoch: 8 }, before).e).toBe(8);
    // A delta needs its base: without one (or another symbol's) it makes nothing.
    expect(applyDelta(toDelta(after, before))).toBeUndefined();
    expect(applyDelta(toDelta(after, before), { ...before, symbol: 'MSFT' })).toBeUndefined();
  });

  it('are about half the bytes of whole quotes on a typical stream, or less', () => {
    const quote = (i: number): Quote => ({
      symbol: 'AAPL',
      price: 189.23 + i / 100,
      ts: 1_796_167_015_368 + i * 37,
      epoch: 1_796_165_846_319,
      seq: 12_345 + i,
      bid: 189.22 + i / 100,
      ask: 189.24 + i / 100,
      size: 100 + i,
      volume: 12_345_678 + 100 * i,
      open: 188.5,
      high: 190.1,
      low: 187.9,
      prevClose: 188,
      change: 1.23 + i / 100,
      changePct: 0.6543 + i / 1000,
      source: 'sim',
    });
    let whole = 0;
    let delta = 0;
    for (let i = 1; i <= 50; i++) {
      whole += JSON.stringify(quote(i)).length;
      delta += JSON.stringify(toDelta(quote(i), quote(i - 1))).length;
    }
    expect(delta / whole).toBeLessThan(0.5);
  });

  it('DeltaStream keeps one base per symbol, drops a delta it has no base for, and starts over on reset', () => {
    const a1: Quote = { symbol: 'A', price: 1, ts: 10, epoch: 1, seq: 1 };
    const a2: Quote = { symbol: 'A', price: 2, ts: 20, epoch: 1, seq: 2 };
    const b1: Quote = { symbol: 'B', price: 5, ts: 10, epoch: 1, seq: 1 };
    const stream = new DeltaStream();
    expect(stream.apply([toDelta(a1), toDelta(b1)])).toEqual([a1, b1]);
    expect(stream.apply([toDelta(a2, a1)])).toEqual([a2]);
    stream.reset();
    expect(stream.apply([toDelta({ ...a2, seq: 3 }, a2)])).toEqual([]);
  });
});
