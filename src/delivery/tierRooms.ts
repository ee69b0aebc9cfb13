import type { TierMembership } from './tierMembership.js';
import type { TickstreamSocket } from './types.js';

const PREFIX = 'q:';

/** The display room of a symbol delivered at a tier: `q:AAPL@4`. */
function tierRoom(symbol: string, hz: number): string {
  return `${PREFIX}${symbol}@${hz}`;
}

/**
 * Keeps each socket in the Socket.IO rooms `q:SYMBOL@HZ` of what TierMembership delivers to it (the tier it is
 * held at while throttled), so the Admin UI's rooms view shows who watches what. A projection for display only:
 * delivery never reads these rooms, and a room changed by hand (an Admin UI join) is put back at the socket's
 * next membership change.
 */
export function mirrorTierRooms(membership: TierMembership): void {
  membership.onSocketChanged((socket) => syncRooms(socket, membership));
}

function syncRooms(socket: TickstreamSocket, membership: TierMembership): void {
  // A socket that is gone has left every room already; joining now would leave it in them for good.
  if (!socket.connected) return;
  const wanted = new Set<string>();
  for (const [symbol, hz] of membership.deliveredTiers(socket)) wanted.add(tierRoom(symbol, hz));
  for (const room of socket.rooms) {
    if (room.startsWith(PREFIX) && !wanted.delete(room)) socket.leave(room);
  }
  if (wanted.size > 0) socket.join([...wanted]);
}
