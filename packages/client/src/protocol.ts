/**
 * The wire protocol as the SDK sees it. Its types live in the server's src/protocol.ts, the one place the
 * protocol is written in code (the server, the SDK and the dashboard check every emit and ack against it);
 * the build inlines what the SDK uses, so the package does not depend on the server.
 */
export type {
  ClientToServerEvents,
  CloseNotice,
  ClusterStatus,
  ErrorCode,
  FeedState,
  FeedStatus,
  Quote,
  Rejection,
  ReplayAck,
  ReplayCommand,
  ReplayStatus,
  ServerToClientEvents,
  SessionState,
  SessionStatus,
  Status,
  StreamPosition,
  SubscribeAck,
  SubscribeRequest,
  SymbolInfo,
  SymbolsAck,
  UnsubscribeRequest,
} from '../../../src/protocol.js';
export { ERROR_CODES, isNewer } from '../../../src/protocol.js';
