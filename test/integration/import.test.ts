import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DateTime } from 'luxon';
import { firstValueFrom, take, toArray } from 'rxjs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/config/load.js';
import { replayFeed } from '../../src/feeds/replay.js';
import { readIndex } from '../../src/record/recordingIndex.js';
import { openRecording } from '../../src/record/recordingTape.js';
import { runTickstream } from '../helpers/cli.js';
import { readRecording } from '../helpers/recordings.js';

const dir = mkdtempSync(join(tmpdir(), 'tickstream-import-'));
const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (args: string[]) => runTickstream(args, children).done;

const ZONE = 'America/New_York';
/** Row i of the generic files: a New York wall time, a symbol of three, a price and a size by formula. */
const row = (i: number) => {
  const at = DateTime.fromObject({ year: 2026, month: 3, day: 9, hour: 9, minute: 30 }, { zone: ZONE }).plus({
    milliseconds: i * 250,
  });
  return {
    wall: at.toFormat('dd/LL/yyyy HH:mm:ss.SSS'),
    ms: at.toMillis(),
    symbol: ['AAPL', 'MSFT', 'SPY'][i % 3] as string,
    price: 100 + (i % 17) / 4,
    size: 1 + (i % 9),
  };
};

describe('tickstream import (real processes)', () => {
  it('a generic CSV over two files (one gzipped, out of order): sorted, day statistics, bad rows named by line', async () => {
    // Odd rows in one file, even rows in the other, each file backwards: the recording must be in time order.
    const lines = (parity: number) =>
      Array.from({ length: 400 }, (_, i) => i)
        .filter((i) => i % 2 === parity)
        .reverse()
        .map((i) => {
          const r = row(i);
          return `${r.symbol};${r.wall};${r.price};${r.size}`;
        });
    const a = join(dir, 'a.csv');
    const b = join(dir, 'b.csv.gz');
    const odd = lines(1);
    // Line 4 of a.csv is bad (a price that is not one), line 7 too (a time that is not one).
    odd.splice(2, 0, 'AAPL;09/03/2026 09:30:00.000;twelve;1');
    odd.splice(5, 0, 'AAPL;yesterday;12;1');
    writeFileSync(a, `sym;when;last;qty\n${odd.join('\n')}\n`);
    writeFileSync(b, gzipSync(`sym;when;last;qty\n${lines(0).join('\n')}`));
    const out = join(dir, 'generic.ndjson.gz');
    const spill = join(dir, 'spill');
    mkdirSync(spill);
    const result = await run([
      'import',
      a,
      b,
      '--out',
      out,
      '--columns',
      'symbol=sym,time=when,price=last,size=qty',
      '--time-format',
      'dd/LL/yyyy HH:mm:ss.SSS',
      '--zone',
      ZONE,
      '--delimiter',
      ';',
      '--chunk-rows',
      '64',
      '--progress',
      // Its sorted runs in a folder of its own: the machine's tmpdir is shared (with a filtered run of this
      // file, whose folder no afterAll removes, say).
      '--tmp',
      spill,
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('imported 400 records of 3 symbols');
    expect(result.stdout).toContain('rows read: 402');
    expect(result.stdout).toMatch(/sorted by receive time \(in \d+ runs on disk\)/);
    expect(result.stdout).toContain('time range: 2026-03-09 09:30:00.000 EDT .. 2026-03-09 09:31:39.750 EDT');
    expect(result.stdout).toContain('bad rows: 2:');
    expect(result.stdout).toContain(`${a}: line 4: price: not a price ("twelve")`);
    expect(result.stdout).toContain(`${a}: line 7: time: not a time ("yesterday")`);
    expect(result.stderr).toMatch(/^import .*records/m);
    // No sorted run is left behind.
    expect(readdirSync(spill)).toEqual([]);

    const recording = await readRecording(out);
    expect(recording.records.map((r) => [r.symbol, r.ts, r.recvTs, r.price, r.size])).toEqual(
      Array.from({ length: 400 }, (_, i) => {
        const r = row(i);
        return [r.symbol, r.ms, r.ms, r.price, r.size];
      }),
    );
    // The day statistics of the live pipeline: AAPL is every third row from row 0.
    const aapl = recording.records.filter((r) => r.symbol === 'AAPL');
    const prices = Array.from({ length: 400 }, (_, i) => row(i)).filter((r) => r.symbol === 'AAPL');
    expect(aapl.at(-1)).toMatchObject({
      open: prices[0]?.price,
      high: Math.max(...prices.map((r) => r.price)),
      low: Math.min(...prices.map((r) => r.price)),
      volume: prices.reduce((n, r) => n + r.size, 0),
      seq: prices.length,
    });
    expect((await readIndex(out)).kind).toBe('current');

    // And it replays: at max, the same records in the same order.
    const feed = replayFeed(
      { type: 'replay', id: 'replay', file: out, speed: 'max', loop: false, zone: ZONE, maxGapMs: 5000 },
      await openRecording(out),
    );
    const replayed = await firstValueFrom(feed.quotes$.pipe(take(400), toArray()));
    expect(replayed).toEqual(recording.records);
  });

  it('a preset over a gzipped vendor file, filtered by symbol', async () => {
    const file = join(dir, 'trades.csv.gz');
    const pretty = readFileSync(join(PROJECT_ROOT, 'test/fixtures/vendor/databento-trades-pretty.csv'));
    writeFileSync(file, gzipSync(pretty));
    const out = join(dir, 'databento.ndjson');
    const result = await run(['import', file, '--preset', 'databento-trades', '--out', out, '--symbols', 'pfe,gme']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('imported 2 records of 2 symbols');
    expect(result.stdout).toContain('left out by --symbols: 1 rows');
    const recording = await readRecording(out);
    expect(recording.records.map((r) => [r.symbol, r.price, r.size, r.source])).toEqual([
      ['PFE', 32.2, 2, 'databento-trades'],
      ['GME', 16.95, 5, 'databento-trades'],
    ]);
    expect(existsSync(`${out}.idx`)).toBe(true);
  });

  it('bad flags name what is wrong', async () => {
    const csv = join(dir, 'flags.csv');
    writeFileSync(csv, 'a,b\n1,2\n');
    const out = join(dir, 'flags.ndjson');
    // Each as its own process, all at once.
    const [unknown, field, column, noOut, help] = await Promise.all([
      run(['import', csv, '--out', out, '--preset', 'bloomberg']),
      run(['import', csv, '--out', out, '--columns', 'time=a,prize=b']),
      run(['import', csv, '--out', out, '--columns', 'time=a,symbol=s,price=b']),
      run(['import', csv, '--columns', 'time=a']),
      run(['import', '--help']),
    ]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/--preset bloomberg: expected one of polygon-trades, /);
    expect(field.code).toBe(2);
    expect(field.stderr).toMatch(/unknown field "prize"/);
    expect(column.code).toBe(2);
    expect(column.stderr).toMatch(/column "s" \(for symbol\) is not in the header: a, b; .* --symbol S/);
    expect(noOut.stderr).toMatch(/--out FILE is required/);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('databento-mbp1');
  });
});
