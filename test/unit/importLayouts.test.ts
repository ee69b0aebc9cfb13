import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/config/load.js';
import { splitCsvLine } from '../../src/record/csv.js';
import { parseTimeFormat, timeParser } from '../../src/record/csvTime.js';
import {
  type ImportLayout,
  PRESETS,
  parseColumnMap,
  type RowOutcome,
  rowReader,
} from '../../src/record/importLayouts.js';

const fixture = (name: string) =>
  readFileSync(join(PROJECT_ROOT, 'test/fixtures/vendor', name), 'utf8')
    .trimEnd()
    .split('\n');

/** Every row of a fixture read through a preset: header first, as the importer does. */
function readFixture(name: string, preset: string, options: { symbol?: string } = {}): RowOutcome[] {
  const [header, ...rows] = fixture(name);
  const layout = PRESETS[preset];
  if (!layout || !header) throw new Error(`no preset ${preset} or empty fixture`);
  const split = (line: string) => {
    const fields = splitCsvLine(line);
    if (fields.kind !== 'fields') throw new Error(fields.reason);
    return fields.fields;
  };
  const read = rowReader(layout, split(header), { zone: 'America/New_York', ...options });
  return rows.map((row) => read(split(row)));
}

describe('import presets, on verbatim samples of the published layouts', () => {
  it('polygon-trades: ticker, price, size; participant time as ts, SIP time as the receive time (ns)', () => {
    expect(readFixture('polygon-trades.csv', 'polygon-trades')).toEqual([
      { kind: 'tick', tick: { symbol: 'A', price: 142.99, size: 5, ts: 1712306654208, recvTs: 1712306654208 } },
      { kind: 'tick', tick: { symbol: 'A', price: 143, size: 8, ts: 1712306654208, recvTs: 1712306654208 } },
      { kind: 'tick', tick: { symbol: 'A', price: 143, size: 187, ts: 1712306654429, recvTs: 1712306654429 } },
    ]);
  });

  it('polygon-quotes: bid and ask, the price their mid; a quote with neither side is skipped', () => {
    expect(readFixture('polygon-quotes.csv', 'polygon-quotes')).toEqual([
      {
        kind: 'tick',
        tick: { symbol: 'A', bid: 164.28, ask: 180, price: 172.14, ts: 1629716400001, recvTs: 1629716400044 },
      },
      { kind: 'skip', reason: 'no price' },
    ]);
  });

  it('databento-trades, pretty (decimal prices, ISO times, map_symbols): ts_event as ts, ts_recv as the receive time', () => {
    expect(readFixture('databento-trades-pretty.csv', 'databento-trades')).toEqual([
      {
        kind: 'tick',
        tick: {
          symbol: 'PFE',
          price: 32.2,
          size: 2,
          ts: Date.UTC(2023, 8, 29, 12, 0, 0, 212),
          recvTs: Date.UTC(2023, 8, 29, 12, 0, 0, 214),
        },
      },
      {
        kind: 'tick',
        tick: {
          symbol: 'T',
          price: 15.025,
          size: 2,
          ts: Date.UTC(2023, 8, 29, 12, 0, 0, 325),
          recvTs: Date.UTC(2023, 8, 29, 12, 0, 0, 327),
        },
      },
      {
        kind: 'tick',
        tick: {
          symbol: 'GME',
          price: 16.95,
          size: 5,
          ts: Date.UTC(2023, 8, 29, 12, 0, 0, 527),
          recvTs: Date.UTC(2023, 8, 29, 12, 0, 0, 527),
        },
      },
    ]);
  });

  it('databento-trades, raw (prices in 1e-9, ns times, no symbol column): the symbol comes from --symbol', () => {
    expect(readFixture('databento-trades-raw.csv', 'databento-trades', { symbol: 'esu2' })).toEqual([
      { kind: 'tick', tick: { symbol: 'ESU2', price: 0.0000055, size: 3, ts: 1658441851000, recvTs: 1658441891000 } },
    ]);
    expect(() => readFixture('databento-trades-raw.csv', 'databento-trades')).toThrow(
      /column "symbol" \(for symbol\) is not in the header/,
    );
  });

  it('databento-mbp1, raw: a book update (action M) is a quote at the mid of the top of book, without size', () => {
    expect(readFixture('databento-mbp1-raw.csv', 'databento-mbp1', { symbol: 'ESU2' })).toEqual([
      {
        kind: 'tick',
        tick: { symbol: 'ESU2', bid: 372000, ask: 372500, price: 372250, ts: 1658441851000, recvTs: 1658441891000 },
      },
    ]);
  });

  it('databento-mbp1: a trade sets the price; book updates after it keep that price, with the new bid and ask', () => {
    const layout = PRESETS['databento-mbp1'] as ImportLayout;
    const header = 'ts_recv,ts_event,action,price,size,bid_px_00,ask_px_00,symbol'.split(',');
    const read = rowReader(layout, header, { zone: 'UTC' });
    const row = (action: string, price: string, size: string, bid: string, ask: string) =>
      read(['1658441891000000000', '1658441851000000000', action, price, size, bid, ask, 'ESU2']);
    expect(row('A', '9223372036854775807', '0', '3720000000000', '3725000000000')).toMatchObject({
      tick: { price: 3722.5, bid: 3720, ask: 3725 },
    });
    expect(row('T', '3724000000000', '2', '3720000000000', '3725000000000')).toMatchObject({
      tick: { price: 3724, size: 2 },
    });
    const after = row('C', '3721000000000', '1', '3721000000000', '3725000000000');
    expect(after).toMatchObject({ tick: { price: 3724, bid: 3721 } });
    expect(after.kind === 'tick' ? after.tick.size : 'no tick').toBeUndefined();
  });
});

