import { renameSync, writeFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { gunzipSync, gzipSync } from 'node:zlib';
import { messageOf } from '../errorMessage.js';
import { BarSeries } from '../ingest/intradayHistory.js';
import type { Bar } from '../protocol.js';
import type { RecordedQuote } from './format.js';
import type { ReadPosition } from './lines.js';
import { indexAfter } from './tape.js';

/**
 * A recording's index (docs/PROTOCOL.md, "Recording index"): a sidecar file `FILE.idx` (gzip NDJSON) with
 * checkpoints (where a reader can start, and each symbol's last quote and open 1-minute bar there) and each
 * symbol's closed bars, so that a replay seeks anywhere without reading from the start, and its chart history
 * is the recording's bars up to the position.
 */
export const INDEX_VERSION = 1;

export function indexFileOf(file: string): string {
  return `${file}.idx`;
}

export type IndexHeader = {
  type: 'index';
  version: number;
  /** The recording's size when it was indexed: another size means the index is stale. */
  dataBytes: number;
  gzip: boolean;
  records: number;
  /** Pacing times (receive times, running maximum) of the first and last records. */
  first?: number;
  last?: number;
  symbols: string[];
  /** For gzip: the largest member, decompressed (what a seek may have to read past). */
  largestMemberBytes?: number;
};

/** Where a reader can start (`offset`, `skip`) to read record `record` first. */
export type Checkpoint = ReadPosition & {
  record: number;
  /** Every record before the checkpoint has a pacing time at or before this (null: there is none). */
  time: number | null;
  /** Its state lists every symbol, not only those that changed since the checkpoint before. */
  full: boolean;
};

/** A symbol at a checkpoint: its last record before it, and its bar series' open bar then. */
export type SymbolState = { record: number; quote: RecordedQuote; bar?: Bar; lastVolume?: number };

/** A symbol's closed bars in the order they closed, each with the record that closed it, and where its bars started over. */
export type BarLog = {
  time: number[];
  open: number[];
  high: number[];
  low: number[];
  close: number[];
  volume: number[];
  closedAt: number[];
  resets: number[];
};

const BAR_LOG_KEYS = [
  'time',
  'open',
  'high',
  'low',
  'close',
  'volume',
  'closedAt',
  'resets',
] as const satisfies readonly (keyof BarLog)[];

export function emptyBarLog(): BarLog {
  return { time: [], open: [], high: [], low: [], close: [], volume: [], closedAt: [], resets: [] };
}

export class IndexError extends Error {
  override name = 'IndexError';
}

type StateEntry = [
  symbol: string,
  record: number,
  quote: RecordedQuote,
  bar: number[] | null,
  lastVolume: number | null,
];

export function stateEntry(symbol: string, state: SymbolState): StateEntry {
  const bar = state.bar;
  return [
    symbol,
    state.record,
    state.quote,
    bar ? [bar.time, bar.open, bar.high, bar.low, bar.close, bar.volume] : null,
    state.lastVolume ?? null,
  ];
}

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function decodeEntry(value: unknown): [string, SymbolState] {
  if (!Array.isArray(value) || value.length !== 5) throw new IndexError('a malformed state entry');
  const [symbol, record, quote, bar, lastVolume] = value;
  if (typeof symbol !== 'string' || !isNumber(record) || typeof quote !== 'object' || quote === null) {
    throw new IndexError('a malformed state entry');
  }
  const state: SymbolState = { record, quote };
  if (Array.isArray(bar) && bar.length === 6 && bar.every(isNumber)) {
    const [time = 0, open = 0, high = 0, low = 0, close = 0, volume = 0] = bar;
    state.bar = { time, open, high, low, close, volume };
  }
  if (isNumber(lastVolume)) state.lastVolume = lastVolume;
  return [symbol, state];
}

export class RecordingIndex {
  constructor(
    readonly header: IndexHeader,
    readonly checkpoints: readonly Checkpoint[],
    /** Each checkpoint's state line, parsed only when a seek needs it. */
    private readonly states: readonly string[],
    private readonly bars: ReadonlyMap<string, BarLog>,
  ) {}

  /**
   * The last checkpoint every record before which is within `position`: at or before it (`inclusive`), or
   * strictly before it.
   */
  checkpointFor(position: number, inclusive: boolean): number {
    let lo = 0;
    let hi = this.checkpoints.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      const time = (this.checkpoints[mid] as Checkpoint).time;
      if (time === null || time < position || (inclusive && time === position)) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** Each symbol's state at checkpoint `k`: the last full state before it, with the changes since applied. */
  stateAt(k: number): Map<string, SymbolState> {
    let full = k;
    while (full > 0 && !(this.checkpoints[full] as Checkpoint).full) full--;
    const state = new Map<string, SymbolState>();
    for (let i = full; i <= k; i++) {
      const parsed: unknown = JSON.parse(this.states[i] as string);
      const entries = typeof parsed === 'object' && parsed !== null && 'entries' in parsed ? parsed.entries : undefined;
      if (!Array.isArray(entries)) throw new IndexError(`checkpoint ${i} has no state`);
      for (const entry of entries) {
        const [symbol, symbolState] = decodeEntry(entry);
        state.set(symbol, symbolState);
      }
    }
    return state;
  }

  /**
   * A symbol's bar series just before checkpoint `k`'s record: its bars closed by then (since its last reset)
   * and its open bar (from `state`, the symbol's state at that checkpoint).
   */
  seriesAt(symbol: string, k: number, state: SymbolState | undefined): BarSeries {
    const record = (this.checkpoints[k] as Checkpoint).record;
    const bars: Bar[] = [];
    const log = this.bars.get(symbol);
    if (log) {
      const resets = indexAfter(log.resets, record, false);
      const after = resets > 0 ? (log.resets[resets - 1] as number) : -1;
      const from = indexAfter(log.closedAt, after, true);
      const to = indexAfter(log.closedAt, record, false);
      for (let i = from; i < to; i++) {
        bars.push({
          time: log.time[i] as number,
          open: log.open[i] as number,
          high: log.high[i] as number,
          low: log.low[i] as number,
          close: log.close[i] as number,
          volume: log.volume[i] as number,
        });
      }
    }
    if (state?.bar) bars.push({ ...state.bar });
    return new BarSeries(bars, state?.lastVolume);
  }

  /** The index as its file holds it: gzip NDJSON. */
  serialize(): Buffer {
    const lines = [JSON.stringify(this.header)];
    this.checkpoints.forEach((checkpoint, i) => {
      lines.push(JSON.stringify({ type: 'checkpoint', ...checkpoint }), this.states[i] as string);
    });
    for (const [symbol, log] of this.bars) lines.push(JSON.stringify({ type: 'bars', symbol, ...log }));
    return gzipSync(`${lines.join('\n')}\n`);
  }

  static parse(bytes: Buffer): RecordingIndex {
    let lines: string[];
    try {
      lines = gunzipSync(bytes).toString('utf8').split('\n');
    } catch (err) {
      throw new IndexError(`not a gzip file (${messageOf(err)})`);
    }
    const header = parseHeader(lines[0] ?? '');
    const checkpoints: Checkpoint[] = [];
    const states: string[] = [];
    const bars = new Map<string, BarLog>();
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i] as string;
      if (line === '') continue;
      // The writer starts each kind of line the same way: state lines (most of the bytes) stay unparsed.
      if (line.startsWith('{"type":"state"')) {
        if (states.length !== checkpoints.length - 1)
          throw new IndexError(`line ${i + 1}: a state without a checkpoint`);
        states.push(line);
        continue;
      }
      const value: unknown = JSON.parse(line);
      if (typeof value !== 'object' || value === null || !('type' in value)) {
        throw new IndexError(`line ${i + 1}: not an index line`);
      }
      if (value.type === 'checkpoint') checkpoints.push(parseCheckpoint(value, i + 1));
      else if (value.type === 'bars' && 'symbol' in value && typeof value.symbol === 'string') {
        bars.set(value.symbol, parseBarLog(value, i + 1));
      } else throw new IndexError(`line ${i + 1}: unknown line type`);
    }
    if (states.length !== checkpoints.length) throw new IndexError('a checkpoint without its state');
    return new RecordingIndex(header, checkpoints, states, bars);
  }
}

