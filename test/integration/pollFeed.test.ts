import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { lastValueFrom, take, toArray } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { PollError, pollFeed } from '../../src/feeds/poll.js';
import type { Tickstream } from '../../src/roles/serve.js';
import { startSseUpstream } from '../../src/upstream/sseUpstream.js';
import { ownedPerTest, quietFor, until } from '../helpers/lifecycle.js';
import { startTestService } from '../helpers/service.js';
import { virtualClock } from '../helpers/virtualClock.js';

type Endpoint = { url: string; requests: number; inFlight: number; maxInFlight: number; close(): Promise<void> };

/** A real JSON endpoint; `respond` answers the n-th request (0-based) and may take its time. */
async function endpoint(respond: (n: number, res: ServerResponse) => void): Promise<Endpoint> {
  const state: Endpoint = { url: '', requests: 0, inFlight: 0, maxInFlight: 0, close: async () => {} };
  const server = createServer((_req, res) => {
    state.inFlight++;
    state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
    res.on('close', () => state.inFlight--);
    respond(state.requests++, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/quotes`;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return state;
}

const json = (res: ServerResponse, body: unknown) =>
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
const { owned, ownedSubscription } = ownedPerTest();

describe('pollFeed', () => {
  it('polls the demo upstream and emits each symbol only when its quote changed', async () => {
    const upstream = owned(await startSseUpstream({ port: 0, symbols: 4, ticksPerSecond: 40, intervalMs: 20 }));
    const values: { symbol: string; ts: number; upstreamSeq?: number }[] = [];
    ownedSubscription(
      pollFeed({ url: upstream.quotesUrl, intervalMs: 50, format: 'tickstream' }).subscribe((v) =>
        values.push(v as { symbol: string; ts: number }),
      ),
    );
    await until(() => values.length >= 12, 10_000, 'twelve polled quotes');
    const keys = values.map((v) => `${v.symbol}@${v.ts}`);
    expect(new Set(keys).size).toBe(keys.length);
    // Polling samples: skipped upstream sequence numbers are not gaps, so they are not passed on.
    expect(values.every((v) => v.upstreamSeq === undefined)).toBe(true);
  });

  it('never overlaps requests to a slow endpoint', async () => {
    const slow = owned(
      await endpoint((n, res) => {
        setTimeout(() => json(res, { symbol: 'AAPL', price: 100 + n, ts: 1_000 + n }), 250);
      }),
    );
    const prices: number[] = [];
    ownedSubscription(
      pollFeed({ url: slow.url, intervalMs: 50, format: 'tickstream' }).subscribe((v) =>
        prices.push((v as { price: number }).price),
      ),
    );
    await until(() => prices.length >= 4, 10_000, 'four slow polls');
    expect(slow.maxInFlight).toBe(1);
    // With a 50 ms interval an overlapping poller would have sent about five requests per slow answer.
    expect(slow.requests).toBeLessThanOrEqual(prices.length + 1);
    expect(prices.slice(0, 4)).toEqual([100, 101, 102, 103]);
  });

  it('survives timeouts, 5xx and bad JSON; stops on 4xx', async () => {
    const flaky = owned(
      await endpoint((n, res) => {
        if (n === 0) return; // never answers: the timeout aborts it
        if (n === 1) return res.writeHead(500).end();
        if (n === 2) return res.writeHead(200).end('{"symbol": nope');
        if (n === 3) return json(res, [{ symbol: 'MSFT', price: 400, ts: 5 }]);
        res.writeHead(403).end();
      }),
    );
    const errors: string[] = [];
    const outcome = await lastValueFrom(
      pollFeed({
        url: flaky.url,
        intervalMs: 50,
        timeoutMs: 150,
        format: 'tickstream',
        onPollError: (e) => errors.push(e.failure.kind),
      }).pipe(toArray()),
    ).catch((err: unknown) => err);
    expect(outcome).toBeInstanceOf(PollError);
    expect((outcome as PollError).failure).toEqual({ kind: 'http', status: 403 });
    expect(errors).toEqual(['timeout', 'http']);
    expect(flaky.requests).toBe(5);
  });

  it('takes the first values of an IEX endpoint', async () => {
    const upstream = owned(await startSseUpstream({ port: 0, format: 'iex', symbols: 3, intervalMs: 10 }));
    await until(() => upstream.lastEventId() >= 3, 5000, 'the upstream to have quotes');
    const values = await lastValueFrom(
      pollFeed({ url: upstream.quotesUrl, intervalMs: 50, format: 'iex' }).pipe(take(3), toArray()),
    );
    for (const v of values) expect(v).toMatchObject({ symbol: expect.any(String), price: expect.any(Number) });
  });
});

describe('pollFeed on a TestScheduler clock (a real endpoint)', () => {
  /**
   * The poller's clock is virtual, its requests real: the test counts the requests it starts (a counting
   * wrapper around the real fetch) and waits for each to be answered and emitted before it moves the clock.
   */
  async function virtualPoller(
    intervalMs: number,
    respond: (n: number, res: ServerResponse) => void,
    more: Pick<Parameters<typeof pollFeed>[0], 'timeoutMs' | 'onPollError'> = {},
  ) {
    const { scheduler, runTo } = virtualClock();
    const server = owned(await endpoint(respond));
    let started = 0;
    const prices: number[] = [];
    ownedSubscription(
      pollFeed({
        url: server.url,
        intervalMs,
        format: 'tickstream',
        scheduler,
        ...more,
        fetch: (input, init) => {
          started++;
          return fetch(input, init);
        },
      }).subscribe((v) => prices.push((v as { price: number }).price)),
    );
    return {
      server,
      prices,
      started: () => started,
      /** Runs what is due on the poller's clock up to `t` (virtual ms). */
      runTo,
      /** Runs the poller's clock to `t`, then waits until every poll started has been answered and emitted. */
      async advanceTo(t: number) {
        runTo(t);
        const answered = started;
        await until(
          () => server.requests === started && prices.length === answered && server.inFlight === 0,
          5000,
          () => `${answered} polls answered at ${t} ms (started ${started}, seen ${server.requests}, got ${prices})`,
        );
      },
    };
  }

  it('polls at once, then once per interval, not in between', async () => {
    const p = await virtualPoller(1000, (n, res) => json(res, { symbol: 'AAPL', price: 100 + n, ts: 1_000 + n }));
    const seen: [number, number][] = [];
    for (let t = 0; t <= 5000; t += 250) {
      await p.advanceTo(t);
      seen.push([t, p.started()]);
    }
    expect(seen).toEqual(Array.from({ length: 21 }, (_, i) => [i * 250, Math.floor((i * 250) / 1000) + 1]));
    expect(p.prices).toEqual([100, 101, 102, 103, 104, 105]);
  });

  it('skips the ticks that fall while a poll is unanswered, and polls again at the next one after', async () => {
    const held: ServerResponse[] = [];
    const p = await virtualPoller(1000, (n, res) => {
      if (n === 1) held.push(res);
      else json(res, { symbol: 'AAPL', price: 100 + n, ts: 1_000 + n });
    });
    await p.advanceTo(0);
    p.runTo(1000);
    await until(() => held.length === 1, 5000, 'the poll at 1000 to reach the endpoint');
    // Unanswered: the ticks at 2000 and 3000 start nothing (exhaustMap decides as the tick runs).
    for (const t of [2000, 3000, 3500]) {
      p.runTo(t);
      expect(p.started(), `polls started by ${t}`).toBe(2);
    }
    json(held[0] as ServerResponse, { symbol: 'AAPL', price: 101, ts: 1_001 });
    await p.advanceTo(3999);
    expect(p.started()).toBe(2);
    await p.advanceTo(4000);
    expect(p.started()).toBe(3);
    expect(p.prices).toEqual([100, 101, 102]);
  });

  it('waits out a 429 or 503 Retry-After, polling again at the first tick after it, and goes on', async () => {
    const failures: PollError[] = [];
    const p = await virtualPoller(
      1000,
      (n, res) => {
        if (n === 1) return res.writeHead(429, { 'retry-after': '5' }).end('slow down');
        if (n === 3) return res.writeHead(503, { 'retry-after': '2' }).end();
        json(res, { symbol: 'AAPL', price: 100 + n, ts: 1_000 + n });
      },
      { onPollError: (err) => failures.push(err) },
    );
    await p.advanceTo(0);
    p.runTo(1000);
    await until(() => failures.length === 1, 5000, 'the 429 at 1000');
    expect(failures[0]?.failure).toEqual({ kind: 'http', status: 429, retryAfterMs: 5000 });
    // The ticks within the five seconds ask nothing.
    p.runTo(5999);
    await quietFor(50, 'a poll within the Retry-After', () => p.started() > 2);
    expect(p.started()).toBe(2);
    p.runTo(6000);
    await until(() => p.prices.length === 2, 5000, 'the poll at 6000 answered');
    expect(p.started()).toBe(3);
    p.runTo(7000);
    await until(() => failures.length === 2, 5000, 'the 503 at 7000');
    expect(failures[1]?.failure).toEqual({ kind: 'http', status: 503, retryAfterMs: 2000 });
    p.runTo(8999);
    await quietFor(50, 'a poll within the Retry-After', () => p.started() > 4);
    p.runTo(9000);
    await until(() => p.prices.length === 3, 5000, 'the poll at 9000 answered');
    expect(p.started()).toBe(5);
    expect(p.prices).toEqual([100, 102, 104]);
  });

  it('gives up on an unanswered poll at timeoutMs on its scheduler, not before, and polls again at the next tick', async () => {
    const held: ServerResponse[] = [];
    const failures: string[] = [];
    const p = await virtualPoller(
      1000,
      (n, res) => (n === 0 ? held.push(res) : json(res, { symbol: 'AAPL', price: 100 + n, ts: 1_000 + n })),
      // A minute: longer than any wait below, so only the virtual clock can bring the timeout in time.
      { timeoutMs: 60_000, onPollError: (err) => failures.push(err.failure.kind) },
    );
    p.runTo(0);
    await until(() => held.length === 1, 5000, 'the first poll to reach the endpoint');
    // Its ticks meanwhile start nothing (the poll is still unanswered).
    p.runTo(59_999);
    await quietFor(50, 'a timeout before 60 s', () => failures.length > 0);
    expect(p.started()).toBe(1);
    p.runTo(60_000);
    await until(() => failures.length === 1, 5000, 'the timeout at 60 s');
    expect(failures).toEqual(['timeout']);
    p.runTo(61_000);
    await until(() => p.prices.length === 1, 5000, 'the poll at 61 s answered');
    expect(p.started()).toBe(2);
    expect(p.prices).toEqual([101]);
  });
});

describe('poll feeds in the service', () => {
  let service: Tickstream | undefined;
  afterEach(async () => {
    await service?.close();
    service = undefined;
  });

  it('serves polled quotes and counts bad ones', async () => {
    const upstream = owned(
      await endpoint((n, res) =>
        json(res, [
          { symbol: 'AAPL', price: 200 + n, ts: Date.now() },
          { symbol: 'MSFT', price: -1, ts: Date.now() },
        ]),
      ),
    );
    service = await startTestService({
      feeds: [{ type: 'poll', id: 'rest', url: upstream.url, intervalMs: 50, symbols: ['AAPL'] }],
    });
    const running = service;
    await until(() => (running.cache.get('AAPL')?.price ?? 0) >= 202, 10_000, 'a third poll');
    expect(running.cache.get('AAPL')?.source).toBe('rest');
    const bad = (await running.metrics.badInputs.get()).values;
    expect(bad.find((v) => v.labels.reason === 'bad_price')?.value).toBeGreaterThanOrEqual(1);
  });
});
