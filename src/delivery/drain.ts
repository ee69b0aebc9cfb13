import type { Server as HttpServer } from 'node:http';
import type { Socket } from 'node:net';

/**
 * Tracks the server's TCP connections, upgraded websockets included (http.closeAllConnections does not see
 * those), so shutdown can drain them: after `disconnectSockets(true)` each client's queue, ending with the
 * DISCONNECT packet, is flushed and the client closes its side. A reader that stopped reading never does:
 * past the timeout what is left is destroyed, or http.close would wait for ws' 30 s close handshake.
 */
export class ConnectionDrain {
  private readonly sockets = new Set<Socket>();

  constructor(private readonly http: HttpServer) {
    const sockets = this.sockets;
    // One listener for every connection (it reads its socket from `this`), not a closure and a once-wrapper
    // each: they would live as long as the connection. 'close' fires once.
    const forget = function (this: Socket): void {
      sockets.delete(this);
    };
    http.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.on('close', forget);
    });
  }

  get open(): number {
    return this.sockets.size;
  }

  /**
   * Stops listening once `collected` have settled (long-polling clients fetching their last packets need the
   * port: each poll may come on a new connection), then waits for the open connections to close; past
   * `timeoutMs` in all, what is left is destroyed.
   */
  async drain(timeoutMs: number, collected: readonly Promise<void>[] = []): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([Promise.all(collected), timeout]);
    this.http.close();
    // Keep-alive HTTP connections (a /metrics scraper, a poll answered) have nothing to flush.
    this.http.closeIdleConnections?.();
    const pending = [...this.sockets].map(
      (socket) =>
        new Promise<void>((resolve) => (socket.destroyed ? resolve() : socket.once('close', () => resolve()))),
    );
    await Promise.race([Promise.all(pending), timeout]);
    clearTimeout(timer);
    for (const socket of this.sockets) socket.destroy();
  }
}
