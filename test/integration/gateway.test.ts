import { IncomingMessage } from 'node:http';
import { io as ioClient } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { laneOf } from '../../src/pipeline/conflatedStreams.js';
import type { Quote, SubscribeAck } from '../../src/protocol.js';
import type { Tickstream } from '../../src/server.js';
import { sleep } from '../helpers/lifecycle.js';
import { manualFeed } from '../helpers/manualFeed.js';
import { connectTestClient, startTestService, type TestClient } from '../helpers/service.js';

let service: Tickstream | undefined;
const clients: TestClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await service?.close();
  service = undefined;
});

const client = async (url: string) => {
  const c = await connectTestClient(url);
  clients.push(c);
  return c;
};
/** Waits until every one of `symbols` has a last value (the simulator has ticked it). */
const cached = async (svc: Tickstream, symbols: string[]) => {
  for (let i = 0; i < 500 && svc.cache.snapshot(symbols).length < symbols.length; i++) await sleep(10);
};
const subscribe = (c: TestClient, payload: unknown) =>
  c.timeout(5000).emitWithAck('subscribe', payload as never) as Promise<SubscribeAck>;

describe('subscribe', () => {
  it('answers with the snapshot in the ack, then ticks', async () => {
    service = await startTestService();
    await cached(service, ['AAPL', 'MSFT']); // the simulator has ticked both
    const c = await client(service.url);
    const ticks: Quote[] = [];
    c.on('ticks', (batch) => ticks.push(...batch));
    const ack = await subscribe(c, { symbols: ['AAPL', 'MSFT'], maxHz: 2 });
    expect(ack).toMatchObject({ ok: true, subscribed: ['AAPL', 'MSFT'], hz: 2, rejected: [] });
    if (!ack.ok) throw new Error('not ok');
    expect(ack.snapshot.map((q) => q.symbol).sort()).toEqual(['AAPL', 'MSFT']);
    for (const q of ack.snapshot) {
      expect(q).toMatchObject({ price: expect.any(Number), seq: expect.any(Number), ts: expect.any(Number) });
      expect(q).toHaveProperty('changePct');
      expect(q).toHaveProperty('volume');
    }
    await sleep(1500);
    expect(ticks.some((q) => q.symbol === 'AAPL')).toBe(true);
    const snapAapl = ack.snapshot.find((q) => q.symbol === 'AAPL')!;
    expect(ticks.filter((q) => q.symbol === 'AAPL').every((q) => q.seq > snapAapl.seq)).toBe(true);
  });

  it('respects the rate per symbol over several seconds, and seq only grows', async () => {
    service = await startTestService();
    const c = await client(service.url);
    const arrivals = new Map<string, { at: number; seq: number }[]>();
    c.on('ticks', (batch) => {
      for (const q of batch) {
        const list = arrivals.get(q.symbol) ?? [];
        list.push({ at: performance.now(), seq: q.seq });
        arrivals.set(q.symbol, list);
      }
    });
    const symbols = ['AAPL', 'MSFT', 'NVDA', 'TSLA', 'AMZN'];
    const ack = await subscribe(c, { symbols, maxHz: 2 });
    expect(ack.ok && ack.hz).toBe(2);
    const seconds = 4;
    await sleep(seconds * 1000);
    for (const symbol of symbols) {
      const list = arrivals.get(symbol) ?? [];
      // At 2 Hz with leading edge: at most 2 per second plus the first one.
      expect(list.length).toBeLessThanOrEqual(2 * seconds + 1);
      expect(list.length).toBeGreaterThanOrEqual(seconds); // a busy simulator: close to the rate
      for (let i = 1; i < list.length; i++) {
        expect(list[i]!.seq).toBeGreaterThan(list[i - 1]!.seq);
        // Server-side intervals are exact; allow for delivery jitter on a loaded machine.
        expect(list[i]!.at - list[i - 1]!.at).toBeGreaterThan(500 - 150);
      }
    }
  });

  it('always delivers the newest value within one interval when the feed goes quiet', async () => {
    const feed = manualFeed(['ACME']);
    service = await startTestService({}, { feeds: [feed] });
    const c = await client(service.url);
    const ticks: Quote[] = [];
    c.on('ticks', (batch) => ticks.push(...batch));
    await subscribe(c, { symbols: ['ACME'], maxHz: 4 });
    for (let i = 1; i <= 20; i++) feed.push('ACME', 100 + i);
    await sleep(600);
    expect(ticks.map((q) => q.price)).toEqual([101, 120]); // leading edge, then the newest at the trailing edge
    expect(ticks[1]!.seq - ticks[0]!.seq).toBe(19); // the jump shows conflation
  });

  it('with tier-clock conflation: one update per symbol per tick, all symbols of a tier in one frame', async () => {
    const feed = manualFeed(['ACME', 'INIT']);
    service = await startTestService({ pipeline: { conflation: 'clock' } }, { feeds: [feed] });
    const c = await client(service.url);
    const frames: Quote[][] = [];
    c.on('ticks', (batch) => frames.push(batch));
    await subscribe(c, { symbols: ['ACME', 'INIT'], maxHz: 4 });
    for (let i = 1; i <= 20; i++) {
      feed.push('ACME', 100 + i);
      feed.push('INIT', 200 + i);
    }
    await sleep(700);
    // No leading edge: the newest of both symbols at the next tick, in one frame, and nothing after.
    expect(frames.map((f) => f.map((q) => `${q.symbol}:${q.price}`).sort())).toEqual([['ACME:120', 'INIT:220']]);
  });

  it('with tier-clock lanes: sockets of a tier get their frames at different phases, still one per interval', async () => {
    const feed = manualFeed(['ACME']);
    service = await startTestService({ pipeline: { conflation: 'clock', lanes: 2 } }, { feeds: [feed] });
    // One client in each lane (a socket's lane is a hash of its id).
    const byLane = new Map<number, TestClient>();
    for (let i = 0; i < 40 && byLane.size < 2; i++) {
      const c = await client(service.url);
      if (!byLane.has(laneOf(c.id ?? '', 2))) byLane.set(laneOf(c.id ?? '', 2), c);
    }
    expect(byLane.size).toBe(2);
    const arrivals = new Map<number, number[]>([
      [0, []],
      [1, []],
    ]);
    for (const [lane, c] of byLane) {
      c.on('ticks', () => arrivals.get(lane)?.push(Date.now()));
      await subscribe(c, { symbols: ['ACME'], maxHz: 4 });
    }
    const pushing = setInterval(() => feed.push('ACME', 100 + Math.random()), 10);
    await sleep(2100);
    clearInterval(pushing);
    const [lane0, lane1] = [arrivals.get(0) ?? [], arrivals.get(1) ?? []];
    for (const times of [lane0, lane1]) {
      expect(times.length).toBeGreaterThanOrEqual(6); // 4 Hz for 2 s
      expect(times.length).toBeLessThanOrEqual(9);
    }
    // 4 Hz in 2 lanes: lane 1 is half an interval (125 ms) after lane 0; without lanes both share each tick.
    const offsets = lane1.map((t) => Math.min(...lane0.map((u) => Math.abs(t - u)))).sort((a, b) => a - b);
    const median = offsets[Math.floor(offsets.length / 2)] ?? 0;
    expect(median).toBeGreaterThan(60);
    expect(median).toBeLessThan(190);
  });

  it('rejects unknown and malformed symbols one by one while the others succeed', async () => {
    service = await startTestService();
    const c = await client(service.url);
    const ack = await subscribe(c, { symbols: ['AAPL', 'NOPE', 'bad symbol!', 'msft'], maxHz: 4 });
    expect(ack).toMatchObject({
      ok: true,
      subscribed: ['AAPL', 'MSFT'],
      rejected: [
        { symbol: 'NOPE', code: 'UNKNOWN_SYMBOL' },
        { symbol: 'bad symbol!', code: 'BAD_REQUEST' },
      ],
    });
  });

  it('changes the rate when subscribing again with another maxHz, clamped to the tiers', async () => {
    service = await startTestService();
    const c = await client(service.url);
    expect(await subscribe(c, { symbols: ['AAPL'], maxHz: 20 })).toMatchObject({ ok: true, hz: 20 });
    expect(await subscribe(c, { symbols: ['AAPL'], maxHz: 3 })).toMatchObject({
      ok: true,
      hz: 2,
      subscribed: ['AAPL'],
    });
    expect(await subscribe(c, { symbols: ['AAPL'], maxHz: 500 })).toMatchObject({ ok: true, hz: 20 });
    expect(await subscribe(c, { symbols: ['AAPL'], maxHz: 0.1 })).toMatchObject({ ok: true, hz: 1 });
    const rooms = [...service.io.of('/').adapter.rooms.keys()].filter((r) => r.startsWith('q:'));
    expect(rooms).toEqual(['q:AAPL@1']);
  });

  it('conflates once per symbol and tier, not once per client', async () => {
    const feed = manualFeed(['ACME']);
    service = await startTestService({}, { feeds: [feed] });
    const many = await Promise.all(Array.from({ length: 20 }, () => client(service!.url)));
    const received = many.map(() => 0);
    for (const [i, c] of many.entries()) {
      c.on('ticks', (batch) => {
        received[i]! += batch.length;
      });
    }
    await Promise.all(many.map((c) => subscribe(c, { symbols: ['ACME'], maxHz: 10 })));
    const before = (await service.metrics.updatesOut.get()).values[0]?.value ?? 0;
    for (let i = 0; i < 5; i++) {
      feed.push('ACME', 10 + i);
      await sleep(150);
    }
    await sleep(200);
    const published = ((await service.metrics.updatesOut.get()).values[0]?.value ?? 0) - before;
    expect(published).toBe(5); // one room update per tick, whatever the number of clients
    expect(received.every((n) => n === 5)).toBe(true);
  });
});

