import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { lastValueFrom, take, toArray } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { type SseConnectionEvent, SseError, sseFeed } from '../../src/feeds/sse.js';
import type { Tickstream } from '../../src/roles/serve.js';
import { type SseDemoUpstream, startSseUpstream } from '../../src/upstream/sseUpstream.js';
import { ownedPerTest, quietFor, until } from '../helpers/lifecycle.js';
import { startTestService } from '../helpers/service.js';
import { virtualClock } from '../helpers/virtualClock.js';

type Scripted = { url: string; requests: IncomingHttpHeaders[]; close(): Promise<void> };

/** A real HTTP server whose n-th request (0-based) is answered by `respond(n, res)`. */
async function scriptedServer(respond: (n: number, res: ServerResponse) => void): Promise<Scripted> {
  const requests: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    requests.push(req.headers);
    respond(requests.length - 1, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`;
  return {
    url,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const eventStream = (res: ServerResponse) => res.writeHead(200, { 'content-type': 'text/event-stream' });
const { owned, ownedSubscription } = ownedPerTest();

type Seen = { symbol: string; upstreamSeq: number };

describe('sseFeed against the demo upstream', () => {
  it('resumes with Last-Event-ID after the server drops it, again and again: nothing lost, nothing twice', async () => {
    const upstream: SseDemoUpstream = owned(
      await startSseUpstream({ port: 0, seed: 3, symbols: 8, ticksPerSecond: 400, intervalMs: 10 }),
    );
    const seen: Seen[] = [];
    const opens: SseConnectionEvent[] = [];
    ownedSubscription(
      sseFeed({
        url: upstream.eventsUrl,
        format: 'tickstream',
        reconnect: { initialMs: 10, maxMs: 100 },
        onConnection: (event) => event.type === 'open' && opens.push(event),
      }).subscribe((value) => {
        const { symbol, upstreamSeq } = value as Seen;
        seen.push({ symbol, upstreamSeq });
      }),
    );
    const drops = 8;
    for (let i = 0; i < drops; i++) {
      await until(() => opens.length === i + 1 && seen.length > 0, 10_000, `connection ${i + 1}`);
      // Some events on this connection, then cut it mid-stream.
      const flowing = seen.length;
      await until(() => seen.length >= flowing + 5, 10_000, `events on connection ${i + 1}`);
      expect(upstream.dropConnections()).toBe(1);
    }
    await until(() => opens.length === drops + 1, 10_000, 'the last reconnection');
    // The resumed connections asked for what they had missed.
    expect(opens.slice(1).every((o) => o.type === 'open' && Number(o.lastEventId) > 0)).toBe(true);
    const target = upstream.lastEventId();
    const resumed = seen.length;
    await until(
      () => upstream.lastEventId() > target && seen.length > resumed,
      10_000,
      'events after the last reconnection',
    );

    const bySymbol = new Map<string, number[]>();
    for (const { symbol, upstreamSeq } of seen) bySymbol.set(symbol, [...(bySymbol.get(symbol) ?? []), upstreamSeq]);
    expect(bySymbol.size).toBeGreaterThan(3);
    for (const [symbol, seqs] of bySymbol) {
      const first = seqs[0] ?? 0;
      // Continuous: each symbol's sequence goes up by exactly one, across every reconnection.
      expect({ symbol, seqs }).toEqual({ symbol, seqs: seqs.map((_, i) => first + i) });
    }
  });

  it('decodes the IEX format from the demo upstream', async () => {
    const upstream = owned(await startSseUpstream({ port: 0, format: 'iex', symbols: 5, intervalMs: 10 }));
    const values = await lastValueFrom(sseFeed({ url: upstream.eventsUrl, format: 'iex' }).pipe(take(20), toArray()));
    for (const value of values) {
      expect(value).toMatchObject({ symbol: expect.any(String), price: expect.any(Number), ts: expect.any(Number) });
    }
  });
});

describe('sseFeed connection policy', () => {
  it.each([
    ['404', (res: ServerResponse) => res.writeHead(404).end('no such stream'), { kind: 'http', status: 404 }],
    ['401', (res: ServerResponse) => res.writeHead(401).end(), { kind: 'http', status: 401 }],
    ['204', (res: ServerResponse) => res.writeHead(204).end(), { kind: 'no-content' }],
    [
      'a wrong content type',
      (res: ServerResponse) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>'),
      { kind: 'content-type', contentType: 'text/html' },
    ],
  ])('stops on %s without reconnecting', async (_name, respond, failure) => {
    const server = owned(await scriptedServer((_n, res) => respond(res)));
    const events: SseConnectionEvent[] = [];
    const error = await lastValueFrom(
      sseFeed({
        url: server.url,
        format: 'tickstream',
        reconnect: { initialMs: 10, maxMs: 20 },
        onConnection: (e) => events.push(e),
      }),
    ).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(SseError);
    expect((error as SseError).failure).toEqual(failure);
    // Retries are 10-20 ms apart: a retry after the permanent failure would come well within 150 ms.
    await quietFor(150, 'a retry after the permanent failure', () => server.requests.length > 1);
    expect(server.requests).toHaveLength(1);
    expect(events.map((e) => e.type)).toEqual(['stopped']);
  });

  it('reconnects after 5xx and a closed stream, honours retry:, and sends Last-Event-ID', async () => {
    const server = owned(
      await scriptedServer((n, res) => {
        if (n < 2) return res.writeHead(503).end();
        eventStream(res);
        if (n === 2) return res.end('retry: 30\nid: a1\ndata: {"symbol":"AAPL","price":1,"ts":1}\n\n');
        res.write('data: {"symbol":"AAPL","price":2,"ts":2}\n\n');
      }),
    );
    const events: SseConnectionEvent[] = [];
    const values = await lastValueFrom(
      sseFeed({
        url: server.url,
        format: 'tickstream',
        reconnect: { initialMs: 10, maxMs: 40 },
        random: () => 1,
        onConnection: (e) => events.push(e),
      }).pipe(take(2), toArray()),
    );
    expect(values.map((v) => (v as { price: number }).price)).toEqual([1, 2]);
    expect(server.requests.map((h) => h['last-event-id'])).toEqual([undefined, undefined, undefined, 'a1']);
    expect(server.requests[0]?.accept).toBe('text/event-stream');
    const reconnects = events.filter((e) => e.type === 'reconnecting');
    expect(reconnects.map((e) => e.error.failure.kind)).toEqual(['http', 'http', 'ended']);
    // Exponential from the default base, then the server's retry: 30 with a fresh count after a success.
    expect(reconnects.map((e) => e.delayMs)).toEqual([10, 20, 30]);
  });

  it('waits each reconnect delay on its scheduler: no request before it is up, one when it is', async () => {
    // Every request refused with a 503 (retryable); the delays grow 10, 20, 40 s, then stay at the 40 s cap:
    // longer than any wait below, so only the virtual clock can bring the next request in time.
    const server = owned(await scriptedServer((_n, res) => res.writeHead(503).end()));
    const { scheduler, runTo } = virtualClock();
    const delays: number[] = [];
    ownedSubscription(
      sseFeed({
        url: server.url,
        format: 'tickstream',
        reconnect: { initialMs: 10_000, maxMs: 40_000 },
        random: () => 1,
        scheduler,
        onConnection: (e) => {
          if (e.type === 'reconnecting') delays.push(e.delayMs);
        },
      }).subscribe({ error: () => {} }),
    );
    let at = 0;
    for (const [k, delay] of [10_000, 20_000, 40_000, 40_000].entries()) {
      // Request k was refused and its retry is scheduled (a real request, answered asynchronously).
      await until(() => delays.length === k + 1, 5000, `reconnect ${k + 1} scheduled`);
      expect(delays[k]).toBe(delay);
      runTo(at + delay - 1);
      await quietFor(50, `a request before the ${delay} ms delay is up`, () => server.requests.length > k + 1);
      runTo(at + delay);
      await until(() => server.requests.length === k + 2, 5000, `request ${k + 2} once the ${delay} ms are up`);
      at += delay;
    }
  });

  it('retries a 429 and a 503 after their Retry-After, not at the shorter backoff', async () => {
    // A rate limit, then an outage that names its own wait, then the stream.
    const server = owned(
      await scriptedServer((n, res) => {
        if (n === 0) return res.writeHead(429, { 'retry-after': '30' }).end('slow down');
        if (n === 1) return res.writeHead(503, { 'retry-after': '20' }).end();
        eventStream(res);
        res.write('data: {"symbol":"AAPL","price":1,"ts":1}\n\n');
      }),
    );
    const { scheduler, runTo } = virtualClock();
    const events: SseConnectionEvent[] = [];
    const prices: number[] = [];
    ownedSubscription(
      sseFeed({
        url: server.url,
        format: 'tickstream',
        reconnect: { initialMs: 10, maxMs: 40 },
        random: () => 1,
        scheduler,
        onConnection: (e) => events.push(e),
      }).subscribe({ next: (v) => prices.push((v as { price: number }).price), error: () => {} }),
    );
    const reconnects = () => events.filter((e) => e.type === 'reconnecting');
    await until(() => events.length === 1, 5000, 'the 429 answered');
    expect(events[0]?.type).toBe('reconnecting');
    expect(reconnects().map((e) => e.delayMs)).toEqual([30_000]);
    runTo(29_999);
    await quietFor(50, 'a request before the 429 Retry-After', () => server.requests.length > 1);
    runTo(30_000);
    await until(() => reconnects().length === 2, 5000, 'the 503 answered');
    expect(reconnects().map((e) => e.delayMs)).toEqual([30_000, 20_000]);
    expect(reconnects().map((e) => e.error.failure)).toEqual([
      { kind: 'http', status: 429, retryAfterMs: 30_000 },
      { kind: 'http', status: 503, retryAfterMs: 20_000 },
    ]);
    runTo(49_999);
    await quietFor(50, 'a request before the 503 Retry-After', () => server.requests.length > 2);
    runTo(50_000);
    await until(() => prices.length === 1, 5000, 'the stream after the waits');
    expect(events.map((e) => e.type)).toEqual(['reconnecting', 'reconnecting', 'open']);
  });

  it('times a silent connection out on its scheduler: idleTimeoutMs after its last byte, not before', async () => {
    // Each connection sends one event, then nothing; a minute of silence is the timeout, on the virtual clock.
    const server = owned(
      await scriptedServer((n, res) => {
        eventStream(res);
        res.write(`id: ${n + 1}\ndata: {"symbol":"AAPL","price":${n + 1},"ts":${n + 1}}\n\n`);
      }),
    );
    const { scheduler, runTo } = virtualClock();
    const prices: number[] = [];
    const idled: number[] = [];
    ownedSubscription(
      sseFeed({
        url: server.url,
        format: 'tickstream',
        idleTimeoutMs: 60_000,
        reconnect: { initialMs: 1, maxMs: 1 },
        random: () => 1,
        scheduler,
        onConnection: (e) => {
          if (e.type === 'reconnecting' && e.error.failure.kind === 'idle') idled.push(scheduler.now());
        },
      }).subscribe((v) => prices.push((v as { price: number }).price)),
    );
    await until(() => prices.length === 1, 5000, 'the first event');
    // The clock has not moved since the event: the timeout is due at 60 s.
    runTo(59_999);
    await quietFor(50, 'a timeout before 60 s of silence', () => idled.length > 0);
    expect(server.requests).toHaveLength(1);
    runTo(60_000);
    await until(() => idled.length === 1, 5000, 'the timeout at 60 s');
    runTo(60_001); // the 1 ms reconnect delay
    await until(() => prices.length === 2, 5000, 'the second connection, resumed');
    expect(server.requests.map((h) => h['last-event-id'])).toEqual([undefined, '1']);
  });

  it('replaces a connection that stays open but silent past idleTimeoutMs, resuming from its last id', async () => {
    const server = owned(
      await scriptedServer((n, res) => {
        eventStream(res);
        // The first connection sends one event, then nothing: a dead link that stays open.
        res.write(`id: ${n + 1}\ndata: {"symbol":"AAPL","price":${n + 1},"ts":${n + 1}}\n\n`);
      }),
    );
    const events: SseConnectionEvent[] = [];
    const values = await lastValueFrom(
      sseFeed({
        url: server.url,
        format: 'tickstream',
        idleTimeoutMs: 150,
        reconnect: { initialMs: 10, maxMs: 20 },
        onConnection: (e) => events.push(e),
      }).pipe(take(2), toArray()),
    );
    expect(values.map((v) => (v as { price: number }).price)).toEqual([1, 2]);
    expect(server.requests[1]?.['last-event-id']).toBe('1');
    const reconnect = events.find((e) => e.type === 'reconnecting');
    expect(reconnect?.type === 'reconnecting' && reconnect.error.failure).toEqual({ kind: 'idle', idleTimeoutMs: 150 });
  });

  it('drops a connection whose line exceeds the bound, and reconnects', async () => {
    const server = owned(
      await scriptedServer((n, res) => {
        eventStream(res);
        if (n === 0) {
          // An endless line: 64 KiB chunks, never a line break.
          res.write('data: ');
          const chunk = 'x'.repeat(65_536);
          const timer = setInterval(() => res.write(chunk), 1);
          res.on('close', () => clearInterval(timer));
          return;
        }
        res.write('data: {"symbol":"MSFT","price":3,"ts":3}\n\n');
      }),
    );
    const events: SseConnectionEvent[] = [];
    const [value] = await lastValueFrom(
      sseFeed({
        url: server.url,
        format: 'tickstream',
        maxLineBytes: 256 * 1024,
        reconnect: { initialMs: 10, maxMs: 20 },
        onConnection: (e) => events.push(e),
      }).pipe(take(1), toArray()),
    );
    expect(value).toMatchObject({ symbol: 'MSFT', price: 3 });
    const reconnect = events.find((e) => e.type === 'reconnecting');
    expect(reconnect?.type === 'reconnecting' && reconnect.error.failure).toEqual({
      kind: 'overflow',
      maxLineBytes: 256 * 1024,
    });
  });
});

describe('SSE feeds in the service', () => {
  let service: Tickstream | undefined;
  afterEach(async () => {
    await service?.close();
    service = undefined;
  });

  it('counts and skips malformed JSON, bad prices and keeps going; unknown fields are ignored', async () => {
    const server = owned(
      await scriptedServer((_n, res) => {
        eventStream(res);
        const now = Date.now();
        res.write(
          [
            `data: {"symbol":"AAPL","price":101,"ts":${now}}`,
            '',
            'data: {"symbol":"AAPL","price":',
            '',
            `data: [{"symbol":"AAPL","price":-5,"ts":${now}},{"symbol":"MSFT","price":null,"ts":${now}}]`,
            '',
            `data: {"symbol":"MSFT","price":"NaN","ts":${now}}`,
            '',
            `data: {"symbol":"MSFT","price":402,"ts":${now},"exchangeCode":"Q","weird":{"a":1}}`,
            '',
            `data: {"symbol":"AAPL","price":102,"ts":${now + 1}}`,
            '',
            '',
          ].join('\n'),
        );
      }),
    );
    service = await startTestService({ feeds: [{ type: 'sse', id: 'vendor', url: server.url }] });
    const running = service;
    await until(() => running.cache.get('AAPL')?.price === 102, 10_000, 'the last good AAPL quote');
    expect(running.cache.get('MSFT')?.price).toBe(402);
    const bad = (await running.metrics.badInputs.get()).values;
    const byReason = Object.fromEntries(bad.map((v) => [v.labels.reason, v.value]));
    expect(byReason).toEqual({ not_object: 1, bad_price: 3 });
    expect(running.health.state('vendor')).toBe('live');
  });

  it('shows a feed stopped by a 4xx as down, and one reconnecting as stale', async () => {
    const gone = owned(await scriptedServer((_n, res) => res.writeHead(410).end()));
    const flaky = owned(
      await scriptedServer((n, res) => {
        if (n > 0) return res.writeHead(502).end();
        eventStream(res);
        res.end(`data: {"symbol":"AAPL","price":1,"ts":${Date.now()}}\n\n`);
      }),
    );
    service = await startTestService({
      staleAfterMs: 300,
      feeds: [
        { type: 'sse', id: 'gone', url: gone.url },
        { type: 'sse', id: 'flaky', url: flaky.url, reconnect: { initialMs: 20, maxMs: 50 } },
      ],
    });
    const running = service;
    await until(() => running.health.state('gone') === 'down', 5000, 'gone to be down');
    await until(() => flaky.requests.length >= 3, 5000, 'flaky to reconnect');
    await until(() => running.health.state('flaky') === 'stale', 5000, 'flaky to be stale');
    const ready = await fetch(`${running.url}/readyz`);
    expect(ready.status).toBe(503);
    const body = (await ready.json()) as { feeds: { id: string; state: string }[] };
    expect(body.feeds.map((f) => [f.id, f.state])).toEqual([
      ['gone', 'down'],
      ['flaky', 'stale'],
    ]);
    expect(gone.requests).toHaveLength(1);
  });

  it('reports upstream sequence gaps: metric, and gaps in the feed status', async () => {
    const server = owned(
      await scriptedServer((_n, res) => {
        eventStream(res);
        const quote = (symbol: string, seq: number) => ({ symbol, price: 10 + seq, ts: Date.now() + seq, seq });
        const frames = [
          [quote('AAPL', 1), quote('MSFT', 1)],
          [quote('AAPL', 2), quote('MSFT', 2)],
          [quote('AAPL', 5)],
          [quote('MSFT', 3), quote('AAPL', 6)],
        ];
        res.write(frames.map((f, i) => `id: ${i + 1}\ndata: ${JSON.stringify(f)}\n\n`).join(''));
      }),
    );
    service = await startTestService({ feeds: [{ type: 'sse', id: 'gappy', url: server.url }] });
    const running = service;
    await until(() => running.cache.get('AAPL')?.price === 16, 10_000, 'the last AAPL quote');
    expect((await running.metrics.upstreamGaps.get()).values.map((v) => [v.labels.feed, v.value])).toEqual([
      ['gappy', 1],
    ]);
    const ready = (await (await fetch(`${running.url}/readyz`)).json()) as { feeds: { id: string; gaps?: number }[] };
    expect(ready.feeds).toMatchObject([{ id: 'gappy', gaps: 1 }]);
  });

  it.each([
    ['a history that covers the outage: no gaps', 10_000, false],
    ['a history too short for the outage: gaps counted', 2, true],
  ])('resumes through the service after drops with %s', async (_name, historySize, expectGaps) => {
    const upstream = owned(
      await startSseUpstream({ port: 0, symbols: 3, ticksPerSecond: 300, intervalMs: 10, historySize, retryMs: 200 }),
    );
    service = await startTestService({ feeds: [{ type: 'sse', id: 'demo', url: upstream.eventsUrl }] });
    const running = service;
    const gaps = async () => (await running.metrics.upstreamGaps.get()).values.reduce((sum, v) => sum + v.value, 0);
    // seq counts each symbol's quotes: their sum is how many events the service took in.
    const received = () => running.cache.snapshot(running.cache.symbols()).reduce((n, q) => n + q.seq, 0);
    for (let i = 0; i < 3; i++) {
      await until(() => running.health.state('demo') === 'live', 10_000, 'the feed to be live');
      // Events flowing on this connection (after the previous drop: the reconnection resumed), then a drop.
      const mark = received();
      await until(
        () => received() >= mark + 20,
        10_000,
        () => `20 events on connection ${i + 1}`,
      );
      expect(upstream.dropConnections()).toBe(1);
    }
    // 20 events after the last reconnection: its resumed events, where a gap is counted, came first.
    const mark = received();
    await until(
      async () => received() >= mark + 20 && (!expectGaps || (await gaps()) > 0),
      10_000,
      () => `20 events after the last reconnection${expectGaps ? ', and a gap' : ''}, got ${received() - mark}`,
    );
    if (expectGaps) {
      expect(await gaps()).toBeGreaterThan(0);
      expect(running.health.statuses()[0]?.gaps).toBeGreaterThan(0);
    } else {
      expect(await gaps()).toBe(0);
      expect(running.health.statuses()[0]?.gaps).toBeUndefined();
    }
  });

  it('keeps a connected upstream that only sends keep-alive comments live', async () => {
    const quiet = owned(
      await scriptedServer((_n, res) => {
        eventStream(res);
        res.write(`data: {"symbol":"AAPL","price":1,"ts":${Date.now()}}\n\n`);
        const timer = setInterval(() => res.write(':\n\n'), 50);
        res.on('close', () => clearInterval(timer));
      }),
    );
    const mute = owned(
      await scriptedServer((_n, res) => {
        eventStream(res);
        res.write(`data: {"symbol":"MSFT","price":1,"ts":${Date.now()}}\n\n`);
      }),
    );
    service = await startTestService({
      staleAfterMs: 1000,
      feeds: [
        { type: 'sse', id: 'quiet', url: quiet.url },
        { type: 'sse', id: 'mute', url: mute.url },
      ],
    });
    const running = service;
    await until(() => running.cache.get('MSFT') !== undefined && running.cache.get('AAPL') !== undefined);
    // Both sent their one quote at the start: once the mute one is stale (1 s without anything), the quiet
    // one's quote is about as old; 500 ms more and only its keep-alives can be keeping it live.
    await until(() => running.health.state('mute') === 'stale', 5000, 'the mute upstream to be stale');
    await quietFor(500, 'the quiet upstream going stale', () => running.health.state('quiet') !== 'live');
    expect(running.health.state('quiet')).toBe('live');
    expect(running.health.state('mute')).toBe('stale');
  });

  it('serves quotes from the IEX demo upstream end to end', async () => {
    const upstream = owned(await startSseUpstream({ port: 0, format: 'iex', symbols: 5, intervalMs: 10 }));
    service = await startTestService({ feeds: [{ type: 'sse', id: 'iex', format: 'iex', url: upstream.eventsUrl }] });
    const running = service;
    await until(() => running.cache.get('AAPL') !== undefined, 10_000, 'an AAPL quote');
    expect(running.cache.get('AAPL')).toMatchObject({ symbol: 'AAPL', source: 'iex', prevClose: 229.87 });
    const ready = await fetch(`${running.url}/readyz`);
    expect(ready.status).toBe(200);
  });
});
