import { type ConnectOptions, SocketTickstreamClient, type TickstreamClient } from './tickstreamClient.js';

/**
 * Opens one connection to the tickstream server at `url` (e.g. `http://localhost:3000`); every watch of the
 * returned client shares it. It connects at once and reconnects by itself, with backoff, until `close()`.
 */
export function connect(url: string, options?: ConnectOptions): TickstreamClient {
  return new SocketTickstreamClient(url, options);
}
