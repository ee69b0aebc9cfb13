/**
 * The tickstream client: `connect(url).watch(['AAPL'], { maxHz: 4 })` is an RxJS Observable of quotes.
 * It depends only on rxjs and socket.io-client, so it runs in Node (ESM or CommonJS) and in browsers.
 *
 * This page (docs/CLIENT-API.md) is generated from the doc comments by `npm run docs:api`; a test fails when it
 * is out of date, or when a public function, type or option has no comment.
 *
 * @packageDocumentation
 */
export { connect } from './connect.js';
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
export type * from './protocol.js';
export type {
  ConnectionState,
  ConnectOptions,
  SocketIoParser,
  TickstreamClient,
  WatchOptions,
} from './tickstreamClient.js';
