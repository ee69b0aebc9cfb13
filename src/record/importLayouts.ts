import { normalizeSymbol, SYMBOL_PATTERN } from '../protocol.js';
import { type TimeFormat, timeParser } from './csvTime.js';

/** What an import takes from a row; each maps to a column (its header name, or its number from 1). */
const TICK_FIELDS = ['symbol', 'time', 'recvTime', 'price', 'size', 'bid', 'ask', 'action'] as const;
export type TickField = (typeof TICK_FIELDS)[number];
export type ColumnMap = Partial<Record<TickField, string>>;

/**
 * How prices are written: `decimal`; `databento`: Databento's CSV, where a price is an integer in units of
 * 1e-9 unless the export was made with pretty_px (then a decimal), and UNDEF_PRICE (2^63 - 1) means none.
 */
export type PriceEncoding = 'decimal' | 'databento';

export type ImportLayout = {
  columns: ColumnMap;
  time: TimeFormat;
  prices: PriceEncoding;
  /** Rows are book updates and trades (action T): a row that is not a trade keeps the last trade's price. */
  book?: boolean;
};

export type Preset = ImportLayout & { name: string; summary: string; reference: string };

/** The published CSV layouts of vendors' tick files. */
export const PRESETS: Record<string, Preset> = {
  'polygon-trades': {
    name: 'polygon-trades',
    summary: 'Polygon/Massive flat files, stocks trades (us_stocks_sip/trades_v1)',
    reference: 'https://polygon.io/flat-files/stocks-trades',
    columns: {
      symbol: 'ticker',
      time: 'participant_timestamp',
      recvTime: 'sip_timestamp',
      price: 'price',
      size: 'size',
    },
    time: 'epoch-ns',
    prices: 'decimal',
  },
  'polygon-quotes': {
    name: 'polygon-quotes',
    summary: 'Polygon/Massive flat files, stocks quotes (us_stocks_sip/quotes_v1): price is the mid',
    reference: 'https://polygon.io/flat-files/stocks-quotes',
    columns: {
      symbol: 'ticker',
      time: 'participant_timestamp',
      recvTime: 'sip_timestamp',
      bid: 'bid_price',
      ask: 'ask_price',
    },
    time: 'epoch-ns',
    prices: 'decimal',
  },
  'databento-trades': {
    name: 'databento-trades',
    summary: 'Databento CSV, trades schema (raw or pretty_px/pretty_ts; symbol from map_symbols or --symbol)',
    reference: 'https://databento.com/docs/schemas-and-data-formats/trades',
    columns: { symbol: 'symbol', time: 'ts_event', recvTime: 'ts_recv', price: 'price', size: 'size' },
    time: 'auto',
    prices: 'databento',
  },
  'databento-mbp1': {
    name: 'databento-mbp1',
    summary: 'Databento CSV, mbp-1 or tbbo schema: trades with the top of book; book updates keep the last trade price',
    reference: 'https://databento.com/docs/schemas-and-data-formats/mbp-1',
    columns: {
      symbol: 'symbol',
      time: 'ts_event',
      recvTime: 'ts_recv',
      price: 'price',
      size: 'size',
      bid: 'bid_px_00',
      ask: 'ask_px_00',
      action: 'action',
    },
    time: 'auto',
    prices: 'databento',
    book: true,
  },
};

export class LayoutError extends Error {
  override name = 'LayoutError';
}

function isTickField(name: string): name is TickField {
  return TICK_FIELDS.some((field) => field === name);
}

/** `time=timestamp,symbol=sym,price=last` (names or column numbers from 1) into a column map. */
export function parseColumnMap(text: string): ColumnMap {
  const map: ColumnMap = {};
  for (const entry of text
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)) {
    const eq = entry.indexOf('=');
    const field = entry.slice(0, eq).trim();
    const column = entry.slice(eq + 1).trim();
    if (eq <= 0 || !column) throw new LayoutError(`--columns: "${entry}" is not FIELD=COLUMN`);
    if (!isTickField(field))
      throw new LayoutError(`--columns: unknown field "${field}" (fields: ${TICK_FIELDS.join(', ')})`);
    map[field] = column;
  }
  return map;
}

/** A tick read from a row: times in epoch ms, absent fields left out. */
export type Tick = {
  symbol: string;
  ts: number;
  recvTs: number;
  price: number;
  size?: number;
  bid?: number;
  ask?: number;
};

export type RowOutcome =
  | { kind: 'tick'; tick: Tick }
  | { kind: 'skip'; reason: string }
  | { kind: 'bad'; reason: string };

const UNDEF_PRICE = '9223372036854775807';
const INTEGER = /^-?\d+$/;

/** A price of the encoding: a positive number, `null` for none (empty, 0, UNDEF_PRICE), undefined when it is not a number. */
function priceOf(text: string, encoding: PriceEncoding): number | null | undefined {
  const trimmed = text.trim();
  if (trimmed === '' || trimmed === UNDEF_PRICE) return null;
  // Fixed point: a division is correctly rounded (32200000000 / 1e9 is 32.2), a product is not.
  const value = encoding === 'databento' && INTEGER.test(trimmed) ? Number(trimmed) / 1e9 : Number(trimmed);
  if (!Number.isFinite(value) || value < 0) return undefined;
  return value === 0 ? null : value;
}

const fieldAt = (fields: readonly string[], i: number | undefined) => (i === undefined ? '' : (fields[i] ?? ''));

/** A time column: epoch ms, null when it has none (no column, empty or 0), undefined when it is not a time. */
function timeAt(
  fields: readonly string[],
  i: number | undefined,
  parse: (text: string) => number | undefined,
): number | null | undefined {
  if (i === undefined) return null;
  const text = fieldAt(fields, i).trim();
  if (text === '' || text === '0') return null;
  const ms = parse(text);
  return ms === undefined || ms <= 0 ? undefined : ms;
}

