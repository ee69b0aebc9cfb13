import { stat } from 'node:fs/promises';
import { BarSeries } from '../ingest/intradayHistory.js';
import type { RecordedQuote } from './format.js';
import type { ReadPosition } from './lines.js';
import { RecordingError, type ScannedRecord, scanRecording } from './reader.js';
import {
  type BarLog,
  type Checkpoint,
  emptyBarLog,
  INDEX_VERSION,
  RecordingIndex,
  type SymbolState,
  stateEntry,
} from './recordingIndex.js';

export type IndexBuilderOptions = {
  /** A checkpoint at every boundary of this much recorded time (one per minute, by default)... */
  checkpointMs?: number;
  /** ...and after this many records without one (dense data). */
  checkpointRecords?: number;
  /** Every so many checkpoints lists every symbol; the others only the symbols that changed. */
  fullEvery?: number;
};

type Building = { symbol: string; state: SymbolState; series: BarSeries; log: BarLog };

/**
 * Builds a recording's index as its records go by, in order: the recorder while it writes, or
 * `tickstream index` reading a file. The caller asks `due` before each record and, when a checkpoint is
 * due, gives `checkpoint` the position a reader can start at to get that record first.
 */
export class IndexBuilder {
  private readonly symbols = new Map<string, Building>();
  private readonly changed = new Set<Building>();
  private readonly checkpoints: Checkpoint[] = [];
  private readonly states: string[] = [];
  private records = 0;
  private sinceCheckpoint = 0;
  /** Pacing time: the receive times' running maximum, as the replay paces by. */
  private time = Number.NEGATIVE_INFINITY;
  private first: number | undefined;
  private readonly checkpointMs: number;
  private readonly checkpointRecords: number;
  private readonly fullEvery: number;

  constructor(options: IndexBuilderOptions = {}) {
    this.checkpointMs = options.checkpointMs ?? 60_000;
    this.checkpointRecords = options.checkpointRecords ?? 50_000;
    this.fullEvery = options.fullEvery ?? 30;
  }

  /** Whether a checkpoint goes before a record received at `recvTs`. */
  due(recvTs: number): boolean {
    if (this.checkpoints.length === 0 || this.sinceCheckpoint >= this.checkpointRecords) return true;
    const time = Math.max(this.time, recvTs);
    return Math.floor(time / this.checkpointMs) > Math.floor(this.time / this.checkpointMs);
  }

  /** Records added so far. */
  get count(): number {
    return this.records;
  }

  checkpoint(position: ReadPosition): void {
    const full = this.checkpoints.length % this.fullEvery === 0;
    this.checkpoints.push({
      record: this.records,
      time: this.records > 0 ? this.time : null,
      offset: position.offset,
      skip: position.skip,
      full,
    });
    const listed = full ? [...this.symbols.values()] : [...this.changed];
    const entries = listed.map((building) => {
      const bar = building.series.last;
      return stateEntry(building.symbol, {
        ...building.state,
        ...(bar ? { bar: { ...bar } } : {}),
        ...(building.series.lastVolume !== undefined ? { lastVolume: building.series.lastVolume } : {}),
      });
    });
    this.states.push(JSON.stringify({ type: 'state', entries }));
    this.changed.clear();
    this.sinceCheckpoint = 0;
  }

  add(record: RecordedQuote): void {
    const index = this.records++;
    this.sinceCheckpoint++;
    this.time = Math.max(this.time, record.recvTs);
    this.first ??= this.time;
    let building = this.symbols.get(record.symbol);
    if (!building) {
      // The open bar is all a checkpoint needs of the series: closed bars go to the log.
      building = {
        symbol: record.symbol,
        state: { record: index, quote: record },
        series: new BarSeries([], undefined, 1),
        log: emptyBarLog(),
      };
      this.symbols.set(record.symbol, building);
    }
    const open = building.series.last;
    const fold = building.series.add(record);
    if (fold === 'opened' && open) {
      const log = building.log;
      log.time.push(open.time);
      log.open.push(open.open);
      log.high.push(open.high);
      log.low.push(open.low);
      log.close.push(open.close);
      log.volume.push(open.volume);
      log.closedAt.push(index);
    } else if (fold === 'reset') building.log.resets.push(index);
    building.state.record = index;
    building.state.quote = record;
    this.changed.add(building);
  }

  finish(file: { dataBytes: number; gzip: boolean; largestMemberBytes?: number }): RecordingIndex {
    const bars = new Map<string, BarLog>();
    for (const [symbol, building] of this.symbols) bars.set(symbol, building.log);
    return new RecordingIndex(
      {
        type: 'index',
        version: INDEX_VERSION,
        dataBytes: file.dataBytes,
        gzip: file.gzip,
        records: this.records,
        ...(this.first !== undefined ? { first: this.first, last: this.time } : {}),
        symbols: [...this.symbols.keys()],
        ...(file.largestMemberBytes ? { largestMemberBytes: file.largestMemberBytes } : {}),
      },
      this.checkpoints,
      this.states,
      bars,
    );
  }
}

/**
 * Reads a whole recording and builds its index. A corrupt middle line is a RecordingError naming it (a torn
 * last line is left out, as a replay does).
 */
export async function buildIndex(
  file: string,
  options: IndexBuilderOptions & { onProgress?: (readBytes: number, records: number) => void } = {},
): Promise<RecordingIndex> {
  const builder = new IndexBuilder(options);
  const onRecord: ScannedRecord = (record, offset, skip) => {
    if (builder.due(record.recvTs)) builder.checkpoint({ offset, skip });
    builder.add(record);
  };
  const dataBytes = (await stat(file)).size;
  const report = await scanRecording(file, onRecord, (bytes) => options.onProgress?.(bytes, builder.count));
  const { corrupt, scan } = report;
  if (corrupt) throw new RecordingError(file, corrupt.line, corrupt.reason);
  if (!scan) throw new RecordingError(file, 1, 'the scan ended without reading the file');
  return builder.finish({ dataBytes, gzip: scan.gzip, largestMemberBytes: scan.largestMemberBytes });
}
