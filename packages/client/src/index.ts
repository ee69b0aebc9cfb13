/**
 * The tickstream client SDK: `connect(url).watch(['AAPL'], { maxHz: 4 })` is an Observable of quotes.
 * It imports only rxjs, socket.io-client and the protocol types, so it runs in Node and in browsers.
 */
import { type ConnectOptions, SocketTickstreamClient, type TickstreamClient } from './tickstreamClient.js';

export { TickstreamError } from './errors.js';
export type { ErrorCode, Quote, ReplayCommand, ReplayStatus, Status, SymbolInfo } from './protocol.js';
export type {
  ConnectionState,
  ConnectOptions,
  SocketIoParser,
  TickstreamClient,
  WatchOptions,
} from './tickstreamClient.js';

/** Opens one connection to a tickstream server; every watch of the returned client shares it. */
export function connect(url: string, options?: ConnectOptions): TickstreamClient {
  return new SocketTickstreamClient(url, options);
}
