import { describe, expect, it } from 'vitest';
import { parseIndexedLine, parseLine, RECORDING_VERSION, recordOf } from '../../src/record/format.js';

const T = 1_700_000_000_000;
const json = (value: unknown) => JSON.stringify(value);

describe('recordOf', () => {
  it('adds the receive time, and leaves the recording server epoch out', () => {
    expect(recordOf({ symbol: 'AAPL', price: 1, ts: T }, T + 3)).toStrictEqual({
      symbol: 'AAPL',
      price: 1,
      ts: T,
      recvTs: T + 3,
    });
    expect(recordOf({ symbol: 'AAPL', price: 1, ts: T, epoch: 7, seq: 2 }, T + 3)).toStrictEqual({
      symbol: 'AAPL',
      price: 1,
      ts: T,
      seq: 2,
      recvTs: T + 3,
    });
  });
});

describe('parseLine, header lines', () => {
  it('reads a first-line header, keeping only string sources and symbol objects', () => {
    const line = json({
      type: 'header',
      version: RECORDING_VERSION,
      createdAt: '2026-11-20T14:30:00Z',
      sources: ['sim', 5, 'poly'],
      symbols: [{ symbol: 'AAPL', name: 'Apple Inc.' }, 'MSFT', null, { name: 'no symbol' }, { symbol: 'NVDA' }],
    });
    expect(parseLine(line, true)).toStrictEqual({
      kind: 'header',
      header: {
        type: 'header',
        version: RECORDING_VERSION,
        createdAt: '2026-11-20T14:30:00Z',
        sources: ['sim', 'poly'],
        symbols: [{ symbol: 'AAPL', name: 'Apple Inc.' }, { symbol: 'NVDA' }],
      },
    });
  });

  it('fills in what a sparse header leaves out, without inventing symbols', () => {
    expect(
      parseLine(json({ type: 'header', version: RECORDING_VERSION, createdAt: 5, sources: 'sim' }), true),
    ).toStrictEqual({
      kind: 'header',
      header: { type: 'header', version: RECORDING_VERSION, createdAt: '', sources: [] },
    });
  });

  it('refuses a header after the first line, and another version', () => {
    const header = json({ type: 'header', version: RECORDING_VERSION, createdAt: '', sources: [] });
    expect(parseLine(header, false)).toStrictEqual({ kind: 'bad', reason: 'a header line after the first line' });
    expect(parseLine(json({ type: 'header', version: 2 }), true)).toStrictEqual({
      kind: 'bad',
      reason: 'unsupported version 2',
    });
  });
});

describe('parseLine, record lines', () => {
  it('refuses what is not a JSON object, saying so', () => {
    for (const text of ['null', '[1,2]', '5', '"AAPL"']) {
      expect(parseLine(text, false)).toStrictEqual({ kind: 'bad', reason: 'not a JSON object' });
    }
    expect(parseLine('{"symbol": nope', false)).toMatchObject({
      kind: 'bad',
      reason: expect.stringMatching(/^not JSON \(/),
    });
  });

  it('keeps the record whole (seq, change...), with its receive time, or the quote time when it has none', () => {
    const record = { symbol: 'AAPL', price: 1, ts: T, seq: 4, change: 0.5, recvTs: T + 3 };
    expect(parseLine(json(record), true)).toStrictEqual({ kind: 'record', record });
    const { recvTs: _recvTs, ...without } = record;
    expect(parseLine(json(without), false)).toStrictEqual({ kind: 'record', record: { ...without, recvTs: T } });
  });

  it('writes the symbol as the protocol spells it', () => {
    expect(parseLine(json({ symbol: 'aapl', price: 1, ts: T, recvTs: T }), false)).toStrictEqual({
      kind: 'record',
      record: { symbol: 'AAPL', price: 1, ts: T, recvTs: T },
    });
  });

  it.each(['0', '-1', '"soon"', '1e999'])('refuses recvTs %s (as written in the line)', (recvTs) => {
    const line = `{"symbol":"AAPL","price":1,"ts":${T},"recvTs":${recvTs}}`;
    expect(parseLine(line, false)).toStrictEqual({ kind: 'bad', reason: 'not a quote: bad recvTs' });
  });

  it('names the first refusal of a bad quote, with its field', () => {
    expect(parseLine(json({ symbol: 'AAPL', price: -1, ts: 0 }), false)).toStrictEqual({
      kind: 'bad',
      reason: 'not a quote: bad_price (price)',
    });
    expect(parseLine(json({ symbol: 'no way', price: 1, ts: T }), false)).toStrictEqual({
      kind: 'bad',
      reason: 'not a quote: bad_symbol (symbol)',
    });
  });
});

describe('parseIndexedLine', () => {
  it('takes a line the pipeline wrote as is, and sends anything else through the full check', () => {
    const record = { symbol: 'AAPL', price: 1, ts: T, seq: 4, recvTs: T + 3 };
    expect(parseIndexedLine(json(record))).toStrictEqual({ kind: 'record', record });
    // Not as the pipeline writes it: the full check normalizes the symbol, fills in recvTs...
    expect(parseIndexedLine(json({ ...record, symbol: 'aapl' }))).toStrictEqual({ kind: 'record', record });
    const { recvTs: _recvTs, ...without } = record;
    expect(parseIndexedLine(json(without))).toStrictEqual({ kind: 'record', record: { ...without, recvTs: T } });
    expect(parseIndexedLine(json({ ...record, recvTs: String(T) }))).toStrictEqual({
      kind: 'bad',
      reason: 'not a quote: bad recvTs',
    });
    // ...and refuses what it must: a header in the middle, no object, no JSON.
    expect(parseIndexedLine(json({ ...record, type: 'header', version: RECORDING_VERSION }))).toStrictEqual({
      kind: 'bad',
      reason: 'a header line after the first line',
    });
    expect(parseIndexedLine('null')).toStrictEqual({ kind: 'bad', reason: 'not a JSON object' });
    expect(parseIndexedLine('{"symbol"')).toMatchObject({ kind: 'bad', reason: expect.stringMatching(/^not JSON \(/) });
  });
});
