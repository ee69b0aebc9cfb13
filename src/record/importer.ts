import { closeSync, createReadStream, mkdtempSync, openSync, readSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { Observable } from 'rxjs';
import { assignSeq, OFFLINE_EPOCH } from '../pipeline/assignSeq.js';
import { withDayStats } from '../pipeline/withDayStats.js';
import type { RawQuote } from '../protocol.js';
import { splitCsvLine } from './csv.js';
import { type ImportLayout, rowReader, type Tick } from './importLayouts.js';
import { isGzipFile, LineSplitter } from './lines.js';
import { RecordingWriter } from './writer.js';

export type ImportProgress = {
  phase: 'reading' | 'writing';
  readBytes: number;
  totalBytes: number;
  rows: number;
  written: number;
};

export type ImportOptions = {
  files: readonly string[];
  out: string;
  layout: ImportLayout;
  /** Recorded as the records' source (the preset's name, or csv). */
  source: string;
  /** The first line names the columns (default); without it, columns are numbers from 1. */
  header?: boolean;
  delimiter?: string;
  /** The zone of zone-less times, and of the trading day for the day statistics. */
  zone: string;
  /** The symbol of every row, for a file without a symbol column. */
  symbol?: string;
  /** Only these symbols are kept. */
  symbols?: ReadonlySet<string>;
  /** Where sorted runs go when the input does not fit in one (the system's temporary folder by default). */
  tmpDir?: string;
  /** Rows sorted in memory at once. */
  chunkRows?: number;
  /** zlib level of a .gz recording. */
  gzipLevel?: number;
  onProgress?: (progress: ImportProgress) => void;
};

export type BadRow = { file: string; line: number; reason: string };

export type ImportReport = {
  /** Data rows read (header lines and blank lines aside). */
  rows: number;
  records: number;
  symbols: string[];
  first?: number;
  last?: number;
  bad: number;
  /** The first bad rows, with their file and line number. */
  badRows: BadRow[];
  /** Valid rows that are not ticks, by reason (a one-sided quote before any price...). */
  skipped: Record<string, number>;
  /** Rows left out by --symbols. */
  filtered: number;
  /** The input was in receive-time order (else it was sorted, in `runs` runs). */
  ordered: boolean;
  runs: number;
  files: string[];
};

const BAD_ROWS_KEPT = 20;
/** A tick in a sorted run on disk: symbol id, receive time, event time, price, size, bid, ask (NaN: none). */
const ROW_FIELDS = 7;

/** Ticks in columns (so a million of them is a few typed arrays, not a million objects), sorted by receive time. */
class TickRun {
  length = 0;
  private symbol = new Uint32Array(1024);
  private recv = new Float64Array(1024);
  private ts = new Float64Array(1024);
  private price = new Float64Array(1024);
  private size = new Float64Array(1024);
  private bid = new Float64Array(1024);
  private ask = new Float64Array(1024);

  push(symbolId: number, tick: Tick): void {
    if (this.length === this.symbol.length) this.grow();
    const i = this.length++;
    this.symbol[i] = symbolId;
    this.recv[i] = tick.recvTs;
    this.ts[i] = tick.ts;
    this.price[i] = tick.price;
    this.size[i] = tick.size ?? Number.NaN;
    this.bid[i] = tick.bid ?? Number.NaN;
    this.ask[i] = tick.ask ?? Number.NaN;
  }

  /** Row i in the disk layout. */
  row(i: number, into: Float64Array): void {
    into[0] = this.symbol[i] ?? 0;
    into[1] = this.recv[i] ?? 0;
    into[2] = this.ts[i] ?? 0;
    into[3] = this.price[i] ?? 0;
    into[4] = this.size[i] ?? Number.NaN;
    into[5] = this.bid[i] ?? Number.NaN;
    into[6] = this.ask[i] ?? Number.NaN;
  }

  /** Row indexes by receive time, ties in input order. */
  order(): Uint32Array {
    const recv = this.recv;
    const order = new Uint32Array(this.length);
    for (let i = 0; i < this.length; i++) order[i] = i;
    return order.sort((a, b) => (recv[a] ?? 0) - (recv[b] ?? 0) || a - b);
  }

  private grow(): void {
    const grown = <A extends Uint32Array | Float64Array>(column: A, make: (n: number) => A): A => {
      const next = make(column.length * 2);
      next.set(column);
      return next;
    };
    const floats = (n: number) => new Float64Array(n);
    this.symbol = grown(this.symbol, (n) => new Uint32Array(n));
    this.recv = grown(this.recv, floats);
    this.ts = grown(this.ts, floats);
    this.price = grown(this.price, floats);
    this.size = grown(this.size, floats);
    this.bid = grown(this.bid, floats);
    this.ask = grown(this.ask, floats);
  }
}

/** Reads back a sorted run, a block of rows at a time. */
class RunReader {
  private readonly fd: number;
  private readonly block = new Float64Array(ROW_FIELDS * 8192);
  private rows = 0;
  private at = 0;
  done = false;

  constructor(readonly file: string) {
    this.fd = openSync(file, 'r');
    this.fill();
  }

  /** The current row's field `f` (0: symbol id, 1: receive time). */
  field(f: number): number {
    return this.block[this.at * ROW_FIELDS + f] ?? Number.NaN;
  }

  advance(): void {
    if (++this.at >= this.rows) this.fill();
  }

  close(): void {
    closeSync(this.fd);
  }

  private fill(): void {
    const bytes = readSync(this.fd, new Uint8Array(this.block.buffer), 0, this.block.byteLength, null);
    this.rows = Math.floor(bytes / (ROW_FIELDS * 8));
    this.at = 0;
    if (this.rows === 0) this.done = true;
  }
}

/**
 * The ticks read so far, by symbol id, in runs of at most `chunkRows`: a full run goes sorted to a file on disk
 * (the runs are merged when written), so an import of any size fits in memory.
 */
class TickRuns {
  /** Each symbol's name at its id, in order of first appearance. */
  readonly symbolNames: string[] = [];
  /** No tick came before the one before it (by receive time). */
  ordered = true;
  private readonly symbolIds = new Map<string, number>();
  private readonly spilled: string[] = [];
  private run = new TickRun();
  private spillDir: string | undefined;
  private lastRecv = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly chunkRows: number,
    private readonly tmpDir: string,
  ) {}

  /** How many runs the ticks make (one when none went to disk). */
  get count(): number {
    return Math.max(1, this.spilled.length);
  }

  take(tick: Tick): void {
    let id = this.symbolIds.get(tick.symbol);
    if (id === undefined) {
      id = this.symbolNames.length;
      this.symbolIds.set(tick.symbol, id);
      this.symbolNames.push(tick.symbol);
    }
    if (tick.recvTs < this.lastRecv) this.ordered = false;
    this.lastRecv = Math.max(this.lastRecv, tick.recvTs);
    this.run.push(id, tick);
    if (this.run.length >= this.chunkRows) this.spill();
  }

  /** The ticks to write: the one run in memory, or (the last run joining them) the files to merge. */
  finish(): TickRun | readonly string[] {
    if (this.spilled.length > 0 && this.run.length > 0) this.spill();
    return this.spilled.length > 0 ? this.spilled : this.run;
  }

  /** Removes the runs on disk. */
  dispose(): void {
    if (this.spillDir) rmSync(this.spillDir, { recursive: true, force: true });
  }

  private spill(): void {
    this.spillDir ??= mkdtempSync(join(this.tmpDir, 'tickstream-import-'));
    const file = join(this.spillDir, `run-${this.spilled.length}.bin`);
    const fd = openSync(file, 'w');
    const block = new Float64Array(ROW_FIELDS * 8192);
    const row = new Float64Array(ROW_FIELDS);
    let filled = 0;
    const flush = () => {
      writeSync(fd, new Uint8Array(block.buffer, 0, filled * ROW_FIELDS * 8));
      filled = 0;
    };
    for (const i of this.run.order()) {
      this.run.row(i, row);
      block.set(row, filled * ROW_FIELDS);
      if (++filled * ROW_FIELDS === block.length) flush();
    }
    if (filled > 0) flush();
    closeSync(fd);
    this.spilled.push(file);
    this.run = new TickRun();
  }
}

