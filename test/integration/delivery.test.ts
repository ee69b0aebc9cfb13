import { IncomingMessage } from 'node:http';
import type { Socket as NetSocket } from 'node:net';
import { io as ioClient } from 'socket.io-client';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { DeltaStream } from '../../packages/client/src/deltaStream.js';
import { laneOf } from '../../src/delivery/tierMembership.js';
import type { Quote, SubscribeAck } from '../../src/protocol.js';
import type { Tickstream } from '../../src/roles/serve.js';
import { ownedPerTest, until } from '../helpers/lifecycle.js';
import { manualFeed } from '../helpers/manualFeed.js';
import { connectTestClient, serviceStarter, type TestClient } from '../helpers/service.js';

const { owned } = ownedPerTest();
const start = serviceStarter(owned);

const client = async (url: string, options: Parameters<typeof connectTestClient>[1] = {}) =>
  owned(await connectTestClient(url, options));
/** Waits until every one of `symbols` has a last value (the simulator has ticked it). */
const cached = (svc: Tickstream, symbols: string[]) =>
  until(() => svc.cache.snapshot(symbols).length === symbols.length, 5000, `last values of ${symbols.join(', ')}`);
const subscribe = (c: TestClient, payload: unknown) =>
  c.timeout(5000).emitWithAck('subscribe', payload as never) as Promise<SubscribeAck>;
const counter = async (svc: Tickstream, name: 'updatesOut' | 'framesEncoded' | 'framesWritten') =>
  (await svc.metrics[name].get()).values[0]?.value ?? 0;