describe('bad requests', () => {
  it('answers malformed payloads with error acks and keeps serving others', async () => {
    service = await startTestService();
    const bad = await client(service.url);
    const good = await client(service.url);
    const ask = (payload: unknown) => bad.timeout(5000).emitWithAck('subscribe', payload as never);
    await expect(ask(undefined)).resolves.toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    await expect(ask('AAPL')).resolves.toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    await expect(ask({ symbols: 'AAPL' })).resolves.toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    await expect(ask({ symbols: [1, 2] })).resolves.toMatchObject({
      ok: false,
      error: { code: 'BAD_REQUEST', message: expect.stringContaining('symbols.0') },
    });
    await expect(ask({ symbols: ['AAPL'], maxHz: 'fast' })).resolves.toMatchObject({
      ok: false,
      error: { code: 'BAD_REQUEST', message: expect.stringContaining('maxHz') },
    });
    await expect(ask({ symbols: [] })).resolves.toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    const huge = Array.from({ length: 10_000 }, (_, i) => `S${i}`);
    await expect(ask({ symbols: huge })).resolves.toMatchObject({ ok: false, error: { code: 'LIMIT_EXCEEDED' } });
    // No ack at all: nothing to answer, the connection stays up.
    bad.emit('subscribe', { symbols: ['AAPL'] } as never, undefined as never);
    (bad as unknown as { emit(event: string): void }).emit('subscribe');
    // Ack passed where the payload should be.
    const fnOnly = await new Promise((resolve) =>
      (bad as unknown as { emit(e: string, ack: (r: unknown) => void): void }).emit('subscribe', resolve),
    );
    expect(fnOnly).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    await expect(bad.timeout(5000).emitWithAck('unsubscribe', { symbols: 5 } as never)).resolves.toMatchObject({
      ok: false,
      error: { code: 'BAD_REQUEST' },
    });
    expect(bad.connected).toBe(true);
    expect(await subscribe(good, { symbols: ['AAPL'] })).toMatchObject({ ok: true, subscribed: ['AAPL'] });
    expect(await subscribe(bad, { symbols: ['MSFT'] })).toMatchObject({ ok: true, subscribed: ['MSFT'] });
  });

  it('limits requests per second with RATE_LIMITED and symbols per socket with LIMIT_EXCEEDED', async () => {
    service = await startTestService({ limits: { requestsPerSecond: 5, requestBurst: 5, maxSymbolsPerSocket: 3 } });
    const c = await client(service.url);
    const acks = await Promise.all(
      Array.from({ length: 8 }, () => c.timeout(5000).emitWithAck('symbols', {} as never)),
    );
    expect(acks.filter((a) => a.ok)).toHaveLength(5);
    expect(acks.filter((a) => !a.ok)).toEqual(
      Array(3).fill({ ok: false, error: { code: 'RATE_LIMITED', message: expect.any(String) } }),
    );
    await sleep(1100);
    const ack = await subscribe(c, { symbols: ['AAPL', 'MSFT', 'NVDA', 'TSLA'] });
    expect(ack).toMatchObject({
      ok: true,
      subscribed: ['AAPL', 'MSFT', 'NVDA'],
      rejected: [{ symbol: 'TSLA', code: 'LIMIT_EXCEEDED' }],
    });
  });
});

