import { replayFeed } from '../../src/feeds/replay.js';
import type { RecordedQuote, RecordingHeader } from '../../src/record/format.js';
import { type BadLine, RecordingError, scanRecording } from '../../src/record/reader.js';
import { openRecording } from '../../src/record/recordingTape.js';
import { RecordingWriter } from '../../src/record/writer.js';

/** Every record of a recording, read whole (tests only: a replay reads as it plays); a corrupt middle line throws. */
export async function readRecording(
  file: string,
): Promise<{ header?: RecordingHeader; records: RecordedQuote[]; torn?: BadLine }> {
  const records: RecordedQuote[] = [];
  const report = await scanRecording(file, (record) => records.push(record));
  if (report.corrupt) throw new RecordingError(file, report.corrupt.line, report.corrupt.reason);
  return { header: report.header, records, ...(report.torn ? { torn: report.torn } : {}) };
}

/**
 * A real replay feed of `records`, written first to `file` (a recording of source `rec`), playing its range
 * [from, to] (UTC, epoch ms) at `speed`.
 */
export async function replayOfRecords(
  file: string,
  records: Iterable<RecordedQuote>,
  play: { symbols: readonly string[]; from: number; to: number; speed: number; loop: boolean },
): Promise<ReturnType<typeof replayFeed>> {
  const writer = new RecordingWriter({
    out: file,
    sources: ['rec'],
    flushMs: 0,
    symbols: play.symbols.map((symbol) => ({ symbol })),
  });
  for (const { recvTs, ...quote } of records) writer.write(quote, recvTs);
  writer.close();
  return replayFeed(
    {
      type: 'replay',
      id: 'replay',
      file,
      speed: play.speed,
      loop: play.loop,
      from: new Date(play.from).toISOString(),
      to: new Date(play.to).toISOString(),
      zone: 'UTC',
      maxGapMs: 5000,
    },
    await openRecording(file),
  );
}
