import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { RecordedQuote } from '../../src/record/format.js';
import { buildIndex } from '../../src/record/indexBuilder.js';
import { indexFileOf, RecordingIndex, readIndex } from '../../src/record/recordingIndex.js';
import { openRecording, RecordingTape } from '../../src/record/recordingTape.js';
import { isPromise } from '../../src/record/tape.js';
import { RecordingWriter } from '../../src/record/writer.js';
import { barsOf } from '../helpers/bars.js';

const dir = mkdtempSync(join(tmpdir(), 'tickstream-index-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const tempFile = (ext: string) => join(dir, `r${++files}${ext}`);

const T0 = Date.UTC(2026, 10, 20, 14, 30);
const SYMBOLS = ['AAPL', 'MSFT', 'BRK.B'];

type Step = {
  symbol: string;
  dt: number;
  lag: number;
  kind: 'normal' | 'late' | 'jump';
  price: number;
  size?: number;
  trade: number;
};

/** Records as a recorder sees them: receive times mostly forward (sometimes a step back), event times a little before. */
const stepsArb = fc.array(
  fc.record(
    {
      symbol: fc.constantFrom(...SYMBOLS),
      dt: fc.oneof(fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 0, max: 90_000 }), fc.constant(-3)),
      lag: fc.integer({ min: 0, max: 3000 }),
      kind: fc.constantFrom('normal', 'normal', 'normal', 'normal', 'late', 'jump'),
      price: fc.integer({ min: 1, max: 100_000 }).map((c) => c / 100),
      size: fc.integer({ min: 1, max: 500 }),
      trade: fc.integer({ min: 0, max: 400 }),
    },
    { requiredKeys: ['symbol', 'dt', 'lag', 'kind', 'price', 'trade'] },
  ),
  { minLength: 1, maxLength: 120 },
);

function recordsOf(steps: Step[]): RecordedQuote[] {
  let recvTs = T0;
  const volume = new Map<string, number>();
  return steps.map((step) => {
    recvTs += step.dt;
    const offset = step.kind === 'late' ? 90_000 : step.kind === 'jump' ? 600_000 : 0;
    const day = (volume.get(step.symbol) ?? 0) + step.trade;
    volume.set(step.symbol, day);
    const record: RecordedQuote = {
      symbol: step.symbol,
      price: step.price,
      ts: recvTs - step.lag - offset,
      volume: day,
      recvTs,
    };
    if (step.size !== undefined) record.size = step.size;
    return record;
  });
}

function write(file: string, records: RecordedQuote[], flushBytes: number): void {
  const writer = new RecordingWriter({
    out: file,
    sources: ['test'],
    flushMs: 0,
    flushBytes,
    now: () => T0,
    index: { checkpointMs: 60_000, checkpointRecords: 7, fullEvery: 3 },
  });
  for (const { recvTs, ...quote } of records) writer.write(quote, recvTs);
  writer.close();
}

/** What a full read says at `position`: the records within it (pacing time = running maximum), the rest after. */
function fullRead(records: RecordedQuote[], position: number, inclusive: boolean) {
  let max = Number.NEGATIVE_INFINITY;
  const within: RecordedQuote[] = [];
  const after: RecordedQuote[] = [];
  for (const r of records) {
    max = Math.max(max, r.recvTs);
    if (max < position || (inclusive && max === position)) within.push(r);
    else after.push(r);
  }
  const last = new Map<string, RecordedQuote>();
  for (const r of within) {
    last.delete(r.symbol);
    last.set(r.symbol, r);
  }
  // The restated quotes: each symbol's last record, in recorded order, without size (not a trade).
  const state = [...last.values()].map(({ size: _size, ...rest }) => rest);
  return { state, after, within };
}

async function readAll(tape: RecordingTape, position: number, inclusive: boolean) {
  const seek = await tape.seek(position, inclusive);
  const rest: RecordedQuote[] = [];
  for (;;) {
    const read = seek.cursor.next();
    const batch = isPromise(read) ? await read : read;
    if (!batch) break;
    rest.push(...batch.records);
  }
  return { seek, rest };
}

