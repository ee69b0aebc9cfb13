import {
  BehaviorSubject,
  filter,
  firstValueFrom,
  type Observable,
  Subject,
  type Subscription,
  switchMap,
  take,
  timeout,
  toArray,
} from 'rxjs';
import msgpackParser from 'socket.io-msgpack-parser';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, type Quote, type TickstreamClient, TickstreamError } from '../../packages/client/src/index.js';
import type { TickstreamSocket } from '../../src/delivery/types.js';
import type { RawQuote, Status } from '../../src/protocol.js';
import type { Tickstream } from '../../src/roles/serve.js';
import { freePort, observeFor, quietFor, until } from '../helpers/lifecycle.js';
import { manualFeed } from '../helpers/manualFeed.js';
import { startTestService } from '../helpers/service.js';

let services: Tickstream[] = [];
let clients: TickstreamClient[] = [];
let subscriptions: Subscription[] = [];

afterEach(async () => {
  for (const s of subscriptions) s.unsubscribe();
  for (const c of clients) c.close();
  await Promise.all(services.map((s) => s.close()));
  services = [];
  clients = [];
  subscriptions = [];
});

async function service(
  overrides: Parameters<typeof startTestService>[0] = {},
  options: Parameters<typeof startTestService>[1] = {},
): Promise<Tickstream> {
  const started = await startTestService(overrides, options);
  services.push(started);
  return started;
}

function client(url: string): TickstreamClient {
  const c = connect(url, { transports: ['websocket'], reconnectionDelayMs: 100, reconnectionDelayMaxMs: 500 });
  clients.push(c);
  return c;
}

function first<T>(source$: Observable<T>, n: number, ms = 10_000): Promise<T[]> {
  return firstValueFrom(source$.pipe(take(n), toArray(), timeout(ms)));
}

/** Every quote of `source$` into an array, until the test ends. */
function record(source$: Observable<Quote>): Quote[] {
  const seen: Quote[] = [];
  subscriptions.push(source$.subscribe({ next: (q) => seen.push(q), error: () => {} }));
  return seen;
}

const serverSockets = (svc: Tickstream): TickstreamSocket[] => [...svc.io.of('/').sockets.values()];
const subscriptionsOf = (svc: Tickstream, socket: TickstreamSocket | undefined): ReadonlyMap<string, number> =>
  socket ? svc.membership.subscriptions(socket) : new Map();

/** Counts the subscribe and unsubscribe requests the real server receives, per event name. */
function countRequests(svc: Tickstream): Map<string, number> {
  const counts = new Map<string, number>();
  svc.io.on('connection', (socket) => socket.onAny((event: string) => counts.set(event, (counts.get(event) ?? 0) + 1)));
  return counts;
}

function increasingPerSymbol(quotes: Quote[]): boolean {
  const last = new Map<string, number>();
  for (const q of quotes) {
    if ((last.get(q.symbol) ?? 0) >= q.seq) return false;
    last.set(q.symbol, q.seq);
  }
  return true;
}