describe('unsubscribe, symbols and status', () => {
  it('stops delivery after unsubscribe and reports the remaining set', async () => {
    service = await startTestService();
    const c = await client(service.url);
    await subscribe(c, { symbols: ['AAPL', 'MSFT'], maxHz: 10 });
    const ack = await c.timeout(5000).emitWithAck('unsubscribe', { symbols: ['AAPL', 'NOTSUBSCRIBED'] });
    expect(ack).toEqual({ ok: true, subscribed: ['MSFT'] });
    await sleep(200); // let in-flight frames land
    const after: string[] = [];
    c.on('ticks', (batch) => after.push(...batch.map((q) => q.symbol)));
    await sleep(1500);
    expect(after).not.toContain('AAPL');
    expect(after).toContain('MSFT');
    const rooms = [...service.io.of('/').adapter.rooms.keys()].filter((r) => r.startsWith('q:'));
    expect(rooms).toEqual(['q:MSFT@10']);
  });

  it('lists symbols with names and exchanges', async () => {
    service = await startTestService();
    const c = await client(service.url);
    const ack = await c.timeout(5000).emitWithAck('symbols', {});
    if (!ack.ok) throw new Error('not ok');
    expect(ack.symbols.length).toBeGreaterThanOrEqual(50);
    expect(ack.symbols).toContainEqual({ symbol: 'AAPL', name: 'Apple Inc.', exchange: 'NASDAQ', currency: 'USD' });
  });

  it('sends status on connect with feed states and the market session', async () => {
    service = await startTestService();
    // Listen before connecting: the server sends status as soon as the socket is accepted.
    const socket: TestClient = ioClient(service.url, { transports: ['websocket'], reconnection: false });
    clients.push(socket);
    const status = await new Promise((resolve) => socket.once('status', resolve));
    expect(status).toMatchObject({
      feeds: [{ id: 'sim', state: expect.stringMatching(/live|stale/) }],
      session: {
        exchange: 'NYSE/Nasdaq',
        state: expect.stringMatching(/pre|open|post|closed/),
        nextChange: expect.any(String),
      },
    });
  });

  it.each([
    ['websocket', ['websocket']],
    ['polling, then the upgrade to websocket', ['polling', 'websocket']],
  ] as const)(
    'keeps only the handshake fields of the first request once a socket is accepted (%s)',
    async (_, transports) => {
      service = await startTestService();
      const socket: TestClient = ioClient(service.url, {
        transports: [...transports],
        reconnection: false,
        extraHeaders: { 'x-trace': 'idle-memory' },
        query: { probe: '1' },
      });
      clients.push(socket);
      await new Promise((resolve) => socket.once('status', resolve));
      if (socket.io.engine.transport.name !== 'websocket')
        await new Promise((resolve) => socket.io.engine.once('upgrade', resolve));
      const [accepted] = await service.io.fetchSockets();
      if (!accepted) throw new Error('no server-side socket');
      const local = service.io.of('/').sockets.get(accepted.id);
      if (!local) throw new Error('not a local socket');
      const kept = local.conn.request as unknown as Record<string, unknown>;
      // Not the IncomingMessage (its stream state and raw headers are let go), but what a handshake reads.
      expect(kept).not.toBeInstanceOf(IncomingMessage);
      expect(Object.keys(kept).sort()).toEqual(['_query', 'connection', 'headers', 'url']);
      expect((kept.headers as Record<string, string>)['x-trace']).toBe('idle-memory');
      expect(kept._query).toMatchObject({ probe: '1' });
      expect(kept.connection).toEqual({ encrypted: false });
      expect(accepted.handshake.headers['x-trace']).toBe('idle-memory');
      expect(accepted.handshake.query).toMatchObject({ probe: '1' });
      // The server switches transports once the client's upgrade packet arrives.
      for (let i = 0; i < 100 && local.conn.transport.name !== 'websocket'; i++) await sleep(20);
      expect(local.conn.transport.name).toBe('websocket');
      // and the connection still works: requests are answered
      const ack = await socket.timeout(5000).emitWithAck('symbols', {});
      expect(ack.ok).toBe(true);
    },
  );

  it('sends a new status when a feed goes stale', async () => {
    const feed = manualFeed(['ACME']);
    service = await startTestService({ staleAfterMs: 300 }, { feeds: [feed] });
    const c = await client(service.url);
    const states: string[] = [];
    c.on('status', (s) => states.push(s.feeds[0]!.state));
    for (let i = 0; i < 10; i++) {
      feed.push('ACME', 1 + i);
      await sleep(100);
    }
    expect(states.at(-1)).toBe('live');
    await sleep(1000);
    expect(states.at(-1)).toBe('stale');
    feed.input.error(new Error('upstream gone'));
    await sleep(1200);
    expect(states.at(-1)).toBe('down');
  });
});