function parseHeader(line: string): IndexHeader {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new IndexError('no header line');
  }
  if (typeof value !== 'object' || value === null) throw new IndexError('no header line');
  const header = value as Partial<IndexHeader>;
  if (header.type !== 'index') throw new IndexError('no header line');
  if (header.version !== INDEX_VERSION) throw new IndexError(`unsupported index version ${header.version}`);
  if (!isNumber(header.dataBytes) || !isNumber(header.records) || typeof header.gzip !== 'boolean') {
    throw new IndexError('a header without dataBytes, records or gzip');
  }
  return {
    type: 'index',
    version: INDEX_VERSION,
    dataBytes: header.dataBytes,
    gzip: header.gzip,
    records: header.records,
    symbols: Array.isArray(header.symbols) ? header.symbols.filter((s) => typeof s === 'string') : [],
    ...(isNumber(header.first) ? { first: header.first } : {}),
    ...(isNumber(header.last) ? { last: header.last } : {}),
    ...(isNumber(header.largestMemberBytes) ? { largestMemberBytes: header.largestMemberBytes } : {}),
  };
}

function parseCheckpoint(value: object, line: number): Checkpoint {
  const c = value as Partial<Checkpoint>;
  if (!isNumber(c.record) || !isNumber(c.offset) || !isNumber(c.skip) || typeof c.full !== 'boolean') {
    throw new IndexError(`line ${line}: a malformed checkpoint`);
  }
  if (c.time !== null && !isNumber(c.time)) throw new IndexError(`line ${line}: a malformed checkpoint`);
  return { record: c.record, time: c.time ?? null, offset: c.offset, skip: c.skip, full: c.full };
}

