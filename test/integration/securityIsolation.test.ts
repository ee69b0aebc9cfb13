import { Observable } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { FeedSource } from '../../src/feeds/index.js';
import type { Quote, ReplayStatus, Status } from '../../src/protocol.js';
import { ownedPerTest, until } from '../helpers/lifecycle.js';
import { manualFeed } from '../helpers/manualFeed.js';
import { connectTestClient, serviceStarter } from '../helpers/service.js';

const { owned } = ownedPerTest();
const start = serviceStarter(owned);

describe('errors stay where they happen', () => {
  it('a handler that throws acks INTERNAL; the socket and the others keep working', async () => {
    const feed = manualFeed(['AAPL']);
    const status: ReplayStatus = { speed: 1, paused: false, position: 0 };
    feed.control = {
      status: () => status,
      command: () => {
        throw new Error('replay controller bug');
      },
    };
    const service = await start({}, { feeds: [feed] });
    const a = await connectTestClient(service.url);
    const b = await connectTestClient(service.url);
    owned(a);
    owned(b);
    expect(await a.timeout(5000).emitWithAck('replay', { action: 'pause' })).toEqual({
      ok: false,
      error: { code: 'INTERNAL', message: 'internal error' },
    });
    expect(await a.timeout(5000).emitWithAck('subscribe', { symbols: ['AAPL'] })).toMatchObject({ ok: true });
    const ticks: Quote[] = [];
    b.on('ticks', (batch) => ticks.push(...batch));
    expect(await b.timeout(5000).emitWithAck('subscribe', { symbols: ['AAPL'] })).toMatchObject({ ok: true });
    feed.input.next({ symbol: 'AAPL', price: 10, ts: Date.now() });
    await until(() => ticks.length > 0, 5000, 'the first tick');
    // The next tick is the sync point: a repeat of the first would have come before it.
    feed.input.next({ symbol: 'AAPL', price: 11, ts: Date.now() });
    await until(() => ticks.some((q) => q.price === 11), 5000, 'the second tick');
    expect(ticks.map((q) => q.price)).toEqual([10, 11]);
    const internal = (await service.metrics.requests.get()).values.find((v) => v.labels.outcome === 'internal');
    expect(internal?.value).toBe(1);
  });

  it('a feed that fails (or throws on subscribe) goes down alone; the other keeps delivering', async () => {
    const healthy = manualFeed(['AAPL'], 'healthy');
    const failing = manualFeed(['MSFT'], 'failing');
    const broken: FeedSource = {
      id: 'broken',
      symbols: [{ symbol: 'NVDA' }],
      quotes$: new Observable(() => {
        throw new Error('adapter bug on subscribe');
      }),
    };
    const service = await start({}, { feeds: [healthy, failing, broken] });
    const c = await connectTestClient(service.url);
    owned(c);
    const statuses: Status[] = [];
    c.on('status', (s) => statuses.push(s));
    const ticks: Quote[] = [];
    c.on('ticks', (batch) => ticks.push(...batch));
    await c.timeout(5000).emitWithAck('subscribe', { symbols: ['AAPL', 'MSFT'], maxHz: 20 });
    failing.input.next({ symbol: 'MSFT', price: 1, ts: Date.now() });
    failing.input.error(new Error('upstream went away'));
    healthy.input.next({ symbol: 'AAPL', price: 2, ts: Date.now() });
    const aapl = () => ticks.filter((q) => q.symbol === 'AAPL').map((q) => q.price);
    await until(
      () => aapl().includes(2),
      5000,
      () => `AAPL at 2, got ${aapl()}`,
    );
    healthy.input.next({ symbol: 'AAPL', price: 3, ts: Date.now() });
    const stateOf = (id: string) => statuses.at(-1)?.feeds.find((f) => f.id === id)?.state;
    await until(
      () => aapl().includes(3) && stateOf('failing') === 'down' && stateOf('broken') === 'down',
      5000,
      () =>
        `AAPL at 3 and a status with both bad feeds down, got ${aapl()}, ${stateOf('failing')}, ${stateOf('broken')}`,
    );
    expect(ticks.filter((q) => q.symbol === 'AAPL').map((q) => q.price)).toEqual([2, 3]);
    const feeds = statuses.at(-1)?.feeds ?? [];
    expect(feeds.find((f) => f.id === 'failing')?.state).toBe('down');
    expect(feeds.find((f) => f.id === 'broken')?.state).toBe('down');
    expect(feeds.find((f) => f.id === 'healthy')?.state).toBe('live');
    expect(c.connected).toBe(true);
  });
});