/** Positions worth a seek: every record's pacing time (first and last included), between them, outside them. */
function positionsOf(records: RecordedQuote[]): number[] {
  let max = Number.NEGATIVE_INFINITY;
  const times = records.map((r) => (max = Math.max(max, r.recvTs)));
  const first = times[0] as number;
  const last = times.at(-1) as number;
  return [...new Set([first - 1, ...times, ...times.map((t) => t + 1), last + 60_000])];
}

async function expectSeeksMatch(tape: RecordingTape, records: RecordedQuote[]): Promise<void> {
  for (const position of positionsOf(records)) {
    for (const inclusive of [true, false]) {
      const expected = fullRead(records, position, inclusive);
      const { seek, rest } = await readAll(tape, position, inclusive);
      expect(seek.state).toEqual(expected.state);
      expect(rest).toEqual(expected.after);
      for (const symbol of SYMBOLS) {
        expect(seek.bars(symbol)).toEqual(barsOf(expected.within.filter((r) => r.symbol === symbol)));
      }
    }
  }
}

describe('recording index (property: a seek equals a full read)', () => {
  for (const ext of ['.ndjson.gz', '.ndjson']) {
    it(`${ext}: the recorder's index and one built from the file both restate exactly, bars included`, async () => {
      await fc.assert(
        fc.asyncProperty(stepsArb, fc.integer({ min: 1, max: 2000 }), async (steps, flushBytes) => {
          const records = recordsOf(steps);
          const file = tempFile(ext);
          write(file, records, flushBytes);
          const written = await readIndex(file);
          if (written.kind !== 'current') throw new Error(`the recorder left no current index (${written.kind})`);
          await expectSeeksMatch(new RecordingTape(file, written.index), records);
          const built = await buildIndex(file, { checkpointRecords: 5, fullEvery: 2 });
          await expectSeeksMatch(new RecordingTape(file, built), records);
        }),
        { numRuns: 25 },
      );
    });
  }

  it('a gzip file of one big member (gzip FILE) is indexed, and seeks read from its start', async () => {
    const records = recordsOf(fc.sample(stepsArb, { numRuns: 1, seed: 7 })[0] as Step[]);
    const plain = tempFile('.ndjson');
    write(plain, records, 100);
    const file = tempFile('.ndjson.gz');
    writeFileSync(file, gzipSync(readFileSync(plain)));
    const index = await buildIndex(file, { checkpointRecords: 4 });
    expect(new Set(index.checkpoints.map((c) => c.offset))).toEqual(new Set([0]));
    await expectSeeksMatch(new RecordingTape(file, index), records);
  });

  it('a torn last line is left out; a stale index (the file grew) is rebuilt by openRecording', async () => {
    const records = recordsOf(fc.sample(stepsArb, { numRuns: 1, seed: 11 })[0] as Step[]);
    const file = tempFile('.ndjson');
    write(file, records, 100);
    writeFileSync(file, `${readFileSync(file, 'utf8')}{"symbol":"AAPL","pri`);
    expect(await readIndex(file)).toMatchObject({ kind: 'stale' });
    const reasons: string[] = [];
    const tape = await openRecording(file, { onIndexing: (_f, reason) => reasons.push(reason) });
    expect(reasons).toEqual([expect.stringMatching(/stale/)]);
    expect(tape.records).toBe(records.length);
    expect((await readIndex(file)).kind).toBe('current');
    await expectSeeksMatch(tape, records);
  });

  it('the index file round-trips, and its header says what it covers', async () => {
    const records = recordsOf(fc.sample(stepsArb, { numRuns: 1, seed: 3 })[0] as Step[]);
    const file = tempFile('.ndjson.gz');
    write(file, records, 300);
    const bytes = readFileSync(indexFileOf(file));
    const index = RecordingIndex.parse(bytes);
    expect(RecordingIndex.parse(index.serialize())).toEqual(index);
    expect(index.header).toMatchObject({
      records: records.length,
      gzip: true,
      first: records[0]?.recvTs,
      symbols: expect.arrayContaining([records[0]?.symbol]),
    });
    expect(() => RecordingIndex.parse(Buffer.from('not gzip'))).toThrow(/not a gzip file/);
  });
});