describe('subscribe', () => {
  it('answers with the snapshot in the ack, then ticks newer than it', async () => {
    const service = await start();
    await cached(service, ['AAPL', 'MSFT']);
    const c = await client(service.url);
    const ticks: Quote[] = [];
    c.on('ticks', (batch) => ticks.push(...batch));
    const ack = await subscribe(c, { symbols: ['AAPL', 'MSFT'], maxHz: 2 });
    expect(ack).toMatchObject({ ok: true, subscribed: ['AAPL', 'MSFT'], hz: 2, rejected: [] });
    if (!ack.ok) throw new Error('not ok');
    expect(ack.snapshot.map((q) => q.symbol).sort()).toEqual(['AAPL', 'MSFT']);
    for (const q of ack.snapshot) {
      expect(q).toMatchObject({ price: expect.any(Number), epoch: expect.any(Number), seq: expect.any(Number) });
      expect(q).toHaveProperty('changePct');
      expect(q).toHaveProperty('volume');
    }
    await until(() => ticks.some((q) => q.symbol === 'AAPL'), 5000, 'an AAPL tick');
    const snapAapl = ack.snapshot.find((q) => q.symbol === 'AAPL')!;
    const aapl = ticks.filter((q) => q.symbol === 'AAPL');
    expect(aapl.every((q) => q.epoch === snapAapl.epoch && q.seq > snapAapl.seq)).toBe(true);
  });

  it('respects the rate per symbol over several seconds, and seq only grows', async () => {
    const service = await start();
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
    const started = performance.now();
    await until(() => symbols.every((s) => (arrivals.get(s)?.length ?? 0) >= 8), 15_000, '8 updates of each symbol');
    const seconds = (performance.now() - started) / 1000;
    for (const symbol of symbols) {
      const list = arrivals.get(symbol) ?? [];
      // At 2 Hz: at most 2 per second (and the first quote of a quiet symbol at once).
      expect(list.length).toBeLessThanOrEqual(2 * seconds + 2);
      const gaps: number[] = [];
      for (let i = 1; i < list.length; i++) {
        expect(list[i]!.seq).toBeGreaterThan(list[i - 1]!.seq);
        gaps.push(list[i]!.at - list[i - 1]!.at);
      }
      // The clock is exact on the server; a loaded machine delays a tick, and the next one on schedule then
      // follows sooner (docs/PROTOCOL.md): most gaps are near the interval, none near zero.
      expect(gaps.filter((gap) => gap > 500 - 150).length).toBeGreaterThanOrEqual(Math.floor(gaps.length * 0.75));
      expect(Math.min(...gaps)).toBeGreaterThan(60);
    }
  });

  it('sends one frame per interval with every changed symbol of the socket, not one per symbol update', async () => {
    const service = await start();
    const c = await client(service.url);
    const symbols = (await c.timeout(5000).emitWithAck('symbols', {})).ok
      ? ['AAPL', 'MSFT', 'NVDA', 'TSLA', 'AMZN', 'GOOGL', 'META', 'JPM', 'V', 'KO']
      : [];
    const frames: { at: number; size: number }[] = [];
    await subscribe(c, { symbols, maxHz: 4 });
    c.on('ticks', (batch) => frames.push({ at: performance.now(), size: batch.length }));
    await until(() => frames.length >= 14, 10_000, '14 frames');
    // The first frames after subscribing may be prompt ones (a symbol's first quote); count from the third.
    const steady = frames.slice(2);
    const seconds = (steady.at(-1)!.at - steady[0]!.at) / 1000;
    const perSecond = (steady.length - 1) / seconds;
    expect(perSecond).toBeGreaterThan(3);
    expect(perSecond).toBeLessThan(5.5); // 4 Hz; one frame per symbol update would be over 20
    const quotesPerFrame = steady.reduce((sum, f) => sum + f.size, 0) / steady.length;
    expect(quotesPerFrame).toBeGreaterThan(3); // the busy simulator changes most of them every interval
  });

  it('sends a quote that ends a silence at once, then no faster than the rate', async () => {
    const feed = manualFeed(['ACME']);
    const service = await start({}, { feeds: [feed] });
    const c = await client(service.url);
    const arrivals: { at: number; price: number }[] = [];
    c.on('ticks', (batch) => {
      for (const q of batch) arrivals.push({ at: performance.now(), price: q.price });
    });
    await subscribe(c, { symbols: ['ACME'], maxHz: 1 });
    const pushed = performance.now();
    feed.push('ACME', 101);
    await until(() => arrivals.length === 1, 2000, 'the first quote');
    // At 1 Hz the next tick of its lane could be up to a second away; a quiet symbol does not wait for it.
    expect(arrivals[0]!.at - pushed).toBeLessThan(300);
    for (let i = 2; i <= 20; i++) feed.push('ACME', 100 + i);
    await until(() => arrivals.length === 2, 3000, 'the newest after the burst');
    expect(arrivals[1]!.price).toBe(120); // conflated: the newest, once
    expect(arrivals[1]!.at - arrivals[0]!.at).toBeGreaterThan(1000 - 150);
  });

  it("holds a quiet symbol for its lane's tick when prompt delivery is off", async () => {
    const feed = manualFeed(['ACME', 'BUSY']);
    const service = await start({ pipeline: { promptAfterMs: 0 } }, { feeds: [feed] });
    const c = await client(service.url);
    const frames: { at: number; symbols: string[] }[] = [];
    c.on('ticks', (batch) => frames.push({ at: performance.now(), symbols: batch.map((q) => q.symbol) }));
    await subscribe(c, { symbols: ['ACME', 'BUSY'], maxHz: 2 });
    // BUSY marks the lane's ticks; ACME, pushed between two of them, goes out with the next one.
    const busy = setInterval(() => feed.push('BUSY', 100 + Math.random()), 20);
    try {
      await until(() => frames.length >= 2, 3000, 'two lane ticks');
      feed.push('ACME', 50);
      await until(() => frames.some((f) => f.symbols.includes('ACME')), 3000, 'ACME');
    } finally {
      clearInterval(busy);
    }
    const withAcme = frames.find((f) => f.symbols.includes('ACME'))!;
    expect(withAcme.symbols.sort()).toEqual(['ACME', 'BUSY']); // in the lane's frame, not one of its own
  });

  it('always delivers the newest value within one interval when the feed goes quiet', async () => {
    const feed = manualFeed(['ACME']);
    const service = await start({}, { feeds: [feed] });
    const c = await client(service.url);
    const ticks: Quote[] = [];
    c.on('ticks', (batch) => ticks.push(...batch));
    await subscribe(c, { symbols: ['ACME'], maxHz: 4 });
    for (let i = 1; i <= 20; i++) feed.push('ACME', 100 + i);
    await until(() => ticks.at(-1)?.price === 120, 1000, 'the newest price');
    expect(ticks.length).toBeLessThanOrEqual(2);
    expect(ticks.at(-1)!.seq - ticks[0]!.seq).toBeLessThanOrEqual(19); // a jump in seq shows conflation
  });

  it('spreads the sockets of a tier over lanes: different phases, one frame per interval each', async () => {
    const feed = manualFeed(['ACME']);
    const service = await start({ pipeline: { lanes: 2 } }, { feeds: [feed] });
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
      c.on('ticks', () => arrivals.get(lane)?.push(performance.now()));
      await subscribe(c, { symbols: ['ACME'], maxHz: 4 });
    }
    const pushing = setInterval(() => feed.push('ACME', 100 + Math.random()), 10);
    const started = performance.now();
    try {
      await until(() => [...arrivals.values()].every((t) => t.length >= 9), 10_000, '9 frames in each lane');
    } finally {
      clearInterval(pushing);
    }
    const seconds = (performance.now() - started) / 1000;
    const [lane0, lane1] = [arrivals.get(0)!.slice(1), arrivals.get(1)!.slice(1)];
    for (const times of [lane0, lane1]) expect(times.length / seconds).toBeLessThan(5.5);
    // 4 Hz in 2 lanes: lane 1 is half an interval (125 ms) after lane 0; without lanes both share each tick.
    const offsets = lane1.map((t) => Math.min(...lane0.map((u) => Math.abs(t - u)))).sort((a, b) => a - b);
    const median = offsets[Math.floor(offsets.length / 2)] ?? 0;
    expect(median).toBeGreaterThan(60);
    expect(median).toBeLessThan(190);
  });

  // Found on main: an event outside the protocol got no answer; the client waited for its ack timeout.
  it('answers an unknown event BAD_REQUEST, naming the events there are', async () => {
    const service = await start();
    const c = await client(service.url);
    const untyped = c as unknown as {
      timeout(ms: number): { emitWithAck(event: string, p: unknown): Promise<unknown> };
    };
    expect(await untyped.timeout(5000).emitWithAck('subscibe', { symbols: ['AAPL'] })).toEqual({
      ok: false,
      error: {
        code: 'BAD_REQUEST',
        message: 'unknown event subscibe: the events are subscribe, unsubscribe, symbols, replay',
      },
    });
    // The known events are not answered twice.
    const acks: unknown[] = [];
    c.emit('symbols', {}, (ack) => acks.push(ack));
    await until(() => acks.length > 0, 5000, 'the symbols ack');
    expect(await subscribe(c, { symbols: ['AAPL'], maxHz: 4 })).toMatchObject({ ok: true, subscribed: ['AAPL'] });
    expect(acks).toHaveLength(1);
  });

  // Found on main: the socket named a malformed symbol as sent ('bad symbol!'), /api/snapshot and the SDK
  // upper-cased ('BAD SYMBOL!').
  it('rejects unknown and malformed symbols one by one while the others succeed, named alike on socket and HTTP', async () => {
    const service = await start();
    const c = await client(service.url);
    const ack = await subscribe(c, { symbols: ['AAPL', 'nope', 'bad symbol!', 'msft'], maxHz: 4 });
    const rejected = [
      { symbol: 'NOPE', code: 'UNKNOWN_SYMBOL', message: 'unknown symbol NOPE' },
      { symbol: 'BAD SYMBOL!', code: 'BAD_REQUEST', message: 'not a valid symbol' },
    ];
    expect(ack).toMatchObject({ ok: true, subscribed: ['AAPL', 'MSFT'], rejected });
    const query = encodeURIComponent('AAPL,nope,bad symbol!,msft');
    const snapshot = await (await fetch(`${service.url}/api/snapshot?symbols=${query}`)).json();
    expect(snapshot).toMatchObject({ ok: true, rejected });
  });

  // Found by a client written from the protocol: a symbol over 64 characters failed the whole request
  // (zod's length cap) instead of being refused one by one as malformed, as one of 33 is.
  it('rejects an over-long symbol one by one, like any malformed one, and serves the others', async () => {
    const service = await start();
    const c = await client(service.url);
    const long = 'A'.repeat(200);
    expect(await subscribe(c, { symbols: [long, 'AAPL'], maxHz: 4 })).toMatchObject({
      ok: true,
      subscribed: ['AAPL'],
      rejected: [{ symbol: long, code: 'BAD_REQUEST', message: 'not a valid symbol' }],
    });
  });

  // Found by a client written from the protocol: spellings of one symbol ('AAPL', 'aapl', ' AAPL ') each
  // brought its own snapshot quote and its own rejection; /api/snapshot named each symbol once.
  it('reads each symbol once however often and however it is spelled in a request', async () => {
    const service = await start({ limits: { maxSymbolsPerSocket: 1 } });
    await cached(service, ['AAPL']);
    const c = await client(service.url);
    const ack = await subscribe(c, { symbols: ['AAPL', 'aapl', ' AAPL ', 'NOPE', 'nope', 'MSFT', 'msft'] });
    if (!ack.ok) throw new Error(ack.error.message);
    expect(ack.subscribed).toEqual(['AAPL']);
    expect(ack.snapshot.map((q) => q.symbol)).toEqual(['AAPL']);
    expect(ack.rejected).toEqual([
      { symbol: 'NOPE', code: 'UNKNOWN_SYMBOL', message: 'unknown symbol NOPE' },
      { symbol: 'MSFT', code: 'LIMIT_EXCEEDED', message: 'at most 1 symbols per connection' },
    ]);
  });

  it('changes the rate when subscribing again with another maxHz, clamped to the tiers', async () => {
    const service = await start();
    const svc = service;
    const c = await client(svc.url);
    expect(await subscribe(c, { symbols: ['AAPL'], maxHz: 20 })).toMatchObject({ ok: true, hz: 20 });
    expect(await subscribe(c, { symbols: ['AAPL'], maxHz: 3 })).toMatchObject({
      ok: true,
      hz: 2,
      subscribed: ['AAPL'],
    });
    expect(await subscribe(c, { symbols: ['AAPL'], maxHz: 500 })).toMatchObject({ ok: true, hz: 20 });
    expect(await subscribe(c, { symbols: ['AAPL'], maxHz: 0.1 })).toMatchObject({ ok: true, hz: 1 });
    const [socket] = svc.io.of('/').sockets.values();
    expect([...svc.membership.deliveredTiers(socket!)]).toEqual([['AAPL', 1]]);
  });

  it('conflates once per symbol and tier, and encodes one frame for the sockets that watch the same set', async () => {
    const feed = manualFeed(['ACME']);
    const service = await start({ pipeline: { lanes: 1 } }, { feeds: [feed] });
    const svc = service;
    const many = await Promise.all(Array.from({ length: 20 }, () => client(svc.url)));
    const received = many.map(() => [] as number[]);
    for (const [i, c] of many.entries()) c.on('ticks', (batch) => received[i]!.push(...batch.map((q) => q.price)));
    await Promise.all(many.map((c) => subscribe(c, { symbols: ['ACME'], maxHz: 10 })));
    const before = { updates: await counter(svc, 'updatesOut'), encoded: await counter(svc, 'framesEncoded') };
    const written = await counter(svc, 'framesWritten');
    for (let i = 0; i < 5; i++) {
      feed.push('ACME', 10 + i);
      // Each price waits for the one before to reach every client: none is conflated away.
      await until(() => received.every((r) => r.at(-1) === 10 + i), 3000, `price ${10 + i} at every client`);
    }
    expect(received.every((r) => r.join() === '10,11,12,13,14')).toBe(true);
    expect((await counter(svc, 'updatesOut')) - before.updates).toBe(5); // per tick, whatever the number of clients
    expect((await counter(svc, 'framesEncoded')) - before.encoded).toBe(5); // one group: one frame per update
    expect((await counter(svc, 'framesWritten')) - written).toBe(100);
  });

  it('counts an update once per tier, whatever the number of lanes its sockets are spread over', async () => {
    const feed = manualFeed(['ACME']);
    const service = await start({ pipeline: { lanes: 4 } }, { feeds: [feed] });
    const svc = service;
    const many = await Promise.all(Array.from({ length: 12 }, () => client(svc.url)));
    const lanes = new Set(many.map((c) => laneOf(c.id ?? '', 4)));
    expect(lanes.size).toBeGreaterThan(1);
    const received = many.map(() => [] as number[]);
    for (const [i, c] of many.entries()) c.on('ticks', (batch) => received[i]!.push(...batch.map((q) => q.price)));
    await Promise.all(many.map((c) => subscribe(c, { symbols: ['ACME'], maxHz: 10 })));
    const before = await counter(svc, 'updatesOut');
    for (let i = 0; i < 3; i++) {
      feed.push('ACME', 20 + i);
      await until(() => received.every((r) => r.at(-1) === 20 + i), 3000, `price ${20 + i} at every client`);
    }
    // Each lane sends each price to its own sockets; the tier sent 3 updates.
    expect((await counter(svc, 'updatesOut')) - before).toBe(3);
  });

  it('sends field deltas to a client that asks in its handshake, whole first, and they rebuild the very quotes', async () => {
    const feed = manualFeed(['ACME', 'INIT']);
    const service = await start({ pipeline: { lanes: 1 } }, { feeds: [feed] });
    const svc = service;
    const plain = await client(svc.url);
    const delta = await client(svc.url, { auth: { deltas: true } });
    const whole: Quote[] = [];
    const rebuilt: Quote[] = [];
    const stream = new DeltaStream();
    const sizes = { ticks: 0, deltas: 0 };
    plain.on('ticks', (quotes) => {
      whole.push(...quotes);
      sizes.ticks += JSON.stringify(quotes).length;
    });
    delta.on('ticks', () => {
      throw new Error('a deltas client got whole ticks');
    });
    delta.on('deltas', (updates) => {
      rebuilt.push(...stream.apply(updates));
      sizes.deltas += JSON.stringify(updates).length;
    });
    for (const c of [plain, delta]) await subscribe(c, { symbols: ['ACME', 'INIT'], maxHz: 10 });
    for (let i = 0; i < 12; i++) {
      const price = 100 + i;
      feed.input.next({ symbol: i % 2 ? 'INIT' : 'ACME', price, ts: Date.now(), size: 100, bid: price - 0.01 });
      // Each waits for the one before at both clients: nothing is conflated away, both see every quote.
      await until(
        () => whole.some((q) => q.price === price) && rebuilt.some((q) => q.price === price),
        3000,
        `${price}`,
      );
    }
    expect(rebuilt).toEqual(whole);
    expect(sizes.deltas).toBeLessThan(sizes.ticks * 0.8);

    // A client that joins later gets each symbol whole first, then deltas built on what it got.
    const late = await client(svc.url, { auth: { deltas: true } });
    const lateStream = new DeltaStream();
    const lateRebuilt: Quote[] = [];
    late.on('deltas', (updates) => lateRebuilt.push(...lateStream.apply(updates)));
    await subscribe(late, { symbols: ['ACME', 'INIT'], maxHz: 10 });
    for (const [symbol, price] of [
      ['ACME', 200],
      ['INIT', 201],
      ['ACME', 202],
    ] as const) {
      feed.input.next({ symbol, price, ts: Date.now(), size: 100 });
      await until(() => lateRebuilt.some((q) => q.price === price), 3000, `${price} at the late client`);
    }
    expect(lateRebuilt).toEqual(whole.filter((q) => q.price >= 200));
  });

  it('resumes: a snapshot brings only the symbols newer than the positions the client sends', async () => {
    const service = await start();
    await cached(service, ['AAPL', 'MSFT', 'NVDA']);
    const [aapl, msft] = service.cache.snapshot(['AAPL', 'MSFT']);
    const c = await client(service.url);
    const ack = await subscribe(c, {
      symbols: ['AAPL', 'MSFT', 'NVDA'],
      maxHz: 1,
      // AAPL: a position from the future of this epoch (nothing newer); MSFT: one behind; NVDA: none.
      resume: { AAPL: [aapl!.epoch, aapl!.seq + 1_000_000], msft: [msft!.epoch, msft!.seq - 1] },
    });
    if (!ack.ok) throw new Error('not ok');
    expect(ack.subscribed).toEqual(['AAPL', 'MSFT', 'NVDA']);
    expect(ack.snapshot.map((q) => q.symbol).sort()).toEqual(['MSFT', 'NVDA']);
    // An older epoch is behind whatever its seq.
    const again = await subscribe(c, { symbols: ['AAPL'], resume: { AAPL: [aapl!.epoch - 1, 10 ** 9] } });
    expect(again.ok && again.snapshot.map((q) => q.symbol)).toEqual(['AAPL']);
    // Found on main: [epoch, -1] and [epoch, 1.5] were taken as positions.
    for (const at of [
      ['x', 1],
      [aapl!.epoch, -1],
      [aapl!.epoch, 1.5],
    ]) {
      const bad = await subscribe(c, { symbols: ['AAPL'], resume: { AAPL: at } });
      expect(bad, JSON.stringify(at)).toMatchObject({
        ok: false,
        error: { code: 'BAD_REQUEST', message: expect.stringContaining('resume.AAPL') },
      });
    }
    const many = Object.fromEntries(Array.from({ length: 501 }, (_, i) => [`S${i}`, [aapl!.epoch, 1]]));
    expect(await subscribe(c, { symbols: ['AAPL'], resume: many })).toEqual({
      ok: false,
      error: { code: 'LIMIT_EXCEEDED', message: 'at most 500 resume positions per request' },
    });
  });

  it('resumes at the very position a client has: that quote is not sent again, one behind it is', async () => {
    const feed = manualFeed(['AAPL', 'MSFT', 'NVDA']);
    const service = await start({}, { feeds: [feed] });
    for (const symbol of ['AAPL', 'MSFT', 'NVDA']) feed.push(symbol, 100);
    await cached(service, ['AAPL', 'MSFT', 'NVDA']);
    // Nothing ticks after this: the positions below are exactly the last values'.
    const [aapl, msft, nvda] = service.cache.snapshot(['AAPL', 'MSFT', 'NVDA']) as Quote[];
    const c = await client(service.url);
    const ack = await subscribe(c, {
      symbols: ['AAPL', 'MSFT', 'NVDA'],
      resume: { AAPL: [aapl!.epoch, aapl!.seq], MSFT: [msft!.epoch, msft!.seq - 1], NVDA: [nvda!.epoch + 1, 0] },
    });
    if (!ack.ok) throw new Error(JSON.stringify(ack));
    // AAPL: the client has it already; MSFT: one behind, it gets the last; NVDA: a later epoch is ahead.
    expect(ack.snapshot).toEqual([msft]);
  });

  it('numbers quotes in an epoch of the process: a restarted server starts a later one', async () => {
    const first = await start(); // closed here, and again (a no-op) after the test
    await cached(first, ['AAPL']);
    const before = first.cache.snapshot(['AAPL'])[0]!;
    await first.close();
    const service = await start();
    await cached(service, ['AAPL']);
    const after = service.cache.snapshot(['AAPL'])[0]!;
    expect(after.epoch).toBeGreaterThan(before.epoch);
    expect(after.seq).toBeLessThan(before.seq + 1_000_000);
  });
});

