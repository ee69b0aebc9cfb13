import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ChannelQuote, decodeQuote } from '../../src/cluster/quoteCodec.js';
import { jsonTicks } from '../../src/delivery/ticksFrame.js';
import type { Quote } from '../../src/protocol.js';
import { knownJson, quoteJson } from '../../src/quoteJson.js';

const price = fc.double({ min: 0.0001, max: 1e7, noNaN: true, noDefaultInfinity: true });
const quote: fc.Arbitrary<Quote> = fc.record(
  {
    symbol: fc.stringMatching(/^[A-Z][A-Z0-9.-]{0,9}$/),
    price,
    ts: fc.integer({ min: 0, max: 4_102_444_800_000 }),
    epoch: fc.integer({ min: 1, max: 4_102_444_800_000 }),
    seq: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
    bid: price,
    ask: price,
    size: fc.integer({ min: 0, max: 1e9 }),
    volume: fc.integer({ min: 0, max: 1e12 }),
    change: fc.double({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true }),
    changePct: fc.double({ min: -100, max: 1e4, noNaN: true, noDefaultInfinity: true }),
    source: fc.string({ maxLength: 12 }),
  },
  { requiredKeys: ['symbol', 'price', 'ts', 'epoch', 'seq'] },
);

const SOME_QUOTE: Quote = { symbol: 'AAPL', price: 189.5, ts: 1764690000000, epoch: 7, seq: 42 };

describe('quoteJson: one JSON text per quote, across the Redis hop', () => {
  it('is the quote serialized', () => {
    fc.assert(fc.property(quote, (q) => quoteJson(q) === JSON.stringify(q)));
  });

  it('a quote parsed back on a gateway serializes to the text it came from', () => {
    fc.assert(
      fc.property(quote, (q) => {
        const text = quoteJson(q);
        const parsed = decodeQuote(text);
        expect(parsed?.symbol).toBe(q.symbol);
        // What a frame would carry if the gateway serialized the quote again: the same text.
        expect(JSON.stringify(parsed)).toBe(text);
        expect(quoteJson(parsed as Quote)).toBe(text);
      }),
    );
  });

  it("a gateway's frame carries the ingest's text, not a second serialization", () => {
    // Spaces no JSON.stringify would write: if they reach the frame, the text was passed through.
    const text = '{"symbol": "AAPL", "price": 189.5, "ts": 1764690000000, "epoch": 7, "seq": 42}';
    const parsed = decodeQuote(text);
    expect(parsed).toEqual({ symbol: 'AAPL', price: 189.5, ts: 1764690000000, epoch: 7, seq: 42 });
    const part = jsonTicks.part(parsed as Quote);
    expect(part.data).toBe(text);
    expect(part.byteLength).toBe(Buffer.byteLength(text));
    expect(jsonTicks.packet([part]).message).toBe(`2["ticks",[${text}]]`);
  });

  it('the kept text is seen by no one else: not in keys, JSON, equality, nor a copy that may differ', () => {
    const text = '{"symbol": "AAPL", "price": 189.5, "ts": 1764690000000, "epoch": 7, "seq": 42}';
    const parsed = decodeQuote(text) as Quote;
    expect(knownJson(parsed)).toBe(text);
    expect(Object.keys(parsed)).toEqual(['symbol', 'price', 'ts', 'epoch', 'seq']);
    expect(JSON.stringify(parsed)).toBe('{"symbol":"AAPL","price":189.5,"ts":1764690000000,"epoch":7,"seq":42}');
    // A copy is a new quote (the pipeline derives quotes by spreading): it must not carry the old text.
    const changed = { ...parsed, price: 190 };
    expect(knownJson(changed)).toBeUndefined();
    expect(quoteJson(changed)).toBe('{"symbol":"AAPL","price":190,"ts":1764690000000,"epoch":7,"seq":42}');
  });

  it('a channel message is decoded when first used, once, and a bad one is reported once', () => {
    const text = '{"symbol":"AAPL","price":189.5,"ts":1764690000000,"epoch":7,"seq":42}';
    let invalid = 0;
    const good = new ChannelQuote('AAPL', text, () => invalid++);
    const first = good.decode();
    expect(first).toEqual({ symbol: 'AAPL', price: 189.5, ts: 1764690000000, epoch: 7, seq: 42 });
    expect(good.decode()).toBe(first);
    expect(knownJson(first as Quote)).toBe(text);
    // Not a quote, and a quote of another symbol on this symbol's channel.
    for (const bad of [
      new ChannelQuote('AAPL', '{', () => invalid++),
      new ChannelQuote('MSFT', text, () => invalid++),
    ]) {
      expect(bad.decode()).toBeUndefined();
      expect(bad.decode()).toBeUndefined();
    }
    expect(invalid).toBe(2);
  });

  it('refuses a quote whose required field is missing or not a finite number (a positive price)', () => {
    const notString = fc.constantFrom<unknown>(undefined, null, 1, true, [], {});
    const notNumber = fc.constantFrom<unknown>(undefined, null, '1', true, [], {}, 'NaN', 'Infinity');
    const field = fc.oneof(
      fc.tuple(fc.constant('symbol'), notString),
      fc.tuple(fc.constantFrom('price', 'ts', 'epoch', 'seq'), notNumber),
    );
    fc.assert(
      fc.property(quote, field, (q, [name, value]) => {
        // JSON has no NaN or Infinity: what another process could write instead is a string, null or nothing.
        const bad: Record<string, unknown> = { ...q, [name]: value };
        if (value === undefined) delete bad[name];
        expect(decodeQuote(JSON.stringify(bad)), `${name}: ${JSON.stringify(value)}`).toBeUndefined();
      }),
    );
    for (const price of [0, -0.01]) expect(decodeQuote(JSON.stringify({ ...SOME_QUOTE, price }))).toBeUndefined();
    expect(decodeQuote(JSON.stringify(SOME_QUOTE))).toEqual(SOME_QUOTE);
  });

  it('text that is not a quote is refused and leaves nothing behind', () => {
    for (const text of ['{"symbol": "AAPL", "price": -1, "ts": 1, "epoch": 1, "seq": 1}', '[1]', 'null', '{'])
      expect(decodeQuote(text)).toBeUndefined();
  });
});
