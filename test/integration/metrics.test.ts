import { describe, expect, it } from 'vitest';
import { ownedPerTest, until } from '../helpers/lifecycle.js';
import { manualFeed } from '../helpers/manualFeed.js';
import { connectTestClient, serviceStarter } from '../helpers/service.js';

const { owned } = ownedPerTest();
const start = serviceStarter(owned);

/** Scrapes /metrics over HTTP and reads one sample (labels as written by prom-client, e.g. `{feed="a"}`). */
async function scrape(url: string): Promise<(name: string, labels?: string) => number | undefined> {
  const response = await fetch(`${url}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('text/plain');
  const text = await response.text();
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return (name, labels = '') => samples.get(`${name}${labels}`);
}

describe('/metrics', () => {
  it('moves with connections, subscriptions, ticks in, bad inputs, updates and deliveries out', async () => {
    const feed = manualFeed(['AAPL', 'MSFT']);
    const service = await start({}, { feeds: [feed] });
    const url = service.url;
    let read = await scrape(url);
    expect(read('tickstream_connections')).toBe(0);
    expect(read('tickstream_subscriptions')).toBe(0);
    expect(read('tickstream_event_loop_lag_seconds')).toBeGreaterThanOrEqual(0);

    const a = await connectTestClient(url);
    const b = await connectTestClient(url);
    owned(a);
    owned(b);
    await a.timeout(5000).emitWithAck('subscribe', { symbols: ['AAPL', 'MSFT'], maxHz: 20 });
    await b.timeout(5000).emitWithAck('subscribe', { symbols: ['AAPL'], maxHz: 20 });
    read = await scrape(url);
    expect(read('tickstream_connections')).toBe(2);
    expect(read('tickstream_subscriptions')).toBe(3);
    expect(read('tickstream_requests_total', '{event="subscribe",outcome="ok"}')).toBe(2);

    let received = 0;
    a.on('ticks', (batch) => {
      received += batch.length;
    });
    b.on('ticks', (batch) => {
      received += batch.length;
    });
    // One tick each, the second once the first was delivered: under 20 Hz nothing is conflated, so every tick
    // is one update.
    feed.input.next({ symbol: 'AAPL', price: 100, ts: Date.now() });
    await until(
      () => received >= 2,
      5000,
      () => `the AAPL tick on both sockets, got ${received}`,
    );
    feed.input.next({ symbol: 'MSFT', price: 200, ts: Date.now() });
    feed.input.next({ symbol: 'AAPL', price: -1, ts: Date.now() });
    feed.input.next('not even an object');
    feed.input.next({ symbol: 'MSFT', price: 201, ts: 'yesterday' });
    // The last input's refusal counted: every input was taken in (in order); and MSFT's tick delivered.
    await until(
      async () =>
        received >= 3 && (await scrape(url))('tickstream_bad_inputs_total', '{feed="manual",reason="bad_ts"}') === 1,
      5000,
      () => `the MSFT tick delivered and the bad ts counted (${received} delivered)`,
    );
    read = await scrape(url);
    expect(read('tickstream_ticks_in_total', '{feed="manual"}')).toBe(2);
    expect(read('tickstream_bad_inputs_total', '{feed="manual",reason="bad_price"}')).toBe(1);
    expect(read('tickstream_bad_inputs_total', '{feed="manual",reason="not_object"}')).toBe(1);
    expect(read('tickstream_bad_inputs_total', '{feed="manual",reason="bad_ts"}')).toBe(1);
    // AAPL to two sockets, MSFT to one: 2 room updates, 3 deliveries.
    expect(read('tickstream_updates_out_total')).toBe(2);
    expect(read('tickstream_deliveries_out_total')).toBe(3);
    expect(received).toBe(3);
    expect(read('tickstream_conflation_ratio')).toBe(1);

    await b.timeout(5000).emitWithAck('unsubscribe', { symbols: ['AAPL'] });
    a.close();
    await until(
      async () => (await scrape(url))('tickstream_connections') === 1,
      5000,
      'the closed client to be counted',
    );
    read = await scrape(url);
    expect(read('tickstream_connections')).toBe(1);
    expect(read('tickstream_subscriptions')).toBe(0);
    expect(read('tickstream_disconnects_total', '{reason="client namespace disconnect"}')).toBe(1);
  });

  it('counts request outcomes: rate limited, bad requests and requests without an ack', async () => {
    const service = await start({ limits: { requestsPerSecond: 1, requestBurst: 2 } });
    const c = await connectTestClient(service.url);
    owned(c);
    const raw = c as unknown as {
      emit(event: string, ...args: unknown[]): void;
      timeout(ms: number): { emitWithAck(event: string, payload: unknown): Promise<unknown> };
    };
    raw.emit('subscribe', { symbols: ['AAPL'] }); // no ack: counted and dropped
    await raw.timeout(5000).emitWithAck('subscribe', { symbols: 'AAPL' });
    await raw.timeout(5000).emitWithAck('symbols', {});
    await raw.timeout(5000).emitWithAck('symbols', {});
    const read = await scrape(service.url);
    expect(read('tickstream_requests_total', '{event="subscribe",outcome="no_ack"}')).toBe(1);
    expect(read('tickstream_requests_total', '{event="subscribe",outcome="error"}')).toBe(1);
    expect(read('tickstream_requests_total', '{event="symbols",outcome="ok"}')).toBe(1);
    expect(read('tickstream_requests_total', '{event="symbols",outcome="rate_limited"}')).toBe(1);
  });
});
