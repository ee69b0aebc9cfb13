import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DateTime } from 'luxon';
import { from, lastValueFrom, toArray } from 'rxjs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { assignSeq } from '../../src/pipeline/assignSeq.js';
import { withDayStats } from '../../src/pipeline/withDayStats.js';
import type { Bar, Quote, RawQuote, ReplayAck, ReplayCommand, SubscribeAck } from '../../src/protocol.js';
import type { Tickstream } from '../../src/roles/serve.js';
import { replayOfRecords } from '../helpers/recordings.js';
import { connectTestClient, startTestService, type TestClient } from '../helpers/service.js';

const NY = 'America/New_York';
const ny = (iso: string) => DateTime.fromISO(iso, { zone: NY }).toMillis();
const DAY1_CLOSE = ny('2026-11-24T16:00');
const DAY2_OPEN = ny('2026-11-25T09:30');
const dir = mkdtempSync(join(tmpdir(), 'tickstream-two-days-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Two minutes of AAPL before Tuesday's close, two after Wednesday's open: the feed sends no prevClose. */
function ticks(): RawQuote[] {
  const out: RawQuote[] = [];
  for (let i = 0; i < 120; i++)
    out.push({ symbol: 'AAPL', price: 100 + (i % 9), ts: DAY1_CLOSE - 120_000 + i * 1000, size: 10 });
  for (let i = 0; i < 120; i++) out.push({ symbol: 'AAPL', price: 90 + (i % 5), ts: DAY2_OPEN + i * 1000, size: 20 });
  return out;
}

describe('a replay of two trading days (real server)', () => {
  let service: Tickstream | undefined;
  let client: TestClient | undefined;
  afterEach(async () => {
    client?.disconnect();
    client = undefined;
    await service?.close();
    service = undefined;
  });

  const command = (socket: TestClient, cmd: ReplayCommand) =>
    new Promise<ReplayAck>((resolve) => socket.emit('replay', cmd, resolve));
  const snapshot = async (socket: TestClient): Promise<Quote | undefined> => {
    const ack = await new Promise<SubscribeAck>((resolve) =>
      socket.emit('subscribe', { symbols: ['AAPL'], maxHz: 20 }, resolve),
    );
    if (!ack.ok) throw new Error(ack.error.message);
    return ack.snapshot[0];
  };
  const history = async (): Promise<Bar[]> => {
    const res = await fetch(`${service?.url}/api/history?symbol=AAPL`);
    return ((await res.json()) as { bars: Bar[] }).bars;
  };

  it('a seek back across the day boundary restates the first day: its own statistics and bars, nothing of the second', async () => {
    // The recording holds what the pipeline made of the ticks: the first day without a prevClose, the second
    // with the first day's last price.
    const recorded = await lastValueFrom(
      from(ticks()).pipe(
        assignSeq(() => 1),
        withDayStats(NY),
        toArray(),
      ),
    );
    const day1Last = recorded.filter((q) => q.ts < DAY2_OPEN).at(-1);
    expect(recorded.find((q) => q.ts >= DAY2_OPEN)?.prevClose).toBe(day1Last?.price);
    const replay = await replayOfRecords(
      join(dir, 'two-days.ndjson'),
      recorded.map((q) => ({ ...q, recvTs: q.ts + 3 })),
      { symbols: ['AAPL'], from: DAY1_CLOSE - 120_000, to: DAY2_OPEN + 120_000, speed: 1, loop: false },
    );
    service = await startTestService({}, { feeds: [replay] });
    client = await connectTestClient(service.url);
    expect(await command(client, { action: 'pause' })).toMatchObject({ ok: true });

    expect(await command(client, { action: 'seek', position: DAY2_OPEN + 60_500 })).toMatchObject({ ok: true });
    const day2 = await snapshot(client);
    expect(day2).toMatchObject({ ts: DAY2_OPEN + 60_000, open: 90, volume: 61 * 20, prevClose: day1Last?.price });

    const back = DAY1_CLOSE - 30_500;
    expect(await command(client, { action: 'seek', position: back })).toMatchObject({ ok: true });
    const day1 = await snapshot(client);
    const expected = recorded.filter((q) => q.ts + 3 <= back).at(-1);
    expect(day1).toMatchObject({ ts: expected?.ts, price: expected?.price, open: 100, volume: expected?.volume });
    expect(day1?.prevClose).toBeUndefined();
    expect(day1?.change).toBeUndefined();
    const bars = await history();
    expect(bars.length).toBeGreaterThan(0);
    expect(bars.every((bar) => bar.time < DAY1_CLOSE)).toBe(true);
  });
});