describe('import rows: bad input is named', () => {
  const layout: ImportLayout = {
    columns: parseColumnMap('time=t,symbol=s,price=p,size=q'),
    time: 'auto',
    prices: 'decimal',
  };
  const read = rowReader(layout, ['t', 's', 'p', 'q'], { zone: 'America/New_York' });

  it('says which field is bad and shows it', () => {
    expect(read(['2024-03-07 09:30:00', 'AAPL', 'abc', '1'])).toEqual({
      kind: 'bad',
      reason: 'price: not a price ("abc")',
    });
    expect(read(['yesterday', 'AAPL', '1', '1'])).toEqual({ kind: 'bad', reason: 'time: not a time ("yesterday")' });
    expect(read(['2024-03-07 09:30:00', 'not a symbol', '1', '1'])).toEqual({
      kind: 'bad',
      reason: 'symbol: not a symbol ("not a symbol")',
    });
    expect(read(['2024-03-07 09:30:00', 'AAPL', '1', '-4'])).toEqual({
      kind: 'bad',
      reason: 'size: not a size ("-4")',
    });
    expect(read(['2024-03-07 09:30:00', 'AAPL'])).toEqual({ kind: 'bad', reason: '2 fields, expected at least 4' });
    expect(read(['2024-03-07 09:30:00.250', 'aapl', '1.5', ''])).toEqual({
      kind: 'tick',
      tick: {
        symbol: 'AAPL',
        price: 1.5,
        ts: Date.UTC(2024, 2, 7, 14, 30, 0, 250),
        recvTs: Date.UTC(2024, 2, 7, 14, 30, 0, 250),
      },
    });
  });

  it('a column map or layout that cannot work is refused up front, naming the field', () => {
    expect(() => parseColumnMap('time=t,prize=p')).toThrow(/unknown field "prize"/);
    expect(() => parseColumnMap('time')).toThrow(/"time" is not FIELD=COLUMN/);
    expect(() => rowReader(layout, ['t', 's', 'x', 'q'], { zone: 'UTC' })).toThrow(
      /column "p" \(for price\) is not in the header: t, s, x, q/,
    );
    expect(() => rowReader({ ...layout, columns: { time: 't', symbol: 's' } }, ['t', 's'], { zone: 'UTC' })).toThrow(
      /no price/,
    );
    expect(() =>
      rowReader({ ...layout, columns: { time: 'a', symbol: 's', price: 'p' } }, undefined, { zone: 'UTC' }),
    ).toThrow(/without a header, a number from 1/);
    expect(() => rowReader(layout, ['t', 's', 'p', 'q'], { zone: 'Mars/Olympus' })).toThrow(/not a known zone/);
  });
});

