/**
 * A generated trading session for the replay benchmarks: the seeded simulator stepped in virtual time (no
 * waiting) through the live pipeline's seq and day-statistics operators and the recorder's writer, as
 * scripts/make-demo.ts does for the demo, but streamed (a full day is millions of records: none is kept).
 */
import { DateTime } from 'luxon';
import { Observable } from 'rxjs';
import { seededRandom } from '../src/feeds/random.js';
import { createSimulator } from '../src/feeds/simulated.js';
import { listings } from '../src/feeds/universe.js';
import { assignSeq, OFFLINE_EPOCH } from '../src/pipeline/assignSeq.js';
import { withDayStats } from '../src/pipeline/withDayStats.js';
import type { RawQuote } from '../src/protocol.js';
import { RecordingWriter } from '../src/record/writer.js';

export type SessionOptions = {
  out: string;
  /** New York time on `day`, "HH:MM". */
  from?: string;
  to?: string;
  day?: string;
  ticksPerSecond?: number;
  symbols?: number;
  seed?: number;
  onProgress?: (records: number) => void;
};

export const SESSION_ZONE = 'America/New_York';

/** Writes the session and returns how many records it holds. */
export function generateSession(options: SessionOptions): number {
  const day = options.day ?? '2026-11-20';
  const at = (hhmm: string) => DateTime.fromISO(`${day}T${hhmm}`, { zone: SESSION_ZONE }).toMillis();
  const start = at(options.from ?? '09:30');
  const end = at(options.to ?? '16:00');
  const seed = options.seed ?? 20261120;
  const universe = listings(options.symbols);
  const simulator = createSimulator({
    seed,
    listings: universe,
    ticksPerSecond: options.ticksPerSecond ?? 300,
    source: 'sim',
  });
  const jitter = seededRandom(seed + 1);
  const stepMs = 100;
  const raws = new Observable<RawQuote>((subscriber) => {
    for (let now = start; now < end; now += stepMs) {
      const batch = simulator.step(now, stepMs);
      // The simulator stamps a step's ticks with its start: spread them over the step like a real feed.
      for (let k = 0; k < batch.length; k++) {
        const quote = batch[k] as RawQuote;
        quote.ts = now + Math.floor((k * stepMs) / batch.length);
        subscriber.next(quote);
      }
    }
    subscriber.complete();
  });
  const writer = new RecordingWriter({
    out: options.out,
    sources: ['sim'],
    symbols: universe.map(({ symbol, name, exchange, currency }) => ({ symbol, name, exchange, currency })),
    flushMs: 0,
    now: () => start - 60_000,
  });
  let recvTs = 0;
  raws.pipe(assignSeq(OFFLINE_EPOCH), withDayStats(SESSION_ZONE)).subscribe((quote) => {
    // The server receives a quote a few milliseconds after its event time, in order.
    recvTs = Math.max(recvTs, quote.ts + 2 + Math.floor(jitter.next() * 20));
    writer.write(quote, recvTs);
    if (writer.records % 100_000 === 0) options.onProgress?.(writer.records);
  });
  writer.close();
  return writer.records;
}
