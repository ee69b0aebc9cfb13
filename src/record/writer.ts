import { closeSync, fsyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { gzipSync } from 'node:zlib';
import { asyncScheduler, interval, type SchedulerLike, type Subscription } from 'rxjs';
import type { Quote, RawQuote, SymbolInfo } from '../protocol.js';
import { headerLine, isGzipName, recordLine, recordOf } from './format.js';
import { IndexBuilder, type IndexBuilderOptions } from './indexBuilder.js';
import { writeIndex } from './recordingIndex.js';

export type RotateOptions = { maxBytes?: number; maxMinutes?: number };

export type RecordingWriterOptions = {
  out: string;
  sources: string[];
  symbols?: SymbolInfo[];
  rotate?: RotateOptions;
  /** Buffered lines go to the file at least this often (what a crash can lose). */
  flushMs?: number;
  /** ...or as soon as this many bytes are buffered. */
  flushBytes?: number;
  now?: () => number;
  /** The clock the flush timer runs on (a TestScheduler in tests). */
  scheduler?: SchedulerLike;
  /** zlib level of .gz files (default zlib's, 6); 1 is about 4x faster and a third larger. */
  gzipLevel?: number;
  /** Write each file's index (FILE.idx) when it is closed; on by default. */
  index?: boolean | IndexBuilderOptions;
};

/** `session.ndjson.gz` -> `session.1.ndjson.gz` for the second file of a rotated recording. */
export function rotatedName(out: string, index: number): string {
  if (index === 0) return out;
  const match = /(\.ndjson(\.gz)?|\.gz)$/.exec(out);
  return match ? `${out.slice(0, match.index)}.${index}${match[0]}` : `${out}.${index}`;
}

/**
 * Appends recorded quotes to NDJSON files, rotating by size or age. Writes are synchronous and whole:
 * each flush is one write of complete lines (for .gz, one complete gzip member), so a process killed at any
 * point leaves a file that reads back to its last flush, with at most a torn tail. Each file gets its index
 * as it closes: the writer flushes at every checkpoint, so each checkpoint starts a gzip member (a killed
 * recorder leaves no index; a replay builds it).
 */
export class RecordingWriter {
  private fd: number | undefined;
  private fileIndex = 0;
  private fileBytes = 0;
  private fileOpenedAt = 0;
  private pending: string[] = [];
  private pendingBytes = 0;
  private flushTimer: Subscription | undefined;
  private builder: IndexBuilder | undefined;
  /** The write that failed (disk full, permissions): the recording is over, and every later write throws it. */
  private failure: Error | undefined;
  private readonly gzip: boolean;
  private readonly now: () => number;
  readonly files: string[] = [];
  records = 0;

  constructor(private readonly options: RecordingWriterOptions) {
    this.gzip = isGzipName(options.out);
    const scheduler = options.scheduler ?? asyncScheduler;
    // One clock for the records' times and the flush timer.
    this.now = options.now ?? (() => scheduler.now());
    const flushMs = options.flushMs ?? 200;
    if (flushMs > 0) {
      // A failed flush is kept for the next write to throw, where the recorder's subscriber hears it: thrown
      // from the timer, it would be an uncaught exception every flushMs.
      this.flushTimer = interval(flushMs, scheduler).subscribe(() => {
        try {
          this.flush();
        } catch {
          this.stopTimer();
        }
      });
    }
  }

  /** Bytes written to the current file so far (compressed size for .gz). */
  get bytes(): number {
    return this.fileBytes;
  }

  write(quote: Quote | RawQuote, recvTs: number = this.now()): void {
    if (this.failure) throw this.failure;
    if (this.fd === undefined) this.open();
    else if (this.shouldRotate()) this.rotate();
    const record = recordOf(quote, recvTs);
    if (this.builder?.due(recvTs)) {
      this.flush();
      this.builder.checkpoint({ offset: this.fileBytes, skip: 0 });
    }
    this.builder?.add(record);
    const line = recordLine(record);
    this.pending.push(line);
    this.pendingBytes += line.length;
    this.records++;
    if (this.pendingBytes >= (this.options.flushBytes ?? 256 * 1024)) this.flush();
  }

  flush(): void {
    if (this.fd === undefined || this.pending.length === 0) return;
    this.append(this.pending.join(''));
    this.pending = [];
    this.pendingBytes = 0;
  }

  /** Flushes and closes the file, with its index; after a failed write, only lets the file go. */
  close(): void {
    this.stopTimer();
    if (this.fd === undefined) return;
    if (!this.failure) {
      this.closeFile();
      return;
    }
    const fd = this.fd;
    this.fd = undefined;
    this.pending = [];
    try {
      closeSync(fd);
    } catch {
      // The failure that ended the recording is the one to report.
    }
  }

  private stopTimer(): void {
    this.flushTimer?.unsubscribe();
    this.flushTimer = undefined;
  }

  private shouldRotate(): boolean {
    const { maxBytes, maxMinutes } = this.options.rotate ?? {};
    // Checked against what is on disk: a file passes maxBytes by at most one flush.
    if (maxBytes !== undefined && this.fileBytes >= maxBytes) return true;
    return maxMinutes !== undefined && this.now() - this.fileOpenedAt >= maxMinutes * 60_000;
  }

  private rotate(): void {
    this.closeFile();
    this.fileIndex++;
    this.open();
  }

  private closeFile(): void {
    if (this.fd === undefined) return;
    this.flush();
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = undefined;
    const file = this.files[this.files.length - 1];
    if (this.builder && file) writeIndex(file, this.builder.finish({ dataBytes: this.fileBytes, gzip: this.gzip }));
    this.builder = undefined;
  }

  private open(): void {
    const file = rotatedName(this.options.out, this.fileIndex);
    mkdirSync(dirname(file), { recursive: true });
    this.fd = openSync(file, 'w');
    this.files.push(file);
    this.fileBytes = 0;
    const index = this.options.index ?? true;
    this.builder = index === false ? undefined : new IndexBuilder(index === true ? {} : index);
    this.fileOpenedAt = this.now();
    this.append(
      headerLine({
        createdAt: new Date(this.now()).toISOString(),
        sources: this.options.sources,
        ...(this.options.symbols ? { symbols: this.options.symbols } : {}),
      }),
    );
  }

  private append(text: string): void {
    if (this.fd === undefined) return;
    const data = this.gzip ? gzipSync(text, { level: this.options.gzipLevel ?? 6 }) : Buffer.from(text);
    let offset = 0;
    try {
      while (offset < data.length) offset += writeSync(this.fd, data, offset);
    } catch (err) {
      this.failure = err instanceof Error ? err : new Error(String(err));
      throw this.failure;
    }
    this.fileBytes += data.length;
  }
}
