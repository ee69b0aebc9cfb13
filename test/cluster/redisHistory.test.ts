import { Subject, type Subscription } from 'rxjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisHistory, writeHistory } from '../../src/cluster/redisHistory.js';
import { RedisLink } from '../../src/cluster/redisLink.js';
import { IntradayHistory, intoHistory } from '../../src/ingest/intradayHistory.js';
import { createLogger } from '../../src/log.js';
import type { Bar, Quote } from '../../src/protocol.js';
import { BAR_MS } from '../../src/protocol.js';
import { clusterTestConfig, dropPrefix, rawRedis, redisAvailable, uniquePrefix, waitFor } from './helpers.js';

const hasRedis = await redisAvailable();
const T0 = Date.UTC(2026, 10, 24, 15, 0); // a minute boundary

describe.skipIf(!hasRedis)('1-minute bars mirrored to Redis for gateways', () => {
  let prefix = '';
  let link: RedisLink | undefined;
  let subscription: Subscription | undefined;
  const failures: unknown[] = [];

  beforeAll(() => {
    expect(hasRedis).toBe(true);
  });

  afterEach(async () => {
    subscription?.unsubscribe();
    await link?.close();
    await dropPrefix(prefix);
    failures.length = 0;
  });

  async function mirror(maxBars: number) {
    prefix = uniquePrefix();
    link = RedisLink.open(clusterTestConfig('ingest', prefix).cluster, createLogger('silent'));
    await link.ready();
    const history = new IntradayHistory({ maxBars });
    const quotes = new Subject<Quote>();
    const keyOf = (symbol: string) => `${prefix}bars:${symbol}`;
    subscription = quotes.pipe(intoHistory(history)).subscribe();
    subscription.add(
      writeHistory(quotes, history, link, keyOf, { everyMs: 30, maxBars, onFailure: (err) => failures.push(err) }),
    );
    const reader = new RedisHistory(link, keyOf);
    let seq = 0;
    const push = (minute: number, price: number, size = 10) =>
      quotes.next({ symbol: 'ACME', price, ts: T0 + minute * BAR_MS + 1000, epoch: 1, seq: ++seq, size });
    /** Waits until the gateway side reads exactly what ingest holds. */
    const inSync = async () => {
      let read: Bar[] = [];
      await waitFor(
        async () => {
          read = await reader.bars('ACME');
          return JSON.stringify(read) === JSON.stringify(history.bars('ACME'));
        },
        5000,
        `Redis to hold ${JSON.stringify(history.bars('ACME'))}, it holds ${JSON.stringify(read)}`,
      );
      return read;
    };
    return { push, inSync, history, keyOf };
  }

  it('updates the current bar in place, appends new ones and trims to maxBars', async () => {
    const { push, inSync } = await mirror(3);
    push(0, 100);
    push(0, 101);
    expect(await inSync()).toEqual([{ time: T0, open: 100, high: 101, low: 100, close: 101, volume: 20 }]);
    push(0, 99); // the same minute: only its low, close and volume move
    expect((await inSync())[0]).toMatchObject({ low: 99, close: 99, volume: 30 });
    push(1, 102);
    push(2, 103);
    push(3, 104);
    const bars = await inSync();
    expect(bars.map((b) => (b.time - T0) / BAR_MS)).toEqual([1, 2, 3]);
    expect(failures).toEqual([]);
  });

  it('rewrites a series whole when the history started over (a replay went back), or the list was lost', async () => {
    const { push, inSync, keyOf } = await mirror(10);
    for (let minute = 20; minute < 25; minute++) push(minute, 100 + minute);
    expect(await inSync()).toHaveLength(5);
    push(2, 50); // 22 minutes back: IntradayHistory starts over
    expect(await inSync()).toEqual([{ time: T0 + 2 * BAR_MS, open: 50, high: 50, low: 50, close: 50, volume: 10 }]);

    const raw = await rawRedis();
    await raw.del(keyOf('ACME')); // e.g. someone flushed Redis without it going down
    raw.destroy();
    push(2, 51); // the in-place update fails ("no such key")...
    await waitFor(() => failures.length > 0, 5000, 'the failed update to be reported');
    push(3, 52); // ...so the next change writes the series whole
    expect(await inSync()).toHaveLength(2);
  });
});
