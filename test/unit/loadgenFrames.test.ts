import { describe, expect, it } from 'vitest';
import { classifySocketIo, scanDeltas, scanTicks } from '../../bench/loadgen/frames.js';
import { type Quote, toDelta } from '../../src/protocol.js';

// The load generator reads frames without parsing them whole: it must read what the server really writes.
const quote = (symbol: string, ts: number, seq: number): Quote => ({ symbol, price: 10 + seq, ts, epoch: 1, seq });
const frame = (event: string, payload: unknown) => Buffer.from(`42${JSON.stringify([event, payload])}`);

describe('the bench generator reading frames', () => {
  it('counts the quotes of a ticks frame and their times', () => {
    const quotes = [quote('A', 1000, 1), quote('B', 1010, 1)];
    const ticks = frame('ticks', quotes);
    expect(classifySocketIo(ticks)).toEqual({ kind: 'ticks' });
    expect(scanTicks(ticks)).toEqual({ count: 2, oldestTs: 1000, newestTs: 1010 });
  });

  it('rebuilds the times of field deltas (absolute T, then relative t, negative too) per symbol', () => {
    const a1 = quote('A', 1000, 1);
    const a2 = quote('A', 1040, 2);
    const a3 = quote('A', 1030, 3); // a replay seek can make time go back
    const b1 = quote('B', 1005, 1);
    const times = new Map<string, number>();
    const first = frame('deltas', [toDelta(a1), toDelta(b1)]);
    expect(classifySocketIo(first)).toEqual({ kind: 'deltas' });
    expect(scanDeltas(first, times)).toEqual({ count: 2, oldestTs: 1000, newestTs: 1005 });
    const seen: number[] = [];
    expect(scanDeltas(frame('deltas', [toDelta(a2, a1), toDelta(a3, a2)]), times, (ts) => seen.push(ts))).toEqual({
      count: 2,
      oldestTs: 1030,
      newestTs: 1040,
    });
    expect(seen).toEqual([1040, 1030]);
    // A relative update of a symbol with no time yet is not counted (the socket had no base).
    expect(scanDeltas(frame('deltas', [toDelta(quote('C', 2000, 2), quote('C', 1990, 1))]), times).count).toBe(0);
  });
});
