import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { RawQuote } from '../../src/protocol.js';
import { parseLine, recordLine, recordOf } from '../../src/record/format.js';
import { RecordingError, readHeaderSync, scanRecording } from '../../src/record/reader.js';
import { RecordingWriter, rotatedName } from '../../src/record/writer.js';
import { readRecording as loadRecording } from '../helpers/recordings.js';
import { virtualClock } from '../helpers/virtualClock.js';

const dir = mkdtempSync(join(tmpdir(), 'tickstream-record-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let fileCount = 0;
const tempFile = (ext: string) => join(dir, `r${++fileCount}${ext}`);

const quoteArb: fc.Arbitrary<RawQuote> = fc.record(
  {
    symbol: fc.constantFrom('AAPL', 'MSFT', 'BRK.B', 'BTC-USD', '^GSPC'),
    price: fc.double({ min: 0.01, max: 1e6, noNaN: true }),
    ts: fc.integer({ min: 1, max: 4_000_000_000_000 }),
    bid: fc.double({ min: 0.01, max: 1e6, noNaN: true }),
    volume: fc.integer({ min: 0, max: 1e12 }),
    source: fc.string({ maxLength: 10 }),
  },
  { requiredKeys: ['symbol', 'price', 'ts'] },
);

function writeRecording(file: string, quotes: RawQuote[], flushBytes = 300): RecordingWriter {
  const writer = new RecordingWriter({
    out: file,
    sources: ['sim'],
    flushMs: 0,
    flushBytes,
    now: () => 1_700_000_000_000,
  });
  for (const [i, quote] of quotes.entries()) writer.write(quote, 1_700_000_000_000 + i);
  writer.close();
  return writer;
}

const QUOTES: RawQuote[] = Array.from({ length: 40 }, (_, i) => ({
  symbol: i % 2 ? 'AAPL' : 'MSFT',
  price: 100 + i / 100,
  ts: 1_700_000_000_000 + i * 10,
  volume: i * 100,
}));

describe('recording line format', () => {
  it('a written record parses back to the same quote and receive time', () => {
    fc.assert(
      fc.property(quoteArb, fc.integer({ min: 1, max: 4_000_000_000_000 }), (quote, recvTs) => {
        const verdict = parseLine(recordLine(recordOf(quote, recvTs)).trimEnd(), false);
        expect(verdict.kind).toBe('record');
        if (verdict.kind === 'record') expect(verdict.record).toEqual({ ...quote, recvTs });
      }),
    );
  });

  it('any line is classified without throwing; a cut record line is never accepted', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        expect(['header', 'record', 'bad']).toContain(parseLine(text, false).kind);
      }),
    );
    fc.assert(
      fc.property(quoteArb, fc.nat(), (quote, cut) => {
        const line = recordLine(recordOf(quote, 5)).trimEnd();
        const prefix = line.slice(0, cut % line.length);
        expect(parseLine(prefix, false).kind).toBe('bad');
      }),
    );
  });

  it('says why a line is bad', () => {
    expect(parseLine('{"symbol":"AAPL"', false)).toMatchObject({
      kind: 'bad',
      reason: expect.stringMatching(/^not JSON/),
    });
    expect(parseLine('[1,2]', false)).toEqual({ kind: 'bad', reason: 'not a JSON object' });
    expect(parseLine('{"symbol":"AAPL","price":-1,"ts":5}', false)).toEqual({
      kind: 'bad',
      reason: 'not a quote: bad_price (price)',
    });
    expect(parseLine('{"type":"header","version":1}', false)).toMatchObject({ kind: 'bad' });
  });
});

