import { describe, expect, it } from 'vitest';
import type { ConfigInput } from '../../src/config/schema.js';
import type { Quote } from '../../src/protocol.js';
import { ownedPerTest, until } from '../helpers/lifecycle.js';
import { type ManualFeed, manualFeed } from '../helpers/manualFeed.js';
import { connectTestClient, startTestService } from '../helpers/service.js';
import { virtualClock } from '../helpers/virtualClock.js';

/**
 * Conflation per rate tier on the scheduler's clock: a real service and real clients, with the service's
 * clocks on a TestScheduler the test advances by hand. Each frame a client gets is stamped with the virtual
 * time it was written at (the test waits for every written frame to arrive before it moves the clock on), so
 * the frames, their contents and their times are exact, whatever the load of the machine.
 */

const { owned } = ownedPerTest();

type Frame = { at: number; prices: number[] };

async function virtualService(pipeline: ConfigInput['pipeline']) {
  const { scheduler, runTo } = virtualClock();
  const feed: ManualFeed = manualFeed(['AAPL']);
  const svc = owned(await startTestService({ pipeline }, { feeds: [feed], scheduler }));
  const frames: Frame[][] = [];
  const written = async () => (await svc.metrics.framesWritten.get()).values[0]?.value ?? 0;
  const received = () => frames.reduce((sum, list) => sum + list.length, 0);
  /** Every frame the service wrote has reached its client (frames are counted when written, synchronously). */
  const settle = async () => {
    let wrote = 0;
    await until(
      async () => {
        wrote = await written();
        return received() === wrote;
      },
      5000,
      () => `the ${wrote} frames written to arrive, got ${received()}`,
    );
  };
  return {
    feed,
    frames,
    now: () => scheduler.now(),
    /** Runs what is due on the service's clocks up to `t` (virtual ms), and waits for the frames it wrote. */
    async advanceTo(t: number) {
      runTo(t);
      expect(scheduler.now()).toBe(t);
      await settle();
    },
    settle,
    /** A client watching AAPL at `maxHz`: the frames it gets, each stamped with the virtual time. */
    async watcher(maxHz: number): Promise<Frame[]> {
      const c = owned(await connectTestClient(svc.url));
      const list: Frame[] = [];
      frames.push(list);
      c.on('ticks', (quotes: Quote[]) => list.push({ at: scheduler.now(), prices: quotes.map((q) => q.price) }));
      const ack = await c.timeout(5000).emitWithAck('subscribe', { symbols: ['AAPL'], maxHz });
      expect(ack).toMatchObject({ ok: true, subscribed: ['AAPL'], hz: maxHz });
      return list;
    },
  };
}

describe('conflation per rate tier (virtual time)', () => {
  it('sends each tier the newest quote once per interval, and nothing while the symbol does not change', async () => {
    const v = await virtualService({ tiers: [1, 10], lanes: 1, promptAfterMs: 0 });
    const fast = await v.watcher(10);
    const slow = await v.watcher(1);
    // The tiers' clocks started when their first socket joined, at this virtual time.
    const t0 = v.now();
    // A quote every 10 ms for 3 s (5 ms off the ticks: none ties with one), then 2 s of silence.
    for (let i = 1; i <= 300; i++) {
      const t = 10 * i - 5;
      if (t % 100 === 5 && t > 5) await v.advanceTo(t0 + t - 5); // a tick: its frames stamped with its time
      await v.advanceTo(t0 + t);
      v.feed.push('AAPL', 100 + i);
    }
    for (let t = t0 + 3000; t <= t0 + 5000; t += 100) await v.advanceTo(t);

    // 10 Hz: every 100 ms the quote pushed 5 ms before; nothing after the last quote.
    expect(fast).toEqual(Array.from({ length: 30 }, (_, k) => ({ at: t0 + 100 * (k + 1), prices: [110 + 10 * k] })));
    // 1 Hz: every second, the newest of the hundred quotes of that second.
    expect(slow).toEqual([
      { at: t0 + 1000, prices: [200] },
      { at: t0 + 2000, prices: [300] },
      { at: t0 + 3000, prices: [400] },
    ]);
  });

  it('sends a quote that ends a silence at once, but never more often than its tier allows', async () => {
    const v = await virtualService({ tiers: [1, 10], lanes: 1, promptAfterMs: 500 });
    const fast = await v.watcher(10);
    const slow = await v.watcher(1);
    const t0 = v.now();
    // The first quote ends a silence: both tiers get it at once, before any tick.
    await v.advanceTo(t0 + 150);
    v.feed.push('AAPL', 101);
    await until(() => fast.length === 1 && slow.length === 1, 5000, 'the prompt quote at both clients');
    // 600 ms later, another silence ends: the 10 Hz lane sent 600 ms ago and takes it at once; the 1 Hz lane
    // sent 600 ms ago too, less than its interval: it waits. Both lanes are served by the same prompt, so once
    // the fast client has its frame, every frame of that prompt has been written.
    await v.advanceTo(t0 + 750);
    v.feed.push('AAPL', 102);
    await until(() => fast.length === 2, 5000, 'the second prompt quote at the fast client');
    await v.settle();
    expect(slow).toHaveLength(1);
    for (let t = t0 + 800; t <= t0 + 2500; t += 100) await v.advanceTo(t);

    expect(fast).toEqual([
      { at: t0 + 150, prices: [101] },
      { at: t0 + 750, prices: [102] },
    ]);
    // A prompt counts as the lane's send for its interval: the 1 Hz lane's next quote waits a whole interval
    // after it (its tick at 1000 is 850 ms after the prompt), and goes at the tick after.
    expect(slow).toEqual([
      { at: t0 + 150, prices: [101] },
      { at: t0 + 2000, prices: [102] },
    ]);
  });
});