describe('bad requests', () => {
  it('answers malformed payloads with error acks and keeps serving others', async () => {
    const service = await start();
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
    const service = await start({ limits: { requestsPerSecond: 5, requestBurst: 5, maxSymbolsPerSocket: 3 } });
    const c = await client(service.url);
    const acks = await Promise.all(
      Array.from({ length: 8 }, () => c.timeout(5000).emitWithAck('symbols', {} as never)),
    );
    expect(acks.filter((a) => a.ok)).toHaveLength(5);
    expect(acks.filter((a) => !a.ok)).toEqual(
      Array(3).fill({ ok: false, error: { code: 'RATE_LIMITED', message: expect.any(String) } }),
    );
    // The bucket refills at 5 a second: ask until it lets a request through.
    let ack: SubscribeAck | undefined;
    await until(
      async () => {
        ack = await subscribe(c, { symbols: ['AAPL', 'MSFT', 'NVDA', 'TSLA'] });
        return ack.ok;
      },
      3000,
      'the request budget to refill',
    );
    expect(ack).toMatchObject({
      ok: true,
      subscribed: ['AAPL', 'MSFT', 'NVDA'],
      rejected: [{ symbol: 'TSLA', code: 'LIMIT_EXCEEDED' }],
    });
  });
  // docs/PROTOCOL.md: what Socket.IO's parser refuses closes that connection, unanswered; nothing else.
  it('closes the connection of a packet Socket.IO refuses (a reserved event name), and only that one', async () => {
    const service = await start();
    const other = await client(service.url);
    const raw = owned(new WebSocket(`${service.url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`));
    const frames: string[] = [];
    await new Promise<void>((connected) =>
      raw.on('message', (data) => {
        const text = String(data);
        frames.push(text);
        if (text.startsWith('0')) raw.send('40');
        else if (text.startsWith('40')) connected();
      }),
    );
    const closed = new Promise<void>((done) => raw.once('close', () => done()));
    raw.send('421["disconnect",{}]');
    await closed;
    expect(frames.some((f) => f.startsWith('431'))).toBe(false);
    expect(await subscribe(other, { symbols: ['AAPL'] })).toMatchObject({ ok: true, subscribed: ['AAPL'] });
  });

  // Found by a client written from the protocol: unsubscribe was held to maxSymbolsPerSocket, and its
  // LIMIT_EXCEEDED message called that number the limit per request.
  it('holds unsubscribe to maxSymbolsPerRequest, as subscribe', async () => {
    const service = await start({ limits: { maxSymbolsPerRequest: 2, maxSymbolsPerSocket: 10 } });
    const c = await client(service.url);
    expect(await c.timeout(5000).emitWithAck('unsubscribe', { symbols: ['AAPL', 'MSFT', 'NVDA'] })).toEqual({
      ok: false,
      error: { code: 'LIMIT_EXCEEDED', message: 'at most 2 symbols per request, got 3' },
    });
    expect(await c.timeout(5000).emitWithAck('unsubscribe', { symbols: ['AAPL', 'MSFT'] })).toEqual({
      ok: true,
      subscribed: [],
    });
  });
});

