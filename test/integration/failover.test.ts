import { afterEach, describe, expect, it } from 'vitest';
import type { Quote } from '../../src/protocol.js';
import type { Tickstream } from '../../src/roles/serve.js';
import { type SseDemoUpstream, startSseUpstream } from '../../src/upstream/sseUpstream.js';
import { until } from '../helpers/lifecycle.js';
import { connectTestClient, startTestService, type TestClient } from '../helpers/service.js';

const SYMBOLS = ['AAPL', 'MSFT', 'NVDA'];
const upstreamOptions = (seed: number, port = 0) => ({ port, seed, symbols: 3, ticksPerSecond: 300, intervalMs: 10 });

describe('failover between two real SSE upstreams', () => {
  let primary: SseDemoUpstream | undefined;
  let backup: SseDemoUpstream | undefined;
  let service: Tickstream | undefined;
  let client: TestClient | undefined;
  afterEach(async () => {
    client?.close();
    await service?.close();
    await primary?.close();
    await backup?.close();
    client = service = primary = backup = undefined;
  });

  it('serves the primary, fails over to the backup when it stops, hands back when it returns, in order', async () => {
    primary = await startSseUpstream(upstreamOptions(1));
    backup = await startSseUpstream(upstreamOptions(2));
    const primaryPort = primary.port;
    service = await startTestService({
      // Generous: a stalled event loop on a loaded CI machine must not look like a silent primary.
      staleAfterMs: 1000,
      priority: { '*': ['primary', 'backup'] },
      feeds: [
        { type: 'sse', id: 'primary', url: primary.eventsUrl, reconnect: { initialMs: 20, maxMs: 100 } },
        { type: 'sse', id: 'backup', url: backup.eventsUrl, reconnect: { initialMs: 20, maxMs: 100 } },
      ],
    });
    const running = service;
    const ticks: Quote[] = [];
    client = await connectTestClient(running.url);
    client.on('ticks', (quotes) => ticks.push(...quotes));
    await until(() => SYMBOLS.every((s) => running.cache.get(s)), 10_000, 'every symbol in the cache');
    const ack = await client.emitWithAck('subscribe', { symbols: SYMBOLS, maxHz: 20 });
    expect(ack.ok).toBe(true);

    const sourcesSince = (from: number) => new Set(ticks.slice(from).map((q) => q.source));
    // 1. Primary up: only its ticks.
    await until(() => ticks.length > 30, 10_000, 'ticks from the primary');
    const settled = ticks.length;
    // 40 more ticks (about 0.7 s at 3 symbols x 20 Hz): a backup tick in steady state would be among them.
    await until(
      () => ticks.length >= settled + 40,
      10_000,
      () => `40 more ticks, got ${ticks.length - settled}`,
    );
    expect(sourcesSince(settled)).toEqual(new Set(['primary']));

    // 2. Primary gone: after staleAfterMs of silence the backup takes over.
    await primary.close();
    const stopped = ticks.length;
    await until(() => sourcesSince(stopped).has('backup'), 10_000, 'the backup to take over');
    // Failover is per symbol (the primary's last tick of one symbol may predate its last tick overall), so the
    // feed as a whole turns stale at most a few ticks later.
    await until(() => running.health.state('primary') === 'stale', 5000, 'the primary to be stale');
    expect(running.health.state('backup')).toBe('live');

    // 3. Primary back on the same port: it reconnects and takes over again.
    primary = await startSseUpstream(upstreamOptions(1, primaryPort));
    const restarted = ticks.length;
    await until(() => sourcesSince(restarted).has('primary'), 10_000, 'the primary to return');
    // Per symbol: once the primary's tick for it is delivered again, nothing more from the backup. Wait for
    // ten of the primary's ticks of every symbol since then: a backup tick after the handback would be among them.
    const sinceBack = (symbol: string) => {
      const mine = ticks.slice(restarted).filter((q) => q.symbol === symbol);
      const back = mine.findIndex((q) => q.source === 'primary');
      return back < 0 ? 0 : mine.length - back;
    };
    await until(
      () => SYMBOLS.every((symbol) => sinceBack(symbol) >= 10),
      10_000,
      () => `10 ticks per symbol since the handback, got ${SYMBOLS.map(sinceBack).join(', ')}`,
    );
    for (const symbol of SYMBOLS) {
      const mine = ticks.slice(restarted).filter((q) => q.symbol === symbol);
      const back = mine.findIndex((q) => q.source === 'primary');
      expect(back).toBeGreaterThanOrEqual(0);
      expect(mine.length - back).toBeGreaterThan(3);
      expect(new Set(mine.slice(back).map((q) => q.source))).toEqual(new Set(['primary']));
    }

    // Throughout: per symbol, seq strictly increasing and ts never going back.
    for (const symbol of SYMBOLS) {
      const mine = ticks.filter((q) => q.symbol === symbol);
      for (let i = 1; i < mine.length; i++) {
        const [prev, cur] = [mine[i - 1] as Quote, mine[i] as Quote];
        expect(cur.seq).toBeGreaterThan(prev.seq);
        expect(cur.ts).toBeGreaterThanOrEqual(prev.ts);
      }
    }
  });
});
