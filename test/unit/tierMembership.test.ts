import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { laneOf, TierMembership } from '../../src/delivery/tierMembership.js';
import type { TickstreamSocket } from '../../src/delivery/types.js';

/** TierMembership reads a socket's id, data and whether it is connected; a real socket needs a server, which the integration tests run. */
const socket = (id: string, data: { deltas?: boolean } = {}, connected = true) =>
  ({ id, data, connected }) as TickstreamSocket;

function tracked(lanes = 1) {
  const membership = new TierMembership(lanes);
  const events: string[] = [];
  membership.follow({
    symbolWatched: (s) => events.push(`+${s}`),
    symbolUnwatched: (s) => events.push(`-${s}`),
    tierOpened: (hz) => events.push(`open ${hz}`),
    tierClosed: (hz) => events.push(`close ${hz}`),
  });
  return { membership, events };
}

describe('TierMembership', () => {
  it('does not take back a socket that has disconnected (a subscribe that ended after its leave)', () => {
    const { membership, events } = tracked();
    const gone = socket('gone', {}, false);
    membership.subscribe(gone, ['AAPL'], 4);
    expect(membership.throttle(gone, 1)).toEqual([]);
    expect(membership.size).toBe(0);
    expect(membership.lane(4, 0)).toBeUndefined();
    expect(events).toEqual([]);
  });

  it('groups the sockets of a lane that watch the same set, and tells delivery what is watched', () => {
    const { membership, events } = tracked();
    const [a, b, c] = [socket('a'), socket('b'), socket('c')];
    membership.subscribe(a, ['MSFT', 'AAPL'], 4);
    membership.subscribe(b, ['AAPL', 'MSFT'], 4);
    membership.subscribe(c, ['AAPL'], 4);
    const lane = membership.lane(4, 0)!;
    expect([...lane.groups.keys()].sort()).toEqual(['AAPL', 'AAPL,MSFT']);
    expect([...(lane.groups.get('AAPL,MSFT')?.members ?? [])]).toEqual([a, b]);
    expect(Object.fromEntries(lane.symbols)).toEqual({ AAPL: 2, MSFT: 1 });
    expect(events).toEqual(['+MSFT', '+AAPL', 'open 4']);

    membership.unsubscribe(a, ['MSFT']);
    membership.leave(b);
    expect([...lane.groups.keys()]).toEqual(['AAPL']);
    expect(events.at(-1)).toBe('-MSFT');
    membership.leave(a);
    membership.leave(c);
    expect(events.slice(-2)).toEqual(['close 4', '-AAPL']);
    expect(membership.lane(4, 0)).toBeUndefined();
    expect(membership.size).toBe(0);
  });

  it('keeps sockets that take field deltas in groups of their own, each new member owed a base for every symbol', () => {
    const { membership } = tracked();
    const [plain, delta, late] = [socket('a'), socket('b', { deltas: true }), socket('c', { deltas: true })];
    for (const s of [plain, delta]) membership.subscribe(s, ['AAPL', 'MSFT'], 4);
    const lane = membership.lane(4, 0)!;
    expect([...lane.groups.keys()].sort()).toEqual(['AAPL,MSFT', 'ΔAAPL,MSFT']);
    const group = lane.groups.get('ΔAAPL,MSFT')!;
    expect(group.deltas).toBe(true);
    expect([...(group.needsBase.get(delta) ?? [])].sort()).toEqual(['AAPL', 'MSFT']);
    group.needsBase.get(delta)?.clear();
    membership.subscribe(late, ['MSFT', 'AAPL'], 4);
    expect([...(group.needsBase.get(late) ?? [])].sort()).toEqual(['AAPL', 'MSFT']);
    membership.leave(late);
    expect(group.needsBase.has(late)).toBe(false);
    expect(Object.fromEntries(lane.symbols)).toEqual({ AAPL: 2, MSFT: 2 });
  });

  it('moves a symbol between tiers without it ever looking unwatched', () => {
    const { membership, events } = tracked();
    const a = socket('a');
    membership.subscribe(a, ['AAPL'], 4);
    membership.subscribe(a, ['AAPL'], 20);
    expect(events).toEqual(['+AAPL', 'open 4', 'close 4', 'open 20']);
    expect([...membership.deliveredTiers(a)]).toEqual([['AAPL', 20]]);
  });

  it('holds a throttled socket at the lower tier and restores what it asked for', () => {
    const { membership } = tracked();
    const a = socket('a');
    membership.subscribe(a, ['AAPL'], 20);
    membership.subscribe(a, ['KO'], 1);
    expect(membership.throttle(a, 2)).toEqual(['AAPL']); // KO at 1 Hz is below the throttle: unmoved
    expect(membership.isThrottled(a)).toBe(true);
    expect(Object.fromEntries(membership.deliveredTiers(a))).toEqual({ AAPL: 2, KO: 1 });
    expect(Object.fromEntries(membership.subscriptions(a))).toEqual({ AAPL: 20, KO: 1 });
    expect(membership.throttle(a, undefined)).toEqual(['AAPL']);
    expect(Object.fromEntries(membership.deliveredTiers(a))).toEqual({ AAPL: 20, KO: 1 });
  });

  it('puts a socket in the same lane at every tier, fewer lanes when they would fall under 5 ms apart', () => {
    const { membership } = tracked(4);
    expect(membership.lanesOf(4)).toBe(4);
    expect(membership.lanesOf(100)).toBe(2); // 10 ms apart at most
    const a = socket('socket-a');
    membership.subscribe(a, ['AAPL'], 4);
    expect(membership.lane(4, laneOf('socket-a', 4))?.groups.size).toBe(1);
  });

  it('after any sequence of changes, its lanes hold exactly what each socket watches at each tier', () => {
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('subscribe' as const),
        id: fc.constantFrom('a', 'b', 'c'),
        symbols: fc.subarray(['AAPL', 'MSFT', 'NVDA', 'KO'], { minLength: 1 }),
        hz: fc.constantFrom(1, 4, 20),
      }),
      fc.record({
        kind: fc.constant('unsubscribe' as const),
        id: fc.constantFrom('a', 'b', 'c'),
        symbols: fc.subarray(['AAPL', 'MSFT', 'NVDA', 'KO']),
      }),
      fc.record({
        kind: fc.constant('throttle' as const),
        id: fc.constantFrom('a', 'b', 'c'),
        hz: fc.constantFrom(1, 4),
      }),
      fc.record({ kind: fc.constant('restore' as const), id: fc.constantFrom('a', 'b', 'c') }),
      fc.record({ kind: fc.constant('leave' as const), id: fc.constantFrom('a', 'b', 'c') }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), fc.constantFrom(1, 2, 4), (ops, lanes) => {
        const { membership, events } = tracked(lanes);
        const sockets = new Map(['a', 'b', 'c'].map((id) => [id, socket(id)]));
        // The model: what each socket asked for, and its throttle.
        const asked = new Map<string, Map<string, number>>();
        const held = new Map<string, number>();
        for (const o of ops) {
          const s = sockets.get(o.id)!;
          const mine = asked.get(o.id) ?? new Map<string, number>();
          asked.set(o.id, mine);
          if (o.kind === 'subscribe') {
            membership.subscribe(s, o.symbols, o.hz);
            for (const sym of o.symbols) mine.set(sym, o.hz);
          } else if (o.kind === 'unsubscribe') {
            membership.unsubscribe(s, o.symbols);
            for (const sym of o.symbols) mine.delete(sym);
          } else if (o.kind === 'throttle') {
            membership.throttle(s, o.hz);
            held.set(o.id, o.hz);
          } else if (o.kind === 'restore') {
            membership.throttle(s, undefined);
            held.delete(o.id);
          } else {
            membership.leave(s);
            asked.delete(o.id);
            held.delete(o.id);
          }
        }
        const watched = new Set<string>();
        for (const [id, mine] of asked) {
          const s = sockets.get(id)!;
          for (const [sym, hz] of mine) {
            const tier = held.has(id) ? Math.min(hz, held.get(id)!) : hz;
            watched.add(sym);
            expect(membership.deliveredTiers(s).get(sym)).toBe(tier);
            const lane = membership.lane(tier, laneOf(id, membership.lanesOf(tier)));
            const group = [...(lane?.groups.values() ?? [])].find((g) => g.members.has(s));
            expect(group?.has.has(sym)).toBe(true);
          }
        }
        // Watch/unwatch events balance out to what is watched now.
        const net = new Map<string, number>();
        for (const e of events)
          if (/^[+-]/.test(e)) net.set(e.slice(1), (net.get(e.slice(1)) ?? 0) + (e[0] === '+' ? 1 : -1));
        expect(new Set([...net].filter(([, n]) => n > 0).map(([sym]) => sym))).toEqual(watched);
        expect([...net.values()].every((n) => n === 0 || n === 1)).toBe(true);
      }),
    );
  });
});
