import type { ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, type Quote, type TickstreamClient } from '../../packages/client/src/index.js';
import type { Status } from '../../src/protocol.js';
import { connectTestClient, type TestClient } from '../helpers/service.js';
import {
  BUSY_SIM_FEED,
  dropPrefix,
  redisAvailable,
  roleFlags,
  spawnTickstream,
  stopChild,
  uniquePrefix,
  waitFor,
} from './helpers.js';

const hasRedis = await redisAvailable();

/** Flags of the role processes: the test Redis, a prefix of their own, a busy simulator, fast status expiry. */
const roleArgs = (prefix: string) =>
  roleFlags(prefix, { settings: ['cluster.demandPollMs=200', 'cluster.statusTtlMs=1000', BUSY_SIM_FEED] });
const startIngest = (prefix: string) =>
  spawnTickstream(['ingest', ...roleArgs(prefix)], /metrics on (http:\/\/\S+)\/metrics/);
const startGateway = (prefix: string) => spawnTickstream(['gateway', ...roleArgs(prefix)], /serving on (http:\/\/\S+)/);

describe.skipIf(!hasRedis)('cluster roles killed and restarted (child processes, SIGKILL)', () => {
  const children: ChildProcess[] = [];
  const sockets: TestClient[] = [];
  const sdks: TickstreamClient[] = [];
  let prefix = '';

  afterEach(async () => {
    for (const sdk of sdks.splice(0)) sdk.close();
    for (const socket of sockets.splice(0)) socket.disconnect();
    await Promise.all(children.splice(0).map((child) => stopChild(child)));
    await dropPrefix(prefix);
  });

  /** A raw Socket.IO client subscribed to `symbols`, recording every quote with its arrival time. */
  async function rawWatcher(url: string, symbols: string[]) {
    const socket = await connectTestClient(url);
    sockets.push(socket);
    const seen: { quote: Quote; at: number }[] = [];
    let disconnects = 0;
    socket.on('disconnect', () => disconnects++);
    socket.on('ticks', (quotes) => {
      for (const quote of quotes) seen.push({ quote, at: Date.now() });
    });
    await waitFor(
      async () => (await socket.emitWithAck('subscribe', { symbols, maxHz: 4 })).ok,
      15_000,
      'the gateway to accept the subscription',
    );
    return { socket, seen, disconnects: () => disconnects };
  }

  it("a killed gateway leaves the other gateway's clients undisturbed", { timeout: 60_000 }, async () => {
    prefix = uniquePrefix();
    const ingest = await startIngest(prefix);
    children.push(ingest.child);
    const [a, b] = [await startGateway(prefix), await startGateway(prefix)];
    children.push(a.child, b.child);
    const onA = await rawWatcher(a.url, ['AAPL', 'MSFT']);
    const onB = await rawWatcher(b.url, ['AAPL', 'MSFT']);
    await waitFor(() => onA.seen.length >= 8 && onB.seen.length >= 8, 15_000, 'ticks on both gateways');

    a.child.kill('SIGKILL');
    const killedAt = Date.now();
    await waitFor(() => onB.seen.filter(({ at }) => at > killedAt + 2000).length >= 4, 10_000, 'B ticking on');
    const afterKill = onB.seen.filter(({ at }) => at > killedAt - 500).map(({ at }) => at);
    const longestGap = Math.max(...afterKill.slice(1).map((at, i) => at - (afterKill[i] as number)));
    expect(longestGap).toBeLessThan(1000); // 2 symbols at 4 Hz: never a silence
    expect(onB.disconnects()).toBe(0);
    expect(onB.socket.connected).toBe(true);
  });

  it('a killed ingest shows as down, snapshots still come from Redis; after its restart every watcher ticks again at once', {
    timeout: 90_000,
  }, async () => {
    prefix = uniquePrefix();
    let ingest = await startIngest(prefix);
    children.push(ingest.child);
    const gateway = await startGateway(prefix);
    children.push(gateway.child);
    const raw = await rawWatcher(gateway.url, ['AAPL']);
    const sdk = connect(gateway.url, { transports: ['websocket'] });
    sdks.push(sdk);
    const sdkSeen: { quote: Quote; at: number }[] = [];
    const subscription = sdk
      .watch(['AAPL'], { maxHz: 4 })
      .subscribe((quote) => sdkSeen.push({ quote, at: Date.now() }));
    // A long enough run that the first epoch's seq is far ahead of anything a new epoch starts at.
    await waitFor(() => sdkSeen.length >= 12 && raw.seen.length >= 12, 20_000, 'ticks before the kill');
    const oldEpoch = raw.seen.at(-1)!.quote.epoch;

    ingest.child.kill('SIGKILL');
    const status = async () => (await (await fetch(`${gateway.url}/readyz`)).json()) as Status & { ok: boolean };
    await waitFor(async () => (await status()).feeds.every((f) => f.state === 'down'), 10_000, 'the ingest down');
    expect((await status()).ok).toBe(false);
    const snapshot = (await (await fetch(`${gateway.url}/api/snapshot?symbols=AAPL`)).json()) as {
      snapshot: Quote[];
    };
    expect(snapshot.snapshot.map((q) => [q.symbol, q.epoch])).toEqual([['AAPL', oldEpoch]]);

    ingest = await startIngest(prefix);
    children.push(ingest.child);
    await waitFor(() => raw.seen.some(({ quote }) => quote.epoch !== oldEpoch), 20_000, 'a tick of the new epoch');
    const rawFirst = raw.seen.find(({ quote }) => quote.epoch !== oldEpoch)!;
    expect(rawFirst.quote.epoch).toBeGreaterThan(oldEpoch);
    expect(rawFirst.quote.seq).toBeLessThan(raw.seen.at(0)!.quote.seq + 1000); // seq started over
    await waitFor(() => sdkSeen.some(({ quote }) => quote.epoch !== oldEpoch), 5000, 'the SDK watcher to tick again');
    const sdkFirst = sdkSeen.find(({ quote }) => quote.epoch !== oldEpoch)!;
    // The new epoch is a new baseline at once: no freeze until the new seq passes the old one.
    expect(sdkFirst.at - rawFirst.at).toBeLessThan(1000);
    await waitFor(() => sdkSeen.filter(({ at }) => at > sdkFirst.at).length >= 4, 5000, 'the SDK watcher ticking on');
    subscription.unsubscribe();
    expect(raw.disconnects()).toBe(0);
  });
});

describe.skipIf(!hasRedis)('tickstream ingest, the process', () => {
  const children: ChildProcess[] = [];
  const prefix = uniquePrefix();
  afterEach(async () => {
    await Promise.all(children.splice(0).map((child) => stopChild(child)));
    await dropPrefix(prefix);
  });

  it('names where /metrics is when server.metricsPort gives it a port of its own', async () => {
    const ingest = await spawnTickstream(
      ['ingest', ...roleArgs(prefix), '--set', 'server.metricsPort=0'],
      /metrics on (http:\/\/\S+)\/metrics/,
    );
    children.push(ingest.child);
    // The main port then has no /metrics: the address the banner gives must be the one that answers.
    expect((await fetch(`${ingest.url}/metrics`)).status).toBe(200);
  });
});
