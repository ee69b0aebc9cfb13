/**
 * The messages between client and server, and the helpers the SDK needs to handle them: internal to the SDK
 * (the public types are in protocol.ts), from the server's src/protocol.ts like them.
 */
export type {
  ClientToServerEvents,
  QuoteDelta,
  ReplayAck,
  ServerToClientEvents,
  StreamPosition,
  SubscribeAck,
  SubscribeRequest,
  SymbolsAck,
  UnsubscribeRequest,
} from '../../../src/protocol.js';
export { applyDelta, ERROR_CODES, isNewer, normalizeSymbol } from '../../../src/protocol.js';
