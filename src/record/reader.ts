import { closeSync, openSync, readSync } from 'node:fs';
import { type LineVerdict, parseLine, type RecordedQuote, type RecordingHeader } from './format.js';
import { CorruptGzipError, firstMember, isGzipMagic } from './gzipMembers.js';
import { type ScanSummary, scanLines } from './lines.js';

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

/** A valid record of a scan, with where a reader can start to read it first (see ReadPosition). */
export type ScannedRecord = (record: RecordedQuote, offset: number, skip: number) => void;

/**
 * Reads a whole recording, streaming, handing each valid record to `onRecord`. A bad line is held back
 * until the next line shows it was not the last: a bad last line is torn (ignored), a bad middle line is
 * corruption and ends the scan.
 */
export async function scanRecording(
  file: string,
  onRecord: ScannedRecord = () => {},
  onProgress?: (readBytes: number) => void,
): Promise<VerifyReport & { scan: ScanSummary | undefined }> {
  const report: VerifyReport = { file, records: 0 };
  let heldBad: BadLine | undefined;
  let linesRead = 0;
  const scanning = scanLines(
    file,
    (text, lineNo, complete, offset, skip) => {
      linesRead = lineNo;
      // An empty line in the middle is harmless (a hand-edited file); an empty tail is just the end.
      if (text.trim() === '') return;
      if (heldBad) {
        report.corrupt = heldBad;
        return false;
      }
      const verdict: LineVerdict = parseLine(text, lineNo === 1);
      if (verdict.kind === 'header') report.header = verdict.header;
      else if (verdict.kind === 'record') {
        report.records++;
        const time = verdict.record.recvTs;
        report.firstTime ??= time;
        report.lastTime = time;
        onRecord(verdict.record, offset, skip);
      } else heldBad = { line: lineNo, reason: complete ? verdict.reason : `torn (${verdict.reason})` };
    },
    onProgress,
  );
  // `scan` is undefined when damaged compressed data stopped the scan: then `corrupt` says where.
  const scan = await scanning.catch((err: unknown) => {
    // Damaged compressed data in the middle is a corrupt file like a bad line (a torn end inflates what it
    // holds): the lines before it are valid, and it is corrupt from the line the damaged member starts with.
    if (!(err instanceof CorruptGzipError)) throw err;
    report.corrupt = heldBad ?? { line: linesRead + 1, reason: err.message };
    return undefined;
  });
  if (heldBad && !report.corrupt) report.torn = heldBad;
  return { ...report, scan };
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
  // The header is the first member's first line: a member damaged further on is for the reading to report.
  let text: string;
  try {
    text = (isGzipMagic(head) ? firstMember(head) : head).toString('utf8');
  } catch (err) {
    if (err instanceof CorruptGzipError) throw new RecordingError(file, 1, err.message);
    throw err;
  }
  const nl = text.indexOf('\n');
  if (nl === -1) return undefined;
  const verdict = parseLine(text.slice(0, nl), true);
  return verdict.kind === 'header' ? verdict.header : undefined;
}
