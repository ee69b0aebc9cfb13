import type { Socket as NetSocket } from 'node:net';
import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { pendingBytes } from '../../src/delivery/engine.js';
import { createFeed, type FeedSource } from '../../src/feeds/index.js';
import type { Quote, Status } from '../../src/protocol.js';
import type { Tickstream } from '../../src/roles/serve.js';
import { observeFor, ownedPerTest, until } from '../helpers/lifecycle.js';
import { connectTestClient, serviceStarter, type TestClient, testConfig } from '../helpers/service.js';

/**
 * A Socket.IO client at the wire level (Engine.IO v4 over ws), so the test can stop reading: pausing the TCP
 * socket lets the kernel buffers, then the server's write buffer, fill as they would for a stalled reader.
 */
class RawSocketIoClient {
  readonly statuses: Status[] = [];
  readonly symbolsTicked = new Set<string>();
  ticks = 0;
  closed = false;
  private readonly acks = new Map<number, (value: unknown) => void>();
  private nextAck = 0;

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data) => this.onFrame(String(data)));
    ws.on('close', () => {
      this.closed = true;
    });
  }

  static async connect(url: string): Promise<RawSocketIoClient> {
    const ws = new WebSocket(`${url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`);
    const client = new RawSocketIoClient(ws);
    const connected = new Promise<void>((resolve, reject) => {
      ws.on('message', (data) => {
        if (String(data).startsWith('40')) resolve();
      });
      ws.once('error', reject);
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    ws.send('40');
    await connected;
    return client;
  }

  request(event: string, payload: unknown): Promise<unknown> {
    const id = this.nextAck++;
    this.ws.send(`42${id}${JSON.stringify([event, payload])}`);
    return new Promise((resolve) => this.acks.set(id, resolve));
  }

  /** Stops reading: nothing more is taken from the kernel's receive buffer. */
  pause(): void {
    (this.ws as unknown as { _socket: NetSocket })._socket.pause();
  }

  resume(): void {
    (this.ws as unknown as { _socket: NetSocket })._socket.resume();
  }

  close(): void {
    this.ws.terminate();
  }

  private onFrame(frame: string): void {
    if (frame === '2') {
      this.ws.send('3'); // Engine.IO ping -> pong
    } else if (frame.startsWith('42')) {
      const [event, payload] = JSON.parse(frame.slice(2)) as [string, unknown];
      if (event === 'ticks') {
        this.ticks += (payload as Quote[]).length;
        for (const quote of payload as Quote[]) this.symbolsTicked.add(quote.symbol);
      }
      if (event === 'status') this.statuses.push(payload as Status);
    } else if (frame.startsWith('43')) {
      const match = /^43(\d+)(.*)$/s.exec(frame);
      if (match) this.acks.get(Number(match[1]))?.((JSON.parse(match[2] as string) as unknown[])[0]);
    }
  }
}

const { owned } = ownedPerTest();
const start = serviceStarter(owned);

async function actions(s: Tickstream): Promise<Record<string, number>> {
  const values = (await s.metrics.slowConsumerActions.get()).values;
  return Object.fromEntries(values.map((v) => [String(v.labels.action), v.value]));
}

function p99(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? Number.NaN;
}

// 1000 symbols at about 8 ticks/s each: a reader of all of them at 20 Hz gets about 8000 updates/s, enough to
// fill loopback's kernel buffers (several MB) within seconds even on a loaded machine.
const SYMBOLS = 1000;
const busyService = (slowConsumer: Record<string, number>) =>
  start({
    feeds: [{ type: 'simulated', id: 'sim', seed: 7, ticksPerSecond: 8000, offHoursFactor: 1, symbols: SYMBOLS }],
    limits: { maxSymbolsPerSocket: SYMBOLS, maxSymbolsPerRequest: SYMBOLS, slowConsumer },
  });
async function allSymbols(s: Tickstream): Promise<string[]> {
  const body = (await (await fetch(`${s.url}/api/symbols`)).json()) as { symbols: { symbol: string }[] };
  return body.symbols.map((info) => info.symbol);
}

describe('slow consumers', () => {
  it('throttle a stalled reader, then cut it at the cap, while 100 others keep their latency', async () => {
    const cap = 1_048_576;
    const s = await busyService({ maxPendingBytes: cap, throttleBytes: 262_144, throttledHz: 1 });
    const symbolList = await allSymbols(s);
    expect(symbolList.length).toBe(SYMBOLS);
    const latencies: number[] = [];
    const others: TestClient[] = [];
    for (let i = 0; i < 100; i++) {
      const c = owned(await connectTestClient(s.url));
      others.push(c);
      c.on('ticks', (batch) => {
        const now = Date.now();
        for (const q of batch) latencies.push(now - q.ts);
      });
      const symbols = [0, 1, 2, 3, 4].map((k) => symbolList[(i * 5 + k) % 50] as string);
      await c.timeout(5000).emitWithAck('subscribe', { symbols, maxHz: 20 });
    }
    // The baseline has the same load: the future slow reader is subscribed to everything and still reading.
    const slow = await RawSocketIoClient.connect(s.url);
    owned(slow);
    const ack = await slow.request('subscribe', { symbols: symbolList, maxHz: 20 });
    expect(ack).toMatchObject({ ok: true, rejected: [] });
    const serverSide = [...s.io.of('/').sockets.values()].at(-1);
    if (!serverSide) throw new Error('no server socket');
    await until(() => slow.ticks > 0 && latencies.length > 0, 10_000, 'ticks to the slow reader and the others');
    latencies.length = 0;
    await observeFor(2500, "the others' latency baseline, before the reader stalls");
    const before = p99(latencies);
    const countBefore = latencies.length;
    slow.pause();
    latencies.length = 0;
    let maxPending = 0;
    const sampler = setInterval(() => {
      maxPending = Math.max(maxPending, pendingBytes(serverSide));
    }, 25);
    try {
      await until(() => !serverSide.connected, 40_000, 'the stalled reader to be cut');
    } finally {
      clearInterval(sampler);
    }
    const after = p99(latencies);
    console.log(
      `slow consumer: others p99 ${before} ms before (${countBefore} ticks), ${after} ms while one stalled ` +
        `(${latencies.length} ticks); stalled socket max pending ${maxPending} bytes (cap ${cap})`,
    );
    expect(await actions(s)).toMatchObject({ throttle: 1, disconnect: 1 });
    // Checked every 250 ms: it may overshoot the cap by what arrives in one interval, never by much more.
    expect(maxPending).toBeLessThan(cap * 1.5);
    expect(latencies.length).toBeGreaterThan(1000);
    // Generous: this runs on a loaded 2-core machine next to other suites (real figures: the log line above).
    expect(after).toBeLessThan(Math.max(before * 5, before + 1000));
    expect(others.every((c) => c.connected)).toBe(true);
    const disconnects = (await s.metrics.disconnects.get()).values;
    expect(disconnects.find((v) => v.labels.reason === 'slow_consumer')?.value).toBe(1);
    // The reader wakes up to the connection gone (what was still queued server-side was dropped with it).
    slow.resume();
    await until(() => slow.closed, 10_000, 'the raw client to see the close');
  }, 90_000);

  it('restore a reader that catches up, without cutting it', async () => {
    const recoverAfterMs = 2000;
    const s = await busyService({ throttleBytes: 131_072, recoverBytes: 8192, recoverAfterMs, throttledHz: 1 });
    const slow = await RawSocketIoClient.connect(s.url);
    owned(slow);
    await slow.request('subscribe', { symbols: await allSymbols(s), maxHz: 20 });
    const serverSide = [...s.io.of('/').sockets.values()].at(-1);
    slow.pause();
    const tiers = () => [...(serverSide ? s.membership.deliveredTiers(serverSide).values() : [])];
    await until(() => serverSide !== undefined && s.membership.isThrottled(serverSide), 20_000, 'the throttle');
    expect(tiers().length).toBe(SYMBOLS);
    expect(tiers().every((hz) => hz === 1)).toBe(true);
    const resumedAt = Date.now();
    slow.resume();
    await until(() => slow.statuses.some((st) => st.throttled === false), 20_000, 'the restore status');
    // Not before it has been calm for recoverAfterMs, which cannot start before it reads again (a lower bound:
    // a loaded machine only makes it later).
    expect(Date.now() - resumedAt).toBeGreaterThanOrEqual(recoverAfterMs);
    expect(slow.statuses.filter((st) => st.throttled !== undefined).map((st) => st.throttled)).toEqual([true, false]);
    expect(serverSide && s.membership.isThrottled(serverSide)).toBe(false);
    expect(tiers().filter((hz) => hz === 20).length).toBe(SYMBOLS);
    expect(await actions(s)).toMatchObject({ throttle: 1, restore: 1 });
    expect(serverSide?.connected).toBe(true);
    const ticks = slow.ticks;
    await until(
      () => slow.ticks > ticks,
      5000,
      () => `ticks after the restore (still ${slow.ticks})`,
    );
  }, 60_000);

  it('sends a socket moved between tiers the current quotes of its symbols, a quiet one too', async () => {
    const slowConsumer = { throttleBytes: 131_072, recoverBytes: 8192, recoverAfterMs: 500, throttledHz: 1 };
    const busy = testConfig({
      feeds: [{ type: 'simulated', id: 'sim', seed: 7, ticksPerSecond: 8000, offHoursFactor: 1, symbols: SYMBOLS }],
    });
    // A symbol that ticked once, before anyone watched it: only a resync can bring it after the snapshot.
    const quiet = new Subject<unknown>();
    const quietFeed: FeedSource = { id: 'quiet', quotes$: quiet, symbols: [{ symbol: 'QUIET' }] };
    const s = await start(
      { limits: { maxSymbolsPerSocket: SYMBOLS + 1, maxSymbolsPerRequest: SYMBOLS + 1, slowConsumer } },
      { feeds: [createFeed(busy.feeds[0] as (typeof busy.feeds)[number], { market: busy.market }), quietFeed] },
    );
    quiet.next({ symbol: 'QUIET', price: 42, ts: Date.now(), size: 1 });
    await until(() => s.cache.snapshot(['QUIET']).length === 1, 5000, 'the quiet quote in the cache');
    const slow = await RawSocketIoClient.connect(s.url);
    owned(slow);
    await slow.request('subscribe', {
      symbols: [...(await allSymbols(s)).filter((x) => x !== 'QUIET'), 'QUIET'],
      maxHz: 20,
    });
    // Half the busy symbols ticked (several 20 Hz flushes since the subscribe): a tick of QUIET, if any, would
    // have come in the first. It came in the ack's snapshot only.
    await until(
      () => slow.symbolsTicked.size >= SYMBOLS / 2,
      10_000,
      () => `ticks of half the symbols, got ${slow.symbolsTicked.size}`,
    );
    expect(slow.symbolsTicked.has('QUIET')).toBe(false);

    const serverSide = [...s.io.of('/').sockets.values()].at(-1);
    slow.pause();
    await until(() => serverSide !== undefined && s.membership.isThrottled(serverSide), 20_000, 'the throttle');
    slow.resume();
    await until(() => slow.statuses.some((st) => st.throttled === false), 20_000, 'the restore status');
    await until(() => slow.symbolsTicked.has('QUIET'), 2000, 'the quiet symbol resent after the tier moves');
  }, 60_000);
});
