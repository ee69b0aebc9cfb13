import { concat, NEVER, of } from 'rxjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayNode, startGatewayNode } from '../../src/cluster/gatewayNode.js';
import { type IngestNode, startIngestNode } from '../../src/cluster/ingestNode.js';
import { clusterKeys } from '../../src/cluster/keys.js';
import { createLogger } from '../../src/log.js';
import type { Quote, SubscribeAck, SymbolsAck } from '../../src/protocol.js';
import { connectTestClient, type TestClient } from '../helpers/service.js';
import { clusterTestConfig, dropPrefix, rawRedis, redisAvailable, sleep, uniquePrefix, waitFor } from './helpers.js';

const hasRedis = await redisAvailable();
const silent = createLogger('silent');

describe.skipIf(!hasRedis)('cluster: ingest and gateways over Redis', () => {
  let prefix: string;
  let nodes: { close(): Promise<void> }[] = [];
  let clients: TestClient[] = [];

  beforeAll(() => {
    expect(hasRedis).toBe(true);
  });

  afterEach(async () => {
    for (const client of clients) client.disconnect();
    await Promise.all(nodes.map((node) => node.close()));
    await dropPrefix(prefix);
    nodes = [];
    clients = [];
  });

  async function ingest(
    overrides = {},
    options: Parameters<typeof startIngestNode>[0] extends infer O ? Partial<O> : never = {},
  ): Promise<IngestNode> {
    const node = await startIngestNode({
      config: clusterTestConfig('ingest', prefix, overrides),
      logger: silent,
      ...options,
    });
    nodes.push(node);
    await node.link.ready();
    return node;
  }
  async function gateway(overrides = {}): Promise<GatewayNode> {
    const node = await startGatewayNode({ config: clusterTestConfig('gateway', prefix, overrides), logger: silent });
    nodes.push(node);
    await node.link.ready();
    return node;
  }
  async function client(url: string): Promise<TestClient> {
    const socket = await connectTestClient(url);
    clients.push(socket);
    return socket;
  }
  async function knownSymbols(socket: TestClient): Promise<string[]> {
    let symbols: string[] = [];
    await waitFor(
      async () => {
        const ack: SymbolsAck = await socket.emitWithAck('symbols', {});
        symbols = ack.ok ? ack.symbols.map((s) => s.symbol) : [];
        return symbols.length > 0;
      },
      10_000,
      'the symbol directory on the gateway',
    );
    return symbols;
  }

  it('delivers ticks ingested by one node to a client of another, with a snapshot from Redis', async () => {
    prefix = uniquePrefix();
    await ingest();
    const gw = await gateway();
    const socket = await client(gw.url);
    expect(await knownSymbols(socket)).toContain('AAPL');

    const ticks: Quote[] = [];
    socket.on('ticks', (quotes) => ticks.push(...quotes));
    // The last-value hash fills within a window or two of the first ticks.
    let ack: SubscribeAck | undefined;
    await waitFor(
      async () => {
        ack = await socket.emitWithAck('subscribe', { symbols: ['AAPL', 'MSFT'], maxHz: 4 });
        return ack.ok && ack.snapshot.length === 2;
      },
      10_000,
      'a snapshot of AAPL and MSFT',
    );
    if (!ack?.ok) throw new Error('subscribe failed');
    expect(ack.subscribed).toEqual(['AAPL', 'MSFT']);
    expect(ack.hz).toBe(4);
    await waitFor(() => new Set(ticks.map((q) => q.symbol)).size === 2, 10_000, 'ticks of both symbols');
    const aapl = ticks.filter((q) => q.symbol === 'AAPL');
    // seq strictly increases per symbol across the Redis hop.
    for (let i = 1; i < aapl.length; i++) expect(aapl[i]!.seq).toBeGreaterThan(aapl[i - 1]!.seq);
    const status = await fetch(`${gw.url}/readyz`);
    expect(status.status).toBe(200);
    expect(((await status.json()) as { cluster: unknown }).cluster).toEqual({ role: 'gateway', redis: 'up' });
  });

  it('protects a gateway as the all-in-one server: tokens and foreign origins refused', async () => {
    prefix = uniquePrefix();
    const gw = await gateway({ auth: { tokens: [{ token: 'gateway-token-0123456789' }] } });
    const refused = await connectTestClient(gw.url, { auth: { token: 'wrong' } }).then(
      (socket) => {
        socket.disconnect();
        return 'connected';
      },
      (err: Error) => err.message,
    );
    expect(refused).toBe('unauthorized');
    const admitted = await connectTestClient(gw.url, { auth: { token: 'gateway-token-0123456789' } });
    clients.push(admitted);
    expect(admitted.connected).toBe(true);

    const open = await gateway({
      server: { host: '127.0.0.1', port: 0, dashboard: false, allowedOrigins: ['https://dash.example'] },
    });
    const foreign = await connectTestClient(open.url, { extraHeaders: { origin: 'https://evil.example' } }).then(
      (socket) => {
        socket.disconnect();
        return 'connected';
      },
      () => 'refused',
    );
    expect(foreign).toBe('refused');
  });

  it("serves the ingest's chart history on a gateway: the backfill, then the live bars", async () => {
    prefix = uniquePrefix();
    const ing = await ingest(); // bars go to Redis every historyWindowMs (2 s)
    const gw = await gateway();
    type History = { ok: boolean; bars: { time: number; close: number }[] };
    const read = async (url: string) => (await (await fetch(`${url}/api/history?symbol=AAPL`)).json()) as History;
    let fromIngest: History = { ok: false, bars: [] };
    let fromGateway: History = { ok: false, bars: [] };
    await waitFor(
      async () => {
        fromGateway = await read(gw.url);
        fromIngest = await read(ing.url);
        // The newest bar moves with every tick; everything before it is settled.
        // Until the gateway's directory has AAPL it answers 404 with no bars.
        return (
          fromGateway.ok &&
          fromGateway.bars.length > 0 &&
          JSON.stringify(fromGateway.bars.slice(0, -1)) === JSON.stringify(fromIngest.bars.slice(0, -1))
        );
      },
      10_000,
      'the gateway to serve the same bars as ingest',
    );
    expect(fromGateway.ok).toBe(true);
    // The simulated feed backfills 4 hours of 1-minute bars, and the live minute is there too.
    expect(fromGateway.bars.length).toBeGreaterThan(200);
    expect(Date.now() - (fromGateway.bars.at(-1)?.time ?? 0)).toBeLessThan(2 * 60_000);
    expect((await fetch(`${gw.url}/api/history?symbol=NOPE`)).status).toBe(404);
  });

  it('answers the same snapshot on every gateway', async () => {
    prefix = uniquePrefix();
    const quotes = [
      { symbol: 'AAA', price: 10, ts: Date.now() },
      { symbol: 'BBB', price: 20, ts: Date.now() },
      { symbol: 'AAA', price: 11, ts: Date.now() },
    ];
    await ingest(
      {},
      {
        feeds: [
          { id: 'fixed', symbols: [{ symbol: 'AAA' }, { symbol: 'BBB' }], quotes$: concat(of(...quotes), NEVER) },
        ],
      },
    );
    const [a, b] = [await gateway(), await gateway()];
    const read = async (gw: GatewayNode) => {
      const res = await fetch(`${gw.url}/api/snapshot?symbols=AAA,BBB`);
      return (await res.json()) as { snapshot: Quote[] };
    };
    await waitFor(async () => (await read(a)).snapshot.length === 2, 10_000, 'snapshot in Redis');
    const [fromA, fromB] = [await read(a), await read(b)];
    expect(fromA.snapshot).toEqual(fromB.snapshot);
    expect(fromA.snapshot.map((q) => [q.symbol, q.price])).toEqual([
      ['AAA', 11],
      ['BBB', 20],
    ]);
    // and the socket ack of the other gateway agrees
    const socket = await client(b.url);
    await knownSymbols(socket);
    const ack = await socket.emitWithAck('subscribe', { symbols: ['AAA', 'BBB'] });
    expect(ack.ok && ack.snapshot).toEqual(fromA.snapshot);
  });

  it('sends a gateway none of the traffic of rooms its clients are not in', async () => {
    prefix = uniquePrefix();
    await ingest();
    const [watched, idle] = [await gateway(), await gateway()];
    const socket = await client(watched.url);
    await knownSymbols(socket);
    let ticks = 0;
    socket.on('ticks', (quotes) => (ticks += quotes.length));
    const ack = await socket.emitWithAck('subscribe', { symbols: ['AAPL', 'NVDA'], maxHz: 10 });
    expect(ack.ok).toBe(true);
    await waitFor(() => ticks >= 10, 10_000, 'ticks on the watching gateway');
    await sleep(1000);

    const messagesIn = async (gw: GatewayNode) =>
      ((await gw.metrics.redisMessagesIn.get()).values[0]?.value ?? 0) as number;
    expect(await messagesIn(watched)).toBeGreaterThanOrEqual(10);
    expect(await messagesIn(idle)).toBe(0);

    // Redis's own view: each room's sharded channel has exactly one subscriber (the watching gateway).
    const redis = await rawRedis();
    try {
      const keys = clusterKeys(prefix);
      const channels = (await redis.pubSubShardChannels(`${keys.adapter}#/#q:*`)).map(String).sort();
      expect(channels).toEqual([`${keys.adapter}#/#q:AAPL@10#`, `${keys.adapter}#/#q:NVDA@10#`]);
      const counts = await redis.pubSubShardNumSub(channels);
      expect(Object.values(counts)).toEqual([1, 1]);
    } finally {
      redis.destroy();
    }
  });

  it('stops publishing a room once no gateway holds it', async () => {
    prefix = uniquePrefix();
    const node = await ingest();
    const gw = await gateway();
    const socket = await client(gw.url);
    await knownSymbols(socket);
    await socket.emitWithAck('subscribe', { symbols: ['AAPL'], maxHz: 20 });
    const rooms = async () => ((await node.metrics.clusterRooms.get()).values[0]?.value ?? 0) as number;
    await waitFor(async () => (await rooms()) === 1, 5000, 'ingest to publish the room');
    await socket.emitWithAck('unsubscribe', { symbols: ['AAPL'] });
    await waitFor(async () => (await rooms()) === 0, 5000, 'ingest to drop the room');
  });

  it('publishes every room with cluster.publish "all"', async () => {
    prefix = uniquePrefix();
    const node = await ingest({
      feeds: [{ type: 'simulated', id: 'sim', seed: 7, ticksPerSecond: 200, offHoursFactor: 1, symbols: 10 }],
      cluster: {
        role: 'ingest',
        redisUrl: 'redis://127.0.0.1:6379',
        keyPrefix: prefix,
        publish: 'all',
        demandPollMs: 200,
      },
    });
    const rooms = async () => ((await node.metrics.clusterRooms.get()).values[0]?.value ?? 0) as number;
    await waitFor(async () => (await rooms()) === 50, 5000, '10 symbols x 5 tiers');
  });
});
