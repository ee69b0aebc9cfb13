import { type Observable, Subscription } from 'rxjs';
import { parseTierRoom } from '../delivery/tierRooms.js';
import type { ConflatedStreams } from '../pipeline/conflatedStreams.js';
import type { SymbolDemand } from '../pipeline/symbolDemand.js';
import type { Quote } from '../protocol.js';

/**
 * Ingest side of the tier rooms: runs one conflated stream per room in the current demand set and hands
 * each update to `publish`. The cluster counterpart of TierRoomPublisher, which follows a local adapter's
 * rooms instead. Symbol demand (for feeds that subscribe upstream per symbol) follows the rooms too.
 */
export function followRooms(
  rooms$: Observable<ReadonlySet<string>>,
  streams: ConflatedStreams,
  publish: (room: string, quote: Quote) => void,
  options: { demand?: SymbolDemand; onCount?: (rooms: number) => void } = {},
): Subscription {
  const active = new Map<string, Subscription>();
  const open = (room: string) => {
    const pair = parseTierRoom(room);
    if (!pair) return;
    options.demand?.add(pair.symbol);
    active.set(
      room,
      streams.stream(pair.symbol, pair.hz).subscribe((quote) => publish(room, quote)),
    );
  };
  const close = (room: string) => {
    active.get(room)?.unsubscribe();
    active.delete(room);
    const pair = parseTierRoom(room);
    if (pair) options.demand?.remove(pair.symbol);
  };
  const owner = new Subscription();
  owner.add(
    rooms$.subscribe((rooms) => {
      for (const room of [...active.keys()]) if (!rooms.has(room)) close(room);
      for (const room of rooms) if (!active.has(room)) open(room);
      options.onCount?.(active.size);
    }),
  );
  owner.add(() => {
    for (const room of [...active.keys()]) close(room);
  });
  return owner;
}
