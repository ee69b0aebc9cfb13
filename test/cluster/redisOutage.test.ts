import type { ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { statusWriteEveryMs } from '../../src/cluster/clusterStatus.js';
import { clusterKeys } from '../../src/cluster/keys.js';
import { createLogger } from '../../src/log.js';
import type { Quote, Status } from '../../src/protocol.js';
import { startGateway } from '../../src/roles/gateway.js';
import { startIngest } from '../../src/roles/ingest.js';
import { ownedPerTest, quietFor, sleep } from '../helpers/lifecycle.js';
import { connectTestClient, type TestClient } from '../helpers/service.js';
import {
  BUSY_SIM_FEED,
  clusterTestConfig,
  dropPrefix,
  freePort,
  REDIS_URL,
  rawRedis,
  redisAvailable,
  roleFlags,
  spawnTickstream,
  startRedisServer,
  stopChild,
  uniquePrefix,
  waitFor,
} from './helpers.js';

// The issue asks for 30 s; the suite uses a few seconds. `CLUSTER_OUTAGE_MS=30000 npx vitest run
// test/cluster/redisOutage.test.ts` runs the full one by hand.
const OUTAGE_MS = Number(process.env.CLUSTER_OUTAGE_MS ?? 3000);
const HZ = 4;
const hasRedis = await redisAvailable();
const silent = createLogger('silent');

/** Flags shared by the ingest and gateway child processes: their own Redis, prefix and a busy simulator. */
const roleArgs = (redisPort: number, prefix: string) =>
  roleFlags(prefix, {
    redis: `redis://127.0.0.1:${redisPort}`,
    settings: ['cluster.demandPollMs=200', 'cluster.reconnect={"initialMs":50,"maxMs":500}', BUSY_SIM_FEED],
  });

describe.skipIf(!hasRedis)('cluster: Redis down and back (child processes)', () => {
  let redis: ChildProcess | undefined;
  let ingest: ChildProcess | undefined;
  let gateway: ChildProcess | undefined;
  let client: TestClient | undefined;

  afterAll(async () => {
    client?.disconnect();
    await stopChild(gateway);
    await stopChild(ingest);
    await stopChild(redis);
  });

  it(`keeps the gateway and its clients up through a ${OUTAGE_MS} ms outage, then resumes without stale ticks`, {
    timeout: OUTAGE_MS + 90_000,
  }, async () => {
    const redisPort = await freePort();
    const prefix = uniquePrefix();
    redis = await startRedisServer(redisPort);
    const ing = await spawnTickstream(['ingest', ...roleArgs(redisPort, prefix)], /metrics on (http:\/\/\S+)\/metrics/);
    ingest = ing.child;
    const gw = await spawnTickstream(['gateway', ...roleArgs(redisPort, prefix)], /serving on (http:\/\/\S+)/);
    gateway = gw.child;

    client = await connectTestClient(gw.url);
    let disconnects = 0;
    client.on('disconnect', () => disconnects++);
    const ticks: { quote: Quote; at: number }[] = [];
    client.on('ticks', (quotes) => {
      for (const quote of quotes) ticks.push({ quote, at: Date.now() });
    });
    const socket = client;
    await waitFor(
      async () => {
        const ack = await socket.emitWithAck('subscribe', { symbols: ['AAPL', 'MSFT'], maxHz: HZ });
        return ack.ok && ack.subscribed.length === 2;
      },
      15_000,
      'the gateway to know AAPL and MSFT',
    );
    await waitFor(() => ticks.length >= 8, 15_000, 'ticks before the outage');
    const ready = async () => {
      const res = await fetch(`${gw.url}/readyz`);
      return { code: res.status, body: (await res.json()) as Status };
    };
    expect((await ready()).code).toBe(200);

    // Redis goes away.
    await stopChild(redis, 'SIGKILL');
    const downAt = Date.now();
    await waitFor(async () => (await ready()).code === 503, 5000, 'readyz 503 while Redis is down');
    expect((await ready()).body.cluster).toEqual({ role: 'gateway', redis: 'down' });
    // The outage lasts OUTAGE_MS: the scenario itself, during which neither process may exit nor the client drop.
    await quietFor(
      Math.max(0, OUTAGE_MS - (Date.now() - downAt)),
      'a process exiting or the client dropping during the outage',
      () => (gateway?.exitCode ?? null) !== null || (ingest?.exitCode ?? null) !== null || !client?.connected,
    );
    expect(gateway.exitCode).toBeNull();
    expect(ingest.exitCode).toBeNull();
    expect(client.connected).toBe(true);
    // a subscribe during the outage still answers (with an empty snapshot: the last values are in Redis)
    const during = await client.emitWithAck('subscribe', { symbols: ['AAPL'], maxHz: HZ });
    expect(during.ok).toBe(true);

    // Redis comes back on the same port (empty: no persistence).
    const beforeReturn = ticks.length;
    redis = await startRedisServer(redisPort);
    const upAt = Date.now();
    await waitFor(() => ticks.length >= beforeReturn + 8, 20_000, 'delivery to resume');
    await waitFor(async () => (await ready()).code === 200, 10_000, 'readyz 200 again');

    const after = ticks.slice(beforeReturn);
    // Nothing queued during the outage comes out: every tick after the return is fresh...
    for (const { quote, at } of after) expect(at - quote.ts).toBeLessThan(1500);
    expect(after.every(({ quote }) => quote.ts >= upAt - 1000)).toBe(true);
    // ...and there is no burst: per symbol, at most HZ per second plus the leading edge, in the first 2 s.
    const firstAt = after[0]!.at;
    for (const symbol of ['AAPL', 'MSFT']) {
      const burst = after.filter(({ quote, at }) => quote.symbol === symbol && at - firstAt < 2000).length;
      expect(burst).toBeLessThanOrEqual(2 * HZ + 2);
    }
    expect(disconnects).toBe(0);
    expect(client.connected).toBe(true);

    // The loss is counted on ingest.
    const ingestMetrics = await (await fetch(`${ing.url}/metrics`)).text();
    const dropped = /tickstream_redis_publish_failures_total\{kind="tick"\} (\d+)/.exec(ingestMetrics);
    expect(Number(dropped?.[1] ?? 0)).toBeGreaterThan(0);
  });
});

describe.skipIf(!hasRedis)("cluster: a gateway's view of the ingest while Redis is down", () => {
  const { owned } = ownedPerTest();

  it('shows the ingest down once it has had no word from it for statusTtlMs, as when the ingest dies', async () => {
    const redisPort = await freePort();
    const redis = await startRedisServer(redisPort);
    owned({ close: () => stopChild(redis) });
    const prefix = uniquePrefix();
    const redisUrl = `redis://127.0.0.1:${redisPort}`;
    owned(await startIngest({ config: clusterTestConfig('ingest', prefix, {}, redisUrl), logger: silent }));
    const gateway = owned(
      await startGateway({ config: clusterTestConfig('gateway', prefix, {}, redisUrl), logger: silent }),
    );
    const feeds = () => gateway.status().feeds.map((f) => `${f.id} ${f.state}`);
    await waitFor(
      () => feeds().join() === 'sim live',
      10_000,
      () => `the ingest's feed live, got ${feeds()}`,
    );

    await stopChild(redis, 'SIGKILL');
    // statusTtlMs is 1000 here, the key read every 1000: past both, what the gateway last read is no word at all.
    await waitFor(
      () => feeds().join() === 'ingest down',
      5000,
      () => `the ingest down, got ${feeds()}`,
    );
    const ready = await fetch(`${gateway.url}/readyz`);
    expect(ready.status).toBe(503);
  });

  it('writes the status at least twice per statusTtlMs, and once a second at most', () => {
    expect(statusWriteEveryMs(500)).toBe(250);
    expect(statusWriteEveryMs(1999)).toBe(999.5);
    expect(statusWriteEveryMs(2000)).toBe(1000);
    expect(statusWriteEveryMs(30_000)).toBe(1000);
  });

  it('keeps the status key alive between the ingest writes, even at the shortest statusTtlMs', async () => {
    const prefix = uniquePrefix();
    owned({ close: () => dropPrefix(prefix) });
    const config = clusterTestConfig('ingest', prefix, {
      cluster: { role: 'ingest', redis: REDIS_URL, keyPrefix: prefix, statusTtlMs: 500 },
    });
    const ingest = owned(await startIngest({ config, logger: silent }));
    await ingest.link.ready();
    const redis = await rawRedis();
    owned({ close: () => redis.destroy() });
    const key = clusterKeys(prefix).status;
    await waitFor(async () => (await redis.exists(key)) === 1, 5000, 'the first status write');
    // A measuring window of four of the key's lives, sampled every 50 ms: a gateway reading in a gap
    // between writes would see no ingest at all.
    let samples = 0;
    let missing = 0;
    for (const end = Date.now() + 2000; Date.now() < end; await sleep(50)) {
      samples++;
      if ((await redis.exists(key)) === 0) missing++;
    }
    // Every sample present, but for what a stall of this loaded process may cost (the ingest runs in it): a
    // write per TTL, as before, left the key missing in 15-19 of some 35 samples.
    expect(samples).toBeGreaterThan(20);
    expect(missing).toBeLessThanOrEqual(2);
  });
});