function parseBarLog(value: object, line: number): BarLog {
  const log = emptyBarLog();
  const source = value as Record<string, unknown>;
  for (const key of BAR_LOG_KEYS) {
    const column = source[key];
    if (!Array.isArray(column) || !column.every(isNumber)) throw new IndexError(`line ${line}: a malformed ${key}`);
    log[key] = column;
  }
  const n = log.time.length;
  if ([log.open, log.high, log.low, log.close, log.volume, log.closedAt].some((c) => c.length !== n)) {
    throw new IndexError(`line ${line}: bar columns of different lengths`);
  }
  return log;
}

export type IndexLookup =
  | { kind: 'current'; index: RecordingIndex }
  | { kind: 'missing' }
  | { kind: 'stale'; reason: string };

/** The recording's index if its sidecar exists and matches the file as it is now. */
export async function readIndex(file: string): Promise<IndexLookup> {
  let bytes: Buffer;
  try {
    bytes = await readFile(indexFileOf(file));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
    throw err;
  }
  let index: RecordingIndex;
  try {
    index = RecordingIndex.parse(bytes);
  } catch (err) {
    if (err instanceof IndexError || err instanceof SyntaxError) return { kind: 'stale', reason: err.message };
    throw err;
  }
  const size = (await stat(file)).size;
  if (size !== index.header.dataBytes) {
    return { kind: 'stale', reason: `the recording is ${size} bytes, the index was made at ${index.header.dataBytes}` };
  }
  return { kind: 'current', index };
}

/** Writes the sidecar whole or not at all (a temporary file renamed over it). */
export function writeIndex(file: string, index: RecordingIndex): void {
  const target = indexFileOf(file);
  const temporary = `${target}.${process.pid}.tmp`;
  writeFileSync(temporary, index.serialize());
  renameSync(temporary, target);
}
