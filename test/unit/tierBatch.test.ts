import { decode } from '@msgpack/msgpack';
import fc from 'fast-check';
import msgpackParser from 'socket.io-msgpack-parser';
import { Decoder as JsonDecoder } from 'socket.io-parser';
import { afterEach, describe, expect, it } from 'vitest';
import type { WsFrame } from '../../src/delivery/engine.js';
import { jsonTicks, msgpackTicks } from '../../src/delivery/ticksFrame.js';
import { TurnBatcher } from '../../src/delivery/turnBatcher.js';
import type { Quote } from '../../src/protocol.js';

const quote = (symbol: string, price: number, seq = 1): Quote => ({
  symbol,
  price,
  ts: 1_700_000_000_000 + seq,
  epoch: 1,
  seq,
});
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('TurnBatcher', () => {
  const batchers: TurnBatcher<Quote>[] = [];
  afterEach(() => {
    for (const b of batchers.splice(0)) b.clear();
  });
  const make = (batches: Quote[][]) => {
    const b = new TurnBatcher<Quote>((batch) => batches.push(batch));
    batchers.push(b);
    return b;
  };

  it('hands over the updates of one turn together, once', async () => {
    const batches: Quote[][] = [];
    const b = make(batches);
    b.add('AAPL', quote('AAPL', 1));
    b.add('MSFT', quote('MSFT', 2));
    expect(batches).toEqual([]); // not before the end of the turn
    await nextTurn();
    expect(batches).toEqual([[quote('AAPL', 1), quote('MSFT', 2)]]);
    await nextTurn();
    expect(batches).toHaveLength(1); // nothing pending: no empty batch
  });

  it('keeps the newest value of a key within a turn, and separates turns', async () => {
    const batches: Quote[][] = [];
    const b = make(batches);
    b.add('AAPL', quote('AAPL', 1, 1));
    b.add('AAPL', quote('AAPL', 2, 2));
    await nextTurn();
    b.add('AAPL', quote('AAPL', 3, 3));
    await nextTurn();
    expect(batches).toEqual([[quote('AAPL', 2, 2)], [quote('AAPL', 3, 3)]]);
  });

  it('groups updates due from timers that expire in the same turn', async () => {
    const batches: Quote[][] = [];
    const b = make(batches);
    await new Promise<void>((resolve) => {
      setTimeout(() => b.add('AAPL', quote('AAPL', 1)), 5);
      setTimeout(() => {
        b.add('MSFT', quote('MSFT', 2));
        setImmediate(resolve);
      }, 5);
      // Both overdue when the loop gets to its timers phase, so Node runs them in that one phase, before the
      // check phase (setImmediate). Without the block, the two could be armed a millisecond apart on a loaded
      // machine (Node reads the clock anew for each) and fall due in two turns: CI saw that once.
      const armed = performance.now();
      while (performance.now() - armed < 20) {
        // the loop is held on purpose: see above
      }
    });
    expect(batches).toEqual([[quote('AAPL', 1), quote('MSFT', 2)]]);
  });

  it('drops what is pending on clear', async () => {
    const batches: Quote[][] = [];
    const b = make(batches);
    b.add('AAPL', quote('AAPL', 1));
    b.clear();
    await nextTurn();
    expect(batches).toEqual([]);
  });
});

/** Decodes one engine.io message payload with a Socket.IO parser's decoder, as a client would. */
function decodeWith(
  decoder: { add(data: unknown): void; on(event: string, cb: (p: unknown) => void): unknown },
  data: unknown,
) {
  let packet: unknown;
  decoder.on('decoded', (p) => {
    packet = p;
  });
  decoder.add(data);
  return packet as { type: number; nsp: string; data: unknown[] };
}

const quoteArb = fc.record(
  {
    symbol: fc.stringMatching(/^[A-Z][A-Z0-9.]{0,6}$/),
    price: fc.double({ min: 0.01, max: 1e6, noNaN: true }),
    ts: fc.integer({ min: 1, max: 2 ** 42 }),
    epoch: fc.integer({ min: 1, max: 2 ** 42 }),
    seq: fc.integer({ min: 1, max: 2 ** 31 }),
    volume: fc.integer({ min: 0, max: 2 ** 40 }),
    // -0 has no msgpack (nor JSON) form of its own: it arrives as 0.
    changePct: fc.double({ min: -100, max: 1000, noNaN: true }).map((v) => (Object.is(v, -0) ? 0 : v)),
    source: fc.string({ maxLength: 10 }),
  },
  { requiredKeys: ['symbol', 'price', 'ts', 'epoch', 'seq'] },
) as fc.Arbitrary<Quote>;