/**
 * Turns tick CSV files into one recording (gzip when OUT ends in .gz) with its index: rows are read through
 * the layout, sorted by receive time across all files (in runs on disk when they do not fit in memory),
 * given seq and the day statistics the live pipeline computes, and written by the recorder's writer. Bad rows
 * are counted and the first ones kept with their line numbers; nothing else is lost.
 */
export async function importCsv(options: ImportOptions): Promise<ImportReport> {
  const totalBytes = options.files.reduce((n, file) => n + statSync(file).size, 0);
  const report: ImportReport = {
    rows: 0,
    records: 0,
    symbols: [],
    bad: 0,
    badRows: [],
    skipped: {},
    filtered: 0,
    ordered: true,
    runs: 0,
    files: [],
  };
  const runs = new TickRuns(options.chunkRows ?? 1_000_000, options.tmpDir ?? tmpdir());
  let readBytes = 0;
  const progress = (phase: ImportProgress['phase']) =>
    options.onProgress?.({ phase, readBytes, totalBytes, rows: report.rows, written: report.records });
  const reading: FileReading = {
    read: (bytes) => {
      readBytes += bytes;
    },
    chunkDone: () => progress('reading'),
  };

  try {
    for (const file of options.files) await readCsvFile(file, options, report, runs, reading);
    const ticks = runs.finish();
    report.ordered = runs.ordered;
    report.runs = runs.count;
    report.symbols = [...runs.symbolNames].sort();
    writeRecording(options, report, runs.symbolNames, ticks, () => progress('writing'));
    return report;
  } finally {
    runs.dispose();
  }
}