describe('recording files', () => {
  for (const ext of ['.ndjson', '.ndjson.gz']) {
    it(`${ext}: writes a header and the records, and reads them back in order`, async () => {
      const file = tempFile(ext);
      writeRecording(file, QUOTES);
      const recording = await loadRecording(file);
      expect(recording.header).toMatchObject({ type: 'header', version: 1, sources: ['sim'] });
      expect(recording.records.map(({ recvTs: _r, ...q }) => q)).toEqual(QUOTES);
      expect(recording.torn).toBeUndefined();
      expect(readHeaderSync(file)?.sources).toEqual(['sim']);
    });

    it(`${ext}: cut at any byte, it reads back a prefix of the records, with at most a torn last line`, async () => {
      const file = tempFile(ext);
      writeRecording(file, QUOTES);
      const bytes = readFileSync(file);
      const cutFile = tempFile(ext);
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 0, max: bytes.length }), async (cut) => {
          writeFileSync(cutFile, bytes.subarray(0, cut));
          const report = await scanRecording(cutFile);
          expect(report.corrupt).toBeUndefined();
          const recording = await loadRecording(cutFile);
          expect(recording.records.map((r) => r.price)).toEqual(
            QUOTES.slice(0, recording.records.length).map((q) => q.price),
          );
        }),
        { numRuns: 60 },
      );
    });
  }

  it('the gzip file is gzip members, one per flush (what a crash cannot tear apart)', async () => {
    const file = tempFile('.ndjson.gz');
    writeRecording(file, QUOTES, 500);
    const bytes = readFileSync(file);
    let members = 0;
    for (let i = 0; i + 2 < bytes.length; i++)
      if (bytes[i] === 0x1f && bytes[i + 1] === 0x8b && bytes[i + 2] === 8) members++;
    expect(members).toBeGreaterThan(3);
  });

  it('a torn last line is ignored; a corrupt middle line is an error naming its line number', async () => {
    const file = tempFile('.ndjson');
    writeRecording(file, QUOTES.slice(0, 5));
    const lines = readFileSync(file, 'utf8').split('\n');
    writeFileSync(file, `${lines.slice(0, 6).join('\n')}\n{"symbol":"AAPL","pri`);
    const torn = await scanRecording(file);
    expect(torn).toMatchObject({ records: 5, torn: { line: 7 } });
    expect(torn.corrupt).toBeUndefined();

    const corrupt = [...lines.slice(0, 3), '{"symbol":"AAPL","price":"x","ts":1}', ...lines.slice(3)].join('\n');
    writeFileSync(file, corrupt);
    const report = await scanRecording(file);
    expect(report).toMatchObject({ records: 2, corrupt: { line: 4, reason: 'not a quote: bad_price (price)' } });
    await expect(loadRecording(file)).rejects.toThrow(RecordingError);
    await expect(loadRecording(file)).rejects.toThrow(/line 4: not a quote/);
  });

  it('rotates by size into numbered files, each with its own header', async () => {
    const out = join(dir, 'rot', 'session.ndjson.gz');
    const writer = new RecordingWriter({ out, sources: ['sim'], flushMs: 0, flushBytes: 1, rotate: { maxBytes: 400 } });
    for (const [i, q] of QUOTES.entries()) writer.write(q, 1_700_000_000_000 + i);
    writer.close();
    expect(writer.files.length).toBeGreaterThan(2);
    // Each file with its index beside it.
    expect(readdirSync(join(dir, 'rot')).sort()).toEqual(
      writer.files.flatMap((f) => [f.slice(f.lastIndexOf('/') + 1), `${f.slice(f.lastIndexOf('/') + 1)}.idx`]).sort(),
    );
    let total = 0;
    for (const file of writer.files) {
      const recording = await loadRecording(file);
      expect(recording.header?.type).toBe('header');
      total += recording.records.length;
    }
    expect(total).toBe(QUOTES.length);
  });

  it('rotates by age', () => {
    let now = 0;
    const out = join(dir, 'age', 'session.ndjson');
    const writer = new RecordingWriter({
      out,
      sources: ['sim'],
      flushMs: 0,
      rotate: { maxMinutes: 1 },
      now: () => now,
    });
    for (let i = 0; i < 5; i++) {
      writer.write(QUOTES[0] as RawQuote);
      now += 30_000;
    }
    writer.close();
    expect(writer.files).toEqual([out, join(dir, 'age', 'session.1.ndjson'), join(dir, 'age', 'session.2.ndjson')]);
  });

  it('buffered lines reach the file every flushMs on the writer clock, without a further write', () => {
    const { scheduler, runTo } = virtualClock();
    const out = tempFile('.ndjson');
    const writer = new RecordingWriter({ out, sources: ['sim'], flushMs: 200, flushBytes: 1 << 30, scheduler });
    const recordLines = () =>
      readFileSync(out, 'utf8')
        .split('\n')
        .filter((line) => line.includes('"price"')).length;
    writer.write(QUOTES[0] as RawQuote);
    writer.write(QUOTES[1] as RawQuote);
    runTo(199);
    expect(recordLines()).toBe(0);
    runTo(200);
    expect(recordLines()).toBe(2);
    writer.write(QUOTES[2] as RawQuote);
    runTo(399);
    expect(recordLines()).toBe(2);
    runTo(400);
    expect(recordLines()).toBe(3);
    writer.close();
    // Closed, the writer leaves no timer behind.
    expect(scheduler.actions).toHaveLength(0);
  });

  it('names rotated files before the extension', () => {
    expect(rotatedName('a/s.ndjson.gz', 0)).toBe('a/s.ndjson.gz');
    expect(rotatedName('a/s.ndjson.gz', 2)).toBe('a/s.2.ndjson.gz');
    expect(rotatedName('s.ndjson', 1)).toBe('s.1.ndjson');
    expect(rotatedName('s.txt', 1)).toBe('s.txt.1');
  });
});