/** A field as a CSV writer would put it: quoted when it holds a quote, the delimiter or a CR. */
const encodeField = (field: string) => (/[",\r]/.test(field) ? `"${field.replaceAll('"', '""')}"` : field);

describe('CSV lines (property)', () => {
  it('fields written as CSV split back to the same fields', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: fc.constantFrom('a', 'b', ',', '"', ' ', '1', '\r') }), {
          minLength: 1,
          maxLength: 8,
        }),
        (fields) => {
          const line = fields.map(encodeField).join(',');
          expect(splitCsvLine(line)).toEqual({ kind: 'fields', fields });
        },
      ),
    );
  });

  it('any line is fields or a bad line with a reason, never an exception', () => {
    fc.assert(
      fc.property(fc.string(), (line) => {
        const result = splitCsvLine(line);
        expect(result.kind === 'fields' ? Array.isArray(result.fields) : result.reason.length > 0).toBe(true);
      }),
    );
    expect(splitCsvLine('a,"b')).toEqual({ kind: 'bad', reason: 'a quote is not closed' });
    expect(splitCsvLine('a,b"c')).toMatchObject({ kind: 'bad' });
  });
});

describe('CSV times (property: a time written in a format reads back)', () => {
  const instant = fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2040, 0, 1) });
  const zone = fc.constantFrom('America/New_York', 'Europe/London', 'Asia/Tokyo', 'UTC', 'Australia/Sydney');

  it('epoch numbers in any unit, told by their size in auto', () => {
    fc.assert(
      fc.property(instant, (ms) => {
        const auto = timeParser('auto', 'UTC');
        expect(auto(String(Math.floor(ms / 1000)))).toBe(Math.floor(ms / 1000) * 1000);
        expect(auto(String(ms))).toBe(ms);
        expect(auto(`${ms}123`)).toBe(ms);
        expect(auto(`${ms}123456`)).toBe(ms);
        expect(timeParser('epoch-ns', 'UTC')(`${ms}654321`)).toBe(ms);
      }),
    );
  });

  it('ISO 8601 with an offset, and local date-times in the zone (outside the hour clocks skip or repeat)', () => {
    fc.assert(
      fc.property(instant, zone, (ms, z) => {
        const at = DateTime.fromMillis(ms, { zone: z });
        const auto = timeParser('auto', z);
        expect(auto(at.toISO() ?? '')).toBe(ms);
        expect(auto(`${at.toUTC().toISO()?.slice(0, -1)}123456Z`)).toBe(ms);
        const local = at.toFormat('yyyy-LL-dd HH:mm:ss.SSS');
        // A wall time in a DST change's hour is ambiguous or missing: luxon's answer is taken there.
        const changing = at.minus({ hours: 1 }).offset !== at.plus({ hours: 1 }).offset;
        if (!changing) expect(auto(local)).toBe(ms);
        const format = parseTimeFormat('dd/LL/yyyy HH:mm:ss.SSS');
        if (!changing) expect(timeParser(format, z)(at.toFormat('dd/LL/yyyy HH:mm:ss.SSS'))).toBe(ms);
      }),
    );
  });

  it('what is not a time is undefined', () => {
    const auto = timeParser('auto', 'UTC');
    for (const text of ['', 'now', '2024-13-45 99:00:00', '12:30']) expect(auto(text)).toBeUndefined();
    expect(timeParser('epoch-ms', 'UTC')('1.2.3')).toBeUndefined();
  });
});

it('every preset maps a symbol (or takes --symbol), a time and a price', () => {
  for (const preset of Object.values(PRESETS)) {
    expect(preset.columns.time ?? preset.columns.recvTime).toBeDefined();
    expect(preset.columns.price ?? (preset.columns.bid && preset.columns.ask)).toBeDefined();
    expect(preset.reference).toMatch(/^https:\/\//);
  }
});
