/**
 * The tickstream client: `connect(url).watch(['AAPL'], { maxHz: 4 })` is an RxJS Observable of quotes.
 * It depends only on rxjs and socket.io-client, so it runs in Node (ESM or CommonJS) and in browsers.
 *
 * @packageDocumentation
 */
import { type ConnectOptions, SocketTickstreamClient, type TickstreamClient } from './tickstreamClient.js';

export type { ConnectFailure, ConnectFailureReason } from './connectFailure.js';
export { TickstreamError } from './errors.js';
export {
  arrow,
  ClockFormatter,
  type ClockOptions,
  exchangeZone,
  formatPrice,
  formatSigned,
  formatVolume,
  isTimeZone,
  localZone,
  type NumberFormat,
  type NumberStyle,
  priceDigits,
} from './format.js';
export type {
  CloseNotice,
  ClusterStatus,
  ErrorCode,
  FeedState,
  FeedStatus,
  Quote,
  Rejection,
  ReplayCommand,
  ReplayStatus,
  SessionState,
  SessionStatus,
  Status,
  SymbolInfo,
} from './protocol.js';
export type {
  ConnectionState,
  ConnectOptions,
  SocketIoParser,
  TickstreamClient,
  WatchOptions,
} from './tickstreamClient.js';

/**
 * Opens one connection to the tickstream server at `url` (e.g. `http://localhost:3000`); every watch of the
 * returned client shares it. It connects at once and reconnects by itself, with backoff, until `close()`.
 */
export function connect(url: string, options?: ConnectOptions): TickstreamClient {
  return new SocketTickstreamClient(url, options);
}
