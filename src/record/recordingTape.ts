import { messageOf } from '../errorMessage.js';
import type { BarSeries } from '../ingest/intradayHistory.js';
import type { Bar, SymbolInfo } from '../protocol.js';
import { parseIndexedLine, type RecordedQuote } from './format.js';
import { CorruptGzipError } from './gzipMembers.js';
import { buildIndex } from './indexBuilder.js';
import { linesFrom, type ReadPosition } from './lines.js';
import { readHeaderSync } from './reader.js';
import { type Checkpoint, indexFileOf, type RecordingIndex, readIndex, writeIndex } from './recordingIndex.js';
import { type Batch, batchFrom, type Cursor, isPromise, type MaybePromise, type Seek, type Tape } from './tape.js';

/** A seek into recordings: also the chart bars of each symbol up to the position (its feed's history). */
export type ReplaySeek = Seek<RecordedQuote> & { bars(symbol: string): Bar[] };

export type ReplayTape = Tape<RecordedQuote, ReplaySeek> & {
  readonly records: number;
  /** The symbols the recordings declare (their headers) and hold. */
  readonly symbols: readonly SymbolInfo[];
};

/**
 * A quote restated at a seek: the symbol's last record, without `size`, because it is the market's state,
 * not a trade (and the chart history, seeded with the bars that already hold it, must not count it again).
 */
export function restated(record: RecordedQuote): RecordedQuote {
  if (record.size === undefined) return record;
  const { size: _size, ...rest } = record;
  return rest;
}

/**
 * Records parsed ahead of the replay head, at most: enough that a turn at max speed (2000 records) rarely
 * waits for the file, few enough that a paced replay keeps little alive across garbage collections (what
 * survives a scavenge is what it costs, and a pause is a late quote).
 */
const READ_AHEAD_RECORDS = 4096;

/**
 * Reads records from a position in a recording, parsing as it goes, a few batches ahead of `next()`, so the
 * replay rarely waits and memory stays bounded whatever the file's size. It stops at the record count the
 * index gave: a record that is not where the index says is an error (the file changed).
 */
class RecordCursor implements Cursor<RecordedQuote> {
  private readonly queue: Batch<RecordedQuote>[] = [];
  private queued = 0;
  private finished = false;
  private failure: Error | undefined;
  private closed = false;
  private readonly abort = new AbortController();
  private wakeReader: (() => void) | undefined;
  private wakePump: (() => void) | undefined;
  private index: number;
  private time: number;

  constructor(
    private readonly file: string,
    gzip: boolean,
    position: ReadPosition,
    first: number,
    private readonly end: number,
    time: number,
  ) {
    this.index = first;
    this.time = time;
    if (first >= end) this.finished = true;
    else void this.pump(gzip, position);
  }

  /** Puts back what a seek read past its position: the cursor starts with it. */
  unshift(batch: Batch<RecordedQuote>): void {
    if (batch.records.length === 0) return;
    this.queue.unshift(batch);
    this.queued += batch.records.length;
  }