const quoted = (text: string) => JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}...` : text);

/**
 * Reads rows of a layout: resolves its columns against the header (or numbers without one), and turns each
 * row into a tick, a skip (a valid row that is not a tick: a one-sided quote before any trade) or a bad row
 * with the reason naming the field. The time falls back to the receive time when empty or 0.
 */
export function rowReader(
  layout: ImportLayout,
  header: readonly string[] | undefined,
  options: { zone: string; symbol?: string },
): (fields: readonly string[]) => RowOutcome {
  const columns = header?.map((name, i) => (i === 0 ? name.replace(/^\uFEFF/, '') : name).trim());
  const indexOf = (field: TickField): number | undefined => {
    const column = layout.columns[field];
    if (column === undefined) return undefined;
    if (!columns) {
      const n = Number(column);
      if (!Number.isInteger(n) || n < 1)
        throw new LayoutError(`column of ${field} "${column}": without a header, a number from 1`);
      return n - 1;
    }
    const at = columns.indexOf(column);
    if (at === -1) {
      // A preset's optional symbol column (Databento without map_symbols) can be given with --symbol.
      if (field === 'symbol' && options.symbol) return undefined;
      const hint = field === 'symbol' ? '; a file of one symbol can name it with --symbol S' : '';
      throw new LayoutError(`column "${column}" (for ${field}) is not in the header: ${columns.join(', ')}${hint}`);
    }
    return at;
  };
  const at: Record<TickField, number | undefined> = {
    symbol: indexOf('symbol'),
    time: indexOf('time'),
    recvTime: indexOf('recvTime'),
    price: indexOf('price'),
    size: indexOf('size'),
    bid: indexOf('bid'),
    ask: indexOf('ask'),
    action: indexOf('action'),
  };
  if (at.symbol === undefined && !options.symbol)
    throw new LayoutError('no symbol column: map one (symbol=...) or give --symbol');
  if (at.time === undefined && at.recvTime === undefined) throw new LayoutError('no time column: map one (time=...)');
  if (at.price === undefined && (at.bid === undefined || at.ask === undefined)) {
    throw new LayoutError('no price: map price=..., or bid=... and ask=... (the price is then their mid)');
  }
  const fixedSymbol = options.symbol === undefined ? undefined : normalizeSymbol(options.symbol);
  if (fixedSymbol !== undefined && !SYMBOL_PATTERN.test(fixedSymbol))
    throw new LayoutError(`--symbol "${options.symbol}" is not a symbol`);
  const needed = Math.max(...Object.values(at).filter((i): i is number => i !== undefined)) + 1;
  const parseTime = timeParser(layout.time, options.zone);
  const lastTrade = new Map<string, number>();

  // Per row: no closure or object but the tick (this runs for millions of rows).
  const priceAt = (fields: readonly string[], i: number | undefined) =>
    i === undefined ? null : priceOf(fieldAt(fields, i), layout.prices);
  return (fields) => {
    if (fields.length < needed) return { kind: 'bad', reason: `${fields.length} fields, expected at least ${needed}` };
    const symbol = at.symbol === undefined ? (fixedSymbol ?? '') : normalizeSymbol(fieldAt(fields, at.symbol));
    if (!SYMBOL_PATTERN.test(symbol)) {
      return { kind: 'bad', reason: `symbol: not a symbol (${quoted(fieldAt(fields, at.symbol))})` };
    }
    const recv = timeAt(fields, at.recvTime, parseTime);
    if (recv === undefined)
      return { kind: 'bad', reason: `recvTime: not a time (${quoted(fieldAt(fields, at.recvTime))})` };
    const event = timeAt(fields, at.time, parseTime);
    if (event === undefined) return { kind: 'bad', reason: `time: not a time (${quoted(fieldAt(fields, at.time))})` };
    const ts = event ?? recv;
    if (ts === null) return { kind: 'bad', reason: 'time: empty' };
    const traded = priceAt(fields, at.price);
    if (traded === undefined)
      return { kind: 'bad', reason: `price: not a price (${quoted(fieldAt(fields, at.price))})` };
    const bid = priceAt(fields, at.bid);
    if (bid === undefined) return { kind: 'bad', reason: `bid: not a price (${quoted(fieldAt(fields, at.bid))})` };
    const ask = priceAt(fields, at.ask);
    if (ask === undefined) return { kind: 'bad', reason: `ask: not a price (${quoted(fieldAt(fields, at.ask))})` };
    let size: number | undefined;
    if (at.size !== undefined && fieldAt(fields, at.size).trim() !== '') {
      size = Number(fieldAt(fields, at.size));
      if (!Number.isFinite(size) || size < 0) {
        return { kind: 'bad', reason: `size: not a size (${quoted(fieldAt(fields, at.size))})` };
      }
    }
    const mid = bid !== null && ask !== null ? Math.round(((bid + ask) / 2) * 1e9) / 1e9 : null;
    let price: number | null;
    if (layout.book) {
      const trade = fieldAt(fields, at.action).trim() === 'T';
      if (trade && traded !== null) lastTrade.set(symbol, traded);
      else size = undefined;
      price = trade ? traded : (lastTrade.get(symbol) ?? mid);
    } else price = traded ?? mid;
    if (price === null)
      return { kind: 'skip', reason: bid === null && ask === null ? 'no price' : 'a one-sided quote' };
    const tick: Tick = { symbol, ts, recvTs: recv ?? ts, price };
    if (size !== undefined) tick.size = size;
    if (bid !== null) tick.bid = bid;
    if (ask !== null) tick.ask = ask;
    return { kind: 'tick', tick };
  };
}