/** How reading a file reports its progress: bytes as they are read, and each chunk once split into rows. */
type FileReading = { read: (bytes: number) => void; chunkDone: () => void };

/** One CSV file (or gzip of one) through the layout: its ticks to `runs`, the rest counted in `report`. */
async function readCsvFile(
  file: string,
  options: ImportOptions,
  report: ImportReport,
  runs: TickRuns,
  reading: FileReading,
): Promise<void> {
  let lineNo = 0;
  let read: ReturnType<typeof rowReader> | undefined;
  const wantHeader = options.header ?? true;
  const splitter = new LineSplitter((text) => {
    lineNo++;
    if (text.trim() === '') return;
    const split = splitCsvLine(text, options.delimiter ?? ',');
    if (!read) {
      if (split.kind === 'bad') throw new Error(`${file}: line ${lineNo}: the header is not CSV (${split.reason})`);
      read = rowReader(options.layout, wantHeader ? split.fields : undefined, options);
      if (wantHeader) return;
    }
    report.rows++;
    const outcome = split.kind === 'bad' ? split : read(split.fields);
    if (outcome.kind === 'tick') {
      if (options.symbols && !options.symbols.has(outcome.tick.symbol)) report.filtered++;
      else runs.take(outcome.tick);
    } else if (outcome.kind === 'skip') report.skipped[outcome.reason] = (report.skipped[outcome.reason] ?? 0) + 1;
    else {
      report.bad++;
      if (report.badRows.length < BAD_ROWS_KEPT) report.badRows.push({ file, line: lineNo, reason: outcome.reason });
    }
  });
  const raw = createReadStream(file, { highWaterMark: 1 << 20 });
  const gzip = await isGzipFile(file);
  // Progress counts the file's bytes: compressed ones for gzip (as the pipe reads them).
  if (gzip) raw.on('data', (chunk) => reading.read(chunk.length));
  const stream = gzip ? raw.pipe(createGunzip()) : raw;
  for await (const chunk of stream) {
    if (!Buffer.isBuffer(chunk)) continue;
    if (!gzip) reading.read(chunk.length);
    splitter.push(chunk, 0);
    reading.chunkDone();
  }
  // A last line without a newline is a row like the others.
  splitter.end();
  if (!read) throw new Error(`${file}: no lines`);
}

/** Emits the sorted ticks (one run in memory, or several on disk merged) through seq and day statistics to the writer. */
function writeRecording(
  options: ImportOptions,
  report: ImportReport,
  symbols: readonly string[],
  source: TickRun | readonly string[],
  onProgress: () => void,
): void {
  const writer = new RecordingWriter({
    out: options.out,
    sources: [options.source],
    symbols: [...report.symbols].map((symbol) => ({ symbol })),
    flushMs: 0,
    gzipLevel: options.gzipLevel ?? 1,
  });
  // seq and day statistics are map operators, one quote out per quote in, synchronously: the quote the
  // writer gets is the one just emitted, received at `recvTs`.
  let recvTs = 0;
  const rows = new Observable<RawQuote>((subscriber) => {
    const emit = (row: Float64Array) => {
      const quote: RawQuote = {
        symbol: symbols[row[0] ?? 0] ?? '',
        price: row[3] ?? 0,
        ts: row[2] ?? 0,
        source: options.source,
      };
      const size = row[4] ?? Number.NaN;
      const bid = row[5] ?? Number.NaN;
      const ask = row[6] ?? Number.NaN;
      if (!Number.isNaN(size)) quote.size = size;
      if (!Number.isNaN(bid)) quote.bid = bid;
      if (!Number.isNaN(ask)) quote.ask = ask;
      recvTs = row[1] ?? 0;
      subscriber.next(quote);
    };
    if (source instanceof TickRun) {
      const row = new Float64Array(ROW_FIELDS);
      for (const i of source.order()) {
        source.row(i, row);
        emit(row);
      }
    } else {
      const readers = source.map((file) => new RunReader(file));
      const row = new Float64Array(ROW_FIELDS);
      try {
        for (;;) {
          // The run whose next row was received first; ties go to the earlier run (earlier input).
          let pick: RunReader | undefined;
          for (const reader of readers) {
            if (!reader.done && (!pick || reader.field(1) < pick.field(1))) pick = reader;
          }
          if (!pick) break;
          for (let f = 0; f < ROW_FIELDS; f++) row[f] = pick.field(f);
          pick.advance();
          emit(row);
        }
      } finally {
        for (const reader of readers) reader.close();
      }
    }
    subscriber.complete();
  });
  rows.pipe(assignSeq(OFFLINE_EPOCH), withDayStats(options.zone)).subscribe({
    next: (quote) => {
      writer.write(quote, recvTs);
      report.records++;
      report.first ??= recvTs;
      report.last = recvTs;
      if (report.records % 100_000 === 0) onProgress();
    },
    complete: () => writer.close(),
  });
  report.files = writer.files;
  onProgress();
}
