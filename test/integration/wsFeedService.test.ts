import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import type { Quote, Status, SubscribeAck, UnsubscribeAck } from '../../src/protocol.js';
import type { Tickstream } from '../../src/roles/serve.js';
import { DEMO_KEY, startWsUpstream, type WsUpstream } from '../../src/upstream/wsUpstream.js';
import { quietFor, until } from '../helpers/lifecycle.js';
import { connectTestClient, startTestService, type TestClient } from '../helpers/service.js';

describe('tickstream with a ws feed (Polygon-style upstream), end to end', () => {
  let upstream: WsUpstream | undefined;
  let service: Tickstream | undefined;
  let client: TestClient | undefined;
  afterEach(async () => {
    client?.close();
    await service?.close();
    await upstream?.close();
    client = service = upstream = undefined;
  });

  const start = async (key: string) => {
    upstream = await startWsUpstream('polygon', { port: 0, ticksPerSecond: 300 });
    service = await startTestService({
      feeds: [
        {
          type: 'ws',
          id: 'poly',
          url: upstream.url,
          format: 'polygon',
          key,
          symbols: ['AAPL', 'MSFT', 'NVDA'],
          reconnect: { initialMs: 50, maxMs: 500 },
        },
      ],
    });
    client = await connectTestClient(service.url);
    return { upstream, service, client };
  };

  it('is ready while connected even when no one watches anything (no ticks yet)', async () => {
    const { upstream, service } = await start(DEMO_KEY);
    await until(() => upstream.stats.authSuccesses === 1, 10_000, 'the feed to authenticate');
    let ready = 0;
    await until(
      async () => {
        ready = (await fetch(`${service.url}/readyz`)).status;
        return ready === 200;
      },
      5000,
      () => `/readyz 200, got ${ready}`,
      50,
    );
    expect(upstream.subscriptions()).toEqual([]);
    expect(service.health.statuses()).toEqual([expect.objectContaining({ id: 'poly', state: 'live' })]);
  });

  it('subscribes upstream to what clients watch and delivers its ticks over Socket.IO', async () => {
    const { upstream, service, client } = await start(DEMO_KEY);
    const ticks: Quote[] = [];
    client.on('ticks', (batch) => ticks.push(...batch));
    // Nobody watches yet: the feed subscribes to nothing upstream.
    await until(() => upstream.stats.authSuccesses === 1, 10_000, 'the feed to authenticate');
    expect(upstream.subscriptions()).toEqual([]);

    const ack = await client.emitWithAck('subscribe', { symbols: ['AAPL', 'ZZZZ'], maxHz: 10 });
    expect(ack).toMatchObject({ ok: true, subscribed: ['AAPL'] } satisfies Partial<SubscribeAck>);
    expect(ack.ok && ack.rejected.map((r) => r.code)).toEqual(['UNKNOWN_SYMBOL']);
    await until(() => upstream.subscriptions().join() === 'AAPL', 10_000, 'the upstream subscription to AAPL');
    await until(() => ticks.filter((q) => q.symbol === 'AAPL').length >= 3, 10_000, 'AAPL ticks');
    for (const q of ticks) {
      expect(q).toMatchObject({ symbol: 'AAPL', source: 'poly' });
      expect(q.price).toBeGreaterThan(0);
      expect(q.seq).toBeGreaterThan(0);
    }

    // A garbage frame from the vendor is counted as a bad input of the feed, and the ticks go on.
    upstream.broadcastRaw('{"ev": garbage');
    const badFrames = /tickstream_bad_inputs_total\{feed="poly",reason="not_object"\} 1\b/;
    await until(
      async () => badFrames.test(await (await fetch(`${service.url}/metrics`)).text()),
      5000,
      'the garbage frame in tickstream_bad_inputs_total',
      50,
    );
    const mark = ticks.length;
    await until(() => ticks.length > mark, 10_000, 'ticks after the garbage');

    const off: UnsubscribeAck = await client.emitWithAck('unsubscribe', { symbols: ['AAPL'] });
    expect(off).toEqual({ ok: true, subscribed: [] });
    await until(() => upstream.subscriptions().length === 0, 10_000, 'the upstream to unsubscribe');
  });

  it('reports the feed down (and does not loop) when the upstream refuses the key', async () => {
    const { upstream, client } = await start('wrong-key');
    let status: Status | undefined;
    client.on('status', (s) => {
      status = s;
    });
    await until(() => status?.feeds.some((f) => f.id === 'poly' && f.state === 'down') === true, 10_000, 'feed down');
    // A reconnect loop (backoff in tens of ms) would have connected again within 300 ms.
    await quietFor(300, 'a reconnect after the refused key', () => upstream.stats.connections > 1);
    expect(upstream.stats).toMatchObject({ connections: 1, authFailures: 1, authSuccesses: 0 });
  });
});