describe('order of requests', () => {
  // Found by a client written from the protocol: a subscribe and an unsubscribe of the same symbol read
  // together (one TCP read) were applied the other way round (subscribe waits a turn for the symbol
  // directory): the unsubscribe's ack came first with [], and the socket stayed subscribed.
  /** A Socket.IO client at the wire level, which sends frames in one write (the server reads them in one go). */
  async function rawClient(url: string) {
    const raw = owned(new WebSocket(`${url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`));
    const acks: [id: number, ack: unknown][] = [];
    await new Promise<void>((connected) =>
      raw.on('message', (data) => {
        const text = String(data);
        if (text.startsWith('0')) raw.send('40');
        else if (text.startsWith('40')) connected();
        else if (text === '2') raw.send('3');
        const ack = /^43(\d+)(\[.*)$/s.exec(text);
        if (ack) acks.push([Number(ack[1]), (JSON.parse(ack[2] as string) as unknown[])[0]]);
      }),
    );
    const tcp = (raw as unknown as { _socket: NetSocket })._socket;
    const sendTogether = (frames: string[]) => {
      tcp.cork();
      for (const frame of frames) raw.send(frame);
      tcp.uncork();
    };
    return { acks, sendTogether };
  }

  it("applies one socket's requests in the order sent, each ack giving the set after it", async () => {
    const service = await start();
    const { acks, sendTogether } = await rawClient(service.url);
    sendTogether(['421["subscribe",{"symbols":["NVDA"]}]', '422["unsubscribe",{"symbols":["NVDA"]}]']);
    await until(() => acks.length === 2, 5000, 'both acks');
    expect(acks.map(([id]) => id)).toEqual([1, 2]);
    expect(acks[0]?.[1]).toMatchObject({ ok: true, subscribed: ['NVDA'] });
    expect(acks[1]?.[1]).toEqual({ ok: true, subscribed: [] });
    const [socket] = service.io.of('/').sockets.values();
    expect([...service.membership.subscriptions(socket!).keys()]).toEqual([]);
  });

  // Found on main: an event outside the protocol was answered, and took from the budget, as it arrived, ahead
  // of the requests sent before it (theirs run a tick later), so the first request was the one refused.
  it('takes from the budget, and answers, an unknown event in its turn too', async () => {
    const service = await start({ limits: { requestBurst: 2, requestsPerSecond: 0.001 } });
    const { acks, sendTogether } = await rawClient(service.url);
    sendTogether([
      '421["subscribe",{"symbols":["NVDA"]}]',
      '422["unsubscribe",{"symbols":["NVDA"]}]',
      '423["nope",{}]',
    ]);
    await until(() => acks.length === 3, 5000, 'three acks');
    expect(acks.map(([id]) => id)).toEqual([1, 2, 3]);
    expect(acks.map(([, ack]) => (ack as { ok: boolean }).ok)).toEqual([true, true, false]);
    expect(acks[2]?.[1]).toMatchObject({ error: { code: 'RATE_LIMITED' } });
  });
});

describe('unsubscribe, symbols and status', () => {
  it('stops delivery after unsubscribe and reports the remaining set', async () => {
    const service = await start();
    const c = await client(service.url);
    await subscribe(c, { symbols: ['AAPL', 'MSFT'], maxHz: 10 });
    const ack = await c.timeout(5000).emitWithAck('unsubscribe', { symbols: ['AAPL', 'NOTSUBSCRIBED'] });
    expect(ack).toEqual({ ok: true, subscribed: ['MSFT'] });
    // Frames written before the unsubscribe arrive before its ack (one ordered connection): none after it.
    const after: string[] = [];
    c.on('ticks', (batch) => after.push(...batch.map((q) => q.symbol)));
    await until(() => after.filter((s) => s === 'MSFT').length >= 10, 5000, '10 MSFT updates');
    expect(after).not.toContain('AAPL');
    const [socket] = service.io.of('/').sockets.values();
    expect([...service.membership.deliveredTiers(socket!)]).toEqual([['MSFT', 10]]);
  });

  it('lists symbols with names and exchanges', async () => {
    const service = await start();
    const c = await client(service.url);
    const ack = await c.timeout(5000).emitWithAck('symbols', {});
    if (!ack.ok) throw new Error('not ok');
    expect(ack.symbols.length).toBeGreaterThanOrEqual(50);
    expect(ack.symbols).toContainEqual({ symbol: 'AAPL', name: 'Apple Inc.', exchange: 'NASDAQ', currency: 'USD' });
  });

  it('sends status on connect with feed states and the market session', async () => {
    const service = await start();
    // Listen before connecting: the server sends status as soon as the socket is accepted.
    const socket: TestClient = ioClient(service.url, { transports: ['websocket'], reconnection: false });
    owned(socket);
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
      const service = await start();
      const socket: TestClient = ioClient(service.url, {
        transports: [...transports],
        reconnection: false,
        extraHeaders: { 'x-trace': 'idle-memory' },
        query: { probe: '1' },
      });
      owned(socket);
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
      await until(() => local.conn.transport.name === 'websocket', 2000, 'the server-side upgrade');
      // and the connection still works: requests are answered
      const ack = await socket.timeout(5000).emitWithAck('symbols', {});
      expect(ack.ok).toBe(true);
    },
  );

  it('sends a new status when a feed goes stale', async () => {
    const feed = manualFeed(['ACME']);
    const service = await start({ staleAfterMs: 300 }, { feeds: [feed] });
    const c = await client(service.url);
    const states: string[] = [];
    c.on('status', (s) => states.push(s.feeds[0]!.state));
    const pushing = setInterval(() => feed.push('ACME', 1 + Math.random()), 50);
    try {
      await until(() => states.at(-1) === 'live', 3000, 'a live status');
    } finally {
      clearInterval(pushing);
    }
    await until(() => states.at(-1) === 'stale', 3000, 'a stale status once the feed is silent');
    feed.input.error(new Error('upstream gone'));
    await until(() => states.at(-1) === 'down', 3000, 'a down status once the feed failed');
    expect(states.slice(-3)).toEqual(['live', 'stale', 'down']);
  });
});

describe('HTTP', () => {
  it('serves health, readiness, symbols and snapshots', async () => {
    const service = await start();
    await cached(service, ['AAPL', 'MSFT']);
    const get = async (path: string) => {
      const res = await fetch(`${service.url}${path}`);
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
    const service = await start({ staleAfterMs: 200 }, { feeds: [feed] });
    expect((await fetch(`${service.url}/readyz`)).status).toBe(503);
    feed.push('ACME', 1);
    expect((await fetch(`${service.url}/readyz`)).status).toBe(200);
    const url = `${service.url}/readyz`;
    await until(async () => (await fetch(url)).status === 503, 3000, 'not ready once the feed is stale');
    expect(await (await fetch(url)).json()).toMatchObject({
      ok: false,
      reason: 'no feed is live',
      feeds: [{ id: 'manual', state: 'stale' }],
    });
  });
});