describe('HTTP', () => {
  it('serves health, readiness, symbols and snapshots', async () => {
    service = await startTestService();
    await cached(service, ['AAPL', 'MSFT']);
    const get = async (path: string) => {
      const res = await fetch(`${service!.url}${path}`);
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    expect(await get('/healthz')).toEqual({ status: 200, body: { ok: true } });
    expect((await get('/readyz')).status).toBe(200);
    const symbols = await get('/api/symbols');
    expect((symbols.body.symbols as unknown[]).length).toBeGreaterThanOrEqual(50);
    const snap = await get('/api/snapshot?symbols=AAPL,msft,NOPE');
    expect(snap.status).toBe(200);
    expect((snap.body.snapshot as Quote[]).map((q) => q.symbol)).toEqual(['AAPL', 'MSFT']);
    expect(snap.body.rejected).toEqual([{ symbol: 'NOPE', code: 'UNKNOWN_SYMBOL', message: 'unknown symbol NOPE' }]);
    expect((await get('/api/snapshot')).status).toBe(400);
    expect(await get('/api/socket')).toEqual({
      status: 200,
      body: { ok: true, parser: 'json', transports: ['websocket', 'polling'] },
    });
    expect((await fetch(`${service.url}/metrics`)).headers.get('content-type')).toContain('text/plain');
  });

  it('is not ready while no feed is live', async () => {
    const feed = manualFeed(['ACME']);
    service = await startTestService({ staleAfterMs: 200 }, { feeds: [feed] });
    expect((await fetch(`${service.url}/readyz`)).status).toBe(503);
    feed.push('ACME', 1);
    expect((await fetch(`${service.url}/readyz`)).status).toBe(200);
    await sleep(400);
    const res = await fetch(`${service.url}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ ok: false, feeds: [{ id: 'manual', state: 'stale' }] });
  });
});