describe('a Binance feed beside another feed (the priority merge on)', () => {
  let upstream: WebSocketServer | undefined;
  let service: Tickstream | undefined;
  let client: TestClient | undefined;
  afterEach(async () => {
    client?.close();
    await service?.close();
    for (const socket of upstream?.clients ?? []) socket.terminate();
    await new Promise((resolve) => (upstream ? upstream.close(resolve) : resolve(undefined)));
    client = service = upstream = undefined;
  });

  it('serves the trades and 24 h statistics that follow a bookTicker, stamped by the exchange before it arrived', async () => {
    // A combined stream: each round a bookTicker (no event time), then a trade and a miniTicker whose exchange
    // times are 150 ms before we get them, as over a real network.
    upstream = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    upstream.on('connection', (socket) => {
      socket.on('message', (frame) => {
        const request = JSON.parse(frame.toString()) as { method: string; id: unknown };
        socket.send(JSON.stringify({ result: null, id: request.id }));
        if (request.method !== 'SUBSCRIBE') return;
        for (const n of [1, 2, 3]) {
          const book = { u: n, s: 'BTCUSDT', b: `${100 + n}.00`, B: '1', a: `${100 + n}.20`, A: '1' };
          socket.send(JSON.stringify({ stream: 'btcusdt@bookTicker', data: book }));
          const at = Date.now() - 150;
          const trade = { e: 'trade', E: at, s: 'BTCUSDT', t: n, p: `${100 + n}.10`, q: '2', T: at, m: true, M: true };
          socket.send(JSON.stringify({ stream: 'btcusdt@trade', data: trade }));
          const mini = { e: '24hrMiniTicker', E: at, s: 'BTCUSDT', c: `${100 + n}.10`, o: '90', h: '110', l: '90' };
          socket.send(JSON.stringify({ stream: 'btcusdt@miniTicker', data: { ...mini, v: `${1000 + n}`, q: '1' } }));
        }
      });
    });
    await new Promise((resolve) => upstream?.once('listening', resolve));
    const { port } = upstream.address() as AddressInfo;
    service = await startTestService({
      feeds: [
        { type: 'ws', id: 'binance', url: `ws://127.0.0.1:${port}/stream`, format: 'binance', symbols: ['BTCUSDT'] },
        { type: 'simulated', symbols: 3 },
      ],
    });
    const running = service;
    client = await connectTestClient(running.url);
    const ack = await client.emitWithAck('subscribe', { symbols: ['BTCUSDT'] });
    expect(ack.ok).toBe(true);
    await until(
      () => running.cache.get('BTCUSDT')?.volume === 1003,
      5000,
      () => `the last miniTicker's volume, got ${JSON.stringify(running.cache.get('BTCUSDT'))}`,
    );
    expect(running.cache.get('BTCUSDT')).toMatchObject({ price: 103.1, bid: 103, ask: 103.2, high: 110, low: 90 });
  });
});