describe('client SDK against a real server', () => {
  it('emits the snapshot of every symbol first, then updates with increasing seq', async () => {
    const svc = await service();
    await until(() => svc.cache.get('AAPL') !== undefined && svc.cache.get('MSFT') !== undefined);
    const quotes = await first(client(svc.url).watch(['aapl', 'MSFT']), 12);
    expect(new Set(quotes.slice(0, 2).map((q) => q.symbol))).toEqual(new Set(['AAPL', 'MSFT']));
    expect(increasingPerSymbol(quotes)).toBe(true);
    for (const q of quotes) {
      expect(q.price).toBeGreaterThan(0);
      expect(Number.isFinite(q.ts)).toBe(true);
    }
  });

  it('delivers exactly the server snapshot first, then each new tick once', async () => {
    // A feed the test drives by hand, so nothing but the snapshot can arrive until the test sends a tick.
    const upstream = new Subject<RawQuote>();
    const symbols = [{ symbol: 'AAPL' }, { symbol: 'MSFT' }];
    const svc = await service({}, { feeds: [{ id: 'manual', quotes$: upstream, symbols }] });
    upstream.next({ symbol: 'AAPL', price: 100, ts: Date.now() });
    upstream.next({ symbol: 'MSFT', price: 200, ts: Date.now() });
    await until(() => svc.cache.get('MSFT') !== undefined);

    const ts = client(svc.url);
    const seen = record(ts.watch(['AAPL', 'MSFT']));
    await until(() => seen.length >= 2, 10_000, 'the snapshot');
    const snapshot = svc.cache.snapshot(['AAPL', 'MSFT']);
    expect(seen).toEqual(snapshot);

    // Each tick is the sync point for what came before it: a repeated snapshot quote would arrive before the
    // first tick, a repeated tick before the next one.
    upstream.next({ symbol: 'AAPL', price: 101, ts: Date.now() });
    await until(() => seen.some((q) => q.price === 101), 10_000, 'the first tick');
    const aapl = svc.cache.get('AAPL');
    upstream.next({ symbol: 'MSFT', price: 201, ts: Date.now() });
    await until(() => seen.some((q) => q.price === 201), 10_000, 'the second tick');
    expect(seen).toEqual([...snapshot, aapl, svc.cache.get('MSFT')]);
    expect(seen[2]?.seq).toBe((seen[0]?.seq ?? 0) + 1);

    // A watch that ends and one that starts at once (the symbol released and taken again): still a snapshot.
    subscriptions.pop()?.unsubscribe();
    const again = await first(ts.watch(['MSFT']), 1, 3000);
    expect(again).toEqual([svc.cache.get('MSFT')]);
    const third = await first(ts.watch(['MSFT']), 1, 3000);
    expect(third).toEqual([svc.cache.get('MSFT')]);
  });

  it('after the server drops the connection, resubscribes by itself without a duplicate of the snapshot', async () => {
    const upstream = new Subject<RawQuote>();
    const svc = await service({}, { feeds: [{ id: 'manual', quotes$: upstream, symbols: [{ symbol: 'AAPL' }] }] });
    upstream.next({ symbol: 'AAPL', price: 100, ts: Date.now() });
    await until(() => svc.cache.get('AAPL') !== undefined);
    const ts = client(svc.url);
    const states: string[] = [];
    subscriptions.push(ts.connection$.subscribe((s) => states.push(s)));
    const seen = record(ts.watch(['AAPL']));
    await until(() => seen.length === 1);
    const first = serverSockets(svc)[0];

    first?.disconnect(true);
    await until(() => serverSockets(svc).some((s) => s !== first && svc.membership.subscriptions(s).has('AAPL')));
    // The fresh snapshot is the quote already delivered: it must not reach the watcher again. The ack that
    // brings it is not visible outside the SDK, so watch a window well past a loopback round trip.
    await quietFor(300, 'a repeat of the delivered quote', () => seen.length > 1);
    expect(seen).toHaveLength(1);
    expect(states).toEqual(['connecting', 'connected', 'disconnected', 'connected']);

    upstream.next({ symbol: 'AAPL', price: 100.5, ts: Date.now() });
    await until(() => seen.length === 2);
    expect(seen[1]).toMatchObject({ price: 100.5, seq: (seen[0]?.seq ?? 0) + 1 });
  });

  it('resumes by itself after a reconnect: it sends the position it has, and the ack leaves out what did not change', async () => {
    const upstream = new Subject<RawQuote>();
    const symbols = [{ symbol: 'AAPL' }, { symbol: 'MSFT' }];
    const svc = await service({}, { feeds: [{ id: 'manual', quotes$: upstream, symbols }] });
    upstream.next({ symbol: 'AAPL', price: 100, ts: Date.now() });
    upstream.next({ symbol: 'MSFT', price: 200, ts: Date.now() });
    await until(() => svc.cache.symbols().length === 2);
    const requests: { payload: unknown }[] = [];
    svc.io.on('connection', (socket) =>
      socket.onAny((event: string, payload: unknown) => {
        if (event === 'subscribe') requests.push({ payload });
      }),
    );
    const ts = client(svc.url);
    const seen = record(ts.watch(['AAPL', 'MSFT']));
    await until(() => seen.length === 2);
    expect(requests.at(-1)?.payload).not.toHaveProperty('resume'); // a first subscribe has nothing to resume

    const first = serverSockets(svc)[0];
    first?.disconnect(true);
    upstream.next({ symbol: 'MSFT', price: 201, ts: Date.now() }); // changes while the client is away
    await until(() => requests.length === 2);
    const aapl = seen.find((q) => q.symbol === 'AAPL')!;
    const msft = seen.find((q) => q.symbol === 'MSFT')!;
    expect(requests[1]?.payload).toMatchObject({
      resume: { AAPL: [aapl.epoch, aapl.seq], MSFT: [msft.epoch, msft.seq] },
    });
    // MSFT changed while away: it arrives once (from the snapshot); AAPL did not: nothing is repeated.
    await until(() => seen.length === 3);
    expect(seen[2]).toMatchObject({ symbol: 'MSFT', price: 201 });
    upstream.next({ symbol: 'AAPL', price: 101, ts: Date.now() });
    await until(() => seen.length === 4);
    expect(seen.map((q) => `${q.symbol}:${q.price}`)).toEqual(['AAPL:100', 'MSFT:200', 'MSFT:201', 'AAPL:101']);
  });

  it('fails its watches with UNAUTHORIZED when the server refuses the token, and works with a good one', async () => {
    const token = 'a-test-token-of-some-length';
    const svc = await service({ auth: { tokens: [{ token }] } });
    const refused = connect(svc.url, { transports: ['websocket'], token: 'wrong-token-wrong-token' });
    clients.push(refused);
    const error = await firstValueFrom(refused.watch(['AAPL'])).catch((e: unknown) => e);
    expect((error as TickstreamError).code).toBe('UNAUTHORIZED');
    expect(await firstValueFrom(refused.connection$)).toBe('disconnected');

    const allowed = connect(svc.url, { transports: ['websocket'], token });
    clients.push(allowed);
    const quotes = await first(allowed.watch(['AAPL']), 2);
    expect(quotes.map((q) => q.symbol)).toEqual(['AAPL', 'AAPL']);
  });

  it('shares one server subscription between watchers and unsubscribes when the last one goes', async () => {
    const svc = await service();
    const requests = countRequests(svc);
    const ts = client(svc.url);
    const a = record(ts.watch(['AAPL']));
    const b = record(ts.watch(['AAPL']));
    await until(() => a.length >= 3 && b.length >= 3);
    // A late third watcher gets the current quote at once, from the shared subscription.
    const late = await first(ts.watch(['AAPL']), 1, 2000);
    expect(late[0]?.symbol).toBe('AAPL');

    expect(requests.get('subscribe')).toBe(1);
    const [socket] = serverSockets(svc);
    expect([...subscriptionsOf(svc, socket).keys()]).toEqual(['AAPL']);
    expect(b.map((q) => q.seq)).toEqual(a.slice(a.length - b.length).map((q) => q.seq));

    subscriptions[0]?.unsubscribe();
    // Sync point: a later request on the same socket. An unsubscribe for the first watcher's end would go out
    // before it (same flush, unsubscribes first, or an earlier one) and be counted by the time it is.
    const probe = record(ts.watch(['MSFT']));
    await until(() => requests.get('subscribe') === 2 && probe.length > 0, 10_000, 'the probe watch');
    expect([...subscriptionsOf(svc, socket).keys()].sort()).toEqual(['AAPL', 'MSFT']);
    expect(requests.get('unsubscribe')).toBeUndefined();

    subscriptions.pop()?.unsubscribe();
    subscriptions[1]?.unsubscribe();
    await until(() => subscriptionsOf(svc, socket).size === 0);
    expect(requests.get('unsubscribe')).toBe(1);
    expect(svc.membership.size).toBe(0);
  });

  it('keeps the server subscription when a watch is replaced in the same tick (switchMap over a watchlist)', async () => {
    const upstream = new Subject<RawQuote>();
    const symbols = [{ symbol: 'AAPL' }, { symbol: 'MSFT' }, { symbol: 'NVDA' }];
    const svc = await service({}, { feeds: [{ id: 'manual', quotes$: upstream, symbols }] });
    for (const [symbol, price] of [
      ['AAPL', 100],
      ['MSFT', 200],
      ['NVDA', 300],
    ] as const) {
      upstream.next({ symbol, price, ts: Date.now() });
    }
    await until(() => svc.cache.symbols().length === 3);
    const requests = countRequests(svc);
    const ts = client(svc.url);
    const watchlist = new BehaviorSubject(['AAPL', 'MSFT']);
    const seen = record(watchlist.pipe(switchMap((list) => ts.watch(list))));
    await until(() => seen.length === 2);

    watchlist.next(['AAPL', 'MSFT', 'NVDA']);
    await until(() => seen.length === 5);
    // The new watch's snapshot, together: AAPL and MSFT from the shared subscription, NVDA from the server's answer.
    expect(seen.slice(2).map((q) => q.symbol)).toEqual(['AAPL', 'MSFT', 'NVDA']);
    expect(seen.slice(2)).toEqual(svc.cache.snapshot(['AAPL', 'MSFT', 'NVDA']));
    // NVDA's snapshot is the server's answer to this switch's requests, which went out in one flush: every
    // request of it (a wrong unsubscribe or resubscribe of AAPL, MSFT included) was counted before the answer.
    expect(requests.get('subscribe')).toBe(2);
    expect(requests.get('unsubscribe')).toBeUndefined();

    watchlist.next(['NVDA']);
    await until(() => subscriptionsOf(svc, serverSockets(svc)[0]).size === 1);
    expect([...subscriptionsOf(svc, serverSockets(svc)[0]).keys()]).toEqual(['NVDA']);
    expect(requests.get('unsubscribe')).toBe(1);
  });

  it('batches a watch of 250 symbols into requests of at most 100, snapshots first', async () => {
    const svc = await service({
      feeds: [{ type: 'simulated', id: 'sim', seed: 7, ticksPerSecond: 2000, offHoursFactor: 1, symbols: 250 }],
    });
    const requests = countRequests(svc);
    const ts = client(svc.url);
    const all = (await ts.symbols()).map((s) => s.symbol);
    expect(all).toHaveLength(250);
    await until(() => svc.cache.symbols().length === 250);
    const quotes = await first(ts.watch(all, { maxHz: 2 }), 300);
    expect(new Set(quotes.slice(0, 250).map((q) => q.symbol)).size).toBe(250);
    expect(requests.get('subscribe')).toBe(3);
    expect(subscriptionsOf(svc, serverSockets(svc)[0]).size).toBe(250);
  });

  it('subscribes at the fastest watcher rate and conflates down for the slower one', async () => {
    const svc = await service();
    const ts = client(svc.url);
    const slow = record(ts.watch(['AAPL'], { maxHz: 1 }));
    const fast = record(ts.watch(['AAPL'], { maxHz: 10 }));
    await until(() => subscriptionsOf(svc, serverSockets(svc)[0]).get('AAPL') === 10);
    const start = Date.now();
    const slowBefore = slow.length;
    await observeFor(3000, "the slow watcher's rate");
    const seconds = (Date.now() - start) / 1000;
    // Generous bounds for a loaded machine: the slow watcher gets at most about 1 per second.
    expect(slow.length - slowBefore).toBeLessThanOrEqual(Math.ceil(seconds) + 2);
    expect(slow.length - slowBefore).toBeGreaterThanOrEqual(1);
    expect(fast.length).toBeGreaterThan(slow.length * 2);
    expect(increasingPerSymbol(slow)).toBe(true);
  });

  it('keeps a watch slower than the lowest tier to its own rate (the server sends maxHz 0.5 at 1 Hz)', async () => {
    const svc = await service();
    const arrivals: number[] = [];
    subscriptions.push(
      client(svc.url)
        .watch(['AAPL'], { maxHz: 0.5 })
        .subscribe(() => arrivals.push(Date.now())),
    );
    // The test simulator ticks AAPL dozens of times a second, so each server interval (1 s) carries a quote.
    await until(
      () => arrivals.length >= 4,
      15_000,
      () => `4 quotes at 0.5 Hz, got ${arrivals.length}`,
    );
    const gaps = arrivals.slice(1).map((at, i) => at - (arrivals[i] ?? at));
    // At 0.5 Hz consecutive quotes are at least 2 s apart (the client's own timer; a little slack for its clock).
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(1900);
  });

  it('resubscribes after the server restarts on the same port, with a fresh snapshot', async () => {
    const first$ = await service();
    const port = first$.port;
    const ts = client(first$.url);
    const states: string[] = [];
    subscriptions.push(ts.connection$.subscribe((s) => states.push(s)));
    const seen = record(ts.watch(['AAPL', 'MSFT']));
    await until(() => seen.length >= 10);

    await first$.close();
    services = services.filter((s) => s !== first$);
    await until(() => states.at(-1) !== 'connected');
    const before = seen.length;
    const lastTs = Math.max(...seen.map((q) => q.ts));

    const second = await service({ server: { host: '127.0.0.1', port, dashboard: false } });
    await until(() => states.at(-1) === 'connected', 15_000);
    await until(() => seen.length >= before + 10, 15_000);

    const after = seen.slice(before);
    expect(new Set(after.map((q) => q.symbol))).toEqual(new Set(['AAPL', 'MSFT']));
    // The new server counts seq from 1 again: after the restart each symbol's seq still only increases.
    expect(increasingPerSymbol(after)).toBe(true);
    for (const q of after) expect(q.ts).toBeGreaterThan(lastTs);
    const [socket] = serverSockets(second);
    expect(new Set(subscriptionsOf(second, socket).keys())).toEqual(new Set(['AAPL', 'MSFT']));
    expect(states).toContain('disconnected');
  });

  it('errors a watch whose every symbol the server refuses after a reconnect, and lets one with others go on', async () => {
    const first$ = await service();
    const ts = client(first$.url);
    const aaplOnly: Quote[] = [];
    let aaplOnlyEnd: unknown;
    subscriptions.push(
      ts.watch(['AAPL']).subscribe({
        next: (q) => aaplOnly.push(q),
        error: (err: unknown) => (aaplOnlyEnd = err),
        complete: () => (aaplOnlyEnd = 'completed'),
      }),
    );
    const both = record(ts.watch(['AAPL', 'MSFT']));
    const rejected: string[] = [];
    subscriptions.push(ts.rejected$.subscribe((r) => rejected.push(`${r.symbol} ${r.code}`)));
    await until(() => aaplOnly.length >= 1 && both.some((q) => q.symbol === 'MSFT'), 10_000, 'quotes of both watches');

    // The server comes back on the same port with another feed: it has MSFT, no longer AAPL.
    const port = first$.port;
    await first$.close();
    services = services.filter((s) => s !== first$);
    const msftOnly = manualFeed(['MSFT']);
    await service({ server: { host: '127.0.0.1', port, dashboard: false } }, { feeds: [msftOnly] });

    await until(() => aaplOnlyEnd !== undefined, 15_000, 'the AAPL-only watch to end');
    expect(aaplOnlyEnd).toBeInstanceOf(TickstreamError);
    expect(aaplOnlyEnd).toMatchObject({ code: 'UNKNOWN_SYMBOL', message: expect.stringContaining('AAPL') });
    expect(rejected).toContain('AAPL UNKNOWN_SYMBOL');
    // The watch that still has a symbol goes on with it.
    msftOnly.push('MSFT', 123.45);
    await until(() => both.some((q) => q.price === 123.45), 10_000, 'the new server’s MSFT quote');
  });

  it('speaks msgpack when given the parser, to a server configured for it', async () => {
    const svc = await service({ server: { host: '127.0.0.1', port: 0, dashboard: false, parser: 'msgpack' } });
    // Both symbols must have ticked once, or the snapshot holds only those that have.
    await until(() => svc.cache.get('AAPL') !== undefined && svc.cache.get('MSFT') !== undefined);
    const ts = connect(svc.url, { transports: ['websocket'], parser: msgpackParser });
    clients.push(ts);
    const quotes = await first(ts.watch(['AAPL', 'MSFT'], { maxHz: 10 }), 10);
    expect(new Set(quotes.slice(0, 2).map((q) => q.symbol))).toEqual(new Set(['AAPL', 'MSFT']));
    expect(increasingPerSymbol(quotes)).toBe(true);
  });

  it('errors a watch whose every symbol is unknown with UNKNOWN_SYMBOL', async () => {
    const svc = await service();
    const error = await firstValueFrom(client(svc.url).watch(['NOPE', 'ZZZZ'])).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TickstreamError);
    expect((error as TickstreamError).code).toBe('UNKNOWN_SYMBOL');
    expect((error as TickstreamError).message).toContain('NOPE');
  });

  it('reports rejected symbols on rejected$ and still watches the others', async () => {
    const svc = await service();
    const ts = client(svc.url);
    const rejected = firstValueFrom(ts.rejected$.pipe(timeout(5000)));
    const quotes = await first(ts.watch(['AAPL', 'NOPE']), 3);
    expect(quotes.every((q) => q.symbol === 'AAPL')).toBe(true);
    expect(await rejected).toEqual({ symbol: 'NOPE', code: 'UNKNOWN_SYMBOL', message: 'unknown symbol NOPE' });
  });

  it('turns a request-level refusal into a TickstreamError with its code', async () => {
    const svc = await service({ limits: { maxSymbolsPerRequest: 1 } });
    const error = await firstValueFrom(client(svc.url).watch(['AAPL', 'MSFT'])).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TickstreamError);
    expect((error as TickstreamError).code).toBe('LIMIT_EXCEEDED');
  });

  it('refuses a bad maxHz and an empty symbol list without asking the server', async () => {
    const svc = await service();
    const ts = client(svc.url);
    for (const watch$ of [ts.watch([], {}), ts.watch(['AAPL'], { maxHz: -1 })]) {
      const error = await firstValueFrom(watch$).catch((e: unknown) => e);
      expect((error as TickstreamError).code).toBe('BAD_REQUEST');
    }
  });

  it('refuses what a JavaScript caller may pass by mistake with a BAD_REQUEST naming the option', async () => {
    const ts = client(`http://127.0.0.1:${await freePort()}`);
    // @ts-expect-error a JavaScript caller passing one symbol as a string
    const oneString = await firstValueFrom(ts.watch('AAPL')).catch((e: unknown) => e);
    expect(oneString).toBeInstanceOf(TickstreamError);
    expect(oneString).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringMatching(/^symbols .*"AAPL"/) });
    // @ts-expect-error a JavaScript caller passing the rate as a string
    const textRate = await firstValueFrom(ts.watch(['AAPL'], { maxHz: '4' })).catch((e: unknown) => e);
    expect(textRate).toBeInstanceOf(TickstreamError);
    expect(textRate).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringMatching(/^maxHz .*"4"/) });
  });

  it('lists symbols, replays the latest status and reports the replay refusal', async () => {
    const svc = await service();
    const ts = client(svc.url);
    const symbols = await ts.symbols();
    expect(symbols.map((s) => s.symbol)).toContain('AAPL');
    const status = await firstValueFrom(ts.status$.pipe(timeout(5000)));
    expect(status.feeds.map((f) => f.id)).toEqual(['sim']);
    const again = await firstValueFrom(ts.status$.pipe(filter(Boolean), timeout(1000)));
    expect(again).toEqual(status);
    const error = await ts.replay({ action: 'pause' }).catch((e: unknown) => e);
    expect((error as TickstreamError).code).toBe('BAD_REQUEST');
  });

  it('keeps status$.throttled from the status that throttles the connection to the one that restores it', async () => {
    const svc = await service();
    const ts = client(svc.url);
    const statuses: Status[] = [];
    subscriptions.push(ts.status$.subscribe((s) => statuses.push(s)));
    await until(() => statuses.length === 1, 5000, 'the first status');
    const base = statuses[0] as Status;
    const serverSide = serverSockets(svc)[0];
    // What the slow-consumer monitor sends this socket, then a status change broadcast to every socket, which
    // leaves `throttled` out (docs/PROTOCOL.md: a status without it changes nothing).
    serverSide?.emit('status', { ...base, throttled: true });
    svc.io.local.emit('status', base);
    await until(() => statuses.length === 3, 5000, 'the two statuses');
    expect(statuses.slice(1).map((s) => s.throttled)).toEqual([true, true]);
    serverSide?.emit('status', { ...base, throttled: false });
    svc.io.local.emit('status', base);
    await until(() => statuses.length === 5, 5000, 'the restore and a broadcast');
    expect(statuses.slice(3).map((s) => s.throttled)).toEqual([false, undefined]);

    // A new connection starts unthrottled, whatever the last one was.
    serverSockets(svc)[0]?.emit('status', { ...base, throttled: true });
    await until(() => statuses.length === 6, 5000, 'the throttle');
    serverSockets(svc)[0]?.disconnect(true);
    await until(() => serverSockets(svc).length === 1 && serverSockets(svc)[0] !== serverSide, 5000, 'a reconnect');
    await until(() => statuses.length === 7, 5000, "the new connection's status");
    expect(statuses[6]?.throttled).toBeUndefined();
  });

  it('reports each failed attempt to connect, and why, while it keeps trying', async () => {
    const ts = client(`http://127.0.0.1:${await freePort()}`);
    const failures = await first(ts.connectFailures$, 3);
    expect(failures).toEqual(
      [1, 2, 3].map((attempt) => ({ reason: 'refused', message: 'connection refused', attempt })),
    );
    expect(await firstValueFrom(ts.connection$)).toBe('connecting');
  });

  it('names the HTTP status of a refused handshake, and a connection cut during it', async () => {
    const svc = await service();
    const polling = connect(svc.url, { transports: ['polling'], path: '/nope' });
    clients.push(polling);
    expect(await firstValueFrom(polling.connectFailures$)).toEqual({
      reason: 'http',
      status: 404,
      message: 'HTTP 404 (nothing at this URL and path)',
      attempt: 1,
    });
    const websocket = connect(svc.url, { transports: ['websocket'], path: '/nope' });
    clients.push(websocket);
    expect(await firstValueFrom(websocket.connectFailures$)).toMatchObject({ reason: 'reset', attempt: 1 });
  });

  it('says that a URL with a path names a namespace the server does not have', async () => {
    const svc = await service({});
    const ts = connect(`${svc.url}/nothere`, { transports: ['websocket'] });
    clients.push(ts);
    const error: unknown = await firstValueFrom(ts.watch(['AAPL'])).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'BAD_REQUEST',
      message:
        'the server has no namespace /nothere: give its URL without a path (behind a proxy at a path, set the `path`' +
        ' option, e.g. "/nothere/socket.io")',
    });
  });

  it('says why the server refused the token', async () => {
    const svc = await service({ auth: { tokens: [{ token: 'a-test-token-of-some-length' }] } });
    const refused = connect(svc.url, { transports: ['websocket'], token: 'wrong-token-wrong-token' });
    clients.push(refused);
    const error: unknown = await firstValueFrom(refused.watch(['AAPL'])).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TickstreamError);
    expect(error).toMatchObject({
      code: 'UNAUTHORIZED',
      message: 'the server refused the connection: unauthorized (unknown token)',
    });
    // A request made after the refusal fails with the same error at once.
    await expect(refused.symbols()).rejects.toBe(error);
  });

  it('settles a request waiting for the first connection at once when closed (no timer left running)', async () => {
    const ts = connect(`http://127.0.0.1:${await freePort()}`, { ackTimeoutMs: 60_000 });
    clients.push(ts);
    const pending = ts.symbols();
    const started = Date.now();
    ts.close();
    await expect(pending).rejects.toMatchObject({ code: 'INTERNAL', message: 'symbols: the client is closed' });
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('completes its watches when closed', async () => {
    const svc = await service();
    const ts = client(svc.url);
    const done = firstValueFrom(ts.watch(['AAPL']).pipe(toArray(), timeout(5000)));
    await firstValueFrom(ts.watch(['AAPL']).pipe(timeout(5000)));
    ts.close();
    expect((await done).length).toBeGreaterThanOrEqual(1);
  });
});
