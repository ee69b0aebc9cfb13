import type { RecordedQuote, RecordingHeader } from '../../src/record/format.js';
import { type BadLine, RecordingError, scanRecording } from '../../src/record/reader.js';

/** Every record of a recording, read whole (tests only: a replay reads as it plays); a corrupt middle line throws. */
export async function readRecording(
  file: string,
): Promise<{ header?: RecordingHeader; records: RecordedQuote[]; torn?: BadLine }> {
  const records: RecordedQuote[] = [];
  const report = await scanRecording(file, (record) => records.push(record));
  if (report.corrupt) throw new RecordingError(file, report.corrupt.line, report.corrupt.reason);
  return { header: report.header, records, ...(report.torn ? { torn: report.torn } : {}) };
}