  next(): MaybePromise<Batch<RecordedQuote> | null> {
    const batch = this.queue.shift();
    if (batch) {
      this.queued -= batch.records.length;
      this.wakePump?.();
      return batch;
    }
    if (this.failure) return Promise.reject(this.failure);
    if (this.finished) return null;
    return new Promise((resolve, reject) => {
      this.wakeReader = () => {
        this.wakeReader = undefined;
        const read = this.next();
        if (isPromise(read)) read.then(resolve, reject);
        else resolve(read);
      };
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.abort.abort();
    this.wakePump?.();
  }

  private async pump(gzip: boolean, position: ReadPosition): Promise<void> {
    try {
      for await (const lines of linesFrom(this.file, gzip, position, this.abort.signal)) {
        const records: RecordedQuote[] = [];
        const times: number[] = [];
        for (const text of lines) {
          if (text.trim() === '') continue;
          const verdict = parseIndexedLine(text);
          if (verdict.kind !== 'record') {
            throw new Error(
              `${this.file} changed since it was indexed: record ${this.index + 1} is ${verdict.kind === 'bad' ? verdict.reason : 'a header'}`,
            );
          }
          this.time = Math.max(this.time, verdict.record.recvTs);
          records.push(verdict.record);
          times.push(this.time);
          if (++this.index >= this.end) break;
        }
        if (records.length > 0) {
          this.queue.push({ records, times });
          this.queued += records.length;
          this.wakeReader?.();
        }
        if (this.index >= this.end) break;
        // Decompressed chunks queue up; parsed back to back they would hold the event loop for milliseconds,
        // past the timers of records due meanwhile: let the loop turn between them.
        await new Promise<void>((resolve) => setImmediate(resolve));
        while (this.queued >= READ_AHEAD_RECORDS && !this.closed) {
          await new Promise<void>((resolve) => {
            this.wakePump = () => {
              this.wakePump = undefined;
              resolve();
            };
          });
        }
        if (this.closed) break;
      }
      if (this.index < this.end && !this.closed) {
        throw new Error(`${this.file} ended before record ${this.end} (it changed since it was indexed)`);
      }
    } catch (err) {
      if (!this.closed) this.failure = readFailure(this.file, err);
    }
    this.finished = true;
    this.wakeReader?.();
  }
}

/** Why reading from an index's position failed: data that does not inflate there was not so when indexed. */
function readFailure(file: string, err: unknown): Error {
  if (err instanceof CorruptGzipError) {
    return new Error(`${file} changed since it was indexed: ${err.message} (tickstream verify ${file} names the line)`);
  }
  return err instanceof Error ? err : new Error(String(err));
}

/** One recording file with its index: seeks restate from the nearest checkpoint, then read on. */
export class RecordingTape implements ReplayTape {
  readonly first: number;
  readonly last: number;
  readonly records: number;
  readonly symbols: readonly SymbolInfo[];

  constructor(
    readonly file: string,
    readonly index: RecordingIndex,
    declared: readonly SymbolInfo[] = [],
  ) {
    this.first = index.header.first ?? 0;
    this.last = index.header.last ?? 0;
    this.records = index.header.records;
    const known = new Set(declared.map((info) => info.symbol));
    this.symbols = [...declared, ...index.header.symbols.filter((s) => !known.has(s)).map((symbol) => ({ symbol }))];
  }

  async seek(position: number, inclusive: boolean): Promise<ReplaySeek> {
    const { index } = this;
    if (this.records === 0 || index.checkpoints.length === 0) {
      return { state: [], cursor: { next: () => null, close() {} }, bars: () => [] };
    }
    const k = index.checkpointFor(position, inclusive);
    const checkpoint = index.checkpoints[k] as Checkpoint;
    const state = index.stateAt(k);
    const cursor = new RecordCursor(
      this.file,
      index.header.gzip,
      checkpoint,
      checkpoint.record,
      this.records,
      checkpoint.time ?? Number.NEGATIVE_INFINITY,
    );
    // From the checkpoint to the position: each record updates its symbol's last value and bars.
    const folded = new Map<string, BarSeries>();
    let record = checkpoint.record;
    try {
      reading: for (;;) {
        const read = cursor.next();
        const batch = isPromise(read) ? await read : read;
        if (!batch) break;
        for (let i = 0; i < batch.records.length; i++) {
          const time = batch.times[i] as number;
          if (time > position || (!inclusive && time === position)) {
            cursor.unshift(batchFrom(batch, i));
            break reading;
          }
          const quote = batch.records[i] as RecordedQuote;
          let series = folded.get(quote.symbol);
          if (!series) {
            series = index.seriesAt(quote.symbol, k, state.get(quote.symbol));
            folded.set(quote.symbol, series);
          }
          series.add(quote);
          state.set(quote.symbol, { record: record++, quote });
        }
      }
    } catch (err) {
      cursor.close();
      throw err;
    }
    const lastValues = [...state.values()].sort((a, b) => a.record - b.record);
    return {
      state: lastValues.map((s) => restated(s.quote)),
      cursor,
      // Symbols not seen since the checkpoint still have their state there: their bars come from the index.
      bars: (symbol) =>
        (folded.get(symbol) ?? index.seriesAt(symbol, k, state.get(symbol))).bars.map((bar) => ({ ...bar })),
    };
  }
}

/** Same-minute bars of one symbol from several files: one bar (the earlier file opens it, the later closes it). */
function joinBars(lists: Bar[][]): Bar[] {
  const byTime = new Map<number, Bar>();
  for (const bars of lists) {
    for (const bar of bars) {
      const seen = byTime.get(bar.time);
      if (!seen) byTime.set(bar.time, { ...bar });
      else {
        seen.high = Math.max(seen.high, bar.high);
        seen.low = Math.min(seen.low, bar.low);
        seen.close = bar.close;
        seen.volume += bar.volume;
      }
    }
  }
  return [...byTime.values()].sort((a, b) => a.time - b.time);
}

/** Merges the cursors of several tapes by pacing time (ties: the earlier tape first). */
class MergeCursor implements Cursor<RecordedQuote> {
  private readonly heads: (Batch<RecordedQuote> | null | undefined)[];
  private readonly at: number[];

  constructor(private readonly cursors: Cursor<RecordedQuote>[]) {
    this.heads = cursors.map(() => undefined);
    this.at = cursors.map(() => 0);
  }

  next(): MaybePromise<Batch<RecordedQuote> | null> {
    const reading: Promise<void>[] = [];
    this.cursors.forEach((cursor, i) => {
      if (this.heads[i] !== undefined) return;
      const read = cursor.next();
      if (isPromise(read)) {
        reading.push(
          read.then((batch) => {
            this.heads[i] = batch;
            this.at[i] = 0;
          }),
        );
      } else {
        this.heads[i] = read;
        this.at[i] = 0;
      }
    });
    if (reading.length > 0) return Promise.all(reading).then(() => this.next());
    const records: RecordedQuote[] = [];
    const times: number[] = [];
    // Until one tape's batch runs out (it must be read again before the order is known).
    for (;;) {
      let pick = -1;
      let picked: Batch<RecordedQuote> | undefined;
      let pickTime = Number.POSITIVE_INFINITY;
      this.heads.forEach((head, i) => {
        if (!head) return;
        const time = head.times[this.at[i] ?? 0] as number;
        if (time < pickTime) {
          pick = i;
          picked = head;
          pickTime = time;
        }
      });
      if (!picked) return records.length > 0 ? { records, times } : null;
      const at = this.at[pick] ?? 0;
      records.push(picked.records[at] as RecordedQuote);
      times.push(pickTime);
      this.at[pick] = at + 1;
      if (at + 1 >= picked.records.length) {
        this.heads[pick] = undefined;
        return { records, times };
      }
    }
  }

  close(): void {
    for (const cursor of this.cursors) cursor.close();
  }
}

/** Several recordings played as one, merged by time: split files (rotation), or one file per symbol or feed. */
function mergeTapes(tapes: readonly ReplayTape[]): ReplayTape {
  const [only] = tapes;
  if (only && tapes.length === 1) return only;
  const seen = new Set<string>();
  const symbols: SymbolInfo[] = [];
  for (const tape of tapes) {
    for (const info of tape.symbols) {
      if (seen.has(info.symbol)) continue;
      seen.add(info.symbol);
      symbols.push(info);
    }
  }
  const ordered = [...tapes].sort((a, b) => a.first - b.first);
  return {
    first: Math.min(...tapes.map((t) => t.first)),
    last: Math.max(...tapes.map((t) => t.last)),
    records: tapes.reduce((n, t) => n + t.records, 0),
    symbols,
    async seek(position, inclusive) {
      const seeks = await Promise.all(tapes.map((tape) => tape.seek(position, inclusive)));
      // Each symbol's latest last value across the files (ties: the later file, as the merge plays it).
      const latest = new Map<string, RecordedQuote>();
      for (const seek of seeks) {
        for (const quote of seek.state) {
          const held = latest.get(quote.symbol);
          if (!held || quote.recvTs >= held.recvTs) latest.set(quote.symbol, quote);
        }
      }
      return {
        state: [...latest.values()].sort((a, b) => a.recvTs - b.recvTs),
        cursor: new MergeCursor(seeks.map((seek) => seek.cursor)),
        bars: (symbol) => {
          const lists = ordered.map((tape) => seeks[tapes.indexOf(tape)]?.bars(symbol) ?? []).filter((l) => l.length);
          return lists.length <= 1 ? (lists[0] ?? []) : joinBars(lists);
        },
      };
    },
  };
}

export type OpenOptions = {
  /** A file has no usable index yet: it is being built (`reason` says why). */
  onIndexing?: (file: string, reason: string) => void;
  onIndexProgress?: (file: string, readBytes: number, records: number) => void;
  /** Something worth a warning (the index could not be written next to the file). */
  onNote?: (message: string) => void;
};

/** A recording ready to replay: its index read, or built (and written next to it) when missing or stale. */
export async function openRecording(file: string, options: OpenOptions = {}): Promise<RecordingTape> {
  const lookup = await readIndex(file);
  let index: RecordingIndex;
  if (lookup.kind === 'current') index = lookup.index;
  else {
    options.onIndexing?.(
      file,
      lookup.kind === 'stale' ? `its index is stale: ${lookup.reason}` : 'it has no index yet',
    );
    index = await buildIndex(file, { onProgress: (bytes, records) => options.onIndexProgress?.(file, bytes, records) });
    try {
      writeIndex(file, index);
    } catch (err) {
      options.onNote?.(`could not write ${indexFileOf(file)} (${messageOf(err)}): indexing again next time`);
    }
  }
  return new RecordingTape(file, index, readHeaderSync(file)?.symbols ?? []);
}

/** The recordings as one tape, merged by time. */
export async function openRecordings(files: readonly string[], options: OpenOptions = {}): Promise<ReplayTape> {
  const tapes: RecordingTape[] = [];
  for (const file of files) tapes.push(await openRecording(file, options));
  return mergeTapes(tapes);
}
