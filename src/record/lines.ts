import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { constants, createGunzip } from 'node:zlib';
import { CorruptGzipError, gzipMembers, isGzipMagic, isZlibError } from './gzipMembers.js';

/**
 * Where a reader can start so that a given line comes first: a byte offset (a line start in a plain file, a
 * member start in a gzip file) and how many lines to skip from there.
 */
export type ReadPosition = { offset: number; skip: number };

/** Receives a line: its text (without the newline), the tag and index of the chunk it began in, and whether a newline ended it. */
export type LineSink = (text: string, tag: number, at: number, complete: boolean) => void;

/**
 * Splits byte chunks into lines at LF. Works on bytes, so a UTF-8 character cut between chunks is whole
 * again in its line, and each line knows the chunk (by the caller's tag) and the index it began at.
 */
export class LineSplitter {
  private rest: Buffer[] = [];
  private restTag = 0;
  private restAt = 0;

  constructor(private readonly sink: LineSink) {}

  push(chunk: Buffer, tag: number): void {
    let start = 0;
    let nl = chunk.indexOf(10);
    if (nl !== -1 && this.rest.length > 0) {
      this.rest.push(chunk.subarray(0, nl));
      const text = Buffer.concat(this.rest).toString('utf8');
      this.rest = [];
      this.sink(text, this.restTag, this.restAt, true);
      start = nl + 1;
      nl = chunk.indexOf(10, start);
    }
    while (nl !== -1) {
      this.sink(chunk.toString('utf8', start, nl), tag, start, true);
      start = nl + 1;
      nl = chunk.indexOf(10, start);
    }
    if (start < chunk.length) {
      if (this.rest.length === 0) {
        this.restTag = tag;
        this.restAt = start;
      }
      this.rest.push(chunk.subarray(start));
    }
  }

  /** The tail after the last newline, if any, as an incomplete line. */
  end(): void {
    if (this.rest.length === 0) return;
    const text = Buffer.concat(this.rest).toString('utf8');
    this.rest = [];
    this.sink(text, this.restTag, this.restAt, false);
  }
}

export async function isGzipFile(file: string): Promise<boolean> {
  const handle = await open(file, 'r');
  try {
    const head = Buffer.alloc(3);
    const { bytesRead } = await handle.read(head, 0, 3, 0);
    return bytesRead === 3 && isGzipMagic(head);
  } finally {
    await handle.close();
  }
}

/**
 * A line of a whole-file scan: numbered from 1, with where a reader can start to read it first. Returning
 * false ends the scan.
 */
export type ScannedLine = (
  text: string,
  lineNo: number,
  complete: boolean,
  offset: number,
  skip: number,
) => boolean | undefined;

export type ScanSummary = {
  gzip: boolean;
  bytes: number;
  /** The largest stretch a seek may have to decompress and skip: a gzip member's decompressed size. */
  largestMemberBytes: number;
};

/**
 * Reads every line of a recording (gzip told by its magic bytes, not its name), with each line's read
 * position: for a gzip file the member it begins in and how many lines of that member come before it, for a
 * plain file its byte offset. A truncated gzip file gives what was decompressed up to the cut.
 */
export async function scanLines(
  file: string,
  onLine: ScannedLine,
  onProgress?: (readBytes: number) => void,
): Promise<ScanSummary> {
  const gzip = await isGzipFile(file);
  let lineNo = 0;
  let bytes = 0;
  let stopped = false;
  const deliver = (text: string, complete: boolean, offset: number, skip: number) => {
    if (!stopped && onLine(text, ++lineNo, complete, offset, skip) === false) stopped = true;
  };
  if (!gzip) {
    const splitter = new LineSplitter((text, tag, at, complete) => deliver(text, complete, tag + at, 0));
    for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
      if (!Buffer.isBuffer(chunk)) continue;
      splitter.push(chunk, bytes);
      bytes += chunk.length;
      onProgress?.(bytes);
      if (stopped) break;
    }
    splitter.end();
    return { gzip, bytes, largestMemberBytes: 0 };
  }
  // Lines that began in the current member, to number the next one.
  let countedMember = -1;
  let counted = 0;
  const splitter = new LineSplitter((text, member, _at, complete) => {
    if (member !== countedMember) {
      countedMember = member;
      counted = 0;
    }
    deliver(text, complete, member, counted++);
  });
  let largestMemberBytes = 0;
  let memberBytes = 0;
  let lastMember = -1;
  for await (const { member, data, readBytes } of gzipMembers(file)) {
    if (member !== lastMember) {
      lastMember = member;
      memberBytes = 0;
    }
    memberBytes += data.length;
    largestMemberBytes = Math.max(largestMemberBytes, memberBytes);
    splitter.push(data, member);
    bytes = readBytes;
    onProgress?.(readBytes);
    if (stopped) break;
  }
  splitter.end();
  return { gzip, bytes, largestMemberBytes };
}

/**
 * The complete lines from `position` on, in chunks as they are decompressed (the first `skip` lines
 * dropped). A torn tail is not given: the index that chose the position knows how many records follow.
 */
export async function* linesFrom(
  file: string,
  gzip: boolean,
  position: ReadPosition,
  signal?: AbortSignal,
): AsyncGenerator<string[]> {
  const raw = createReadStream(file, { start: position.offset, highWaterMark: 256 * 1024, signal });
  const stream = gzip ? raw.pipe(createGunzip({ finishFlush: constants.Z_SYNC_FLUSH })) : raw;
  let skip = position.skip;
  let lines: string[] = [];
  const splitter = new LineSplitter((text, _tag, _at, complete) => {
    if (!complete) return;
    if (skip > 0) skip--;
    else lines.push(text);
  });
  try {
    for await (const chunk of stream) {
      if (!Buffer.isBuffer(chunk)) continue;
      splitter.push(chunk, 0);
      if (lines.length === 0) continue;
      const out = lines;
      lines = [];
      yield out;
    }
  } catch (err) {
    // Damage found while playing (an index still current for a file changed in place) names where it is.
    if (gzip && isZlibError(err)) throw new CorruptGzipError(position.offset, err, 'after');
    throw err;
  } finally {
    raw.destroy();
    if (stream !== raw) stream.destroy();
  }
}
