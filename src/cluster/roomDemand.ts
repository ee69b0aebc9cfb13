import {
  asyncScheduler,
  catchError,
  distinctUntilChanged,
  EMPTY,
  exhaustMap,
  from,
  map,
  merge,
  Observable,
  type SchedulerLike,
  scan,
  timer,
} from 'rxjs';
import { tierRoom } from '../delivery/tierRooms.js';
import { type ClusterKeys, roomOfChannel, tierRoomChannelPattern } from './keys.js';
import type { RedisLink } from './redisLink.js';

type DemandEvent = { kind: 'all'; rooms: ReadonlySet<string> } | { kind: 'add'; room: string };

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}

/** Messages on a plain pub/sub channel, for as long as the Observable is subscribed. */
export function channelMessages(link: RedisLink, channel: string): Observable<string> {
  return new Observable<string>((subscriber) => {
    const listener = (message: string) => subscriber.next(message);
    link.sub.subscribe(channel, listener).catch((err: unknown) => subscriber.error(err));
    return () => {
      link.sub.unsubscribe(channel, listener).catch(() => {});
    };
  });
}

/**
 * The tier rooms that exist on some gateway. The source of truth is Redis's own table of sharded
 * subscriptions: in `dynamic` mode each gateway's adapter subscribes to a room's channel while it holds the
 * room, so the set heals itself when a gateway dies or Redis restarts. It is read every `pollMs`; a room a
 * gateway announces is added at once (so the first ticks do not wait for the next poll). While Redis is
 * down the last set is kept.
 */
export function gatewayRooms(
  link: RedisLink,
  keys: ClusterKeys,
  pollMs: number,
  scheduler: SchedulerLike = asyncScheduler,
): Observable<ReadonlySet<string>> {
  const pattern = tierRoomChannelPattern(keys);
  const polled$ = timer(0, pollMs, scheduler).pipe(
    exhaustMap(() =>
      link.isUp() ? from(link.command.pubSubShardChannels(pattern)).pipe(catchError(() => EMPTY)) : EMPTY,
    ),
    map(
      (channels): DemandEvent => ({
        kind: 'all',
        rooms: new Set(channels.map((c) => roomOfChannel(keys, String(c))).filter((r) => r !== undefined)),
      }),
    ),
  );
  const announced$ = channelMessages(link, keys.roomAnnouncements).pipe(
    map((room): DemandEvent => ({ kind: 'add', room })),
  );
  return merge(polled$, announced$).pipe(
    scan((rooms: ReadonlySet<string>, event) => {
      if (event.kind === 'all') return event.rooms;
      return rooms.has(event.room) ? rooms : new Set([...rooms, event.room]);
    }, new Set<string>()),
    distinctUntilChanged(sameSet),
  );
}

/** Every known symbol at every tier: the simple alternative, re-read every `pollMs` as symbols appear. */
export function everyRoom(
  symbols: () => readonly string[],
  tiers: readonly number[],
  pollMs: number,
  scheduler: SchedulerLike = asyncScheduler,
): Observable<ReadonlySet<string>> {
  return timer(0, pollMs, scheduler).pipe(
    map(() => new Set(symbols().flatMap((symbol) => tiers.map((hz) => tierRoom(symbol, hz))))),
    distinctUntilChanged(sameSet),
  );
}