describe('pre-encoded ticks frames', () => {
  it('JSON: what Socket.IO\'s own decoder reads back as a "ticks" event with the same quotes', () => {
    fc.assert(
      fc.property(fc.array(quoteArb, { maxLength: 40 }), (quotes) => {
        const packet = decodeWith(new JsonDecoder(), jsonTicks.packet(quotes.map(jsonTicks.part)).message);
        expect(packet).toMatchObject({ type: 2, nsp: '/' });
        expect(packet.data).toEqual(['ticks', JSON.parse(JSON.stringify(quotes))]);
      }),
    );
  });

  it('msgpack: what socket.io-msgpack-parser reads back, for short and long arrays', () => {
    fc.assert(
      fc.property(fc.array(quoteArb, { maxLength: 70 }), (quotes) => {
        const frame = msgpackTicks.packet(quotes.map(msgpackTicks.part)).message;
        const packet = decodeWith(new msgpackParser.Decoder(), frame);
        expect(packet).toMatchObject({ type: 2, nsp: '/' });
        expect(packet.data).toEqual(['ticks', quotes]);
        expect(decode(frame as Buffer)).toEqual({ type: 2, nsp: '/', data: ['ticks', quotes] });
      }),
      { numRuns: 60 },
    );
  });

  it('as whole WebSocket frames (header, payload): an unmasked final frame whose payload is the engine.io message', () => {
    fc.assert(
      fc.property(fc.array(quoteArb, { maxLength: 40 }), (quotes) => {
        const jsonPacket = jsonTicks.packet(quotes.map(jsonTicks.part));
        const json = readWsFrame(jsonPacket.wsFrame());
        expect(json.opcode).toBe(1); // text
        expect(json.payload.toString()).toBe(`4${jsonPacket.message}`);
        const msgpackPacket = msgpackTicks.packet(quotes.map(msgpackTicks.part));
        const msgpack = readWsFrame(msgpackPacket.wsFrame());
        expect(msgpack.opcode).toBe(2); // binary, no engine.io prefix
        expect(msgpack.payload).toEqual(msgpackPacket.message);
      }),
      { numRuns: 60 },
    );
  });

  it('counts bytes, not characters, in the frame length (non-ASCII text in a quote)', () => {
    const quotes: Quote[] = [
      { symbol: 'SAP', price: 1, ts: 1, epoch: 1, seq: 1, source: 'Zürich €' },
      { symbol: 'A', price: 2, ts: 1, epoch: 1, seq: 2, source: '東京 🚀' },
    ];
    const frame = jsonTicks.packet(quotes.map(jsonTicks.part)).wsFrame();
    // Not a latin1 string: its characters would not be its bytes.
    expect(Buffer.isBuffer(frame)).toBe(true);
    const { payload } = readWsFrame(frame);
    expect(JSON.parse(payload.toString().slice(2))).toEqual(['ticks', quotes]);
  });

  it('gives an ASCII text frame as one string of latin1 bytes, built once per packet', () => {
    const packet = jsonTicks.packet([jsonTicks.part({ symbol: 'ACME', price: 1, ts: 1, epoch: 1, seq: 1 })]);
    const frame = packet.wsFrame();
    expect(typeof frame).toBe('string');
    expect(packet.wsFrame()).toBe(frame);
    expect(readWsFrame(frame).payload.toString()).toBe(`4${packet.message}`);
  });

  it('uses each of the three WebSocket length forms (7-bit, 16-bit, 64-bit)', () => {
    const quote = (i: number): Quote => ({ symbol: `S${i}`, price: 1 + i, ts: 1, epoch: 1, seq: i });
    for (const count of [0, 1, 30, 2_000]) {
      const quotes = Array.from({ length: count }, (_, i) => quote(i));
      const frame = jsonTicks.packet(quotes.map(jsonTicks.part)).wsFrame();
      const { payload, headerLength } = readWsFrame(frame);
      expect(headerLength).toBe(payload.length < 126 ? 2 : payload.length < 65_536 ? 4 : 10);
      expect(JSON.parse(payload.toString().slice(2))).toEqual(['ticks', quotes]);
    }
  });
});

/** RFC 6455 5.2, the server-to-client subset: FIN, opcode, no mask, 7/16/64-bit payload length. */
function readWsFrame(whole: WsFrame): {
  opcode: number;
  payload: Buffer;
  headerLength: number;
} {
  if (typeof whole === 'string') expect([...whole].every((c) => c.charCodeAt(0) < 256)).toBe(true); // latin1 bytes
  const frame = typeof whole === 'string' ? Buffer.from(whole, 'latin1') : whole;
  const first = frame[0] as number;
  const second = frame[1] as number;
  expect(first & 0x80).toBe(0x80); // FIN
  expect(first & 0x70).toBe(0); // no RSV bits (no compression)
  expect(second & 0x80).toBe(0); // servers never mask
  let length = second & 0x7f;
  let headerLength = 2;
  if (length === 126) {
    length = frame.readUInt16BE(2);
    headerLength = 4;
  } else if (length === 127) {
    length = Number(frame.readBigUInt64BE(2));
    headerLength = 10;
  }
  expect(frame.length).toBe(headerLength + length);
  return { opcode: first & 0x0f, payload: frame.subarray(headerLength), headerLength };
}
