import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { constants, createGunzip, gunzipSync } from 'node:zlib';
import { type LineVerdict, parseLine, type RecordedQuote, type RecordingHeader } from './format.js';

export type RecordingLine = {
  lineNo: number;
  text: string /** Ended by a newline (else the file's tail). */;
  complete: boolean;
};
export type BadLine = { line: number; reason: string };

export type VerifyReport = {
  file: string;
  header?: RecordingHeader;
  /** Valid records before the first bad line (all of them when there is none). */
  records: number;
  /** A bad line that is not the last one: the file is corrupt there. */
  corrupt?: BadLine;
  /** A bad last line, as a crash mid-write leaves: ignored. */
  torn?: BadLine;
  firstTime?: number;
  lastTime?: number;
};

/** A recording that cannot be replayed: `line` is where it is corrupt. */
export class RecordingError extends Error {
  override name = 'RecordingError';
  constructor(
    readonly file: string,
    readonly line: number,
    readonly reason: string,
  ) {
    super(`${file}: line ${line}: ${reason}`);
  }
}

const GZIP_MAGIC = [0x1f, 0x8b];

function startsWithGzipMagic(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(2);
    return readSync(fd, head, 0, 2, 0) === 2 && head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1];
  } finally {
    closeSync(fd);
  }
}

/**
 * The file's lines, numbered from 1, decompressing gzip (told by its magic bytes, not its name). A
 * truncated gzip file yields what was decompressed up to the truncation (sync flush instead of an error).
 */
export async function* recordingLines(file: string): AsyncGenerator<RecordingLine> {
  const stream = startsWithGzipMagic(file)
    ? createReadStream(file).pipe(createGunzip({ finishFlush: constants.Z_SYNC_FLUSH }))
    : createReadStream(file);
  // A multi-byte character may straddle two chunks.
  const decoder = new StringDecoder('utf8');
  let rest = '';
  let lineNo = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    rest += decoder.write(chunk);
    let start = 0;
    for (let nl = rest.indexOf('\n'); nl !== -1; nl = rest.indexOf('\n', start)) {
      yield { lineNo: ++lineNo, text: rest.slice(start, nl), complete: true };
      start = nl + 1;
    }
    rest = rest.slice(start);
  }
  rest += decoder.end();
  if (rest.length > 0) yield { lineNo: ++lineNo, text: rest, complete: false };
}

/**
 * Reads a whole recording, handing each valid record to `onRecord`. A bad line is held back until the next
 * line shows it was not the last: a bad last line is torn (ignored), a bad middle line is corruption and
 * ends the scan.
 */
export async function scanRecording(
  file: string,
  onRecord: (record: RecordedQuote) => void = () => {},
): Promise<VerifyReport> {
  const report: VerifyReport = { file, records: 0 };
  let heldBad: BadLine | undefined;
  for await (const line of recordingLines(file)) {
    if (heldBad) {
      report.corrupt = heldBad;
      return report;
    }
    // An empty line in the middle is harmless (a hand-edited file); an empty tail is just the end.
    if (line.text.trim() === '') continue;
    const verdict: LineVerdict = parseLine(line.text, line.lineNo === 1);
    if (verdict.kind === 'header') report.header = verdict.header;
    else if (verdict.kind === 'record') {
      report.records++;
      const time = verdict.record.recvTs;
      report.firstTime ??= time;
      report.lastTime = time;
      onRecord(verdict.record);
    } else heldBad = { line: line.lineNo, reason: line.complete ? verdict.reason : `torn (${verdict.reason})` };
  }
  if (heldBad) report.torn = heldBad;
  return report;
}

export type Recording = { file: string; header?: RecordingHeader; records: RecordedQuote[]; torn?: BadLine };

/** Loads a recording into memory for replay; throws RecordingError naming the line of a corrupt middle line. */
export async function loadRecording(file: string): Promise<Recording> {
  const records: RecordedQuote[] = [];
  const report = await scanRecording(file, (record) => records.push(record));
  if (report.corrupt) throw new RecordingError(file, report.corrupt.line, report.corrupt.reason);
  return { file, header: report.header, records, torn: report.torn };
}

/** Just the header, read from the file's first bytes (so a replay feed can declare its symbols up front). */
export function readHeaderSync(file: string): RecordingHeader | undefined {
  const fd = openSync(file, 'r');
  let head: Buffer;
  try {
    const buffer = Buffer.alloc(1 << 20);
    head = buffer.subarray(0, readSync(fd, buffer, 0, buffer.length, 0));
  } finally {
    closeSync(fd);
  }
  const text =
    head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1]
      ? gunzipSync(head, { finishFlush: constants.Z_SYNC_FLUSH }).toString('utf8')
      : head.toString('utf8');
  const nl = text.indexOf('\n');
  if (nl === -1) return undefined;
  const verdict = parseLine(text.slice(0, nl), true);
  return verdict.kind === 'header' ? verdict.header : undefined;
}
