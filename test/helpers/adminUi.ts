import bcrypt from 'bcryptjs';
import { io as connectClient, type Socket } from 'socket.io-client';

export const ADMIN_PASSWORD = 'changeit';
// Cost 4: the lowest bcrypt allows, so a suite does not spend a second per login.
export const ADMIN_PASSWORD_HASH = bcrypt.hashSync(ADMIN_PASSWORD, 4);

/** An Admin UI's connection: the /admin namespace with the login form's fields, as the UI sends them. */
export function adminClient(url: string, auth: Record<string, string>): Socket {
  return connectClient(`${url}/admin`, { transports: ['websocket'], reconnection: false, auth });
}

/** Resolves with the session id the server sent (none on a session login), or rejects with the connect_error. */
export function adminLogin(socket: Socket): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    let session: string | undefined;
    socket.once('session', (id: string) => {
      session = id;
    });
    socket.once('connect', () => resolve(session));
    socket.once('connect_error', reject);
  });
}

/** Collects the symbol-tier rooms (`q:...`) the Admin UI is told sockets of the main namespace join and leave. */
export function tierRoomEvents(admin: Socket): { joined: string[]; left: string[] } {
  const events = { joined: [] as string[], left: [] as string[] };
  // Every socket is also in the room of its own id: not a symbol tier.
  admin.on(
    'room_joined',
    (nsp: string, room: string) => nsp === '/' && room.startsWith('q:') && events.joined.push(room),
  );
  admin.on('room_left', (nsp: string, room: string) => nsp === '/' && room.startsWith('q:') && events.left.push(room));
  return events;
}
